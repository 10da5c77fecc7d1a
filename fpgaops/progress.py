"""What a run shows while it works: a live line per host, changes with their diffs, failures.

Quiet by default: a transient progress line per host (on a terminal), one line per change
(with its diff in check mode or with ``diff``), failures with their last output lines, then the
recap.  ``verbose`` adds steps that changed nothing and every command sent.  Everything shown
goes through the run's masker first, and through ``rich.text.Text`` (never markup), so a diff or
an output line holding ``[brackets]`` prints as it is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn
from rich.text import Text

from fpgaops.core import Change
from fpgaops.recap import RunResult, recap_table

TAIL_LINES = 15  # lines of a failed command's output shown on screen (all of it goes to the log)


def tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` non-empty-trailing lines of ``text``."""
    return "\n".join(text.rstrip().split("\n")[-lines:]) if text.strip() else ""


def diff_text(diff: str) -> Text:
    """A unified diff coloured line by line (added green, removed red, hunks cyan)."""
    text = Text()
    for line in diff.rstrip("\n").split("\n"):
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        else:
            style = ""
        text.append("    " + line + "\n", style=style)
    return text


class RunDisplay:
    """The run's screen: use as a context manager around the run; every method is thread-safe.

    Example::

        with RunDisplay(Console(), mask, check=True, show_diff=True, verbose=False) as display:
            display.start_host("f1-a")
            display.step("f1-a", "deploy", "write /etc/rhythm.env")
    """

    def __init__(self, console: Console, mask: Callable[[str], str], *, check: bool, show_diff: bool,
                 verbose: bool) -> None:
        self.console = console
        self.mask = mask
        self.check = check
        self.show_diff = show_diff or check
        self.verbose = verbose
        self._progress = Progress(SpinnerColumn(), TextColumn("{task.fields[host]:<12}", style="bold"),
                                  TextColumn("{task.description}"), console=console, transient=True,
                                  disable=not console.is_terminal)
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> RunDisplay:
        if self.check:
            self.console.print(Text("CHECK MODE: showing what would change; nothing will be changed.",
                                    style="bold yellow"))
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    # the live lines

    def start_host(self, host: str) -> None:
        """Give ``host`` its live line."""
        with self._lock:
            if host not in self._tasks:
                self._tasks[host] = self._progress.add_task("connecting", host=host, total=None)

    def step(self, host: str, role: str, what: str) -> None:
        """Show what ``host`` is doing now."""
        with self._lock:
            task = self._tasks.get(host)
        if task is not None:
            self._progress.update(task, description=self.mask(f"{role} › {what}"))

    def end_host(self, host: str) -> None:
        """Remove ``host``'s live line (it has finished, one way or the other)."""
        with self._lock:
            task = self._tasks.pop(host, None)
        if task is not None:
            self._progress.remove_task(task)
            self._progress.refresh()

    # printed lines

    def _line(self, status: str, style: str, host: str, where: str) -> Text:
        return Text.assemble((f"{status:<13}", style), (f"{host:<12} ", "bold"), self.mask(where))

    def ok(self, host: str, where: str) -> None:
        """A step that changed nothing (shown when verbose)."""
        if self.verbose:
            self.console.print(self._line("ok", "green", host, where))

    def changed(self, host: str, where: str, change: Change) -> None:
        """A change made (or, in check mode, one that would be made), with its diff when asked."""
        status = "would change" if self.check else "changed"
        step = where if where.endswith(change.description) else f"{where}: {change.description}"
        lines = [self._line(status, "yellow", host, step)]
        if self.show_diff and change.diff:
            lines.append(diff_text(self.mask(change.diff)))
        self.console.print(*lines, sep="\n", end="" if len(lines) > 1 else "\n")

    def command(self, host: str, shell: str, sudo: bool) -> None:
        """A command about to be sent (shown when verbose)."""
        if self.verbose:
            prompt = "# " if sudo else "$ "
            body = "\n".join(prompt + line if i == 0 else "  " + line
                             for i, line in enumerate(self.mask(shell).rstrip().split("\n")))
            self.console.print(Text.assemble(("             ", ""), (f"{host:<12} ", "dim"), (body, "dim")))

    def failed(self, host: str, where: str, message: str, output: str = "") -> None:
        """A failed step: where, what happened, the last lines of its output."""
        lines = [self._line("FAILED", "bold red", host, f"{where}: {message}")]
        if output.strip():
            lines.append(Text("\n".join("    " + line for line in self.mask(tail(output)).split("\n")),
                              style="red"))
        self.console.print(*lines, sep="\n")

    def unreachable(self, host: str, where: str, message: str) -> None:
        """A host that could not be reached (or dropped) and why."""
        self.console.print(self._line("UNREACHABLE", "bold red", host, f"{where}: {message}"))

    def recap(self, result: RunResult) -> None:
        """The recap table, then where the log is."""
        self.console.print()
        self.console.print(recap_table(result))
        if result.log_path is not None:
            self.console.print(Text(f"log: {result.log_path}", style="dim"))
