"""Files, templates, directories, managed blocks and lines, removals and symlinks.

Every write is atomic (see ``remote_file``): temporary name in the target's directory, owner and
mode set, then renamed into place.  Paths are absolute; a file's directory must exist (declare
it with ``directory`` first).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from shlex import quote
from typing import Any

from fpgaops.core import Change, Operation
from fpgaops.facts import FileText, PathExists, PathStat, PathState
from fpgaops.operations.masking import secret_values
from fpgaops.operations.operation import PlanError, absolute, as_root, declare
from fpgaops.operations.remote_file import (
    FileContent,
    octal,
    parse_mode,
    plan_file,
    plan_text_file,
    set_owner_and_mode,
    temp_path,
)
from fpgaops.operations.text_blocks import with_block, with_line
from fpgaops.templates import render_template

__all__ = ["absent", "block", "directory", "file", "line", "symlink", "template"]


def file(
    path: str,
    content: bytes | str | None = None,
    *,
    local_path: str | Path | None = None,
    mode: int | str = 0o644,
    owner: str = "root",
    group: str = "root",
    tags: Iterable[str] = (),
    notify: Iterable[str] = (),
) -> Operation:
    """A file with this content, owner and mode; uploaded only when its sha256 differs from the host's.

    Args:
        path: absolute path on the host (its directory must exist).
        content: the bytes, or text (written as UTF-8); or instead
        local_path: a laptop file to upload (streamed from disk, for large artifacts).
        mode: octal, as 0o640 or "0640"; owner, group: names or numeric ids.
        tags: selects the step with ``--tags``; notify: handlers to run when it changed.
    Example:
        ``file("/opt/rhythm/model/weights.bin", local_path="build/weights.bin", owner="rhythm", mode="0640")``
    """
    path = absolute(path)
    if (content is None) == (local_path is None):
        raise ValueError(f"file {path}: give either content or local_path")
    source = FileContent.of(content) if content is not None else FileContent.of_local_file(local_path)
    mode = parse_mode(mode)
    state = PathState(path)
    return declare(f"file {path}", [state],
                   lambda values: plan_file(path, source, mode, owner, group, values[state]),
                   tags=tags, notify=notify)


def template(
    path: str,
    template_name: str,
    variables: Mapping[str, Any],
    *,
    secrets: Iterable[str] = (),
    mode: int | str = 0o644,
    owner: str = "root",
    group: str = "root",
    templates_dir: str | Path | None = None,
    tags: Iterable[str] = (),
    notify: Iterable[str] = (),
) -> Operation:
    """A file rendered from a Jinja template (strict: a missing variable fails now), written like ``file``.

    The diff shows old and new text with the values of secret variables masked: those named in
    ``secrets`` and those whose names contain secret, password, token, api_key or private_key.
    Args:
        path: absolute path on the host; template_name: the template, relative to ``templates/``;
        variables: the template's values; secrets: more variable names whose values to mask;
        mode, owner, group: as for ``file``; templates_dir: another templates directory (tests).
        tags, notify: as for ``file``.
    Example:
        ``template("/etc/rhythm/rhythm.env", "rhythm.env.j2", host_vars, secrets=["s3_key"], mode="0600")``
    """
    path = absolute(path)
    text = render_template(template_name, variables, templates_dir)
    hidden = secret_values(variables, secrets)
    mode = parse_mode(mode)
    state, old_text = PathState(path), FileText(path)
    return declare(f"template {template_name} -> {path}", [state, old_text],
                   lambda values: plan_text_file(path, text, mode, owner, group, values[state], values[old_text],
                                                 secrets=hidden),
                   tags=tags, notify=notify)


def directory(
    path: str,
    *,
    mode: int | str = 0o755,
    owner: str = "root",
    group: str = "root",
    tags: Iterable[str] = (),
    notify: Iterable[str] = (),
) -> Operation:
    """A directory (with its missing parents) with this owner and mode (not applied recursively).

    Args: path: absolute path on the host; mode, owner, group: of the directory itself; tags, notify.
    Example: ``directory("/opt/rhythm", owner="rhythm", group="rhythm", mode="0750")``
    """
    path = absolute(path)
    mode = parse_mode(mode)
    state = PathState(path)

    def plan(values) -> Change | None:
        current = values[state]
        if current is None:
            create = f"mkdir -p {quote(path)} && {set_owner_and_mode(path, mode, owner, group)}"
            return Change(description=f"create directory {path}", commands=(as_root(create),))
        if current.kind != "directory":
            raise PlanError(f"{path} is a {current.kind}, not a directory: remove it first (files.absent)")
        if current.mode == mode and current.owned_by(owner, group):
            return None
        return Change(description=f"set owner {owner}:{group} and mode {octal(mode)} of {path}",
                      commands=(as_root(set_owner_and_mode(path, mode, owner, group)),))

    return declare(f"directory {path}", [state], plan, tags=tags, notify=notify)


def block(
    path: str,
    name: str,
    content: str | Sequence[str] = (),
    *,
    absent: bool = False,
    mode: int | str | None = None,
    owner: str | None = None,
    group: str | None = None,
    tags: Iterable[str] = (),
    notify: Iterable[str] = (),
) -> Operation:
    """A named block of lines in a text file, between ``# BEGIN FPGAOPS <name>`` and ``# END FPGAOPS <name>``.

    Inserted at the end of the file (created if missing) or replaced where it is; no other line is
    touched.  The file is read again when an earlier step of the role changed something, and the
    write is refused if it changed since it was read.
    Args:
        path: absolute path on the host; name: the block's name (unique in the file);
        content: the block's lines (a text or a list of lines); absent: remove the block instead;
        mode, owner, group: default to the file's current ones (0644 root:root for a new file).
        tags, notify: as for ``file``.
    Example: ``block("/etc/hosts", "sandbox-hosts", ["10.200.0.11 f1", "10.200.0.12 f2"])``
    """
    path = absolute(path)
    lines = None if absent else (content.splitlines() if isinstance(content, str) else list(content))
    return _text_edit(f"block {name} in {path}", path, lambda text: with_block(text, name, lines),
                      mode, owner, group, tags, notify)


def line(
    path: str,
    regex: str,
    text: str | None = None,
    *,
    absent: bool = False,
    mode: int | str | None = None,
    owner: str | None = None,
    group: str | None = None,
    tags: Iterable[str] = (),
    notify: Iterable[str] = (),
) -> Operation:
    """Exactly one line matching ``regex`` in a text file, equal to ``text`` (or none when ``absent``).

    The first matching line is replaced and other matches removed; with no match the line is
    appended (the file is created if missing).  ``text`` must itself match ``regex``, so that a
    rerun finds it.
    Args:
        path: absolute path on the host; regex: Python regex searched in each line;
        text: the line; absent: remove every matching line instead;
        mode, owner, group: default to the file's current ones (0644 root:root for a new file).
        tags, notify: as for ``file``.
    Example: ``line("/etc/ssh/sshd_config", r"^#?PasswordAuthentication ", "PasswordAuthentication no")``
    """
    path = absolute(path)
    if not absent and (text is None or not re.search(regex, text)):
        raise ValueError(f"line in {path}: the line {text!r} must match {regex!r}, or every run would add it again")
    return _text_edit(f"line {regex} in {path}", path, lambda old: with_line(old, regex, None if absent else text),
                      mode, owner, group, tags, notify)


def _text_edit(
    description: str,
    path: str,
    edit: Callable[[str], str],
    mode: int | str | None,
    owner: str | None,
    group: str | None,
    tags: Iterable[str],
    notify: Iterable[str],
) -> Operation:
    """An operation rewriting a text file as ``edit`` of its current text, keeping what it does not set."""
    wanted_mode = None if mode is None else parse_mode(mode)
    state, old_text = PathState(path), FileText(path)

    def plan(values) -> Change | None:
        current: PathStat | None = values[state]
        old = values[old_text] or ""
        if current is not None and current.kind != "file":
            raise PlanError(f"{path} is a {current.kind}, not a file: remove it first (files.absent)")
        if current is not None and FileContent.of(old).sha256 != current.sha256:
            raise PlanError(f"{path} did not read back exactly (not UTF-8 text, or changed while read): "
                            "edit it by hand, or run again")
        new = edit(old)
        if current is None and not new:
            return None
        return plan_text_file(
            path, new,
            wanted_mode if wanted_mode is not None else (current.mode if current else 0o644),
            owner or (str(current.uid) if current else "root"),
            group or (str(current.gid) if current else "root"),
            current, values[old_text], if_unchanged=True)

    # reread: an earlier step of the role may have edited the same file
    return declare(description, [state, old_text], plan, tags=tags, notify=notify, reread=True)


def absent(path: str, *, tags: Iterable[str] = (), notify: Iterable[str] = ()) -> Operation:
    """Nothing at ``path``: a file, symlink or whole directory tree there is removed.

    Args: path: absolute path on the host (never "/"); tags, notify: as for ``file``.
    Example: ``absent("/etc/cron.d/old-idle-check")``
    """
    path = absolute(path)
    if path == "/":
        raise ValueError("absent: refusing to remove /")
    exists = PathExists(path)
    return declare(f"absent {path}", [exists],
                   lambda values: Change(description=f"remove {path}", commands=(as_root(f"rm -rf -- {quote(path)}"),))
                   if values[exists] else None,
                   tags=tags, notify=notify)


def symlink(path: str, target: str, *, tags: Iterable[str] = (), notify: Iterable[str] = ()) -> Operation:
    """A symlink at ``path`` pointing to ``target``, replaced atomically (``ln -sfn`` to a temp name, ``mv -T``).

    An existing file or directory at ``path`` is not replaced (remove it first with ``absent``).
    Args: path: absolute path of the link; target: what it points to (absolute or relative); tags, notify.
    Example: ``symlink("/opt/rhythm/current", "/opt/rhythm/releases/2024-05-01")``
    """
    path = absolute(path)
    state = PathState(path)
    temp = temp_path(path, hashlib.sha256(target.encode()).hexdigest()[:16])

    def plan(values) -> Change | None:
        current = values[state]
        if current is not None and current.kind == "link" and current.link_target == target:
            return None
        if current is not None and current.kind != "link":
            raise PlanError(f"{path} is a {current.kind}, not a symlink: remove it first (files.absent)")
        return Change(description=f"link {path} -> {target}", commands=(as_root(
            f"ln -sfn {quote(target)} {quote(temp)} && mv -Tf {quote(temp)} {quote(path)}"
            f" || {{ rm -f {quote(temp)}; exit 1; }}"),))

    return declare(f"symlink {path} -> {target}", [state], plan, tags=tags, notify=notify)
