"""ModelPackage.load: the CI package's identity, formats and window, and a clear error for each broken package."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rhythm_service import register_map as rm
from rhythm_service.model_package import ModelPackage, ModelPackageError
from tests.rhythm_service.backend_helpers import (
    package_copy,
    package_fixture,  # noqa: F401 (fixture)
    rewrite_manifest,
)
from tests.window_package import window_package_folder


def test_loads_the_ci_package(package, model_package):
    manifest = json.loads((model_package / "manifest.json").read_text())
    assert package.folder == model_package.resolve()
    assert package.release == model_package.name.removeprefix("beat-model-")
    assert package.content_sha256 == manifest["content_sha256"]
    assert package.weights_sha256 == manifest["files"]["model/weights.npz"]["sha256"]
    assert f"0x{package.model_id:08X}" == manifest["register_map"]["model_id"]
    assert f"0x{package.format_word:08X}" == manifest["register_map"]["format_word"]
    assert package.input_format == rm.FixedPoint(16, 6) == package.output_format
    assert package.project_name == "beat_detector"
    assert (package.hls_project / "build_lib.sh").is_file()
    assert package.weights["dense_1/kernel"].shape == (package.window.inputs, 16)
    assert package.normalisation.clip == 8.0
    package.verify_hls_project()
    assert json.loads(json.dumps(package.describe()))["model_id"] == manifest["register_map"]["model_id"]


def test_the_window_is_the_manifests(package, model_package):
    model = json.loads((model_package / "manifest.json").read_text())["model"]
    assert package.window.frames == model["window_frames"] and package.window.reference == model["reference_frame"]
    assert package.feature_names == tuple(model["features"]) and package.window.features == len(model["features"])
    assert package.window.dims == (model["window_frames"], len(model["features"]))
    inputs = package.manifest["ip"]["input_count"]
    assert package.window.inputs == model["window_frames"] * len(model["features"]) == inputs
    assert model["architecture"].startswith(f"window({package.window.frames}x{package.window.features}) -> QDense")
    assert package.describe()["window"] == {"frames": package.window.frames,
                                            "reference_frame": package.window.reference,
                                            "features": list(package.feature_names), "inputs": package.window.inputs}
    assert str(package.window) == (f"{package.window.frames} frames x {package.window.features} features "
                                   f"({package.window.inputs} inputs)")


def test_missing_folder_and_manifest(tmp_path):
    with pytest.raises(ModelPackageError, match="does not exist"):
        ModelPackage.load(tmp_path / "nowhere")
    with pytest.raises(ModelPackageError, match=r"manifest.json is missing"):
        ModelPackage.load(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ModelPackageError, match="not valid JSON"):
        ModelPackage.load(tmp_path)
    (tmp_path / "manifest.json").write_text('{"name": "x"}')
    with pytest.raises(ModelPackageError, match="no file table"):
        ModelPackage.load(tmp_path)


@pytest.mark.parametrize("relative", ["model/weights.npz", "model/normalisation.json", "hls/ip_interface.json"])
def test_corrupt_file_is_named(package, tmp_path, relative):
    folder = package_copy(package, tmp_path)
    path = folder / relative
    path.write_bytes(path.read_bytes()[:-1] + b"?")
    with pytest.raises(ModelPackageError, match=f"{relative}.* is corrupt: sha256"):
        ModelPackage.load(folder)


@pytest.mark.parametrize("relative", ["model/weights.npz", "model/normalisation.json"])
def test_missing_file_is_named(package, tmp_path, relative):
    folder = package_copy(package, tmp_path)
    (folder / relative).unlink()
    with pytest.raises(ModelPackageError, match=f"{relative} is missing"):
        ModelPackage.load(folder)


def test_changed_hls_project_is_found_on_verify(package, tmp_path):
    folder = package_copy(package, tmp_path)
    with open(folder / "hls/hls_project/firmware/parameters.h", "a") as handle:
        handle.write("// changed\n")
    copy = ModelPackage.load(folder)  # the service's own files are intact
    with pytest.raises(ModelPackageError, match=r"parameters.h is corrupt"):
        copy.verify_hls_project()


def test_weights_without_the_network_arrays(package, tmp_path):
    folder = package_copy(package, tmp_path)
    np.savez(folder / "model/weights.npz", other=np.zeros(3))
    rewrite_manifest(folder)
    with pytest.raises(ModelPackageError, match=r"weights.npz: missing arrays"):
        ModelPackage.load(folder)


def test_interface_from_manifest_when_file_absent(package, tmp_path):
    folder = package_copy(package, tmp_path)
    (folder / "hls/ip_interface.json").unlink()
    rewrite_manifest(folder)
    assert ModelPackage.load(folder).input_format == rm.FixedPoint(16, 6)


@pytest.mark.parametrize(("relative", "changes", "message"), [
    ("hls/ip_interface.json", {"input_format": "float"}, "bad accelerator interface"),
    ("hls/ip_interface.json", {"input_count": 40}, r"takes 40 inputs, the manifest's window is \d+ frames x 3"),
    ("model/normalisation.json", {"sample_rate": 44100}, "not valid feature statistics"),
])
def test_bad_content_in_a_consistent_package(package, tmp_path, relative, changes, message):
    """A file changed and re-listed in the manifest (hashes fine): its content is refused."""
    folder = package_copy(package, tmp_path)
    path = folder / relative
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    rewrite_manifest(folder)
    with pytest.raises(ModelPackageError, match=message):
        ModelPackage.load(folder)


def test_manifest_weights_hash_must_match_file_table(package, tmp_path):
    folder = package_copy(package, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["model"]["weights_sha256"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelPackageError, match=r"model.weights_sha256 0000"):
        ModelPackage.load(folder)


def _with_model(package, tmp_path, **changes):
    """A consistent copy of the package whose manifest's ``model`` section has ``changes`` (None deletes a key)."""
    folder = package_copy(package, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["model"].update(changes)
    manifest["model"] = {key: value for key, value in manifest["model"].items() if value is not None}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    rewrite_manifest(folder)
    return folder


@pytest.mark.parametrize(("changes", "message"), [
    ({"window_frames": None}, r"model.window_frames: expected a whole number of frames from 1, got None"),
    ({"window_frames": 0}, "model.window_frames: expected a whole number"),
    ({"window_frames": "16"}, "model.window_frames: expected a whole number"),
    ({"window_frames": True}, "model.window_frames: expected a whole number"),
    ({"reference_frame": -1}, r"model.reference_frame: expected a frame of the window \(0 to \d+\), got -1"),
    ({"window_frames": 4, "reference_frame": 4}, r"model.reference_frame: .*\(0 to 3\), got 4"),
    ({"features": []}, "model.features: expected a list of distinct feature names"),
    ({"features": ["a", "a", "b"]}, "model.features: expected a list of distinct feature names"),
    ({"features": "abc"}, "model.features: expected a list"),
    ({"window_frames": 400}, r"a window of 400 frames x 3 features \(1200 inputs\): .*1 to 960"),
])
def test_a_window_the_manifest_does_not_state_well_is_refused(package, tmp_path, changes, message):
    with pytest.raises(ModelPackageError, match=message):
        ModelPackage.load(_with_model(package, tmp_path, **changes))


def test_a_manifest_without_its_model_section_is_refused(package, tmp_path):
    folder = package_copy(package, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["model"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    rewrite_manifest(folder)
    with pytest.raises(ModelPackageError, match="no 'model' section: the model's window is unknown"):
        ModelPackage.load(folder)


def test_a_window_the_weights_do_not_take_is_refused(package, tmp_path):
    frames = package.window.frames + 6
    inputs = package.window.inputs
    with pytest.raises(ModelPackageError, match=rf"weights.npz: dense_1/kernel has shape \({inputs}, 16\), "
                                                rf"the manifest's window is {frames} frames x 3 features"):
        ModelPackage.load(_with_model(package, tmp_path, window_frames=frames))


def test_statistics_of_other_features_are_refused(package, tmp_path):
    names = ["a", "b", "c"]
    with pytest.raises(ModelPackageError, match=r"normalisation.json: statistics of features \[.*\], "
                                                r"the manifest's window has \['a', 'b', 'c'\]"):
        ModelPackage.load(_with_model(package, tmp_path, features=names))


def test_a_package_with_another_window_loads_with_it():
    wide = ModelPackage.load(window_package_folder(16))
    assert (wide.window.frames, wide.window.reference, wide.window.features, wide.window.inputs) == (16, 8, 3, 48)
    assert wide.window.dims == (16, 3) and wide.weights["dense_1/kernel"].shape == (48, 16)
    assert wide.manifest["model"]["architecture"].startswith("window(16x3) -> QDense 16")
    wide.verify_hls_project()
