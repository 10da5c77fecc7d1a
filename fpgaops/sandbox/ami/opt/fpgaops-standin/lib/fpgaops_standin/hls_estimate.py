"""Synthesis estimates derived from the design: a deterministic model, not a scheduler.

Latency: per dense layer, the reuse factor plus an adder tree of depth ~log2(n_in)/2, one
cycle per ReLU, two per table activation, one for I/O. Interval: the largest reuse factor.
Resources: one multiplier per non-zero weight and reuse slot; in a DSP when both operands are
wider than 10 bits, else in LUTs; lookup tables in BRAM; resource-strategy weights in BRAM.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .hls_project import HlsProject

# Device resources (BRAM_18K, DSP, FF, LUT, URAM) by part prefix.
DEVICES = {
    "xcvu47p": ("virtexuplusHBM", 4032, 9024, 2607360, 1303680, 960),
    "xcvu9p": ("virtexuplus", 4320, 6840, 2364480, 1182240, 960),
    "xcvu13p": ("virtexuplus", 5376, 12288, 3456000, 1728000, 1280),
    "xcu250": ("virtexuplus", 5376, 12288, 3456000, 1728000, 1280),
    "xcku115": ("kintexu", 4320, 5520, 1326720, 663360, 0),
    "xczu9eg": ("zynquplus", 1824, 2520, 548160, 274080, 0),
    "xc7z020": ("zynq", 280, 220, 106400, 53200, 0),
}
GENERIC_DEVICE = ("virtexuplus", 4320, 6840, 2364480, 1182240, 960)
PART_RE = re.compile(r"xc[a-z0-9]+(?:-[a-z]+[0-9]+)?-[0-9]+l?(?:-[a-z])?")
RESOURCES = ("BRAM_18K", "DSP", "FF", "LUT", "URAM")


def part_is_valid(part: str) -> bool:
    """Whether ``part`` looks like an AMD/Xilinx part name (family, package, speed grade, temperature)."""
    return PART_RE.fullmatch(part.lower()) is not None


def device(part: str) -> tuple[str, dict[str, int]]:
    """(product family, available resources) of a part."""
    for prefix, (family, *counts) in DEVICES.items():
        if part.lower().startswith(prefix + "-") or part.lower().startswith(prefix):
            return family, dict(zip(RESOURCES, counts, strict=True))
    family, *counts = GENERIC_DEVICE
    return family, dict(zip(RESOURCES, counts, strict=True))


@dataclass
class Estimate:
    """What csynth reports."""

    latency: int
    interval: int
    clock_estimate: float
    used: dict[str, int]
    available: dict[str, int]
    family: str


def estimate(project: HlsProject) -> Estimate:
    """The estimate for a read design (``read_design`` done)."""
    data_bits = max((p.element_bits for p in project.ports if not p.is_output), default=16)
    latency, interval = 1, 1
    used = dict.fromkeys(RESOURCES, 0)
    for layer in project.layers:
        interval = max(interval, layer.reuse_factor)
        if layer.kind == "dense":
            weights = layer.n_in * layer.n_out - layer.n_zeros
            mults = math.ceil(weights / layer.reuse_factor)
            latency += layer.reuse_factor + math.ceil(math.log2(max(layer.n_in, 2))) // 2 + 1
            if layer.weight_bits > 10 and data_bits > 10:
                used["DSP"] += mults
                used["LUT"] += mults * 12
            else:
                used["LUT"] += mults * layer.weight_bits * data_bits // 3
            used["LUT"] += layer.n_out * data_bits * 2
            used["FF"] += mults * data_bits + layer.n_out * data_bits * 2
            if layer.strategy == "resource" and layer.reuse_factor > 1:
                used["BRAM_18K"] += math.ceil(weights * layer.weight_bits / 18432)
        elif layer.kind == "activation":
            latency += 2 if layer.table else 1
            used["LUT"] += layer.n_in * data_bits // (1 if layer.table else 2)
            used["FF"] += layer.n_in * data_bits
            used["BRAM_18K"] += 1 if layer.table else 0
        else:
            latency += 2
            used["LUT"] += layer.n_in * data_bits
            used["FF"] += layer.n_in * data_bits
    family, available = device(project.part)
    budget = project.clock_period - project.clock_uncertainty_ns
    clock = budget * (0.78 + 0.03 * min(len(project.layers), 5))
    return Estimate(
        latency=latency,
        interval=interval,
        clock_estimate=round(clock, 3),
        used=used,
        available=available,
        family=family,
    )
