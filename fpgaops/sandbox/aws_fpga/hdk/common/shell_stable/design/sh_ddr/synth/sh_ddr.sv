// sh_ddr: the DDR4 controller wrapper every CL instantiates (fpgaops sandbox stand-in).
// Same parameters and ports as the HDK's; with DDR_PRESENT = 0 (and in this stand-in always)
// it holds no controller: AXI ready/valid outputs are low and sh_cl_ddr_is_ready stays 0.
module sh_ddr
  #(
    parameter DDR_PRESENT  = 1,
    parameter DDR_IO       = 1,
    parameter DATA_WIDTH   = 512,
    parameter ADDR_WIDTH   = 64,
    parameter ID_WIDTH     = 16,
    parameter LEN_WIDTH    = 8,
    parameter AXUSER_WIDTH = 1
    )
   (
    input                             clk,
    input                             rst_n,
    input                             stat_clk,
    input                             stat_rst_n,
    input  logic                      CLK_DIMM_DP,
    input  logic                      CLK_DIMM_DN,
    output logic                      M_ACT_N,
    output logic [17:0]               M_MA,
    output logic [1:0]                M_BA,
    output logic [1:0]                M_BG,
    output logic [1:0]                M_CKE,
    output logic [1:0]                M_ODT,
    output logic [1:0]                M_CS_N,
    output logic [1:0]                M_CLK_DN,
    output logic [1:0]                M_CLK_DP,
    output logic                      M_PAR,
    inout        [63:0]               M_DQ,
    inout        [7:0]                M_ECC,
    inout        [17:0]               M_DQS_DP,
    inout        [17:0]               M_DQS_DN,
    output logic                      cl_RST_DIMM_N,
    input  logic [ID_WIDTH-1:0]       cl_sh_ddr_axi_awid,
    input  logic [ADDR_WIDTH-1:0]     cl_sh_ddr_axi_awaddr,
    input  logic [LEN_WIDTH-1:0]      cl_sh_ddr_axi_awlen,
    input  logic [2:0]                cl_sh_ddr_axi_awsize,
    input  logic                      cl_sh_ddr_axi_awvalid,
    input  logic [1:0]                cl_sh_ddr_axi_awburst,
    input  logic                      cl_sh_ddr_axi_awuser,
    output logic                      cl_sh_ddr_axi_awready,
    input  logic [DATA_WIDTH-1:0]     cl_sh_ddr_axi_wdata,
    input  logic [(DATA_WIDTH>>3)-1:0] cl_sh_ddr_axi_wstrb,
    input  logic                      cl_sh_ddr_axi_wlast,
    input  logic                      cl_sh_ddr_axi_wvalid,
    output logic                      cl_sh_ddr_axi_wready,
    output logic [ID_WIDTH-1:0]       cl_sh_ddr_axi_bid,
    output logic [1:0]                cl_sh_ddr_axi_bresp,
    output logic                      cl_sh_ddr_axi_bvalid,
    input  logic                      cl_sh_ddr_axi_bready,
    input  logic [ID_WIDTH-1:0]       cl_sh_ddr_axi_arid,
    input  logic [ADDR_WIDTH-1:0]     cl_sh_ddr_axi_araddr,
    input  logic [LEN_WIDTH-1:0]      cl_sh_ddr_axi_arlen,
    input  logic [2:0]                cl_sh_ddr_axi_arsize,
    input  logic                      cl_sh_ddr_axi_arvalid,
    input  logic [1:0]                cl_sh_ddr_axi_arburst,
    input  logic                      cl_sh_ddr_axi_aruser,
    output logic                      cl_sh_ddr_axi_arready,
    output logic [ID_WIDTH-1:0]       cl_sh_ddr_axi_rid,
    output logic [DATA_WIDTH-1:0]     cl_sh_ddr_axi_rdata,
    output logic [1:0]                cl_sh_ddr_axi_rresp,
    output logic                      cl_sh_ddr_axi_rlast,
    output logic                      cl_sh_ddr_axi_rvalid,
    input  logic                      cl_sh_ddr_axi_rready,
    input  logic [7:0]                sh_ddr_stat_bus_addr,
    input  logic [31:0]               sh_ddr_stat_bus_wdata,
    input  logic                      sh_ddr_stat_bus_wr,
    input  logic                      sh_ddr_stat_bus_rd,
    output logic                      sh_ddr_stat_bus_ack,
    output logic [31:0]               sh_ddr_stat_bus_rdata,
    output logic [7:0]                ddr_sh_stat_int,
    output logic                      sh_cl_ddr_is_ready
   );

  always_comb begin
    {M_ACT_N, M_MA, M_BA, M_BG, M_CKE, M_ODT, M_CS_N, M_CLK_DN, M_CLK_DP, M_PAR, cl_RST_DIMM_N} = '0;
    {cl_sh_ddr_axi_awready, cl_sh_ddr_axi_wready, cl_sh_ddr_axi_bid, cl_sh_ddr_axi_bresp, cl_sh_ddr_axi_bvalid} = '0;
    {cl_sh_ddr_axi_arready, cl_sh_ddr_axi_rid, cl_sh_ddr_axi_rdata, cl_sh_ddr_axi_rresp} = '0;
    {cl_sh_ddr_axi_rlast, cl_sh_ddr_axi_rvalid} = '0;
    sh_ddr_stat_bus_ack   = 1'b1;
    sh_ddr_stat_bus_rdata = '0;
    ddr_sh_stat_int       = '0;
    sh_cl_ddr_is_ready    = 1'b0;
  end

endmodule
