"""The CI model package with another window length: a real package for a window of any number of frames.

Training and converting a second model would take a minute; instead ``window_package_folder(frames)``
rewrites a copy of the CI package (``tests.model_package``) for ``frames`` frames of the same
features, consistently in every file the service, the C emulation and the card read:

- ``model/weights.npz``: the first kernel grows (or shrinks) to ``frames x features`` rows, row ``k``
  being the CI kernel's row ``k mod n`` (the other layers are unchanged);
- ``hls/hls_project``: the window array (``input_t window[F*C]`` in the top, the bridge and the
  testbench), the first dense layer's ``n_in``/``n_zeros``/``n_nonzeros`` and weight array (``w<N>.h``,
  ``w<N>.txt``, its ``load_weights_from_txt`` size), the config's ``InputShapes``; the testbench data
  (made for the CI window) is left out;
- ``hls/ip_interface.json`` and the manifest's ``ip`` section: ``input_count``;
- ``cl/``: the accelerator re-rendered for the new input count and MODEL_ID;
- ``manifest.json``: ``model.window_frames``, ``reference_frame`` (the middle), ``architecture``,
  ``weights_sha256``, ``register_map.model_id``, and the file table and content hash.

The metrics stay the CI model's. Built once under ``build/test-model/window/`` (a file lock keeps
concurrent runs from building it twice) and reused while the CI package is the same.

Example::

    from tests.window_package import window_package_folder
    folder = window_package_folder(16)       # 16 frames x 3 features: 48 inputs
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from hls_model.cl_wrapper import render_cl
from hls_model.ip_interface import IpInterface
from hls_model.package import NAME, tarball, write_manifest
from hls_model.step_cache import file_sha256
from rhythm_service import register_map as rm
from tests.model_package import WORK, model_package_folder

FIRST_DENSE = re.compile(r"nnet::dense<input_t, \w+, (\w+)>\(\w+, \w+, (w\d+), b\d+\);")


def window_package_folder(frames: int) -> Path:
    """The CI package rewritten for a window of ``frames`` frames (built the first time, then reused)."""
    source = model_package_folder()
    out = WORK / "window" / f"{source.name}-{frames}"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not out.is_dir():
            staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out.parent))
            _rewrite(Path(shutil.copytree(source, staging / source.name)), frames)
            staging.rename(out)
        (folder,) = (p for p in out.iterdir() if p.is_dir())
        return folder


def window_package_tarball(frames: int) -> Path:
    """The release tarball of ``window_package_folder(frames)``, beside it."""
    folder = window_package_folder(frames)
    path = folder.parent / f"{folder.name}.tar.gz"
    if not path.is_file():
        tarball(folder, path)
    return path


def _rewrite(folder: Path, frames: int) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    model = manifest["model"]
    n_features, old_frames = len(model["features"]), model["window_frames"]
    inputs = frames * n_features
    kernel = _rewrite_weights(folder / "model" / "weights.npz", inputs)
    _rewrite_hls_project(folder / "hls" / "hls_project", f"{old_frames}*{n_features}", f"{frames}*{n_features}",
                         kernel)
    interface = IpInterface(**{**IpInterface.load(folder / "hls" / "ip_interface.json").as_dict(),
                               "input_count": inputs})
    interface.save(folder / "hls" / "ip_interface.json")
    weights_sha256 = file_sha256(folder / "model" / "weights.npz")
    if (folder / "cl").is_dir():
        render_cl(interface, rm.model_id(weights_sha256), manifest["cl"]["name"], folder / "cl")
    model.update(window_frames=frames, reference_frame=frames // 2, weights_sha256=weights_sha256,
                 architecture=re.sub(r"^window\(\d+x", f"window({frames}x", model["architecture"]))
    manifest["register_map"]["model_id"] = f"0x{rm.model_id(weights_sha256):08X}"
    manifest["ip"] = interface.as_dict()
    manifest.pop("files"), manifest.pop("content_sha256")
    release = write_manifest(folder, manifest)["content_sha256"][:16]
    folder.rename(folder.parent / f"{NAME}-{release}")


def _rewrite_weights(path: Path, inputs: int) -> np.ndarray:
    """Give the first kernel ``inputs`` rows (row k = the old row k mod n); returns the new kernel."""
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["dense_1/kernel"] = np.resize(arrays["dense_1/kernel"], (inputs, arrays["dense_1/kernel"].shape[1]))
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    return arrays["dense_1/kernel"]


def _rewrite_hls_project(project: Path, old_window: str, new_window: str, kernel: np.ndarray) -> None:
    """The project's window array, first dense layer and its weights for ``kernel`` (window "F*C" -> "F'*C")."""
    firmware = project / "firmware"
    (top,) = firmware.glob("*.cpp")
    config, weights = FIRST_DENSE.search(top.read_text()).groups()
    sources = [*project.glob("*.cpp"), top, *firmware.glob("*.h")]
    for source in sources:
        source.write_text(source.read_text().replace(f"[{old_window}]", f"[{new_window}]")
                          .replace(f", {old_window}>", f", {new_window}>"))
    assert all(new_window in p.read_text() for p in (top, project / f"{top.stem}_bridge.cpp"))
    size, zeros = kernel.size, int(np.sum(kernel == 0))
    top.write_text(re.sub(rf"(load_weights_from_txt<\w+, )\d+(>\({weights},)", rf"\g<1>{size}\2", top.read_text()))
    _replace_in_struct(firmware / "parameters.h", config,
                       {"n_in": kernel.shape[0], "n_zeros": zeros, "n_nonzeros": size - zeros})
    values = ", ".join(f"{v:.6f}" for v in kernel.ravel())
    (firmware / "weights" / f"{weights}.txt").write_text(values)
    header = firmware / "weights" / f"{weights}.h"
    text = re.sub(rf"\b{weights}\[\d+\]", f"{weights}[{size}]", header.read_text())
    for line, value in (("Numpy array shape", list(kernel.shape)), ("Min", f"{kernel.min():.12f}"),
                        ("Max", f"{kernel.max():.12f}"), ("Number of zeros", zeros)):
        text = re.sub(rf"//{line} .*", f"//{line} {value}", text)
    header.write_text(re.sub(r"= \{[^}]*\}", "= {" + values + "}", text))
    config_yml = project / "hls4ml_config.yml"
    old, new = (f"  window:\n  - {window.split('*')[0]}\n" for window in (old_window, new_window))
    config_yml.write_text(config_yml.read_text().replace(old, new))
    for data in (project / "tb_data").glob("*.dat"):  # made for the CI window
        data.unlink()


def _replace_in_struct(path: Path, struct: str, values: dict[str, int]) -> None:
    """Set ``static const unsigned <name> = <value>;`` members of ``struct <struct>`` in a header."""
    text = path.read_text()
    start = text.index(f"struct {struct} ")
    end = text.index("};", start)
    body = text[start:end]
    for name, value in values.items():
        body, count = re.subn(rf"(static const unsigned {name} = )\d+;", rf"\g<1>{value};", body)
        assert count == 1, f"{path}: struct {struct} has no {name}"
    path.write_text(text[:start] + body + text[end:])
