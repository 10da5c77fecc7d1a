"""Processes the sandbox started, recognised by PID *and* command line, so a stale PID file
never makes it signal someone else's process."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path


def is_running(pid: int, *markers: str) -> bool:
    """True when ``pid`` is alive (not a zombie) and its command line holds every marker.

    A process in the middle of exec() shows an empty command line for a moment: read it again
    rather than take that process for someone else's (or for dead).
    """
    for _ in range(10):  # an exec() takes microseconds; a kernel thread never has a command line
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, IndexError):
            return False
        if state == "Z":
            return False
        if raw:
            cmdline = raw.split(b"\0")
            return all(m.encode() in cmdline for m in markers)
        time.sleep(0.002)
    return False


def read_pid(pid_file: Path, *markers: str) -> int | None:
    """The PID in ``pid_file`` if that process is still ours and running."""
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):
        return None
    return pid if is_running(pid, *markers) else None


def end_process(pid: int, *markers: str, sig: int = signal.SIGTERM, timeout_s: float = 5.0) -> None:
    """Send ``sig`` to our process ``pid``, then SIGKILL if it is still there after the timeout."""
    for current in (sig, signal.SIGKILL):
        if not is_running(pid, *markers):
            return
        os.kill(pid, current)
        deadline = time.monotonic() + timeout_s
        while is_running(pid, *markers) and time.monotonic() < deadline:
            time.sleep(0.01)


def listening(address: str, port: int) -> bool:
    """True when something accepts TCP connections at address:port."""
    try:
        with socket.create_connection((address, port), timeout=0.2):
            return True
    except OSError:
        return False


def processes_mentioning(text: str) -> list[int]:
    """PIDs of live processes whose command line mentions ``text`` (e.g. a state directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if text.encode() in (entry / "cmdline").read_bytes() and is_running(int(entry.name)):
                found.append(int(entry.name))
        except OSError:
            continue
    return found
