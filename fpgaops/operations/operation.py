"""What every operation module shares: declaring an Operation, root commands, plan-time errors."""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Callable, Iterable

from fpgaops.core import Change, Command, Fact, FactValues, Operation


class PlanError(RuntimeError):
    """The host is in a state the operation will not change by itself (the message says what to do)."""


def declare(
    description: str,
    facts: Iterable[Fact],
    plan: Callable[[FactValues], Change | None],
    *,
    tags: Iterable[str] = (),
    notify: Iterable[str] = (),
    reread: bool = False,
) -> Operation:
    """An Operation whose Changes carry the operation's ``notify`` handlers."""
    notify = tuple(notify)

    def plan_with_notify(values: FactValues) -> Change | None:
        change = plan(values)
        return None if change is None else dataclasses.replace(change, notify=notify)

    return Operation(description=description, facts=tuple(dict.fromkeys(facts)), plan=plan_with_notify,
                     notify=notify, tags=tuple(tags), reread=reread)


def as_root(shell: str, stdin: bytes | None = None) -> Command:
    """A mutating command run as root."""
    return Command(shell=shell, sudo=True, stdin=stdin)


def absolute(path: str) -> str:
    """``path`` normalized, or ValueError when it is not absolute (remote paths must be)."""
    if not posixpath.isabs(path):
        raise ValueError(f"remote path {path!r} must be absolute")
    return posixpath.normpath(path)
