"""The FPGA part and HLS tool of each AWS FPGA platform, as hls_model needs them.

hls_model runs on the dev host and never imports ``fpgaops``: the part strings are copied from
``fpgaops/platforms.py`` (``F1.part``, ``F2.part``, the one source of platform facts);
``tests/hls_model/test_platform_parts.py`` fails if the two ever disagree.

Example::

    from hls_model.platform_parts import PARTS
    PARTS["f2"].part         # 'xcvu47p-fsvh2892-2-e'
    PARTS["f2"].hls_backend  # 'Vitis'
    PARTS["f2"].device       # 'VU47P'
    PARTS["f2"].dsp          # 9024 DSP48E2 slices
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlatformParts:
    """What the conversion and the build need to know about a platform."""

    name: str  # "f1" | "f2"
    part: str  # FPGA part targeted by hls4ml and Vivado
    hls_backend: str  # hls4ml backend whose build() the dev host's tools run
    hls_tool: str  # the HLS executable that backend calls
    dsp: int  # DSP48E2 slices of the whole part (the AWS shell takes its share of all of these)
    luts: int  # CLB LUTs
    ffs: int  # CLB flip-flops
    bram36: int  # 36 Kb block RAMs
    uram: int  # 288 Kb UltraRAMs

    @property
    def device(self) -> str:
        """The device name of the part, e.g. ``'VU47P'`` for ``xcvu47p-fsvh2892-2-e``."""
        return self.part.split("-")[0].removeprefix("xc").upper()


# Resource totals of the whole part, from AMD's Virtex UltraScale+ device-feature table: DS890
# ("UltraScale Architecture and Product Data Sheet: Overview", Virtex UltraScale+ feature summary) and
# the UltraScale+ product selection guide (XMP103). The Virtex UltraScale+ data sheet DS923 gives the
# DC/AC switching characteristics of the same parts. LUTs and flip-flops are published in thousands
# and stored as those round figures.
PARTS: dict[str, PlatformParts] = {
    # hls4ml 1.3.0's Vitis backend calls `vitis-run --mode hls` (the version: the dev host's, see build_commands).
    "f2": PlatformParts("f2", "xcvu47p-fsvh2892-2-e", "Vitis", "vitis-run",
                        dsp=9_024, luts=1_304_000, ffs=2_607_000, bram36=2_016, uram=960),
    # F1 (retired): hls4ml's Vivado backend calls `vivado_hls` (Vivado HLS, which ended with Vivado 2020.1).
    "f1": PlatformParts("f1", "xcvu9p-flgb2104-2-i", "Vivado", "vivado_hls",
                        dsp=6_840, luts=1_182_000, ffs=2_364_000, bram36=2_160, uram=960),
}
DEFAULT_PLATFORM = "f2"
