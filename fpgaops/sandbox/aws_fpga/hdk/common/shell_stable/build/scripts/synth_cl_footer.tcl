# Common CL synthesis footer (fpgaops sandbox stand-in of the HDK's synth_cl_footer.tcl).

print "Writing post-synth design checkpoint"
write_checkpoint -force ${checkpoints_dir}/${CL}.${TAG}.post_synth.dcp
close_project
