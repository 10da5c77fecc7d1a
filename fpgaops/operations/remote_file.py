"""Atomic remote file writes, shared by every operation that puts a file on a host.

A write uploads the content to a temporary name in the target's own directory
(``<dir>/.<name>.fpgaops-<sha256[:16]>``), sets its owner then its mode, and renames it over the
target (``mv -f``, atomic on one filesystem): readers see the old file or the new one, never a
half-written or wrongly-permissioned one.  On failure the temporary file is removed.  Content
goes only when its sha256 differs from the host's; owner and mode alone are fixed in place.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from shlex import quote

from fpgaops.core import Change, Command, Upload
from fpgaops.facts import PathStat
from fpgaops.operations.masking import masked_diff
from fpgaops.operations.operation import PlanError, as_root


@dataclass(frozen=True)
class FileContent:
    """Content to install: ``data`` in memory or a laptop file (``local_path``, streamed), with its sha256."""

    sha256: str
    data: bytes | None = None
    local_path: str | None = None

    @classmethod
    def of(cls, data: bytes | str) -> FileContent:
        """Content from bytes, or from text encoded as UTF-8 (bytes read as surrogate escapes go back as they were)."""
        data = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
        return cls(sha256=hashlib.sha256(data).hexdigest(), data=data)

    @classmethod
    def of_local_file(cls, path: str | Path) -> FileContent:
        """Content of a laptop file, hashed now and streamed at upload time."""
        digest = hashlib.sha256()
        with open(path, "rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        return cls(sha256=digest.hexdigest(), local_path=str(path))

    def upload_to(self, remote_path: str) -> Upload:
        return Upload(remote_path=remote_path, content=self.data, local_path=self.local_path)


def parse_mode(mode: int | str) -> int:
    """A file mode as an int, from an int (0o640) or an octal string ("0640", "640")."""
    try:
        value = int(mode, 8) if isinstance(mode, str) else int(mode)
    except ValueError:
        value = -1
    if not 0 <= value <= 0o7777:
        raise ValueError(f"file mode {mode!r} is not an octal mode between 0000 and 7777 (e.g. '0640')")
    return value


def octal(mode: int) -> str:
    return f"{mode:04o}"


def temp_path(path: str, tag: str) -> str:
    """The temporary name for ``path`` in its own directory (same filesystem, so the rename is atomic)."""
    directory, name = posixpath.split(path)
    return posixpath.join(directory, f".{name}.fpgaops-{tag}")


def set_owner_and_mode(path: str, mode: int, owner: str, group: str) -> str:
    """chown then chmod (chown may clear setuid bits that chmod sets)."""
    return f"chown {quote(f'{owner}:{group}')} {quote(path)} && chmod {octal(mode)} {quote(path)}"


def install_command(temp: str, path: str, mode: int, owner: str, group: str) -> str:
    """Owner and mode on ``temp``, then rename it over ``path``; remove ``temp`` on failure."""
    return (f"{set_owner_and_mode(temp, mode, owner, group)} && mv -f {quote(temp)} {quote(path)}"
            f" || {{ rm -f {quote(temp)}; exit 1; }}")


def write_text_command(path: str, text: str, mode: int = 0o644, owner: str = "root", group: str = "root") -> str:
    """One command writing a small ``text`` (a marker, a script) to ``path`` atomically."""
    temp = temp_path(path, FileContent.of(text).sha256[:16])
    return f"printf %s {quote(text)} > {quote(temp)} && {install_command(temp, path, mode, owner, group)}"


def unchanged_guard(path: str, current: PathStat | None, temp: str) -> str:
    """A command failing (and removing ``temp``) when ``path`` changed since its facts were read."""
    if current is None:
        check, what = f"[ ! -e {quote(path)} ]", "appeared"
    else:
        check, what = f'[ "$(sha256sum < {quote(path)})" = {quote(f"{current.sha256}  -")} ]', "changed"
    message = quote(f"{path} {what} since it was read: run again")
    return f"{check} || {{ rm -f {quote(temp)}; echo {message} >&2; exit 1; }}"


def plan_file(
    path: str,
    content: FileContent,
    mode: int,
    owner: str,
    group: str,
    current: PathStat | None,
    *,
    diff: str | None = None,
    if_unchanged: bool = False,
    after_write: Iterable[Command] = (),
) -> Change | None:
    """The Change making ``path`` hold ``content`` with ``mode``/``owner``/``group``, or None when it does.

    ``diff`` is shown when the content changes; ``if_unchanged`` refuses to write over a file that
    changed since it was read (for edits computed from its old text); ``after_write`` runs only
    when the content changed (``systemctl daemon-reload``).
    """
    if current is not None and current.kind != "file":
        raise PlanError(f"{path} is a {current.kind}, not a file: remove it first (files.absent)")
    if current is not None and current.sha256 == content.sha256:
        if current.mode == mode and current.owned_by(owner, group):
            return None
        return Change(description=f"set owner {owner}:{group} and mode {octal(mode)} of {path}",
                      commands=(as_root(set_owner_and_mode(path, mode, owner, group)),))
    temp = temp_path(path, content.sha256[:16])
    guard = [as_root(unchanged_guard(path, current, temp))] if if_unchanged else []
    return Change(
        description=f"{'create' if current is None else 'update'} {path}",
        commands=(*guard, as_root(install_command(temp, path, mode, owner, group)), *after_write),
        uploads=(content.upload_to(temp),),
        diff=diff,
    )


def plan_text_file(
    path: str,
    text: str,
    mode: int,
    owner: str,
    group: str,
    current: PathStat | None,
    old_text: str | None,
    *,
    secrets: Iterable[str] = (),
    if_unchanged: bool = False,
    after_write: Iterable[Command] = (),
) -> Change | None:
    """``plan_file`` for a text, with the diff from ``old_text`` (the host's) and the ``secrets`` masked in it."""
    content = FileContent.of(text)
    changed = current is None or current.sha256 != content.sha256
    diff = masked_diff(path, old_text or "", text, secrets) if changed else None
    return plan_file(path, content, mode, owner, group, current, diff=diff, if_unchanged=if_unchanged,
                     after_write=after_write)
