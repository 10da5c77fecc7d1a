"""The analytic resource estimate of the hls4ml network (a tiny QKeras model: 4 x 3 window -> 4 -> 3 -> 1)."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import tensorflow as tf

from hls_model.config import ConvertConfig, ModelConfig
from hls_model.model import build_model, quantized_parameters
from hls_model.platform_parts import PARTS
from hls_model.resources import Rules, estimate

TINY = ModelConfig(window_frames=4, reference_frame=2, hidden_units=(4, 3))
DENSE = ("dense_1", "dense_2", "dense_3")


def _model(config: ModelConfig = TINY, zero_rows: int = 0):
    """A tiny network whose kernels hold no zero (``zero_rows`` first rows of dense_1's kernel zeroed)."""
    tf.keras.utils.set_random_seed(3)
    model = build_model(config)
    for name in DENSE:
        layer = model.get_layer(name)
        kernel, bias = layer.get_weights()
        kernel = np.where(np.arange(kernel.size).reshape(kernel.shape) % 2 == 0, 0.25, -0.5)
        if name == "dense_1":
            kernel[:zero_rows] = 0.0
        layer.set_weights([kernel, bias])
    return model


def _estimate(model, **convert):
    return estimate(model, ConvertConfig(**convert))


def _dense(result) -> dict:
    return {layer.name: layer for layer in result.layers if layer.kind == "dense"}


@pytest.fixture(scope="module")
def model():
    return _model()


def test_one_multiplier_per_non_zero_weight_at_reuse_1(model) -> None:
    result = _estimate(model)
    nonzero = {name: np.count_nonzero(quantized_parameters(model)[f"{name}/kernel"]) for name in DENSE}
    assert {name: layer.multipliers for name, layer in _dense(result).items()} == nonzero
    totals = result.totals()
    assert totals["multipliers"] == 12 * 4 + 4 * 3 + 3 == sum(nonzero.values())
    assert result.reuse_factor == 1 and result.as_dict()["initiation_interval"] == 1
    assert totals["dsp"] == 0 and totals["lut"] > 0 and totals["ff"] > 0  # 8-bit weights: products in LUTs
    assert totals["bram36"] == 0.5  # the sigmoid's 1024 x 18-bit table: one 18 Kb block RAM
    assert [layer.kind for layer in result.layers] == ["dense", "relu", "dense", "relu", "dense", "sigmoid"]


@pytest.mark.parametrize("reuse", [2, 3])
def test_the_reuse_factor_divides_the_multipliers_and_sets_the_interval(model, reuse: int) -> None:
    single, shared = _estimate(model), _estimate(model, reuse_factor=reuse)
    for name, layer in _dense(shared).items():
        assert layer.multipliers == math.ceil(_dense(single)[name].multipliers / reuse)  # no zero weights here
    assert shared.reuse_factor == reuse and shared.as_dict()["initiation_interval"] == reuse
    assert shared.totals()["cycles"] > single.totals()["cycles"]
    assert f"II {reuse}," in shared.summary()


def test_zero_weights_need_no_multiplier() -> None:
    full, sparse = _estimate(_model()), _estimate(_model(zero_rows=5))
    dense_1 = _dense(sparse)["dense_1"]
    assert dense_1.zero_weights == 5 * 4
    assert dense_1.multipliers == _dense(full)["dense_1"].multipliers - 5 * 4
    assert sparse.totals()["lut"] < full.totals()["lut"]
    reused = _dense(_estimate(_model(zero_rows=5), reuse_factor=3))["dense_1"]
    assert reused.multipliers == math.ceil(48 / 3) - 20 // 3  # hls4ml's multiplier_limit


def test_shares_are_of_the_part_and_f1_differs(model) -> None:
    f2, f1 = _estimate(model), _estimate(model, platform="f1")
    assert f2.totals() == f1.totals()
    for result, parts in ((f2, PARTS["f2"]), (f1, PARTS["f1"])):
        share = result.percent()
        assert share["lut"] == pytest.approx(100 * result.totals()["lut"] / parts.luts)
        assert share["ff"] == pytest.approx(100 * result.totals()["ff"] / parts.ffs)
        assert share["bram36"] == pytest.approx(100 * 0.5 / parts.bram36)
    assert f1.percent()["lut"] > f2.percent()["lut"]  # the VU9P has fewer LUTs
    assert "of the VU47P" in f2.summary() and "of the VU9P" in f1.summary()
    assert f2.as_dict()["part"] == PARTS["f2"].part


def test_wide_operands_go_to_dsp_slices() -> None:
    wide = _estimate(_model(ModelConfig(window_frames=4, reference_frame=2, hidden_units=(4, 3), weight_bits=12)))
    dense = _dense(wide)
    assert dense["dense_1"].dsp == dense["dense_1"].multipliers  # 12-bit weights x 16-bit inputs
    assert dense["dense_2"].dsp == 0  # x 8-bit ReLU outputs: still LUTs
    everything = estimate(_model(), ConvertConfig(), Rules(dsp_min_bits=8))
    assert everything.totals()["dsp"] == everything.totals()["multipliers"]


def test_summary_and_plain_data(model) -> None:
    result = _estimate(model)
    assert re.fullmatch(r"63 multipliers \(0 DSP, ~[\d.]+K LUT = [\d.]+ % of the VU47P\), II 1, ~\d+ cycles",
                        result.summary())
    data = json.loads(json.dumps(result.as_dict()))
    assert data["multipliers"] == 63 and data["latency_cycles"] == result.totals()["cycles"]
    assert data["layers"][0]["name"] == "dense_1" and data["percent_of_part"]["bram36"] > 0


def test_only_the_latency_strategy_is_modelled(model) -> None:
    with pytest.raises(ValueError, match="Latency"):
        _estimate(model, strategy="Resource")
