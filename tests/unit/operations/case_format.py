"""The JSON case format of the data-driven operation tests: how args, facts, commands and uploads are written.

A case is ``cases/<module>.<operation>/<case>.json``, e.g. ``cases/files.file/update_content.json``:

    {
      "args":     keyword arguments of fpgaops.operations.<module>.<operation>,
      "facts":    {"<fact key>": <fact value>, ...}   every fact the operation declares, no other,
      "commands": the expected commands, in order,
      "uploads":  the expected uploads, in order,
      "diff":     the expected Change.diff (omit when there is none),
      "notify":   the handlers the Change notifies (omit when none),
      "noop":     true when the plan must be None (then no commands, uploads or diff),
      "raises":   text of the error declaring or planning must raise (then nothing else is checked),
      "note":     what the case shows, for the reader (not checked)
    }

- **Fact key**: the fact's ``repr``, e.g. ``"PathState(path='/etc/x')"``,
  ``"JobStatus(job='build', state_dir='/var/lib/fpgaops/jobs', tail_lines=20)"``.
- **Fact value**: the value as JSON; a dataclass value (PathStat, ServiceStatus, JobState, Account)
  is an object of its fields (omitted fields take their defaults; an int field may be written as a
  Python literal string, so a mode reads ``"0o644"``); a missing file/user is ``null``.
- **Local files** in args: ``{"local_file": "name"}`` is the path of ``local_files/name`` (next to this
  module); in uploads, ``{"remote_path": ..., "local_file": "name"}`` means that file is streamed.
- **Command**: a string for the usual command (as root, mutating, no stdin); otherwise an object
  with ``"shell"`` and only the fields that differ: ``"sudo": false``, ``"mutating": false``,
  ``"stdin": "text"``.
- **Upload** with in-memory content: ``{"remote_path": ..., "content": "text"}``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, get_args, get_type_hints

from fpgaops.core import Change, Command, Fact, Upload

HERE = Path(__file__).parent
CASES_DIR = HERE / "cases"
LOCAL_FILES = HERE / "local_files"


def resolve_args(value: Any) -> Any:
    """Args with every ``{"local_file": name}`` replaced by that file's path."""
    if isinstance(value, dict):
        if set(value) == {"local_file"}:
            return str(LOCAL_FILES / value["local_file"])
        return {key: resolve_args(item) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_args(item) for item in value]
    return value


def decode_fact_value(fact: Fact, value: Any) -> Any:
    """A fact's value from its JSON (objects become the fact's dataclass value type)."""
    if not isinstance(value, dict):
        return value
    (value_type,) = get_args(type(fact).__orig_bases__[0])
    for candidate in get_args(value_type) or (value_type,):
        if dataclasses.is_dataclass(candidate):
            hints = get_type_hints(candidate)
            return candidate(**{key: _decode_field(hints[key], item) for key, item in value.items()})
    return value


def _decode_field(hint: Any, item: Any) -> Any:
    """An int field written as a Python literal string ("0o644") becomes that int; a list, a tuple."""
    if isinstance(item, str) and int in (hint, *get_args(hint)):
        return int(item, 0)
    return tuple(item) if isinstance(item, list) else item


def encode_fact_value(value: Any) -> Any:
    """A fact value as JSON: dataclasses as objects without their default fields, modes in octal."""
    if not dataclasses.is_dataclass(value):
        return value
    return {field.name: f"0o{getattr(value, field.name):o}" if field.name == "mode" else getattr(value, field.name)
            for field in dataclasses.fields(value) if getattr(value, field.name) != field.default}


def encode_command(command: Command) -> str | dict[str, Any]:
    differs = {}
    if not command.sudo:
        differs["sudo"] = False
    if not command.mutating:
        differs["mutating"] = False
    if command.stdin is not None:
        differs["stdin"] = command.stdin.decode()
    return {"shell": command.shell, **differs} if differs else command.shell


def encode_upload(upload: Upload) -> dict[str, str]:
    if upload.local_path is not None:
        local_file = Path(upload.local_path).relative_to(LOCAL_FILES).as_posix()
        return {"remote_path": upload.remote_path, "local_file": local_file}
    return {"remote_path": upload.remote_path, "content": upload.content.decode()}


def encode_change(change: Change | None) -> dict[str, Any]:
    """The expected-result part of a case for ``change``."""
    if change is None:
        return {"noop": True}
    encoded: dict[str, Any] = {"commands": [encode_command(command) for command in change.commands],
                               "uploads": [encode_upload(upload) for upload in change.uploads]}
    if change.diff is not None:
        encoded["diff"] = change.diff
    if change.notify:
        encoded["notify"] = list(change.notify)
    if change.satisfies:
        encoded["satisfies"] = list(change.satisfies)
    return encoded


def load_case(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def all_cases() -> list[Path]:
    return sorted(CASES_DIR.glob("*.*/*.json"))
