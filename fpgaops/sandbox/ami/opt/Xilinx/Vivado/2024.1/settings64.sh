# Vivado 2024.1 environment (fpgaops sandbox stand-in of the FPGA Developer AMI): source me.
export XILINX_VIVADO=/opt/Xilinx/Vivado/2024.1
case ":$PATH:" in *":$XILINX_VIVADO/bin:"*) ;; *) export PATH="$XILINX_VIVADO/bin:$PATH" ;; esac
