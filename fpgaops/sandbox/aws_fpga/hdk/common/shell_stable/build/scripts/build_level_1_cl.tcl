# CL implementation (link with the shell checkpoint, opt, place, phys_opt, route).
# fpgaops sandbox stand-in: performed by the sandbox's vivado as part of build_all.tcl; it needs
# ${HDK_SHELL_DIR}/build/checkpoints/from_aws/cl_bb_routed.${SHELL_MODE}.dcp (hdk_setup.sh),
# ${HDK_SHELL_DIR}/build/constraints/${SHELL_MODE}_level_1_fp_cl.xdc and
# ${constraints_dir}/${SHELL_MODE}_cl_pnr_user.xdc.
