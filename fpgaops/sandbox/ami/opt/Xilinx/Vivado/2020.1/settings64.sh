# Vivado 2020.1 environment, the last release with Vivado HLS (vivado_hls), as on F1-era
# FPGA Developer AMIs (fpgaops sandbox stand-in). Not on the default PATH: source me explicitly.
export XILINX_VIVADO=/opt/Xilinx/Vivado/2020.1
export XILINX_HLS=/opt/Xilinx/Vivado/2020.1
case ":$PATH:" in *":$XILINX_VIVADO/bin:"*) ;; *) export PATH="$XILINX_VIVADO/bin:$PATH" ;; esac
