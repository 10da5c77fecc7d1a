"""docker-systemctl-replacement as the sandbox hosts run it: compiled, with systemd's timings.

systemd is not PID 1 on a sandbox host, so /usr/bin/systemctl is docker-systemctl-replacement
(the pinned ``docker-systemctl-replacement`` package).  Run as it ships, it is slower than the
systemctl it stands in for, in ways that would dominate what the engine's benchmark and the
end-to-end tests measure:

- parsing its 7,300-line source costs ~100 ms a call (156 ms -> 56 ms once compiled; real
  ``systemctl is-active`` takes a few ms): the hosts run bytecode compiled by their own Python;
- ``start`` of a ``Type=simple`` unit sleeps 0.5 s (``MinimumYield``) to see whether the process
  died at once; systemd returns as soon as it has forked.  0.1 s here;
- ``stop`` polls for the killed processes every second; systemd returns when they are gone
  (a service that exits on SIGTERM stops in milliseconds).  Every 20 ms here, same timeout.

Each change replaces one exact text of the pinned source; a new version without it is an error
(tests/unit/sandbox/test_systemctl_standin.py), not a silently slower sandbox.
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

from fpgaops.sandbox.errors import SandboxError

HOST_PYTHON = "/usr/bin/python3"  # the hosts' Python: their base system is this machine's
TIMING_CHANGES = (
    ("MinimumYield: float = 0.5\n", "MinimumYield: float = 0.1\n"),
    ('                logg.info("service PIDs not stopped after %s", timeout)\n'
     "                break\n"
     "            time.sleep(1) # until TimeoutStopSec\n",
     '                logg.info("service PIDs not stopped after %s", timeout)\n'
     "                break\n"
     "            time.sleep(0.02) # until TimeoutStopSec (fpgaops sandbox: systemd does not wait 1 s)\n"),
)


class StandinError(SandboxError):
    """The installed docker-systemctl-replacement is missing or not the version this module adjusts."""


def standin_source() -> Path:
    """The installed docker-systemctl-replacement's source file."""
    spec = importlib.util.find_spec("systemctl2.systemctl3")
    if not (spec and spec.origin):
        raise StandinError("docker-systemctl-replacement is not installed (requirements/laptop.txt pins it)")
    return Path(spec.origin)


def adjusted(source: str) -> str:
    """``source`` with systemd's timings (TIMING_CHANGES); StandinError when one does not apply."""
    for old, new in TIMING_CHANGES:
        if source.count(old) != 1:
            raise StandinError(f"docker-systemctl-replacement changed: {old.strip().splitlines()[-1]!r} is not "
                               "in it exactly once (update fpgaops/sandbox/systemctl_standin.py)")
        source = source.replace(old, new)
    return source


def compiled_standin(state_dir: Path) -> str:
    """The adjusted stand-in compiled by the hosts' Python, in ``state_dir`` (again when its text changes)."""
    text = adjusted(standin_source().read_text())
    patched, compiled = state_dir / "systemctl3.py", state_dir / "systemctl3.pyc"
    if not compiled.exists() or not patched.exists() or patched.read_text() != text:
        state_dir.mkdir(parents=True, exist_ok=True)
        patched.write_text(text)
        subprocess.run([HOST_PYTHON, "-c", "import py_compile, sys; py_compile.compile(sys.argv[1], sys.argv[2], "
                        "doraise=True)", str(patched), str(compiled)], check=True)
    return str(compiled)
