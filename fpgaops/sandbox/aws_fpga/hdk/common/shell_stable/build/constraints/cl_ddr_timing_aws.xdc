# Timing constraints of sh_ddr (fpgaops sandbox stand-in).
