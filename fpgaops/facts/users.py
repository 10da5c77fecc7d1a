"""Facts about accounts: a user's passwd entry, a group's id (from ``getent``, so NSS sources count)."""

from __future__ import annotations

from dataclasses import dataclass
from shlex import quote

from fpgaops.core import Fact


@dataclass(frozen=True)
class Account:
    """A passwd entry."""

    name: str
    uid: int
    gid: int
    home: str
    shell: str


@dataclass(frozen=True)
class UserAccount(Fact[Account | None]):
    """The passwd entry of user ``user``, or None when there is no such user.

    Args: user: the account name.
    Example: ``UserAccount("rhythm")`` -> ``Account("rhythm", 998, 998, "/var/lib/rhythm", "/usr/sbin/nologin")``
    """

    name = "user_account"
    user: str

    def command(self) -> str:
        return f"getent passwd {quote(self.user)}"

    def process(self, output: str, status: int) -> Account | None:
        if status != 0 or not output.strip():
            return None
        name, _password, uid, gid, _gecos, home, shell = output.splitlines()[0].split(":")
        return Account(name=name, uid=int(uid), gid=int(gid), home=home, shell=shell)


@dataclass(frozen=True)
class GroupId(Fact[int | None]):
    """The id of group ``group``, or None when there is no such group.

    Args: group: the group name.
    Example: ``GroupId("rhythm")`` -> 998
    """

    name = "group_id"
    group: str

    def command(self) -> str:
        return f"getent group {quote(self.group)}"

    def process(self, output: str, status: int) -> int | None:
        if status != 0 or not output.strip():
            return None
        return int(output.splitlines()[0].split(":")[2])
