"""Connections to real sshd hosts: commands, sudo (with and without a password), stdin, uploads,
host key checking, unreachable hosts, ProxyJump and ~/.ssh/config.

The tests run on a sandbox of their own (hosts c1, c2 as ubuntu, c3 as centos), so they can add
users, passwords and broken known_hosts files without disturbing anyone.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
from pathlib import Path

import paramiko
import pytest

from fpgaops.connection import (
    AuthenticationFailed,
    BecomeFailed,
    ConnectionLost,
    ConnectionPool,
    HostKeyChanged,
    HostKeyUnknown,
    HostUnreachable,
    load_ssh_config,
    resolve_target,
    ssh_options,
)
from fpgaops.core import Upload
from fpgaops.inventory import Host, Inventory
from tests.conftest import running_sandbox

BECOME_USER = "deployer"
BECOME_PASSWORD = "Corr3ct-horse-" + secrets.token_hex(4)


@pytest.fixture(scope="module")
def cfg(new_config):
    yield from running_sandbox(new_config("connection"), "c1,c2,c3:f1")


@pytest.fixture(scope="module")
def inventory(cfg):
    return Inventory.load(cfg.inventory_path)


@pytest.fixture
def pool(inventory):
    with ConnectionPool(hosts=inventory.hosts, ssh_config_path=None) as pool:
        yield pool


def variant(host: Host, name: str | None = None, **changes) -> Host:
    """The same host with some variables changed (and, if given, another name)."""
    return Host(name or host.name, host.groups, {**host.vars, **changes})


# --- running commands --------------------------------------------------------------------------


def test_a_command_gives_its_output_and_status_and_sudo_elevates_all_of_it(pool, inventory):
    conn = pool.get(inventory.host("c1"))
    result = conn.run("echo out; echo err >&2; exit 3")
    assert (result.stdout, result.stderr, result.exit_code, result.ok) == ("out\n", "err\n", 3, False)
    assert conn.run("id -u && id -u; id -un | tr a-z A-Z", sudo=True).stdout == "0\n0\nROOT\n"
    tricky = "printf '%s\\n' \"it's $HOME\" 'a \"b\"' `echo c`\nif true; then echo multi; fi"
    assert conn.run(tricky).stdout == "it's /home/ubuntu\na \"b\"\nc\nmulti\n"
    assert conn.run(tricky, sudo=True).stdout == "it's /root\na \"b\"\nc\nmulti\n"


def test_stdin_gets_exactly_the_bytes_given_and_eof_otherwise(pool, inventory):
    conn = pool.get(inventory.host("c1"))
    assert conn.run("cat; echo end").stdout == "end\n"  # EOF at once: nothing read from a terminal
    payload = os.urandom(3_000_000)
    result = conn.run("sha256sum", sudo=True, stdin=payload)
    assert result.stdout.split()[0] == hashlib.sha256(payload).hexdigest()


def test_one_connection_per_host_kept_tuned_and_counted(pool, inventory):
    host = inventory.host("c1")
    conn = pool.get(host)
    assert pool.get(host) is conn
    transport = conn.fabric.transport
    assert transport.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    assert transport.packetizer._Packetizer__keepalive_interval > 0
    before = conn.commands_run
    conn.run("true")
    conn.run("true", sudo=True)
    assert conn.commands_run - before == 2 and pool.commands_run()["c1"] == conn.commands_run


def test_a_dropped_connection_is_reported_then_reopened(pool, inventory):
    host = inventory.host("c2")
    conn = pool.get(host)
    conn.fabric.transport.close()
    with pytest.raises(ConnectionLost, match=r"c2 \(ubuntu@10\.200\.\d+\.12:22\): the connection was lost"):
        conn.run("true")
    again = pool.get(host)
    assert again is not conn and again.run("echo back").stdout == "back\n"


def test_uploads_go_in_place_or_through_root_with_mode_0600_and_one_sftp_session(pool, inventory):
    conn = pool.get(inventory.host("c1"))
    conn.put(Upload("/home/ubuntu/plain.txt", content=b"plain"))
    sftp = conn.fabric.sftp()
    conn.put(Upload("/etc/.fpgaops-conn-test", content=b"secret\n"), sudo=True)
    assert conn.fabric.sftp() is sftp  # the session is created once and reused
    listing = conn.run("stat -c '%a %U %s' /home/ubuntu/plain.txt /etc/.fpgaops-conn-test; ls -A ~/.fpgaops-stage")
    assert listing.stdout == "600 ubuntu 5\n600 ubuntu 7\n"  # the staged file was moved: nothing left behind
    conn.run("rm -f /etc/.fpgaops-conn-test /home/ubuntu/plain.txt", sudo=True)


def test_fetch_copies_a_remote_file_whole_or_says_which_is_missing(pool, inventory, tmp_path):
    conn = pool.get(inventory.host("c1"))
    conn.run("head -c 300000 /dev/urandom > fetched.bin")
    conn.fetch("fetched.bin", tmp_path / "out" / "fetched.bin")
    remote_sha = conn.run("sha256sum fetched.bin").stdout.split()[0]
    assert hashlib.sha256((tmp_path / "out" / "fetched.bin").read_bytes()).hexdigest() == remote_sha
    with pytest.raises(OSError, match=r"c1 .*cannot fetch no-such-file"):
        conn.fetch("no-such-file", tmp_path / "missing")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no partial file left
    conn.run("rm -f fetched.bin")


# --- sudo with a password ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def become_user(cfg, inventory):
    """A second user on c3 whose sudo rule asks for a password."""
    with ConnectionPool(hosts=inventory.hosts, ssh_config_path=None) as pool:
        public_key = cfg.client_key.with_suffix(".pub").read_text().strip()
        setup = (f"useradd -m -s /bin/bash {BECOME_USER}\n"
                 f"chpasswd\n"
                 f"echo '{BECOME_USER} ALL=(ALL) ALL' > /etc/sudoers.d/{BECOME_USER}\n"
                 f"chmod 440 /etc/sudoers.d/{BECOME_USER}\n"
                 f"install -d -m 700 -o {BECOME_USER} -g {BECOME_USER} /home/{BECOME_USER}/.ssh\n"
                 f"echo '{public_key}' > /home/{BECOME_USER}/.ssh/authorized_keys\n"
                 f"chown {BECOME_USER}: /home/{BECOME_USER}/.ssh/authorized_keys")
        password_line = f"{BECOME_USER}:{BECOME_PASSWORD}\n".encode()  # for chpasswd, never on a command line
        result = pool.get(inventory.host("c3")).run(setup, sudo=True, stdin=password_line)
        assert result.ok, result.stderr
    return variant(inventory.host("c3"), "c3-deployer", ansible_user=BECOME_USER)


def test_sudo_answers_the_password_prompt_and_still_feeds_stdin(pool, become_user):
    conn = pool.get(variant(become_user, ansible_become_password=BECOME_PASSWORD))
    assert conn.run("id -un").stdout == f"{BECOME_USER}\n"
    result = conn.run("id -u; cat", sudo=True, stdin=b"payload")
    assert (result.stdout, result.stderr, result.exit_code) == ("0\npayload", "", 0)
    assert conn.run("id -u", sudo=True).stdout == "0\n"  # again (sudo may or may not ask twice)


def test_sudo_without_the_password_or_with_a_wrong_one_says_what_to_do(pool, become_user):
    with pytest.raises(BecomeFailed, match=r"password is required.*set ansible_become_password"):
        pool.get(become_user).run("true", sudo=True)
    wrong = "Wr0ng-" + BECOME_PASSWORD
    with pytest.raises(BecomeFailed, match="refused the password") as raised:
        pool.get(variant(become_user, "c3-wrong", ansible_become_password=wrong)).run("true", sudo=True)
    assert wrong not in str(raised.value) and BECOME_PASSWORD not in str(raised.value)


# --- host keys ----------------------------------------------------------------------------------


def test_an_unknown_host_key_is_refused_by_default(inventory, tmp_path):
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    host = variant(inventory.host("c1"), fpgaops_known_hosts=str(known_hosts))
    with ConnectionPool(ssh_config_path=None) as pool, \
            pytest.raises(HostKeyUnknown, match=rf"c1 .*not in {known_hosts}.*accept_new"):
        pool.get(host)
    assert known_hosts.read_text() == ""


def test_accept_new_records_a_new_key_once_and_never_accepts_a_changed_one(cfg, inventory, tmp_path):
    known_hosts = tmp_path / "ssh" / "known_hosts"
    host = variant(inventory.host("c1"), fpgaops_known_hosts=str(known_hosts))
    for _ in range(2):
        with ConnectionPool(accept_new=True, ssh_config_path=None) as pool:
            assert pool.get(host).run("hostname").stdout == "c1\n"
    lines = known_hosts.read_text().splitlines()
    assert lines == [f"{host.address} {' '.join(cfg.hosts_dir.joinpath('c1/hostkey.pub').read_text().split()[:2])}"]

    other_key = cfg.hosts_dir.joinpath("c2/hostkey.pub").read_text().split()[:2]
    known_hosts.write_text(f"{host.address} {' '.join(other_key)}\n")  # as if c1 had been replaced
    for accept_new in (False, True):
        with ConnectionPool(accept_new=accept_new, ssh_config_path=None) as pool, \
                pytest.raises(HostKeyChanged, match=rf"c1 .*CHANGED.*{known_hosts}.*ssh-keygen -R"):
            pool.get(host)
    assert known_hosts.read_text() == f"{host.address} {' '.join(other_key)}\n"


def test_accept_new_refuses_a_host_known_with_another_key_type(inventory, tmp_path):
    known_hosts = tmp_path / "known_hosts"
    rsa = paramiko.RSAKey.generate(1024)
    host = variant(inventory.host("c1"), fpgaops_known_hosts=str(known_hosts))
    known_hosts.write_text(f"{host.address} ssh-rsa {rsa.get_base64()}\n")
    with ConnectionPool(accept_new=True, ssh_config_path=None) as pool, pytest.raises(HostKeyChanged):
        pool.get(host)


# --- unreachable hosts and failed logins --------------------------------------------------------


def test_unreachable_hosts_are_named_with_their_address_and_reason(cfg, inventory):
    base = inventory.host("c1")
    with ConnectionPool(ssh_config_path=None) as pool:
        with pytest.raises(HostUnreachable, match=rf"ghost \(ubuntu@{cfg.subnet_prefix}\.250:22\) is unreachable"):
            pool.get(variant(base, "ghost", ansible_host=f"{cfg.subnet_prefix}.250", ansible_ssh_timeout=1))
        with pytest.raises(HostUnreachable, match="connection refused on port 22"):
            pool.get(variant(base, "laptop", ansible_host=cfg.gateway))
        with pytest.raises(HostUnreachable, match="does not resolve"):
            pool.get(variant(base, "typo", ansible_host="no-such-host.invalid"))


def test_a_refused_login_is_an_authentication_error(cfg, inventory):
    wrong_key = cfg.hosts_dir / "c1" / "hostkey"  # a private key, but not one c2 trusts
    with ConnectionPool(ssh_config_path=None) as pool, \
            pytest.raises(AuthenticationFailed, match=rf"c2 .*authentication failed for user ubuntu with {wrong_key}"):
        pool.get(variant(inventory.host("c2"), ansible_ssh_private_key_file=str(wrong_key)))


# --- ProxyJump and ~/.ssh/config ----------------------------------------------------------------


def test_proxyjump_from_ssh_config_reaches_a_host_through_another(cfg, inventory, tmp_path):
    c1, c2 = inventory.host("c1"), inventory.host("c2")
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(f"Host {c2.address}\n  ProxyJump ubuntu@{c1.address}\n")
    with ConnectionPool(ssh_config_path=ssh_config) as pool:
        result = pool.get(c2).run("hostname; echo $SSH_CLIENT")
    hostname, client = result.stdout.splitlines()
    assert hostname == "c2" and client.split()[0] == c1.address  # the session came from c1, not the laptop


def test_a_proxyjump_chain_goes_through_each_hop_in_order(inventory, tmp_path):
    c1, c2, c3 = inventory.host("c1"), inventory.host("c2"), inventory.host("c3")
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(f"Host {c3.address}\n  ProxyJump ubuntu@{c1.address},ubuntu@{c2.address}\n")
    with ConnectionPool(ssh_config_path=ssh_config) as pool:
        assert pool.get(c3).run("echo $SSH_CLIENT").stdout.split()[0] == c2.address
        jumps = sorted(conn.target.address for conn in pool._jumps.values())
    assert jumps == sorted([c1.address, c2.address])


def test_proxyjump_may_name_an_inventory_host(inventory):
    c1, c3 = inventory.host("c1"), inventory.host("c3")
    through = variant(c3, ansible_ssh_common_args=c3.vars["ansible_ssh_common_args"] + " -o ProxyJump=c1")
    with ConnectionPool(hosts=inventory.hosts, ssh_config_path=None) as pool:
        assert pool.get(through).run("echo $SSH_CLIENT").stdout.split()[0] == c1.address


def test_ssh_config_gives_user_key_port_and_hostname_when_the_inventory_does_not(cfg, inventory, tmp_path):
    c3 = inventory.host("c3")
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(f"Host c3-alias\n  HostName {c3.address}\n  User centos\n  Port 22\n"
                          f"  IdentityFile {cfg.client_key}\n")
    bare = Host("c3", c3.groups, {"ansible_host": "c3-alias", "fpgaops_known_hosts": str(cfg.known_hosts)})
    target = resolve_target(bare, load_ssh_config(ssh_config))
    assert (target.address, target.user, target.port, target.key_files) == (c3.address, "centos", 22,
                                                                            (str(cfg.client_key),))
    with ConnectionPool(ssh_config_path=ssh_config) as pool:
        assert pool.get(bare).run("id -un").stdout == "centos\n"


def test_ssh_options_are_read_from_ansible_style_arguments():
    assert ssh_options("-o UserKnownHostsFile=/k/kh -oStrictHostKeyChecking=accept-new -J bastion "
                       "-o 'ProxyCommand none' -v") == {
        "userknownhostsfile": "/k/kh", "stricthostkeychecking": "accept-new", "proxyjump": "bastion",
        "proxycommand": "none"}
    host = Host("h", (), {"ansible_host": "10.0.0.5", "ansible_ssh_common_args": "-o UserKnownHostsFile=/k/kh",
                          "ansible_become_password": "pw"})
    target = resolve_target(host, paramiko.SSHConfig())
    assert (target.known_hosts, target.known_hosts_name, target.become_password) == (Path("/k/kh"), "10.0.0.5", "pw")
    assert "pw" not in repr(target)
