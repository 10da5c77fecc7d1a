"""The generator, labels, splits, beat tracking and recordings, on small inputs (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import mir_eval
import numpy as np
import pytest

from hls_model import dataset, recordings
from hls_model.config import SynthConfig
from hls_model.synth_audio import PATTERN_TEMPI, generate_song, patterns_for
from rhythm_service import beat_tracking, features

SHORT = SynthConfig(music_seconds=(6.0, 8.0))


def test_the_same_seed_gives_the_same_song_and_another_seed_another() -> None:
    first, again, other = generate_song((1, 2, 3), SHORT), generate_song((1, 2, 3), SHORT), generate_song(4, SHORT)
    np.testing.assert_array_equal(first.audio, again.audio)
    assert first.description == again.description and not np.array_equal(first.beats, other.beats)


@pytest.mark.parametrize("seed", range(8))
def test_songs_have_their_beats_inside_and_a_tempo_in_range(seed: int) -> None:
    song = generate_song(seed, SHORT)
    assert song.audio.dtype == np.float32 and np.max(np.abs(song.audio)) <= 1.0
    assert song.beats[0] >= 0 and song.beats[-1] < len(song.audio) / features.SAMPLE_RATE
    assert 60 * 0.9 <= song.tempo_bpm <= 200 * 1.1 and np.all(np.diff(song.beats) > 0)


def test_every_tempo_from_60_to_200_has_a_pattern() -> None:
    for tempo in range(60, 201):
        assert all(PATTERN_TEMPI[name][0] <= tempo <= PATTERN_TEMPI[name][1] for name in patterns_for(tempo))


def test_labels_mark_frames_within_the_tolerance() -> None:
    labels = dataset.label_frames(20, np.array([0.1, 0.3]), 0.035)
    times = features.frame_times(20)
    expected = (np.abs(times - 0.1) <= 0.035) | (np.abs(times - 0.3) <= 0.035)
    np.testing.assert_array_equal(labels, expected.astype(np.float32))
    assert dataset.label_frames(5, np.array([]), 0.035).sum() == 0


def test_splits_round_trip_through_npz(tmp_path: Path) -> None:
    songs = [dataset.describe(generate_song(i, SHORT), f"s{i}") for i in range(2)]
    dataset.save_split(tmp_path / "split.npz", songs)
    loaded = dataset.load_split(tmp_path / "split.npz")
    assert [s.name for s in loaded] == ["s0", "s1"]
    for original, copy in zip(songs, loaded, strict=True):
        np.testing.assert_array_equal(original.features, copy.features)
        np.testing.assert_array_equal(original.beats, copy.beats)


def pulse_curve(bpm: float, seconds: float, offbeat: float) -> tuple[np.ndarray, np.ndarray]:
    """A probability curve with peaks of 1 on beats and ``offbeat`` halfway between them."""
    times = features.frame_times(int(seconds * beat_tracking.FRAME_RATE))
    beats = np.arange(0.5, seconds - 0.5, 60 / bpm)
    curve = np.zeros(len(times))
    for beat in beats:
        curve += np.exp(-0.5 * ((times - beat) / 0.015) ** 2)
        curve += offbeat * np.exp(-0.5 * ((times - beat - 30 / bpm) / 0.015) ** 2)
    return curve, beats


@pytest.mark.parametrize(("method", "bpm"), [("dbn", 64.0), ("dbn", 100.0), ("dbn", 150.0), ("dbn", 190.0),
                                             ("dp", 100.0), ("dp", 150.0)])  # dp halves 190 BPM: its tempo prior
def test_tracking_finds_the_beats_of_a_clean_curve(bpm: float, method: str) -> None:
    curve, beats = pulse_curve(bpm, 20.0, offbeat=0.4)
    found, tempo = beat_tracking.track_beats(curve, method)
    assert abs(tempo - bpm) < 0.04 * bpm
    assert np.mean([np.min(np.abs(found - b)) < 0.07 for b in beats[1:-1]]) > 0.95


def test_a_weak_activation_still_gets_its_beats() -> None:
    """No threshold: a recording whose network output never passes 0.06 is tracked like a loud one."""
    curve, beats = pulse_curve(150.0, 20.0, offbeat=0.3)
    found, tempo = beat_tracking.track_beats(0.06 * curve + 0.01)
    assert abs(tempo - 150.0) < 6.0
    assert mir_eval.beat.f_measure(beats, found) > 0.95


def test_the_dbn_follows_a_sudden_tempo_change() -> None:
    slow, slow_beats = pulse_curve(90.0, 12.0, offbeat=0.3)
    fast, fast_beats = pulse_curve(140.0, 12.0, offbeat=0.3)
    found, _ = beat_tracking.track_beats(np.concatenate([slow, fast]))
    reference = np.concatenate([slow_beats, fast_beats + len(slow) / beat_tracking.FRAME_RATE])
    assert mir_eval.beat.f_measure(reference, found) > 0.9


def test_the_tracker_keeps_the_beat_not_the_eighth_notes() -> None:
    curve, beats = pulse_curve(80.0, 30.0, offbeat=0.5)
    found, tempo = beat_tracking.track_beats(curve)
    assert abs(tempo - 80.0) < 3.2 and mir_eval.beat.f_measure(beats, found) > 0.95


def test_wide_peaks_and_weaker_second_beats_keep_the_tempo() -> None:
    """Peaks of 1.0 and 0.6 alternating at 120 BPM, 35 ms wide: the DBN once took the bar (60 BPM), its beat
    region being too narrow for a 1.0 peak at 120 BPM (see ``ACTIVATION_CEILING``)."""
    times = features.frame_times(int(20 * beat_tracking.FRAME_RATE))
    beats = np.arange(0.5, 19.5, 0.5)
    jitter = np.random.default_rng(0).normal(0.0, 0.01, len(beats))
    curve = sum((1.0 if i % 2 == 0 else 0.6) * np.exp(-0.5 * ((times - b - j) / 0.035) ** 2)
                for i, (b, j) in enumerate(zip(beats, jitter, strict=True)))
    found, tempo = beat_tracking.track_beats(curve)
    assert abs(tempo - 120.0) < 4.8 and mir_eval.beat.f_measure(beats, found) > 0.95


def test_halfway_points_as_strong_as_the_beats_are_beats() -> None:
    every_other = np.arange(0.5, 19.5, 60 / 65.0)  # the pulse a tracker may settle on: beats 2 and 4 of 130 BPM
    curve, _ = pulse_curve(65.0, 20.0, offbeat=0.8)
    found = beat_tracking.with_subdivisions(beat_tracking.scaled_activation(curve), every_other, (50.0, 210.0), 2)
    assert len(found) == 2 * len(every_other) - 1 and beat_tracking.tempo_of(found) == pytest.approx(130.0, rel=0.01)
    weak, _ = pulse_curve(65.0, 20.0, offbeat=0.4)
    kept = beat_tracking.with_subdivisions(beat_tracking.scaled_activation(weak), every_other, (50.0, 210.0), 2)
    np.testing.assert_array_equal(kept, every_other)
    assert len(beat_tracking.with_subdivisions(curve, every_other, (50.0, 120.0), 2)) == len(every_other)  # range


def test_thirds_as_strong_as_the_beats_are_beats() -> None:
    bars = np.arange(0.5, 19.5, 1.0)  # a 180 BPM waltz tracked at the bar
    times = features.frame_times(int(20.0 * beat_tracking.FRAME_RATE))
    quarters = np.arange(0.5, 19.5, 1 / 3)
    curve = sum(np.exp(-0.5 * ((times - q) / 0.015) ** 2) for q in quarters)
    found = beat_tracking.with_subdivisions(beat_tracking.scaled_activation(curve), bars, (50.0, 210.0), 3)
    assert len(found) == 3 * len(bars) - 2 and beat_tracking.tempo_of(found) == pytest.approx(180.0, rel=0.01)
    only_bars = sum(np.exp(-0.5 * ((times - b) / 0.015) ** 2) for b in bars)
    np.testing.assert_array_equal(beat_tracking.with_subdivisions(only_bars, bars, (50.0, 210.0), 3), bars)
    swung, _ = pulse_curve(60.0, 20.0, offbeat=0.0)  # a peak at two thirds only (swung eighths) is no triplet
    swung += sum(np.exp(-0.5 * ((times - b - 2 / 3) / 0.015) ** 2) for b in bars)
    np.testing.assert_array_equal(beat_tracking.with_subdivisions(beat_tracking.scaled_activation(swung), bars,
                                                                 (50.0, 210.0), 3), bars)
    assert len(beat_tracking.with_subdivisions(curve, bars, (50.0, 150.0), 3)) == len(bars)  # range


def test_the_silence_around_the_music_gets_no_beats() -> None:
    curve, beats = pulse_curve(120.0, 20.0, offbeat=0.2)
    padded = np.concatenate([np.full(150, 0.01), curve, np.full(200, 0.01)])  # 3.5 s before, 4.6 s after
    found, tempo = beat_tracking.track_beats(padded)
    shifted = beats + 150 / beat_tracking.FRAME_RATE
    assert found[0] > shifted[0] - 0.07 and found[-1] < shifted[-1] + 0.07
    assert mir_eval.beat.f_measure(shifted, found) > 0.95 and abs(tempo - 120.0) < 4.8


@pytest.mark.parametrize("activation", [np.zeros(500), np.zeros(1), np.full(300, np.nan)])
def test_no_pulse_gives_no_beats(activation: np.ndarray) -> None:
    found, tempo = beat_tracking.track_beats(activation)
    assert len(found) == 0 and tempo == 0.0


def test_the_tempo_range_is_respected_and_checked() -> None:
    curve, _ = pulse_curve(120.0, 20.0, offbeat=0.2)
    _, tempo = beat_tracking.track_beats(curve, tempo_range_bpm=(40.0, 90.0))
    assert abs(tempo - 60.0) < 2.4  # the octave below that fits the range
    with pytest.raises(ValueError, match="tempo range"):
        beat_tracking.track_beats(curve, tempo_range_bpm=(120.0, 100.0))


def test_unknown_methods_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown beat tracking method"):
        beat_tracking.track_beats(np.ones(100), method="magic")


def test_recordings_read_audio_and_annotations(tmp_path: Path) -> None:
    song = generate_song(5, SHORT)
    recordings.save_audio(tmp_path / "song.flac", song.audio)
    lines = "".join(f"{t:.3f}\t{i % 4 + 1}\n" for i, t in enumerate(song.beats))  # time, position in the bar
    (tmp_path / "song.beats").write_text("# beats\n" + lines)
    loaded = recordings.load_annotated(tmp_path / "song.flac", tmp_path / "song.beats")
    np.testing.assert_allclose(loaded.beats, song.beats, atol=1e-3)
    assert abs(loaded.tempo_bpm - song.tempo_bpm) < 1.0
    assert len(loaded.features) == len(features.extract(song.audio, features.SAMPLE_RATE))


def test_bad_annotation_lines_are_reported_with_their_line(tmp_path: Path) -> None:
    (tmp_path / "bad.beats").write_text("0.5\nabc\n")
    with pytest.raises(ValueError, match=r"bad\.beats:2"):
        recordings.load_beats(tmp_path / "bad.beats")


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.75, 1.0])
def test_the_arranged_share_of_a_split_is_the_configured_fraction(fraction: float) -> None:
    from hls_model.config import DatasetConfig

    generators = [DatasetConfig(arranged_fraction=fraction).generator(i) for i in range(40)]
    assert generators.count("arranged") == round(40 * fraction) and set(generators) <= set(dataset.GENERATORS)
    assert len(set(generators[:4])) == (1 if fraction in (0.0, 1.0) else 2)  # spread evenly, not in one block
