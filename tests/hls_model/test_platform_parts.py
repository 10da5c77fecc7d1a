"""hls_model's copy of the part strings agrees with fpgaops.platforms (the one source of platform facts)."""

from __future__ import annotations

from fpgaops.platforms import F1, F2
from hls_model.config import ConvertConfig
from hls_model.platform_parts import DEFAULT_PLATFORM, PARTS


def test_parts_match_fpgaops_platforms() -> None:
    assert PARTS["f1"].part == F1.part and PARTS["f2"].part == F2.part
    assert DEFAULT_PLATFORM == "f2"


def test_f2_converts_for_vitis_and_f1_for_vivado_hls() -> None:
    assert (ConvertConfig().part, ConvertConfig().backend) == (F2.part, "Vitis")
    assert (ConvertConfig(platform="f1").part, ConvertConfig(platform="f1").backend) == (F1.part, "Vivado")
