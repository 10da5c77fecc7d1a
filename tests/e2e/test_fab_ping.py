"""`fab ping` as a user runs it: the common options, the recap and the exit codes."""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from fpgaops.sandbox.config import PROJECT_ROOT
from tests.conftest import running_sandbox
from tests.e2e.fab_output import recap

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root")
FAB = str(PROJECT_ROOT / ".venv" / "bin" / "fab")


def fab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([FAB, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})


@pytest.fixture(scope="module")
def cfg(new_config):
    yield from running_sandbox(new_config("ping"), "dev,f1-a,f1-b:f1")


def test_every_host_answers_and_nothing_changes(cfg):
    done = fab("ping", "-i", str(cfg.inventory_path))
    assert done.returncode == 0, done.stdout + done.stderr
    rows = recap(done.stdout)
    assert set(rows) == {"dev", "f1-a", "f1-b"}
    for row in rows.values():
        counts = (row["ok"], row["changed"], row["failed"], row["unreachable"], row["commands"])
        assert counts == ("1", "0", "0", "0", "1")


def test_a_limit_that_matches_nothing_is_an_error_before_anything_runs(cfg):
    done = fab("ping", "-i", str(cfg.inventory_path), "-l", "nosuchhost")
    assert done.returncode == 1 and "nosuchhost" in done.stdout + done.stderr


def test_an_unreachable_host_fails_alone_and_sets_the_exit_code(cfg, tmp_path):
    inventory = yaml.safe_load(cfg.inventory_path.read_text())
    inventory["all"]["children"]["f1"]["hosts"]["ghost"] = {"ansible_host": f"{cfg.subnet_prefix}.250",
                                                            "ansible_user": "ubuntu"}
    path = tmp_path / "with-ghost.yml"
    path.write_text(yaml.safe_dump(inventory))
    done = fab("ping", "-i", str(path))
    assert done.returncode == 4, done.stdout + done.stderr
    rows = recap(done.stdout)
    assert rows["ghost"]["unreachable"] == "1" and f"{cfg.subnet_prefix}.250" in done.stdout
    assert all(rows[name]["ok"] == "1" for name in ("dev", "f1-a", "f1-b"))  # the others went on
