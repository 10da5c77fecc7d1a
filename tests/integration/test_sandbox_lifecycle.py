"""up / status / down of a whole sandbox, through the CLI a person uses, and what down leaves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fpgaops.sandbox import lifecycle
from fpgaops.sandbox.errors import SandboxError
from fpgaops.sandbox.topology import parse_hosts


def cli(*args: str, user: str | None = None) -> subprocess.CompletedProcess:
    prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if user == "nobody" else []
    return subprocess.run([*prefix, sys.executable, "-m", "fpgaops.sandbox", *args],
                          capture_output=True, text=True, timeout=120)


def mounts_mentioning(text: str) -> list[str]:
    return [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if text in line]


def test_up_is_idempotent_and_down_leaves_nothing_behind(new_config):
    cfg = new_config("lifecycle")
    args = ["--state-dir", str(cfg.state_dir)]
    try:
        first = cli("up", "--hosts", "dev,f1-a,errgen", "--no-cloud", "--network-index", str(cfg.network_index),
                    "--inventory", str(cfg.inventory_path), *args)
        assert first.returncode == 0, first.stderr
        pids = {h.spec.name: h.pid for h in lifecycle.status(cfg).hosts}
        assert set(pids) == {"dev", "f1-a", "errgen"} and all(pids.values())

        again = cli("up", "--hosts", "dev,f1-a,errgen", "--no-cloud", "--network-index", str(cfg.network_index),
                    "--inventory", str(cfg.inventory_path), *args)
        assert again.returncode == 0, again.stderr
        assert {h.spec.name: h.pid for h in lifecycle.status(cfg).hosts} == pids  # nothing restarted

        inventory = yaml.safe_load(cfg.inventory_path.read_text())
        assert set(inventory["all"]["children"]) == {"dev", "f1", "errgen"}
        assert inventory["all"]["children"]["f1"]["hosts"]["f1-a"]["ansible_host"] == f"{cfg.subnet_prefix}.12"
        assert "StrictHostKeyChecking=yes" in inventory["all"]["vars"]["ansible_ssh_common_args"]

        shown = cli("status", *args)
        assert "running" in shown.stdout and "f1-a" in shown.stdout and "stand-in" in shown.stdout
    finally:
        down = cli("down", *args)
    assert down.returncode == 0, down.stderr
    after = lifecycle.status(cfg)
    assert (after.hosts, after.links, after.namespaces, after.processes) == ([], [], [], [])
    assert mounts_mentioning(str(cfg.state_dir)) == []
    assert not cfg.inventory_path.exists()


def test_without_root_it_says_so_and_touches_nothing(tmp_path):
    tmp_path.chmod(0o777)
    done = cli("up", "--hosts", "dev", "--no-cloud", "--state-dir", str(tmp_path / "s"), user="nobody")
    assert done.returncode == 1
    assert "needs root" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "s" / "hosts").exists()


def test_a_bad_topology_is_a_clear_error(tmp_path):
    done = cli("up", "--hosts", "dev,Bad_Name", "--no-cloud", "--state-dir", str(tmp_path))
    assert done.returncode == 1 and "bad host name 'Bad_Name'" in done.stderr


def test_a_host_that_cannot_start_is_reported_and_cleaned_up(new_config, monkeypatch):
    cfg = new_config("broken")
    monkeypatch.setattr("fpgaops.sandbox.hosts.SSHD_CONFIG", "NoSuchOption yes\n")
    try:
        with pytest.raises(SandboxError, match=r"(?s)did not start.*NoSuchOption"):
            lifecycle.up(cfg, parse_hosts("dev", "f2"), cloud=False)
    finally:
        lifecycle.down(cfg)
    assert lifecycle.status(cfg).processes == []
