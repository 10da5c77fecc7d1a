"""The demo as a user runs it: `fab sandbox.up`, `fab sandbox.tour`, `fab sandbox.down`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from fpgaops.sandbox import lifecycle
from fpgaops.sandbox.config import PROJECT_ROOT, SandboxConfig
from tests.conftest import endpoint_port

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root")
FAB = str(Path(PROJECT_ROOT) / ".venv" / "bin" / "fab")


def fab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([FAB, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200"})


def test_the_tour_shows_every_piece_working_and_down_cleans_up(tmp_path, network_index_factory):
    state = ["--state-dir", str(tmp_path / "sandbox")]
    index = network_index_factory()
    up = fab("sandbox.up", "--hosts", "dev,f1-a,errgen", "--network-index", str(index),
             "--port", str(endpoint_port(index)),
             "--inventory", str(tmp_path / "sandbox.yml"), *state)
    try:
        assert up.returncode == 0, up.stderr
        tour = fab("sandbox.tour", *state)
        assert tour.returncode == 0, tour.stdout + tour.stderr
        for shown in ("Build Time", "available", " loaded ", f"says hostname ip-10-200-{index}-", "terminated",
                      '"section": "chorus"', "tour complete"):
            assert shown in tour.stdout, shown
    finally:
        down = fab("sandbox.down", *state)
    assert down.returncode == 0, down.stderr
    after = lifecycle.status(SandboxConfig.load(tmp_path / "sandbox"))
    assert (after.endpoint_pid, after.hosts, after.links, after.namespaces, after.processes) == (None, [], [], [], [])


def test_the_tour_says_what_to_do_when_the_sandbox_is_not_up(tmp_path):
    tour = fab("sandbox.tour", "--state-dir", str(tmp_path))
    assert tour.returncode == 1 and "run `fab sandbox.up` first" in tour.stderr
