"""Facts about FPGA slots: what each slot holds, as ``fpga-describe-local-image -S n -R -H`` says.

Read as root (the tools need it).  The reading is a value even when the tools are not installed
yet (first run, or check mode before ``sdk_setup.sh``) or fail (no FPGA, no such slot): the
operation that reads it decides what that means.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fpgaops.core import Fact
from fpgaops.fpga_slots import FpgaToolsError, SlotImage, ToolError, parse_describe, parse_error

TOOLS_MISSING = 127  # the shell's status for a command not found


@dataclass(frozen=True)
class SlotsReading:
    """The slots read: ``images`` (slot -> SlotImage), or why they could not be (tools missing, a tool error)."""

    images: dict[int, SlotImage] = field(default_factory=dict)
    tools_missing: bool = False
    error: str | None = None  # what went wrong, and what to do
    tool_error: ToolError | None = None


def describe_command(slots: tuple[int, ...]) -> str:
    """The sh command describing ``slots`` (all the host's slots when empty), stopping at the first failure."""
    check = f"command -v fpga-describe-local-image >/dev/null 2>&1 || exit {TOOLS_MISSING}\n"
    describe = 'fpga-describe-local-image -S "$s" -R -H 2>&1 || exit $?'
    if slots:
        return check + f"for s in {' '.join(str(int(s)) for s in slots)}; do {describe}; done"
    return check + (
        "out=$(fpga-describe-local-image-slots 2>&1) || { rc=$?; printf '%s\\n' \"$out\"; exit $rc; }\n"
        "for s in $(printf '%s\\n' \"$out\" | awk '$1 == \"AFIDEVICE\" {print $2}' | sort -nu); "
        f"do {describe}; done")


def read_slots(output: str, status: int) -> SlotsReading:
    """The SlotsReading of ``describe_command``'s output and exit status."""
    if status == TOOLS_MISSING:
        return SlotsReading(tools_missing=True)
    if status != 0:
        tool_error = parse_error(output)
        what = tool_error.message if tool_error else f"exit status {status}: {output.strip()[-300:]!r}"
        return SlotsReading(error=f"reading the FPGA slots failed: {what}", tool_error=tool_error)
    if not output.strip():
        return SlotsReading()  # a host without FPGA slots
    try:
        return SlotsReading(images=parse_describe(output))
    except FpgaToolsError as err:
        return SlotsReading(error=str(err))


@dataclass(frozen=True)
class FpgaSlots(Fact[SlotsReading]):
    """What each of ``slots`` holds (every slot of the host when ``slots`` is empty).

    Args: slots: slot numbers, e.g. ``(0,)``; ``()`` for the slots ``fpga-describe-local-image-slots`` lists.
    Example: ``FpgaSlots((0,))`` -> ``SlotsReading(images={0: SlotImage(0, "agfi-0fcf...", "loaded", ...)})``
    """

    name = "fpga_slots"
    needs_root = True
    slots: tuple[int, ...] = ()

    def command(self) -> str:
        return describe_command(self.slots)

    def process(self, output: str, status: int) -> SlotsReading:
        return read_slots(output, status)
