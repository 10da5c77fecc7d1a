"""The card's register semantics on a plain buffer: what a host reading and writing resource0 sees."""

from __future__ import annotations

import numpy as np
import pytest

from fpgaops.sandbox.card.registers import NO_ANSWER, CardRegisters, Design, sign_extended
from rhythm_service import register_map as rm

FMT = rm.FixedPoint(16, 6)


def design(predict=lambda window: float(window.sum()) / 64, window=(10, 3)) -> Design:
    return Design("test", 0xF3DBDB91, FMT, FMT, window, 4.0, predict)


def block(d: Design | None = None) -> CardRegisters:
    clock = iter(range(0, 10**9, 1000)).__next__  # 1 us between readings
    return CardRegisters(bytearray(rm.ADDRESS_SPAN), d if d is not None else design(), clock_ns=clock)


def read(b: CardRegisters, offset: int) -> int:
    return b.words[offset // 4]


def write(b: CardRegisters, offset: int, value: int) -> None:
    b.words[offset // 4] = value


@pytest.mark.parametrize(("window", "count"), [((10, 3), 30), ((16, 3), 48), ((24, 3), 72)])
def test_identity_registers_after_reset(window, count):
    b = block(design(window=window))
    assert [read(b, o) for o in (rm.DESIGN_ID_OFFSET, rm.MODEL_ID, rm.FORMAT, rm.INPUT_COUNT, rm.STATUS)] == [
        rm.DESIGN_ID, 0xF3DBDB91, 0x06100610, count, rm.STATUS_IDLE]


@pytest.mark.parametrize("frames", [10, 16])
def test_a_start_computes_the_decoded_window_and_sets_done_last(frames):
    shapes = []

    def predict(window):
        shapes.append(window.shape)
        return float(window.sum()) / 64

    b = block(design(predict, window=(frames, 3)))
    window = np.linspace(-2, 2, frames * 3).reshape(frames, 3)
    for offset, word in rm.input_writes(window, FMT, frames * 3):
        write(b, offset, word)
    write(b, rm.CONTROL, rm.CONTROL_START)

    assert b.poll() and not b.poll()
    assert shapes == [(frames, 3)]  # the design's window, decoded
    decoded = sum(rm.from_fixed(w, FMT) for _, w in rm.input_writes(window, FMT, frames * 3))
    assert rm.decode_output(read(b, rm.OUTPUT), FMT) == rm.from_fixed(rm.to_fixed(decoded / 64, FMT), FMT)
    assert read(b, rm.CONTROL) == 0 and read(b, rm.STATUS) == rm.STATUS_DONE | rm.STATUS_IDLE
    assert read(b, rm.CYCLES) == 250  # 1000 ns on the fake clock at 4 ns a cycle


def test_inputs_read_back_sign_extended_after_a_start_and_output_is_sign_extended():
    b = block(design(lambda window: -0.5))
    write(b, rm.input_offset(0), rm.encode_input(-0.5, FMT))
    assert read(b, rm.input_offset(0)) == 0xFE00  # not yet: rewriting it early could race with the host
    write(b, rm.CONTROL, 1)
    b.poll()
    assert read(b, rm.input_offset(0)) == 0xFFFFFE00 and read(b, rm.OUTPUT) == 0xFFFFFE00


@pytest.mark.parametrize("frames", [10, 16])
def test_writes_to_read_only_and_undecoded_words_are_undone_scratch_and_inputs_kept(frames):
    b = block(design(window=(frames, 3)))
    last, beyond = rm.input_offset(frames * 3 - 1), rm.input_offset(frames * 3)  # INPUT[n] is not decoded
    for offset in (rm.DESIGN_ID_OFFSET, rm.STATUS, rm.OUTPUT, 0x0FFC, beyond):
        write(b, offset, 0x12345678)
    write(b, rm.SCRATCH, 0xCAFE)
    write(b, last, 7)

    assert b.maintain() and not b.maintain()
    undone = [read(b, o) for o in (rm.DESIGN_ID_OFFSET, rm.STATUS, rm.OUTPUT, 0x0FFC, beyond)]
    assert undone == [rm.DESIGN_ID, rm.STATUS_IDLE, 0, 0, 0]
    assert read(b, rm.SCRATCH) == 0xCAFE and read(b, last) == 7


def test_a_design_whose_window_the_map_cannot_hold_is_refused():
    with pytest.raises(ValueError, match="1 to 960"):
        design(window=(400, 3))


def test_no_design_reads_all_ones_and_ignores_starts():
    b = CardRegisters(bytearray(rm.ADDRESS_SPAN), None)
    write(b, rm.SCRATCH, 1)
    write(b, rm.CONTROL, 1)
    assert not b.poll()
    b.maintain()
    assert set(b.words.tolist()) == {NO_ANSWER}


def test_a_failing_emulation_stays_busy():
    def broken(window):
        raise RuntimeError("no")

    b = block(design(broken))
    write(b, rm.CONTROL, 1)
    b.poll()
    assert read(b, rm.STATUS) == rm.STATUS_BUSY and read(b, rm.CONTROL) == 0


def test_sign_extension_and_buffer_size():
    assert sign_extended(0x7FFF, 16) == 0x7FFF and sign_extended(0x18000, 16) == 0xFFFF8000
    with pytest.raises(ValueError, match="4096 bytes"):
        CardRegisters(bytearray(16), None)


def test_the_poller_spins_after_a_start_then_backs_off_the_longer_it_idles():
    from fpgaops.sandbox.card.cards import IDLE_SLEEP_S, LONG_IDLE_S, LONG_IDLE_SLEEP_S, SPIN_S, idle_pause

    assert idle_pause(0.0) == 0.0 and idle_pause(SPIN_S / 2) == 0.0
    assert idle_pause(SPIN_S) == IDLE_SLEEP_S and idle_pause(LONG_IDLE_S / 2) == IDLE_SLEEP_S
    assert idle_pause(LONG_IDLE_S) == LONG_IDLE_SLEEP_S and idle_pause(3600.0) == LONG_IDLE_SLEEP_S
    assert LONG_IDLE_SLEEP_S < 0.05 / 5  # far below the service's default FPGA timeout (50 ms)
