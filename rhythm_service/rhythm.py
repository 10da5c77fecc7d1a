"""Rhythm mode: a trigger for the error generator on every beat of a song, for a given time.

A ``BeatPlan`` says when the beats fall (seconds from the start): a steady pulse at the song's
tempo, or beat times detected in the audio (``/api/detect-beats``) followed by the steady pulse
at their tempo once they run out, always cut at ``duration_s``. A ``RhythmSession`` plays a plan
in a background thread: each beat is scheduled against the monotonic clock from the session's
start (``start + t``, never by adding up sleeps, so errors do not accumulate), waits on a stop
event (so ``stop`` cancels at once), and hands the error generator client one trigger, exactly
``{"trigger": "rhythm", "error_type": str, "beat": int, "section": str, "tempo": float}`` with
beats numbered from 1 and the section of the song playing at that beat. How late each trigger
left its scheduled time is measured and reported.

``RhythmController`` holds the service's state: the last analysed song, the running session
(one at a time: starting a new one stops the old), manual triggers, and the status the API shows.

Example::

    plan = BeatPlan.steady(song_structure.analyze({"audio_features": {"tempo": 120}}), duration_s=10)
    controller = RhythmController(client.submit)
    controller.start(plan)              # 20 triggers over 10 s
    controller.status()["rhythm"]["beats_fired"]
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rhythm_service.song_structure import SongAnalysis, error_type_for, section_at

Submit = Callable[[dict[str, Any]], bool]  # queue a trigger; False when dropped
Clock = Callable[[], float]


def make_trigger(section: str, beat: int, tempo: float) -> dict[str, Any]:
    """The error generator's trigger: exactly its five fields, with their JSON types.

    Example: ``make_trigger("chorus", 3, 128)`` ->
    ``{"trigger": "rhythm", "error_type": "business", "beat": 3, "section": "chorus", "tempo": 128.0}``.
    """
    return {"trigger": "rhythm", "error_type": error_type_for(section), "beat": int(beat), "section": section,
            "tempo": float(tempo)}


@dataclass(frozen=True)
class BeatPlan:
    """When beats fall during a rhythm mode: explicit times first (may be empty), then a steady pulse."""

    song: SongAnalysis
    duration_s: float
    tempo: float
    beats: tuple[float, ...] = ()
    source: str = "song_data"  # "song_data" (steady at the song's tempo) or "beats" (detected beat times)

    @classmethod
    def steady(cls, song: SongAnalysis, duration_s: float) -> BeatPlan:
        """A beat every 60/tempo s from 0 to ``duration_s`` (excluded).

        Example: ``BeatPlan.steady(song, 10.0).count()`` -> ``20`` at 120 BPM.
        """
        return cls(song=song, duration_s=duration_s, tempo=song.tempo)

    @classmethod
    def from_beats(cls, song: SongAnalysis, duration_s: float, beats: Sequence[float], tempo: float) -> BeatPlan:
        """The given beat times (sorted, duplicates removed), then steady at ``tempo`` to ``duration_s``.

        Example: ``BeatPlan.from_beats(song, 4.0, [0.5, 1.0, 1.5], 120.0).count()`` -> ``7``.
        """
        return cls(song=song, duration_s=duration_s, tempo=tempo, beats=tuple(sorted(set(beats))), source="beats")

    @property
    def interval(self) -> float:
        """Seconds between steady beats."""
        return 60.0 / self.tempo

    def times(self) -> Iterator[float]:
        """Beat times in seconds from the start, increasing, all below ``duration_s`` (lazily)."""
        given = [t for t in self.beats if t < self.duration_s]
        yield from given
        first = given[-1] + self.interval if given else 0.0
        for k in itertools.count():
            t = first + k * self.interval
            if t >= self.duration_s:
                return
            yield t

    def count(self) -> int:
        """How many beats ``times`` gives."""
        return sum(1 for _ in self.times())


@dataclass
class _Progress:
    beats_fired: int = 0
    triggers_queued: int = 0
    triggers_dropped: int = 0
    current_section: str | None = None
    last_beat_s: float | None = None
    max_lateness_s: float = 0.0
    total_lateness_s: float = 0.0
    lateness_s: list[float] = field(default_factory=list)  # kept only when ``record_lateness`` (tests)


class RhythmSession:
    """Plays one ``BeatPlan`` in a background thread (``start``, ``stop``, ``progress``)."""

    def __init__(self, plan: BeatPlan, submit: Submit, *, on_lateness: Callable[[float], None] | None = None,
                 clock: Clock = time.monotonic, record_lateness: bool = False) -> None:
        """Prepare the session (nothing runs before ``start``).

        Args:
            plan: the beats to play.
            submit: queues one trigger, never blocking (``ErrorGeneratorClient.submit``).
            on_lateness: called with each trigger's delay after its scheduled time (metrics).
            clock: the monotonic clock the schedule follows.
            record_lateness: keep every beat's lateness in ``progress()["lateness_s"]`` (for tests).

        Example: ``RhythmSession(plan, client.submit).start()``.
        """
        self.plan = plan
        self.submit = submit
        self.on_lateness = on_lateness
        self.clock = clock
        self.record_lateness = record_lateness
        self.beats_planned = plan.count()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._progress = _Progress()
        self._started_at: float | None = None
        self._ended_at: float | None = None
        self._thread = threading.Thread(target=self._run, name="rhythm-mode", daemon=True)

    def start(self) -> None:
        """Start playing now (time 0 of the plan is now)."""
        self._started_at = self.clock()
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Cancel: no trigger after this returns (waits for the thread up to ``timeout_s``)."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for the session to end (duration reached or stopped); False on timeout."""
        return self._done.wait(timeout_s)

    @property
    def started_at(self) -> float | None:
        """The clock's reading at ``start`` (time 0 of the plan), None before."""
        return self._started_at

    @property
    def running(self) -> bool:
        """True from ``start`` until the duration has passed or ``stop``."""
        return self._started_at is not None and not self._done.is_set()

    @property
    def cancelled(self) -> bool:
        """True when ``stop`` ended the session early."""
        return self._stop.is_set()

    def progress(self) -> dict[str, Any]:
        """JSON-able progress: beats planned/fired, triggers queued/dropped, section, times, lateness.

        Example: ``session.progress()["beats_fired"]`` -> ``12``.
        """
        now = self._ended_at if self._ended_at is not None else self.clock()
        elapsed = 0.0 if self._started_at is None else max(0.0, now - self._started_at)
        elapsed = min(elapsed, self.plan.duration_s)
        with self._lock:
            p = self._progress
            report = {
                "running": self.running,
                "cancelled": self.cancelled,
                "source": self.plan.source,
                "song": self.plan.song.name,
                "tempo": self.plan.tempo,
                "beat_interval": self.plan.interval,
                "duration": self.plan.duration_s,
                "elapsed_s": round(elapsed, 3),
                "progress": round(elapsed / self.plan.duration_s, 4),
                "beats_planned": self.beats_planned,
                "beats_fired": p.beats_fired,
                "triggers_queued": p.triggers_queued,
                "triggers_dropped": p.triggers_dropped,
                "current_section": p.current_section,
                "last_beat_s": p.last_beat_s,
                "max_lateness_ms": round(p.max_lateness_s * 1000, 3),
                "mean_lateness_ms": round(p.total_lateness_s * 1000 / p.beats_fired, 3) if p.beats_fired else 0.0,
            }
            if self.record_lateness:
                report["lateness_s"] = list(p.lateness_s)
        return report

    def _run(self) -> None:
        start = self._started_at if self._started_at is not None else self.clock()
        try:
            for beat, t in enumerate(self.plan.times(), start=1):
                if not self._wait_until(start + t):
                    return
                self._fire(beat, t, start + t)
            self._wait_until(start + self.plan.duration_s)
        finally:
            self._ended_at = self.clock()
            self._done.set()

    def _wait_until(self, deadline: float) -> bool:
        """Sleep until ``deadline`` on the clock; False when stopped first."""
        while True:
            remaining = deadline - self.clock()
            if remaining <= 0:
                return not self._stop.is_set()
            if self._stop.wait(remaining):
                return False

    def _fire(self, beat: int, t: float, scheduled: float) -> None:
        section = section_at(self.plan.song.structure, t)
        trigger = make_trigger(section, beat, self.plan.tempo)
        lateness = max(0.0, self.clock() - scheduled)
        queued = self.submit(trigger)
        with self._lock:
            p = self._progress
            p.beats_fired = beat
            p.current_section = section
            p.last_beat_s = round(t, 6)
            p.max_lateness_s = max(p.max_lateness_s, lateness)
            p.total_lateness_s += lateness
            if queued:
                p.triggers_queued += 1
            else:
                p.triggers_dropped += 1
            if self.record_lateness:
                p.lateness_s.append(lateness)
        if self.on_lateness is not None:
            self.on_lateness(lateness)


class RhythmController:
    """The service's rhythm state: current song, the running session, manual triggers, status."""

    def __init__(self, submit: Submit, *, on_lateness: Callable[[float], None] | None = None,
                 on_running: Callable[[bool], None] | None = None) -> None:
        """Args: ``submit`` queues a trigger (never blocking); ``on_lateness`` and ``on_running`` feed metrics.

        Example: ``RhythmController(client.submit, on_lateness=metrics.beat_lateness.observe)``.
        """
        self.submit = submit
        self.on_lateness = on_lateness
        self.on_running = on_running
        self._lock = threading.Lock()
        self._song = SongAnalysis()
        self._section = "verse"
        self._session: RhythmSession | None = None
        self.record_lateness = False  # tests: keep each beat's lateness

    def analyze(self, song: SongAnalysis) -> None:
        """Make ``song`` the current song (shown by status while no rhythm mode runs)."""
        with self._lock:
            self._song = song

    def start(self, plan: BeatPlan) -> tuple[RhythmSession, bool]:
        """Play ``plan`` now, stopping a session still running; returns (session, whether one was replaced).

        Example: ``session, replaced = controller.start(BeatPlan.steady(song, 60))``.
        """
        session = RhythmSession(plan, self.submit, on_lateness=self.on_lateness,
                                record_lateness=self.record_lateness)
        with self._lock:
            previous = self._session
            replaced = previous is not None and previous.running
            if previous is not None:
                previous.stop()
            self._song = plan.song
            self._session = session
            session.start()
        if self.on_running is not None:
            self.on_running(True)
            threading.Thread(target=self._report_end, args=(session,), daemon=True).start()
        return session, replaced

    def _report_end(self, session: RhythmSession) -> None:
        session.wait()
        with self._lock:
            current = self._session is session
        if current and self.on_running is not None:
            self.on_running(False)

    def stop(self) -> dict[str, Any] | None:
        """Cancel the running session; its final progress, or None when none was running.

        Example: ``controller.stop()["beats_fired"]``.
        """
        with self._lock:
            session = self._session
        if session is None or not session.running:
            return None
        session.stop()
        if self.on_running is not None:
            self.on_running(False)
        return session.progress()

    def trigger(self, section: str, beat: int) -> tuple[str, bool]:
        """A manual trigger (``/api/beat-trigger``) at the current tempo; (error type, whether queued).

        Example: ``controller.trigger("chorus", 4)`` -> ``("business", True)``.
        """
        with self._lock:
            self._section = section
            tempo = self._current_tempo()
        trigger = make_trigger(section, beat, tempo)
        return trigger["error_type"], self.submit(trigger)

    def _current_tempo(self) -> float:
        session = self._session
        return session.plan.tempo if session is not None and session.running else self._song.tempo

    def status(self) -> dict[str, Any]:
        """The original status fields (current song, tempo, section, beat count, beat interval) + ``rhythm``.

        Example: ``controller.status()["beat_interval_ms"]`` -> ``500.0`` at 120 BPM.
        """
        with self._lock:
            session = self._session
            running = session is not None and session.running
            progress = session.progress() if session is not None else None
            song = session.plan.song if running else self._song
            tempo = self._current_tempo()
            section = (progress or {}).get("current_section") if running else None
            section = section or self._section
        return {
            "current_song": song.name,
            "tempo": tempo,
            "current_section": section,
            "beat_count": progress["beats_fired"] if progress else 0,
            "beat_interval_ms": 60_000.0 / tempo,
            "rhythm": progress or {"running": False},
        }

    def close(self) -> None:
        """Stop any session (service shutdown)."""
        with self._lock:
            session = self._session
        if session is not None:
            session.stop()
