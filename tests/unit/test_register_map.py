"""rhythm_service.register_map: offsets, input counts of any window, fixed-point encoding (as ap_fixed's defaults)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rhythm_service import register_map as rm

Q16_6 = rm.FixedPoint(16, 6)


def test_registers_are_word_aligned_distinct_and_below_the_inputs() -> None:
    offsets = list(rm.REGISTERS.values())
    assert len(set(offsets)) == len(offsets)
    assert all(offset % 4 == 0 and offset < rm.INPUT_BASE for offset in offsets)
    inputs = [rm.input_offset(k) for k in range(rm.MAX_INPUTS)]
    assert inputs[0] == 0x100 and inputs[29] == 0x174 and inputs[47] == 0x1BC and inputs[71] == 0x21C
    assert inputs[-1] + 4 == rm.ADDRESS_SPAN and rm.MAX_INPUTS == 960  # the 4 KiB span, to its last word
    with pytest.raises(IndexError, match=r"INPUT\[0..959\]"):
        rm.input_offset(rm.MAX_INPUTS)


@pytest.mark.parametrize("count", [1, 30, 48, 64, 72, 960])
def test_any_input_count_the_span_holds_is_accepted(count: int) -> None:
    assert rm.check_input_count(count) == count


@pytest.mark.parametrize("count", [0, -1, 961, 4096, True, 48.0, "48"])
def test_input_counts_the_map_cannot_hold_are_refused(count) -> None:
    with pytest.raises(ValueError, match="1 to 960"):
        rm.check_input_count(count)


def test_design_id_carries_the_map_version() -> None:
    assert rm.DESIGN_ID == 0xBEA70001 and rm.DESIGN_ID & 0xFFFF == rm.REGISTER_MAP_VERSION


@pytest.mark.parametrize(
    ("value", "raw"),
    [(0.0, 0), (0.5, 512), (-0.5, -512), (1 / 1024, 1), (1.5 / 1024, 1), (-1.5 / 1024, -2), (31.999, 32766)],
)
def test_to_fixed_truncates_towards_minus_infinity_like_ap_fixed(value: float, raw: int) -> None:
    assert rm.to_fixed(value, Q16_6) == raw


@pytest.mark.parametrize(("value", "raw"), [(1e9, 32767), (32.0, 32767), (-32.0, -32768), (-1e9, -32768)])
def test_to_fixed_saturates(value: float, raw: int) -> None:
    assert rm.to_fixed(value, Q16_6) == raw


def test_to_fixed_refuses_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        rm.to_fixed(math.nan, Q16_6)


@given(st.floats(min_value=-32.0, max_value=31.99, allow_nan=False))
def test_encode_then_decode_is_within_one_step_below(value: float) -> None:
    decoded = rm.from_fixed(rm.encode_input(value, Q16_6), Q16_6)
    assert 0.0 <= value - decoded <= 2**-10


@given(st.integers(min_value=-(2**15), max_value=2**15 - 1))
def test_register_words_sign_extend(raw: int) -> None:
    word = raw & 0xFFFF
    assert rm.from_fixed(word, Q16_6) == raw / 1024
    assert rm.from_fixed(word | 0xFFFF0000 if raw < 0 else word, Q16_6) == raw / 1024


def test_format_word_round_trips() -> None:
    word = rm.format_word(rm.FixedPoint(16, 6), rm.FixedPoint(18, 8))
    assert word == 0x08120610
    assert rm.formats_of(word) == (rm.FixedPoint(16, 6), rm.FixedPoint(18, 8))


@pytest.mark.parametrize("text", ["ap_fixed<16,6>", "ap_fixed<16,6,AP_RND,AP_SAT>", "fixed<16,6,TRN,WRAP,0>"])
def test_parse_fixed_point_types(text: str) -> None:
    assert rm.FixedPoint.parse(text) == Q16_6 and str(rm.FixedPoint.parse(text)) == "ap_fixed<16,6>"


@pytest.mark.parametrize("text", ["ap_ufixed<16,6>", "float", "ap_int<8>"])
def test_parse_refuses_other_types(text: str) -> None:
    with pytest.raises(ValueError):
        rm.FixedPoint.parse(text)


@pytest.mark.parametrize(("frames", "features"), [(10, 3), (16, 3), (24, 3), (8, 6)])
def test_input_writes_follow_the_flattening_of_the_model(frames: int, features: int) -> None:
    window = [[frame + feature / 10 for feature in range(features)] for frame in range(frames)]
    writes = rm.input_writes(window, Q16_6, frames * features)
    assert [offset for offset, _ in writes] == [rm.input_offset(k) for k in range(frames * features)]
    decoded = [rm.from_fixed(word, Q16_6) for _, word in writes]
    k = features + 1  # element k is window[k // features][k % features]
    assert decoded[k] == pytest.approx(window[k // features][k % features], abs=1e-3)
    assert decoded[-1] == pytest.approx(frames - 1 + (features - 1) / 10, abs=1e-3)
    assert rm.input_writes([v for row in window for v in row], Q16_6, frames * features) == writes


def test_windows_of_the_wrong_size_are_refused() -> None:
    with pytest.raises(ValueError, match=r"takes 48 inputs .* has 30 values"):
        rm.input_writes([[0.0, 0.0, 0.0]] * 10, Q16_6, 48)
    with pytest.raises(ValueError, match=r"takes 30 inputs .* has 48 values"):
        rm.input_writes([[0.0, 0.0, 0.0]] * 16, Q16_6, 30)
    with pytest.raises(ValueError, match="do not fit the register map"):
        rm.input_writes([0.0] * 1000, Q16_6, 1000)


def test_model_id_is_the_first_32_bits_of_the_hash() -> None:
    assert rm.model_id("0123abcd" + "f" * 56) == 0x0123ABCD
