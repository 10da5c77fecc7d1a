"""Facts about crontabs: a user's crontab text, as ``crontab -u USER -l`` lists it."""

from __future__ import annotations

from dataclasses import dataclass
from shlex import quote

from fpgaops.core import Fact, FactError

# what crontab -l says when there is nothing to list: no crontab yet, or no such user yet
# (Debian cron and cronie: "no crontab for X", "crontab: user `X' unknown")
_EMPTY_MESSAGES = ("no crontab for", "unknown")


@dataclass(frozen=True)
class Crontab(Fact[str]):
    """The crontab of ``user`` as text; "" when the user has none (or does not exist yet).

    Any other failure of ``crontab -l`` is an error, so an unreadable crontab is never taken for
    an empty one (which would make a write drop the user's lines).
    Args: user: the account whose crontab to read.
    Example: ``Crontab("centos")`` -> "MAILTO=\\"\\"\\n# BEGIN FPGAOPS idle-shutdown\\n...\\n"
    """

    name = "crontab"
    needs_root = True
    user: str

    def command(self) -> str:
        # on failure, list again to capture the reason (stderr) as the output
        listing = f"crontab -u {quote(self.user)} -l"
        return f"{listing} 2>/dev/null || {{ status=$?; {listing} 2>&1 | head -n 1; exit $status; }}"

    def process(self, output: str, status: int) -> str:
        if status == 0:
            return output
        if any(message in output for message in _EMPTY_MESSAGES):
            return ""
        raise FactError(f"crontab of {self.user!r} cannot be read (exit {status}): {output.strip()}")
