"""synth: the beat model trained, converted, synthesized and built into a DCP tarball on the dev host.

The code of ``hls_model`` (and the service modules it uses) is pushed as one archive named by
its content; the whole build (``python -m hls_model all``, the HLS build, the HDK's DCP build)
runs as ONE detached job named after that build key, so it survives the laptop disconnecting and
rerunning ``fab synth`` re-attaches to it (progress and the log's new lines) instead of starting a
second.  When it ends, the DCP tarball and the model package are fetched to
``build/deploy/builds/<key>/``; with those present, a rerun does nothing at all (not even SSH).

Example: ``fab synth`` (``-e model_ci=true`` for the small configuration, ``-e aws_fpga_shell=xdma_shell``
for the XDMA shell).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import shlex
import tarfile
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from fpgaops.core import Operation
from fpgaops.facts import JobStatus
from fpgaops.facts.jobs import FINISHED, LOST, RUNNING
from fpgaops.facts.xilinx import XilinxToolchain
from fpgaops.fpga_platform import F1_HLS_VIVADO, PlatformTableError, Shell, shell_for_build
from fpgaops.inventory import Host
from fpgaops.operations.archives import archive
from fpgaops.operations.files import directory
from fpgaops.operations.jobs import job_started
from fpgaops.role_vars import RoleVars, role_vars
from fpgaops.runner import Role
from fpgaops.sandbox.config import PROJECT_ROOT
from fpgaops.tarballs import plain_members
from fpgaops.templates import render_template
from fpgaops.toolchain import ToolchainMismatch, check_toolchain
from hls_model.step_cache import CODE_GLOBS
from roles.dev_host.aws_fpga import pinned_ref
from roles.flow import Flow, FlowStopped, artifacts_dir, content_tarball

DEFAULTS = Path(__file__).with_name("defaults.yml")
SOURCE_FILES = (*CODE_GLOBS, "rhythm_service/__init__.py", "hls_model/requirements.txt")


@dataclass(frozen=True)
class BuildResult:
    """What a finished build left on the laptop: the DCP tarball and the model package tarball."""

    key: str
    folder: Path
    dcp_tarball: Path
    package_tarball: Path

    @classmethod
    def load(cls, folder: Path) -> BuildResult | None:
        """The build in ``folder``, or None when it is not complete."""
        try:
            result = json.loads((folder / "result.json").read_text())
            build = cls(folder.name, folder, folder / result["dcp_tarball"], folder / result["package"])
        except (OSError, ValueError, KeyError):
            return None
        return build if build.dcp_tarball.is_file() and build.package_tarball.is_file() else None

    @cached_property
    def package(self) -> Path:
        """The model package folder, unpacked once beside its tarball (``<build>/beat-model-<release>/``)."""
        with tarfile.open(self.package_tarball) as archive:
            folder = self.folder / archive.getnames()[0].split("/")[0]
            if not (folder / "manifest.json").is_file():
                archive.extractall(self.folder, members=plain_members(archive))
        return folder

    @cached_property
    def model_sha256(self) -> str:
        """The content hash of the build's model (its manifest's ``content_sha256``): names its AFI."""
        return json.loads((self.package / "manifest.json").read_text())["content_sha256"]


def source_tarball() -> tuple[Path, str]:
    """The pushed code as a reproducible tarball under build/deploy/src, and its content id."""
    files = {path.relative_to(PROJECT_ROOT).as_posix(): path for pattern in SOURCE_FILES
             for path in PROJECT_ROOT.glob(pattern) if path.is_file() and "__pycache__" not in path.parts}
    return content_tarball(files, artifacts_dir("src"), "src")


def model_options(v: RoleVars) -> str:
    """The ``python -m hls_model`` options of the build."""
    options = ["--ci"] if v["model_ci"] else []
    options += ["--platform", str(v["model_platform"])]
    if v["model_precision"]:
        options += ["--precision", str(v["model_precision"])]
    if int(v["model_reuse_factor"]):
        options += ["--reuse-factor", str(int(v["model_reuse_factor"]))]
    return shlex.join(options)


def build_key(source_id: str, v: RoleVars) -> str:
    """The build's name: the pushed code, the pipeline options and the shell."""
    return hashlib.sha256(f"{source_id} {model_options(v)} {v['aws_fpga_shell']}".encode()).hexdigest()[:16]


def build_shell(v: RoleVars) -> Shell:
    """The shell of ``aws_fpga_shell``, buildable with the pinned ref; ValueError naming what is wrong."""
    try:
        return shell_for_build(str(v["aws_fpga_shell"]), pinned_ref(v))
    except PlatformTableError as problem:
        raise ValueError(f"aws_fpga_shell: {problem}") from None


class SynthPlan:
    """The build of one dev host: its key, folders and job."""

    def __init__(self, host: Host, source: tuple[Path, str]) -> None:
        self.host = host
        self.vars = role_vars(host, DEFAULTS)
        self.source_tarball, source_id = source
        self.key = build_key(source_id, self.vars)
        self.dir = posixpath.join(self.vars["build_root"], self.key)
        self.job = f"synth-{self.key}"
        self.login = host.user or "root"
        home = "/root" if self.login == "root" else f"/home/{self.login}"
        self.aws_fpga_dir = self.vars["aws_fpga_dir"] or f"{home}/aws-fpga"
        self.ref = pinned_ref(self.vars)
        self.shell = build_shell(self.vars)
        self.vivado_version = ""  # the dev host's, once check_toolchain has read it

    def check_toolchain(self, flow: Flow) -> str:
        """The dev host's Vivado version, checked against its aws-fpga checkout; FlowStopped on a mismatch."""
        fact = XilinxToolchain(self.aws_fpga_dir)
        result = flow.connection(self.host).run(fact.command())
        try:
            self.vivado_version = check_toolchain(fact.process(result.stdout, result.exit_code), self.ref,
                                                  self.host.name)
        except ToolchainMismatch as mismatch:
            raise FlowStopped(f"synth: {mismatch}") from None
        return self.vivado_version

    def script(self) -> str:
        """The job's shell script (after ``check_toolchain``: it exports the tool versions it checked)."""
        if not self.vivado_version:
            raise RuntimeError("SynthPlan.script() before check_toolchain(): the tool versions are not known")
        hls_version = F1_HLS_VIVADO if self.vars["model_platform"] == "f1" else self.vivado_version
        return render_template("synth/synth.sh.j2", {
            "build_key": self.key, "work_dir": f"{self.dir}/work", "out_dir": f"{self.dir}/out",
            "hls_model_venv": self.vars["hls_model_venv"], "model_options": model_options(self.vars),
            "aws_fpga_dir": shlex.quote(self.aws_fpga_dir), "hls_version": shlex.quote(hls_version),
            "vivado_version": shlex.quote(self.vivado_version), "shell_mode": shlex.quote(self.shell.mode)})

    def operations(self) -> list[Operation]:
        """Push the code, start the job (once)."""
        user = self.login
        return [
            directory(self.vars["build_root"], owner=user, group=user, tags=("synth",)),
            directory(self.dir, owner=user, group=user, tags=("synth",)),
            archive(self.source_tarball, f"{self.dir}/src", owner=user, group=user, strip_components=1,
                    tags=("synth",)),
            job_started(self.job, self.script(), f"{self.dir}/src", user=user, tags=("synth",)),
        ]


def synth_role(plans: dict[str, SynthPlan]) -> Role:
    """Push and start the build on the dev hosts planned."""
    return Role("synth", lambda host: plans[host.name].operations(), hosts=",".join(plans))


def follow(flow: Flow, plan: SynthPlan) -> None:
    """Show the job's new log lines until it ends; ``FlowStopped`` when it failed or was lost."""
    connection = flow.connection(plan.host)
    fact = JobStatus(plan.job, tail_lines=40)
    shown: list[str] = []
    started = time.monotonic()
    flow.say(f"{plan.host.name}: following job {plan.job} (Ctrl-C leaves it running; rerun `fab synth` to re-attach)")
    while True:
        result = connection.run(fact.command(), sudo=True)
        state = fact.process(result.stdout, result.exit_code)
        lines = state.log_tail.splitlines()
        overlap = next((n for n in range(min(len(shown), len(lines)), 0, -1) if shown[-n:] == lines[:n]), 0)
        for line in lines[overlap:]:
            flow.console.print(f"  [dim]{plan.host.name} {time.monotonic() - started:6.0f}s[/] {line}", markup=True,
                               highlight=False)
        shown = lines
        if state.state == FINISHED and state.exit_code == 0:
            return
        if state.state == FINISHED or state.state == LOST:
            raise FlowStopped(f"{plan.host.name}: job {plan.job} {state.state}"
                              f"{f' with exit code {state.exit_code}' if state.exit_code is not None else ''}: "
                              f"see the log above (or /var/lib/fpgaops/jobs/{plan.job}/log); fix and rerun `fab synth`")
        if state.state != RUNNING:
            raise FlowStopped(f"{plan.host.name}: job {plan.job} is {state.state}")
        time.sleep(float(plan.vars["synth_poll_s"]))


def fetch(flow: Flow, plan: SynthPlan) -> BuildResult:
    """Copy the build's outputs to ``build/deploy/builds/<key>/`` (result.json last)."""
    connection = flow.connection(plan.host)
    local = artifacts_dir("builds", plan.key)
    out = f"{plan.dir}/out"
    connection.fetch(f"{out}/result.json", local / ".result.json")
    result = json.loads((local / ".result.json").read_text())
    for name in (result["dcp_tarball"], result["package"]):
        connection.fetch(f"{out}/{name}", local / name)
    (local / ".result.json").rename(local / "result.json")
    build = BuildResult.load(local)
    if build is None:
        raise FlowStopped(f"{plan.host.name}: the build's outputs in {out} are incomplete")
    return build


def synthesize(flow: Flow) -> BuildResult | None:
    """The DCP tarball and model package of the current code: fetched before, or built now on the dev host.

    Returns None in check mode when a build would start.
    """
    dev_hosts = flow.hosts("dev")
    if not dev_hosts:
        raise FlowStopped("synth: no dev host selected (the inventory's `dev` group, narrowed by --limit)", 1)
    source = source_tarball()
    try:
        plan = SynthPlan(dev_hosts[0], source)
    except ValueError as problem:
        raise FlowStopped(f"synth: {dev_hosts[0].name}: {problem}") from None
    done = BuildResult.load(artifacts_dir("builds", plan.key))
    if done is not None:
        flow.say(f"synth: build {plan.key} is up to date ({done.dcp_tarball.name}, {done.package_tarball.name})",
                 style="green")
        return done
    version = plan.check_toolchain(flow)
    flow.say(f"synth: {plan.host.name}: Vivado {version}, supported by aws-fpga {plan.ref}; "
             f"{plan.shell.mode} ({plan.shell.version})")
    flow.run([synth_role({plan.host.name: plan})])
    if flow.check:
        flow.say(f"synth: check mode: would follow job {plan.job} on {plan.host.name} and fetch its outputs")
        return None
    follow(flow, plan)
    return fetch(flow, plan)
