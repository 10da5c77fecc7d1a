"""Stand-ins for the AMD/Xilinx tools of the FPGA Developer AMI (fpgaops sandbox).

Stdlib-only; runs under the host's /usr/bin/python3. The programs under /opt/Xilinx are
symbolic links to ../bin/xilinx-tool, which picks the tool from the name and version in the
path it was called by.
"""
