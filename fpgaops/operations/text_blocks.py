"""Pure text edits for managed content: a named block and a regex-matched line.

A managed block sits between ``# BEGIN FPGAOPS <name>`` and ``# END FPGAOPS <name>``; files
and crontabs share it.  Every other line, and the text's final newline (or its absence), is kept
byte for byte, so an edit that changes nothing returns the text unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


def block_markers(name: str) -> tuple[str, str]:
    """The BEGIN and END marker lines of the block ``name``."""
    if not name or "\n" in name:
        raise ValueError(f"block name {name!r} must be one non-empty line")
    return f"# BEGIN FPGAOPS {name}", f"# END FPGAOPS {name}"


def with_block(text: str, name: str, lines: Sequence[str] | None) -> str:
    """``text`` with block ``name`` holding ``lines`` (replaced where it is, else appended), or removed (None)."""
    begin, end = block_markers(name)
    existing = text.splitlines(keepends=True)
    stripped = [line.rstrip("\r\n") for line in existing]
    block = [f"{line}\n" for line in (begin, *(lines or ()), end)] if lines is not None else []
    if begin not in stripped:
        return text if lines is None else _append(existing, block)
    start = stripped.index(begin)
    if end not in stripped[start:]:
        raise ValueError(f"block {name!r} has its BEGIN line but no END line after it: fix it by hand")
    stop = stripped.index(end, start) + 1
    if lines is not None and stripped[start:stop] == [line.rstrip("\n") for line in block]:
        return text
    return "".join(existing[:start] + block + existing[stop:])


def with_line(text: str, regex: str, line: str | None) -> str:
    """``text`` where the lines matching ``regex`` become one ``line`` (at the first match, else appended),
    or are all removed (None)."""
    pattern = re.compile(regex)
    existing = text.splitlines(keepends=True)
    matches = [index for index, old in enumerate(existing) if pattern.search(old.rstrip("\r\n"))]
    if line is None:
        return "".join(old for index, old in enumerate(existing) if index not in matches)
    if not matches:
        return _append(existing, [f"{line}\n"])
    first = existing[matches[0]]
    edited = list(existing)
    edited[matches[0]] = line + first[len(first.rstrip("\r\n")):]
    return "".join(old for index, old in enumerate(edited) if index not in matches[1:])


def _append(existing: list[str], lines: list[str]) -> str:
    if existing and not existing[-1].endswith("\n"):
        existing = [*existing[:-1], existing[-1] + "\n"]
    return "".join(existing + lines)
