"""32-bit register access to a PCI BAR through sysfs, as the AWS SDK's ``fpga_pci_peek``/``fpga_pci_poke`` do it.

``fpga_pci_attach(slot, FPGA_APP_PF, APP_PF_BAR0, 0, &handle)`` opens
``/sys/bus/pci/devices/<DBDF>/resource0`` with ``O_RDWR | O_SYNC`` and maps it ``MAP_SHARED``;
peek and poke are then single aligned 32-bit loads and stores. ``PciBar`` does the same, through a
numpy ``uint32`` view of the mapping (numpy reads and writes an aligned element with one 4-byte
access, never byte by byte).

``find_app_pf`` finds a slot's application PF the way the SDK numbers slots: the Amazon
(vendor ``0x1d0f``) functions that are not mailbox (management) PFs, ordered by PCI address; slot
``n`` is the ``n``-th. The device id tells what is loaded (``0x9048`` F2 / ``0x1042`` F1 when the
slot is empty, the AFI's own id otherwise).

Example::

    dbdf = find_app_pf("/sys/bus/pci/devices", slot=0).dbdf       # '0000:00:1e.0'
    with PciBar.open("/sys/bus/pci/devices", dbdf) as bar:
        bar.poke(0x020, 0x1234_5678); hex(bar.peek(0x020))
"""

from __future__ import annotations

import mmap
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

AMAZON_VENDOR_ID = 0x1D0F
MAILBOX_DEVICE_IDS = frozenset({0x1041, 0x9148})  # F1 mailbox PF; the sandbox's F2 mailbox PF
EMPTY_SLOT_DEVICE_IDS = frozenset({0x1042, 0x9048})  # application PF with no AFI loaded: F1, F2
DBDF_RE = re.compile(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]")
DEFAULT_SIZE = 0x1000
NON_ROOT_HINT = (
    "run the service as root, or let its user map the device: install the SDK with "
    "AWS_FPGA_ALLOW_NON_ROOT=1 (its udev rule gives the fpgauser group read/write access to the "
    "slot's resource0) and add the service user to that group"
)


class PciError(OSError):
    """A PCI device or BAR that cannot be found, opened or accessed."""


@dataclass(frozen=True)
class PciFunction:
    """One PCI function in sysfs: its address and ids."""

    dbdf: str
    vendor_id: int
    device_id: int

    @property
    def empty_slot(self) -> bool:
        """True for an application PF whose slot has no AFI loaded."""
        return self.device_id in EMPTY_SLOT_DEVICE_IDS


def read_function(pci_root: str | Path, dbdf: str) -> PciFunction:
    """The vendor and device id of ``pci_root/<dbdf>`` (PciError if it is not there).

    Example: ``read_function("/sys/bus/pci/devices", "0000:00:1e.0").device_id`` -> ``0x9048``.
    """
    folder = Path(pci_root) / dbdf
    try:
        vendor = int((folder / "vendor").read_text().strip(), 16)
        device = int((folder / "device").read_text().strip(), 16)
    except (OSError, ValueError) as error:
        raise PciError(f"no PCI device {dbdf} under {pci_root} ({error})") from error
    return PciFunction(dbdf, vendor, device)


def app_functions(pci_root: str | Path) -> list[PciFunction]:
    """The FPGA application PFs under ``pci_root``, in slot order (PCI address order).

    Example: ``[f.dbdf for f in app_functions("/sys/bus/pci/devices")]`` -> ``['0000:00:1e.0']``.
    """
    root = Path(pci_root)
    if not root.is_dir():
        raise PciError(f"{root} does not exist: no PCI devices to search")
    found = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if not DBDF_RE.fullmatch(entry.name):
            continue
        try:
            function = read_function(root, entry.name)
        except PciError:
            continue
        if function.vendor_id == AMAZON_VENDOR_ID and function.device_id not in MAILBOX_DEVICE_IDS:
            found.append(function)
    return found


def find_app_pf(pci_root: str | Path, slot: int, device: str = "auto") -> PciFunction:
    """The application PF of FPGA ``slot``, or the function ``device`` names when it is not ``auto``.

    Args:
        pci_root: where sysfs lists PCI devices (``/sys/bus/pci/devices``).
        slot: the FPGA slot (0..7).
        device: ``auto`` or a PCI address such as ``0000:00:1e.0``.

    Example: ``find_app_pf("/sys/bus/pci/devices", 0).dbdf`` -> ``'0000:00:1e.0'``.
    """
    if device != "auto":
        if not DBDF_RE.fullmatch(device):
            raise PciError(f"FPGA_DEVICE {device!r} is not a PCI address like 0000:00:1e.0 (or 'auto')")
        return read_function(pci_root, device)
    functions = app_functions(pci_root)
    if not functions:
        raise PciError(f"no FPGA (PCI vendor 0x{AMAZON_VENDOR_ID:04x}) under {pci_root}: not an FPGA instance, "
                       "or the slot's device is gone (AFI being loaded or cleared)")
    if not 0 <= slot < len(functions):
        raise PciError(f"FPGA slot {slot} does not exist: {len(functions)} slot(s) here "
                       f"({', '.join(f.dbdf for f in functions)})")
    return functions[slot]


class PciBar:
    """A mapped PCI BAR with 32-bit ``peek``/``poke`` at byte offsets (4-byte aligned).

    Example: ``PciBar.open("/sys/bus/pci/devices", "0000:00:1e.0").peek(0)``.
    """

    def __init__(self, path: str | Path, size: int = DEFAULT_SIZE) -> None:
        self.path = Path(path)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_SYNC)
        except PermissionError as error:
            raise PciError(f"permission denied opening {self.path} for read/write: {NON_ROOT_HINT}") from error
        except FileNotFoundError as error:
            raise PciError(f"{self.path} does not exist: no such PCI device or BAR (is an AFI loaded?)") from error
        except OSError as error:
            raise PciError(f"cannot open {self.path}: {error}") from error
        try:
            available = os.fstat(fd).st_size
            if 0 < available < size:
                raise PciError(f"{self.path} is {available} bytes, the register block needs {size}")
            self._map = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except (OSError, ValueError) as error:
            raise PciError(f"cannot map {size} bytes of {self.path}: {error}") from error
        finally:
            os.close(fd)
        self.size = size
        self.words = np.frombuffer(self._map, dtype=np.uint32)  # aligned 32-bit words: one access each

    @classmethod
    def open(cls, pci_root: str | Path, dbdf: str, bar: int = 0, size: int = DEFAULT_SIZE) -> PciBar:
        """Map BAR ``bar`` (``resource<bar>``) of the PCI function ``dbdf`` under ``pci_root``.

        Example: ``PciBar.open("/sys/bus/pci/devices", "0000:00:1e.0")``.
        """
        return cls(Path(pci_root) / dbdf / f"resource{bar}", size)

    def _index(self, offset: int) -> int:
        if offset % 4 or not 0 <= offset < self.size:
            raise ValueError(f"register offset 0x{offset:x} is not 4-byte aligned inside the {self.size}-byte BAR")
        return offset >> 2

    def peek(self, offset: int) -> int:
        """The 32-bit word at byte ``offset``.

        Example: ``hex(bar.peek(0x000))`` -> ``'0xbea70001'``.
        """
        return int(self.words[self._index(offset)])

    def poke(self, offset: int, value: int) -> None:
        """Write the 32-bit ``value`` at byte ``offset``.

        Example: ``bar.poke(0x008, 1)``.
        """
        if not 0 <= value <= 0xFFFF_FFFF:
            raise ValueError(f"value {value} does not fit a 32-bit register")
        self.words[self._index(offset)] = value

    def close(self) -> None:
        """Unmap the BAR."""
        words, self.words = self.words, None
        del words
        self._map.close()

    def __enter__(self) -> PciBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
