"""``up``, ``status`` and ``down`` of the whole sandbox: endpoint, hosts, network, written files."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from fpgaops.fpga_platform import DEFAULT_REF, RELEASES
from fpgaops.sandbox import inventory_file, network
from fpgaops.sandbox.config import SandboxConfig
from fpgaops.sandbox.endpoint_process import EndpointProcess
from fpgaops.sandbox.errors import SandboxError
from fpgaops.sandbox.hosts import HostState, SandboxHosts, ssh_keygen
from fpgaops.sandbox.processes import processes_mentioning
from fpgaops.sandbox.sdk_archive import build_sdk_archive
from fpgaops.sandbox.topology import static_specs

# command -> the Debian package that provides it
REQUIRED_COMMANDS = {
    "sshd": "openssh-server", "ssh-keygen": "openssh-client", "sudo": "sudo", "crontab": "cron",
    "ip": "iproute2", "unshare": "util-linux", "nsenter": "util-linux", "setpriv": "util-linux",
}
STAND_IN_NOTICE = ("fpgaops sandbox: a local stand-in for AWS (moto endpoint, namespace hosts, "
                   "FPGA and vendor tool stand-ins). Nothing here runs on AWS or on an FPGA.")


def require_root() -> None:
    if os.geteuid() != 0:
        raise SandboxError("the sandbox needs root: it creates network namespaces, a bridge and overlay "
                           "mounts. Run it as root, e.g. `sudo .venv/bin/fab sandbox.up`.")


def require_commands() -> None:
    missing = {cmd: pkg for cmd, pkg in REQUIRED_COMMANDS.items()
               if shutil.which(cmd) is None and not os.path.exists(f"/usr/sbin/{cmd}")}
    if missing:
        packages = " ".join(sorted(set(missing.values())))
        raise SandboxError(f"missing commands: {', '.join(missing)}; install them with "
                           f"`apt-get install {packages}` (scripts/setup does it)")


@dataclass(frozen=True)
class SandboxStatus:
    """What ``status`` reports."""

    cfg: SandboxConfig
    endpoint_pid: int | None
    hosts: list[HostState]
    links: list[str]
    namespaces: list[str]
    processes: list[int]  # every live process whose command line names the state directory


def up(cfg: SandboxConfig, static_hosts: list[tuple[str, ...]], *, cloud: bool = True) -> SandboxStatus:
    """Bring the sandbox up (idempotent: what runs already is left alone) and return its status."""
    require_root()
    require_commands()
    cfg.save()
    ssh_keygen(cfg.client_key, "fpgaops-sandbox")
    network.ensure_bridge(cfg)
    endpoint = EndpointProcess(cfg)
    if cloud:
        endpoint.start()  # imports moto for a second or two: overlap that with the hosts
    for entry in RELEASES:  # one per release of the platform table: -e aws_fpga_sdk_archive=... picks another
        build_sdk_archive(cfg.artifacts_dir, entry.ref)
    sdk_archive = build_sdk_archive(cfg.artifacts_dir, DEFAULT_REF)
    hosts = SandboxHosts(cfg)
    specs = static_specs(cfg, static_hosts, cfg.client_key.with_suffix(".pub").read_text())
    hosts.start(specs)
    inventory_file.write_known_hosts(cfg, {s.address: hosts.host_public_key(s.name) for s in specs})
    inventory_file.write_inventory(cfg, specs, sdk_archive, cloud)
    inventory_file.write_ssh_config(cfg, specs)
    if cloud:
        endpoint.wait_ready()
    return status(cfg)


def status(cfg: SandboxConfig) -> SandboxStatus:
    """What runs now: the endpoint, every host (static and instance), the network pieces."""
    return SandboxStatus(cfg, EndpointProcess(cfg).pid(), SandboxHosts(cfg).states(),
                         network.sandbox_links(cfg), network.sandbox_namespaces(cfg),
                         processes_mentioning(str(cfg.state_dir)))


def down(cfg: SandboxConfig) -> SandboxStatus:
    """Stop everything the sandbox started and remove what it wrote (the client key stays)."""
    require_root()
    EndpointProcess(cfg).stop()
    hosts = SandboxHosts(cfg)
    hosts.remove(hosts.names())
    network.remove_bridge(cfg)
    inventory_file.remove_written_files(cfg)
    return status(cfg)
