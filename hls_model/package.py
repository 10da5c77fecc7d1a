"""The release: an artifact folder, its ``manifest.json``, and a deterministic tarball named by its content.

Layout of ``beat-model-<release>/`` (``<release>`` = first 16 hex digits of the content hash)::

    manifest.json                    what everything is (see ``build_manifest``)
    model/model.h5                   the Keras model (QKeras layers; load with hls_model.model.load_model)
    model/weights.npz                quantized weights for the numpy forward pass (hls_model.numpy_model)
    model/normalisation.json         feature statistics (rhythm_service.features.Normalisation)
    hls/hls_project/...              the hls4ml project (no compiled .so, no keras_model.keras copy)
    hls/ip_interface.json            the HLS top's ports and formats
    cl/<cl_name>.sv                  the F2 Custom Logic top (F2 only)
    cl/beat_ocl_accelerator.sv       the register map + HLS instance
    build/hls_build.sh               HLS synthesis + IP export on the dev host
    build/dcp_build.sh               HDK DCP build (F2 only)
    metrics/evaluation.json          per-song scores of the Keras model on held-out songs
    metrics/emulation.json           agreement of the C emulation with Keras, its own scores

The content hash is the sha256 of the ``sha256sum``-style lines (``<sha256>  <path>``, sorted by
path) of every file but ``manifest.json``; it names the release, so the same trained model,
configuration and code always give the same name. The tarball ``beat-model-<release>.tar.gz``
holds the folder with files in path order, mtime 0, owner 0:0, modes 0644/0755, and a gzip
header without name or time: the same folder always gives the same bytes.

Example::

    from hls_model.package import tarball
    tarball(Path("out/beat-model-0123456789abcdef"), Path("out/beat-model-0123456789abcdef.tar.gz"))
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import platform
import tarfile
from importlib import metadata
from pathlib import Path

from hls_model.step_cache import file_sha256, tree_files

NAME = "beat-model"
MANIFEST = "manifest.json"
MANIFEST_FORMAT_VERSION = 1
VERSIONED_PACKAGES = (
    "tensorflow-cpu", "keras", "QKeras", "hls4ml", "numpy", "scipy", "librosa", "soundfile", "mir_eval",
    "scikit-learn",
)


def versions() -> dict[str, str]:
    """Python and the versions of the packages the model was made with (absent ones are skipped)."""
    found = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def file_table(folder: Path) -> dict[str, dict]:
    """``{relative path: {"sha256", "bytes"}}`` of every file in ``folder`` but the manifest, in path order."""
    return {
        path.relative_to(folder).as_posix(): {"sha256": file_sha256(path), "bytes": path.stat().st_size}
        for path in tree_files(folder)
        if path.relative_to(folder).as_posix() != MANIFEST
    }


def content_sha256(files: dict[str, dict]) -> str:
    """The release's content hash from a ``file_table``.

    Example: ``content_sha256(file_table(folder))[:16]`` names the release.
    """
    lines = "".join(f"{entry['sha256']}  {path}\n" for path, entry in sorted(files.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def write_manifest(folder: Path, manifest: dict) -> dict:
    """Add ``files`` and ``content_sha256`` to ``manifest`` and write it as ``folder/manifest.json``.

    Example: ``write_manifest(folder, {"platform": "f2", ...})["content_sha256"]``.
    """
    files = file_table(folder)
    complete = {**manifest, "files": files, "content_sha256": content_sha256(files)}
    (folder / MANIFEST).write_text(json.dumps(complete, indent=2, sort_keys=True) + "\n")
    return complete


def verify(folder: Path) -> list[str]:
    """Problems of an artifact folder against its manifest (empty when every file matches).

    Example: ``assert not verify(Path("beat-model-0123456789abcdef"))``.
    """
    manifest = json.loads((folder / MANIFEST).read_text())
    actual = file_table(folder)
    problems = [f"missing: {p}" for p in manifest["files"] if p not in actual]
    problems += [f"not in the manifest: {p}" for p in actual if p not in manifest["files"]]
    problems += [
        f"changed: {p}"
        for p, entry in manifest["files"].items()
        if p in actual and actual[p]["sha256"] != entry["sha256"]
    ]
    if content_sha256(manifest["files"]) != manifest["content_sha256"]:
        problems.append("content_sha256 does not match the file table")
    return problems


def tarball(folder: Path, destination: Path) -> str:
    """Write ``folder`` as a reproducible ``.tar.gz`` at ``destination``; returns the tarball's sha256.

    Example: ``tarball(Path("beat-model-0123456789abcdef"), Path("beat-model-0123456789abcdef.tar.gz"))``.
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directories = sorted({p.parent for p in tree_files(folder)} | {folder}, key=lambda p: p.as_posix())
        entries = sorted([*directories, *tree_files(folder)], key=lambda p: p.relative_to(folder.parent).as_posix())
        for path in entries:
            info = tar.gettarinfo(str(path), arcname=path.relative_to(folder.parent).as_posix())
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            info.mode = 0o755 if path.is_dir() or path.stat().st_mode & 0o100 else 0o644
            if path.is_dir():
                tar.addfile(info)
            else:
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
    with open(destination, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(buffer.getvalue())
    return file_sha256(destination)
