"""Python virtual environments built from a pinned requirements file, optionally offline from a wheelhouse."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from pathlib import Path
from shlex import quote

from fpgaops.core import Change, Operation, Upload
from fpgaops.facts import FileText
from fpgaops.operations.operation import absolute, as_root, declare
from fpgaops.operations.remote_file import FileContent, write_text_command

__all__ = ["venv"]

MARKER_NAME = ".fpgaops-requirements.sha256"


def venv(
    path: str,
    requirements_file: str | Path,
    *,
    python: str = "python3",
    wheelhouse: str | Path | None = None,
    tags: Iterable[str] = (),
    notify: Iterable[str] = (),
) -> Operation:
    """A venv at ``path`` with the requirements installed; nothing is done while they have not changed.

    The marker ``<path>/.fpgaops-requirements.sha256`` holds the sha256 of the requirements file
    and the python used; it is removed before installing and written after success, so a failed
    install is retried by the next run.  The venv is built in place (venvs are not relocatable);
    a changed requirements file installs into the existing venv.  The directory holding ``path``
    must exist; the host needs ``python -m venv`` (Debian/Ubuntu: the python3-venv package).
    Args:
        path: absolute path of the venv on the host; requirements_file: laptop path of the pinned requirements;
        python: the interpreter creating the venv; wheelhouse: a laptop directory of wheels, pushed to
        the host and installed from with ``--no-index --find-links`` (no index needed on the host).
        tags, notify: as for ``files.file``.
    Example: ``venv("/opt/rhythm/venv", "rhythm_service/requirements.txt", wheelhouse="build/wheels")``
    """
    path = absolute(path)
    requirements = FileContent.of_local_file(requirements_file)
    stamp = f"{requirements.sha256} python={python}\n"
    parent, name = posixpath.split(path)
    staged = posixpath.join(parent, f".{name}.fpgaops-requirements-{requirements.sha256[:16]}.txt")
    wheel_dir = posixpath.join(parent, f".{name}.fpgaops-wheelhouse-{requirements.sha256[:16]}")
    wheels = sorted(item for item in Path(wheelhouse).iterdir() if item.is_file()) if wheelhouse else []
    wheel_uploads = [Upload(remote_path=posixpath.join(parent, f".{name}.fpgaops-wheel-{wheel.name}"),
                            local_path=str(wheel)) for wheel in wheels]
    marker_path = posixpath.join(path, MARKER_NAME)
    marker = FileText(marker_path)

    def plan(values) -> Change | None:
        if values[marker] == stamp:
            return None
        commands = [as_root(f"rm -f -- {quote(marker_path)}")]
        pip_source = ""
        if wheelhouse:
            moves = " && ".join(f"mv -f {quote(upload.remote_path)} {quote(posixpath.join(wheel_dir, wheel.name))}"
                                for upload, wheel in zip(wheel_uploads, wheels, strict=True))
            commands.append(as_root(f"rm -rf {quote(wheel_dir)} && mkdir {quote(wheel_dir)}"
                                    + (f" && {moves}" if moves else "")))
            pip_source = f" --no-index --find-links {quote(wheel_dir)}"
        commands += [
            as_root(f"{quote(python)} -m venv {quote(path)}"),
            as_root(f"{quote(posixpath.join(path, 'bin', 'python'))} -m pip install --disable-pip-version-check"
                    f"{pip_source} --requirement {quote(staged)}"),
            as_root(write_text_command(marker_path, stamp)),
            as_root(f"rm -rf {quote(staged)}" + (f" {quote(wheel_dir)}" if wheelhouse else "")),
        ]
        return Change(description=f"{'create' if values[marker] is None else 'update'} venv {path}",
                      commands=tuple(commands), uploads=(requirements.upload_to(staged), *wheel_uploads))

    return declare(f"venv {path}", [marker], plan, tags=tags, notify=notify)
