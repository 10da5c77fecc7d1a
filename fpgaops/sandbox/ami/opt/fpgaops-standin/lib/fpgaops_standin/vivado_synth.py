"""hls4ml's vivado_synth.tcl (``build(vsynth=True)``): synth_design of the HLS RTL, report_utilization.

Reads project.tcl beside the script and <project>_prj/solution1/syn (the HLS stand-in's
Verilog and csynth.xml); writes vivado_synth.rpt, with post-synthesis numbers a little below the
HLS estimate, as Vivado's usually are.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .console import Console, ToolError
from .hls_estimate import RESOURCES, device
from .hls_project import read_tcl_sets
from .hls_reports import write_vivado_synth
from .host import spend, timing


def run(script: Path, console: Console, version: str) -> None:
    """Perform vivado_synth.tcl in the current directory."""
    values = read_tcl_sets(script.resolve().parent / "project.tcl")
    name, part = values.get("project_name"), values.get("part")
    if not name or not part:
        raise ToolError(f"ERROR: [Common 17-69] Command failed: project.tcl beside {script} sets no project_name/part")
    verilog_dir = Path(f"{name}_prj/solution1/syn/verilog")
    console.line(f"# add_files {verilog_dir}")
    if not verilog_dir.is_dir():
        raise ToolError(f"ERROR: [Vivado 12-172] File or Directory '{verilog_dir.resolve()}' does not exist")
    console.line(f"# synth_design -top {name} -part {part}")
    console.line(f"Command: synth_design -top {name} -part {part}")
    console.line(f"Starting synth_design\nAttempting to get a license for feature 'Synthesis' and/or device '{part}'")
    report = Path(f"{name}_prj/solution1/syn/report/{name}_csynth.xml")
    if not report.is_file():
        raise ToolError(f"ERROR: [Synth 8-439] module '{name}' not found")
    area = ET.parse(report).getroot().find("AreaEstimates/Resources")
    estimated = {child.tag.replace("DSP48E", "DSP"): int(child.text or 0) for child in area}
    used = {r: estimated.get(r, 0) * (9 if r in ("LUT", "FF") else 10) // 10 for r in RESOURCES}
    spend(
        timing("hls_synth_s", 3.0) / 3,
        ["Start RTL Elaboration", "Start Technology Mapping", "Finished Writing Synthesis Report"],
        console.line,
    )
    console.line("# opt_design -retarget -propconst -sweep -bram_power_opt -shift_register_opt")
    console.line("# report_utilization -file vivado_synth.rpt")
    write_vivado_synth(Path("vivado_synth.rpt"), used, device(part)[1], part, version)
    console.line("synth_design completed successfully")
