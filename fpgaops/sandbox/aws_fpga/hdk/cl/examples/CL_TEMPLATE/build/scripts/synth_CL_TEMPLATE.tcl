# Synthesis of CL_TEMPLATE (fpgaops sandbox stand-in of the HDK example's script).
# Add the design's sources, IPs and constraints in the marked sections.

source ${HDK_SHELL_DIR}/build/scripts/synth_cl_header.tcl

print "Reading encrypted user source codes"
#---- User would replace this section -----
read_verilog -sv [glob ${src_post_enc_dir}/*.?v]
#---- End of section replaced by User ----

print "Reading CL IP blocks"
#---- User would uncomment and/or list IPs required in their design ----
# read_ip ${HDK_IP_SRC_DIR}/cl_ddr4_32g/cl_ddr4_32g.xci
#---- End of section uncommented by the User ----

print "Reading user constraints"
#---- User would replace this section -----
read_xdc [ list \
  ${constraints_dir}/cl_synth_user.xdc \
  ${constraints_dir}/cl_timing_user.xdc
]
set_property PROCESSING_ORDER LATE [get_files cl_synth_user.xdc]
set_property PROCESSING_ORDER LATE [get_files cl_timing_user.xdc]
#---- End of section replaced by User ----

print "Starting synthesizing customer design ${CL}"
update_compile_order -fileset sources_1
synth_design -mode out_of_context \
             -top ${CL} \
             -verilog_define XSDB_SLV_DIS \
             -part ${DEVICE_TYPE} \
             -keep_equivalent_registers

source ${HDK_SHELL_DIR}/build/scripts/synth_cl_footer.tcl
