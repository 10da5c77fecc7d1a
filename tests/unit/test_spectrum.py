"""rhythm_service.spectrum computes what the librosa calls it stands for compute, without numba."""

from __future__ import annotations

import subprocess
import sys

import librosa
import numpy as np
import pytest

from rhythm_service import features, spectrum


@pytest.fixture(scope="module")
def song() -> np.ndarray:
    """Eight seconds of a generated arrangement-like signal: tones, noise bursts and silence."""
    rng = np.random.default_rng(3)
    t = np.arange(8 * 22050) / 22050
    audio = 0.3 * np.sin(2 * np.pi * 110 * t) * (np.mod(t, 0.5) < 0.25) + 0.1 * np.sin(2 * np.pi * 1760 * t)
    audio += 0.2 * rng.standard_normal(len(t)) * np.exp(-np.mod(t, 0.25) / 0.02)
    audio[5 * 22050 : 6 * 22050] = 0.0
    return audio.astype(np.float32)


def test_stft_magnitude_is_librosas(song: np.ndarray) -> None:
    expected = np.abs(librosa.stft(song, n_fft=1024, hop_length=512))
    np.testing.assert_allclose(spectrum.stft_magnitude(song, 1024, 512), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("sr", "n_fft", "n_mels", "fmin"), [(22050, 1024, 82, 30.0), (16000, 512, 40, 0.0)])
def test_mel_filterbank_and_frequencies_are_librosas(sr: int, n_fft: int, n_mels: int, fmin: float) -> None:
    expected = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin)
    np.testing.assert_allclose(spectrum.mel_filterbank(sr, n_fft, n_mels, fmin), expected, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(spectrum.mel_frequencies(n_mels, fmin, sr / 2),
                               librosa.mel_frequencies(n_mels=n_mels, fmin=fmin, fmax=sr / 2), rtol=1e-9)


def test_decibels_and_band_flux_are_librosas(song: np.ndarray) -> None:
    mel = librosa.feature.melspectrogram(y=song, sr=22050, n_fft=1024, hop_length=512, n_mels=82, fmin=30.0,
                                         power=1.0)
    db = spectrum.amplitude_to_db(mel / mel.max(), amin=1e-6, top_db=80.0)
    np.testing.assert_allclose(db, librosa.amplitude_to_db(mel / mel.max(), ref=1.0, amin=1e-6, top_db=80.0),
                               atol=1e-4)
    expected = librosa.onset.onset_strength_multi(S=db, sr=22050, n_fft=1024, hop_length=512, lag=1, max_size=3,
                                                  channels=[0, 6, 50, 82])
    np.testing.assert_allclose(spectrum.band_flux(db, [0, 6, 50, 82], 3, 1024, 512), expected, atol=1e-4)


@pytest.mark.parametrize("sr", [8000, 44100, 48000])
def test_resampling_is_librosas(song: np.ndarray, sr: int) -> None:
    audio = librosa.resample(song, orig_sr=22050, target_sr=sr)
    np.testing.assert_allclose(spectrum.resample(audio, sr, 22050),
                               librosa.resample(audio, orig_sr=sr, target_sr=22050), atol=1e-6)


def test_the_features_equal_the_librosa_pipeline_they_replace(song: np.ndarray) -> None:
    mel = librosa.feature.melspectrogram(y=song, sr=22050, n_fft=1024, hop_length=512, n_mels=82, fmin=30.0,
                                         power=1.0)
    db = librosa.amplitude_to_db(mel / mel.max(), ref=1.0, amin=1e-6, top_db=80.0)
    flux = librosa.onset.onset_strength_multi(S=db, sr=22050, n_fft=1024, hop_length=512, lag=1, max_size=3,
                                              channels=[0, 6, 50, 82])
    expected = (flux / np.percentile(flux, 95)).T
    np.testing.assert_allclose(features.extract(song, 22050), expected, atol=1e-4)


def test_detecting_beats_compiles_no_numba_code() -> None:
    """The service's path (features, windows, the dbn tracker) never imports numba: no JIT at start-up."""
    code = ("import sys, numpy as np\n"
            "from rhythm_service import features\n"
            "from rhythm_service.beat_tracking import track_beats\n"
            "frames = features.extract(np.random.default_rng(0).standard_normal(44100).astype('f4'), 44100)\n"
            "track_beats(features.windows(frames)[:, 12].sum(axis=1))\n"
            "print('numba' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(("shape", "size"), [((10,), 4), ((10,), 15), ((10, 2), 7), ((10, 2), 12)])
def test_fix_length_is_librosas_along_the_first_axis(shape: tuple[int, ...], size: int) -> None:
    samples = np.arange(np.prod(shape), dtype=np.float32).reshape(shape) + 1
    expected = librosa.util.fix_length(samples, size=size, axis=0)
    np.testing.assert_array_equal(spectrum.fix_length(samples, size), expected)
