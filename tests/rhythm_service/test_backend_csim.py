"""The csim backend: the hls4ml C emulation compiled from the package, cached, atomic, with clear errors."""

from __future__ import annotations

import multiprocessing
import os

import numpy as np
import pytest

from rhythm_service.backends.csim import CsimBackend, CsimError, build_library
from rhythm_service.model_package import ModelPackage, ModelPackageError
from tests.rhythm_service.backend_helpers import (
    held_out_windows,
    package_copy,
    package_fixture,  # noqa: F401 (fixture)
    rewrite_manifest,
)


def test_emulation_matches_the_packaged_testbench(package, tmp_path):
    """The hls4ml project's own testbench data: its inputs, and Keras' outputs within the table's error."""
    project = package.hls_project / "tb_data"
    inputs = np.loadtxt(project / "tb_input_features.dat")
    expected = np.loadtxt(project / "tb_output_predictions.dat")
    predicted = CsimBackend(package, build_dir=tmp_path).predict(inputs)
    assert predicted.shape == expected.shape
    assert np.max(np.abs(predicted - expected)) < 0.03
    assert np.mean((predicted >= 0.5) == (expected >= 0.5)) >= 0.98


def test_library_is_built_once_and_reused(package, tmp_path):
    first = build_library(package, tmp_path)
    stamp = first.stat().st_mtime_ns
    assert first.name == "beat_detector.so" and first.parent.parent == tmp_path.resolve()
    assert build_library(package, tmp_path) == first and first.stat().st_mtime_ns == stamp
    assert (first.parent / "hls_project" / "firmware" / "weights" / "w3.txt").is_file()  # read by the library
    assert not list(package.hls_project.glob("firmware/*.so"))  # the package itself is left untouched
    backend = CsimBackend(package, build_dir=tmp_path)
    assert backend.health()["library"] == str(first)


def _build_in_process(args):
    folder, build_dir = args
    return str(build_library(ModelPackage.load(folder), build_dir))


def test_concurrent_processes_build_once(package, tmp_path):
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        paths = pool.map(_build_in_process, [(package.folder, tmp_path)] * 2)
    assert paths[0] == paths[1]
    builds = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(builds) == 1 and len(list(builds[0].glob("*.so"))) == 1


def test_batch_and_single_agree_and_inputs_saturate(package, tmp_path):
    backend = CsimBackend(package, build_dir=tmp_path)
    x = held_out_windows(package)[:200]
    batch = backend.predict(x)
    assert [backend.predict_one(w) for w in x[:20]] == batch[:20].tolist()
    shape = (1, *package.window.dims)
    assert backend.predict(np.full(shape, 1e6))[0] == backend.predict(np.full(shape, 31.999))[0]
    with pytest.raises(ValueError, match="NaN"):
        backend.predict(np.full(shape, np.nan))


def test_missing_compiler_is_a_clear_error(package, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CsimError, match=r"g\+\+ not found.*INFERENCE_BACKEND=cpu"):
        CsimBackend(package, build_dir=tmp_path / "build")


def test_compile_failure_shows_the_compiler_output(package, tmp_path):
    folder = package_copy(package, tmp_path)
    (folder / "hls/hls_project/firmware/parameters.h").write_text("#error broken on purpose\n")
    rewrite_manifest(folder)
    with pytest.raises(CsimError, match=r"(?s)compiling the C emulation.*broken on purpose"):
        CsimBackend(ModelPackage.load(folder), build_dir=tmp_path / "build")


def test_changed_project_is_refused_before_compiling(package, tmp_path):
    folder = package_copy(package, tmp_path)
    with open(folder / "hls/hls_project/firmware/weights/w3.txt", "a") as handle:
        handle.write(",0.5")
    with pytest.raises(ModelPackageError, match=r"w3.txt is corrupt"):
        CsimBackend(ModelPackage.load(folder), build_dir=tmp_path / "build")


def test_unwritable_build_dir(package, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CsimError, match="cannot create the emulation build directory"):
        CsimBackend(package, build_dir=blocker / "csim")
    assert os.path.isfile(blocker)
