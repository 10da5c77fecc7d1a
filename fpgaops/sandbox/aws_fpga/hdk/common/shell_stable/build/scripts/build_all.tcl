# Amazon FPGA HDK build flow, run as
#   vivado -mode batch -source build_all.tcl -log <tag>.vivado.log \
#          -tclargs <place> <phy_opt> <route> <clock_recipe_a> <b> <c> <hbm>
# from $CL_DIR/build/scripts by aws_build_dcp_from_cl.py.
#
# fpgaops sandbox stand-in: the sandbox's vivado recognises this script by its name and performs
# the flow itself (lib/fpgaops_standin/hdk_build.py under /opt/fpgaops-standin): environment
# checks, clock constraints, copying $CL_DIR/design to build/src_post_encryption, sourcing
# synth_${CL}.tcl (its read_* commands are followed), then build_level_1_cl.tcl's link, opt,
# place, phys_opt and route, writing checkpoints and timing reports.
