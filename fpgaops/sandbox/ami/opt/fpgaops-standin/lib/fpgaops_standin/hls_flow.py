"""The steps of hls4ml's build_prj.tcl, performed by the HLS stand-in (Vivado HLS or Vitis HLS).

open_project/add_files/open_solution/set_part/create_clock, then as the options ask: csim_design
(real, with g++), csynth_design (estimates, reports, Verilog), cosim_design (the C model with
-DRTL_SIM), the csim/cosim comparison, export_design (IP catalog) and Vivado synthesis (``exec
vivado -mode batch -source vivado_synth.tcl``, found on PATH like the real script does).
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import hls_csim
from .console import Console, ToolError
from .hls_estimate import Estimate, estimate, part_is_valid
from .hls_project import HlsProject, read_design, read_project, source_files
from .hls_reports import ReportStyle, write_cosim, write_csynth
from .hls_rtl import rtl_ports, verilog_model, write_ip
from .host import spend, timing


@dataclass(frozen=True)
class Flavor:
    """What differs between Vivado HLS (<= 2020.1, ``vivado_hls``) and Vitis HLS (``vitis-run --mode hls``)."""

    tool: str  # vivado_hls | vitis_hls
    title: str  # banner title, version excluded
    version: str
    app_file: str  # the project file hls4ml's parser looks for
    port_suffix: str
    report: ReportStyle

    @property
    def log_name(self) -> str:
        """The log the tool writes in its working directory."""
        return f"{self.tool}.log"


def vivado_hls(version: str) -> Flavor:
    """Vivado HLS (Vivado <= 2020.1)."""
    return Flavor(
        "vivado_hls",
        "Vivado(TM) HLS - High-Level Synthesis from C, C++ and SystemC",
        version,
        "vivado_hls.app",
        "_V",
        ReportStyle("Vivado HLS", version, "DSP48E"),
    )


def vitis_hls(version: str) -> Flavor:
    """Vitis HLS (2020.2 and later)."""
    return Flavor(
        "vitis_hls",
        "Vitis HLS - High-Level Synthesis from C, C++ and OpenCL",
        version,
        "hls.app",
        "",
        ReportStyle("Vitis HLS", version, "DSP"),
    )


def _timed(console: Console, title: str, action: Callable[[], None]) -> None:
    """build_prj.tcl's ``***** TITLE *****`` ... ``***** TITLE COMPLETED IN 0h0m3s *****``."""
    console.line(f"***** {title} *****")
    start = time.monotonic()
    action()
    seconds = int(time.monotonic() - start)
    console.line(f"***** {title} COMPLETED IN {seconds // 3600}h{seconds // 60 % 60}m{seconds % 60}s *****")


class HlsRun:
    """One run of build_prj.tcl in a working directory."""

    def __init__(self, script: Path, cwd: Path, flavor: Flavor, console: Console) -> None:
        self.flavor = flavor
        self.console = console
        self.project: HlsProject = read_project(script, cwd)
        self.prj_dir = cwd / f"{self.project.name}_prj"
        self.solution = self.prj_dir / "solution1"
        self.estimate: Estimate | None = None
        self.objects: dict[Path, Path] = {}

    def running(self, command: str) -> None:
        """Echo a Tcl command like the tool does."""
        self.console.info("HLS 200-1510", f"Running: {command}")

    def run(self, options: dict[str, bool]) -> None:
        """Every step of the script, as ``options`` asks."""
        (self.project.root / "tb_data").mkdir(exist_ok=True)
        self.open(options["reset"])
        if options["csim"]:
            _timed(self.console, "C SIMULATION", self.csim)
        if options["synth"]:
            _timed(self.console, "C/RTL SYNTHESIS", self.synth)
        if options["cosim"]:
            _timed(self.console, "C/RTL SIMULATION", self.cosim)
        if options["validation"]:
            self.console.line("***** C/RTL VALIDATION *****")
            self.validate()
        if options["export"]:
            _timed(self.console, "EXPORT IP", self.export)
        if options["vsynth"]:
            self.console.line("***** VIVADO SYNTHESIS *****")
            self.vivado_synthesis()

    def open(self, reset: bool) -> None:
        """open_project, set_top, add_files, open_solution, set_part, create_clock."""
        project, console = self.project, self.console
        self.running(f"open_project {'-reset ' if reset else ''}{self.prj_dir.name}")
        if reset and self.prj_dir.exists():
            shutil.rmtree(self.prj_dir)
        verb = "Opening and resetting" if reset else ("Opening" if self.prj_dir.exists() else "Creating and opening")
        console.info("HLS 200-10", f"{verb} project '{self.prj_dir}'.")
        self.running(f"set_top {project.top}")
        files = source_files(project)
        for path, is_testbench in files:
            self.running(f"add_files {'-tb ' if is_testbench else ''}{path.relative_to(project.root)}")
            if not path.exists():
                console.warning("HLS 200-40", f"Cannot find source file {path.relative_to(project.root)}; skipping it.")
            else:
                kind = "test bench file" if is_testbench else "design file"
                console.info("HLS 200-10", f"Adding {kind} '{path.relative_to(project.root)}' to the project")
        self.running(f"open_solution {'-reset ' if reset else ''}solution1")
        if reset and self.solution.exists():
            shutil.rmtree(self.solution)
        self.solution.mkdir(parents=True, exist_ok=True)
        console.info("HLS 200-10", f"{'Opening and resetting' if reset else 'Opening'} solution '{self.solution}'.")
        self._write_app(files)
        self.running(f"set_part {project.part}")
        if not part_is_valid(project.part):
            raise ToolError(f"ERROR: [HLS 200-1023] Part '{project.part}' is not installed.")
        console.info("HLS 200-1611", f"Setting target device to '{project.part}'")
        self.running(f"create_clock -period {project.clock_period:g} -name default")
        console.info("SYN 201-201", f"Setting up clock 'default' with a period of {project.clock_period:g}ns.")
        console.info(
            "SYN 201-201", f"Setting up clock 'default' with an uncertainty of {project.clock_uncertainty_ns:g}ns."
        )

    def _write_app(self, files: list[tuple[Path, bool]]) -> None:
        entries = "".join(
            f'    <file name="{path.relative_to(self.project.root)}" sc="0" tb="{str(tb).lower()}" '
            'cflags="-std=c++0x"/>\n'
            for path, tb in files
        )
        (self.prj_dir / self.flavor.app_file).write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<project xmlns="com.autoesl.autopilot.project" name="{self.prj_dir.name}" top="{self.project.top}">\n'
            f"  <files>\n{entries}  </files>\n"
            '  <solutions>\n    <solution name="solution1" status="active"/>\n  </solutions>\n'
            "</project>\n"
        )

    def _read_design(self) -> None:
        if not self.project.source.is_file():
            raise ToolError(
                "ERROR: [HLS 200-70] Compilation errors found: design file "
                f"'{self.project.source.relative_to(self.project.root)}' not found"
            )
        read_design(self.project)

    def csim(self) -> None:
        """csim_design: the testbench compiled and run; its output kept in csim/report."""
        console = self.console
        self.running("csim_design")
        console.info("SIM 211-2", "*************** CSIM start ***************")
        console.info("SIM 211-4", "CSIM will launch GCC as the compiler.")
        output = hls_csim.run_testbench(
            self.project, source_files(self.project), self.solution / "csim" / "build", console, self.objects
        )
        report = self.solution / "csim" / "report"
        report.mkdir(parents=True, exist_ok=True)
        (report / f"{self.project.top}_csim.log").write_text(output)
        console.info("SIM 211-1", "CSim done with 0 errors.")
        console.info("SIM 211-3", "*************** CSIM finish ***************")

    def synth(self) -> None:
        """csynth_design: the estimate, syn/report and syn/verilog, in timings.hls_synth_s seconds."""
        project, console = self.project, self.console
        self.running("csynth_design")
        console.info("HLS 200-10", f"Analyzing design file '{project.source.relative_to(project.root)}' ...")
        self._read_design()
        est = self.estimate = estimate(project)
        spend(
            timing("hls_synth_s", 3.0),
            [
                "Starting code transformations ...",
                "Checking synthesizability ...",
                "Starting hardware synthesis ...",
                f"Synthesizing '{project.top}' ...",
                "Generating RTL ...",
            ],
            lambda step: console.info("HLS 200-10", step),
        )
        console.info("SCHED 204-61", f"Pipelining function '{project.top}'.")
        console.info(
            "SCHED 204-61",
            f"Pipelining result : Target II = {est.interval}, Final II = {est.interval}, "
            f"Depth = {est.latency}, function '{project.top}'",
        )
        ports = rtl_ports(project, self.flavor.port_suffix)
        console.info("RTGEN 206-100", f"Finished creating RTL model for '{project.top}'.")
        verilog_dir = self.solution / "syn" / "verilog"
        verilog_dir.mkdir(parents=True, exist_ok=True)
        (verilog_dir / f"{project.top}.v").write_text(self._verilog(ports))
        console.info("VLOG 209-307", f"Generating Verilog RTL for {project.top}.")
        write_csynth(project, est, ports, self.flavor.report, self.solution / "syn" / "report")
        console.info("HLS 200-789", f"**** Estimated Fmax: {1000 / est.clock_estimate:.2f} MHz")
        console.info("HLS 200-111", "Finished Command csynth_design")

    def _verilog(self, ports: list) -> str:
        assert self.estimate is not None
        header = (
            f"==============================================================\n"
            f"RTL generated by {self.flavor.title}\nVersion: {self.flavor.version}\n"
            "fpgaops sandbox stand-in: the ports are those the tool generates for this top function;\n"
            "the body only models the block handshake and the latency, every data output is zero.\n"
            "=============================================================="
        )
        return verilog_model(self.project, ports, self.estimate.latency, header)

    def _require_rtl(self, step: str) -> None:
        if not (self.solution / "syn" / "verilog" / f"{self.project.top}.v").is_file():
            raise ToolError(f"ERROR: [HLS 200-474] '{step}' requires C synthesis: run csynth_design first.")
        if self.estimate is None:
            self._read_design()
            self.estimate = estimate(self.project)

    def cosim(self) -> None:
        """cosim_design: the C model built with -DRTL_SIM stands in for the RTL simulation."""
        console = self.console
        self.running("cosim_design -trace_level all -setup")
        self._require_rtl("cosim_design")
        console.info("COSIM 212-14", "Instrumenting C test bench ...")
        console.warning(
            "COSIM 212-1",
            "fpgaops sandbox stand-in: the RTL is simulated by the bit-accurate C model "
            "(-DRTL_SIM); latency and interval are the synthesis estimate",
        )
        hls_csim.run_testbench(
            self.project,
            source_files(self.project),
            self.solution / "sim" / "wrapc",
            console,
            self.objects,
            rtl_sim=True,
        )
        assert self.estimate is not None
        write_cosim(self.project, self.estimate, self.flavor.report, self.solution / "sim" / "report")
        console.info("COSIM 212-1000", "*** C/RTL co-simulation finished: PASS ***")
        console.line("INFO:")
        console.line((self.solution / "sim" / "report" / f"{self.project.top}_cosim.rpt").read_text())

    def validate(self) -> None:
        """build_prj.tcl's comparison of tb_data/csim_results.log and tb_data/rtl_cosim_results.log."""
        csim = self.project.root / "tb_data" / "csim_results.log"
        rtl = self.project.root / "tb_data" / "rtl_cosim_results.log"
        if csim.is_file() and rtl.is_file() and filecmp.cmp(csim, rtl, shallow=False):
            self.console.line("INFO: Test PASSED")
            return
        raise ToolError(
            "ERROR: Test failed",
            "ERROR: - csim log:      ./tb_data/csim_results.log",
            "ERROR: - RTL-cosim log: ./tb_data/rtl_cosim_results.log",
            tcl_error=False,
        )

    def export(self) -> None:
        """export_design -format ip_catalog: solution1/impl/ip."""
        self.running(f"export_design -format ip_catalog -version {self.project.version}")
        self._require_rtl("export_design")
        self.console.info("IMPL 213-8", "Exporting RTL as a Vivado IP.")
        ip_dir = self.solution / "impl" / "ip"
        if ip_dir.exists():
            shutil.rmtree(ip_dir)
        ports = rtl_ports(self.project, self.flavor.port_suffix)
        archive = write_ip(
            self.project, ports, self._verilog(ports), ip_dir, f"{self.flavor.title} {self.flavor.version}"
        )
        self.console.info("IMPL 213-8", f"IP packaged as {archive.relative_to(self.project.root)}")

    def vivado_synthesis(self) -> None:
        """``exec vivado -mode batch -source vivado_synth.tcl >@ stdout``."""
        if not (self.solution / "syn" / "verilog").is_dir():
            raise ToolError("ERROR: Cannot find generated Verilog files. Did you run C synthesis?", tcl_error=False)
        start = time.monotonic()
        vivado = shutil.which("vivado", path=os.environ.get("PATH"))
        if vivado is None:
            raise ToolError('couldn\'t execute "vivado": no such file or directory')
        child = subprocess.run(
            [vivado, "-mode", "batch", "-source", "vivado_synth.tcl"],
            cwd=self.project.root,
            capture_output=True,
            text=True,
            check=False,
        )
        for line in child.stdout.splitlines():
            self.console.line(line)
        if child.returncode != 0:
            raise ToolError(*(child.stderr.splitlines() or ["child process exited abnormally"]))
        seconds = int(time.monotonic() - start)
        self.console.line(f"***** VIVADO SYNTHESIS COMPLETED IN 0h{seconds // 60}m{seconds % 60}s *****")
