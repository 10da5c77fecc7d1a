"""An analytic estimate of the FPGA resources and timing of the hls4ml network, without synthesis.

Vivado/Vitis HLS does not run here, so no synthesis report can be read: the estimate follows the
structure of the code hls4ml 1.3.0 generates and prices it with rules of thumb (``Rules``). Expect
it to be right in kind (which resource, how it scales) and off by tens of percent in amount.

What the estimate takes from hls4ml (its converted graph; hls4ml itself has no estimator: its
``report`` module only reads the reports of a finished synthesis):

- ``nnet_dense_latency.h`` (Latency strategy) unrolls the ``n_in x n_out`` products and pipelines
  them at ``II = reuse_factor``. The code multiplies by every weight, but the weights are constant
  arrays in the synthesised source (``weights/w*.h`` under ``__SYNTHESIS__``), so the HLS tool folds
  the products by zero away. hls4ml counts those zeros (``WeightVariable.nzeros``) and caps the
  multipliers with ``#pragma HLS ALLOCATION`` at ``multiplier_limit = ceil(n_in * n_out / R) -
  n_zeros // R`` (the Vivado backend's dense template): one multiplier per non-zero weight at R = 1.
- the operand formats: weights from the QKeras quantizer (``quantized_bits(8, 1)`` ->
  ``ap_fixed<8,2>``), the first layer's data from the configured precision (``ap_fixed<16,6>``),
  the later layers' from the ``quantized_relu`` outputs (``ap_ufixed<8,3>``); the accumulators from
  hls4ml's precision inference (data + weight + ceil(log2 n_in) bits, + 1 with a bias).
- the sigmoid: a 1024-entry table of ``ap_fixed<18,8>``, i.e. exactly one 18 Kb block RAM.

Example::

    from hls_model.resources import estimate
    result = estimate(keras_model, ConvertConfig())  # or the graph hls_model.convert.convert returned
    result.summary()  # for a trained 24 x 3 window:
    # '1,256 multipliers (0 DSP, ~108.0K LUT = 8.3 % of the VU47P), II 1, ~14 cycles'
"""

from __future__ import annotations

import contextlib
import io
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hls_model.config import ConvertConfig
from hls_model.platform_parts import PARTS, PlatformParts

DSP_A_BITS, DSP_B_BITS = 27, 18  # a DSP48E2 multiplies 27 x 18 bits
BRAM18_BITS = 18 * 1024  # a RAMB18E2 holds 1K x 18 bits (two of them make a BRAM36)
TABLE_ACTIVATIONS = ("sigmoid", "tanh")  # hls4ml computes these by table lookup
SHARE_OF = {"dsp": "dsp", "lut": "luts", "ff": "ffs", "bram36": "bram36"}  # estimate total -> part total


@dataclass(frozen=True)
class Rules:
    """The rules of thumb the estimate applies: each is a knob, none a vendor figure."""

    # A product goes to DSP48E2 slices when both operands are at least this wide, else to LUTs (the
    # hls4ml papers see the DSPs vanish below ~10 bits; the HLS tool decides per product).
    dsp_min_bits: int = 10
    # A LUT multiplier of w x d bits takes ~ w * d / 2 LUTs. By constant weights (as here) synthesis
    # often needs fewer (shift-and-add of the weight's non-zero digits): read it as an upper-side figure.
    luts_per_product_bit: float = 0.5
    # One adder-tree level: a carry chain of ~20-32 bits, its routing, and the HLS tool's clock
    # margin; the clock period over this gives the levels chained in one cycle (3 at 4 ns).
    adder_delay_ns: float = 1.3


@dataclass(frozen=True)
class LayerEstimate:
    """The estimate for one hls4ml layer (adders and registers included in ``lut`` and ``ff``)."""

    name: str
    kind: str  # "dense", "relu", "sigmoid", ...
    cycles: int
    lut: int
    ff: int
    multipliers: int = 0
    dsp: int = 0
    bram36: float = 0.0
    weights: int = 0
    zero_weights: int = 0
    note: str = ""


@dataclass(frozen=True)
class ResourceEstimate:
    """The estimate for a network on a part: its layers, their totals, and the totals' share of the part."""

    parts: PlatformParts
    reuse_factor: int  # also the initiation interval: a new window every R cycles
    layers: tuple[LayerEstimate, ...]
    rules: Rules = field(default_factory=Rules)

    def totals(self) -> dict[str, float]:
        """The layers' sums: multipliers, DSP, LUT, FF, BRAM36, and cycles (the latency).

        Example: ``estimate(model, ConvertConfig()).totals()["multipliers"]`` -> 1256.
        """
        keys = ("multipliers", "dsp", "lut", "ff", "bram36", "cycles")
        return {key: sum(getattr(layer, key) for layer in self.layers) for key in keys}

    def percent(self) -> dict[str, float]:
        """The share of the whole part (in %) of the DSP, LUT, FF and BRAM36 totals.

        Example: ``estimate(model, ConvertConfig(platform="f1")).percent()["lut"]`` -> about 9.1.
        """
        totals = self.totals()
        return {key: 100 * totals[key] / getattr(self.parts, total) for key, total in SHARE_OF.items()}

    def summary(self) -> str:
        """One line: multipliers, DSP, LUT and their share of the part, II, latency.

        Example: ``'1,256 multipliers (0 DSP, ~108.0K LUT = 8.3 % of the VU47P), II 1, ~14 cycles'``.
        """
        totals, share = self.totals(), self.percent()
        dsp = f"{totals['dsp']:,} DSP" + (f" = {share['dsp']:.1f} %" if totals["dsp"] else "")
        return (
            f"{totals['multipliers']:,} multipliers ({dsp}, ~{totals['lut'] / 1000:.1f}K LUT = {share['lut']:.1f} % "
            f"of the {self.parts.device}), II {self.reuse_factor}, ~{totals['cycles']} cycles"
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for ``emulation.json``): the summary, totals, shares, layers and rules.

        Example: ``estimate(model, ConvertConfig()).as_dict()["initiation_interval"]`` -> 1.
        """
        totals = self.totals()
        return {
            "summary": self.summary(),
            "method": "analytic estimate, no synthesis",
            "part": self.parts.part,
            "strategy": "Latency",
            "reuse_factor": self.reuse_factor,
            "initiation_interval": self.reuse_factor,
            "latency_cycles": totals.pop("cycles"),
            **totals,
            "percent_of_part": {key: round(value, 3) for key, value in self.percent().items()},
            "layers": [asdict(layer) for layer in self.layers],
            "rules": asdict(self.rules),
        }


def estimate(model_or_graph, convert: ConvertConfig, rules: Rules | None = None) -> ResourceEstimate:
    """Estimate the resources of the network as hls4ml converts it with ``convert``, on ``convert``'s part.

    Args:
        model_or_graph: the QKeras model (converted here, in memory, as ``hls_model.convert`` does) or
            the ``hls4ml`` graph already converted from it.
        convert: the conversion settings: platform (the part whose totals the shares use), strategy
            (only "Latency" is modelled) and clock period (the adder levels chained per cycle).
        rules: the rules of thumb (``Rules()`` when None).

    Example: ``estimate(build_model(ModelConfig()), ConvertConfig(reuse_factor=2)).reuse_factor`` -> 2.
    """
    rules = rules or Rules()
    if convert.strategy.lower() != "latency":
        raise ValueError(f"only the Latency strategy is modelled, not {convert.strategy}")
    levels_per_cycle = max(1, int(convert.clock_period_ns // rules.adder_delay_ns))
    layers, reuse = [], 1
    for layer in _graph(model_or_graph, convert).get_layers():
        if layer.class_name == "Dense":
            layer_reuse = int(layer.get_attr("reuse_factor"))
            reuse = max(reuse, layer_reuse)
            layers.append(_dense(layer, layer_reuse, levels_per_cycle, rules))
        elif layer.class_name == "Activation":
            layers.append(_activation(layer))
        elif layer.class_name not in ("Input", "Reshape"):
            raise ValueError(f"no estimate rule for the {layer.class_name} layer {layer.name}")
    return ResourceEstimate(PARTS[convert.platform], reuse, tuple(layers), rules)


def _graph(model_or_graph, convert: ConvertConfig):
    """The hls4ml graph: the one given, or the model converted in memory (nothing is written)."""
    if hasattr(model_or_graph, "get_layers"):
        return model_or_graph
    import hls4ml

    from hls_model.convert import hls_config

    with contextlib.redirect_stdout(io.StringIO()):  # hls4ml narrates every layer it reads
        return hls4ml.converters.convert_from_keras_model(
            model_or_graph,
            hls_config=hls_config(model_or_graph, convert),
            backend=convert.backend,
            part=convert.part,
            clock_period=convert.clock_period_ns,
            io_type="io_parallel",
        )


def _adder_tree(terms: int) -> list[int]:
    """The adders on each level of a balanced tree summing ``terms`` values, e.g. 5 -> [2, 1, 1]."""
    levels = []
    while terms > 1:
        levels.append(terms // 2)
        terms -= terms // 2
    return levels


def _dense(layer, reuse: int, levels_per_cycle: int, rules: Rules) -> LayerEstimate:
    """A Latency-strategy Dense layer: multipliers (DSP or LUT), adder trees, pipeline registers."""
    kernel = layer.get_weights("weight")
    bias = np.asarray(layer.get_weights("bias").data)
    n_in, n_out = kernel.data.shape
    data_bits = layer.get_input_variable().type.precision.width
    weight_bits = kernel.type.precision.width
    accum_bits = layer.types["accum_t"].precision.width
    product_bits = data_bits + weight_bits
    multipliers = math.ceil(n_in * n_out / reuse) - kernel.nzeros // reuse  # hls4ml's multiplier_limit
    narrow, wide = sorted((data_bits, weight_bits))
    on_dsp = narrow >= rules.dsp_min_bits
    dsp = multipliers * math.ceil(wide / DSP_A_BITS) * math.ceil(narrow / DSP_B_BITS) if on_dsp else 0
    lut = 0 if on_dsp else round(multipliers * rules.luts_per_product_bit * data_bits * weight_bits)
    lut += multipliers * product_bits * math.ceil((reuse - 1) / 3)  # R:1 operand multiplexers when shared
    ff = multipliers * product_bits  # the products' register
    depth = 0
    terms = np.count_nonzero(kernel.data, axis=0) + (np.ravel(bias) != 0)  # per output: products + bias
    for count in terms:
        tree, remaining = _adder_tree(int(count)), int(count)
        for level, adders in enumerate(tree, start=1):
            width = min(product_bits + level, accum_bits)
            lut += adders * width
            remaining -= adders
            if level % levels_per_cycle == 0 or level == len(tree):
                ff += remaining * width  # the partial sums live at a cycle boundary
        depth = max(depth, len(tree))
    where = "DSP48E2" if on_dsp else "LUTs"
    return LayerEstimate(
        name=layer.name,
        kind="dense",
        cycles=1 + math.ceil(depth / levels_per_cycle) + reuse - 1,
        lut=lut,
        ff=ff,
        multipliers=multipliers,
        dsp=dsp,
        weights=n_in * n_out,
        zero_weights=int(kernel.nzeros),
        note=f"{n_in}x{n_out}, {weight_bits}x{data_bits}-bit products in {where}, "
        f"{accum_bits}-bit accumulators, adder trees {depth} deep",
    )


def _activation(layer) -> LayerEstimate:
    """A ReLU (compare, round, saturate) or a table activation (index logic + a block-RAM table)."""
    kind, units = layer.get_attr("activation"), int(layer.get_attr("n_in"))
    out_bits = layer.get_output_variable().type.precision.width
    if kind == "relu":
        return LayerEstimate(layer.name, kind, cycles=1, lut=2 * out_bits * units, ff=out_bits * units)
    if kind in TABLE_ACTIVATIONS:
        size, table_bits = int(layer.get_attr("table_size")), layer.types["table_t"].precision.width
        index_bits = math.ceil(math.log2(size))
        copies = math.ceil(units / 2)  # a block RAM has two read ports
        return LayerEstimate(
            layer.name,
            kind,
            cycles=2,  # index (scale, offset, clamp), then the block-RAM read
            lut=3 * index_bits * units,
            ff=(index_bits + table_bits) * units,
            bram36=copies * math.ceil(size * table_bits / BRAM18_BITS) / 2,
            note=f"table of {size} x {table_bits} bits in block RAM",
        )
    raise ValueError(f"no estimate rule for the {kind} activation {layer.name}")
