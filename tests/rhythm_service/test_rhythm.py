"""Rhythm mode: the beat plan, the schedule's timing, the triggers' content, stop, and the controller's state."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from rhythm_service import song_structure
from rhythm_service.rhythm import BeatPlan, RhythmController, RhythmSession, make_trigger

TOLERANCE_S = 0.020  # every trigger within 20 ms of its beat


class Recorder:
    """A ``submit`` that records (monotonic time, trigger) and accepts or refuses."""

    def __init__(self, accept: bool = True) -> None:
        self.accept = accept
        self.calls: list[tuple[float, dict]] = []
        self.lock = threading.Lock()

    def __call__(self, trigger: dict) -> bool:
        with self.lock:
            self.calls.append((time.monotonic(), trigger))
        return self.accept

    def triggers(self) -> list[dict]:
        with self.lock:
            return [trigger for _, trigger in self.calls]


def song(tempo: float = 120.0, **data) -> song_structure.SongAnalysis:
    return song_structure.analyze({"audio_features": {"tempo": tempo}, **data})


def test_a_steady_plan_has_a_beat_every_interval_below_the_duration() -> None:
    plan = BeatPlan.steady(song(120.0), 10.0)
    times = list(plan.times())
    assert plan.count() == len(times) == 20
    np.testing.assert_allclose(times, np.arange(20) * 0.5)


def test_a_plan_from_detected_beats_plays_them_then_continues_at_the_tempo() -> None:
    plan = BeatPlan.from_beats(song(), 3.0, [1.0, 0.4, 0.4, 0.9, 5.0], tempo=150.0)
    assert plan.source == "beats"
    np.testing.assert_allclose(list(plan.times()), [0.4, 0.9, 1.0, 1.4, 1.8, 2.2, 2.6])
    assert list(BeatPlan.from_beats(song(), 1.0, [], tempo=120.0).times()) == [0.0, 0.5]


def test_triggers_carry_exactly_the_five_fields_with_their_types() -> None:
    trigger = make_trigger("bridge", 7, 128)
    assert trigger == {"trigger": "rhythm", "error_type": "chaotic", "beat": 7, "section": "bridge", "tempo": 128.0}
    assert [type(trigger[k]) for k in ("beat", "tempo")] == [int, float]
    assert {make_trigger(s, 1, 1.0)["error_type"] for s in ("intro", "verse", "chorus", "outro", "solo")} == {
        "minimal", "basic", "business", "philosophical"}


def test_the_session_fires_every_beat_on_time_without_drift() -> None:
    recorder = Recorder()
    plan = BeatPlan.steady(song(480.0), 3.0)  # a beat every 125 ms: 24 beats
    session = RhythmSession(plan, recorder, record_lateness=True)
    session.start()
    assert session.wait(6.0)
    expected = session.started_at + np.array(list(plan.times()))
    actual = np.array([when for when, _ in recorder.calls])
    assert len(actual) == 24
    errors = actual - expected
    assert np.all(errors >= 0) and np.max(errors) < TOLERANCE_S, errors
    progress = session.progress()
    assert progress["beats_fired"] == 24 and progress["triggers_queued"] == 24 and not progress["running"]
    assert progress["max_lateness_ms"] < TOLERANCE_S * 1000 and len(progress["lateness_s"]) == 24


def test_beats_follow_the_song_sections_and_are_numbered_from_one() -> None:
    recorder = Recorder()
    structure = {"sections": [{"start": 0, "duration": 0.5}, {"start": 0.5, "duration": 0.5, "loudness": -5},
                              {"start": 1.0, "duration": 5}]}
    plan = BeatPlan.steady(song(300.0, spotify_analysis=structure), 1.5)  # beats every 0.2 s
    session = RhythmSession(plan, recorder)
    session.start()
    assert session.wait(5.0)
    triggers = recorder.triggers()
    assert [t["beat"] for t in triggers] == list(range(1, 9))
    assert [t["section"] for t in triggers] == ["intro"] * 3 + ["chorus"] * 2 + ["outro"] * 3
    assert {t["tempo"] for t in triggers} == {300.0}
    assert [t["error_type"] for t in triggers][:4] == ["minimal", "minimal", "minimal", "business"]


def test_stop_cancels_at_once_and_no_trigger_follows() -> None:
    recorder = Recorder()
    session = RhythmSession(BeatPlan.steady(song(240.0), 60.0), recorder)
    session.start()
    time.sleep(0.6)
    started = time.monotonic()
    session.stop()
    assert time.monotonic() - started < 0.1 and not session.running and session.cancelled
    fired = len(recorder.calls)
    time.sleep(0.5)
    assert len(recorder.calls) == fired and 2 <= fired <= 4
    assert session.progress()["beats_fired"] == fired and session.progress()["progress"] < 0.02


def test_dropped_triggers_are_counted_in_the_progress() -> None:
    session = RhythmSession(BeatPlan.steady(song(480.0), 0.5), Recorder(accept=False))
    session.start()
    assert session.wait(3.0)
    progress = session.progress()
    assert (progress["beats_fired"], progress["triggers_queued"], progress["triggers_dropped"]) == (4, 0, 4)


def test_the_controller_runs_one_session_at_a_time_and_reports_status() -> None:
    recorder = Recorder()
    running: list[bool] = []
    controller = RhythmController(recorder, on_running=running.append)
    try:
        controller.analyze(song(90.0, name="Analysed"))
        status = controller.status()
        assert (status["current_song"], status["tempo"], status["beat_interval_ms"]) == ("Analysed", 90.0, 60000 / 90)
        first, replaced = controller.start(BeatPlan.steady(song(120.0, name="First"), 30.0))
        assert not replaced
        second, replaced = controller.start(BeatPlan.steady(song(150.0, name="Second"), 30.0))
        assert replaced and first.cancelled and not first.running and second.running
        time.sleep(0.25)
        status = controller.status()
        assert (status["current_song"], status["tempo"], status["rhythm"]["running"]) == ("Second", 150.0, True)
        assert status["beat_count"] >= 1 and status["current_section"] == "intro"
        error_type, queued = controller.trigger("bridge", 99)
        assert (error_type, queued) == ("chaotic", True)
        assert recorder.triggers()[-1] == make_trigger("bridge", 99, 150.0)
        final = controller.stop()
        assert final is not None and final["cancelled"] and controller.stop() is None
        assert controller.status()["rhythm"]["running"] is False and running[0] is True and running[-1] is False
    finally:
        controller.close()


@pytest.mark.parametrize("tempo", [60.0, 128.0, 200.0])
def test_status_beat_interval_is_60000_over_the_tempo(tempo: float) -> None:
    controller = RhythmController(Recorder())
    controller.analyze(song(tempo))
    assert controller.status()["beat_interval_ms"] == pytest.approx(60000.0 / tempo)
