`ifndef CL_TEMPLATE_DEFINES
`define CL_TEMPLATE_DEFINES

  // Module name of the CL design, instantiated by the shell's top.sv
  `define CL_NAME CL_TEMPLATE

`endif
