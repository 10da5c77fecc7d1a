"""Wheelhouses: a folder of wheels for a pinned requirements file, built once on the laptop.

A host without an index (the sandbox's, or one behind a strict firewall) installs a venv from
the wheelhouse (``operations.venv.venv(..., wheelhouse=...)``: ``pip install --no-index
--find-links``).  The folder is keyed by the requirements file's sha256 (and the target
interpreter), built into a temporary folder beside it and renamed into place: a folder that exists
is complete, so it is reused offline, and a failed or interrupted build leaves nothing behind.

Building: ``pip download --prefer-binary`` (wheels wherever they exist), then every dependency that
only publishes a source distribution is built into a wheel with ``pip wheel --no-deps`` (qkeras
0.9.0 requires ``pyparser``, which has no wheel): the host then installs wheels only.  For another
target (``platforms``) downloads are ``--only-binary=:all:``, since a source build on the laptop
would not fit the host.

The uv that builds venvs on hosts comes the same way: ``uv_wheel("x86_64")`` is the pinned wheel
of ``requirements/uv.txt`` (checked against its sha256) for a host of that machine, downloaded once.

Example::

    wheels = ensure_wheelhouse(Path("hls_model/requirements.txt"))  # build/wheelhouse/3f9a...-cp311/
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from fpgaops.sandbox.config import PROJECT_ROOT

DEFAULT_ROOT = PROJECT_ROOT / "build" / "wheelhouse"
UV_REQUIREMENTS = PROJECT_ROOT / "requirements" / "uv.txt"
UV_VERSION = re.search(r"^uv==(\S+)", UV_REQUIREMENTS.read_text(), re.MULTILINE).group(1)
UV_PLATFORMS = {"x86_64": "manylinux2014_x86_64"}  # host machine (uname -m) -> the pip platform of its uv wheel
_uv_lock = threading.Lock()
_SOURCE_PACKAGE = re.compile(r"^(?:Collecting|Processing) (\S+)", re.MULTILINE)
_MISSING_REQUIREMENT = (
    re.compile(r"No matching distribution found for (\S+)"),
    re.compile(r"Could not find a version that satisfies the requirement (\S+)"),
)


class WheelhouseError(RuntimeError):
    """The wheelhouse could not be built (the message names the requirement and what to do)."""


@functools.cache
def python_tag(python: str) -> str:
    """``cp311`` for a CPython 3.11 interpreter (the tag its wheels carry); WheelhouseError if it does not run."""
    if python == sys.executable:
        return f"cp{sys.version_info[0]}{sys.version_info[1]}"
    try:
        done = subprocess.run([python, "-c", "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')"],
                              capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as err:
        raise WheelhouseError(f"cannot run the python {python!r} that downloads the wheels: {err}") from None
    return done.stdout.strip()


def wheelhouse_key(requirements: Path, tag: str) -> str:
    """The folder name of a wheelhouse: the requirements file's sha256 (first 16 hex digits) and the target tag."""
    return f"{hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]}-{tag}"


def failed_requirement(pip_output: str) -> str | None:
    """The requirement pip could not get, from its output, or None when it does not say."""
    for pattern in _MISSING_REQUIREMENT:
        if match := pattern.search(pip_output):
            return match.group(1)
    return None


def failed_source_build(pip_output: str) -> str | None:
    """The package whose source build (metadata or wheel) failed, from pip's output, or None."""
    if "metadata-generation-failed" not in pip_output and "Failed to build" not in pip_output:
        return None
    names = _SOURCE_PACKAGE.findall(pip_output)
    return names[-1].rsplit("/", 1)[-1] if names else None


def ensure_wheelhouse(
    requirements: Path,
    root: Path = DEFAULT_ROOT,
    *,
    python: str = sys.executable,
    platforms: Sequence[str] = (),
    python_version: str | None = None,
    timeout_s: float = 3600,
) -> Path:
    """The folder of wheels for ``requirements`` under ``root``, downloaded by pip when it does not exist yet.

    Args:
        requirements: the pinned requirements file (laptop path).
        root: where wheelhouses live; each is ``<root>/<sha256[:16]>-<tag>``.
        python: the interpreter whose pip downloads (and whose version and platform the wheels fit,
            unless ``platforms``/``python_version`` say otherwise).
        platforms: pip ``--platform`` tags of the hosts (e.g. ``manylinux2014_x86_64``), when they differ
            from the laptop's; python_version: their python (``3.11``), with ``platforms``.
        timeout_s: the longest pip may take.
    Raises WheelhouseError naming the requirement pip could not get (or the sdist that did not build).
    Example: ``ensure_wheelhouse(Path("hls_model/requirements.txt"))`` -> ``build/wheelhouse/3f9a0c1d2e4b5a69-cp311``
    """
    if not requirements.is_file():
        raise WheelhouseError(f"requirements file {requirements} not found")
    if python_version and not platforms:
        raise WheelhouseError("python_version needs platforms too (pip downloads for another target only with both)")
    tag = f"cp{python_version.replace('.', '')}" if python_version else python_tag(python)
    if platforms:
        tag += "-" + "+".join(platforms)
    target = root / wheelhouse_key(requirements, tag)
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=root))
    try:
        _download(requirements, partial, python, platforms, python_version, timeout_s)
        try:
            os.rename(partial, target)
        except OSError:
            if not target.is_dir():  # not another run that finished first
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


def _download(requirements: Path, dest: Path, python: str, platforms: Sequence[str], python_version: str | None,
              timeout_s: float) -> None:
    command = [python, "-m", "pip", "download", "--disable-pip-version-check", "--requirement", str(requirements),
               "--dest", str(dest)]
    command.append("--only-binary=:all:" if platforms else "--prefer-binary")
    for platform in platforms:
        command += ["--platform", platform]
    if python_version:
        command += ["--python-version", python_version, "--implementation", "cp"]
    done = _pip(command, timeout_s, f"pip download for {requirements}")
    if done.returncode != 0:
        output = done.stdout + done.stderr
        requirement = failed_requirement(output)
        if requirement:
            binary = " as a wheel (--only-binary=:all:, for another platform)" if platforms else ""
            raise WheelhouseError(
                f"{requirements}: pip found no distribution of {requirement}{binary} for this python and platform: "
                "check the pin exists, or build its wheel and put it in pip's --find-links")
        source = failed_source_build(output)
        if source:
            raise WheelhouseError(f"{requirements}: {source} has no wheel and building one failed:\n"
                                  f"{_tail(output, 12)}")
        raise WheelhouseError(f"{requirements}: pip download failed (exit {done.returncode}):\n{_tail(output)}")
    for sdist in sorted(path for path in dest.iterdir() if path.suffix != ".whl"):
        built = _pip([python, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-deps", "--wheel-dir",
                      str(dest), str(sdist)], timeout_s, f"building a wheel of {sdist.name}")
        if built.returncode != 0:
            raise WheelhouseError(f"{requirements}: {sdist.name} has no wheel and building one failed "
                                  f"(exit {built.returncode}):\n{_tail(built.stdout + built.stderr)}")
        sdist.unlink()


def _pip(command: list[str], timeout_s: float, what: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise WheelhouseError(f"{what} took more than {timeout_s:.0f} s") from None
    except OSError as err:
        raise WheelhouseError(f"cannot run {command[0]} -m pip: {err}") from None


def _tail(output: str, lines: int = 5) -> str:
    return "\n".join(output.strip().splitlines()[-lines:])


def uv_wheel(machine: str, root: Path = DEFAULT_ROOT) -> Path:
    """The pinned uv wheel for a host whose ``uname -m`` is ``machine`` (downloaded once, hash-checked).

    Raises WheelhouseError when no uv wheel is known for that machine or pip cannot get it.
    Example: ``uv_wheel("x86_64")`` -> ``build/wheelhouse/85420f0ca9a65819-cp311-manylinux2014_x86_64/uv-0.13.8-...whl``
    """
    if machine not in UV_PLATFORMS:
        raise WheelhouseError(f"no uv wheel for {machine} hosts (known: {', '.join(UV_PLATFORMS)})")
    with _uv_lock:  # the hosts of a run plan at once: one download
        folder = ensure_wheelhouse(UV_REQUIREMENTS, root, platforms=(UV_PLATFORMS[machine],))
    return next(folder.glob("uv-*.whl"))
