"""A model with another window than the CI model's, 16 frames x 3 features (48 inputs), through the whole chain:
the cpu and csim backends, the fpga backend's register writes on a test card and on the sandbox card's register
block, backend selection, the API."""

from __future__ import annotations

import mmap
import threading
import time

import numpy as np
import pytest

from fpgaops.sandbox.card.registers import CardRegisters, Design
from rhythm_service import register_map as rm
from rhythm_service.app import close_app, create_app, service_of
from rhythm_service.backends import BackendSettings
from rhythm_service.backends.cpu import CpuBackend
from rhythm_service.backends.csim import CsimBackend
from rhythm_service.backends.fpga import FpgaBackend, FpgaError
from rhythm_service.backends.select import select_backend
from rhythm_service.model_package import ModelPackage
from tests.rhythm_service.backend_helpers import TestCard, add_pci_function
from tests.rhythm_service.service_helpers import free_port, service_config
from tests.window_package import window_package_folder

FRAMES, INPUTS = 16, 48


@pytest.fixture(scope="module")
def wide() -> ModelPackage:
    return ModelPackage.load(window_package_folder(FRAMES))


@pytest.fixture(scope="module")
def wide_cpu(wide) -> CpuBackend:
    return CpuBackend(wide, "fixed")


@pytest.fixture(scope="module")
def windows() -> np.ndarray:
    rng = np.random.default_rng(16)
    return np.concatenate([rng.normal(0, 2, (300, FRAMES, 3)), rng.uniform(-40, 40, (100, FRAMES, 3))])


def fpga_settings(root, **changes) -> BackendSettings:
    return BackendSettings(**{"choice": "fpga", "pci_root": str(root), "fpga_timeout_s": 2.0, **changes})


def test_fixed_equals_the_c_emulation_and_float_keras(wide, wide_cpu, windows, tmp_path):
    fixed = wide_cpu.predict(windows)
    assert np.array_equal(fixed, CsimBackend(wide, build_dir=tmp_path).predict(windows))
    in_range = slice(0, 300)  # float does not saturate the inputs as the fixed point does
    assert np.max(np.abs(CpuBackend(wide, "float").predict(windows[in_range]) - fixed[in_range])) < 0.05
    assert [wide_cpu.predict_one(w) for w in windows[:20]] == fixed[:20].tolist()
    assert 0.05 < np.mean(fixed >= 0.5) < 0.95


def test_the_frames_beyond_the_ci_window_count(wide_cpu, windows):
    later = windows.copy()
    later[:, -1, :] += 4.0  # frame 15: past the first 30 inputs
    assert np.mean(wide_cpu.predict(later) != wide_cpu.predict(windows)) > 0.2


@pytest.mark.parametrize(("shape", "count"), [((2, FRAMES, 3), 2), ((2, INPUTS), 2), ((FRAMES, 3), 1), ((INPUTS,), 1)])
def test_windows_of_the_packages_shape_are_taken_flat_or_not(wide_cpu, windows, shape, count):
    assert wide_cpu.predict(windows[:count].reshape(shape)).tolist() == wide_cpu.predict(windows[:count]).tolist()


def test_windows_of_another_shape_are_refused_naming_the_models(wide_cpu):
    with pytest.raises(ValueError, match=r"shape \(N, 16, 3\) or \(N, 48\) for this model \(16 frames x 3 features\), "
                                         r"got \(2, 10, 3\)"):
        wide_cpu.predict(np.zeros((2, 10, 3)))
    with pytest.raises(ValueError, match=r"shape \(16, 3\) or \(48,\) for this model, got \(30,\)"):
        wide_cpu.predict_one(np.zeros(30))


def test_the_fpga_backend_writes_all_48_inputs_and_reads_the_design_count(wide, wide_cpu, windows, tmp_path):
    with TestCard(tmp_path, wide, wide_cpu.predict_one) as card:
        backend = FpgaBackend(wide, fpga_settings(tmp_path))
        try:
            assert np.array_equal(backend.predict(windows[:60]), wide_cpu.predict(windows[:60]))
            assert backend.predict_one(windows[7]) == wide_cpu.predict_one(windows[7])
            assert backend.health()["input_count"] == INPUTS
            written = [card.words[rm.input_offset(k) // 4] for k in range(INPUTS + 1)]
        finally:
            backend.close()
    expected = [word for _, word in rm.input_writes(windows[7], wide.input_format, INPUTS)]
    assert written == [*expected, 0]  # INPUT[0..47] hold the last window, nothing beyond


def test_a_design_of_another_input_count_is_refused(wide, wide_cpu, tmp_path):
    refused = (rf"takes 30 inputs \(INPUT_COUNT\), the package {wide.release}'s window is 16 frames x 3 features "
               r"\(48 inputs\): load the AFI built from this package")
    with TestCard(tmp_path, wide, wide_cpu.predict_one, input_count=30), pytest.raises(FpgaError, match=refused):
        FpgaBackend(wide, fpga_settings(tmp_path))


def test_the_fpga_backend_on_the_sandbox_cards_register_block_equals_the_emulation(wide, windows, tmp_path):
    """The sandbox card (``fpgaops.sandbox.card.registers``) as it serves an AFI built from this package."""
    csim = CsimBackend(wide, build_dir=tmp_path / "csim")
    resource = add_pci_function(tmp_path / "pci", "0000:00:1e.0", rm.ADDRESS_SPAN, device_id=0xF000) / "resource0"
    stop = threading.Event()
    with open(resource, "r+b") as handle, mmap.mmap(handle.fileno(), rm.ADDRESS_SPAN, mmap.MAP_SHARED) as page:
        registers = CardRegisters(page, Design.of_package(wide, csim.predict_one))

        def serve() -> None:  # what the sandbox endpoint's poller does for each attached slot
            while not stop.is_set():
                if not registers.poll():
                    time.sleep(0.0001)

        card = threading.Thread(target=serve, daemon=True)
        card.start()
        try:
            backend = FpgaBackend(wide, fpga_settings(tmp_path / "pci"))
            try:
                assert np.array_equal(backend.predict(windows[:40]), csim.predict(windows[:40]))
                assert backend.health()["input_count"] == INPUTS
            finally:
                backend.close()
        finally:
            stop.set()
            card.join(5)
            registers.words.release()


def test_auto_selects_the_card_running_this_window(wide, wide_cpu, tmp_path):
    with TestCard(tmp_path, wide, wide_cpu.predict_one):
        backend, reasons = select_backend(fpga_settings(tmp_path, choice="auto"), wide)
        try:
            assert backend.name == "fpga" and reasons[-1].startswith("fpga: slot 0")
        finally:
            backend.close()


@pytest.fixture(scope="module")
def client(wide):
    app = create_app(service_config(wide.folder, f"http://127.0.0.1:{free_port()}", max_windows=50))
    yield app.test_client()
    close_app(app)


def test_the_api_predicts_windows_of_the_packages_shape(client, wide_cpu, windows):
    service = service_of(client.application)
    response = client.post("/api/predict", json={"windows": windows[:5].tolist(), "normalised": True})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["probabilities"] == wide_cpu.predict(windows[:5].astype(np.float32)).tolist()
    health = client.get("/health").get_json()
    assert health["model"]["window"] == {"frames": FRAMES, "reference_frame": FRAMES // 2,
                                         "features": list(service.package.feature_names), "inputs": INPUTS}


@pytest.mark.parametrize(("frames", "message"), [
    (10, "windows[0]: expected 16 frames of 3 numbers (the model's window)"),
    (17, "windows[0]: expected 16 frames of 3 numbers (the model's window)"),
])
def test_the_api_refuses_windows_of_another_length_naming_the_models(client, frames, message):
    response = client.post("/api/predict", json={"windows": [[[0.0, 0.0, 0.0]] * frames]})
    assert response.status_code == 400 and response.get_json()["error"] == message
    missing = client.post("/api/predict", json={}).get_json()["error"]
    assert missing == 'windows: missing; send {"windows": [[[f, f, f] x 16 frames], ...]}'
