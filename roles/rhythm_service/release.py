"""The service's release, built on the laptop: the ``rhythm_service`` code and the model package, one tarball.

A release is named by the sha256 of its content (code files and the model package), so the same
code and model give the same release id, and a rerun uploads nothing.  Layout inside (and on the
host under ``<service_root>/releases/<id>/``)::

    rhythm_service/...        the service's Python package (no tests, no caches)
    model/manifest.json ...   the model package (MODEL_DIR)

Example::

    release = build_release(Path("build/deploy/packages/beat-model-0123456789abcdef"))
    release.release_id, release.tarball
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from hls_model.step_cache import tree_files
from roles.flow import artifacts_dir, content_tarball

SERVICE_PACKAGE = Path(__file__).resolve().parents[2] / "rhythm_service"
REQUIREMENTS = SERVICE_PACKAGE / "requirements.txt"


@dataclass(frozen=True)
class Release:
    """A built release: its id (16 hex digits) and the tarball."""

    release_id: str
    tarball: Path


def release_files(package: Path) -> dict[str, Path]:
    """Name inside the release -> laptop file: the service's code (no bytecode) and the model package."""
    code = {f"rhythm_service/{path.relative_to(SERVICE_PACKAGE).as_posix()}": path
            for path in tree_files(SERVICE_PACKAGE) if "__pycache__" not in path.parts}
    model = {f"model/{path.relative_to(package).as_posix()}": path for path in tree_files(package)}
    return {**code, **model}


@functools.cache
def build_release(package: Path) -> Release:
    """The release tarball of the service code and the unpacked model ``package`` (built once, under build/deploy;
    hashed once per process: a ``fab`` invocation reads ahead and deploys the same release)."""
    path, ident = content_tarball(release_files(package), artifacts_dir("releases"), "rhythm")
    return Release(ident, path)
