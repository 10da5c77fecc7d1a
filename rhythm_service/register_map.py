"""The beat accelerator's registers on the OCL AXI-Lite BAR, written down once for both sides.

The Custom Logic (``templates/hls_model/beat_ocl_accelerator.sv.j2``, rendered by
``hls_model.cl_wrapper``) is generated from this module, and the service's FPGA backend drives
the card with it (``fpga_pci_peek``/``fpga_pci_poke`` on the application PF, BAR0 = OCL).

All registers are 32 bits wide, at byte offsets from the start of the OCL BAR; the block decodes
the first 4 KiB (``ADDRESS_SPAN``) and reads 0 elsewhere. Every access answers OKAY.

The number of inputs is the model's, not the map's: a model package's window of ``window_frames``
frames x ``len(features)`` features (its manifest's ``model`` section) is ``n`` = frames x features
INPUT registers, and the design reports ``n`` in INPUT_COUNT. The map has room for ``MAX_INPUTS``
(960: 0x100 to the end of the 4 KiB span); every function here that touches the inputs takes the
count from the caller (``package.window.inputs``, the IP's ``input_count``), none assumes one.

======  ===========  ====  ===============================================================
offset  name         acc.  meaning
======  ===========  ====  ===============================================================
0x000   DESIGN_ID    R     ``DESIGN_ID`` (0xBEA7_0001): "beat", register map version 1
0x004   MODEL_ID     R     first 32 bits of the sha256 of the model's ``weights.npz``
0x008   CONTROL      W     write bit 0 = 1: start an inference on INPUT[0..n-1] (reads 0)
0x00C   STATUS       R     bit 0 DONE (set when the output is captured, cleared by a start),
                           bit 1 BUSY (started, output not captured yet), bit 2 IDLE (ap_idle)
0x010   OUTPUT       R     the beat probability, fixed point (``output_format``), sign-extended
0x014   FORMAT       R     [7:0] input total bits, [15:8] input integer bits,
                           [23:16] output total bits, [31:24] output integer bits
0x018   INPUT_COUNT  R     ``n``, the number of inputs of the model (frames x features)
0x01C   CYCLES       R     clock cycles from the last start to its output (250 MHz clock)
0x020   SCRATCH      R/W   free for the host (check the BAR path: write, read back)
0x100   INPUT[k]     R/W   k = 0..n-1 at 0x100 + 4 k: element k of the normalised window,
                           ``window[k // features, k % features]`` (frame-major), fixed
                           point (``input_format``) in the low bits; reads back sign-extended
======  ===========  ====  ===============================================================

One inference: write the n INPUT registers, write 1 to CONTROL, poll STATUS until DONE,
read OUTPUT. The inputs are held in the registers, so an unchanged window needs no rewrite.

Fixed point: a value ``v`` with ``total`` bits of which ``integer`` (sign included) are integer
bits is the two's-complement integer ``floor(v * 2**(total - integer))``, saturated to the
range. Truncation (not rounding) is what ap_fixed's default quantization does, so the host's
encoding equals the hls4ml C emulation's conversion of the same float, bit for bit.

Pure Python, no dependencies.

Example::

    from rhythm_service import register_map as rm
    fmt = rm.FixedPoint(16, 6)
    writes = rm.input_writes(window, fmt, package.window.inputs)   # [(0x100, word), (0x104, word), ...]
    probability = rm.decode_output(peek(rm.OUTPUT), fmt)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

REGISTER_MAP_VERSION = 1
DESIGN_ID = 0xBEA7_0000 | REGISTER_MAP_VERSION

DESIGN_ID_OFFSET = 0x000
MODEL_ID = 0x004
CONTROL = 0x008
STATUS = 0x00C
OUTPUT = 0x010
FORMAT = 0x014
INPUT_COUNT = 0x018
CYCLES = 0x01C
SCRATCH = 0x020
INPUT_BASE = 0x100
INPUT_STRIDE = 4
ADDRESS_SPAN = 0x1000
MAX_INPUTS = (ADDRESS_SPAN - INPUT_BASE) // INPUT_STRIDE  # 960 INPUT registers fit in the span

CONTROL_START = 1 << 0
STATUS_DONE = 1 << 0
STATUS_BUSY = 1 << 1
STATUS_IDLE = 1 << 2

REGISTERS: dict[str, int] = {
    "DESIGN_ID": DESIGN_ID_OFFSET,
    "MODEL_ID": MODEL_ID,
    "CONTROL": CONTROL,
    "STATUS": STATUS,
    "OUTPUT": OUTPUT,
    "FORMAT": FORMAT,
    "INPUT_COUNT": INPUT_COUNT,
    "CYCLES": CYCLES,
    "SCRATCH": SCRATCH,
}


@dataclass(frozen=True)
class FixedPoint:
    """A signed fixed-point format: ``total`` bits, ``integer`` of them integer bits (sign included).

    Example: ``FixedPoint.parse("ap_fixed<16,6>")`` -> ``FixedPoint(total=16, integer=6)``.
    """

    total: int
    integer: int

    def __post_init__(self) -> None:
        if not 1 <= self.total <= 32 or not 0 <= self.integer <= self.total:
            raise ValueError(f"unsupported fixed-point format <{self.total},{self.integer}>: need 1..32 bits")

    @property
    def fraction_bits(self) -> int:
        """Bits after the binary point."""
        return self.total - self.integer

    @property
    def minimum(self) -> int:
        """Smallest raw value."""
        return -(1 << (self.total - 1))

    @property
    def maximum(self) -> int:
        """Largest raw value."""
        return (1 << (self.total - 1)) - 1

    @classmethod
    def parse(cls, text: str) -> FixedPoint:
        """``ap_fixed<W,I>`` (optionally with quantization/overflow modes) or ``fixed<W,I,...>``.

        Example: ``FixedPoint.parse("fixed<16,6,TRN,WRAP,0>").fraction_bits`` -> 10.
        """
        inner = text.strip()
        for prefix in ("ap_fixed<", "fixed<"):
            if inner.startswith(prefix) and inner.endswith(">"):
                fields = inner[len(prefix) : -1].split(",")
                return cls(int(fields[0]), int(fields[1]))
        raise ValueError(f"not a signed fixed-point type: {text!r} (expected ap_fixed<W,I>)")

    def __str__(self) -> str:
        return f"ap_fixed<{self.total},{self.integer}>"


def to_fixed(value: float, fmt: FixedPoint) -> int:
    """The raw two's-complement integer of ``value`` in ``fmt``: floor to the grid, saturate.

    Example: ``to_fixed(0.5, FixedPoint(16, 6))`` -> 512; ``to_fixed(-1e9, FixedPoint(16, 6))`` -> -32768.
    """
    if math.isnan(value):
        raise ValueError("cannot encode NaN")
    scaled = min(max(value * (1 << fmt.fraction_bits), fmt.minimum), fmt.maximum)
    return math.floor(scaled)


def from_fixed(raw: int, fmt: FixedPoint) -> float:
    """The value of a raw integer (or of the low ``fmt.total`` bits of a register word).

    Example: ``from_fixed(0xFE00, FixedPoint(16, 6))`` -> -0.5.
    """
    bits = raw & ((1 << fmt.total) - 1)
    signed = bits - (1 << fmt.total) if bits >> (fmt.total - 1) else bits
    return signed / (1 << fmt.fraction_bits)


def encode_input(value: float, fmt: FixedPoint) -> int:
    """The 32-bit word to write to an INPUT register for ``value``.

    Example: ``hex(encode_input(-0.5, FixedPoint(16, 6)))`` -> ``'0xfe00'``.
    """
    return to_fixed(value, fmt) & ((1 << fmt.total) - 1)


def check_input_count(count: int) -> int:
    """``count`` when it is a number of inputs the map has registers for (1..``MAX_INPUTS``), else ValueError.

    Example: ``check_input_count(48)`` -> 48; ``check_input_count(1000)`` raises ValueError.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_INPUTS:
        raise ValueError(f"{count!r} inputs do not fit the register map: INPUT[k] has room for 1 to {MAX_INPUTS}")
    return count


def input_offset(k: int) -> int:
    """Byte offset of INPUT[k] (k below ``MAX_INPUTS``; the design decodes the first INPUT_COUNT of them).

    Example: ``hex(input_offset(29))`` -> ``'0x174'``; ``hex(input_offset(47))`` -> ``'0x1bc'``.
    """
    if not 0 <= k < MAX_INPUTS:
        raise IndexError(f"input {k} outside the register map's INPUT[0..{MAX_INPUTS - 1}]")
    return INPUT_BASE + INPUT_STRIDE * k


def flatten_window(window: Sequence[Sequence[float]] | Iterable[float], count: int) -> list[float]:
    """The ``count`` input values of a window given as rows (frames) of features, or already flat; frame-major.

    Example: ``flatten_window([[0, 1, 2]] * 16, 48)[:4]`` -> ``[0.0, 1.0, 2.0, 0.0]``.
    """
    values: list[float] = []
    for item in window:
        if isinstance(item, int | float):
            values.append(float(item))
        else:
            values.extend(float(v) for v in item)
    if len(values) != check_input_count(count):
        raise ValueError(f"the model takes {count} inputs (frames x features), the window has {len(values)} values")
    return values


def input_writes(
    window: Sequence[Sequence[float]] | Iterable[float], fmt: FixedPoint, count: int
) -> list[tuple[int, int]]:
    """The (offset, word) writes that load ``window`` (normalised, frames x features or flat) into INPUT[0..count-1].

    Example: ``input_writes(np.zeros((16, 3)), FixedPoint(16, 6), 48)[0]`` -> ``(256, 0)``.
    """
    return [(input_offset(k), encode_input(v, fmt)) for k, v in enumerate(flatten_window(window, count))]


def decode_output(word: int, fmt: FixedPoint) -> float:
    """The beat probability in an OUTPUT register word.

    Example: ``decode_output(0x200, FixedPoint(16, 6))`` -> 0.5.
    """
    return from_fixed(word, fmt)


def format_word(input_format: FixedPoint, output_format: FixedPoint) -> int:
    """The FORMAT register's value.

    Example: ``hex(format_word(FixedPoint(16, 6), FixedPoint(16, 6)))`` -> ``'0x6100610'``.
    """
    return input_format.total | input_format.integer << 8 | output_format.total << 16 | output_format.integer << 24


def formats_of(word: int) -> tuple[FixedPoint, FixedPoint]:
    """(input format, output format) read back from a FORMAT register word.

    Example: ``formats_of(0x06100610)`` -> ``(FixedPoint(16, 6), FixedPoint(16, 6))``.
    """
    return FixedPoint(word & 0xFF, word >> 8 & 0xFF), FixedPoint(word >> 16 & 0xFF, word >> 24 & 0xFF)


def model_id(weights_sha256: str) -> int:
    """The MODEL_ID register value for a model whose ``weights.npz`` has this sha256 (hex).

    Example: ``hex(model_id("beef0001" + "0" * 56))`` -> ``'0xbeef0001'``.
    """
    return int(weights_sha256[:8], 16)
