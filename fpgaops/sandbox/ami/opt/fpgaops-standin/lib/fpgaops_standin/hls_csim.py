"""C simulation for real: the testbench and the design compiled with the host's g++ and run.

Like csim_design, it builds in <prj>/solution1/csim/build, where each ``add_files -tb`` entry
(firmware/weights, tb_data) is linked, so the testbench reads its inputs there and writes
tb_data/csim_results.log into the project. The AMD headers the real tool brings (ap_fixed.h,
hls_stream.h...) come from the project's firmware/ap_types, which hls4ml writes. The RTL
co-simulation is stood in for by the same program built with -DRTL_SIM: the bit-accurate C
model instead of the RTL.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

from .console import Console, ToolError
from .hls_project import HlsProject


def compiler() -> str | None:
    """The C++ compiler standing in for the tool's bundled one (None when the host has none)."""
    return shutil.which("g++")


def run_testbench(
    project: HlsProject,
    files: list[tuple[Path, bool]],
    build_dir: Path,
    console: Console,
    objects: dict[Path, Path],
    rtl_sim: bool = False,
) -> str:
    """Compile and run the testbench in ``build_dir``; returns its output, ToolError on failure.

    ``objects`` maps design sources to object files already built in this run (C simulation),
    so the co-simulation only recompiles the testbench; it is updated.
    """
    gxx = compiler()
    if gxx is None:
        raise ToolError(
            "ERROR: [SIM 211-100] 'csim_design' failed: no C++ compiler: the fpgaops sandbox stand-in "
            "uses the host's g++, which is not installed"
        )
    if build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True)
    flags = [
        *_cflags(project),
        "-O0",
        "-I",
        str(project.root),
        "-I",
        str(project.root / "firmware"),
        "-I",
        str(project.root / "firmware" / "ap_types"),
    ]
    jobs, linked = [], []
    for path, is_testbench in files:
        if path.suffix not in (".cpp", ".cc", ".c"):
            if is_testbench:
                (build_dir / path.name).symlink_to(path)
            continue
        if not is_testbench and path in objects:
            linked.append(objects[path])
            continue
        target = build_dir / f"{path.stem}.o"
        console.line(f"   Compiling {path.relative_to(project.root)} in debug mode")
        command = [gxx, *flags, *(["-DRTL_SIM"] if rtl_sim else []), "-c", str(path), "-o", str(target)]
        jobs.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        linked.append(target)
        if not is_testbench:
            objects[path] = target
    failed = [output for job in jobs if (output := job.communicate()[0]) is not None and job.returncode != 0]
    link = (
        None
        if failed
        else subprocess.run(
            [gxx, "-o", str(build_dir / "csim.exe"), *map(str, linked)], capture_output=True, text=True, check=False
        )
    )
    if failed or (link is not None and link.returncode != 0):
        for line in "".join(failed or [link.stderr if link else ""]).splitlines()[-40:]:
            console.line(line)
        raise ToolError("ERROR: [SIM 211-100] 'csim_design' failed: compilation error(s).")
    console.line("   Generating csim.exe")
    run = subprocess.run([str(build_dir / "csim.exe")], cwd=build_dir, capture_output=True, text=True, check=False)
    for line in (run.stdout + run.stderr).splitlines():
        console.line(line)
    if run.returncode != 0:
        raise ToolError("ERROR: [SIM 211-100] 'csim_design' failed: nonzero return value.")
    return run.stdout + run.stderr


def _cflags(project: HlsProject) -> list[str]:
    """The -cflags given to add_files for the design source (hls4ml: -std=c++0x)."""
    script = project.script.read_text()
    match = re.search(r"add_files\s+firmware/\S+\.cpp\s+-cflags\s+\"([^\"]*)\"", script)
    return shlex.split(match.group(1)) if match else ["-std=c++0x"]
