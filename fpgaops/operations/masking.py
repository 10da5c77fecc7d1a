"""Secret masking for diffs: the values of secret variables never appear in what is shown.

A variable is secret when its name is listed by the caller or looks secret (secret, password,
token, api_key, private_key; any case, nested keys too).  Every rendered occurrence of such a value
becomes ``********``.  A line of the old text that differs from a secret line of the new text only
where the secret is (``API_TOKEN=<old value>``) is masked as ``********(previous)``, so a rotated
secret shows as changed without showing either value.  Limitation: an old line holding nothing
but a secret (no text around it to recognise it by) cannot be told from other text.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "********"
PREVIOUS_MASK = "********(previous)"
SECRET_NAME = re.compile(r"secret|password|token|api_key|private_key", re.IGNORECASE)


def secret_values(variables: Mapping[str, Any], secret_names: Iterable[str] = ()) -> tuple[str, ...]:
    """The text of every value to hide, longest first (so a secret containing another is masked whole)."""
    names = set(secret_names)
    found: set[str] = set()

    def collect(value: Any, secret: bool) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                collect(item, secret or key in names or bool(SECRET_NAME.search(str(key))))
        elif isinstance(value, list | tuple | set):
            for item in value:
                collect(item, secret)
        elif secret and value is not None and not isinstance(value, bool) and str(value):
            found.add(str(value))

    collect(variables, False)
    return tuple(sorted(found, key=lambda text: (-len(text), text)))


def mask_text(text: str, values: Iterable[str]) -> str:
    """``text`` with every occurrence of each value replaced by ``********``."""
    for value in values:
        text = text.replace(value, MASK)
    return text


def masked_diff(path: str, old: str, new: str, values: Iterable[str] = ()) -> str:
    """Unified diff from ``old`` (on the host) to ``new`` (to write), with the secret ``values`` masked."""
    values = tuple(values)
    new_masked = mask_text(new, values)
    old_masked = _mask_previous_secrets(mask_text(old, values), new_masked.splitlines())
    return "".join(difflib.unified_diff(_lines(old_masked), _lines(new_masked),
                                        fromfile=f"{path} (on host)", tofile=f"{path} (new)"))


def _mask_previous_secrets(old: str, new_masked_lines: list[str]) -> str:
    """Mask old lines shaped like a secret line of the new text (same text around the secret)."""
    patterns = []
    for masked in new_masked_lines:
        parts = masked.split(MASK)
        if len(parts) > 1 and "".join(parts).strip():
            patterns.append((re.compile(".*".join(map(re.escape, parts))), PREVIOUS_MASK.join(parts)))
    unchanged = set(new_masked_lines)
    lines = old.split("\n")
    for index, line in enumerate(lines):
        for pattern, replacement in patterns:
            if line not in unchanged and pattern.fullmatch(line):
                lines[index] = replacement
                break
    return "\n".join(lines)


def _lines(text: str) -> list[str]:
    """Lines for a diff, each ending with a newline (a missing final one is marked as diff does)."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines
