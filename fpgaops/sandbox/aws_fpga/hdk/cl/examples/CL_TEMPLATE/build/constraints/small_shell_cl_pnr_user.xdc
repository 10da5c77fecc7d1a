# Floorplan of the CL for the small shell (pblocks in SLR0/SLR1/SLR2).
