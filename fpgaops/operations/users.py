"""Accounts: system users that services run as."""

from __future__ import annotations

from collections.abc import Iterable
from shlex import quote

from fpgaops.core import Change, Operation
from fpgaops.facts import GroupId, UserAccount
from fpgaops.operations.operation import absolute, as_root, declare

__all__ = ["system_user"]


def system_user(
    name: str,
    home: str,
    shell: str = "/usr/sbin/nologin",
    *,
    group: str | None = None,
    tags: Iterable[str] = (),
    notify: Iterable[str] = (),
) -> Operation:
    """A system account (and its primary group) for a service: no password, no login shell by default.

    A missing account is created with its home directory; an existing one gets its home, shell and
    primary group corrected (its home directory is not moved).
    Args:
        name: the user; home: its home directory; shell: its login shell;
        group: its primary group (default: a group named like the user, created when missing).
        tags, notify: as for ``files.file``.
    Example: ``system_user("rhythm", home="/var/lib/rhythm")``
    """
    home, group = absolute(home), group or name
    user_fact, group_fact = UserAccount(name), GroupId(group)

    def plan(values) -> Change | None:
        account, gid = values[user_fact], values[group_fact]
        commands = [] if gid is not None else [as_root(f"groupadd --system {quote(group)}")]
        if account is None:
            commands.append(as_root(f"useradd --system --gid {quote(group)} --home-dir {quote(home)} --create-home"
                                    f" --shell {quote(shell)} {quote(name)}"))
        else:
            changes = [f"{option} {quote(wanted)}" for option, wanted, differs in (
                ("--home", home, account.home != home),
                ("--shell", shell, account.shell != shell),
                ("--gid", group, account.gid != gid)) if differs]
            if changes:
                commands.append(as_root(f"usermod {' '.join(changes)} {quote(name)}"))
        if not commands:
            return None
        return Change(description=f"{'create' if account is None else 'update'} system user {name}",
                      commands=tuple(commands))

    return declare(f"system user {name}", [user_fact, group_fact], plan, tags=tags, notify=notify)
