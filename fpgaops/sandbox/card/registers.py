"""One slot's register block: what the beat accelerator's OCL BAR answers, on a shared 4 KiB buffer.

The host reads and writes the buffer directly (an mmap of ``resource0``), so the card cannot see
single accesses as the hardware does; it polls instead (``FpgaCards`` calls ``poll`` and
``maintain``) and keeps the buffer equal to what the hardware would answer:

- CONTROL: a word with bit 0 set is a start: the card sets STATUS to BUSY (DONE and IDLE cleared),
  then clears CONTROL, computes the window decoded from INPUT[0..n-1], writes OUTPUT (sign-extended)
  and CYCLES, sign-extends the INPUT words, and sets STATUS to DONE | IDLE last. A host that waits
  for "CONTROL reads 0 and STATUS has DONE" therefore reads the new OUTPUT. Other CONTROL values
  are left as written (the hardware reads 0): clearing them could race with the host's next start.
- INPUT[k], k < n: read back sign-extended once the card has taken the next start (the hardware
  does it at once); rewriting them earlier could race with the host's writes. ``n`` is the design's
  (``Design.window``: the model package's frames x features, reported in INPUT_COUNT); the words
  after INPUT[n-1] are undecoded, as on the hardware.
- Read-only and undecoded words (DESIGN_ID, MODEL_ID, STATUS, OUTPUT, FORMAT, INPUT_COUNT, CYCLES,
  everything outside the map): a host write is undone by the next ``maintain`` (the hardware
  ignores it). SCRATCH is plain read/write memory.
- CYCLES: the emulation's time from taking the start to the output, in the design's clock cycles.
- No design (an AFI this card cannot execute): every word reads 0xFFFFFFFF and writes are undone.

Example::

    block = CardRegisters(bytearray(rm.ADDRESS_SPAN), Design.of_package(package, predict_one))
    block.words[rm.INPUT_BASE // 4] = rm.encode_input(0.5, fmt)     # ... the host's writes
    block.words[rm.CONTROL // 4] = 1
    block.poll()                                                     # True: a start was taken
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rhythm_service import register_map as rm

if TYPE_CHECKING:
    from rhythm_service.model_package import ModelPackage

log = logging.getLogger(__name__)

WORDS = rm.ADDRESS_SPAN // 4
NO_ANSWER = 0xFFFFFFFF
INPUT_WORD = rm.INPUT_BASE // 4
CONTROL_WORD, STATUS_WORD, OUTPUT_WORD, CYCLES_WORD = rm.CONTROL // 4, rm.STATUS // 4, rm.OUTPUT // 4, rm.CYCLES // 4
DEFAULT_CLOCK_PERIOD_NS = 4.0  # the shell's 250 MHz clock


@dataclass(frozen=True)
class Design:
    """A design the card executes: its identity registers, formats, window, clock and the model's emulation.

    ``window`` is the model's input window, (frames, features): the design has frames x features
    INPUT registers and reports that count in INPUT_COUNT. ``predict_one`` maps one normalised
    window of that shape to the beat probability.
    """

    name: str
    model_id: int
    input_format: rm.FixedPoint
    output_format: rm.FixedPoint
    window: tuple[int, int]
    clock_period_ns: float
    predict_one: Callable[[np.ndarray], float]
    design_id: int = rm.DESIGN_ID

    def __post_init__(self) -> None:
        rm.check_input_count(self.input_count)

    @classmethod
    def of_package(cls, package: ModelPackage, predict_one: Callable[[np.ndarray], float],
                   name: str | None = None) -> Design:
        """The design of an AFI built from ``package`` (ids, formats, window, clock) computing with ``predict_one``.

        Example: ``Design.of_package(package, CpuBackend(package).predict_one).input_count`` -> 48.
        """
        return cls(name or f"{package.manifest.get('name', 'model')}-{package.release}", package.model_id,
                   package.input_format, package.output_format, package.window.dims,
                   float(package.manifest.get("clock_period_ns") or DEFAULT_CLOCK_PERIOD_NS), predict_one)

    @property
    def input_count(self) -> int:
        """INPUT registers of the design (INPUT_COUNT): frames x features."""
        return self.window[0] * self.window[1]

    @property
    def format_word(self) -> int:
        """The FORMAT register's value."""
        return rm.format_word(self.input_format, self.output_format)


def sign_extended(word: int, bits: int) -> int:
    """The 32-bit word of the low ``bits`` of ``word``, sign-extended.

    Example: ``hex(sign_extended(0xFE00, 16))`` -> ``'0xfffffe00'``.
    """
    low = word & ((1 << bits) - 1)
    return (low - (1 << bits) if low >> (bits - 1) else low) & 0xFFFFFFFF


class CardRegisters:
    """The register block of one slot, over ``buffer`` (4 KiB: a shared mmap of resource0, or a bytearray).

    Args:
        buffer: writable, ``rm.ADDRESS_SPAN`` bytes.
        design: what the loaded AFI computes; None for a design this card cannot execute.
        clock_ns: the time source of CYCLES (``time.perf_counter_ns``).
    """

    def __init__(self, buffer, design: Design | None, clock_ns: Callable[[], int] = time.perf_counter_ns):
        if len(buffer) != rm.ADDRESS_SPAN:
            raise ValueError(f"a register block is {rm.ADDRESS_SPAN} bytes, not {len(buffer)}")
        self.buffer = buffer
        self.words = memoryview(buffer).cast("I")
        self.design = design
        self.clock_ns = clock_ns
        self.starts = 0
        inputs = range(INPUT_WORD, INPUT_WORD + design.input_count) if design is not None else range(0)
        self._writable = frozenset({CONTROL_WORD, rm.SCRATCH // 4, *inputs})  # words the hardware stores
        self._expected = np.zeros(WORDS, dtype=np.uint32)  # what each read-only/undecoded word reads
        self.reset()

    def reset(self) -> None:
        """Power-on state: identity registers, STATUS idle, inputs, SCRATCH and OUTPUT zero."""
        design = self.design
        if design is None:
            self._expected[:] = NO_ANSWER
        else:
            self._expected[:] = 0
            for offset, value in ((rm.DESIGN_ID_OFFSET, design.design_id), (rm.MODEL_ID, design.model_id),
                                  (rm.STATUS, rm.STATUS_IDLE), (rm.FORMAT, design.format_word),
                                  (rm.INPUT_COUNT, design.input_count)):
                self._expected[offset // 4] = value
        self.buffer[:] = self._expected.tobytes()
        self._seen = bytes(self.buffer)

    def poll(self) -> bool:
        """Take a start if CONTROL holds one (True), else do nothing (False)."""
        if self.design is not None and self.words[CONTROL_WORD] & rm.CONTROL_START:
            self._run(self.design)
            return True
        return False

    def maintain(self) -> bool:
        """Undo host writes to words the hardware does not store; True if any word had been written."""
        page = bytes(self.buffer)
        if page == self._seen:
            return False
        now = np.frombuffer(page, dtype=np.uint32)
        changed = np.nonzero(now != np.frombuffer(self._seen, dtype=np.uint32))[0]
        for index in changed:
            if self.design is None or int(index) not in self._writable:
                self.words[int(index)] = int(self._expected[index])
        self._seen = bytes(self.buffer)
        return True

    def _set(self, word: int, value: int) -> None:
        self._expected[word] = value
        self.words[word] = value

    def _run(self, design: Design) -> None:
        started = self.clock_ns()
        self._set(STATUS_WORD, rm.STATUS_BUSY)  # before CONTROL reads 0: the host then waits for DONE
        self.words[CONTROL_WORD] = 0
        self.starts += 1
        fmt = design.input_format
        raw = [self.words[INPUT_WORD + k] for k in range(design.input_count)]
        window = np.array([rm.from_fixed(word, fmt) for word in raw]).reshape(design.window)
        try:
            probability = design.predict_one(window)
        except Exception:  # a design that fails stays busy, as a hung one does; the host times out
            log.exception("%s: the emulation failed on a window", design.name)
            return
        for k, word in enumerate(raw):
            self.words[INPUT_WORD + k] = sign_extended(word, fmt.total)
        cycles = math.ceil((self.clock_ns() - started) / design.clock_period_ns)
        self._set(OUTPUT_WORD, rm.to_fixed(probability, design.output_format) & 0xFFFFFFFF)
        self._set(CYCLES_WORD, min(cycles, 0xFFFFFFFF))
        self._set(STATUS_WORD, rm.STATUS_DONE | rm.STATUS_IDLE)
        self._seen = bytes(self.buffer)
