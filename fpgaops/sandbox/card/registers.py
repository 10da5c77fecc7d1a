"""One slot's register block: what the beat accelerator's OCL BAR answers, on a shared 4 KiB buffer.

The host reads and writes the buffer directly (an mmap of ``resource0``), so the card cannot see
single accesses as the hardware does; it polls instead (``FpgaCards`` calls ``poll`` and
``maintain``) and keeps the buffer equal to what the hardware would answer:

- CONTROL: a word with bit 0 set is a start: the card sets STATUS to BUSY (DONE and IDLE cleared),
  then clears CONTROL, computes the window decoded from INPUT[0..29], writes OUTPUT (sign-extended)
  and CYCLES, sign-extends the INPUT words, and sets STATUS to DONE | IDLE last. A host that waits
  for "CONTROL reads 0 and STATUS has DONE" therefore reads the new OUTPUT. Other CONTROL values
  are left as written (the hardware reads 0): clearing them could race with the host's next start.
- INPUT[k]: read back sign-extended once the card has taken the next start (the hardware does it
  at once); rewriting them earlier could race with the host's writes.
- Read-only and undecoded words (DESIGN_ID, MODEL_ID, STATUS, OUTPUT, FORMAT, INPUT_COUNT, CYCLES,
  everything outside the map): a host write is undone by the next ``maintain`` (the hardware
  ignores it). SCRATCH is plain read/write memory.
- CYCLES: the emulation's time from taking the start to the output, in the design's clock cycles.
- No design (an AFI this card cannot execute): every word reads 0xFFFFFFFF and writes are undone.

Example::

    block = CardRegisters(bytearray(ADDRESS_SPAN), design)
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

import numpy as np

from rhythm_service import register_map as rm

log = logging.getLogger(__name__)

WORDS = rm.ADDRESS_SPAN // 4
NO_ANSWER = 0xFFFFFFFF
INPUT_WORD = rm.INPUT_BASE // 4
CONTROL_WORD, STATUS_WORD, OUTPUT_WORD, CYCLES_WORD = rm.CONTROL // 4, rm.STATUS // 4, rm.OUTPUT // 4, rm.CYCLES // 4
WRITABLE_WORDS = frozenset({CONTROL_WORD, rm.SCRATCH // 4, *range(INPUT_WORD, INPUT_WORD + rm.N_INPUTS)})
WINDOW_SHAPE = (rm.N_INPUTS // 3, 3)


@dataclass(frozen=True)
class Design:
    """A design the card executes: its identity registers, formats, clock and the model's emulation.

    ``predict_one`` maps one normalised window (10, 3) to the beat probability.
    """

    name: str
    model_id: int
    input_format: rm.FixedPoint
    output_format: rm.FixedPoint
    clock_period_ns: float
    predict_one: Callable[[np.ndarray], float]
    design_id: int = rm.DESIGN_ID

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
                                  (rm.INPUT_COUNT, rm.N_INPUTS)):
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
            if self.design is None or int(index) not in WRITABLE_WORDS:
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
        raw = [self.words[INPUT_WORD + k] for k in range(rm.N_INPUTS)]
        window = np.array([rm.from_fixed(word, fmt) for word in raw]).reshape(WINDOW_SHAPE)
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
