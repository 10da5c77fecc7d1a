"""A failing test leaves no sandbox process, namespace, link or mount behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fpgaops.sandbox import lifecycle
from fpgaops.sandbox.config import SandboxConfig

CASE = Path(__file__).with_name("cases") / "failing_with_sandbox.py"


def test_a_failing_test_still_brings_its_sandbox_down(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"--basetemp={tmp_path}", str(CASE)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "deliberate failure" in done.stdout, done.stdout + done.stderr
    cfg = SandboxConfig.load(tmp_path / "sandbox0")
    assert cfg.is_saved()  # the sandbox really was up
    after = lifecycle.status(cfg)
    assert (after.endpoint_pid, after.hosts, after.links, after.namespaces, after.processes) == (None, [], [], [], [])
    assert str(tmp_path) not in Path("/proc/self/mountinfo").read_text()
