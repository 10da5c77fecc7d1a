// Top module of CL_TEMPLATE (fpgaops sandbox stand-in of the HDK example): the CL ports with
// every output tied off, and the sh_ddr instance every CL must have.
module CL_TEMPLATE
    #(
      parameter EN_DDR = 0,
      parameter EN_HBM = 0
    )
    (
      `include "cl_ports.vh"
    );

`include "cl_id_defines.vh"
`include "CL_TEMPLATE_defines.vh"

  always_comb begin
    cl_sh_flr_done    = 1'b1;
    cl_sh_status0     = '0;
    cl_sh_status1     = '0;
    cl_sh_status2     = '0;
    cl_sh_id0         = `CL_SH_ID0;
    cl_sh_id1         = `CL_SH_ID1;
    cl_sh_status_vled = '0;
  end

`include "unused_pcim_template.inc"
`include "unused_dma_pcis_template.inc"
`include "unused_sh_ocl_template.inc"
`include "unused_apppf_irq_template.inc"

  always_comb begin
    cl_sda_awready = '0; cl_sda_wready = '0; cl_sda_bresp = '0; cl_sda_bvalid = '0;
    cl_sda_arready = '0; cl_sda_rdata = '0; cl_sda_rresp = '0; cl_sda_rvalid = '0;
    cl_sh_ddr_stat_ack = 1'b1; cl_sh_ddr_stat_rdata = '0; cl_sh_ddr_stat_int = '0;
    tdo = 1'b0;
    {hbm_apb_paddr_1, hbm_apb_pprot_1, hbm_apb_psel_1, hbm_apb_penable_1, hbm_apb_pwrite_1} = '0;
    {hbm_apb_pwdata_1, hbm_apb_pstrb_1, hbm_apb_pready_1, hbm_apb_prdata_1, hbm_apb_pslverr_1} = '0;
    {hbm_apb_paddr_0, hbm_apb_pprot_0, hbm_apb_psel_0, hbm_apb_penable_0, hbm_apb_pwrite_0} = '0;
    {hbm_apb_pwdata_0, hbm_apb_pstrb_0, hbm_apb_pready_0, hbm_apb_prdata_0, hbm_apb_pslverr_0} = '0;
    {PCIE_EP_TXP, PCIE_EP_TXN, PCIE_RP_PERSTN, PCIE_RP_TXP, PCIE_RP_TXN} = '0;
  end

  sh_ddr #(.DDR_PRESENT(EN_DDR)) SH_DDR (
    .clk(clk_main_a0), .rst_n(rst_main_n), .stat_clk(clk_main_a0), .stat_rst_n(rst_main_n),
    .CLK_DIMM_DP(CLK_DIMM_DP), .CLK_DIMM_DN(CLK_DIMM_DN), .M_ACT_N(M_ACT_N), .M_MA(M_MA), .M_BA(M_BA),
    .M_BG(M_BG), .M_CKE(M_CKE), .M_ODT(M_ODT), .M_CS_N(M_CS_N), .M_CLK_DN(M_CLK_DN), .M_CLK_DP(M_CLK_DP),
    .M_PAR(M_PAR), .M_DQ(M_DQ), .M_ECC(M_ECC), .M_DQS_DP(M_DQS_DP), .M_DQS_DN(M_DQS_DN),
    .cl_RST_DIMM_N(RST_DIMM_N),
    .cl_sh_ddr_axi_awid(), .cl_sh_ddr_axi_awaddr(), .cl_sh_ddr_axi_awlen(), .cl_sh_ddr_axi_awsize(),
    .cl_sh_ddr_axi_awvalid(), .cl_sh_ddr_axi_awburst(), .cl_sh_ddr_axi_awuser(), .cl_sh_ddr_axi_awready(),
    .cl_sh_ddr_axi_wdata(), .cl_sh_ddr_axi_wstrb(), .cl_sh_ddr_axi_wlast(), .cl_sh_ddr_axi_wvalid(),
    .cl_sh_ddr_axi_wready(), .cl_sh_ddr_axi_bid(), .cl_sh_ddr_axi_bresp(), .cl_sh_ddr_axi_bvalid(),
    .cl_sh_ddr_axi_bready(), .cl_sh_ddr_axi_arid(), .cl_sh_ddr_axi_araddr(), .cl_sh_ddr_axi_arlen(),
    .cl_sh_ddr_axi_arsize(), .cl_sh_ddr_axi_arvalid(), .cl_sh_ddr_axi_arburst(), .cl_sh_ddr_axi_aruser(),
    .cl_sh_ddr_axi_arready(), .cl_sh_ddr_axi_rid(), .cl_sh_ddr_axi_rdata(), .cl_sh_ddr_axi_rresp(),
    .cl_sh_ddr_axi_rlast(), .cl_sh_ddr_axi_rvalid(), .cl_sh_ddr_axi_rready(),
    .sh_ddr_stat_bus_addr(sh_cl_ddr_stat_addr), .sh_ddr_stat_bus_wdata(sh_cl_ddr_stat_wdata),
    .sh_ddr_stat_bus_wr(sh_cl_ddr_stat_wr), .sh_ddr_stat_bus_rd(sh_cl_ddr_stat_rd), .sh_ddr_stat_bus_ack(),
    .sh_ddr_stat_bus_rdata(), .ddr_sh_stat_int(), .sh_cl_ddr_is_ready()
  );

endmodule // CL_TEMPLATE
