"""What a run did, per host, and the recap table printed at its end (Ansible's PLAY RECAP).

Counts per host: ``ok`` steps that succeeded (changed or not), ``changed`` those that changed
something (or would, in check mode), ``failed`` (0 or 1: a failure stops the host),
``skipped`` steps left undone because the host stopped early, ``unreachable`` (0 or 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table
from rich.text import Text

EXIT_OK = 0
EXIT_FAILED = 2  # as ansible-playbook: some host failed
EXIT_UNREACHABLE = 4  # as ansible-playbook: some host unreachable (and none failed)


@dataclass
class HostRecap:
    """One host's counts, what stopped it (if anything), its remote commands and time."""

    host: str
    ok: int = 0
    changed: int = 0
    failed: int = 0
    skipped: int = 0
    unreachable: int = 0
    error: str | None = None  # why the host stopped, for the summary under the table
    commands_run: int = 0
    seconds: float = 0.0

    @property
    def stopped(self) -> bool:
        """True once the host failed or became unreachable: nothing more runs on it."""
        return bool(self.failed or self.unreachable)


@dataclass
class RunResult:
    """The outcome of a run: a recap per host (inventory order) and the log file's path.

    Example: ``sys.exit(run(...).exit_code)``
    """

    hosts: dict[str, HostRecap] = field(default_factory=dict)
    log_path: Path | None = None
    check: bool = False

    @property
    def exit_code(self) -> int:
        """0 when every host succeeded; 2 if any failed; 4 if any was unreachable and none failed."""
        if any(recap.failed for recap in self.hosts.values()):
            return EXIT_FAILED
        if any(recap.unreachable for recap in self.hosts.values()):
            return EXIT_UNREACHABLE
        return EXIT_OK

    @property
    def changed(self) -> int:
        """Steps that changed something (or would, in check mode), all hosts together."""
        return sum(recap.changed for recap in self.hosts.values())


def recap_table(result: RunResult) -> Table:
    """The recap as a rich table: one row per host, non-zero problem counts in colour."""
    title = "RECAP (check mode: nothing was changed)" if result.check else "RECAP"
    table = Table(title=title, title_justify="left", title_style="bold")
    table.add_column("host")
    for name in ("ok", "changed", "failed", "skipped", "unreachable"):
        table.add_column(name, justify="right")
    table.add_column("commands", justify="right", style="dim")
    table.add_column("time", justify="right", style="dim")
    styles = {"changed": "yellow", "failed": "bold red", "skipped": "cyan", "unreachable": "bold red"}
    for recap in result.hosts.values():
        colour = "red" if recap.stopped else ("yellow" if recap.changed else "green")
        cells = [Text(recap.host, style=colour), Text(str(recap.ok), style="green")]
        for name, style in styles.items():
            value = getattr(recap, name)
            cells.append(Text(str(value), style=style if value else "dim"))
        cells += [Text(str(recap.commands_run)), Text(f"{recap.seconds:.1f}s")]
        table.add_row(*cells)
    return table
