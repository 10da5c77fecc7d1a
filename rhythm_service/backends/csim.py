"""The ``csim`` backend: the package's hls4ml C emulation library, compiled here with g++, called through ctypes.

The packaged hls4ml project has no compiled library (it embeds the absolute path of its weight
files, so it is machine-specific). ``build_library`` copies the project into a build directory
named by its content (the sha256 of the project's manifest entries, the g++ version and the build
directory itself), runs the project's own ``build_lib.sh`` there, and renames the result to
``<build_dir>/<key>/<project>.so``: a process either sees no library or a complete one, and a file
lock makes concurrent processes build it once. Later starts reuse it (about 5 s saved).

The library's ``<project>_double(double *in, double *out)`` runs one window; a batch is a loop of
calls. Inputs are clipped to the input format's range first, so an out-of-range value saturates
as it does on the card (``register_map.to_fixed``) instead of wrapping.

Example::

    backend = CsimBackend(package, build_dir=Path("/var/cache/rhythm/csim"))
    backend.predict(windows)          # (N, frames, features) -> (N,) float64, bit-exact C emulation
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from rhythm_service.backends.cpu import check_windows
from rhythm_service.model_package import ModelPackage

BUILD_TIMEOUT_S = 300


class CsimError(RuntimeError):
    """The C emulation cannot be built or loaded here."""


def default_build_dir() -> Path:
    """``$XDG_CACHE_HOME/rhythm_service/csim`` (``~/.cache/...``), or under the temp dir without a home."""
    cache = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache" if Path.home().is_dir() else None)
    return Path(cache or tempfile.gettempdir()) / "rhythm_service" / "csim"


def compiler_version(compiler: str = "g++") -> str:
    """The first line of ``g++ --version``; CsimError when g++ is missing.

    Example: ``compiler_version()`` -> ``'g++ (Debian 12.2.0-14) 12.2.0'``.
    """
    path = shutil.which(compiler)
    if path is None:
        raise CsimError(f"{compiler} not found on PATH: the C emulation needs a C++ compiler "
                        "(apt-get install g++), or choose INFERENCE_BACKEND=cpu")
    result = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    return result.stdout.splitlines()[0] if result.stdout else path


def build_key(package: ModelPackage, build_dir: Path, compiler: str) -> str:
    """The build's name: sha256 of the project's file entries, the compiler and the build directory.

    Example: ``build_key(package, Path("/tmp/csim"), "g++ 12.2.0")[:16]``.
    """
    files = package.manifest["files"]
    lines = "".join(f"{files[p]['sha256']}  {p}\n" for p in package.hls_project_files())
    lines += f"compiler {compiler}\nbuild_dir {build_dir.resolve()}\n"
    return hashlib.sha256(lines.encode()).hexdigest()[:24]


def build_library(package: ModelPackage, build_dir: Path | None = None) -> Path:
    """The compiled emulation library of ``package`` (built once per content, atomically).

    Args:
        package: the model package (its hls4ml project is verified against the manifest first).
        build_dir: where builds live (default ``default_build_dir()``).

    Example: ``build_library(package, Path("/var/cache/rhythm/csim"))`` -> ``.../<key>/beat_detector.so``.
    """
    compiler = compiler_version()
    root = Path(build_dir or default_build_dir()).resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CsimError(f"cannot create the emulation build directory {root}: {error}") from error
    key = build_key(package, root, compiler)
    target = root / key / f"{package.project_name}.so"
    if target.is_file():
        return target
    with open(root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():  # another process built it while we waited
            return target
        package.verify_hls_project()
        project = root / key / "hls_project"
        if project.exists():
            shutil.rmtree(project)  # left by a build that died
        shutil.copytree(package.hls_project, project)
        for old in (project / "firmware").glob("*.so"):
            old.unlink()
        try:
            result = subprocess.run(["bash", "build_lib.sh"], cwd=project, capture_output=True, text=True,
                                    timeout=BUILD_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as error:
            raise CsimError(f"{project}/build_lib.sh took longer than {BUILD_TIMEOUT_S} s") from error
        built = sorted((project / "firmware").glob("*.so"))
        if result.returncode != 0 or len(built) != 1:
            tail = (result.stderr or result.stdout).strip().splitlines()[:12]  # the first errors are the cause
            raise CsimError(f"compiling the C emulation in {project} failed (status {result.returncode}):\n"
                            + "\n".join(tail))
        os.replace(built[0], target)  # atomic: readers see no library or the whole one
    return target


class CsimBackend:
    """hls4ml's C emulation of the packaged model through ctypes.

    Example: ``CsimBackend(package).predict(np.zeros((3, *package.window.dims)))``.
    """

    name = "csim"

    def __init__(self, package: ModelPackage, build_dir: Path | str | None = None) -> None:
        self.package = package
        self.library_path = build_library(package, Path(build_dir) if build_dir else None)
        weights_dir = self.library_path.parent / "hls_project" / "firmware" / "weights"
        if not any(weights_dir.glob("*.txt")):  # the library would exit(1) on its first call
            raise CsimError(f"{weights_dir} has no weight files: remove {self.library_path.parent} and retry")
        try:
            library = ctypes.CDLL(str(self.library_path))
            self._run = getattr(library, f"{package.project_name}_double")
        except (OSError, AttributeError) as error:
            raise CsimError(f"cannot load the C emulation {self.library_path}: {error}") from error
        self._run.restype = None
        self._run.argtypes = [ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double)]
        fmt = package.input_format
        self._low = fmt.minimum / (1 << fmt.fraction_bits)
        self._high = fmt.maximum / (1 << fmt.fraction_bits)
        self.predict(np.zeros((1, package.window.inputs)))  # loads the weights and the sigmoid table (static state)

    def predict(self, windows: Any) -> np.ndarray:
        """Beat probabilities (N,) float64 of normalised windows (N, frames, features) or (N, inputs).

        Example: ``backend.predict(windows[:100])``.
        """
        x = np.clip(check_windows(windows, self.package.window.dims), self._low, self._high)
        out = np.empty(len(x), dtype=np.float64)
        pointer_type = ctypes.POINTER(ctypes.c_double)
        base, out_base, row = x.ctypes.data, out.ctypes.data, x.strides[0]
        for i in range(len(x)):
            self._run(ctypes.cast(base + i * row, pointer_type), ctypes.cast(out_base + 8 * i, pointer_type))
        return out

    def predict_one(self, window: Any) -> float:
        """The beat probability of one normalised window (frames, features) or (inputs,).

        Example: ``backend.predict_one(np.zeros(package.window.dims))``.
        """
        return float(self.predict(window)[0])

    def close(self) -> None:
        """Nothing to release (numpy arrays and a loaded library go with the object)."""

    def health(self) -> dict[str, Any]:
        """Backend name, the library used and the package identity."""
        return {"backend": self.name, "library": str(self.library_path), "model": self.package.describe()}
