# DDR and C2C IO pin constraints of the F2 shell (fpgaops sandbox stand-in: no pins are placed).
