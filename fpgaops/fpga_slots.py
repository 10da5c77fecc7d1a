"""The AWS FPGA management tools' outputs, parsed: slots, loaded images, status and error codes.

``fpga-describe-local-image`` and ``fpga-describe-local-image-slots`` print fixed printf formats
(``fpga_local_cmd.c`` of aws-fpga, the same on F1 and F2); a failing tool prints
``Error: (N) name`` and exits with N modulo 256.  This module turns those texts into values and
each error code into a message saying what happened and what to do.  Source:
``../shared/research/aws-fpga-tools.md``.

Example::

    images = parse_describe(conn.run("fpga-describe-local-image -S 0 -R -H", sudo=True).stdout)
    images[0].holds("agfi-0fcf87119b8e97bf3")  # -> True when that AFI is loaded and healthy
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

AGFI_RE = re.compile(r"agfi-[0-9a-f]{17}")
SLOT_MAX = 8  # the tools refuse slot 8 and above ("fpga-image-slot must be less than 8")


@dataclass(frozen=True)
class ToolErrorCode:
    """One error code of the tools: its name and what to tell the user (what happened, what to do)."""

    code: int
    name: str
    message: str


# FPGA_ERR_* (positive, the FPGA's own) and the negative errnos the tools report, each with its advice.
ERROR_CODES: dict[int, ToolErrorCode] = {e.code: e for e in (
    ToolErrorCode(0, "ok", "no error"),
    ToolErrorCode(3, "busy", "the FPGA slot is busy with another load or clear: wait for it to finish "
                             "(fpga-describe-local-image shows busy) and run again"),
    ToolErrorCode(5, "invalid-afi-id", "the AGFI is unknown, not available yet (pending or failed), built for "
                                       "another FPGA platform, or not shared with this AWS account: check it "
                                       "with `fab status` (describe-fpga-images) and load its agfi- global id, "
                                       "not the afi- one"),
    ToolErrorCode(6, "afi-load-timeout", "the FPGA did not finish loading the AFI in time: clear the slot and "
                                         "load again; if it persists, stop and start the instance"),
    ToolErrorCode(12, "cl-id-mismatch", "the loaded design's PCI ids differ from the AFI's manifest: rebuild the "
                                        "DCP with matching pci_vendor_id/pci_device_id and create a new AFI"),
    ToolErrorCode(13, "cl-ddr-calib-failed", "the design's DDR memory calibration failed: clear the slot and load "
                                             "again; if it persists, the design or the instance is at fault"),
    ToolErrorCode(14, "unspecified-error", "the FPGA reported an unspecified error: clear the slot and load again"),
    ToolErrorCode(16, "shell-version-not-supported", "the AFI was built for another shell version than this "
                                                     "instance's (an F1 AFI on F2, or the reverse): rebuild it "
                                                     "for this platform"),
    ToolErrorCode(17, "afi-power-violation", "the design drew more power than allowed and was unloaded: "
                                             "reduce its power (clock, toggling) and rebuild"),
    ToolErrorCode(19, "hardware-busy", "the FPGA hardware is busy: wait a minute and run again"),
    ToolErrorCode(20, "pci-device-missing", "no FPGA on this host: is it an F1/F2 instance? "
                                            "fpga-describe-local-image-slots lists its slots"),
    ToolErrorCode(21, "afi-command-malformed", "the tools sent a malformed request: check the SDK version "
                                               "(aws_fpga_ref) matches the instance's platform"),
    ToolErrorCode(24, "software-problem", "the FPGA management software failed: stop and start the instance"),
    ToolErrorCode(25, "unresponsive", "the FPGA does not answer: stop and start the instance"),
    ToolErrorCode(-2, "No such file or directory", "this instance has no such FPGA slot: "
                                                   "fpga-describe-local-image-slots lists its slots"),
    ToolErrorCode(-13, "Permission denied", "the tools need root: run them with sudo"),
    ToolErrorCode(-22, "Invalid argument", "the tool was called with bad arguments (see its usage above)"),
    ToolErrorCode(-110, "Connection timed out", "the FPGA did not answer the request in time: run again; "
                                                "if it persists, stop and start the instance"),
)}

_ERROR_LINE = re.compile(r"^Error: \((-?\d+)\) (.*)$", re.MULTILINE)
_AFI_LINE = re.compile(r"^AFI +(\d+) +(.*\S) +([a-z-]+) +(-?\d+) +([a-z-]+) +(-?\d+) +(0x[0-9a-fA-F]+) *$")
_DEVICE_LINE = re.compile(r"^AFIDEVICE +(\d+) +(0x[0-9a-fA-F]+) +(0x[0-9a-fA-F]+) +([0-9a-fA-F:.]+) *$")
EMPTY_SLOT_LABELS = frozenset({"none", "No AFI"})  # F1, F2


class FpgaToolsError(RuntimeError):
    """A tool failed or printed something that is not its documented output (the message says what to do)."""


def check_agfi(value: object) -> str:
    """``value`` if it is an AFI global id (``agfi-`` and 17 hex digits), else ValueError saying what is wrong.

    Example: ``check_agfi("afi-0123...")`` -> ValueError: "... is a regional afi- id: load the agfi- global id"
    """
    text = str(value).strip() if value is not None else ""
    if AGFI_RE.fullmatch(text):
        return text
    hint = ("it is a regional afi- id: load the AFI's agfi- global id (FpgaImageGlobalId)"
            if text.startswith("afi-") else "expected agfi- followed by 17 lower-case hex digits")
    raise ValueError(f"{value!r} is not an AFI global id ({hint})")


def check_slot(value: object) -> int:
    """``value`` as a slot number 0..7, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        raise ValueError(f"FPGA slot {value!r} is not a slot number (0 to {SLOT_MAX - 1})")
    slot = int(value)
    if slot >= SLOT_MAX:
        raise ValueError(f"FPGA slot {slot} does not exist: slots are numbered 0 to {SLOT_MAX - 1}")
    return slot


def error_message(code: int) -> str:
    """``name: advice`` for a tool error code (exit status or ``Error: (N)``), or a generic line for others."""
    known = ERROR_CODES.get(code)
    if known is None:
        return f"error {code}: see the tool's output"
    return f"{known.name} ({code}): {known.message}"


@dataclass(frozen=True)
class ToolError:
    """A tool's ``Error: (code) name`` line."""

    code: int
    name: str

    @property
    def message(self) -> str:
        """What happened and what to do."""
        return error_message(self.code)


def parse_error(output: str) -> ToolError | None:
    """The last ``Error: (N) name`` line of a tool's output, or None when it has none."""
    found = _ERROR_LINE.findall(output)
    if not found:
        return None
    code, name = found[-1]
    return ToolError(int(code), name.strip())


@dataclass(frozen=True)
class SlotImage:
    """One slot as ``fpga-describe-local-image`` shows it: the AFI line and the application PF's device line.

    ``agfi`` is None for an empty slot (``none`` on F1, ``No AFI`` on F2).
    """

    slot: int
    agfi: str | None
    status: str
    status_code: int
    error: str
    error_code: int
    shell_version: str
    vendor_id: str | None = None
    device_id: str | None = None
    dbdf: str | None = None

    def holds(self, agfi: str) -> bool:
        """True when ``agfi`` is loaded here without error: nothing to do."""
        return self.status == "loaded" and self.agfi == agfi and self.error_code == 0

    @property
    def summary(self) -> str:
        """One phrase: ``loaded agfi-...``, ``cleared``, ``busy (loading agfi-...)``, with any error."""
        text = self.status if self.agfi is None else f"{self.status} {self.agfi}"
        return text if self.error_code == 0 else f"{text}, error {self.error} ({self.error_code})"


def parse_describe(output: str) -> dict[int, SlotImage]:
    """The slots in ``fpga-describe-local-image`` output (with or without -H, one or many slots): slot -> SlotImage.

    Raises FpgaToolsError when the output holds an ``Error:`` line or no AFI line.
    Example: ``parse_describe("AFI  0  No AFI  cleared  1  ok  0  0x10212415\\n...")[0].status`` -> "cleared"
    """
    error = parse_error(output)
    if error is not None:
        raise FpgaToolsError(f"fpga-describe-local-image failed: {error.message}")
    images: dict[int, SlotImage] = {}
    devices: dict[int, tuple[str, str, str]] = {}
    for line in output.splitlines():
        if match := _AFI_LINE.match(line):
            slot, label, status, status_code, error_name, error_code, shell = match.groups()
            images[int(slot)] = SlotImage(int(slot), None if label in EMPTY_SLOT_LABELS else label, status,
                                          int(status_code), error_name, int(error_code), shell)
        elif match := _DEVICE_LINE.match(line):
            devices.setdefault(int(match.group(1)), match.groups()[1:])
    if not images:
        raise FpgaToolsError(f"fpga-describe-local-image printed no AFI line: {output.strip()[:300]!r}")
    for slot, (vendor_id, device_id, dbdf) in devices.items():
        if slot in images:
            images[slot] = replace(images[slot], vendor_id=vendor_id, device_id=device_id, dbdf=dbdf)
    return images
