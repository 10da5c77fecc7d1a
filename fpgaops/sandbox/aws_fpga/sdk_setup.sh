#
# fpgaops sandbox stand-in for aws-fpga's sdk_setup.sh (runtime hosts, F1 and F2).
#
# Same contract as the real script: source it from bash at the top of the aws-fpga tree;
# it exports the repository's environment (AWS_FPGA_REPO_DIR, SDK_DIR, HDK_DIR, ...),
# builds the AFI Management Tools and installs fpga-local-cmd and the fpga-* wrappers
# under /usr/local/bin (/usr/bin when /usr/local/bin is not on sudo's PATH) with sudo -E,
# or directly when already root; it returns non-zero when that fails.
#
# What differs from the real one, and why:
#  - fpga-local-cmd is a Python program (no FPGA here): "building" checks it and makes it
#    executable; there is no libfpga_mgmt to install and no ldconfig step.
#  - the F2 script's Cython bindings step (apt, pip) is left out: sandbox hosts have no network.
#  - sudo is never left waiting for a password: without passwordless sudo it fails clearly.
#  - installing is idempotent: files already in place are left untouched.
#  - AWS_FPGA_ALLOW_NON_ROOT: as the real one, sdk_install.sh then runs add_udev_rules.sh (group
#    AWS_FPGA_SDK_GROUP, created unless it exists; the user is added; a udev rule per slot's PCI
#    functions runs /opt/aws/bin/change-fpga-perm.sh, which gives the group rw on the device's
#    files, resource0 included). Sandbox hosts have no udev: the fpga-* tools run the matching
#    rules when they create a loaded slot's device. Difference: fpga-local-cmd is not made setuid
#    (a script cannot be): the fpga-* tools still need sudo, the loaded design's BAR does not.
#  - of shared/bin, only set_common_functions.sh (the message helpers) is kept.
#

# Script must be sourced from a bash shell or it will not work
# When being sourced $0 will be the interactive shell and $BASH_SOURCE_ will contain the script being sourced
# When being run $0 and $_ will be the same.
script=${BASH_SOURCE[0]}
if [ "$script" == "$0" ]; then
  echo "ERROR: You must source this script"
  exit 2
fi

full_script=$(readlink -f "$script")
script_name=$(basename "$full_script")
script_dir=$(dirname "$full_script")
current_dir=$(pwd)

source "$script_dir/shared/bin/set_common_functions.sh"

function allow_non_root {
  [ -n "${AWS_FPGA_ALLOW_NON_ROOT}" ]
}

function allow_others {
  [ -n "${AWS_FPGA_SDK_OTHERS}" ]
}

info_msg "Setting up environment variables"

# Make sure that AWS_FPGA_REPO_DIR is set to the location of this script.
if [[ ":$AWS_FPGA_REPO_DIR" == ':' ]]; then
  debug_msg "AWS_FPGA_REPO_DIR not set so setting to $script_dir"
  export AWS_FPGA_REPO_DIR=$script_dir
elif [[ $AWS_FPGA_REPO_DIR != "$script_dir" ]]; then
  info_msg "Changing AWS_FPGA_REPO_DIR from $AWS_FPGA_REPO_DIR to $script_dir"
  export AWS_FPGA_REPO_DIR=$script_dir
else
  debug_msg "AWS_FPGA_REPO_DIR=$AWS_FPGA_REPO_DIR"
fi

# HDK
unset HDK_DIR HDK_COMMON_DIR HDK_SHELL_DIR HDK_SHELL_DESIGN_DIR

export -f allow_non_root
export -f allow_others

if allow_non_root || allow_others; then
  export AWS_FPGA_SDK_GROUP=${AWS_FPGA_SDK_GROUP:-"fpgauser"}
  export SDK_NON_ROOT_USER=$(whoami)
  info_msg "Allowing group ${AWS_FPGA_SDK_GROUP} access to FPGA management tools and resources"
fi

export HDK_DIR=$AWS_FPGA_REPO_DIR/hdk
# The next variable should not be modified and should always point to the /common directory under HDK_DIR
export HDK_COMMON_DIR=$HDK_DIR/common
# Point to the latest version of AWS shell (readlink -m: also when hdk/common is absent)
export HDK_SHELL_DIR=$(readlink -m "$HDK_COMMON_DIR/shell_stable")
# Set the common shell design dir
export HDK_SHELL_DESIGN_DIR=$HDK_SHELL_DIR/design

# SDK
unset SDK_DIR
export SDK_DIR=$AWS_FPGA_REPO_DIR/sdk

export SDACCEL_DIR=$AWS_FPGA_REPO_DIR/SDAccel
export VITIS_DIR=$AWS_FPGA_REPO_DIR/Vitis

# PYTHONPATH: libraries used for unit testing
python_lib=$AWS_FPGA_REPO_DIR/shared/lib
if [[ ":$PYTHONPATH:" != *":$python_lib:"* ]]; then
  PYTHONPATH=$python_lib${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH

# PATH: the repository's scripts, once
export PATH=$(echo "$PATH" | sed -e 's/\(^\|:\)[^:]\+\/shared\/bin\/scripts\(:\|$\)/:/g; s/^://; s/:$//')
PATH=$AWS_FPGA_REPO_DIR/shared/bin/scripts:$PATH

# Enable xilinx licensing
export XILINX_ENABLE_AWS_WHITELIST=095707098027

# What the root-run install steps need of this environment (as the real script writes it)
if [ "$(id -u)" = 0 ]; then as_root=(); else as_root=(sudo -n); fi
"${as_root[@]}" rm -f /tmp/sdk_root_env.exp
{
  typeset -f allow_non_root
  echo "export AWS_FPGA_SDK_GROUP=${AWS_FPGA_SDK_GROUP}"
  echo "export AWS_FPGA_SDK_OTHERS=${AWS_FPGA_SDK_OTHERS}"
  echo "export SDK_NON_ROOT_USER=${SDK_NON_ROOT_USER}"
  echo "export AWS_FPGA_SDK_OVERRIDE_GROUP=${AWS_FPGA_SDK_OVERRIDE_GROUP}"
} > /tmp/sdk_root_env.exp
"${as_root[@]}" chown root:root /tmp/sdk_root_env.exp
"${as_root[@]}" chmod 700 /tmp/sdk_root_env.exp

#
# Execute sdk_install.sh inside a subshell so the user's current
# shell does not exit on errors from the install.
#
cd "$script_dir" || return 1
bash "$SDK_DIR/sdk_install.sh"
ret=$?
cd "$current_dir" || return 1
if [ $ret != 0 ]; then
  echo "Error: AWS SDK install was unsuccessful, sdk_install.sh returned $ret"
  return 1
fi

info_msg "$script_name PASSED"
