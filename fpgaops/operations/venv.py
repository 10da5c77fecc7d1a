"""Python virtual environments built from a pinned requirements file by uv (pip where uv cannot run).

uv comes from the laptop: the pinned wheel of ``requirements/uv.txt`` is pushed once per host and
its binary kept in ``<uv_dir>/uv-<version>/uv`` with uv's cache beside it (``<uv_dir>/cache``).
A host uv cannot run on (not x86_64, not glibc >= 2.17), or a laptop that cannot get the wheel,
gets ``python -m venv`` + pip, with the same marker, wheelhouse and result.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from pathlib import Path
from shlex import quote

from fpgaops.core import Change, Command, Operation, Upload
from fpgaops.facts import FileText, FolderFiles, UvHost, UvTool
from fpgaops.operations.operation import absolute, as_root, declare
from fpgaops.operations.remote_file import FileContent, write_text_command
from fpgaops.wheelhouse import UV_PLATFORMS, UV_VERSION, WheelhouseError, uv_wheel

__all__ = ["venv"]

MARKER_NAME = ".fpgaops-requirements.sha256"
UV_DIR = "/var/lib/fpgaops/uv"
MANYLINUX_GLIBC = (2, 17)  # the uv wheel is manylinux2014
COMPILE_SKIPS = "/tests?/"  # the packages' own test suites: never imported, half the compile time of scipy & co
EXTRACT_UV = ("import shutil, sys, zipfile\n"
              "with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[2], 'wb') as out:\n"
              "    shutil.copyfileobj(wheel.open(next(n for n in wheel.namelist() "
              "if n.endswith('.data/scripts/uv'))), out)\n")


def venv(
    path: str,
    requirements_file: str | Path,
    *,
    python: str = "python3",
    wheelhouse: str | Path | None = None,
    uv_dir: str = UV_DIR,
    tags: Iterable[str] = (),
    notify: Iterable[str] = (),
) -> Operation:
    """A venv at ``path`` with the requirements installed (bytecode compiled, but for the packages' own tests);
    nothing is done while they have not changed.

    The marker ``<path>/.fpgaops-requirements.sha256`` holds the sha256 of the requirements file
    and the python used; it is removed before installing and written after success, so a failed
    install is retried by the next run.  The venv is built in place (venvs are not relocatable);
    a changed requirements file installs into the existing venv.  The directory holding ``path``
    must exist.  uv builds it (``uv venv`` + ``uv pip install``: no pip inside the venv; use
    ``uv pip --python <path>/bin/python``); where uv cannot run, ``python -m venv`` + pip does
    (Debian/Ubuntu: the python3-venv package).  Without a wheelhouse, uv installs from its index
    (``UV_INDEX_URL`` or ``/etc/uv/uv.toml``: it does not read pip.conf).
    Args:
        path: absolute path of the venv on the host; requirements_file: laptop path of the pinned requirements;
        python: the interpreter of the venv; wheelhouse: a laptop directory of wheels, kept on the host in
        ``<parent>/.<name>.fpgaops-wheels`` and installed from with ``--no-index --find-links`` (no index
        needed on the host): only the wheels the host lacks are uploaded, those no longer needed removed.
        uv_dir: where the pushed uv and its cache live on the host.  tags, notify: as for ``files.file``.
    Example: ``venv("/opt/rhythm/venv", "rhythm_service/requirements.txt", wheelhouse="build/wheels")``
    """
    path = absolute(path)
    uv_dir = absolute(uv_dir)
    requirements = FileContent.of_local_file(requirements_file)
    stamp = f"{requirements.sha256} python={python}\n"
    parent, name = posixpath.split(path)
    staged = posixpath.join(parent, f".{name}.fpgaops-requirements-{requirements.sha256[:16]}.txt")
    store = posixpath.join(parent, f".{name}.fpgaops-wheels")
    wheels = sorted(item for item in Path(wheelhouse).iterdir() if item.is_file()) if wheelhouse else []
    marker_path = posixpath.join(path, MARKER_NAME)
    marker, tool = FileText(marker_path), UvTool(posixpath.join(uv_dir, f"uv-{UV_VERSION}", "uv"), UV_VERSION)
    stored = FolderFiles(store)

    def plan(values) -> Change | None:
        if values[marker] == stamp:
            return None
        commands = [as_root(f"rm -f -- {quote(marker_path)}")]
        uploads: list[Upload] = [requirements.upload_to(staged)]
        source = ""
        if wheelhouse:
            wheel_uploads, wheel_commands = _stored_wheels(wheels, values[stored] or {}, store, parent, name)
            uploads += wheel_uploads
            commands += wheel_commands
            source = f" --no-index --find-links {quote(store)}"
        wheel, why_not_uv = _uv_wheel_to_push(values[tool])
        if why_not_uv is None:
            if wheel is not None:
                upload = Upload(posixpath.join(parent, f".{name}.fpgaops-{wheel.name}"), local_path=str(wheel))
                uploads.append(upload)
                commands.append(_install_uv(tool.path, upload.remote_path, python))
            commands += _uv_commands(tool.path, uv_dir, path, python, source, staged)
            how = "uv"
        else:
            commands += _pip_commands(path, python, source, staged)
            how = f"pip: {why_not_uv}"
        commands += [as_root(write_text_command(marker_path, stamp)), as_root(f"rm -f -- {quote(staged)}")]
        return Change(description=f"{'create' if values[marker] is None else 'update'} venv {path} ({how})",
                      commands=tuple(commands), uploads=tuple(uploads))

    return declare(f"venv {path}", [marker, tool, *([stored] if wheelhouse else [])], plan, tags=tags, notify=notify)


def _uv_wheel_to_push(host: UvHost) -> tuple[Path | None, str | None]:
    """(the uv wheel to push, when the host lacks uv; None) or (None, why uv cannot be used on the host)."""
    if host.machine not in UV_PLATFORMS:
        return None, f"no uv for {host.machine} hosts"
    if host.glibc is None or host.glibc < MANYLINUX_GLIBC:
        return None, "uv needs glibc 2.17 or newer"
    if host.uv_version == UV_VERSION:
        return None, None
    try:
        return uv_wheel(host.machine), None
    except WheelhouseError as err:
        return None, f"no uv wheel on the laptop: {err}"


def _stored_wheels(wheels: list[Path], present: dict[str, int], store: str, parent: str,
                   name: str) -> tuple[list[Upload], list[Command]]:
    """The uploads of the wheels the host's store lacks and the command bringing the store to exactly ``wheels``."""
    missing = [wheel for wheel in wheels if present.get(wheel.name) != wheel.stat().st_size]
    uploads = [Upload(remote_path=posixpath.join(parent, f".{name}.fpgaops-wheel-{wheel.name}"), local_path=str(wheel))
               for wheel in missing]
    stale = sorted(set(present) - {wheel.name for wheel in wheels})
    steps = [f"mkdir -p {quote(store)}"]
    steps += [f"mv -f {quote(upload.remote_path)} {quote(posixpath.join(store, wheel.name))}"
              for upload, wheel in zip(uploads, missing, strict=True)]
    if stale:
        steps.append("rm -f -- " + " ".join(quote(posixpath.join(store, wheel)) for wheel in stale))
    return uploads, [as_root(" && ".join(steps))]


def _install_uv(uv: str, wheel: str, python: str) -> Command:
    """Unpack the uv binary from the pushed wheel and move it to ``uv`` once it runs (``UvTool`` relies on it)."""
    folder, partial, uv = quote(posixpath.dirname(uv)), quote(f"{uv}.partial"), quote(uv)
    return as_root(f"mkdir -p {folder} && {quote(python)} -c {quote(EXTRACT_UV)} {quote(wheel)} {partial} && "
                   f"chmod 0755 {partial} && {partial} --version >/dev/null && mv -f {partial} {uv} && "
                   f"rm -f -- {quote(wheel)}")


def _uv_commands(uv: str, uv_dir: str, path: str, python: str, source: str, requirements: str) -> list[Command]:
    settings = f"UV_CACHE_DIR={quote(posixpath.join(uv_dir, 'cache'))} UV_PYTHON_DOWNLOADS=never UV_NO_MANAGED_PYTHON=1"
    venv_python = quote(posixpath.join(path, "bin", "python"))
    return [as_root(f"export {settings} && {quote(uv)} venv --quiet --allow-existing --python {quote(python)} "
                    f"{quote(path)} && {quote(uv)} pip install --quiet --python {venv_python}"
                    f"{source} --requirement {quote(requirements)}"),
            # bytecode, as pip makes it: a module that does not compile is left to Python (so is the exit status)
            as_root(f"{venv_python} -m compileall -q -j0 -x {quote(COMPILE_SKIPS)} "
                    f"\"$({venv_python} -c 'import sysconfig; print(sysconfig.get_path(\"purelib\"))')\" >/dev/null "
                    "|| true")]


def _pip_commands(path: str, python: str, source: str, requirements: str) -> list[Command]:
    return [
        as_root(f"{quote(python)} -m venv {quote(path)}"),
        as_root(f"{quote(posixpath.join(path, 'bin', 'python'))} -m pip install --disable-pip-version-check"
                f"{source} --requirement {quote(requirements)}"),
    ]
