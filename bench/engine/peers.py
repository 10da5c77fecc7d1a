"""The three tools as the benchmark runs them, each in a new process, with its remote commands counted.

- fpgaops: ``fab -r bench/engine deploy`` in the project's venv (the role of ``deployment.py`` as a
  fab task with the common options); commands from the connection pool (SSH exec requests),
  transfers from the connection's uploads.
- Ansible: ``ansible-playbook`` from its own venv (``.venvs/ansible``), with ``ssh``/``sftp``/``scp``
  wrappers first in its settings (``ANSIBLE_SSH_EXECUTABLE``...) that log one line per
  invocation: with ControlMaster each ``ssh`` invocation is one remote command over the host's
  shared connection, each ``sftp``/``scp`` one file transfer.
- pyinfra: ``pyinfra`` from its own venv (``.venvs/pyinfra``), with ``pyinfra_count.py`` loaded at
  start that logs every paramiko ``exec_command`` (a remote command) and SFTP ``putfo`` (a transfer).

Every tool checks host keys strictly against the sandbox's known_hosts file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parents[1]
VENVS_DIR = HERE / ".venvs"
REQUIREMENTS = {"ansible": HERE / "requirements-ansible.txt", "pyinfra": HERE / "requirements-pyinfra.txt"}
COUNT_ENV = "FPGAOPS_BENCH_COUNT_LOG"
ADDRESS = re.compile(r"\b10\.200\.\d{1,3}\.\d{1,3}\b")
RUN_TIMEOUT_S = 600
VENV_TIMEOUT_S = 900

ANSIBLE_SETTINGS = {
    "ANSIBLE_PIPELINING": "True",  # modules fed to python's stdin over the ssh session: no per-task upload
    "ANSIBLE_HOST_KEY_CHECKING": "True",
    "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",  # no interpreter discovery round trips
    "ANSIBLE_SSH_ARGS": "-C -o ControlMaster=auto -o ControlPersist=60s",  # Ansible's default, explicit
    "ANSIBLE_RETRY_FILES_ENABLED": "False",
    "ANSIBLE_NOCOLOR": "True",
}
PYINFRA_OPTIONS = ("-y", "--sudo")  # apply without the interactive confirmation; every operation as root


# --- the peers' venvs ---------------------------------------------------------------------------


def _requirements_digest(tool: str) -> str:
    extra = (HERE / "pyinfra_count.py").read_bytes() if tool == "pyinfra" else b""
    return hashlib.sha256(REQUIREMENTS[tool].read_bytes() + extra).hexdigest()


def ensure_venv(tool: str, log=print) -> Path:
    """The venv of ``tool`` (``ansible`` or ``pyinfra``) with its pinned requirements, made when missing or stale."""
    venv = VENVS_DIR / tool
    marker = venv / ".fpgaops-bench-requirements.sha256"
    digest = _requirements_digest(tool)
    python = venv / "bin" / "python"
    if python.exists() and marker.is_file() and marker.read_text().strip() == digest:
        return venv
    log(f"making {venv.relative_to(PROJECT_ROOT)} from {REQUIREMENTS[tool].name} (once)")
    base_python = getattr(sys, "_base_executable", sys.executable)
    if not python.exists():
        subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=VENV_TIMEOUT_S)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--requirement", str(REQUIREMENTS[tool])], check=True, timeout=VENV_TIMEOUT_S)
    if tool == "pyinfra":
        where = "import sysconfig; print(sysconfig.get_path('purelib'))"
        site = Path(subprocess.run([str(python), "-c", where], check=True, capture_output=True,
                                   text=True, timeout=60).stdout.strip())
        shutil.copy(HERE / "pyinfra_count.py", site / "fpgaops_bench_count.py")
        (site / "fpgaops_bench_count.pth").write_text("import fpgaops_bench_count\n")
    marker.write_text(digest + "\n")
    return venv


def tool_versions(tools: tuple[str, ...] = ("fpgaops", "ansible", "pyinfra")) -> dict[str, str]:
    """The exact versions of the ``tools`` benchmarked and of the Python each runs on (a peer not run: no venv)."""

    def output(*command: str) -> str:
        return subprocess.run(command, capture_output=True, text=True, timeout=60).stdout.strip()

    versions = {}
    if "fpgaops" in tools:
        versions["fpgaops"] = output(sys.executable, "-c", "import fabric, paramiko, platform; print(f'fpgaops (this "
                                     "tree) on fabric {fabric.__version__}, paramiko {paramiko.__version__}, "
                                     "python {platform.python_version()}')")
    if "ansible" in tools:
        ansible = output(str(VENVS_DIR / "ansible" / "bin" / "ansible-playbook"), "--version").splitlines()
        versions["ansible"] = (f"{ansible[0] if ansible else '?'}, "
                               + output(str(VENVS_DIR / "ansible" / "bin" / "python"), "-c",
                                        "import platform; print('python', platform.python_version())"))
    if "pyinfra" in tools:
        versions["pyinfra"] = (output(str(VENVS_DIR / "pyinfra" / "bin" / "pyinfra"), "--version") + ", "
                               + output(str(VENVS_DIR / "pyinfra" / "bin" / "python"), "-c",
                                        "import paramiko, gevent, platform; print(f'paramiko {paramiko.__version__}, "
                                        "gevent {gevent.__version__}, python {platform.python_version()}')"))
    return versions | {
        "openssh": subprocess.run(["ssh", "-V"], capture_output=True, text=True, timeout=10).stderr.strip(),
    }


# --- one run of one tool ------------------------------------------------------------------------


@dataclass
class ToolRun:
    """One run of a tool on some hosts: wall time of its process, and per host what it sent."""

    tool: str
    wall_s: float
    exit_code: int
    commands: dict[str, int]  # host name -> remote commands (SSH exec requests)
    transfers: dict[str, int]  # host name -> file transfers (SFTP/SCP)
    changed: dict[str, int] = field(default_factory=dict)  # host name -> steps changed, as the tool reports
    engine_s: float | None = None  # fpgaops only: the run inside the process, after imports
    cpu_s: float | None = None  # CPU (user + system) of the tool and the children it waited for, on this machine
    output_tail: str = ""

    def as_dict(self) -> dict:
        data = {"wall_s": round(self.wall_s, 4), "exit_code": self.exit_code, "commands": self.commands,
                "transfers": self.transfers, "changed": self.changed}
        if self.engine_s is not None:
            data["engine_s"] = round(self.engine_s, 4)
        if self.cpu_s is not None:
            data["cpu_s"] = round(self.cpu_s, 3)
        if self.exit_code:
            data["output_tail"] = self.output_tail
        return data


@dataclass(frozen=True)
class Target:
    """The hosts of one run and how to reach them (from the sandbox's inventory)."""

    inventory: Path  # the sandbox's Ansible YAML inventory
    names: tuple[str, ...]
    addresses: dict[str, str]  # name -> address
    user: str
    key: Path
    known_hosts: Path
    artifact: Path
    work_dir: Path  # scratch space for this benchmark run

    @property
    def limit(self) -> str:
        return ",".join(self.names)

    def by_address(self, counts: Counter) -> dict[str, int]:
        names = {address: name for name, address in self.addresses.items()}
        return {name: counts.get(self.addresses[name], 0) for name in self.names} | {
            f"unknown {address}": count for address, count in counts.items() if address not in names}


def _timed(command: list[str], env: dict[str, str], cwd: Path,
           output: Path) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``command`` to its end: its wall seconds and result; its output saved in ``output``."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    wall = time.perf_counter() - started
    output.write_text(f"$ {' '.join(command)}\n# exit {done.returncode}, {wall:.3f} s\n{done.stdout}\n{done.stderr}")
    return wall, done


def _tail(done: subprocess.CompletedProcess, lines: int = 40) -> str:
    return "\n".join((done.stdout + done.stderr).splitlines()[-lines:])


def run_fpgaops(target: Target) -> ToolRun:
    counts_file = target.work_dir / "fpgaops-counts.json"
    counts_file.unlink(missing_ok=True)
    env = {**os.environ, "COLUMNS": "160", "BENCH_ARTIFACT": str(target.artifact), "BENCH_COUNTS": str(counts_file),
           "BENCH_LOG_DIR": str(target.work_dir / "fpgaops-logs")}
    command = [str(Path(sys.executable).with_name("fab")), "-r", str(HERE), "deploy", "--inventory",
               str(target.inventory), "--limit", target.limit, "--forks", str(len(target.names))]
    wall, done = _timed(command, env, PROJECT_ROOT, target.work_dir / "fpgaops-output.log")
    counts = json.loads(counts_file.read_text()) if counts_file.is_file() else {"hosts": {}}
    hosts = counts["hosts"]
    return ToolRun("fpgaops", wall, done.returncode,
                   commands={name: hosts.get(name, {}).get("commands", 0) for name in target.names},
                   transfers={name: hosts.get(name, {}).get("transfers", 0) for name in target.names},
                   changed={name: hosts.get(name, {}).get("changed", -1) for name in target.names},
                   engine_s=counts.get("engine_s"), output_tail=_tail(done))


WRAPPER = """#!/bin/sh
# counts {tool} invocations for the engine benchmark, then runs the real one
printf '%s %s\\n' {tool} "$*" >> "${count_env}"
exec {real} "$@"
"""
RECAP_LINE = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def _ansible_wrappers(directory: Path) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for tool in ("ssh", "sftp", "scp"):
        real = shutil.which(tool, path="/usr/bin:/bin") or tool
        path = directory / tool
        path.write_text(WRAPPER.format(tool=tool, real=real, count_env=COUNT_ENV))
        path.chmod(0o755)
        paths[tool] = str(path)
    return paths


def run_ansible(target: Target) -> ToolRun:
    log = target.work_dir / "ansible-count.log"
    log.write_text("")
    control_dir = Path(tempfile.mkdtemp(prefix="cp-", dir=target.work_dir))  # fresh: no master from a previous run
    wrappers = _ansible_wrappers(target.work_dir / "ansible-bin")
    config = target.work_dir / "ansible.cfg"
    config.write_text("# empty: every setting comes from the environment (see peers.ANSIBLE_SETTINGS)\n")
    env = {**os.environ, **ANSIBLE_SETTINGS, COUNT_ENV: str(log), "ANSIBLE_CONFIG": str(config),
           "ANSIBLE_SSH_EXECUTABLE": wrappers["ssh"], "ANSIBLE_SFTP_EXECUTABLE": wrappers["sftp"],
           "ANSIBLE_SCP_EXECUTABLE": wrappers["scp"], "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_dir),
           "ANSIBLE_LOCAL_TEMP": str(target.work_dir / "ansible-tmp")}
    command = [str(VENVS_DIR / "ansible" / "bin" / "ansible-playbook"), "-i", str(target.inventory),
               "--limit", target.limit, "--forks", str(len(target.names)), "-e", f"artifact_src={target.artifact}",
               str(HERE / "playbook.yml")]
    try:
        wall, done = _timed(command, env, HERE, target.work_dir / "ansible-output.log")
    finally:
        _close_masters(control_dir)
    commands, transfers = Counter(), Counter()
    for line in log.read_text().splitlines():
        tool, _, args = line.partition(" ")
        found = ADDRESS.search(args)
        if found is None or " -O " in f" {args} ":
            continue
        (commands if tool == "ssh" else transfers)[found.group(0)] += 1
    changed = {match.group(1): int(match.group(3)) for match in RECAP_LINE.finditer(done.stdout)}
    return ToolRun("ansible", wall, done.returncode, target.by_address(commands), target.by_address(transfers),
                   changed={name: changed.get(name, -1) for name in target.names}, output_tail=_tail(done))


def _close_masters(control_dir: Path) -> None:
    """End the ControlPersist masters of one Ansible run (outside the timed part)."""
    for socket_path in control_dir.iterdir():
        subprocess.run(["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "bench-master"],
                       capture_output=True, timeout=30)
    shutil.rmtree(control_dir, ignore_errors=True)


def pyinfra_inventory(target: Target) -> Path:
    """A pyinfra inventory (Python) of the target's hosts: address, user, key, strict host keys."""
    entries = []
    for name in target.names:
        data = {"ssh_hostname": target.addresses[name], "ssh_user": target.user, "ssh_key": str(target.key),
                "ssh_known_hosts_file": str(target.known_hosts), "ssh_strict_host_key_checking": "yes",
                "ssh_allow_agent": False, "ssh_look_for_keys": False}
        entries.append(f"    ({name!r}, {data!r}),")
    path = target.work_dir / f"pyinfra_inventory_{len(target.names)}.py"
    path.write_text("# written by bench/engine/run.py: the sandbox hosts of one run\nhosts = [\n"
                    + "\n".join(entries) + "\n]\n")
    return path



def run_pyinfra(target: Target) -> ToolRun:
    log = target.work_dir / "pyinfra-count.log"
    log.write_text("")
    env = {**os.environ, COUNT_ENV: str(log), "COLUMNS": "160"}
    command = [str(VENVS_DIR / "pyinfra" / "bin" / "pyinfra"), *PYINFRA_OPTIONS, "--parallel", str(len(target.names)),
               "--data", f"artifact_src={target.artifact}", str(pyinfra_inventory(target)),
               str(HERE / "pyinfra_deploy.py")]
    wall, done = _timed(command, env, HERE, target.work_dir / "pyinfra-output.log")
    commands, transfers = Counter(), Counter()
    for line in log.read_text().splitlines():
        kind, _, address = line.partition(" ")
        (commands if kind == "exec" else transfers)[address] += 1
    return ToolRun("pyinfra", wall, done.returncode, target.by_address(commands), target.by_address(transfers),
                   changed=pyinfra_changed(done.stdout + done.stderr, target.names), output_tail=_tail(done))


PYINFRA_STATUS = re.compile(r"^\s*\[(\S+)\] (Success|No changes)\b", re.MULTILINE)


def pyinfra_changed(output: str, names: tuple[str, ...]) -> dict[str, int]:
    """Operations that changed something per host: pyinfra prints ``[host] Success`` for those."""
    changed = Counter(match.group(1) for match in PYINFRA_STATUS.finditer(output) if match.group(2) == "Success")
    return {name: changed.get(name, 0) for name in names}


RUNNERS = {"fpgaops": run_fpgaops, "ansible": run_ansible, "pyinfra": run_pyinfra}


# --- the floor ----------------------------------------------------------------------------------


def ssh_command(target: Target, name: str, script: str) -> list[str]:
    """OpenSSH: one new connection, strict host key, one command run as root (no multiplexing)."""
    return ["ssh", "-i", str(target.key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", f"UserKnownHostsFile={target.known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o", "ConnectTimeout=10",
            f"{target.user}@{target.addresses[name]}", f"sudo -n sh -c {_quote(script)}"]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def read_all(target: Target, script: str) -> tuple[float, dict[str, str], dict[str, int]]:
    """Run ``script`` on every host at once, one OpenSSH connection each: wall seconds, outputs, exit codes."""
    started = time.perf_counter()
    processes = {name: subprocess.Popen(ssh_command(target, name, script), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
                 for name in target.names}
    outputs, codes = {}, {}
    for name, process in processes.items():
        try:
            stdout, stderr = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        outputs[name] = stdout if process.returncode == 0 else stdout + stderr
        codes[name] = process.returncode
    return time.perf_counter() - started, outputs, codes
