"""Shared by the backend tests: their fixtures, real feature windows, package copies to break, a small test FPGA card.

The fixtures (``package``: the loaded CI package; ``cpu``: its fixed-point cpu backend; module-scoped)
are used by importing them: ``from tests.rhythm_service.backend_helpers import package_fixture  # noqa: F401``.

``TestCard`` lays out a sysfs-like PCI tree (``<root>/<dbdf>/{vendor,device,resource0}``) and serves
the beat accelerator's register block (``register_map``) on the mapped 4 KiB ``resource0`` from a
thread: on CONTROL bit 0 it sets STATUS BUSY, clears CONTROL, decodes INPUT[0..n-1] (n the package's
``window.inputs``, reported in INPUT_COUNT) into a window of the package's shape, computes, writes OUTPUT
and CYCLES, then STATUS DONE | IDLE. Deliberately small: the sandbox's card (fpgaops.sandbox.card)
is the full stand-in.

Example::

    with TestCard(tmp_path / "pci", package, CpuBackend(package).predict_one) as card:
        FpgaBackend(package, BackendSettings(pci_root=str(card.root))).predict(x)
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from hls_model.package import write_manifest
from hls_model.step_cache import file_sha256
from rhythm_service import features
from rhythm_service import register_map as rm
from rhythm_service.backends.cpu import CpuBackend
from rhythm_service.model_package import ModelPackage
from tests.model_package import WORK

CARD_DEVICE_ID = 0xF000


@pytest.fixture(scope="module", name="package")
def package_fixture(model_package) -> ModelPackage:
    """The CI model package, loaded (and verified) once per test module."""
    return ModelPackage.load(model_package)


@pytest.fixture(scope="module", name="cpu")
def cpu_fixture(package) -> CpuBackend:
    """The package's fixed-point cpu backend (equal to the C emulation): the reference and the test card's model."""
    return CpuBackend(package, "fixed")


def held_out_windows(package: ModelPackage) -> np.ndarray:
    """Every window (n, frames, features) of the CI model's held-out test songs, normalised with its statistics.

    The CI package's window is the code's default one (``features.windows``' default).
    """
    with np.load(WORK / "generate" / "test.npz") as data:
        frames, offsets = data["features"], data["frame_offsets"]
    songs = [frames[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
    return np.concatenate([features.windows(package.normalisation.apply(song)) for song in songs])


def fresh_song_windows(package: ModelPackage, seed: tuple[int, int, int] = (777, 3, 1)) -> np.ndarray:
    """The windows of a newly generated song (not in the training data): synth audio -> librosa features."""
    from hls_model.synth_audio import generate_song

    song = generate_song(seed)
    return features.windows(package.normalisation.apply(features.extract(song.audio, features.SAMPLE_RATE)))


def package_copy(package: ModelPackage, destination: Path) -> Path:
    """A copy of the package folder to modify (``rewrite_manifest`` makes a modified copy consistent again)."""
    return Path(shutil.copytree(package.folder, destination / package.folder.name))


def rewrite_manifest(folder: Path) -> None:
    """Recompute the manifest's file table after a test changed files on purpose."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.pop("files"), manifest.pop("content_sha256")
    if "model" in manifest:
        manifest["model"]["weights_sha256"] = file_sha256(folder / "model" / "weights.npz")
    write_manifest(folder, manifest)


class TestCard:
    """A thread serving the beat accelerator's registers on ``<root>/<dbdf>/resource0``."""

    __test__ = False  # not a pytest test class

    def __init__(self, root: Path, package: ModelPackage, predict_one: Callable[[np.ndarray], float], *,
                 dbdf: str = "0000:00:1e.0", device_id: int = CARD_DEVICE_ID, model_id: int | None = None,
                 design_id: int = rm.DESIGN_ID, input_count: int | None = None, answers: bool = True) -> None:
        self.root, self.dbdf, self.package = Path(root), dbdf, package
        self.predict_one, self.answers = predict_one, answers
        self.starts = 0
        add_pci_function(self.root, dbdf, rm.ADDRESS_SPAN, device_id=device_id)
        self._fd = os.open(self.root / dbdf / "resource0", os.O_RDWR)
        self._map = mmap.mmap(self._fd, rm.ADDRESS_SPAN, mmap.MAP_SHARED)
        self.words = memoryview(self._map).cast("I")
        identity = {rm.DESIGN_ID_OFFSET: design_id, rm.MODEL_ID: package.model_id if model_id is None else model_id,
                    rm.FORMAT: package.format_word, rm.STATUS: rm.STATUS_IDLE,
                    rm.INPUT_COUNT: package.window.inputs if input_count is None else input_count}
        for offset, value in identity.items():
            self.words[offset // 4] = value
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="test-card", daemon=True)

    def __enter__(self) -> TestCard:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.words.release()
        self._map.close()
        os.close(self._fd)

    def _serve(self) -> None:
        words, fmt = self.words, self.package.input_format
        while not self._stop.is_set():
            if not (self.answers and words[rm.CONTROL // 4] & rm.CONTROL_START):
                time.sleep(0.0001)
                continue
            started = time.perf_counter_ns()
            words[rm.STATUS // 4] = rm.STATUS_BUSY
            words[rm.CONTROL // 4] = 0
            raw = [words[rm.input_offset(k) // 4] for k in range(self.package.window.inputs)]
            window = np.array([rm.from_fixed(word, fmt) for word in raw]).reshape(self.package.window.dims)
            words[rm.OUTPUT // 4] = rm.to_fixed(self.predict_one(window), self.package.output_format) & 0xFFFFFFFF
            words[rm.CYCLES // 4] = (time.perf_counter_ns() - started) // 4
            self.starts += 1
            words[rm.STATUS // 4] = rm.STATUS_DONE | rm.STATUS_IDLE


def add_pci_function(root: Path, dbdf: str, size: int = 0, *, vendor_id: int = 0x1D0F, device_id: int) -> Path:
    """A sysfs-like PCI function folder ``root/dbdf`` with ``vendor``, ``device`` and (size > 0) a ``resource0``."""
    folder = Path(root) / dbdf
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vendor").write_text(f"0x{vendor_id:04x}\n")
    (folder / "device").write_text(f"0x{device_id:04x}\n")
    if size:
        (folder / "resource0").write_bytes(bytes(size))
    return folder
