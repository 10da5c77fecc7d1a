"""The runner against real sshd hosts: idempotent reruns in one round trip, check mode that touches
nothing (byte for byte), an apply killed midway that converges on rerun with no partial file,
an unreachable host that stops only itself, sudo with a password and secrets kept out of the log.

The tests run on a sandbox of their own (r1..r3 as ubuntu, r4 as centos); the operations are
the unit tests' (an atomic write-file through a temporary name).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from fpgaops.connection import ConnectionPool
from fpgaops.inventory import Inventory
from fpgaops.recap import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE
from fpgaops.run_log import MASK
from fpgaops.runner import Role, RunSettings, run
from fpgaops.sandbox.hosts import SandboxHosts
from tests.conftest import running_sandbox
from tests.unit.test_runner_plan import TEMP_TAG, shell_step, write_file

HOSTS = ("r1", "r2", "r3", "r4")
STEPS = 15
KILL_MARK = "29.25"  # `sleep 29.25`: the command the kill test interrupts, unique on the machine


@pytest.fixture(scope="module")
def cfg(new_config):
    yield from running_sandbox(new_config("runner"), "r1,r2,r3,r4:f1")


@pytest.fixture(scope="module")
def inventory(cfg):
    return Inventory.load(cfg.inventory_path)


def etc_role(name: str, texts: dict[str, str], before: str = "") -> Role:
    """Root-owned files /etc/fpgaops-<name>-<key>, and a handler counting its runs."""

    def tasks(host):
        return [write_file(f"/etc/fpgaops-{name}-{key}", text, root=True, notify=("restart",), before=before)
                for key, text in texts.items()]

    def handlers(host):
        return {"restart": shell_step("restart", f"echo restarted >> /etc/fpgaops-{name}.restarts", root=True)}

    return Role(name, tasks, handlers)


def go(inventory, roles, tmp_path, pool, **settings):
    out = io.StringIO()
    result = run(inventory, roles, pool.get, RunSettings(log_dir=tmp_path / "logs", **settings),
                 Console(file=out, width=200, color_system=None))
    return result, out.getvalue()


def tree_state(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: type and mode, owner, size, and the sha256 of each file's bytes."""
    state = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory) / name
            info = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else ""
            state[str(path.relative_to(root))] = (info.st_mode, info.st_uid, info.st_size, digest)
    return state


def upper_dir(cfg, host: str) -> Path:
    return cfg.hosts_dir / host / "up"


def temp_files(cfg, host: str) -> list[str]:
    return [path for path in tree_state(upper_dir(cfg, host)) if TEMP_TAG in path]


# --- idempotence and check mode -----------------------------------------------------------------


def test_a_role_applied_twice_changes_nothing_the_second_time_and_runs_one_command_per_host(cfg, inventory, tmp_path):
    texts = {f"{i:02}": f"line {i}\n" for i in range(STEPS)}
    role = etc_role("twice", texts)
    with ConnectionPool(hosts=inventory.hosts, ssh_config_path=None) as pool:
        first, _ = go(inventory, [role], tmp_path, pool, forks=4)
        assert first.exit_code == EXIT_OK
        all_changed = {h: (STEPS + 1, STEPS + 1) for h in HOSTS}  # the steps and the handler
        assert {name: (r.ok, r.changed) for name, r in first.hosts.items()} == all_changed
        before = pool.commands_run()
        started = time.monotonic()
        second, shown = go(inventory, [role], tmp_path, pool, forks=4)
        seconds = time.monotonic() - started
        after = pool.commands_run()
    assert second.exit_code == EXIT_OK and "changed" not in shown.split("RECAP")[0]
    assert {name: (r.ok, r.changed) for name, r in second.hosts.items()} == {h: (STEPS, 0) for h in HOSTS}
    assert {name: after[name] - before[name] for name in HOSTS} == {h: 1 for h in HOSTS}  # the facts, nothing else
    assert seconds < 2
    for host in HOSTS:
        assert (upper_dir(cfg, host) / "etc" / "fpgaops-twice.restarts").read_text() == "restarted\n"
        assert (upper_dir(cfg, host) / "etc" / "fpgaops-twice-07").read_text() == "line 7\n"


def test_check_mode_shows_the_changes_and_leaves_every_host_file_byte_identical(cfg, inventory, tmp_path):
    with ConnectionPool(hosts=inventory.hosts, ssh_config_path=None) as pool:
        go(inventory, [etc_role("check", {"a": "one\n", "b": "two\n"})], tmp_path, pool)
        before = {host: tree_state(upper_dir(cfg, host)) for host in HOSTS}
        commands = pool.commands_run()
        result, shown = go(inventory, [etc_role("check", {"a": "one\n", "b": "TWO\n", "c": "new\n"})], tmp_path, pool,
                           check=True)
        assert {name: pool.commands_run()[name] - commands[name] for name in HOSTS} == {h: 1 for h in HOSTS}
    assert result.exit_code == EXIT_OK
    assert {name: r.changed for name, r in result.hosts.items()} == {h: 3 for h in HOSTS}  # b, c and the handler
    assert "would change" in shown and "-two" in shown and "+TWO" in shown and "+new" in shown
    assert {host: tree_state(upper_dir(cfg, host)) for host in HOSTS} == before


# --- an apply interrupted midway ----------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    return children


def _subtree(pid: int, children: dict[int, list[int]]) -> list[int]:
    found = [pid]
    for child in children.get(pid, []):
        found += _subtree(child, children)
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def kill_session_running(cfg, host: str, mark: str, timeout_s: float = 10.0) -> None:
    """Wait for a command line holding ``mark`` on ``host``, then SIGKILL its whole sshd session."""
    init = SandboxHosts(cfg).pid(host)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        children = _children()
        listener = next(pid for pid in children.get(init, []) if b"sshd" in _cmdline(pid))
        for session in children.get(listener, []):  # one `sshd: user [priv]` per connection
            tree = _subtree(session, children)
            if any(mark.encode() in _cmdline(pid) for pid in tree):
                for pid in tree:
                    with contextlib.suppress(ProcessLookupError):  # killing the first may end the others
                        os.kill(pid, signal.SIGKILL)
                return
        time.sleep(0.05)
    raise AssertionError(f"no command with {mark!r} ran on {host}")


def test_an_apply_killed_midway_converges_on_rerun_with_no_partial_file(cfg, inventory, tmp_path):
    texts = {"one": "first\n", "two": "second\n"}
    with ConnectionPool(hosts=inventory.hosts, ssh_config_path=None) as pool:
        outcome = {}
        worker = threading.Thread(target=lambda: outcome.update(result=go(
            inventory, [etc_role("kill", texts, before=f"sleep {KILL_MARK}")], tmp_path, pool, limit="r1")[0]))
        worker.start()
        kill_session_running(cfg, "r1", f"sleep {KILL_MARK}")
        worker.join(timeout=20)
        interrupted = outcome["result"]
        assert interrupted.exit_code == EXIT_UNREACHABLE and interrupted.hosts["r1"].unreachable == 1
        assert "connection was lost" in interrupted.hosts["r1"].error
        assert temp_files(cfg, "r1"), "the kill should have left the upload under its temporary name"
        assert not (upper_dir(cfg, "r1") / "etc" / "fpgaops-kill-one").exists()

        rerun, _ = go(inventory, [etc_role("kill", texts)], tmp_path, pool, limit="r1")  # reconnects by itself
        assert rerun.exit_code == EXIT_OK and rerun.hosts["r1"].changed == 3
        again, _ = go(inventory, [etc_role("kill", texts)], tmp_path, pool, limit="r1")
        assert again.hosts["r1"].changed == 0
    etc = upper_dir(cfg, "r1") / "etc"
    assert (etc / "fpgaops-kill-one").read_text() == "first\n" and (etc / "fpgaops-kill-two").read_text() == "second\n"
    assert temp_files(cfg, "r1") == []
    assert list((upper_dir(cfg, "r1") / "home" / "ubuntu" / ".fpgaops-stage").iterdir()) == []


# --- failures isolated per host -----------------------------------------------------------------


def test_an_unreachable_host_does_not_stop_the_others_and_sets_the_exit_code(cfg, tmp_path):
    data = yaml.safe_load(cfg.inventory_path.read_text())
    data["all"]["children"]["f1"]["hosts"]["ghost"] = {"ansible_host": f"{cfg.subnet_prefix}.250",
                                                        "ansible_user": "ubuntu", "ansible_ssh_timeout": 1}
    inventory = Inventory.from_dict(data)
    with ConnectionPool(hosts=inventory.hosts, ssh_config_path=None) as pool:
        result, shown = go(inventory, [etc_role("ghost", {"a": "a\n"})], tmp_path, pool)
    assert result.exit_code == EXIT_UNREACHABLE
    assert (result.hosts["ghost"].unreachable, result.hosts["ghost"].skipped) == (1, 1)
    assert all(result.hosts[host].changed == 2 and not result.hosts[host].stopped for host in HOSTS)
    assert "UNREACHABLE" in shown and f"ghost (ubuntu@{cfg.subnet_prefix}.250:22)" in shown
    recap = shown.split("RECAP")[1]
    assert "ghost" in recap


def test_sudo_with_a_password_through_the_runner_and_the_password_never_logged(cfg, inventory, tmp_path):
    password = "Runner-pw-" + os.urandom(4).hex()
    with ConnectionPool(hosts=inventory.hosts, ssh_config_path=None) as pool:
        setup = ("useradd -m -s /bin/bash deployer && chpasswd && "
                 "echo 'deployer ALL=(ALL) ALL' > /etc/sudoers.d/deployer && chmod 440 /etc/sudoers.d/deployer && "
                 "install -d -m 700 -o deployer -g deployer /home/deployer/.ssh && "
                 "install -m 600 -o deployer -g deployer /home/centos/.ssh/authorized_keys /home/deployer/.ssh/")
        assert pool.get(inventory.host("r4")).run(setup, sudo=True, stdin=f"deployer:{password}\n".encode()).ok
        data = yaml.safe_load(cfg.inventory_path.read_text())
        data["all"]["children"]["f1"]["hosts"] = {"r4": {**data["all"]["children"]["f1"]["hosts"]["r4"],
                                                         "ansible_user": "deployer",
                                                         "ansible_become_password": password}}
        as_deployer = Inventory.from_dict(data)

        def tasks(host):
            return [write_file("/etc/fpgaops-become", "as root\n", root=True),
                    shell_step("leaky step", f"echo 'the password is {password}'; exit 5")]

        result, shown = go(as_deployer, [Role("become", tasks)], tmp_path, pool, verbose=True)
        owner = pool.get(inventory.host("r4")).run("stat -c %U /etc/fpgaops-become").stdout
    assert result.exit_code == EXIT_FAILED and owner == "root\n"
    assert (result.hosts["r4"].changed, result.hosts["r4"].failed) == (1, 1)
    log = result.log_path.read_text()
    assert "exited with status 5" in shown and f"the password is {MASK}" in log
    assert password not in shown and password not in log
