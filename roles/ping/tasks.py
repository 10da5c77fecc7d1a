"""ping: is every selected host reachable over SSH, able to become root, and which package manager
does it have? Reads one batched fact reading per host and changes nothing, like `ansible -m ping`."""

from __future__ import annotations

from fpgaops.core import FactValues, Operation
from fpgaops.facts import PackageManager, PathExists
from fpgaops.inventory import Host
from fpgaops.runner import Role

ROOT_ONLY = "/root"  # readable only as root: its fact proves sudo works


def nothing_to_change(values: FactValues) -> None:
    """Ping only reads."""
    return None


def tasks(host: Host) -> list[Operation]:
    """The host's one step: connect, become root, read the package manager."""
    return [Operation("reach the host and become root", facts=(PathExists(ROOT_ONLY), PackageManager()),
                      plan=nothing_to_change, tags=("ping",))]


def role() -> Role:
    """The ping role, for every host of the inventory (``--limit`` narrows it)."""
    return Role("ping", tasks)
