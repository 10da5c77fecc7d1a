"""Cron: a named block of entries in a user's crontab, leaving the user's other lines alone."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from shlex import quote

from fpgaops.core import Change, Operation
from fpgaops.facts import Crontab
from fpgaops.operations.masking import masked_diff
from fpgaops.operations.operation import as_root, declare
from fpgaops.operations.remote_file import FileContent
from fpgaops.operations.text_blocks import with_block

__all__ = ["cron_block"]

_ENV_LINE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*")


def _checked_entry(entry: str) -> str:
    fields = entry.split()
    if "\n" in entry or not fields or (not fields[0].startswith("@") and len(fields) < 6):
        raise ValueError(f"cron entry {entry!r}: expected 'minute hour day month weekday command' or '@reboot command'")
    return entry


def cron_block(
    user: str,
    name: str,
    entries: Sequence[str] = (),
    *,
    env: Sequence[str] = (),
    absent: bool = False,
    tags: Iterable[str] = (),
    notify: Iterable[str] = (),
) -> Operation:
    """A named block ``# BEGIN FPGAOPS <name>`` ... ``# END FPGAOPS <name>`` in ``user``'s crontab.

    Read with ``crontab -u USER -l`` and installed whole with ``crontab -u USER -`` (new text on
    stdin), only when the block differs.  The crontab is read again when an earlier step of the
    role changed something (two blocks of one crontab in a role), and the install is refused if
    it changed since it was read.  A new block goes at the end.  Mind that cron applies an environment line (``env``)
    to every line below it, including the user's lines after the block.
    Args:
        user: whose crontab; name: the block's name; entries: "m h dom mon dow command" lines
        (or "@reboot command"); env: environment lines before them (``CRON_TZ=UTC``);
        absent: remove the block instead.  tags, notify: as for ``files.file``.
    Example: ``cron_block("centos", "auto-shutdown", ["0 23 * * * /usr/sbin/shutdown -h now"], env=["CRON_TZ=UTC"])``
    """
    for line in env:
        if not _ENV_LINE.fullmatch(line):
            raise ValueError(f"cron environment line {line!r}: expected NAME=value")
    lines = None if absent else [*env, *map(_checked_entry, entries)]
    crontab = Crontab(user)
    listing = f"crontab -u {quote(user)} -l 2>/dev/null"

    def plan(values) -> Change | None:
        old = values[crontab]
        new = with_block(old, name, lines)
        if new == old:
            return None
        unchanged = f'[ "$({listing} | sha256sum)" = {quote(f"{FileContent.of(old).sha256}  -")} ]'
        message = quote(f"crontab of {user} changed since it was read: run again")
        return Change(
            description=f"{'remove' if absent else 'write'} cron block {name} of {user}",
            commands=(as_root(f"{unchanged} || {{ echo {message} >&2; exit 1; }}"),
                      as_root(f"crontab -u {quote(user)} -", stdin=new.encode("utf-8", "surrogateescape"))),
            diff=masked_diff(f"crontab of {user}", old, new),
        )

    # reread: an earlier step of the role may have written another block of the same crontab
    return declare(f"cron block {name} of {user}", [crontab], plan, tags=tags, notify=notify, reread=True)
