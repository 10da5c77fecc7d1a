"""Backend selection: explicit choices or a clear error; auto falls back fpga -> csim -> cpu and says why."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from rhythm_service.backends import BackendSettings
from rhythm_service.backends.select import BackendUnavailable, select_backend
from rhythm_service.model_package import ModelPackage
from tests.rhythm_service.backend_helpers import TestCard, cpu_fixture, package_copy, package_fixture  # noqa: F401 (fixtures)


@pytest.fixture
def make_settings(tmp_path_factory):
    build_dir = tmp_path_factory.getbasetemp() / "select-csim"

    def make(pci_root, **changes) -> BackendSettings:
        return BackendSettings(**{"pci_root": str(pci_root), "csim_build_dir": str(build_dir),
                                  "fpga_timeout_s": 2.0, **changes})

    return make


def close(backend) -> None:
    if hasattr(backend, "close"):
        backend.close()


def test_auto_takes_the_fpga_when_its_model_matches(package, cpu, tmp_path, make_settings, caplog):
    with TestCard(tmp_path, package, cpu.predict_one), caplog.at_level(logging.INFO, logger="test-select"):
        backend, reasons = select_backend(make_settings(tmp_path), package, logging.getLogger("test-select"))
        try:
            assert backend.name == "fpga"
            assert reasons == [f"fpga: slot 0 (0000:00:1e.0) runs model 0x{package.model_id:08X}"]
            x = np.zeros((2, *package.window.dims))
            assert backend.predict(x).tolist() == cpu.predict(x).tolist()
        finally:
            close(backend)
    assert "inference backend: fpga" in caplog.text


def test_auto_without_an_fpga_takes_csim(package, tmp_path, make_settings):
    backend, reasons = select_backend(make_settings(tmp_path), package)
    assert backend.name == "csim"
    assert reasons[0].startswith("fpga skipped: no FPGA (PCI vendor 0x1d0f)") and reasons[1].startswith("csim: ")


def test_auto_skips_a_card_with_another_model(package, cpu, tmp_path, make_settings):
    with TestCard(tmp_path, package, cpu.predict_one, model_id=0xABCDEF01):
        backend, reasons = select_backend(make_settings(tmp_path), package)
    assert backend.name == "csim" and "runs model 0xABCDEF01" in reasons[0]


def test_auto_with_use_fpga_false_never_touches_the_card(package, cpu, tmp_path, make_settings):
    with TestCard(tmp_path, package, cpu.predict_one) as card:
        backend, reasons = select_backend(make_settings(tmp_path, use_fpga=False), package)
        assert card.starts == 0
    assert backend.name == "csim" and reasons[0] == "fpga skipped: USE_FPGA is false"


def test_auto_without_a_compiler_takes_cpu(package, tmp_path, make_settings, monkeypatch, caplog):
    monkeypatch.setenv("PATH", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="test-select"):
        backend, reasons = select_backend(make_settings(tmp_path, csim_build_dir=str(tmp_path / "b")), package,
                                          logging.getLogger("test-select"))
    assert backend.name == "cpu" and backend.arithmetic == "fixed"
    assert reasons[1].startswith("csim skipped: g++ not found") and reasons[2] == "cpu: numpy, fixed arithmetic"
    assert "csim skipped" in caplog.text


def test_auto_falls_back_to_float_when_the_project_cannot_be_reproduced(package, tmp_path, make_settings,
                                                                       monkeypatch):
    folder = package_copy(package, tmp_path)
    top = folder / "hls/hls_project/firmware/beat_detector.cpp"
    top.write_text(top.read_text().replace("nnet::sigmoid<", "nnet::softmax<"))
    monkeypatch.setenv("PATH", str(tmp_path))
    backend, reasons = select_backend(make_settings(tmp_path / "pci", csim_build_dir=str(tmp_path / "b")),
                                      ModelPackage.load(folder))
    assert backend.name == "cpu" and backend.arithmetic == "float"
    assert "cpu fixed skipped" in reasons[2] and reasons[3] == "cpu: numpy, float arithmetic"


def test_explicit_choices(package, cpu, tmp_path, make_settings):
    backend, reasons = select_backend(make_settings(tmp_path, choice="cpu", cpu_arithmetic="float"), package)
    assert (backend.name, backend.arithmetic, reasons) == ("cpu", "float", ["cpu: numpy, float arithmetic"])
    backend, _ = select_backend(make_settings(tmp_path, choice="csim"), package)
    assert backend.name == "csim"
    with TestCard(tmp_path, package, cpu.predict_one):
        backend, _ = select_backend(make_settings(tmp_path, choice="fpga"), package)
        close(backend)
    assert backend.name == "fpga"


@pytest.mark.parametrize(("changes", "message"), [
    ({"choice": "fpga"}, "INFERENCE_BACKEND=fpga: no FPGA"),
    ({"choice": "fpga", "use_fpga": False}, "INFERENCE_BACKEND=fpga but USE_FPGA is false"),
    ({"choice": "gpu"}, "INFERENCE_BACKEND='gpu': choose one of auto, fpga, csim, cpu"),
    ({"choice": "cpu", "cpu_arithmetic": "double"}, r"INFERENCE_BACKEND=cpu \(double\)"),
])
def test_explicit_choice_that_cannot_run_is_a_clear_error(package, tmp_path, make_settings, changes, message):
    with pytest.raises(BackendUnavailable, match=message):
        select_backend(make_settings(tmp_path, **changes), package)


def test_explicit_csim_without_a_compiler(package, tmp_path, make_settings, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackendUnavailable, match=r"INFERENCE_BACKEND=csim: g\+\+ not found"):
        select_backend(make_settings(tmp_path, choice="csim", csim_build_dir=str(tmp_path / "b")), package)
