"""The sandbox hosts' systemctl (docker-systemctl-replacement, compiled, systemd's timings) on a unit under tmp_path."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from fpgaops.sandbox.systemctl_standin import HOST_PYTHON, StandinError, adjusted, compiled_standin, standin_source

UNIT = """[Unit]
Description=a service that exits on SIGTERM
[Service]
Type=simple
ExecStart=/bin/sleep 300
[Install]
WantedBy=multi-user.target
"""


@pytest.fixture
def systemctl(tmp_path: Path):
    """Run the compiled stand-in on a root holding one unit, ``sleeper.service``; stop it at the end."""
    program = compiled_standin(tmp_path / "state")
    root = tmp_path / "host"
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "etc/systemd/system/sleeper.service").write_text(UNIT)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([HOST_PYTHON, program, f"--root={root}", *args], capture_output=True, text=True,
                              timeout=60)
    yield run
    run("stop", "sleeper.service")


def main_pid(run) -> int:
    return int(run("show", "-p", "MainPID", "sleeper.service").stdout.strip().removeprefix("MainPID="))


def running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_pinned_package_takes_both_timing_changes() -> None:
    text = adjusted(standin_source().read_text())
    assert "MinimumYield: float = 0.1\n" in text
    assert "time.sleep(0.02) # until TimeoutStopSec" in text
    assert text.count("time.sleep(1) # until TimeoutStopSec") == 1  # the other wait (ExecStop) is left as it is


def test_a_changed_package_is_an_error_not_a_slower_sandbox() -> None:
    source = standin_source().read_text().replace("MinimumYield: float = 0.5\n", "MinimumYield: float = 0.4\n")
    with pytest.raises(StandinError, match=r"MinimumYield.*update fpgaops/sandbox/systemctl_standin\.py"):
        adjusted(source)


def test_compiled_once_and_again_when_its_text_changes(tmp_path: Path) -> None:
    program = Path(compiled_standin(tmp_path))
    made = program.stat().st_mtime_ns
    assert compiled_standin(tmp_path) == str(program) and program.stat().st_mtime_ns == made
    (tmp_path / "systemctl3.py").write_text("# left by an older fpgaops\n")
    compiled_standin(tmp_path)
    assert program.stat().st_mtime_ns != made
    assert subprocess.run([HOST_PYTHON, str(program), "--version"], capture_output=True).returncode == 0


def test_start_then_stop_as_systemd_does(systemctl) -> None:
    assert systemctl("start", "sleeper.service").returncode == 0
    assert systemctl("is-active", "sleeper.service").stdout.strip() == "active"
    pid = main_pid(systemctl)
    assert running(pid)
    started = time.monotonic()
    assert systemctl("stop", "sleeper.service").returncode == 0
    # systemd returns once the process is gone; the package as shipped polls every second (>= 1 s)
    assert time.monotonic() - started < 0.9
    assert systemctl("is-active", "sleeper.service").stdout.strip() == "inactive"
    assert not running(pid)
