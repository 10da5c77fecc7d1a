"""dev_host: the build host: toolchain packages, the AWS FPGA SDK/HDK at a pinned ref, the hls_model venv.

Steps: the build toolchain (apt or dnf/yum, as the host has), aws-fpga in the login user's home
(from the laptop's archive or from git at ``aws_fpga_ref``), the HDK environment check
(``source hdk_setup.sh`` succeeds), and the hls_model venv from its pinned requirements,
optionally installed offline from a wheelhouse built on the laptop.

Variables: ``defaults.yml``.
"""
