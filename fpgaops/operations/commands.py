"""Guarded shell commands: run only when their guards say the work is not done yet."""

from __future__ import annotations

from collections.abc import Iterable

from fpgaops.core import Change, Command, Operation
from fpgaops.facts import CommandStatus, PathExists
from fpgaops.operations.operation import absolute, declare

__all__ = ["command"]


def command(
    shell: str,
    *,
    creates: str | None = None,
    unless: str | None = None,
    only_if: str | None = None,
    sudo: bool = True,
    description: str | None = None,
    tags: Iterable[str] = (),
    notify: Iterable[str] = (),
) -> Operation:
    """A shell command, skipped when its guards say it is not needed (without guards it runs every time).

    Guards are facts, read with the role's other facts (again after an earlier step of the role
    changed something): they run in check mode too, so ``unless`` and ``only_if`` MUST be
    read-only commands.
    Args:
        shell: the POSIX sh command; creates: skip when this path exists;
        unless: skip when this guard command exits 0; only_if: run only when this guard exits 0;
        sudo: run the command and its guards as root; description: what the step does (for the recap).
        tags, notify: as for ``files.file``.
    Example: ``command("./sdk_setup.sh", creates="/opt/aws-fpga/sdk/userspace/bin/fpga-describe-local-image")``
    """
    exists = PathExists(absolute(creates)) if creates else None
    skip_when_ok = CommandStatus(unless, sudo) if unless else None
    run_when_ok = CommandStatus(only_if, sudo) if only_if else None
    facts = [fact for fact in (exists, skip_when_ok, run_when_ok) if fact is not None]
    description = description or shell

    def plan(values) -> Change | None:
        if (exists and values[exists]) or (skip_when_ok and values[skip_when_ok] == 0) \
                or (run_when_ok and values[run_when_ok] != 0):
            return None
        return Change(description=description, commands=(Command(shell=shell, sudo=sudo),))

    return declare(description, facts, plan, tags=tags, notify=notify, reread=bool(facts))
