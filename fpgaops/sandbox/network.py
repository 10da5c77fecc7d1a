"""The sandbox's network: one bridge, one network namespace and veth pair per host.

Hosts live on ``10.200.<n>.0/24`` behind the bridge ``fpgaops<n>`` (whose address is the
``.1`` gateway); a blackhole route for the whole 10.200.0.0/16 makes sure nothing addressed
there can leave the machine.  Hosts get no default route: like instances in a private subnet,
they reach only the bridge (where the local AWS endpoint listens) and each other.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from fpgaops.sandbox.config import SANDBOX_SUPERNET, SandboxConfig
from fpgaops.sandbox.errors import SandboxError

NETNS_DIR = Path("/run/netns")


class NetworkError(SandboxError):
    """An `ip` command failed while setting up or tearing down sandbox networking."""


def _ip(*args: str, batch: str | None = None) -> str:
    """Run `ip` (with a batch of commands on stdin when given) and return its stdout."""
    cmd = ["ip", *args] if batch is None else ["ip", *args, "-batch", "-"]
    done = subprocess.run(cmd, input=batch, capture_output=True, text=True)
    if done.returncode != 0:
        raise NetworkError(f"`{' '.join(cmd)}` failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def netns_name(cfg: SandboxConfig, host: str) -> str:
    return f"{cfg.bridge}-{host}"


def veth_name(cfg: SandboxConfig, address: str) -> str:
    """The bridge-side veth of the host at ``address`` (at most 15 characters, as Linux needs)."""
    return f"fo{cfg.network_index}v{address.rsplit('.', 1)[1]}"


def host_mac(address: str) -> str:
    """A fixed, locally administered MAC for a host address.

    A host that stops and starts again keeps its address; with a fresh random MAC, the
    laptop's ARP cache would keep sending to the old one for half a minute.
    """
    octets = [int(part) for part in address.split(".")]
    return "02:00:" + ":".join(f"{o:02x}" for o in octets)


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def ensure_bridge(cfg: SandboxConfig) -> None:
    """Create the bridge with the gateway address, and the blackhole route, if missing."""
    _ip("route", "replace", "blackhole", SANDBOX_SUPERNET)
    if not link_exists(cfg.bridge):
        _ip(batch=(
            f"link add {cfg.bridge} type bridge\n"
            f"addr add {cfg.gateway}/24 dev {cfg.bridge}\n"
            f"link set {cfg.bridge} up\n"
        ))


def remove_bridge(cfg: SandboxConfig) -> None:
    """Delete the bridge (the blackhole route stays: it is harmless and shared)."""
    if link_exists(cfg.bridge):
        _ip("link", "del", cfg.bridge)


def add_host_links(cfg: SandboxConfig, hosts: dict[str, str]) -> None:
    """Give each host (name -> address) its network namespace, plugged into the bridge."""
    if not hosts:
        return
    outside = []
    for name, address in hosts.items():
        ns, veth = netns_name(cfg, name), veth_name(cfg, address)
        if (NETNS_DIR / ns).exists():
            remove_host_links(cfg, {name: address})
        outside += [
            f"netns add {ns}",
            f"link add {veth} type veth peer name eth0 address {host_mac(address)} netns {ns}",
            f"link set {veth} master {cfg.bridge} up",
        ]
    _ip(batch="\n".join(outside) + "\n")
    for name, address in hosts.items():
        _ip("-n", netns_name(cfg, name), batch=(
            f"addr add {address}/24 dev eth0\nlink set eth0 up\nlink set lo up\n"
        ))


def remove_host_links(cfg: SandboxConfig, hosts: dict[str, str]) -> None:
    """Delete the hosts' namespaces and veths, and wait until the kernel has let them go."""
    for name, address in hosts.items():
        ns = netns_name(cfg, name)
        if (NETNS_DIR / ns).exists():
            _ip("netns", "del", ns)
        veth = veth_name(cfg, address)
        if link_exists(veth):
            subprocess.run(["ip", "link", "del", veth], capture_output=True)
    deadline = time.monotonic() + 5
    while any(link_exists(veth_name(cfg, a)) for a in hosts.values()) and time.monotonic() < deadline:
        time.sleep(0.02)


def sandbox_links(cfg: SandboxConfig) -> list[str]:
    """The bridge and veths of this sandbox that exist now (for status and leak checks)."""
    prefix = f"fo{cfg.network_index}v"
    return sorted(p.name for p in Path("/sys/class/net").iterdir()
                  if p.name == cfg.bridge or p.name.startswith(prefix))


def sandbox_namespaces(cfg: SandboxConfig) -> list[str]:
    """The network namespaces of this sandbox that exist now."""
    if not NETNS_DIR.exists():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(f"{cfg.bridge}-"))
