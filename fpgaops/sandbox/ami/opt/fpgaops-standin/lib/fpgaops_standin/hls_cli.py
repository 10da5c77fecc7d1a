"""Command lines of the HLS stand-ins, as hls4ml 1.3.0's build() calls them.

- Vivado backend: ``vivado_hls -f build_prj.tcl "reset=False csim=True synth=True cosim=False
  validation=False export=False vsynth=False fifo_opt=False"`` (options parsed by the script's regexp);
- Vitis backend: ``vitis-run --tcl build_prj.tcl --mode hls`` after writing build_opt.tcl
  (``array set opt {...}``), which build_prj.tcl sources.
"""

from __future__ import annotations

import getpass
import platform
import time
from collections.abc import Callable
from pathlib import Path

from .console import Console, ToolError, copyright_lines
from .hls_flow import Flavor, HlsRun, vitis_hls, vivado_hls
from .hls_project import options_from_argv, options_from_tcl


def _session(
    console: Console, flavor: Flavor, executable: str, script: Path, options_of: Callable[[], dict[str, bool]]
) -> int:
    """Run the script like the tool's Tcl shell; returns the exit status."""
    started = time.monotonic()
    cwd = Path.cwd()
    console.open_log(cwd / flavor.log_name)
    console.info("HLS 200-10", f"Running '{executable}'")
    console.info(
        "HLS 200-10",
        f"For user '{getpass.getuser()}' on host '{platform.node()}' "
        f"(Linux_x86_64 version {platform.release()}) on {time.strftime('%a %b %d %H:%M:%S %Z %Y')}",
    )
    console.info("HLS 200-10", f"In directory '{cwd}'")
    console.line(f"Sourcing Tcl script '{script}'")
    status = 0
    try:
        HlsRun(script, cwd, flavor, console).run(options_of())
    except ToolError as failure:
        for line in failure.lines:
            console.error(line)
        if failure.tcl_error:
            console.line("command 'ap_source' returned error code")
            console.line("    while executing")
            console.line(f'"source {script}"')
        status = 1
    console.info(
        "HLS 200-112", f"Total elapsed time: {time.monotonic() - started:.2f} seconds; peak allocated memory: 0.000 MB."
    )
    console.close()
    return status


def vivado_hls_main(argv: list[str], version: str, executable: str) -> int:
    """``vivado_hls [-f script] [script args...]`` / ``vivado_hls -version``."""
    flavor = vivado_hls(version)
    console = Console()
    title = f"{flavor.title} v{version} (64-bit)"
    if argv[:1] in (["-version"], ["-v"]):
        console.line(title)
        console.line("fpgaops sandbox stand-in")
        return 0
    console.banner(title, copyright_lines(version))
    if len(argv) < 2 or argv[0] != "-f":
        console.error(
            "ERROR: [HLS 200-101] 'vivado_hls': the fpgaops sandbox stand-in only runs 'vivado_hls -f <script> [args]'"
        )
        return 1
    script = Path(argv[1])
    return _session(console, flavor, executable, script, lambda: options_from_argv(argv[2:]))


def vitis_run_main(argv: list[str], version: str, executable: str) -> int:
    """``vitis-run --mode hls --tcl <script>`` (the only mode the stand-in has)."""
    console = Console()
    title = f"vitis-run v{version} (64-bit)"
    if argv[:1] in (["-version"], ["--version"], ["-v"]):
        console.line(title)
        console.line("fpgaops sandbox stand-in")
        return 0
    console.banner(title, copyright_lines(version))
    args = dict(zip(argv[::2], argv[1::2], strict=False))
    if args.get("--mode") != "hls" or "--tcl" not in args or len(argv) % 2:
        console.error(
            "ERROR: [vitis-run 60-1] the fpgaops sandbox stand-in only runs 'vitis-run --mode hls --tcl <script>'"
        )
        return 1
    script = Path(args["--tcl"])
    flavor = vitis_hls(version)
    hls = Path(executable).parents[3] / "Vitis_HLS" / version / "bin" / "vitis_hls"
    console.info("vitis-run 82-31", f"Launching vitis_hls: {hls} -nolog -run tcl -tcl {script}")
    console.line(f"****** {flavor.title} v{version} (64-bit)")
    build_opt = script.resolve().parent / "build_opt.tcl"
    return _session(console, flavor, str(hls), script, lambda: options_from_tcl(build_opt))
