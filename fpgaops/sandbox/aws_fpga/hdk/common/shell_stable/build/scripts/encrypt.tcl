# Copies ${HDK_SHELL_DESIGN_DIR}/interfaces/*.inc and ${design_dir}/*.{v,sv,vh,svh,inc} into
# ${src_post_enc_dir} and encrypts them. fpgaops sandbox stand-in: performed by the sandbox's
# vivado as part of build_all.tcl, without encryption.
