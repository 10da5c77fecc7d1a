"""The CL wrapper's Verilog for windows of any input count: verilator lint (alone and inside the F2 shell's CL
ports), and the register protocol of rhythm_service.register_map simulated cycle by cycle (verilator --binary)
against a stub IP."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest

from hls_model.cl_wrapper import ACCELERATOR, input_index_bits, render_accelerator, render_cl, render_cl_top
from rhythm_service import register_map as rm
from tests.hls_model.conftest import CL_TEMPLATE, SHELL_DESIGN

pytestmark = pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator is not installed")
MODEL_ID = 0x1234ABCD
INPUT_COUNTS = (1, 30, 48, 64, 72, rm.MAX_INPUTS)  # any window: 10 x 3, 16 x 3, 24 x 3, ... up to the map's room


def with_inputs(interface, count: int):
    """The interface of an IP whose window has ``count`` inputs."""
    return dataclasses.replace(interface, input_count=count)


def stub_ip(interface) -> str:
    """A stand-in for the HLS top with the same ports: output = sum of the 16-bit inputs, 5 cycles later."""
    count = interface.input_count
    return f"""
`timescale 1 ns / 1 ps
module {interface.top} (
    input  logic ap_clk, input logic ap_rst, input logic ap_start,
    output logic ap_done, output logic ap_idle, output logic ap_ready,
    input  logic [{16 * count - 1}:0] {interface.input_port}, input logic {interface.input_port}_ap_vld,
    output logic [15:0] {interface.output_port}, output logic {interface.output_port}_ap_vld
);
  logic [4:0] pipe;
  logic [15:0] total, held;
  always_comb begin
    total = 16'd0;
    for (int k = 0; k < {count}; k++) total = total + {interface.input_port}[k*16 +: 16];
  end
  always_ff @(posedge ap_clk) begin
    if (ap_rst) pipe <= '0;
    else pipe <= {{pipe[3:0], ap_start & {interface.input_port}_ap_vld}};
    if (ap_start) held <= total;
  end
  assign ap_ready = ap_start;
  assign ap_done = pipe[4];
  assign ap_idle = ~|pipe;
  assign {interface.output_port} = held;
  assign {interface.output_port}_ap_vld = pipe[4];
endmodule
"""


def lint(sources: list[Path], top: str, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["verilator", "--lint-only", *options, "--top-module", top, *map(str, sources)],
        capture_output=True, text=True, check=False,
    )


@pytest.mark.parametrize("count", INPUT_COUNTS)
def test_accelerator_is_lint_clean_with_all_warnings(tmp_path: Path, interface, count: int) -> None:
    interface = with_inputs(interface, count)
    (tmp_path / f"{ACCELERATOR}.sv").write_text(render_accelerator(interface, MODEL_ID))
    (tmp_path / f"{interface.top}.sv").write_text(stub_ip(interface))
    result = lint([tmp_path / f"{ACCELERATOR}.sv", tmp_path / f"{interface.top}.sv"], ACCELERATOR, "-Wall")
    assert result.returncode == 0, result.stderr


def test_register_values_come_from_the_register_map(interface) -> None:
    text = render_accelerator(interface, MODEL_ID)
    assert f"12'h{rm.CONTROL:03X}" in text and f"12'h{rm.INPUT_BASE:03X}" in text
    assert f"32'h{rm.DESIGN_ID:08X}" in text and "32'h1234ABCD" in text
    assert f"32'h{rm.format_word(rm.FixedPoint(16, 6), rm.FixedPoint(16, 6)):08X}" in text
    assert ".window(ip_inputs)" in text and ".layer11_out_0_ap_vld(ip_output_valid)" in text


@pytest.mark.parametrize(("count", "index_bits"), [(1, 1), (30, 5), (48, 6), (64, 6), (65, 7), (960, 10)])
def test_the_input_registers_are_sized_to_the_ips_window(interface, count: int, index_bits: int) -> None:
    text = render_accelerator(with_inputs(interface, count), MODEL_ID)
    assert input_index_bits(count) == index_bits
    assert f"localparam int N_INPUTS = {count};" in text and f"localparam int INDEX_BITS = {index_bits};" in text
    assert f"localparam logic [11:0] INPUT_BYTES = 12'h{4 * count:03X};" in text
    assert f"12'h{rm.INPUT_COUNT:03X}: read_value = 32'd{count};" in text
    assert f"k = 0..{count - 1}," in text


def test_an_ip_whose_window_the_map_cannot_hold_is_refused(interface) -> None:
    with pytest.raises(ValueError, match=r"IP beat_detector \(window\): 961 inputs do not fit the register map"):
        render_accelerator(with_inputs(interface, rm.MAX_INPUTS + 1), MODEL_ID)


@pytest.mark.parametrize("count", [30, 48])
def test_cl_top_lints_inside_the_f2_shell_ports(tmp_path: Path, interface, count: int) -> None:
    interface = with_inputs(interface, count)
    paths = render_cl(interface, MODEL_ID, "cl_beat", tmp_path)
    assert [p.name for p in paths] == ["cl_beat.sv", f"{ACCELERATOR}.sv"]
    shutil.copy(CL_TEMPLATE / "design" / "cl_id_defines.vh", tmp_path)
    defines = (CL_TEMPLATE / "design" / "CL_TEMPLATE_defines.vh").read_text().replace("CL_TEMPLATE", "cl_beat")
    (tmp_path / "cl_beat_defines.vh").write_text(defines)
    (tmp_path / "ip.sv").write_text(stub_ip(interface))
    sources = [*paths, tmp_path / "ip.sv", SHELL_DESIGN / "sh_ddr" / "synth" / "sh_ddr.sv"]
    # The flags the HDK stand-in's synthesis uses (errors only, as Vivado would stop on).
    result = lint(sources, "cl_beat", "-Wno-fatal", "-Wno-lint", "-Wno-style",
                  f"-I{SHELL_DESIGN / 'interfaces'}", f"-I{tmp_path}")
    assert result.returncode == 0, result.stderr
    assert "%Error" not in result.stderr


def test_names_that_are_not_verilog_identifiers_are_refused() -> None:
    with pytest.raises(ValueError, match="identifier"):
        render_cl_top("cl-beat")


TESTBENCH = """
`timescale 1 ns / 1 ps
module tb;
  logic clk = 0;
  always #2 clk = ~clk;
  logic rst_n = 0;
  logic [31:0] awaddr = 0, wdata = 0, araddr = 0;
  logic awvalid = 0, wvalid = 0, bready = 0, arvalid = 0, rready = 0;
  logic awready, wready, bvalid, arready, rvalid;
  logic [1:0] bresp, rresp;
  logic [31:0] rdata;
  int failures = 0;

  ACCEL dut (.clk(clk), .rst_n(rst_n),
    .s_axil_awaddr(awaddr), .s_axil_awvalid(awvalid), .s_axil_awready(awready),
    .s_axil_wdata(wdata), .s_axil_wstrb(4'hF), .s_axil_wvalid(wvalid), .s_axil_wready(wready),
    .s_axil_bresp(bresp), .s_axil_bvalid(bvalid), .s_axil_bready(bready),
    .s_axil_araddr(araddr), .s_axil_arvalid(arvalid), .s_axil_arready(arready),
    .s_axil_rdata(rdata), .s_axil_rresp(rresp), .s_axil_rvalid(rvalid), .s_axil_rready(rready));

  // The bench drives and samples at the falling edge, where every DUT signal is stable: a handshake
  // happens at a rising edge when valid and ready were both high at the falling edge before it.
  task automatic write_reg(input logic [31:0] address, input logic [31:0] value);
    bit address_fires, data_fires, response_fires;
    @(negedge clk);
    awaddr = address; awvalid = 1; wdata = value; wvalid = 1;
    while (awvalid || wvalid) begin
      address_fires = awvalid && awready;
      data_fires = wvalid && wready;
      @(negedge clk);
      if (address_fires) awvalid = 0;
      if (data_fires) wvalid = 0;
    end
    bready = 1;
    do begin
      response_fires = bvalid;
      @(negedge clk);
    end while (!response_fires);
    bready = 0;
  endtask

  task automatic read_reg(input logic [31:0] address, output logic [31:0] value);
    bit fires;
    @(negedge clk);
    araddr = address; arvalid = 1; rready = 1;
    do begin
      fires = arready;
      @(negedge clk);
    end while (!fires);
    arvalid = 0;
    do begin
      fires = rvalid;
      value = rdata;
      @(negedge clk);
    end while (!fires);
    rready = 0;
  endtask

  task automatic expect_reg(input logic [31:0] address, input logic [31:0] expected, input string what);
    logic [31:0] value;
    read_reg(address, value);
    if (value !== expected) begin
      $display("FAIL %s: read %h, expected %h", what, value, expected);
      failures++;
    end
  endtask

  logic [31:0] status;
  logic [15:0] total;
  initial begin
    repeat (4) @(posedge clk);
    rst_n <= 1;
    @(posedge clk);
    CHECKS
    if (failures == 0) $display("PASS");
    $finish;
  end
  initial begin
    #100000 $display("FAIL timeout");
    $finish;
  end
endmodule
"""


@pytest.mark.slow
@pytest.mark.parametrize("count", [30, 48])
def test_register_protocol_in_simulation(tmp_path: Path, interface, count: int) -> None:
    interface = with_inputs(interface, count)
    inputs = [(k * 37 - 500) & 0xFFFF for k in range(count)]  # negative and positive raw values
    total = sum(inputs) & 0xFFFF
    sign_extended = total | 0xFFFF0000 if total & 0x8000 else total
    checks = [
        f"expect_reg(32'h{rm.DESIGN_ID_OFFSET:03X}, 32'h{rm.DESIGN_ID:08X}, \"DESIGN_ID\");",
        f"expect_reg(32'h{rm.MODEL_ID:03X}, 32'h{MODEL_ID:08X}, \"MODEL_ID\");",
        f"expect_reg(32'h{rm.INPUT_COUNT:03X}, 32'd{count}, \"INPUT_COUNT\");",
        f"expect_reg(32'h{rm.FORMAT:03X}, 32'h{rm.format_word(rm.FixedPoint(16, 6), rm.FixedPoint(16, 6)):08X}, "
        "\"FORMAT\");",
        f"expect_reg(32'h{rm.STATUS:03X}, 32'h{rm.STATUS_IDLE:X}, \"STATUS idle\");",
        f"write_reg(32'h{rm.SCRATCH:03X}, 32'hCAFEF00D);",
        f"expect_reg(32'h{rm.SCRATCH:03X}, 32'hCAFEF00D, \"SCRATCH\");",
        *(f"write_reg(32'h{rm.input_offset(k):03X}, 32'h{word:08X});" for k, word in enumerate(inputs)),
        f"expect_reg(32'h{rm.input_offset(0):03X}, 32'h{0xFFFF0000 | inputs[0]:08X}, \"INPUT[0] sign-extended\");",
        f"expect_reg(32'h{rm.input_offset(count - 1):03X}, 32'h{inputs[-1]:08X}, \"INPUT[{count - 1}]\");",
        f"write_reg(32'h{rm.input_offset(count):03X}, 32'h00001234);",  # past the window: not decoded
        f"expect_reg(32'h{rm.input_offset(count):03X}, 32'h0, \"INPUT[{count}] past the window\");",
        f"write_reg(32'h{rm.CONTROL:03X}, 32'h{rm.CONTROL_START:X});",
        f"do read_reg(32'h{rm.STATUS:03X}, status); while (!status[0]);",
        f"expect_reg(32'h{rm.OUTPUT:03X}, 32'h{sign_extended:08X}, \"OUTPUT\");",
        f"expect_reg(32'h{rm.STATUS:03X}, 32'h{rm.STATUS_DONE | rm.STATUS_IDLE:X}, \"STATUS done\");",
        f"read_reg(32'h{rm.CYCLES:03X}, status); if (status < 5 || status > 20) begin "
        "$display(\"FAIL CYCLES %0d\", status); failures++; end",
        "expect_reg(32'h800, 32'h0, \"unmapped\");",
        f"expect_reg(32'h1000 + 32'h{rm.SCRATCH:03X}, 32'h0, \"beyond the span\");",
    ]
    (tmp_path / "accelerator.sv").write_text(render_accelerator(interface, MODEL_ID))
    (tmp_path / "ip.sv").write_text(stub_ip(interface))
    (tmp_path / "tb.sv").write_text(TESTBENCH.replace("ACCEL", ACCELERATOR).replace("CHECKS", "\n    ".join(checks)))
    build = subprocess.run(
        ["verilator", "--binary", "--timing", "-Wno-fatal", "--top-module", "tb", "-o", "sim",
         "tb.sv", "accelerator.sv", "ip.sv"],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=600,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    run = subprocess.run([str(tmp_path / "obj_dir" / "sim")], capture_output=True, text=True, check=False, timeout=60)
    assert "PASS" in run.stdout and "FAIL" not in run.stdout, run.stdout
