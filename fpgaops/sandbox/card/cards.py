"""The FPGA cards of a sandbox's hosts: attach a slot's resource0, poll every attached slot from one thread.

Files (on this machine, under the sandbox's state directory)::

    hosts/<name>/fpga-card/devices/<DBDF>/{vendor,device,class,resource0}   the host's /sys/bus/pci/devices
    hosts/<name>/fpga-card/attached/slot<N>.json                            {"dbdf", "agfi", "region"}

The tool stand-in creates the device files and calls ``attach`` (through the endpoint's
``PUT /_sandbox/fpga-cards/<host>/<slot>``); a clear calls ``detach``. The ``attached`` records let
a restarted endpoint serve the slots again (``start``). A host that stops loses its ``fpga-card``
folder (``SandboxHosts.stop`` and ``host_init.sh``), and the poller drops slots whose resource0 is gone.

Polling: after a start the poller spins (yielding the GIL) for ``SPIN_S``, then sleeps
``IDLE_SLEEP_S`` between polls, and ``LONG_IDLE_SLEEP_S`` once no start came for ``LONG_IDLE_S``
(200 wake-ups a second instead of 1000 while the sandbox idles; a first start then waits up to
5 ms, far below the service's FPGA timeout); with no slot attached it sleeps until one is.
Host writes to read-only words are undone every ``MAINTAIN_S``.

Example::

    cards = FpgaCards(cfg.hosts_dir, DesignCatalogue(cache, finder)); cards.start()
    cards.attach("f2-a", 0, "0000:00:1e.0", "agfi-0123456789abcdef0", "us-east-1")
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import re
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from fpgaops.sandbox.card.designs import PREPARING, DesignCatalogue, DesignState
from fpgaops.sandbox.card.registers import CardRegisters
from rhythm_service import register_map as rm

log = logging.getLogger(__name__)

CARD_DIR = "fpga-card"
DBDF_RE = re.compile(r"0000:00:[0-9a-f]{2}\.0")
HOST_RE = re.compile(r"[a-z][a-z0-9-]{0,63}")
AGFI_RE = re.compile(r"agfi-[0-9a-f]{17}")
SPIN_S = 0.05  # keep answering within microseconds this long after the last start
IDLE_SLEEP_S = 0.001
LONG_IDLE_S = 1.0  # no start for this long: poll every LONG_IDLE_SLEEP_S instead
LONG_IDLE_SLEEP_S = 0.005
MAINTAIN_S = 0.02
CHECK_S = 0.5  # how often attached resource0 files are checked to still exist
ATTACH_WAIT_S = 120.0  # an attach waits this long for the design (the tool asks for it while loading)


def idle_pause(idle_s: float) -> float:
    """How long the poller sleeps when the last start was ``idle_s`` ago (0: only yield the GIL)."""
    if idle_s < SPIN_S:
        return 0.0
    return IDLE_SLEEP_S if idle_s < LONG_IDLE_S else LONG_IDLE_SLEEP_S


class CardError(ValueError):
    """An attach or detach that names no such host, slot or device file."""


@dataclass
class AttachedSlot:
    """One slot being served: its device file, mapping and registers."""

    host: str
    slot: int
    dbdf: str
    agfi: str
    region: str
    path: Path
    inode: tuple[int, int]
    mapping: mmap.mmap
    registers: CardRegisters

    def still_there(self) -> bool:
        """Whether resource0 is still the file that was mapped (not removed by a clear, stop or reload)."""
        try:
            st = os.lstat(self.path)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self.inode

    def close(self) -> None:
        self.registers.words.release()
        self.mapping.close()


class FpgaCards:
    """Every attached slot of a sandbox's hosts, served by one poller thread."""

    def __init__(self, hosts_dir: Path, designs: DesignCatalogue):
        self.hosts_dir = Path(hosts_dir)
        self.designs = designs
        self._lock = threading.Lock()
        self._slots: dict[tuple[str, int], AttachedSlot] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Serve again the slots recorded as attached (an endpoint restart), then start polling."""
        for record in sorted(self.hosts_dir.glob(f"*/{CARD_DIR}/attached/slot*.json")):
            host, slot = record.parents[2].name, int(record.stem[4:])
            try:
                data = json.loads(record.read_text())
                self.attach(host, slot, data["dbdf"], data["agfi"], data["region"])
            except (OSError, ValueError, KeyError, CardError) as error:
                log.warning("not serving %s slot %s again: %s", host, slot, error)
                record.unlink(missing_ok=True)
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll_forever, name="fpga-card-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and unmap every slot (their files and records stay)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            for attached in self._slots.values():
                attached.close()
            self._slots.clear()

    # -- attach / detach ---------------------------------------------------------------------
    def attach(self, host: str, slot: int, dbdf: str, agfi: str, region: str) -> DesignState:
        """Serve ``host``'s slot: map its resource0 and answer as the AGFI's design (0xFFFFFFFF without one).

        Waits for the design (the tool asks for it when the load starts, so it is usually ready).
        """
        device = self._device_dir(host, slot, dbdf)
        if not AGFI_RE.fullmatch(agfi):
            raise CardError(f"malformed global AFI id {agfi!r}")
        state = self.designs.wait(agfi, region, ATTACH_WAIT_S)
        if state.state == PREPARING:
            raise CardError(f"the design of {agfi} is still being prepared after {ATTACH_WAIT_S:.0f} s")
        path = device / "resource0"
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size != rm.ADDRESS_SPAN:
                raise CardError(f"{path} is not a regular file of {rm.ADDRESS_SPAN} bytes")
            mapping = mmap.mmap(fd, rm.ADDRESS_SPAN, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)
        registers = CardRegisters(mapping, state.design)
        attached = AttachedSlot(host, slot, dbdf, agfi, region, path, (st.st_dev, st.st_ino), mapping, registers)
        with self._lock:
            previous = self._slots.pop((host, slot), None)
            if previous is not None:
                previous.close()
            self._slots[(host, slot)] = attached
        self._write_record(host, slot, {"dbdf": dbdf, "agfi": agfi, "region": region})
        self._wake.set()
        log.info("%s slot %d (%s): %s %s", host, slot, dbdf, agfi, state.state)
        return state

    def detach(self, host: str, slot: int) -> bool:
        """Stop serving ``host``'s slot (a clear or a new load); True if it was served."""
        self._check_host_slot(host, slot)
        with self._lock:
            attached = self._slots.pop((host, slot), None)
            if attached is not None:
                attached.close()
        (self.hosts_dir / host / CARD_DIR / "attached" / f"slot{slot}.json").unlink(missing_ok=True)
        return attached is not None

    def _check_host_slot(self, host: str, slot: int) -> int:
        if not HOST_RE.fullmatch(host):
            raise CardError(f"bad host name {host!r}")
        try:
            spec = json.loads((self.hosts_dir / host / "spec.json").read_text())
        except (OSError, ValueError):
            raise CardError(f"no sandbox host {host}") from None
        slots = int(spec.get("fpga_slots") or 0)
        if not 0 <= slot < slots:
            raise CardError(f"host {host} has no FPGA slot {slot} ({slots} slots)")
        return slots

    def _device_dir(self, host: str, slot: int, dbdf: str) -> Path:
        self._check_host_slot(host, slot)
        if not DBDF_RE.fullmatch(dbdf):
            raise CardError(f"malformed PCI address {dbdf!r} (expected 0000:00:XX.0)")
        devices = self.hosts_dir / host / CARD_DIR / "devices"
        device = devices / dbdf
        for path in (devices, device):  # no symlinks: the card writes where the host's root points
            if not path.is_dir() or path.is_symlink():
                raise CardError(f"{host} has no PCI device {dbdf} ({path} is not a directory)")
        return device

    def _write_record(self, host: str, slot: int, data: dict[str, str]) -> None:
        records = self.hosts_dir / host / CARD_DIR / "attached"
        records.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = records / f".slot{slot}.json.part"
        partial.write_text(json.dumps(data) + "\n")
        partial.replace(records / f"slot{slot}.json")

    # -- polling -----------------------------------------------------------------------------
    def _poll_forever(self) -> None:
        last_start = last_maintain = last_check = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            gone: list[tuple[str, int]] = []
            with self._lock:  # held while polling: attach/detach never unmap a block being read
                blocks = [a.registers for a in self._slots.values()]
                if any([block.poll() for block in blocks]):  # a list: every slot is polled
                    last_start = now
                if now - last_maintain >= MAINTAIN_S:
                    for block in blocks:
                        block.maintain()
                    last_maintain = now
                if now - last_check >= CHECK_S:
                    gone = self._drop_removed()
                    last_check = now
            for host, slot in gone:
                log.info("%s slot %d: resource0 is gone (clear, reload or stop): not served any more", host, slot)
                (self.hosts_dir / host / CARD_DIR / "attached" / f"slot{slot}.json").unlink(missing_ok=True)
            if not blocks:
                self._wake.wait()
                self._wake.clear()
            else:
                time.sleep(idle_pause(now - last_start))

    def _drop_removed(self) -> list[tuple[str, int]]:
        """Unmap the slots whose resource0 is gone (hold the lock)."""
        gone = [key for key, attached in self._slots.items() if not attached.still_there()]
        for key in gone:
            self._slots.pop(key).close()
        return gone


__all__ = ["AttachedSlot", "CardError", "FpgaCards"]
