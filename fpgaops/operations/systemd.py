"""systemd units and services: unit files written atomically, services enabled, started, restarted.

Works with real systemd and with docker-systemctl-replacement (the sandbox hosts' systemctl).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from shlex import quote
from typing import Any

from fpgaops.core import Change, Operation
from fpgaops.facts import FileText, PathState, ServiceState
from fpgaops.operations.masking import secret_values
from fpgaops.operations.operation import as_root, declare
from fpgaops.operations.remote_file import plan_text_file
from fpgaops.templates import render_template

__all__ = ["service", "unit"]

UNITS_DIR = "/etc/systemd/system"
_UNIT_NAME = re.compile(r"[A-Za-z0-9:_.@\\-]+")


def _checked_unit_name(name: str) -> str:
    if not _UNIT_NAME.fullmatch(name) or name.startswith("-"):
        raise ValueError(f"{name!r} is not a systemd unit name")
    return name


def unit(
    name: str,
    content: str | None = None,
    *,
    template_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
    secrets: Iterable[str] = (),
    templates_dir: str | Path | None = None,
    tags: Iterable[str] = (),
    notify: Iterable[str] = (),
) -> Operation:
    """The unit file ``/etc/systemd/system/<name>`` (0644 root:root), then ``daemon-reload`` when it changed.

    Give the text as ``content`` or render it from a template (as ``files.template``, with the
    same secret masking in the diff).  Restart the service through ``notify`` (a handler
    ``service(name, restarted=True)``).
    Args:
        name: the unit's file name (``rhythm.service``); content: its text; or instead
        template_name, variables: a template in ``templates/`` and its values; secrets: variable
        names whose values to mask; templates_dir: another templates directory (tests).
        tags, notify: as for ``files.file``.
    Example:
        ``unit("rhythm.service", template_name="rhythm.service.j2", variables=host_vars, notify=["restart rhythm"])``
    """
    name = _checked_unit_name(name)
    if (content is None) == (template_name is None):
        raise ValueError(f"unit {name}: give either content or template_name")
    text = content if content is not None else render_template(template_name, variables or {}, templates_dir)
    hidden = secret_values(variables or {}, secrets)
    path = f"{UNITS_DIR}/{name}"
    state, old_text = PathState(path), FileText(path)
    return declare(f"unit {name}", [state, old_text],
                   lambda values: plan_text_file(path, text, 0o644, "root", "root", values[state], values[old_text],
                                                 secrets=hidden, after_write=[as_root("systemctl daemon-reload")]),
                   tags=tags, notify=notify)


def service(
    name: str,
    *,
    enabled: bool | None = True,
    running: bool | None = True,
    restarted: bool = False,
    satisfies: Iterable[str] = (),
    tags: Iterable[str] = (),
    notify: Iterable[str] = (),
) -> Operation:
    """A service enabled (or not) at boot and running (or stopped); restarted when asked (for handlers).

    Reads ``systemctl is-active`` / ``is-enabled``: a "static" (or indirect, generated) unit counts
    as enabled, since there is nothing to enable; "activating" and "reloading" count as running.
    Args:
        name: the unit (``rhythm.service``; a bare name means a service);
        enabled: True/False, or None to leave as is; running: True/False, or None to leave as is;
        restarted: restart it (or start it) every time: for a handler.
        satisfies: handlers a start makes needless (the role's restart handler: a service that was
        not running starts with the new configuration, so it is not restarted again at the end).
        tags, notify: as for ``files.file``.
    Example: ``service("rhythm.service")``; handler: ``service("rhythm.service", restarted=True)``
    """
    name = _checked_unit_name(name)
    if restarted and running is False:
        raise ValueError(f"service {name}: restarted=True contradicts running=False")
    state = ServiceState(name)

    def plan(values) -> Change | None:
        status = values[state]
        commands = []
        if enabled and not status.is_enabled:
            commands.append(as_root(f"systemctl enable {quote(name)}"))
        elif enabled is False and status.enabled in ("enabled", "enabled-runtime"):
            commands.append(as_root(f"systemctl disable {quote(name)}"))
        if restarted:
            commands.append(as_root(f"systemctl restart {quote(name)}"))
        elif running is not None and status.running != running:
            commands.append(as_root(f"systemctl {'start' if running else 'stop'} {quote(name)}"))
        if not commands:
            return None
        started = running is True and not restarted and not status.running
        return Change(description="; ".join(command.shell for command in commands), commands=tuple(commands),
                      satisfies=tuple(satisfies) if started else ())

    return declare(f"service {name}", [state], plan, tags=tags, notify=notify)
