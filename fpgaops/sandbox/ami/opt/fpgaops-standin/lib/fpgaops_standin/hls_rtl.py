"""The RTL interface of the top function, a port-accurate Verilog model and the IP-XACT export.

Port naming follows the HLS tools: an ``ap_vld`` array reshaped to one port (``input_1_V`` in
Vivado HLS, ``input_1`` in Vitis HLS) or partitioned into one port per element
(``layer7_out_0_V``), each with its ``_ap_vld``; an ``axis`` stream as TDATA/TVALID/TREADY;
block control ``ap_clk ap_rst ap_start ap_done ap_idle ap_ready`` (``ap_rst_n`` with AXI-Stream).
The Verilog body only models the handshake and the latency: every data output is zero.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from .hls_project import HlsProject, Port


@dataclass(frozen=True)
class RtlPort:
    """One RTL port (as in the csynth report's interface table)."""

    name: str
    direction: str  # in | out
    bits: int
    protocol: str
    source: str
    c_type: str


def rtl_ports(project: HlsProject, suffix: str) -> list[RtlPort]:
    """All ports of the top module; ``suffix`` is ``_V`` (Vivado HLS) or empty (Vitis HLS)."""
    streaming = any(p.interface == "axis" for p in project.ports)
    ap_ctrl_none = "ap_ctrl_none port=return" in project.pragmas
    top = project.top
    ports = [
        RtlPort("ap_clk", "in", 1, "ap_ctrl_hs", top, "return value"),
        RtlPort("ap_rst_n" if streaming else "ap_rst", "in", 1, "ap_ctrl_hs", top, "return value"),
    ]
    if not ap_ctrl_none:
        ports += [
            RtlPort(name, direction, 1, "ap_ctrl_hs", top, "return value")
            for name, direction in (("ap_start", "in"), ("ap_done", "out"), ("ap_idle", "out"), ("ap_ready", "out"))
        ]
    for port in project.ports:
        ports += _argument_ports(port, suffix)
    return ports


def _argument_ports(port: Port, suffix: str) -> list[RtlPort]:
    data_dir, back_dir = ("out", "in") if port.is_output else ("in", "out")
    kind = "pointer" if port.is_output else "array"
    if port.interface == "axis":
        bits = -(-port.bits // 8) * 8
        return [
            RtlPort(f"{port.name}_TDATA", data_dir, bits, "axis", port.name, kind),
            RtlPort(f"{port.name}_TVALID", data_dir, 1, "axis", port.name, kind),
            RtlPort(f"{port.name}_TREADY", back_dir, 1, "axis", port.name, kind),
        ]
    if port.reshaped:
        names = [(f"{port.name}{suffix}", port.bits)]
    else:
        names = [(f"{port.name}_{i}{suffix}", port.element_bits) for i in range(port.elements)]
    ports = []
    for name, bits in names:
        ports.append(RtlPort(name, data_dir, bits, port.interface, port.name, kind))
        if port.interface == "ap_vld":
            ports.append(RtlPort(f"{name}_ap_vld", data_dir, 1, "ap_vld", port.name, kind))
    return ports


def verilog_model(project: HlsProject, ports: list[RtlPort], latency: int, header: str) -> str:
    """A synthesizable, lint-clean module with the real ports: start -> done after ``latency`` cycles."""
    names = {p.name for p in ports}
    reset = "ap_rst_n" if "ap_rst_n" in names else "ap_rst"
    reset_active = f"!{reset}" if reset == "ap_rst_n" else reset
    start = "ap_start" if "ap_start" in names else "1'b1"
    lines = [f"// {line}" if line else "//" for line in header.splitlines()]
    lines += ["", "`timescale 1 ns / 1 ps", "", f"module {project.top} ("]
    lines.append(",\n".join(f"        {p.name}" for p in ports))
    lines += [");", ""]
    for port in ports:
        width = f"[{port.bits - 1}:0] " if port.bits > 1 else ""
        lines.append(f"{'input ' if port.direction == 'in' else 'output'}  {width}{port.name};")
    lines += [
        "",
        f"reg [{latency - 1}:0] pipeline;",
        "",
        "always @(posedge ap_clk) begin",
        f"    if ({reset_active}) pipeline <= {latency}'b0;",
        f"    else pipeline <= {{pipeline[{latency - 2 if latency > 1 else 0}:0], {start}}};"
        if latency > 1
        else f"    else pipeline <= {start};",
        "end",
        "",
    ]
    done = f"pipeline[{latency - 1}]"
    for port in ports:
        if port.direction != "out":
            continue
        if port.name == "ap_done" or port.name.endswith(("_ap_vld", "_TVALID")):
            value = done
        elif port.name == "ap_idle":
            value = "~(|pipeline)"
        elif port.name == "ap_ready" or port.name.endswith("_TREADY"):
            value = start
        else:
            value = f"{port.bits}'d0"
        lines.append(f"assign {port.name} = {value};")
    lines += ["", f"endmodule //{project.top}", ""]
    return "\n".join(lines)


def write_ip(project: HlsProject, ports: list[RtlPort], verilog: str, ip_dir: Path, tool: str) -> Path:
    """export_design -format ip_catalog: component.xml, hdl/verilog/<top>.v and the IP zip; returns the zip."""
    verilog_dir = ip_dir / "hdl" / "verilog"
    verilog_dir.mkdir(parents=True, exist_ok=True)
    (verilog_dir / f"{project.top}.v").write_text(verilog)
    (ip_dir / "component.xml").write_text(_component_xml(project, ports, tool))
    archive = ip_dir / f"xilinx_com_hls_{project.top}_{project.version.replace('.', '_')}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in (ip_dir / "component.xml", verilog_dir / f"{project.top}.v"):
            info = zipfile.ZipInfo(str(path.relative_to(ip_dir)), date_time=(1980, 1, 1, 0, 0, 0))
            bundle.writestr(info, path.read_bytes())
    return archive


def _component_xml(project: HlsProject, ports: list[RtlPort], tool: str) -> str:
    port_xml = "".join(
        "    <spirit:port>\n"
        f"      <spirit:name>{escape(p.name)}</spirit:name>\n"
        "      <spirit:wire>\n"
        f"        <spirit:direction>{p.direction}</spirit:direction>\n"
        + (
            f"        <spirit:vector><spirit:left>{p.bits - 1}</spirit:left><spirit:right>0</spirit:right>"
            "</spirit:vector>\n"
            if p.bits > 1
            else ""
        )
        + "      </spirit:wire>\n"
        "    </spirit:port>\n"
        for p in ports
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<spirit:component xmlns:spirit="http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009"\n'
        '                  xmlns:xilinx="http://www.xilinx.com">\n'
        "  <spirit:vendor>xilinx.com</spirit:vendor>\n"
        "  <spirit:library>hls</spirit:library>\n"
        f"  <spirit:name>{escape(project.top)}</spirit:name>\n"
        f"  <spirit:version>{escape(project.version)}</spirit:version>\n"
        "  <spirit:model>\n"
        "    <spirit:views>\n"
        "      <spirit:view>\n"
        "        <spirit:name>xilinx_verilogsynthesis</spirit:name>\n"
        "        <spirit:envIdentifier>verilogSource:vivado.xilinx.com:synthesis</spirit:envIdentifier>\n"
        "        <spirit:language>verilog</spirit:language>\n"
        f"        <spirit:modelName>{escape(project.top)}</spirit:modelName>\n"
        "        <spirit:fileSetRef><spirit:localName>xilinx_verilogsynthesis_view_fileset</spirit:localName>"
        "</spirit:fileSetRef>\n"
        "      </spirit:view>\n"
        "    </spirit:views>\n"
        "    <spirit:ports>\n"
        f"{port_xml}"
        "    </spirit:ports>\n"
        "  </spirit:model>\n"
        "  <spirit:fileSets>\n"
        "    <spirit:fileSet>\n"
        "      <spirit:name>xilinx_verilogsynthesis_view_fileset</spirit:name>\n"
        f"      <spirit:file><spirit:name>hdl/verilog/{escape(project.top)}.v</spirit:name>"
        "<spirit:fileType>verilogSource</spirit:fileType></spirit:file>\n"
        "    </spirit:fileSet>\n"
        "  </spirit:fileSets>\n"
        f"  <spirit:description>An IP generated by {escape(tool)} (fpgaops sandbox stand-in: port-accurate "
        "model, zero data)</spirit:description>\n"
        "  <spirit:vendorExtensions>\n"
        "    <xilinx:coreExtensions>\n"
        f'      <xilinx:supportedFamilies><xilinx:family xilinx:lifeCycle="Production">{escape(project.part)}'
        "</xilinx:family></xilinx:supportedFamilies>\n"
        "    </xilinx:coreExtensions>\n"
        "  </spirit:vendorExtensions>\n"
        "</spirit:component>\n"
    )
