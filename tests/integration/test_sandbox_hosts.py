"""Sandbox hosts over real SSH: users, sudo, isolation, systemctl, crontab, network, host keys."""

from __future__ import annotations

import json
import os
import textwrap

import paramiko
import pytest

from fpgaops.sandbox.hosts import SandboxHosts
from tests.ssh_helpers import connect


def host(cfg, name):
    spec = SandboxHosts(cfg).spec(name)
    return connect(cfg, spec.address, spec.login_user)


@pytest.fixture(scope="module")
def dev(sandbox):
    with host(sandbox, "dev") as conn:
        yield conn


@pytest.fixture(scope="module")
def f1a(sandbox):
    with host(sandbox, "f1-a") as conn:
        yield conn


def test_login_user_follows_the_ami_and_sudo_needs_no_password(sandbox, f1a):
    assert f1a.run("id -un").stdout.strip() == "ubuntu"  # F2-era image
    assert f1a.run("sudo -n id -u").stdout.strip() == "0"
    with host(sandbox, "f1-b") as f1b:  # F1-era image
        assert f1b.run("id -un").stdout.strip() == "centos"
        assert f1b.run("hostname").stdout.strip() == "f1-b"


def test_a_file_written_on_one_host_is_absent_on_the_others_and_on_the_machine(dev, f1a, tmp_path):
    dev.run("echo dev-only | sudo tee /etc/fpgaops-isolation-check >/dev/null")
    assert dev.run("cat /etc/fpgaops-isolation-check").stdout == "dev-only\n"
    assert f1a.run("test -e /etc/fpgaops-isolation-check", warn=True).exited == 1
    assert not os.path.exists("/etc/fpgaops-isolation-check")


def test_the_laptops_work_tree_is_not_visible_on_a_host(f1a):
    from fpgaops.sandbox.config import PROJECT_ROOT

    assert f1a.run(f"test -e {PROJECT_ROOT}/pyproject.toml", warn=True).exited == 1


def test_a_systemd_unit_starts_is_active_and_stops(f1a):
    unit = textwrap.dedent("""\
        [Unit]
        Description=sandbox check
        [Service]
        ExecStart=/usr/bin/python3 -m http.server 8081 --bind 127.0.0.1
        User=nobody
        [Install]
        WantedBy=multi-user.target
        """)
    f1a.run(f"printf '%s' '{unit}' | sudo tee /etc/systemd/system/sbx-check.service >/dev/null")
    f1a.run("sudo systemctl daemon-reload && sudo systemctl start sbx-check")
    assert f1a.run("systemctl is-active sbx-check").stdout.strip() == "active"
    probe = "for i in $(seq 50); do python3 -c 'import urllib.request as u; u.urlopen(\"http://127.0.0.1:8081/\")' " \
            "2>/dev/null && exit 0; sleep 0.1; done; exit 1"
    assert f1a.run(probe, warn=True).exited == 0
    assert f1a.run("ps -o user= -C python3 | sort -u").stdout.split().count("nobody") == 1
    f1a.run("sudo systemctl stop sbx-check")
    assert f1a.run("systemctl is-active sbx-check", warn=True).stdout.strip() in ("inactive", "failed")


def test_a_crontab_installs_and_lists_without_touching_other_users(dev):
    dev.run("(echo '# mine'; echo '*/5 * * * * /bin/true') | crontab -")
    assert dev.run("crontab -l").stdout == "# mine\n*/5 * * * * /bin/true\n"
    assert "no crontab for root" in dev.run("sudo crontab -l", warn=True).stderr


def test_hosts_reach_the_bridge_but_no_route_leaves_the_machine(sandbox, f1a):
    assert f1a.run(f"ping -c1 -W1 {sandbox.gateway} >/dev/null 2>&1 || ip route get {sandbox.gateway}").ok
    assert "unreachable" in f1a.run("ip route get 8.8.8.8", warn=True).stderr.lower()


def test_host_facts_describe_the_fpga(f1a):
    facts = json.loads(f1a.run("cat /run/sandbox/host.json").stdout)
    assert (facts["name"], facts["platform"], facts["fpga_slots"]) == ("f1-a", "f2", 1)


def test_an_unknown_host_key_is_refused(sandbox, tmp_path):
    spec = SandboxHosts(sandbox).spec("dev")
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    client = paramiko.SSHClient()
    client.load_host_keys(str(empty))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        client.connect(spec.address, username=spec.login_user, key_filename=str(sandbox.client_key),
                       look_for_keys=False, allow_agent=False, timeout=5)
    client.close()


def test_password_login_is_refused(sandbox):
    spec = SandboxHosts(sandbox).spec("dev")
    transport = paramiko.Transport((spec.address, 22))
    transport.connect()
    try:
        with pytest.raises(paramiko.BadAuthenticationType):
            transport.auth_password(spec.login_user, "anything")
    finally:
        transport.close()
