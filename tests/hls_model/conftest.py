"""Fixtures shared by the hls_model tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import fpgaops.sandbox

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

AWS_FPGA = Path(fpgaops.sandbox.__file__).parent / "aws_fpga"  # the sandbox's aws-fpga stand-in (F2 HDK)
SHELL_DESIGN = AWS_FPGA / "hdk" / "common" / "shell_stable" / "design"
CL_TEMPLATE = AWS_FPGA / "hdk" / "cl" / "examples" / "CL_TEMPLATE"


@pytest.fixture
def interface():
    """The ports hls4ml 1.3.0 + Vitis HLS give the beat network's top (as the convert step finds them)."""
    from hls_model.ip_interface import IpInterface

    return IpInterface("beat_detector", "window", 30, "ap_fixed<16,6>", "layer11_out_0", "ap_fixed<16,6>")
