"""The AFIs of one account in one region, kept on moto's EC2 backend so that moto's reset clears them.

An AFI is created ``pending`` with the work that will settle it (ingesting a DCP tarball, or copying
another AFI). ``settle_due_images`` runs the work of every AFI whose pending time is over (an
unexpected error in it fails the AFI as AWS words an unclassified failure): a timer calls it when
that time comes, and every reader of AFIs calls it first, so that no read sees an AFI pending past
its time. All AFIs of all regions share one lock.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

log = logging.getLogger(__name__)

FPGA_IMAGES_LOCK = threading.RLock()
REGISTRY_ATTRIBUTE = "sandbox_fpga_images"  # the attribute of moto's EC2 backend holding the registry
# AWS's State.Message for an unclassified failure (seen on real failed AFIs)
UNEXPECTED_FAILURE = "UNKNOWN_BITSTREAM_GENERATE_ERROR: An unexpected error occurred generating the bitstream"


class PendingWork(Protocol):
    """What turns a pending AFI into an available or failed one."""

    def run(self, image: FpgaImage) -> None: ...


@dataclass
class FpgaImage:
    """One AFI as ``describe-fpga-images`` reports it, plus the work that settles it."""

    fpga_image_id: str
    fpga_image_global_id: str | None  # None while a copy is pending
    owner_id: str
    region: str
    name: str | None
    description: str | None
    tags: dict[str, str]
    pending_work: PendingWork | None
    ready_at: float  # time.monotonic() when the pending work is due
    state_code: str = "pending"
    state_message: str | None = None
    shell_version: str | None = None
    pci_id: dict[str, str] | None = None
    instance_types: list[str] = field(default_factory=list)
    load_permissions: list[dict[str, str]] = field(default_factory=list)
    create_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    update_time: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def public(self) -> bool:
        """Whether everyone may load it (load permission group ``all``)."""
        return {"Group": "all"} in self.load_permissions

    def settle(self, code: str, message: str | None = None) -> None:
        """Leave ``pending``: become ``available`` or ``failed`` (with the error in ``message``)."""
        self.state_code, self.state_message = code, message
        self.pending_work = None
        self.update_time = datetime.now(UTC)

    def describe(self) -> dict[str, Any]:
        """The ``FpgaImage`` structure of ``DescribeFpgaImages``."""
        state = {"Code": self.state_code}
        if self.state_message:
            state["Message"] = self.state_message
        found = {
            "FpgaImageId": self.fpga_image_id, "FpgaImageGlobalId": self.fpga_image_global_id,
            "Name": self.name, "Description": self.description, "ShellVersion": self.shell_version,
            "PciId": self.pci_id, "State": state, "CreateTime": self.create_time,
            "UpdateTime": self.update_time, "OwnerId": self.owner_id, "ProductCodes": [],
            "Tags": [{"Key": key, "Value": value} for key, value in self.tags.items()],
            "Public": self.public, "DataRetentionSupport": False, "InstanceTypes": self.instance_types,
        }
        return {key: value for key, value in found.items() if value is not None}


@dataclass
class FpgaImageRegistry:
    """The AFIs of one (account, region), and the client tokens already used there."""

    images: dict[str, FpgaImage] = field(default_factory=dict)
    client_tokens: dict[str, tuple[Any, str]] = field(default_factory=dict)  # token -> (request, AFI id)

    def add(self, image: FpgaImage) -> None:
        """Keep a new pending AFI, and settle it when its pending time is over."""
        with FPGA_IMAGES_LOCK:
            self.images[image.fpga_image_id] = image
        timer = threading.Timer(max(0.0, image.ready_at - time.monotonic()), settle_due_images, args=(self,))
        timer.daemon = True
        timer.start()

    def by_global_id(self, global_id: str) -> Iterator[FpgaImage]:
        """The AFIs of this region that share the global id ``global_id``."""
        return (image for image in self.images.values() if image.fpga_image_global_id == global_id)


def registry_of(ec2_backend: Any) -> FpgaImageRegistry:
    """The AFI registry of a moto EC2 backend (one account, one region), created on first use."""
    with FPGA_IMAGES_LOCK:
        registry = getattr(ec2_backend, REGISTRY_ATTRIBUTE, None)
        if registry is None:
            registry = FpgaImageRegistry()
            setattr(ec2_backend, REGISTRY_ATTRIBUTE, registry)
        return registry


def settle_due_images(registry: FpgaImageRegistry) -> None:
    """Run the pending work of every AFI of ``registry`` whose pending time is over."""
    with FPGA_IMAGES_LOCK:
        now = time.monotonic()
        for image in list(registry.images.values()):
            if image.pending_work is not None and image.ready_at <= now:
                work, image.pending_work = image.pending_work, None
                try:
                    work.run(image)
                except Exception:
                    log.exception("settling %s failed", image.fpga_image_id)
                    image.settle("failed", UNEXPECTED_FAILURE)


def new_afi_id() -> str:
    """A fresh regional AFI id: ``afi-`` and 17 hex digits."""
    return "afi-" + secrets.token_hex(9)[:17]


def new_agfi_id() -> str:
    """A fresh global AFI id: ``agfi-`` and 17 hex digits."""
    return "agfi-" + secrets.token_hex(9)[:17]
