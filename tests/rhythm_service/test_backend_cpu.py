"""The numpy backend: float equals the numpy model (Keras); fixed equals the hls4ml C emulation bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from hls_model.numpy_model import forward
from rhythm_service.backends.cpu import CpuBackend, convert_raw, quantize, real_to_raw
from rhythm_service.backends.csim import CsimBackend
from rhythm_service.backends.hls_firmware import FirmwareError, FixedType, read_firmware
from rhythm_service.model_package import ModelPackage
from tests.rhythm_service.backend_helpers import (
    fresh_song_windows,
    held_out_windows,
    package_copy,
    package_fixture,  # noqa: F401 (fixture)
)


@pytest.fixture(scope="module")
def windows(package):
    return np.concatenate([held_out_windows(package), fresh_song_windows(package)])


@pytest.fixture(scope="module")
def csim(package, tmp_path_factory):
    return CsimBackend(package, build_dir=tmp_path_factory.mktemp("csim"))


def test_fixed_equals_the_c_emulation_on_every_test_window(package, windows, csim):
    fixed = CpuBackend(package, "fixed").predict(windows)
    emulated = csim.predict(windows)
    assert len(windows) > 10_000
    assert np.array_equal(fixed, emulated)  # values, not only decisions: 100 % agreement, max |diff| 0
    assert 0.02 < np.mean(fixed >= 0.5) < 0.98  # both decisions occur


def test_fixed_equals_the_c_emulation_over_the_whole_input_range(package, csim):
    rng = np.random.default_rng(5)
    shape = (3000, *package.window.dims)
    x = np.concatenate([rng.normal(0, 4, shape), rng.uniform(-40, 40, shape)])  # saturating too
    assert np.array_equal(CpuBackend(package, "fixed").predict(x), csim.predict(x))


def test_float_equals_the_numpy_model(package, windows):
    reference = forward(package.weights, windows.astype(np.float32))
    assert np.max(np.abs(CpuBackend(package, "float").predict(windows) - reference)) < 1e-5


def test_fixed_differs_from_float_by_the_table_steps_only(package, windows):
    difference = np.abs(CpuBackend(package, "fixed").predict(windows) - CpuBackend(package, "float").predict(windows))
    assert 0 < difference.max() < 0.05
    assert np.mean((CpuBackend(package, "fixed").predict(windows) >= 0.5)
                   == (CpuBackend(package, "float").predict(windows) >= 0.5)) > 0.99


@pytest.mark.parametrize("arithmetic", ["fixed", "float"])
def test_single_window_path_equals_batch(package, windows, arithmetic):
    backend = CpuBackend(package, arithmetic)
    batch = backend.predict(windows[:300])
    assert [backend.predict_one(w) for w in windows[:300]] == batch.tolist()
    assert backend.predict_one(windows[0].reshape(package.window.inputs).tolist()) == batch[0]
    assert backend.predict(windows[:5].reshape(5, package.window.inputs)).tolist() == batch[:5].tolist()
    assert backend.predict(np.zeros((0, *package.window.dims))).shape == (0,)


@pytest.mark.parametrize("arithmetic", ["fixed", "float"])
@pytest.mark.parametrize("bad", [lambda f, c: np.zeros((2, f, c + 1)), lambda f, c: np.zeros((3, f * c - 1)),
                                 lambda f, c: np.zeros((f,)), lambda f, c: [[1, 2], [3]], lambda f, c: "text"])
def test_bad_shapes_are_refused(package, arithmetic, bad):
    with pytest.raises(ValueError):
        CpuBackend(package, arithmetic).predict(bad(*package.window.dims))


@pytest.mark.parametrize("arithmetic", ["fixed", "float"])
def test_nan_is_refused(package, arithmetic):
    window = np.zeros(package.window.dims)
    window[4, 1] = np.nan
    backend = CpuBackend(package, arithmetic)
    with pytest.raises(ValueError, match="NaN"):
        backend.predict(window[None])
    with pytest.raises(ValueError, match="NaN"):
        backend.predict_one(window)
    with pytest.raises(ValueError, match="shape"):
        backend.predict_one(np.zeros(package.window.inputs + 1))


def test_infinite_and_huge_inputs_saturate(package):
    backend = CpuBackend(package, "fixed")
    window = np.zeros(package.window.dims)
    window[0, 0] = np.inf
    saturated = window.copy()
    saturated[0, 0] = 31.999
    assert backend.predict_one(window) == backend.predict_one(saturated) == backend.predict(window[None])[0]


def test_unknown_arithmetic(package):
    with pytest.raises(ValueError, match="fixed"):
        CpuBackend(package, "double")


def test_quantization_and_overflow_modes():
    halves = np.array([2.5, 3.5, -2.5, 2.25])
    assert quantize(halves, "AP_RND_CONV").tolist() == [2, 4, -2, 2]
    assert quantize(halves, "AP_RND").tolist() == [3, 4, -2, 2]
    assert quantize(halves, "AP_TRN").tolist() == [2, 3, -3, 2]
    assert quantize(halves, "AP_TRN_ZERO").tolist() == [2, 3, -2, 2]
    assert quantize(halves, "AP_RND_ZERO").tolist() == [2, 3, -2, 2]
    assert quantize(halves, "AP_RND_INF").tolist() == [3, 4, -3, 2]
    assert quantize(halves, "AP_RND_MIN_INF").tolist() == [2, 3, -3, 2]
    wrap, saturate = FixedType(8, 3), FixedType(8, 3, False, "AP_RND_CONV", "AP_SAT")
    assert real_to_raw(np.array([4.0, -4.5]), wrap).tolist() == [-128, 112]  # 4.0 wraps to -4.0
    assert real_to_raw(np.array([9.0, -1.0, 7.96875]), saturate).tolist() == [255, 0, 255]
    assert convert_raw(np.array([3 << 5, 5 << 5, 1 << 20]), 11, saturate).tolist() == [2, 2, 255]  # 1.5, 2.5 -> 2


def test_fixed_type_parsing():
    assert FixedType.parse("ap_ufixed<8,3,AP_RND_CONV,AP_SAT,0>") == FixedType(8, 3, False, "AP_RND_CONV", "AP_SAT")
    assert FixedType.parse("ap_fixed<16,6>").fraction == 10
    for bad in ("ap_int<8>", "ap_fixed<8,3,AP_FANCY>", "ap_fixed<8,3,AP_RND,AP_SAT,2>"):
        with pytest.raises(FirmwareError):
            FixedType.parse(bad)


def test_the_firmware_is_read_from_the_project(package):
    firmware = read_firmware(package.hls_project, package.project_name)
    assert [layer.kind for layer in firmware.layers] == ["dense", "relu", "dense", "relu", "dense", "sigmoid"]
    assert firmware.input_count == firmware.layers[0].n_in == package.window.inputs  # the package's window, flattened
    assert firmware.layers[0].accum.width > firmware.input.width
    assert firmware.layers[-1].table_size == 1024


def test_weights_match_the_projects_weight_files(package):
    firmware = read_firmware(package.hls_project, package.project_name)
    dense = [layer for layer in firmware.layers if layer.kind == "dense"]
    for k, (layer, number) in enumerate(zip(dense, (3, 6, 9), strict=True), start=1):
        text = (package.hls_project / f"firmware/weights/w{number}.txt").read_text()
        from_txt = np.array([float(v) for v in text.split(",")])
        from_npz = real_to_raw(package.weights[f"dense_{k}/kernel"].reshape(-1), layer.weight)
        assert np.array_equal(from_npz, real_to_raw(from_txt, layer.weight))


def test_unsupported_layer_is_a_clear_error(package, tmp_path):
    folder = package_copy(package, tmp_path)
    top = folder / "hls/hls_project/firmware/beat_detector.cpp"
    top.write_text(top.read_text().replace("nnet::sigmoid<", "nnet::softmax<"))
    copy = ModelPackage.load(folder)
    with pytest.raises(FirmwareError, match="nnet::softmax is not supported"):
        CpuBackend(copy, "fixed")
    assert CpuBackend(copy, "float").predict(np.zeros((1, *package.window.dims))).shape == (1,)
