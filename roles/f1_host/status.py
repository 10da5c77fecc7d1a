"""What every FPGA slot of a host holds, for ``fab fpga-status`` (read only: describe, never load or clear).

Example::

    with ConnectionPool(hosts=inventory.hosts) as pool:
        rows = [row for host in inventory.group_hosts("f1")
                for row in status_rows(host.name, fpga_status(pool.get(host)))]
"""

from __future__ import annotations

from typing import Protocol

from fpgaops.connection import Result
from fpgaops.facts.fpga import FpgaSlots
from fpgaops.fpga_slots import FpgaToolsError, SlotImage

STATUS_COLUMNS = ("host", "slot", "agfi", "status", "error", "device", "dbdf")


class Runs(Protocol):
    """What ``fpga_status`` needs of a connection (``connection.HostConnection``)."""

    def run(self, shell: str, sudo: bool = False, stdin: bytes | None = None) -> Result: ...


def fpga_status(connection: Runs) -> list[SlotImage]:
    """Every slot of the host, as ``fpga-describe-local-image -S n -R -H`` describes it (one remote command).

    Raises FpgaToolsError saying what to do when the tools are missing or fail.
    Example: ``fpga_status(pool.get(host))`` -> ``[SlotImage(0, "agfi-0fcf87119b8e97bf3", "loaded", ...)]``
    """
    fact = FpgaSlots(())
    result = connection.run(fact.command(), sudo=True)
    reading = fact.process(result.stdout, result.exit_code)
    if reading.tools_missing:
        raise FpgaToolsError("the FPGA management tools are not installed: run `fab provision` (role f1_host)")
    if reading.error:
        raise FpgaToolsError(reading.error)
    return [reading.images[slot] for slot in sorted(reading.images)]


def status_rows(host: str, images: list[SlotImage]) -> list[dict[str, str]]:
    """One row per slot (``STATUS_COLUMNS``), as text, for a table.

    Example: ``status_rows("f1-a", images)[0]`` -> ``{"host": "f1-a", "slot": "0", "agfi": "agfi-...", ...}``
    """
    return [{
        "host": host,
        "slot": str(image.slot),
        "agfi": image.agfi or "-",
        "status": image.status,
        "error": "" if image.error_code == 0 else f"{image.error} ({image.error_code})",
        "device": f"{image.vendor_id}:{image.device_id}" if image.vendor_id else "",
        "dbdf": image.dbdf or "",
    } for image in images]
