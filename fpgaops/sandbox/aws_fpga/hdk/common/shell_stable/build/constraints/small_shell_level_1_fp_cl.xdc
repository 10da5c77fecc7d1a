# Floorplan of the CL partition for the small shell (fpgaops sandbox stand-in).
