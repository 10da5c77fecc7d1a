"""One persistent SSH connection per host for a whole invocation, with strict host key checking.

A ``ConnectionPool`` opens a host's connection the first time it is asked for it and keeps it
until ``close()``: every task of one ``fab`` invocation shares it (``fab`` alone would open a new
connection per task).  Connections are fabric ``Connection`` objects tuned for many short
commands (TCP_NODELAY, keepalive), and commands run over raw paramiko channels so that:

- every command runs through ``sh -c '<quoted>'`` and ``sudo`` elevates the whole of it
  (``sudo sh -c 'a && b'``, never ``sudo a && b``);
- stdin is never read from the terminal: a command gets exactly the bytes it is given, or EOF;
- sudo works without a password (``sudo -n``) and with one (``ansible_become_password``, answered
  to sudo's own prompt, never put on a command line, in a log or in a message).

Where to connect comes from the inventory first (``ansible_host``, ``ansible_user``,
``ansible_port``, ``ansible_ssh_private_key_file``, ``-o`` options in ``ansible_ssh_common_args``),
then from ``~/.ssh/config`` (HostName, User, Port, IdentityFile, ProxyJump, UserKnownHostsFile),
looked up by the address as ``ssh`` would.  A ProxyJump hop is itself a pooled connection (an
inventory host of that name, or an ``[user@]host[:port]``), and the target is reached through a
``direct-tcpip`` channel of it.

Host keys are checked against the inventory's known_hosts file (``fpgaops_known_hosts``, else the
``UserKnownHostsFile`` option): an unknown key is refused, unless the pool was made with
``accept_new=True``, which records a new host's key in that file once.  A key that differs from
the recorded one is always refused.  Each failure is its own exception class whose message names
the host, its address and what to do.
"""

from __future__ import annotations

import dataclasses
import fcntl
import getpass
import os
import re
import secrets
import select
import shlex
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
from fabric import Config, Connection

from fpgaops.core import Upload
from fpgaops.inventory import Host

DEFAULT_SSH_CONFIG = Path("~/.ssh/config")
DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")
DEFAULT_CONNECT_TIMEOUT_S = 10.0
KEEPALIVE_S = 30
STAGING_DIR = ".fpgaops-stage"  # in the login user's home: uploads wait there for a root `mv`
READ_CHUNK = 65536
MAX_JUMPS = 5  # ProxyJump hops in a chain, loops included
BECOME_PASSWORD_VARS = ("ansible_become_password", "ansible_become_pass", "ansible_sudo_pass")


# --- errors ------------------------------------------------------------------------------------


class SshError(Exception):
    """A host could not be reached or used over SSH; the message names the host and what to do."""

    def __init__(self, host: str, message: str) -> None:
        super().__init__(message)
        self.host = host


class HostUnreachable(SshError):
    """Nothing answered: connection refused, timed out, no route, or the name does not resolve."""


class ConnectionLost(HostUnreachable):
    """An open connection dropped (the host went away, or its sshd session was killed)."""


class AuthenticationFailed(SshError):
    """The host answered but refused every key (or password) offered for the login user."""


class HostKeyUnknown(SshError):
    """The host's key is not in the known_hosts file and new keys are not accepted."""


class HostKeyChanged(SshError):
    """The host offers a key that differs from the one recorded: refused, always."""


class BecomeFailed(SshError):
    """sudo refused: a password is needed and none is set, the password is wrong, or no sudo rights."""


# --- where and how to connect ------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """What a remote command gave: its output (UTF-8, undecodable bytes replaced) and exit status.

    ``exit_code`` is -1 when the command was killed by a signal.
    """

    stdout: str
    stderr: str
    exit_code: int

    @property
    def ok(self) -> bool:
        """True when the command exited with status 0."""
        return self.exit_code == 0


@dataclass(frozen=True)
class SshTarget:
    """Everything needed to open one SSH connection, resolved from inventory and ssh_config.

    Example: ``SshTarget("f1-a", "10.200.0.12", 22, "ubuntu", ("/k/id_ed25519",), Path("/k/known_hosts"))``
    """

    name: str  # the inventory name (or the jump hop as written), for messages
    address: str
    port: int
    user: str
    key_files: tuple[str, ...]
    known_hosts: Path
    proxy_jump: str | None = None
    accept_new: bool = False  # the inventory asked for StrictHostKeyChecking=accept-new
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    become_password: str | None = field(default=None, repr=False, compare=False)

    @property
    def known_hosts_name(self) -> str:
        """The name of this host in known_hosts: ``address``, or ``[address]:port`` off port 22."""
        return self.address if self.port == 22 else f"[{self.address}]:{self.port}"

    def describe(self) -> str:
        """``name (user@address:port)`` for messages."""
        return f"{self.name} ({self.user}@{self.address}:{self.port})"


def ssh_options(args: str) -> dict[str, str]:
    """The ``-o Key=Value`` (and ``-J hop``) options of an ``ssh`` argument string, keys lower-cased.

    Example: ``ssh_options("-o UserKnownHostsFile=/k/kh -J bastion") == {"userknownhostsfile": "/k/kh",
    "proxyjump": "bastion"}``
    """
    words = shlex.split(args or "")
    options: dict[str, str] = {}
    index = 0
    while index < len(words):
        word = words[index]
        if word in ("-o", "-J") and index + 1 < len(words):
            value, index = words[index + 1], index + 2
        elif word.startswith(("-o", "-J")) and len(word) > 2:
            value, index = word[2:], index + 1
        else:
            index += 1
            continue
        if word.startswith("-J"):
            options["proxyjump"] = value
            continue
        key, _, setting = value.partition("=")
        if not setting:
            key, _, setting = value.partition(" ")
        options[key.strip().lower()] = setting.strip()
    return options


def load_ssh_config(path: Path | None = DEFAULT_SSH_CONFIG) -> paramiko.SSHConfig:
    """``~/.ssh/config`` (or ``path``) parsed; an empty config when there is no such file."""
    if path is not None and Path(path).expanduser().is_file():
        return paramiko.SSHConfig.from_path(str(Path(path).expanduser()))
    return paramiko.SSHConfig()


def resolve_target(host: Host, ssh_config: paramiko.SSHConfig) -> SshTarget:
    """Where and as whom to connect to an inventory host: inventory vars first, then ssh_config.

    Example: ``resolve_target(inventory.host("dev"), load_ssh_config()).address``
    """
    host_vars = host.vars
    args = f"{host_vars.get('ansible_ssh_common_args', '')} {host_vars.get('ansible_ssh_extra_args', '')}"
    options = ssh_options(args)
    looked_up = ssh_config.lookup(host.address)
    key_file = host_vars.get("ansible_ssh_private_key_file")
    keys = ([str(Path(key_file).expanduser())] if key_file else []) + [
        str(Path(k).expanduser()) for k in looked_up.get("identityfile", [])
    ]
    known_hosts = (host_vars.get("fpgaops_known_hosts") or options.get("userknownhostsfile")
                   or _first_word(looked_up.get("userknownhostsfile")) or DEFAULT_KNOWN_HOSTS)
    timeout = (host_vars.get("ansible_ssh_timeout") or host_vars.get("ansible_timeout")
               or looked_up.get("connecttimeout"))
    password = next((host_vars[name] for name in BECOME_PASSWORD_VARS if host_vars.get(name) is not None), None)
    return SshTarget(
        name=host.name,
        address=looked_up.get("hostname", host.address),
        port=host.port or int(looked_up.get("port", 22)),
        user=host.user or looked_up.get("user") or getpass.getuser(),
        key_files=tuple(dict.fromkeys(keys)),
        known_hosts=Path(known_hosts).expanduser(),
        proxy_jump=options.get("proxyjump") or looked_up.get("proxyjump"),
        accept_new=options.get("stricthostkeychecking", "").lower() == "accept-new",
        connect_timeout_s=float(timeout) if timeout else DEFAULT_CONNECT_TIMEOUT_S,
        become_password=None if password is None else str(password),
    )


def resolve_hop(hop: str, via: SshTarget, ssh_config: paramiko.SSHConfig) -> SshTarget:
    """A ProxyJump hop ``[user@]host[:port]`` not named in the inventory, keys and known_hosts from ``via``."""
    user, _, rest = hop.rpartition("@")
    name, _, port = rest.partition(":")
    looked_up = ssh_config.lookup(name)
    keys = via.key_files + tuple(str(Path(k).expanduser()) for k in looked_up.get("identityfile", []))
    return SshTarget(
        name=hop,
        address=looked_up.get("hostname", name),
        port=int(port or looked_up.get("port", 22)),
        user=user or looked_up.get("user") or via.user,
        key_files=tuple(dict.fromkeys(keys)),
        known_hosts=via.known_hosts,
        proxy_jump=looked_up.get("proxyjump"),
        accept_new=via.accept_new,
        connect_timeout_s=via.connect_timeout_s,
    )


def _first_word(value: str | None) -> str | None:
    return value.split()[0] if value else None


# --- host keys ---------------------------------------------------------------------------------

_known_hosts_lock = threading.Lock()  # threads of this process; flock keeps other processes out


def _fingerprint(key: paramiko.PKey) -> str:
    return key.fingerprint  # "SHA256:..." as ssh-keygen -l prints it


class _HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Refuse a host whose key is not known, or (``accept_new``) record it once in known_hosts."""

    def __init__(self, target: SshTarget, accept_new: bool) -> None:
        self.target = target
        self.accept_new = accept_new

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        target, path = self.target, self.target.known_hosts
        if not self.accept_new:
            raise HostKeyUnknown(target.name, (
                f"{target.describe()}: its host key {key.get_name()} {_fingerprint(key)} is not in {path}. "
                f"If you trust this host, add its key to that file (check the fingerprint first, e.g. "
                f"`ssh-keyscan -p {target.port} {target.address}`), or run again accepting new host keys "
                f"(accept_new) to record it on first use."))
        path.parent.mkdir(parents=True, exist_ok=True)
        with _known_hosts_lock, path.open("a") as stream:
            fcntl.flock(stream, fcntl.LOCK_EX)  # other processes appending to the same file wait
            known = paramiko.HostKeys(str(path)).lookup(hostname) or {}
            if known.get(key.get_name()) == key:
                return  # another thread recorded this very key meanwhile
            if known:
                old = next(iter(known.values()))
                raise HostKeyChanged(target.name, (
                    f"{target.describe()}: {path} holds a {old.get_name()} key for {hostname} "
                    f"({_fingerprint(old)}) but the host offers {key.get_name()} {_fingerprint(key)}. "
                    f"New keys are accepted only for hosts with no recorded key. If the host was rebuilt, "
                    f"remove its entry (`ssh-keygen -R '{hostname}' -f {path}`) and connect again."))
            stream.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        client.get_host_keys().add(hostname, key.get_name(), key)


# --- one host's connection ---------------------------------------------------------------------


class HostConnection:
    """An open SSH connection to one host: run commands (optionally as root) and upload files.

    ``commands_run`` counts remote commands (exec requests) since the connection opened.

    Example::

        with ConnectionPool() as pool:
            conn = pool.get(inventory.host("dev"))
            print(conn.run("uname -r").stdout, conn.run("id -u", sudo=True).stdout)
    """

    def __init__(self, target: SshTarget, fabric_connection: Connection) -> None:
        self.target = target
        self.fabric = fabric_connection
        self.commands_run = 0
        self._staging_dir: str | None = None
        self._lock = threading.Lock()  # one SFTP session, used by one thread at a time

    @property
    def alive(self) -> bool:
        """True while the SSH transport is up."""
        transport = self.fabric.transport
        return bool(transport and transport.is_active())

    def close(self) -> None:
        """Close the SFTP session and the connection (a jump host's stays: the pool owns it)."""
        self.fabric.close()

    # running commands

    def run(self, shell: str, sudo: bool = False, stdin: bytes | None = None,
            on_stderr: Callable[[bytes], None] | None = None) -> Result:
        """Run ``shell`` (a POSIX sh script) through ``sh -c``, as root when ``sudo``, feeding ``stdin``.

        Args:
            shell: the script; it may hold several lines, pipes and ``&&``: all of it runs under sudo.
            sudo: run as root (``sudo -n``, or answering sudo's prompt with ``ansible_become_password``).
            stdin: bytes for the command's standard input; without it the command reads EOF.
            on_stderr: called with each piece of stderr as it arrives (the runner follows a script's steps).

        Example: ``conn.run("test -e /etc/motd && cat /etc/motd", sudo=True).stdout``
        """
        marker = f"fpgaops-become-{secrets.token_hex(8)}"
        prompt = f"[fpgaops-sudo-{secrets.token_hex(8)}] password: "
        script = f"sh -c {shlex.quote(shell)}"
        if sudo:
            asks = "-S -p " + shlex.quote(prompt) if self.target.become_password is not None else "-n"
            inner = f"printf '%s\\n' {marker}\n{shell}"
            script = f"sudo {asks} -H -- sh -c {shlex.quote(inner)}"
        channel = self._open_channel()
        try:
            channel.exec_command(script)
            self.commands_run += 1
            return self._collect(channel, stdin, marker if sudo else None, prompt, on_stderr)
        except (paramiko.SSHException, EOFError, OSError) as err:
            raise self._lost(err) from None
        finally:
            channel.close()

    def _open_channel(self) -> paramiko.Channel:
        transport = self.fabric.transport
        if transport is None or not transport.is_active():
            raise self._lost("the connection is closed")
        try:
            return transport.open_session(timeout=self.target.connect_timeout_s)
        except (paramiko.SSHException, EOFError, OSError) as err:
            raise self._lost(err) from None

    def _lost(self, reason: object) -> ConnectionLost:
        return ConnectionLost(self.target.name, (
            f"{self.target.describe()}: the connection was lost ({reason or 'closed'}). Check that the host "
            f"is still up; a command that was running may have been interrupted: run again to converge."))

    def _collect(self, channel: paramiko.Channel, stdin: bytes | None, marker: str | None, prompt: str,
                 on_stderr: Callable[[bytes], None] | None) -> Result:
        """Read stdout/stderr until the command exits; answer sudo's prompt; then feed stdin."""
        out, err = bytearray(), bytearray()
        become = _BecomeDialog(marker, prompt, self.target) if marker else None
        writer: threading.Thread | None = None
        if become is None:
            writer = _start_stdin_writer(channel, stdin)
        while True:
            select.select([channel], [], [], 1.0)
            while channel.recv_ready():
                out += channel.recv(READ_CHUNK)
            while channel.recv_stderr_ready():
                piece = channel.recv_stderr(READ_CHUNK)
                err += piece
                if on_stderr is not None:
                    on_stderr(piece)
            if become is not None and not become.done:
                become.step(channel, out, err)
                if become.done:
                    writer = _start_stdin_writer(channel, stdin)
            # done once the command exited AND the host sent EOF: the exit status may come before the last data
            drained = not channel.recv_ready() and not channel.recv_stderr_ready()
            if channel.exit_status_ready() and (channel.eof_received or channel.closed) and drained:
                break
        if writer is not None:
            writer.join(timeout=5)
        status = channel.recv_exit_status()
        if status == -1 and not self.alive:
            raise self._lost("the host closed it while a command ran")
        if become is not None and not become.done:
            become.fail(bytes(err), status)
        return Result(out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), status)

    # uploading files

    def put(self, upload: Upload, sudo: bool = False) -> None:
        """Write ``upload``'s content at its remote path (mode 0600), as root when ``sudo``.

        Without sudo the file is written in place over SFTP; with sudo it is staged in the login
        user's home, then moved by root (one command).

        Example: ``conn.put(Upload("/etc/.motd.fpgaops-tmp", content=b"hi"), sudo=True)``
        """
        if not sudo:
            self._write(upload, upload.remote_path)
            return
        result = self.run(move_into_place(self.stage(upload), upload.remote_path), sudo=True)
        if not result.ok:
            raise OSError(f"{self.target.describe()}: cannot move the upload to {upload.remote_path}: "
                          f"{result.stderr.strip()}")

    def stage(self, upload: Upload) -> str:
        """Upload ``upload``'s content to a private staging file in the login user's home; its path.

        The caller moves it into place (``mv -f STAGED DEST`` under sudo), in the same round trip
        as the commands that use it.
        """
        with self._lock:
            if self._staging_dir is None:
                sftp = self._sftp()
                home = sftp.normalize(".")
                self._staging_dir = f"{home}/{STAGING_DIR}"
                try:
                    sftp.stat(self._staging_dir)
                except FileNotFoundError:
                    sftp.mkdir(self._staging_dir, mode=0o700)
        staged = f"{self._staging_dir}/{secrets.token_hex(8)}-{os.path.basename(upload.remote_path)}"
        self._write(upload, staged)
        return staged

    def fetch(self, remote_path: str, local_path: Path) -> None:
        """Copy a remote file (readable by the login user) to the laptop, atomically (temp + rename).

        Example: ``conn.fetch("build/checkpoints/x.Developer_CL.tar", Path("artifacts/x.tar"))``
        """
        local_path.parent.mkdir(parents=True, exist_ok=True)
        partial = local_path.with_name(f".{local_path.name}.partial")
        with self._lock:
            try:
                self._sftp().get(remote_path, str(partial))
            except (paramiko.SSHException, EOFError) as err:
                raise self._lost(err) from None
            except OSError as err:
                partial.unlink(missing_ok=True)
                raise OSError(f"{self.target.describe()}: cannot fetch {remote_path}: {err}") from None
        os.replace(partial, local_path)

    def _sftp(self) -> paramiko.SFTPClient:
        try:
            return self.fabric.sftp()  # fabric keeps one SFTP session per connection
        except (paramiko.SSHException, EOFError, OSError) as err:
            raise self._lost(err) from None

    def _write(self, upload: Upload, remote_path: str) -> None:
        """Stream the content to ``remote_path``, made 0600 before any byte is written."""
        with self._lock:
            sftp = self._sftp()
            try:
                with sftp.open(remote_path, "wb") as remote:
                    remote.chmod(0o600)
                    remote.set_pipelined(True)
                    if upload.local_path is not None:
                        with open(upload.local_path, "rb") as local:
                            while chunk := local.read(1 << 20):
                                remote.write(chunk)
                    else:
                        remote.write(upload.content or b"")
            except (paramiko.SSHException, EOFError) as err:
                raise self._lost(err) from None
            except OSError as err:
                if not self.alive:
                    raise self._lost(err) from None
                raise OSError(f"{self.target.describe()}: cannot write {remote_path}: {err}") from None


def move_into_place(staged: str, destination: str) -> str:
    """The shell command moving a staged upload to its destination, or removing it (run as root, or as
    the login user when the destination is the user's).

    Copies of the same upload left staged by an interrupted run (same name after the random
    prefix) are removed with it, so a rerun leaves no partial file behind.
    Example: ``conn.run(move_into_place(conn.stage(upload), upload.remote_path), sudo=True)``
    """
    folder, name = os.path.split(staged)
    leftovers = f"{shlex.quote(folder)}/*-{shlex.quote(name.split('-', 1)[-1])}"
    return (f"mv -f {shlex.quote(staged)} {shlex.quote(destination)} && rm -f -- {leftovers} || "
            f"{{ rm -f {shlex.quote(staged)}; exit 1; }}")


def _start_stdin_writer(channel: paramiko.Channel, stdin: bytes | None) -> threading.Thread | None:
    """Send ``stdin`` then EOF; in a thread when there is data, so a chatty command cannot deadlock us."""
    if not stdin:
        channel.shutdown_write()
        return None

    def feed() -> None:
        try:
            channel.sendall(stdin)
            channel.shutdown_write()
        except (OSError, EOFError, paramiko.SSHException):
            pass  # the command exited early or the connection dropped: the reader reports it

    writer = threading.Thread(target=feed, name="fpgaops-stdin", daemon=True)
    writer.start()
    return writer


class _BecomeDialog:
    """sudo's side of a command: answer its prompt once, then wait for the marker the script prints."""

    def __init__(self, marker: str, prompt: str, target: SshTarget) -> None:
        self.marker = (marker + "\n").encode()
        self.prompt = prompt.encode()
        self.target = target
        self.answered = False
        self.done = False

    def step(self, channel: paramiko.Channel, out: bytearray, err: bytearray) -> None:
        if self.prompt in err:
            if self.answered:
                channel.close()
                raise BecomeFailed(self.target.name, (
                    f"{self.target.describe()}: sudo refused the password in ansible_become_password: "
                    f"set the right one for user {self.target.user}."))
            channel.sendall((self.target.become_password or "").encode() + b"\n")
            self.answered = True
            del err[: err.index(self.prompt) + len(self.prompt)]
        if out.startswith(self.marker):
            del out[: len(self.marker)]
            err.clear()  # sudo's lecture and "Sorry, try again" lines are not the command's
            self.done = True

    def fail(self, err: bytes, status: int) -> None:
        """The command ended before sudo let it start: say why."""
        said = err.decode("utf-8", "replace").strip() or f"exit status {status}"
        if "password is required" in said:
            advice = "set ansible_become_password for this host (or give the user NOPASSWD sudo)"
        else:
            advice = f"check that {self.target.user} may run commands as root with sudo"
        raise BecomeFailed(self.target.name, f"{self.target.describe()}: sudo failed: {said}. {advice}.")


# --- the pool ----------------------------------------------------------------------------------


class ConnectionPool:
    """Connections by host name, opened on first use and kept until ``close()``; thread-safe.

    Args:
        accept_new: record the key of a host with no entry in its known_hosts file (never a changed key).
        ssh_config_path: the OpenSSH client config to honour (``~/.ssh/config``); None for none.
        hosts: inventory hosts by name, so a ProxyJump hop naming one connects as the inventory says.

    Example::

        with ConnectionPool(hosts=inventory.hosts) as pool:
            result = pool.get(inventory.host("f1-a")).run("fpga-describe-local-image -S 0", sudo=True)
    """

    def __init__(self, *, accept_new: bool = False, ssh_config_path: Path | None = DEFAULT_SSH_CONFIG,
                 hosts: Mapping[str, Host] | None = None) -> None:
        self.accept_new = accept_new
        self.ssh_config = load_ssh_config(ssh_config_path)
        self.hosts = dict(hosts or {})
        self._connections: dict[str, HostConnection] = {}
        self._jumps: dict[SshTarget, HostConnection] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> ConnectionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, host: Host) -> HostConnection:
        """The open connection to ``host``, opening it (again, if it dropped) on first use.

        Raises HostUnreachable, AuthenticationFailed, HostKeyUnknown or HostKeyChanged.
        """
        self.hosts.setdefault(host.name, host)
        with self._lock:
            lock = self._locks.setdefault(host.name, threading.Lock())
        with lock:
            target = resolve_target(host, self.ssh_config)
            current = self._connections.get(host.name)
            if current is not None and current.alive and current.target == target:
                current.target = target  # a new become password may have come with the host
                return current
            if current is not None:
                current.close()
            self._connections[host.name] = self._open(target, depth=0)
            return self._connections[host.name]

    def commands_run(self) -> dict[str, int]:
        """Remote commands run so far, by host name (jump hosts not included)."""
        return {name: conn.commands_run for name, conn in self._connections.items()}

    def close(self) -> None:
        """Close every connection: targets first, then the jump hosts they went through."""
        with self._lock:
            connections = list(self._connections.values()) + list(self._jumps.values())
            self._connections.clear()
            self._jumps.clear()
        for connection in connections:
            connection.close()

    def _jump(self, chain: str, via: SshTarget, depth: int) -> HostConnection:
        """The connection to the last hop of a ProxyJump ``chain`` (``a,b``: b, itself reached through a)."""
        *before, hop = [part.strip() for part in chain.split(",")]
        if depth > MAX_JUMPS:
            raise HostUnreachable(via.name, f"{via.describe()}: ProxyJump chain too long (a loop?) at {hop}")
        known = self.hosts.get(hop)
        target = resolve_target(known, self.ssh_config) if known else resolve_hop(hop, via, self.ssh_config)
        if before:
            target = dataclasses.replace(target, proxy_jump=",".join(before))
        with self._lock:
            lock = self._locks.setdefault(f"jump {target.describe()}", threading.Lock())
        with lock:
            current = self._jumps.get(target)
            if current is None or not current.alive:
                current = self._jumps[target] = self._open(target, depth + 1)
            return current

    def _open(self, target: SshTarget, depth: int) -> HostConnection:
        """Connect, checking the host key, then tune the transport for many short commands."""
        sock = None
        via = ""
        if target.proxy_jump and target.proxy_jump.lower() != "none":
            jump = self._jump(target.proxy_jump, target, depth)
            via = f" through {jump.target.describe()}"
            sock = self._tunnel(jump, target)
        connect_kwargs: dict[str, object] = {"banner_timeout": target.connect_timeout_s,
                                             "auth_timeout": target.connect_timeout_s}
        if target.key_files:  # given keys only, as IdentitiesOnly: an agent's many keys trip MaxAuthTries
            connect_kwargs |= {"key_filename": list(target.key_files), "look_for_keys": False, "allow_agent": False}
        if sock is not None:
            connect_kwargs["sock"] = sock
        config = Config(overrides={"run": {"in_stream": False, "hide": True}, "load_ssh_configs": False})
        fabric_connection = Connection(target.address, user=target.user, port=target.port, config=config,
                                       gateway=False, connect_timeout=max(1, round(target.connect_timeout_s)),
                                       connect_kwargs=connect_kwargs)
        client = fabric_connection.client
        if target.known_hosts.is_file():
            client.load_host_keys(str(target.known_hosts))
        client.set_missing_host_key_policy(_HostKeyPolicy(target, self.accept_new or target.accept_new))
        try:
            fabric_connection.open()
        except SshError:
            fabric_connection.close()
            raise
        except Exception as err:
            fabric_connection.close()
            raise _connect_error(target, err, via) from None
        transport = fabric_connection.transport
        transport.set_keepalive(KEEPALIVE_S)
        if isinstance(transport.sock, socket.socket):
            transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return HostConnection(target, fabric_connection)

    def _tunnel(self, jump: HostConnection, target: SshTarget) -> paramiko.Channel:
        try:
            return jump.fabric.transport.open_channel("direct-tcpip", (target.address, target.port), ("", 0),
                                                      timeout=target.connect_timeout_s)
        except (paramiko.SSHException, EOFError, OSError) as err:
            raise HostUnreachable(target.name, (
                f"{target.describe()}: unreachable through the jump host {jump.target.describe()} ({err}). "
                f"Check that the jump host can reach {target.address}:{target.port}.")) from None


_NO_ROUTE = re.compile(r"no route|unreachable|network is down", re.IGNORECASE)


def _connect_error(target: SshTarget, err: Exception, via: str) -> SshError:
    """The exception to raise for a failed connect, with a message that says what to do."""
    where = target.describe() + via
    if isinstance(err, paramiko.BadHostKeyException):
        return HostKeyChanged(target.name, (
            f"{where}: HOST KEY CHANGED. {target.known_hosts} holds {err.expected_key.get_name()} "
            f"{_fingerprint(err.expected_key)} for {target.known_hosts_name}, the host now offers "
            f"{_fingerprint(err.key)}. This can be a man-in-the-middle attack, or the host was rebuilt. "
            f"If you know it was rebuilt, remove the old entry (`ssh-keygen -R '{target.known_hosts_name}' "
            f"-f {target.known_hosts}`) and connect again."))
    if isinstance(err, paramiko.AuthenticationException):
        keys = ", ".join(target.key_files) or "the SSH agent's and ~/.ssh's default keys"
        return AuthenticationFailed(target.name, (
            f"{where}: authentication failed for user {target.user} with {keys}. Check ansible_user and "
            f"ansible_ssh_private_key_file, and that the public key is in ~{target.user}/.ssh/authorized_keys "
            f"on the host."))
    if isinstance(err, socket.timeout | TimeoutError):
        reason = f"no answer within {target.connect_timeout_s:g} s"
    elif isinstance(err, socket.gaierror):
        reason = f"the name {target.address} does not resolve"
    elif isinstance(err, paramiko.ssh_exception.NoValidConnectionsError | ConnectionRefusedError):
        reason = f"connection refused on port {target.port}"
    elif isinstance(err, OSError) and _NO_ROUTE.search(str(err)):
        reason = "no route to the host"
    else:
        reason = str(err) or type(err).__name__
    return HostUnreachable(target.name, (
        f"{where} is unreachable: {reason}. Check that the host is running, that ansible_host (or the "
        f"ssh_config HostName) is its address, and that nothing blocks port {target.port}."))
