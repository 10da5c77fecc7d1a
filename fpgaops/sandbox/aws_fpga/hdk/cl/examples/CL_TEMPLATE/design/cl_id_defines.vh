`ifndef CL_ID_DEFINES
`define CL_ID_DEFINES

  // Required by every CL: aws_build_dcp_from_cl.py takes the manifest's PCIe ids from here.
  // CL_SH_ID0: [31:16] PCIe device id, [15:0] PCIe vendor id (0x1D0F: Amazon, with device
  //            ids 0xF000-0xF0FF; 0x8086 and zero are not valid).
  `define CL_SH_ID0       32'hF010_1D0F

  // CL_SH_ID1: [31:16] PCIe subsystem id, [15:0] subsystem vendor id (non-zero).
  `define CL_SH_ID1       32'h1D51_FEDC

`endif
