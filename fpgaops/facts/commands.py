"""Facts that run a guard command: its exit status is the reading."""

from __future__ import annotations

from dataclasses import dataclass
from shlex import quote

from fpgaops.core import Fact


@dataclass(frozen=True)
class CommandStatus(Fact[int]):
    """The exit status of the guard command ``shell`` (run by ``sh -c``, stdin and output discarded).

    Non-mutating by contract: facts are read in check mode too, so the guard MUST be read-only
    (``test -x /opt/tool/bin/x``, ``grep -q ...``, ``systemctl is-active ...``), never a change.
    Args: shell: the guard; sudo: read it as root (the default, like the commands it guards).
    Example: ``CommandStatus("grep -q '^fpga' /proc/modules")`` -> 0 when the module is loaded
    """

    name = "command_status"
    shell: str
    sudo: bool = True

    @property
    def needs_root(self) -> bool:
        return self.sudo

    def command(self) -> str:
        return f"sh -c {quote(self.shell)} </dev/null >/dev/null 2>&1"

    def process(self, output: str, status: int) -> int:
        return status
