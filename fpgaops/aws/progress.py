"""Progress of long AWS operations (launches, uploads, AFI ingestion), reported to a callback.

The library never prints: each long operation calls ``progress(Progress(...))`` and the caller
renders it (a rich progress bar in the fab tasks, a list in tests). A callback may raise (e.g.
KeyboardInterrupt) to stop a wait: every wait in this package is resumable by calling it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """One report of a long operation.

    ``stage`` names the step (``"launch"``, ``"wait-running"``, ``"upload"``, ``"afi-pending"``...),
    ``subject`` what it is about (a host name, an AFI id, an S3 key), ``done``/``total`` a count or
    bytes when known, ``elapsed_s`` the time since the step began.
    """

    stage: str
    message: str
    elapsed_s: float = 0.0
    subject: str | None = None
    done: float | None = None
    total: float | None = None


ProgressCallback = Callable[[Progress], None]


def ignore_progress(_event: Progress) -> None:
    """The default callback: report nothing."""


def format_elapsed(seconds: float) -> str:
    """``3725.2`` -> ``"1h02m05s"``, ``65`` -> ``"1m05s"``, ``4.2`` -> ``"4s"``."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


class WaitTimedOut(Exception):
    """A wait ended by its timeout; ``last`` is the last state read."""

    def __init__(self, message: str, last: object):
        super().__init__(message)
        self.last = last


def wait_until(
    read: Callable[[], T],
    done: Callable[[T], bool],
    *,
    stage: str,
    describe: Callable[[T, float], str],
    timeout_s: float,
    interval_s: float,
    progress: ProgressCallback = ignore_progress,
    subject: str | None = None,
    count: Callable[[T], tuple[float, float]] | None = None,
) -> T:
    """Read a state until ``done(state)``, reporting each reading; raise ``WaitTimedOut`` after ``timeout_s``.

    Args:
        read: returns the current state (one AWS describe call).
        done: whether that state ends the wait.
        stage: the ``Progress.stage`` of the reports.
        describe: ``(state, elapsed_s) -> message`` for each report.
        timeout_s: give up after this long (``WaitTimedOut`` carries the last state).
        interval_s: time between readings.
        progress: the callback.
        subject: the ``Progress.subject`` of the reports.
        count: ``state -> (done, total)`` for reports that show a count.

    Example: ``wait_until(lambda: state_of(i), lambda s: s == "running", stage="wait-running",
    describe=lambda s, t: f"{i} {s}", timeout_s=600, interval_s=5)``
    """
    started = time.monotonic()
    while True:
        state = read()
        elapsed = time.monotonic() - started
        done_count, total = count(state) if count else (None, None)
        progress(Progress(stage, describe(state, elapsed), elapsed, subject, done_count, total))
        if done(state):
            return state
        if elapsed >= timeout_s:
            raise WaitTimedOut(f"{describe(state, elapsed)}: still not done after {format_elapsed(timeout_s)}", state)
        time.sleep(min(interval_s, timeout_s - elapsed))
