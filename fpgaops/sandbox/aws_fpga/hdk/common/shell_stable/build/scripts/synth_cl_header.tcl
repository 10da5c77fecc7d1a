# Common CL synthesis header (fpgaops sandbox stand-in of the HDK's synth_cl_header.tcl).
# The vivado stand-in follows the reads below; it has no Tcl interpreter for anything else.

print "Creating in-memory synthesis project"
create_project -in_memory -part $DEVICE_TYPE -force

print "Reading common AWS components"
read_verilog -sv [ list \
  ${HDK_SHELL_DESIGN_DIR}/sh_ddr/synth/sh_ddr.sv \
  ${HDK_SHELL_DESIGN_DIR}/interfaces/cl_ports.vh
]

print "Reading AWS Constraints"
read_xdc ${HDK_SHELL_DIR}/build/constraints/cl_pins.xdc
read_xdc ${CL_DIR}/build/constraints/generated_cl_clocks_aws.xdc
read_xdc -ref ${CL} ${HDK_SHELL_DIR}/build/constraints/cl_ddr_timing_aws.xdc
