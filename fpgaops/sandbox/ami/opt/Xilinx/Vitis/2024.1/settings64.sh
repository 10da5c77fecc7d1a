# Vitis 2024.1 environment (fpgaops sandbox stand-in of the FPGA Developer AMI): source me.
# Brings vitis-run (the HLS front end hls4ml's Vitis backend calls) and Vivado 2024.1.
export XILINX_VITIS=/opt/Xilinx/Vitis/2024.1
export XILINX_HLS=/opt/Xilinx/Vitis/2024.1
. /opt/Xilinx/Vivado/2024.1/settings64.sh
case ":$PATH:" in *":$XILINX_VITIS/bin:"*) ;; *) export PATH="$XILINX_VITIS/bin:$PATH" ;; esac
