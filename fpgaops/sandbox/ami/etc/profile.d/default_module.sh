# FPGA Developer AMI (F2, Vivado/Vitis 2024.1) tool environment for login shells
# (fpgaops sandbox stand-in; the real AMI loads it through environment modules).
# Non-login shells (ssh host 'command', Fabric's run) must source it themselves.
if [ -r /opt/Xilinx/Vitis/2024.1/settings64.sh ]; then
    . /opt/Xilinx/Vitis/2024.1/settings64.sh
fi
