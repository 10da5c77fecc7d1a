"""The spectrogram steps of the features in numpy and scipy: librosa's definitions, without numba.

Importing librosa compiles its numba functions on a host without a numba cache (about 16 s on
2 cores, and numba has crashed doing so), so the service's start-up path does not use it. Each
function here computes what the named librosa 0.11 call computes, with the same defaults; the
tests compare them on generated songs (``tests/unit/test_spectrum.py``).

Example::

    from rhythm_service import spectrum
    magnitude = spectrum.stft_magnitude(y, n_fft=1024, hop_length=512)       # (1 + n_fft // 2, frames)
    mel = spectrum.mel_filterbank(22050, 1024, 82, 30.0) @ magnitude           # (82, frames)
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np
import scipy.ndimage
import scipy.signal
import soxr

# Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz, logarithmic above
_MEL_HZ_STEP = 200.0 / 3  # Hz per mel below the break
_MEL_BREAK_HZ = 1000.0
_MEL_BREAK = _MEL_BREAK_HZ / _MEL_HZ_STEP
_MEL_LOG_STEP = np.log(6.4) / 27.0


def fix_length(samples: np.ndarray, size: int) -> np.ndarray:
    """``samples`` cut or zero-padded to ``size`` along the first axis: ``librosa.util.fix_length(..., axis=0)``.

    Example: ``fix_length(np.ones(3), 5)`` -> ``array([1., 1., 1., 0., 0.])``.
    """
    padding = [(0, max(0, size - len(samples)))] + [(0, 0)] * (samples.ndim - 1)
    return np.pad(samples[:size], padding)


def resample(samples: np.ndarray, sr: int, target_sr: int) -> np.ndarray:
    """1-D ``samples`` from ``sr`` to ``target_sr`` Hz: ``librosa.resample`` (soxr, high quality, length fixed).

    Example: ``resample(np.zeros(44100, "f4"), 44100, 22050).shape`` -> ``(22050,)``.
    """
    resampled = soxr.resample(samples, sr, target_sr, quality="soxr_hq")
    return fix_length(resampled, int(np.ceil(len(samples) * float(target_sr) / sr)))


def stft_magnitude(y: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """``abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length))``: periodic Hann window, centred frames
    (``n_fft // 2`` zeros each side); shape (1 + n_fft // 2, 1 + len(y) // hop_length), float32.

    Example: ``stft_magnitude(np.zeros(22050, "f4"), 1024, 512).shape`` -> ``(513, 44)``.
    """
    padded = np.pad(np.asarray(y, dtype=np.float32), n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length]
    window = scipy.signal.get_window("hann", n_fft, fftbins=True).astype(np.float32)
    return np.abs(np.fft.rfft(frames * window, axis=1)).T.astype(np.float32)


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _MEL_HZ_STEP
    logarithmic = _MEL_BREAK + np.log(np.maximum(hz, _MEL_BREAK_HZ) / _MEL_BREAK_HZ) / _MEL_LOG_STEP
    return np.where(hz >= _MEL_BREAK_HZ, logarithmic, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    linear = mel * _MEL_HZ_STEP
    logarithmic = _MEL_BREAK_HZ * np.exp(_MEL_LOG_STEP * (mel - _MEL_BREAK))
    return np.where(mel >= _MEL_BREAK, logarithmic, linear)


def mel_frequencies(n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """``librosa.mel_frequencies(n_mels, fmin=fmin, fmax=fmax)``: centre frequencies (Hz) evenly spaced in mels.

    Example: ``mel_frequencies(3, 0.0, 2000.0)`` -> ``array([0., 900.8..., 2000.])``.
    """
    return _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels))


@lru_cache(maxsize=4)
def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float) -> np.ndarray:
    """``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin)``: triangles on Slaney's scale up to
    Nyquist, each of area-normalised height ("slaney" norm); (n_mels, 1 + n_fft // 2) float32, read-only.

    Example: ``mel_filterbank(22050, 1024, 82, 30.0).shape`` -> ``(82, 513)``.
    """
    edges = mel_frequencies(n_mels + 2, fmin, sr / 2.0)
    bins = np.fft.rfftfreq(n_fft, 1.0 / sr)
    ramps = edges[:, None] - bins[None, :]
    widths = np.diff(edges)
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    weights = weights.astype(np.float32)
    weights.flags.writeable = False
    return weights


def amplitude_to_db(magnitude: np.ndarray, amin: float, top_db: float) -> np.ndarray:
    """``librosa.amplitude_to_db(magnitude, ref=1.0, amin=amin, top_db=top_db)``: 20 log10, floored ``top_db``
    below the maximum.

    Example: ``amplitude_to_db(np.array([1.0, 0.1, 0.0]), 1e-6, 80.0)`` -> ``array([0., -20., -80.])``.
    """
    db = 20.0 * np.log10(np.maximum(amin, np.abs(magnitude)))
    return np.maximum(db, db.max() - top_db)


def band_flux(db: np.ndarray, channels: list[int], max_size: int, n_fft: int, hop_length: int) -> np.ndarray:
    """``librosa.onset.onset_strength_multi(S=db, channels=channels, lag=1, max_size=max_size, n_fft=n_fft,
    hop_length=hop_length)``: the rise of each bin over the previous frame's maximum of ``max_size``
    neighbouring bins, negatives dropped, averaged over each band ``channels[k]:channels[k + 1]``,
    delayed ``1 + n_fft // (2 * hop_length)`` frames (centred framing); (bands, frames).

    Example: ``band_flux(db, [0, 6, 50, 82], 3, 1024, 512).shape`` -> ``(3, db.shape[1])``.
    """
    reference = scipy.ndimage.maximum_filter1d(db, max_size, axis=0) if max_size > 1 else db
    rise = np.maximum(0.0, db[:, 1:] - reference[:, :-1])
    bands = np.stack([rise[low:high].mean(axis=0) for low, high in itertools.pairwise(channels)])
    delay = 1 + n_fft // (2 * hop_length)
    return np.pad(bands, ((0, 0), (delay, 0)))[:, : db.shape[1]]
