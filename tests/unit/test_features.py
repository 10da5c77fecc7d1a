"""rhythm_service.features: frame timing, windows, normalisation (librosa, no TensorFlow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

features = pytest.importorskip("rhythm_service.features", reason="needs librosa")


def click_track(seconds: float, period: float, sr: int = features.SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray]:
    """Short noise bursts every ``period`` seconds, and their times."""
    rng = np.random.default_rng(0)
    audio = 0.001 * rng.standard_normal(int(seconds * sr)).astype(np.float32)
    times = np.arange(0.5, seconds - 0.5, period)
    for t in times:
        start = int(t * sr)
        audio[start : start + 400] += rng.standard_normal(400).astype(np.float32) * np.linspace(1, 0, 400)
    return audio, times


def test_extract_gives_three_float32_features_per_hop() -> None:
    audio, _ = click_track(4.0, 0.5)
    frames = features.extract(audio, features.SAMPLE_RATE)
    assert frames.dtype == np.float32 and frames.shape == (1 + len(audio) // features.HOP_LENGTH, 3)
    assert np.all(np.isfinite(frames)) and len(features.onset_envelope(audio, features.SAMPLE_RATE)) == len(frames)


@pytest.mark.parametrize("column", range(3))
def test_each_band_flux_peaks_at_the_clicks(column: int) -> None:
    audio, times = click_track(6.0, 0.5)
    flux = features.extract(audio, features.SAMPLE_RATE)[:, column]
    frame_times = features.frame_times(len(flux))
    starts = [max(0, i - 5) for i in np.searchsorted(frame_times, times)]
    peaks = [frame_times[start + np.argmax(flux[start : start + 10])] for start in starts]
    assert np.max(np.abs(np.array(peaks) - times)) < 0.035


def low_thumps(seconds: float, period: float, sr: int = features.SAMPLE_RATE) -> np.ndarray:
    """A 60 Hz tone that swells every ``period`` seconds (30 ms attack, no click): energy in the low band only."""
    t = np.arange(int(seconds * sr)) / sr
    phase = np.mod(t, period)
    envelope = np.minimum(phase / 0.03, 1.0) * np.exp(-phase / 0.1)
    return (np.sin(2 * np.pi * 60 * t) * envelope).astype(np.float32)


def test_the_bands_hear_their_own_frequencies() -> None:
    frames = features.extract(low_thumps(4.0, 0.5), features.SAMPLE_RATE)
    low, mid, high = (np.percentile(frames[:, i], 99) for i in range(3))
    assert low > 0.5 and mid < 0.3 * low and high < 0.3 * low


def test_the_features_do_not_depend_on_the_recording_level() -> None:
    """Normalised per recording: the same music 40 dB quieter gives the same features."""
    audio, _ = click_track(4.0, 0.5)
    loud, quiet = (features.extract(audio * gain, features.SAMPLE_RATE) for gain in (1.0, 0.01))
    np.testing.assert_allclose(loud, quiet, atol=1e-3)
    assert np.percentile(loud, 95) == pytest.approx(1.0, abs=1e-5)


def test_other_rates_and_stereo_are_resampled_to_mono_22050() -> None:
    audio, _ = click_track(3.0, 0.5, sr=44100)
    stereo = np.stack([audio, audio], axis=1)
    frames = features.extract(stereo, 44100)
    assert abs(len(frames) - (1 + 3.0 * features.SAMPLE_RATE // features.HOP_LENGTH)) <= 1


def test_too_short_audio_is_refused() -> None:
    with pytest.raises(ValueError, match="too short"):
        features.extract(np.zeros(100, np.float32), features.SAMPLE_RATE)


@pytest.mark.parametrize(("size", "reference"), [(10, 5), (24, 12), (48, 24), (5, 0)])
def test_window_i_has_frame_i_at_the_reference_row(size: int, reference: int) -> None:
    frames = np.arange(60 * 3, dtype=np.float32).reshape(60, 3)
    windows = features.windows(frames, features.WindowShape(size, reference))
    assert windows.shape == (60, size, 3) and windows.dtype == np.float32
    for i in range(60):
        np.testing.assert_array_equal(windows[i, reference], frames[i])
    np.testing.assert_array_equal(windows[0, 0], frames[0])  # edge frames repeat
    np.testing.assert_array_equal(windows[-1, -1], frames[-1])
    np.testing.assert_array_equal(windows[30], frames[30 - reference : 30 - reference + size])


@pytest.mark.parametrize(("size", "reference"), [(0, 0), (10, 10), (10, -1)])
def test_impossible_window_shapes_are_refused(size: int, reference: int) -> None:
    with pytest.raises(ValueError, match="impossible"):
        features.WindowShape(size, reference)


def test_normalisation_fits_applies_clips_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    data = rng.normal([1.0, 3000.0, 6000.0], [2.0, 1000.0, 1500.0], size=(5000, 3)).astype(np.float32)
    stats = features.Normalisation.fit(data)
    z = stats.apply(data)
    assert np.allclose(z.mean(axis=0), 0, atol=1e-3) and np.allclose(z.std(axis=0), 1, atol=1e-2)
    assert stats.apply(np.array([[1e9, 0, 0]]))[0, 0] == features.CLIP_SIGMAS
    stats.save(tmp_path / "normalisation.json")
    assert features.Normalisation.load(tmp_path / "normalisation.json") == stats
    assert set(json.loads((tmp_path / "normalisation.json").read_text())) == {
        "clip", "feature_names", "hop_length", "mean", "sample_rate", "std",
    }


def test_normalisation_for_other_features_is_refused(tmp_path: Path) -> None:
    stats = features.Normalisation(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), hop_length=256)
    stats.save(tmp_path / "n.json")
    with pytest.raises(ValueError, match="hop 256"):
        features.Normalisation.load(tmp_path / "n.json")


def test_features_do_not_import_tensorflow() -> None:
    code = "import sys, rhythm_service.features, rhythm_service.register_map; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
