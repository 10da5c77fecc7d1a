"""A step run before the one it needs says what to run first, touches nothing and exits 1."""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from fpgaops.sandbox.config import PROJECT_ROOT

FAB = str(PROJECT_ROOT / ".venv" / "bin" / "fab")


@pytest.mark.parametrize("task", ["afi", "service", "load-afi", "render-env"])
def test_a_step_without_a_build_names_the_step_to_run_first(task, tmp_path) -> None:
    inventory = tmp_path / "inventory.yml"
    f1_hosts = {"f1-a": {"ansible_host": "10.200.250.9"}}  # never contacted: the step stops before any SSH
    inventory.write_text(yaml.safe_dump({"all": {"children": {"f1": {"hosts": f1_hosts}}}}))
    done = subprocess.run([FAB, task], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200", "FPGAOPS_INVENTORY": str(inventory),
                               "FPGAOPS_ARTIFACTS": str(tmp_path / "artifacts")})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no build yet: run `fab synth` (or `fab deploy`) first" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
