"""Sandbox hosts: real OpenSSH servers, each in its own namespaces, started and stopped by PID.

A host is ``host_init.sh`` run as PID 1 of fresh mount/uts/ipc/pid namespaces inside the
host's own network namespace; it lays overlays over this machine's base system (the host's
"AMI"), creates the login user with passwordless sudo and key-only login, then becomes sshd.
Its writable layers live in ``<state>/hosts/<name>/up`` and survive a stop, like an EBS root
volume; /run and /tmp do not, like a real instance's.

A host with FPGA slots sees ``<state>/hosts/<name>/fpga-card/devices`` as its
``/sys/bus/pci/devices``: the loaded slots' PCI device files, served by the FPGA card stand-in
(``fpgaops.sandbox.card``). A stop empties it, as a real FPGA loses its image.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fpgaops.fpga_platform import DEFAULT_AMI, developer_ami, shells_of
from fpgaops.sandbox import network
from fpgaops.sandbox.ami_layer import ami_layers
from fpgaops.sandbox.config import SandboxConfig
from fpgaops.sandbox.errors import SandboxError
from fpgaops.sandbox.processes import end_process, listening, read_pid
from fpgaops.sandbox.systemctl_standin import compiled_standin

HOST_INIT = Path(__file__).with_name("host_init.sh")
JOURNALCTL = Path(__file__).with_name("journalctl.sh")
OVERLAY_DIRS = ("etc", "opt", "home", "root", "srv", "var", "usr")
SSH_PORT = 22
FPGA_CARD_DIR = "fpga-card"  # see fpgaops.sandbox.card.cards
PCI_DEVICES = "/sys/bus/pci/devices"
START_TIMEOUT_S = 30.0  # generous: a loaded 2-core CI machine can be slow to fork sshd

SSHD_CONFIG = """\
# fpgaops sandbox host {name}
ListenAddress 0.0.0.0:{port}
HostKey /run/sandbox-host/hostkey
PidFile /run/sshd.pid
UsePAM no
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UseDNS no
PrintMotd no
MaxStartups 200
MaxSessions 100
ClientAliveInterval 30
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
"""


class HostError(SandboxError):
    """A sandbox host could not be started or stopped."""


@dataclass(frozen=True)
class HostSpec:
    """What a sandbox host is: its name, address, login user and FPGA slots.

    ``role`` is ``dev``, ``fpga`` or ``errgen`` for the static topology, ``instance`` for hosts
    that back instances launched through the local AWS endpoint.
    """

    name: str  # also the host's directory and network namespace
    address: str
    role: str
    login_user: str
    fpga_platform: str | None = None
    fpga_slots: int = 0
    dev_ami: bool = True  # the FPGA Developer AMI layer (vendor tool stand-ins) is overlaid
    ami: str = DEFAULT_AMI  # which FPGA Developer AMI of the platform table (its tool versions)
    instance_id: str | None = None
    authorized_keys: tuple[str, ...] = ()
    hostname: str = ""  # defaults to name; instances get EC2-style ip-10-200-0-101
    boot_scripts: dict[str, str] = field(default_factory=dict)  # run as root at boot, in name order
    files: tuple[str, ...] = ()  # laptop files the boot scripts need, at /run/sandbox-host/files/


@dataclass(frozen=True)
class HostState:
    """What ``status`` shows for one host."""

    spec: HostSpec
    running: bool
    pid: int | None
    host_public_key: str


def ssh_keygen(path: Path, comment: str) -> None:
    """Write a new ed25519 key pair at ``path`` / ``path.pub`` unless one is there."""
    if not path.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                       check=True)


class SandboxHosts:
    """Start, stop, list and remove the hosts of one sandbox."""

    def __init__(self, cfg: SandboxConfig):
        self.cfg = cfg
        self._children: dict[str, subprocess.Popen] = {}  # reaped when we stop them

    def host_dir(self, name: str) -> Path:
        return self.cfg.hosts_dir / name

    # -- reading -----------------------------------------------------------------------------
    def spec(self, name: str) -> HostSpec:
        data = json.loads((self.host_dir(name) / "spec.json").read_text())
        data["authorized_keys"] = tuple(data["authorized_keys"])
        data["files"] = tuple(data["files"])
        return HostSpec(**data)

    def names(self) -> list[str]:
        if not self.cfg.hosts_dir.exists():
            return []
        return sorted(p.parent.name for p in self.cfg.hosts_dir.glob("*/spec.json"))

    def pid(self, name: str) -> int | None:
        """The PID of the host's init process, if it is running."""
        return read_pid(self.host_dir(name) / "pid", str(HOST_INIT), str(self.host_dir(name)))

    def host_public_key(self, name: str) -> str:
        path = self.host_dir(name) / "hostkey.pub"
        return path.read_text().strip() if path.exists() else ""

    def states(self) -> list[HostState]:
        out = []
        for name in self.names():
            pid = self.pid(name)
            out.append(HostState(self.spec(name), pid is not None, pid, self.host_public_key(name)))
        return out

    def used_addresses(self) -> set[str]:
        return {self.spec(n).address for n in self.names()}

    # -- starting ----------------------------------------------------------------------------
    def start(self, specs: list[HostSpec], *, fresh: bool = True) -> None:
        """Start hosts in parallel and return once every one answers on its SSH port.

        ``fresh`` drops the writable layers of a previous run (static hosts start clean);
        instances being started again keep theirs (``fresh=False``), as an EBS volume does.
        """
        specs = [s for s in specs if self.pid(s.name) is None]
        if not specs:
            return
        systemctl = compiled_standin(self.cfg.state_dir)  # once for all the hosts
        for spec in specs:
            self._prepare(spec, systemctl, fresh=fresh)
        network.ensure_bridge(self.cfg)
        network.add_host_links(self.cfg, {s.name: s.address for s in specs})
        for spec in specs:
            self._spawn(spec)
        self._wait_listening(specs)

    def _prepare(self, spec: HostSpec, systemctl: str, *, fresh: bool) -> None:
        hdir = self.host_dir(spec.name)
        if fresh:
            for sub in ("up", "wk"):
                shutil.rmtree(hdir / sub, ignore_errors=True)
        shutil.rmtree(hdir / FPGA_CARD_DIR, ignore_errors=True)  # FPGAs boot cleared
        hdir.mkdir(parents=True, exist_ok=True)
        (hdir / "spec.json").write_text(json.dumps(asdict(spec), indent=2) + "\n")
        ssh_keygen(hdir / "hostkey", f"root@{spec.name}")
        (hdir / "sshd_config").write_text(SSHD_CONFIG.format(name=spec.name, port=SSH_PORT))
        (hdir / "authorized_keys").write_text("".join(k.strip() + "\n" for k in spec.authorized_keys))
        (hdir / "host.json").write_text(json.dumps(self._host_facts(spec), indent=2) + "\n")
        layers = " ".join(map(str, ami_layers(self.cfg.state_dir / "ami", developer_ami(spec.ami)))) \
            if spec.dev_ami else ""
        (hdir / "host.env").write_text(
            f"HOST_NAME='{spec.hostname or spec.name}'\nLOGIN_USER='{spec.login_user}'\n"
            f"OVERLAY_DIRS='{' '.join(OVERLAY_DIRS)}'\nAMI_LAYERS='{layers}'\n"
            f"SYSTEMCTL_PY='{systemctl}'\nJOURNALCTL_SH='{JOURNALCTL}'\n"
            f"FPGA_SLOTS='{spec.fpga_slots}'\n"
        )
        boot = hdir / "boot.d"
        shutil.rmtree(boot, ignore_errors=True)
        boot.mkdir()
        for script_name, content in spec.boot_scripts.items():
            (boot / script_name).write_text(content)
        shutil.rmtree(hdir / "files", ignore_errors=True)
        (hdir / "files").mkdir()
        for source in spec.files:
            shutil.copy(source, hdir / "files")

    def _host_facts(self, spec: HostSpec) -> dict:
        """/run/sandbox/host.json: what the stand-ins on the host need to know about it."""
        return {
            "name": spec.name,
            "platform": spec.fpga_platform,
            "ami": spec.ami if spec.dev_ami else None,
            "shells": [shell.version for shell in shells_of(spec.fpga_platform)] if spec.fpga_platform else [],
            "fpga_slots": spec.fpga_slots,
            "endpoint_url": self.cfg.endpoint_url_for_hosts,
            "region": self.cfg.region,
            "instance_id": spec.instance_id,
            "timings": asdict(self.cfg.timings),
            **({"fpga_card": {"pci_devices": PCI_DEVICES}} if spec.fpga_slots else {}),
        }

    def _spawn(self, spec: HostSpec) -> None:
        hdir = self.host_dir(spec.name)
        ns = network.netns_name(self.cfg, spec.name)
        cmd = ["nsenter", f"--net=/run/netns/{ns}",
               "unshare", "--mount", "--uts", "--ipc", "--pid", "--fork", "--mount-proc",
               "--propagation", "private", "--kill-child",
               "/bin/sh", str(HOST_INIT), str(hdir)]
        with open(hdir / "console.log", "wb") as console:
            child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self._children[spec.name] = child
        (hdir / "pid").write_text(f"{child.pid}\n")

    def _wait_listening(self, specs: list[HostSpec]) -> None:
        waiting = {s.name: s for s in specs}
        deadline = time.monotonic() + START_TIMEOUT_S
        while waiting:
            for name, spec in list(waiting.items()):
                if listening(spec.address, SSH_PORT):
                    del waiting[name]
                elif self._children[name].poll() is not None or time.monotonic() > deadline:
                    console = (self.host_dir(name) / "console.log").read_text(errors="replace")
                    self.stop([n for n in (s.name for s in specs)])
                    raise HostError(f"sandbox host {name} did not start:\n{console.strip()}")
            if waiting:
                time.sleep(0.01)

    # -- stopping ----------------------------------------------------------------------------
    def stop(self, names: list[str]) -> None:
        """Stop hosts (their disks stay): kill each one's init by PID, then its network."""
        links = {}
        for name in names:
            # unshare --kill-child takes the namespace's PID 1 (and everything in it) along
            child = self._children.pop(name, None)
            if child is not None:  # ours: its handle is surer than any PID file
                child.kill()
                child.wait()
            elif (pid := self.pid(name)) is not None:
                end_process(pid, str(HOST_INIT), str(self.host_dir(name)), sig=signal.SIGKILL)
            (self.host_dir(name) / "pid").unlink(missing_ok=True)
            shutil.rmtree(self.host_dir(name) / FPGA_CARD_DIR, ignore_errors=True)  # the FPGAs lose their image
            if (self.host_dir(name) / "spec.json").exists():
                links[name] = self.spec(name).address
        network.remove_host_links(self.cfg, links)

    def remove(self, names: list[str]) -> None:
        """Stop hosts and delete everything they had (terminate)."""
        self.stop(names)
        for name in names:
            shutil.rmtree(self.host_dir(name), ignore_errors=True)
