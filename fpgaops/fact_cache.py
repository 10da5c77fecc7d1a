"""Fact values kept across the role runs of one invocation, and facts read ahead of the roles that need them.

A flow of several role runs (``fab provision deploy``) would read each host's facts once per
role.  With a ``FactCache`` the flow first says which roles will follow (``read_ahead``); the first
reading on a host then reads their facts too, in the same round trip, and later roles find their
values here.  A value holds until something may have changed the host: the runner calls
``forget(host)`` when it applies a change there, and so does every other command sent to the host
outside the runner (``Flow.connection``).  A fact read ahead whose output does not parse is simply
not kept: the role that needs it reads it again and reports the error.

Example::

    cache = FactCache()
    cache.read_ahead("f1-a", [PathState("/etc/rhythm/rhythm.env")])
    run(inventory, [f1_host_role], pool.get, settings, facts=cache)  # one reading: the role's facts + the .env's
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fpgaops.core import Fact


class FactCache:
    """Per host: the facts to read ahead, and the values read since the last change applied there."""

    def __init__(self) -> None:
        self._ahead: dict[str, dict[Fact, None]] = {}
        self._values: dict[str, dict[Fact, Any]] = {}

    def read_ahead(self, host: str, facts: Iterable[Fact]) -> None:
        """Read ``facts`` with the next reading on ``host`` (those not known yet)."""
        self._ahead.setdefault(host, {}).update(dict.fromkeys(facts))

    def to_read(self, host: str, facts: Sequence[Fact], fresh: bool = False) -> list[Fact]:
        """The facts a reading of ``facts`` must read: those not known (all when ``fresh``), and, when there is
        anything to read, the facts read ahead that are not known either; [] when every value is known."""
        known = self._values.get(host, {})
        needed = [fact for fact in facts if fresh or fact not in known]
        if not needed:
            return []
        return list(dict.fromkeys([*needed, *(fact for fact in self._ahead.get(host, ()) if fact not in known)]))

    def keep(self, host: str, values: dict[Fact, Any]) -> None:
        """Values just read on ``host``."""
        self._values.setdefault(host, {}).update(values)

    def values(self, host: str, facts: Iterable[Fact]) -> dict[Fact, Any]:
        """The known values of ``facts`` (KeyError for one not known)."""
        known = self._values.get(host, {})
        return {fact: known[fact] for fact in facts}

    def forget(self, host: str) -> None:
        """``host`` may have changed: no value read there before holds any more (the facts to read ahead stay)."""
        self._values.pop(host, None)
