"""``vivado``: ``-version`` and batch mode for the two scripts the toolkit runs.

``vivado -mode batch -source <script> [-log f] [-journal f] [-nojournal] [-nolog] [-notrace]
[-tclargs ...]`` where the script is hls4ml's vivado_synth.tcl or the aws-fpga HDK's
build_all.tcl (recognised by name); any other script fails: the stand-in has no Tcl interpreter.
"""

from __future__ import annotations

from pathlib import Path

from . import hdk_build, vivado_synth
from .console import Console, ToolError, copyright_lines, now

SCRIPTS = {"vivado_synth.tcl": "hls4ml Vivado synthesis", "build_all.tcl": "aws-fpga HDK DCP build"}


def version_lines(version: str) -> list[str]:
    """``vivado -version``; the first line is what hdk_setup.sh and aws_build_dcp_from_cl.py parse."""
    name = "vivado" if int(version.split(".")[0]) >= 2023 else "Vivado"
    return [
        f"{name} v{version} (64-bit)",
        "fpgaops sandbox stand-in (no synthesis, placement or routing)",
        *copyright_lines(version),
    ]


def _parse(argv: list[str]) -> dict[str, object]:
    options: dict[str, object] = {"log": "vivado.log", "journal": "vivado.jou", "tclargs": []}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "-tclargs":
            options["tclargs"] = argv[i + 1 :]
            break
        if arg in ("-mode", "-source", "-log", "-journal") and i + 1 < len(argv):
            options[arg[1:]] = argv[i + 1]
            i += 2
            continue
        if arg in ("-nolog", "-nojournal"):
            options[arg[3:]] = None
        elif arg not in ("-notrace", "-quiet"):
            raise ToolError(
                f"ERROR: [Common 17-170] Unknown option '{arg}', please type 'vivado -help' for usage info."
            )
        i += 1
    return options


def main(argv: list[str], version: str) -> int:
    """The vivado command."""
    console = Console()
    if argv[:1] in (["-version"], ["-v"]):
        for line in version_lines(version):
            console.line(line)
        return 0
    try:
        options = _parse(argv)
    except ToolError as failure:
        console.error(failure.lines[0])
        return 1
    if options.get("mode") != "batch" or "source" not in options:
        console.error("ERROR: fpgaops sandbox stand-in: only 'vivado -mode batch -source <script>' is available")
        return 1
    if options["log"]:
        console.open_log(Path(str(options["log"])))
    console.banner(f"Vivado v{version} (64-bit)", copyright_lines(version))
    if options["journal"]:
        Path(str(options["journal"])).write_text(
            f"# Vivado v{version} (64-bit)\n# fpgaops sandbox stand-in\nsource {options['source']}\n"
        )
    script = Path(str(options["source"]))
    console.line(f"source {script}")
    status = 0
    try:
        if script.name not in SCRIPTS:
            raise ToolError(
                f"ERROR: fpgaops sandbox stand-in: cannot run '{script}': it only performs "
                + " and ".join(f"{name} ({what})" for name, what in SCRIPTS.items())
            )
        if not script.is_file():
            raise ToolError(f'ERROR: couldn\'t read file "{script}": no such file or directory')
        if script.name == "vivado_synth.tcl":
            vivado_synth.run(script, console, version)
        else:
            hdk_build.run(script, [str(a) for a in options["tclargs"]], console, version)
    except ToolError as failure:
        for line in failure.lines:
            console.error(line)
        status = 1
    console.info("Common 17-206", f"Exiting Vivado at {now()}...")
    console.close()
    return status
