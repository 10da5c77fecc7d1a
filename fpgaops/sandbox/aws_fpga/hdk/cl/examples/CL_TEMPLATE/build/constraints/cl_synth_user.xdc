# User synthesis constraints of the CL.
