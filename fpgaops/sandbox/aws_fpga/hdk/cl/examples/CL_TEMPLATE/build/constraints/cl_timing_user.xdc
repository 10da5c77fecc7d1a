# User timing constraints of the CL.
