"""The interface between the local AWS endpoint and whatever runs the hosts behind its EC2 instances.

Kept free of moto, so that a provider can be written and tested without importing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class InstanceHostSpec:
    """What the host of an instance must be."""

    instance_type: str
    platform: str | None  # "f1" | "f2" | None for a non-FPGA type
    fpga_slots: int
    login_user: str  # the AMI's default user, e.g. "ubuntu"
    authorized_keys: tuple[str, ...]  # OpenSSH lines of the instance's key pair
    region: str
    name: str  # the Name tag, or the instance id
    ami: str | None = None  # the platform table's FPGA Developer AMI version it was launched from, if one


@dataclass(frozen=True)
class LaunchedHost:
    """A running host: where to reach it and its SSH host keys."""

    address: str
    host_public_keys: tuple[str, ...]  # "ssh-ed25519 AAAA..." lines


class InstanceHostProvider(Protocol):
    """Runs the hosts behind EC2 instances."""

    def launch(self, instance_id: str, spec: InstanceHostSpec) -> LaunchedHost:
        """Create and start the host of a new instance."""

    def stop(self, instance_id: str) -> None:
        """Stop the host: its disk is kept, its FPGA state is lost."""

    def start(self, instance_id: str) -> LaunchedHost:
        """Start the host of a stopped instance again."""

    def terminate(self, instance_id: str) -> None:
        """Remove the host."""
