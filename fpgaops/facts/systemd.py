"""Facts about systemd services, as ``systemctl is-active`` / ``is-enabled`` report them.

The same parser reads real systemd and docker-systemctl-replacement (the sandbox hosts'
systemctl): both print one word per query (active/inactive/failed/activating/...,
enabled/disabled/static/masked/...); a unit that does not exist prints nothing to stdout for
``is-enabled`` and "inactive" (or "unknown") for ``is-active``.
"""

from __future__ import annotations

from dataclasses import dataclass
from shlex import quote

from fpgaops.core import Fact

RUNNING_STATES = frozenset({"active", "activating", "reloading"})
# states where there is nothing to enable: the unit is started by others or through another name
ENABLED_STATES = frozenset({"enabled", "enabled-runtime", "static", "indirect", "generated", "alias"})


@dataclass(frozen=True)
class ServiceStatus:
    """``active``: is-active's word; ``enabled``: is-enabled's word ("" when the unit is unknown)."""

    active: str
    enabled: str

    @property
    def running(self) -> bool:
        return self.active in RUNNING_STATES

    @property
    def is_enabled(self) -> bool:
        return self.enabled in ENABLED_STATES


@dataclass(frozen=True)
class ServiceState(Fact[ServiceStatus]):
    """Whether a systemd unit is running and enabled.

    Args: unit: the unit name (``rhythm.service``; a bare name means a service).
    Example: ``ServiceState("rhythm.service")`` -> ``ServiceStatus(active="active", enabled="enabled")``
    """

    name = "service_state"
    unit: str

    def command(self) -> str:
        # both questions at once (each is a systemctl process: a D-Bus call, or a Python start in
        # the sandbox); each answer is one line written at once, in either order, "" for no word
        unit = quote(self.unit)
        return (f"{{ systemctl is-enabled {unit} 2>/dev/null; echo; }} | {{ read -r w; echo \"enabled=$w\"; }} &\n"
                f"{{ systemctl is-active {unit} 2>/dev/null; echo; }} | {{ read -r w; echo \"active=$w\"; }}\n"
                "wait")

    def process(self, output: str, status: int) -> ServiceStatus:
        words = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
        return ServiceStatus(active=words["active"].strip() or "unknown", enabled=words["enabled"].strip())
