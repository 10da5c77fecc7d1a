"""A released beat model package (``beat-model-<release>/``) as the service uses it, checked on load.

``ModelPackage.load(folder)`` reads ``manifest.json`` and the files the service needs, verifying
each one's sha256 against the manifest's file table (a missing or changed file is an error that
names it): ``model/weights.npz`` (the quantized weights of the numpy forward pass),
``model/normalisation.json`` (the feature statistics) and ``hls/ip_interface.json`` (the
accelerator's input and output fixed-point formats; the manifest's ``ip`` section if absent).
The hls4ml project (``hls/hls_project``, for the C emulation) is verified on demand by
``verify_hls_project``, as only the csim backend reads it.

The window: the manifest's ``model`` section says what one model input is, and everything that
knows the window's shape takes it from here (``window``, a ``features.WindowShape``: ``frames``,
``reference``, ``features``, ``inputs`` = frames x features, ``dims``; and ``feature_names``)::

    "model": {"window_frames": 16, "reference_frame": 8, "features": ["flux_low", "flux_mid", "flux_high"], ...}

It is checked against the rest of the package: the accelerator's ``input_count`` and the first
layer of ``weights.npz`` take ``window.inputs`` values, the statistics are those of ``features``, and
the register map has room for that many INPUT registers.

Identity: ``model_id`` is the MODEL_ID register value of this model (``register_map.model_id`` of
the weights' sha256), ``content_sha256`` the release's content hash (``release`` its first 16 hex
digits, the folder's suffix).

No TensorFlow, no hls4ml: numpy (and librosa through ``rhythm_service.features``) only.

Example::

    package = ModelPackage.load("/srv/rhythm/current/model")
    package.window.dims, package.window.inputs           # ((16, 3), 48)
    hex(package.model_id), package.input_format          # ('0xf3dbdb91', FixedPoint(16, 6))
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rhythm_service import features, register_map
from rhythm_service.features import Normalisation

MANIFEST = "manifest.json"
WEIGHTS = "model/weights.npz"
NORMALISATION = "model/normalisation.json"
IP_INTERFACE = "hls/ip_interface.json"
HLS_PROJECT = "hls/hls_project"
REQUIRED_ARRAYS = ("relu/bits", "relu/integer_bits", "dense_1/kernel", "dense_1/bias")
FIRST_KERNEL = "dense_1/kernel"  # (inputs, units): its rows are the flattened window


class ModelPackageError(ValueError):
    """A model package that is missing, incomplete, corrupt or not the kind the service runs."""


def file_sha256(path: Path) -> str:
    """The sha256 (hex) of a file's bytes.

    Example: ``file_sha256(Path("model/weights.npz"))``.
    """
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(frozen=True)
class ModelPackage:
    """A verified model package: its manifest, window, weights, normalisation, formats and identity."""

    folder: Path
    manifest: dict[str, Any]
    weights: dict[str, np.ndarray] = field(repr=False)
    normalisation: Normalisation
    input_format: register_map.FixedPoint
    output_format: register_map.FixedPoint
    weights_sha256: str
    content_sha256: str
    project_name: str
    window: features.WindowShape  # one model input; its inputs are the accelerator's
    feature_names: tuple[str, ...]  # the window's features, in column order

    @property
    def model_id(self) -> int:
        """The MODEL_ID register value the accelerator for this model reports."""
        return register_map.model_id(self.weights_sha256)

    @property
    def release(self) -> str:
        """The release name: first 16 hex digits of the content hash."""
        return self.content_sha256[:16]

    @property
    def hls_project(self) -> Path:
        """The hls4ml project folder (C emulation sources, ``build_lib.sh``)."""
        return self.folder / HLS_PROJECT

    @property
    def format_word(self) -> int:
        """The FORMAT register value of this model's accelerator."""
        return register_map.format_word(self.input_format, self.output_format)

    @classmethod
    def load(cls, folder: str | Path) -> ModelPackage:
        """Read and verify the package in ``folder``; raises ``ModelPackageError`` naming the bad file.

        Args:
            folder: the ``beat-model-<release>/`` folder (holding ``manifest.json``).

        Example: ``ModelPackage.load("build/test-model/package/beat-model-e6cc243a41685dcb").release``.
        """
        root = Path(folder).resolve()
        if not root.is_dir():
            raise ModelPackageError(f"model package folder {root} does not exist (MODEL_DIR)")
        manifest = _read_manifest(root)
        window, names = _read_window(root, manifest)
        files = manifest["files"]
        weights_path = _verified(root, files, WEIGHTS)
        weights_sha256 = files[WEIGHTS]["sha256"]
        declared = manifest["model"].get("weights_sha256")
        if declared is not None and declared != weights_sha256:
            raise ModelPackageError(
                f"{root / MANIFEST}: model.weights_sha256 {declared} differs from the file table's {weights_sha256}"
            )
        weights = _read_weights(weights_path, window)
        normalisation = _read_normalisation(_verified(root, files, NORMALISATION), names)
        input_format, output_format, project_name = _read_ports(root, manifest, window)
        return cls(
            folder=root,
            manifest=manifest,
            weights=weights,
            normalisation=normalisation,
            input_format=input_format,
            output_format=output_format,
            weights_sha256=weights_sha256,
            content_sha256=manifest["content_sha256"],
            project_name=project_name,
            window=window,
            feature_names=names,
        )

    def hls_project_files(self) -> list[str]:
        """The package-relative paths of the hls4ml project's files, in path order."""
        prefix = HLS_PROJECT + "/"
        return sorted(path for path in self.manifest["files"] if path.startswith(prefix))

    def verify_hls_project(self) -> None:
        """Check every file of the hls4ml project against the manifest (raises ``ModelPackageError``).

        Example: ``package.verify_hls_project()`` before compiling the C emulation.
        """
        paths = self.hls_project_files()
        if not paths:
            raise ModelPackageError(f"{self.folder / MANIFEST}: the package has no hls4ml project ({HLS_PROJECT})")
        for path in paths:
            _verified(self.folder, self.manifest["files"], path)

    def describe(self) -> dict[str, Any]:
        """JSON-able identity of the package (for /health and logs)."""
        return {
            "folder": str(self.folder),
            "release": self.release,
            "content_sha256": self.content_sha256,
            "weights_sha256": self.weights_sha256,
            "model_id": f"0x{self.model_id:08X}",
            "input_format": str(self.input_format),
            "output_format": str(self.output_format),
            "window": {"frames": self.window.frames, "reference_frame": self.window.reference,
                       "features": list(self.feature_names), "inputs": self.window.inputs},
            "platform": self.manifest.get("platform"),
        }


def _read_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST
    if not path.is_file():
        raise ModelPackageError(f"{path} is missing: {root} is not a model package")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelPackageError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ModelPackageError(f"{path}: no file table ('files'): not a beat-model manifest")
    if not isinstance(manifest.get("content_sha256"), str):
        raise ModelPackageError(f"{path}: no 'content_sha256'")
    return manifest


def _read_window(root: Path, manifest: dict[str, Any]) -> tuple[features.WindowShape, tuple[str, ...]]:
    """The window and its feature names from the manifest's ``model`` section, checked."""
    where = f"{root / MANIFEST}: model"
    model = manifest.get("model")
    if not isinstance(model, dict):
        raise ModelPackageError(f"{where}: no 'model' section: the model's window is unknown")
    frames, reference, names = (model.get(key) for key in ("window_frames", "reference_frame", "features"))
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
        raise ModelPackageError(f"{where}.window_frames: expected a whole number of frames from 1, got {frames!r}")
    if isinstance(reference, bool) or not isinstance(reference, int) or not 0 <= reference < frames:
        raise ModelPackageError(f"{where}.reference_frame: expected a frame of the window (0 to {frames - 1}), "
                                f"got {reference!r}")
    if (not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names)
            or len(set(names)) != len(names)):
        raise ModelPackageError(f"{where}.features: expected a list of distinct feature names, got {names!r}")
    window = features.WindowShape(frames, reference, len(names))
    try:
        register_map.check_input_count(window.inputs)
    except ValueError as error:
        raise ModelPackageError(f"{where}: a window of {window}: {error}") from error
    return window, tuple(names)


def _verified(root: Path, files: dict[str, Any], relative: str) -> Path:
    """``root/relative`` after checking it is listed in the manifest and its bytes match."""
    path = root / relative
    entry = files.get(relative)
    if not isinstance(entry, dict) or "sha256" not in entry:
        raise ModelPackageError(f"{root / MANIFEST}: {relative} is not in the file table")
    if not path.is_file():
        raise ModelPackageError(f"{path} is missing from the model package")
    actual = file_sha256(path)
    if actual != entry["sha256"]:
        raise ModelPackageError(
            f"{path} is corrupt: sha256 {actual} differs from the manifest's {entry['sha256']}"
        )
    return path


def _read_weights(path: Path, window: features.WindowShape) -> dict[str, np.ndarray]:
    """The arrays of ``weights.npz``, whose first layer must take the window's inputs."""
    try:
        with np.load(path) as data:
            weights = {name: np.asarray(data[name]) for name in data.files}
    except (OSError, ValueError) as error:
        raise ModelPackageError(f"{path}: not a readable .npz ({error})") from error
    missing = [name for name in REQUIRED_ARRAYS if name not in weights]
    if missing:
        raise ModelPackageError(f"{path}: missing arrays {missing}")
    kernel = weights[FIRST_KERNEL]
    if kernel.ndim != 2 or kernel.shape[0] != window.inputs:
        raise ModelPackageError(f"{path}: {FIRST_KERNEL} has shape {kernel.shape}, the manifest's window is {window}")
    return weights


def _read_normalisation(path: Path, names: tuple[str, ...]) -> Normalisation:
    """The feature statistics, which must be those of the window's features."""
    try:
        normalisation = Normalisation.load(path)
    except (ValueError, TypeError, KeyError) as error:
        raise ModelPackageError(f"{path}: not valid feature statistics: {error}") from error
    if tuple(normalisation.feature_names) != names:
        raise ModelPackageError(f"{path}: statistics of features {list(normalisation.feature_names)}, "
                                f"the manifest's window has {list(names)}")
    return normalisation


def _read_ports(
    root: Path, manifest: dict[str, Any], window: features.WindowShape
) -> tuple[register_map.FixedPoint, register_map.FixedPoint, str]:
    """(input format, output format, top name) of the accelerator, which must take the window's inputs."""
    interface = _read_interface(root, manifest)
    try:
        input_format = register_map.FixedPoint.parse(interface["input_format"])
        output_format = register_map.FixedPoint.parse(interface["output_format"])
        input_count = int(interface.get("input_count", window.inputs))
        project_name = str(interface.get("top") or manifest.get("config", {}).get("convert", {})["project_name"])
    except (KeyError, ValueError, TypeError) as error:
        raise ModelPackageError(f"{root / IP_INTERFACE}: bad accelerator interface: {error}") from error
    if input_count != window.inputs:
        raise ModelPackageError(f"{root / IP_INTERFACE}: the accelerator takes {input_count} inputs, "
                                f"the manifest's window is {window}")
    return input_format, output_format, project_name


def _read_interface(root: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    if IP_INTERFACE in manifest["files"]:
        path = _verified(root, manifest["files"], IP_INTERFACE)
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ModelPackageError(f"{path}: not valid JSON ({error})") from error
    if isinstance(manifest.get("ip"), dict):
        return manifest["ip"]
    raise ModelPackageError(f"{root / MANIFEST}: no {IP_INTERFACE} and no 'ip' section: formats unknown")
