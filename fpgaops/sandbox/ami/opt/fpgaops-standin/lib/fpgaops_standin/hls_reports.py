"""Report files in the HLS tools' formats, as hls4ml's report parser reads them.

hls4ml.report.parse_vivado_report reads <prj>/solution1/syn/report/<top>_csynth.xml
(UserAssignments/TargetClockPeriod, PerformanceEstimates/SummaryOfTimingAnalysis and
SummaryOfOverallLatency, AreaEstimates/Resources and AvailableResources),
<prj>/solution1/sim/report/<top>_cosim.rpt (the Verilog row) and <output_dir>/vivado_synth.rpt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from .console import now
from .hls_estimate import RESOURCES, Estimate
from .hls_project import HlsProject
from .hls_rtl import RtlPort


@dataclass(frozen=True)
class ReportStyle:
    """What differs between the Vivado HLS and Vitis HLS reports."""

    title: str  # "Vivado HLS" | "Vitis HLS"
    version: str
    dsp_tag: str  # DSP48E | DSP

    def tag(self, resource: str) -> str:
        """The XML/table name of a resource."""
        return self.dsp_tag if resource == "DSP" else resource


def write_csynth(
    project: HlsProject, est: Estimate, ports: list[RtlPort], style: ReportStyle, report_dir: Path
) -> None:
    """<top>_csynth.xml/.rpt and the csynth.xml/.rpt copies."""
    report_dir.mkdir(parents=True, exist_ok=True)
    xml = _csynth_xml(project, est, ports, style)
    rpt = _csynth_rpt(project, est, ports, style)
    for stem in (f"{project.top}_csynth", "csynth"):
        (report_dir / f"{stem}.xml").write_text(xml)
        (report_dir / f"{stem}.rpt").write_text(rpt)


def _resources_xml(tag: str, counts: dict[str, int], style: ReportStyle) -> str:
    rows = "".join(f"      <{style.tag(r)}>{counts[r]}</{style.tag(r)}>\n" for r in RESOURCES)
    return f"    <{tag}>\n{rows}    </{tag}>\n"


def _csynth_xml(project: HlsProject, est: Estimate, ports: list[RtlPort], style: ReportStyle) -> str:
    period = project.clock_period
    ports_xml = "".join(
        f"    <RtlPorts><name>{escape(p.name)}</name><Object>{escape(p.source)}</Object><Type>{p.c_type}</Type>"
        f"<Scope></Scope><IOProtocol>{p.protocol}</IOProtocol><Bits>{p.bits}</Bits><Dir>{p.direction}</Dir>"
        "</RtlPorts>\n"
        for p in ports
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<profile>\n'
        f"  <ReportVersion><Version>{style.version}</Version></ReportVersion>\n"
        "  <UserAssignments>\n    <unit>ns</unit>\n"
        f"    <ProductFamily>{est.family}</ProductFamily>\n    <Part>{escape(project.part)}</Part>\n"
        f"    <TopModelName>{escape(project.top)}</TopModelName>\n"
        f"    <TargetClockPeriod>{period:.2f}</TargetClockPeriod>\n"
        f"    <ClockUncertainty>{project.clock_uncertainty_ns:.2f}</ClockUncertainty>\n"
        "    <FlowTarget>vivado</FlowTarget>\n  </UserAssignments>\n"
        "  <PerformanceEstimates>\n    <PipelineType>function</PipelineType>\n"
        "    <SummaryOfTimingAnalysis>\n      <unit>ns</unit>\n"
        f"      <EstimatedClockPeriod>{est.clock_estimate:.3f}</EstimatedClockPeriod>\n"
        "    </SummaryOfTimingAnalysis>\n    <SummaryOfOverallLatency>\n      <unit>clock cycles</unit>\n"
        f"      <Best-caseLatency>{est.latency}</Best-caseLatency>\n"
        f"      <Average-caseLatency>{est.latency}</Average-caseLatency>\n"
        f"      <Worst-caseLatency>{est.latency}</Worst-caseLatency>\n"
        f"      <Best-caseRealTimeLatency>{est.latency * period:.3f} ns</Best-caseRealTimeLatency>\n"
        f"      <Average-caseRealTimeLatency>{est.latency * period:.3f} ns</Average-caseRealTimeLatency>\n"
        f"      <Worst-caseRealTimeLatency>{est.latency * period:.3f} ns</Worst-caseRealTimeLatency>\n"
        f"      <Interval-min>{est.interval}</Interval-min>\n      <Interval-max>{est.interval}</Interval-max>\n"
        "    </SummaryOfOverallLatency>\n  </PerformanceEstimates>\n"
        "  <AreaEstimates>\n"
        + _resources_xml("Resources", est.used, style)
        + _resources_xml("AvailableResources", est.available, style)
        + "  </AreaEstimates>\n"
        f"  <InterfaceSummary>\n{ports_xml}  </InterfaceSummary>\n</profile>\n"
    )


def _table(headers: list[str], rows: list[list[str]], indent: str = "", name_left: bool = True) -> list[str]:
    """An ASCII table; the first column is left-aligned unless ``name_left`` is False."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) + 1 for i, h in enumerate(headers)]
    rule = indent + "+" + "+".join("-" * w for w in widths) + "+"
    out = [rule, indent + "|" + "|".join(h.center(w) for h, w in zip(headers, widths, strict=True)) + "|", rule]
    out += [
        indent
        + "|"
        + "|".join(
            c.ljust(w) if i == 0 and name_left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        + "|"
        for row in rows
    ]
    return [*out, rule]


def _header(project: HlsProject, est: Estimate, style: ReportStyle, what: str) -> list[str]:
    return [
        "",
        "",
        "=" * 64,
        f"== {style.title} Report for '{project.top}'" + (f" ({what})" if what else ""),
        "=" * 64,
        f"* Date:           {now()}",
        "",
        f"* Version:        {style.version} (fpgaops sandbox stand-in)",
        f"* Project:        {project.name}_prj",
        "* Solution:       solution1",
        f"* Product family: {est.family}",
        f"* Target device:  {project.part}",
        "",
        "",
    ]


def _csynth_rpt(project: HlsProject, est: Estimate, ports: list[RtlPort], style: ReportStyle) -> str:
    period = project.clock_period
    used = [str(est.used[r]) for r in RESOURCES]
    available = [str(est.available[r]) for r in RESOURCES]
    percent = [(f"{100 * est.used[r] // est.available[r]}" if est.available[r] else "0") for r in RESOURCES]
    lines = _header(project, est, style, "")
    lines += ["=" * 64, "== Performance Estimates", "=" * 64, "+ Timing: ", "    * Summary: "]
    lines += _table(
        ["  Clock ", " Target ", " Estimated", " Uncertainty"],
        [["ap_clk", f"{period:.2f} ns", f"{est.clock_estimate:.3f} ns", f"{project.clock_uncertainty_ns:.2f} ns"]],
        "    ",
    )
    lines += ["", "+ Latency: ", "    * Summary: "]
    lines += _table(
        ["Latency min", "Latency max", "Absolute min", "Absolute max", "Interval min", "Interval max", "Pipeline Type"],
        [
            [
                str(est.latency),
                str(est.latency),
                f"{est.latency * period:.3f} ns",
                f"{est.latency * period:.3f} ns",
                str(est.interval),
                str(est.interval),
                "function",
            ]
        ],
        "    ",
    )
    lines += ["", "=" * 64, "== Utilization Estimates", "=" * 64, "* Summary: "]
    lines += _table(
        ["Name", *(style.tag(r) for r in RESOURCES)],
        [["Total", *used], ["Available", *available], ["Utilization (%)", *percent]],
    )
    lines += [
        "",
        "+ Detail: ",
        "    * Instance: ",
        "    N/A",
        "",
        f"    * {style.dsp_tag}: ",
        "    N/A",
        "",
        "=" * 64,
        "== Interface",
        "=" * 64,
        "* Summary: ",
    ]
    lines += _table(
        ["RTL Ports", "Dir", "Bits", "Protocol", "Source Object", "C Type"],
        [[p.name, p.direction, str(p.bits), p.protocol, p.source, p.c_type] for p in ports],
    )
    return "\n".join([*lines, ""])


def write_cosim(project: HlsProject, est: Estimate, style: ReportStyle, report_dir: Path) -> None:
    """<top>_cosim.rpt with the Verilog row passed at the estimated latency and interval."""
    report_dir.mkdir(parents=True, exist_ok=True)
    lat, ii = str(est.latency), str(est.interval)
    lines = _header(project, est, style, "co-simulation")
    lines += ["+ Co-simulation Result:"]
    lines += _table(
        ["RTL", "Status", "Latency min", "avg", "max", "Interval min", "avg", "max"],
        [["VHDL", *["NA"] * 7], ["Verilog", "Pass", lat, lat, lat, ii, ii, ii]],
        name_left=False,
    )
    lines += ["", "Export the report(.html) using the GUI is not supported by the fpgaops sandbox stand-in.", ""]
    (report_dir / f"{project.top}_cosim.rpt").write_text("\n".join(lines))


def write_vivado_synth(path: Path, used: dict[str, int], available: dict[str, int], part: str, version: str) -> None:
    """report_utilization's text (sections 1. CLB Logic, 2. BLOCKRAM, 3. ARITHMETIC) as hls4ml reads it."""

    def row(name: str, key: str, value: int) -> list[str]:
        avail = available[key]
        return [name, str(value), "0", "0", str(avail), f"{100 * value / avail:.2f}" if avail else "0.00"]

    header = ["Site Type", "Used", "Fixed", "Prohibited", "Available", "Util%"]
    lines = [
        "Copyright 1986-2022 Xilinx, Inc. All Rights Reserved.",
        "-" * 70,
        f"| Tool Version : Vivado v.{version} (lin64) (fpgaops sandbox stand-in)",
        f"| Date         : {now()}",
        "| Command      : report_utilization -file vivado_synth.rpt",
        f"| Device       : {part}",
        "| Design State : Synthesized",
        "-" * 70,
        "",
        "Utilization Design Information",
        "",
        "Table of Contents",
        "-----------------",
        "1. CLB Logic",
        "2. BLOCKRAM",
        "3. ARITHMETIC",
        "",
        "1. CLB Logic",
        "------------",
        "",
    ]
    lines += _table(header, [row("CLB LUTs*", "LUT", used["LUT"]), row("CLB Registers", "FF", used["FF"])])
    lines += ["", "", "2. BLOCKRAM", "-----------", ""]
    lines += _table(
        header, [row("Block RAM Tile", "BRAM_18K", -(-used["BRAM_18K"] // 2)), row("URAM", "URAM", used["URAM"])]
    )
    lines += ["", "", "3. ARITHMETIC", "-------------", ""]
    lines += _table(header, [row("DSPs", "DSP", used["DSP"])])
    path.write_text("\n".join([*lines, ""]))
