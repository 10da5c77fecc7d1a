"""The beat model's input features, computed once here for training (hls_model) and serving.

Three features per analysis frame, as the original service computed them with librosa at
22,050 Hz with a hop of 512 samples (one frame every 23.2 ms):

====  ====================  =================================================
col   feature               librosa call
====  ====================  =================================================
0     onset strength        ``librosa.onset.onset_strength``
1     spectral centroid     ``librosa.feature.spectral_centroid`` (Hz)
2     spectral rolloff      ``librosa.feature.spectral_rolloff`` (Hz, 85 %)
====  ====================  =================================================

The model sees a window of ``WINDOW_FRAMES`` (10) consecutive frames x 3 features, normalised
with per-feature statistics fitted on the training set (``Normalisation``, saved as JSON beside
the model) and clipped to +-``CLIP_SIGMAS``. Window ``i`` of ``windows(features)`` is the one
whose *reference frame* (its position ``REFERENCE_FRAME`` = 5) is frame ``i``: there is one
window per frame, frames beyond either end repeat the first/last frame, and the model's output
for window ``i`` is the beat probability at ``frame_times(n)[i]``. A window therefore needs
``WINDOW_FRAMES - 1 - REFERENCE_FRAME`` (4) frames after its reference frame: 93 ms of look-ahead.

Flattened for the accelerator (``rhythm_service.register_map``), element ``k`` of a window is
``window[k // 3, k % 3]`` (frame-major, as Keras' ``Flatten``).

This module needs numpy and librosa only (never TensorFlow).

Example::

    from rhythm_service import features
    frames = features.extract(audio, 44100)                  # (n, 3) float32
    stats = features.Normalisation.load("model/normalisation.json")
    x = features.windows(stats.apply(frames))                # (n, 10, 3) float32
    times = features.frame_times(len(frames))                # seconds, one per window
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import librosa
import numpy as np

SAMPLE_RATE = 22050  # Hz: audio is resampled to this before analysis
HOP_LENGTH = 512  # samples between frames
N_FFT = 2048  # analysis window of the spectral features (librosa's default)
FEATURE_NAMES = ("onset_strength", "spectral_centroid", "spectral_rolloff")
N_FEATURES = len(FEATURE_NAMES)
WINDOW_FRAMES = 10  # frames in one model input
REFERENCE_FRAME = 5  # the frame of a window its label and output refer to
CLIP_SIGMAS = 8.0  # normalised values are clipped to +-this (keeps them in fixed-point range)


def to_mono(audio: np.ndarray, sr: int) -> np.ndarray:
    """Mono float32 audio at ``SAMPLE_RATE`` from ``audio`` (samples, or samples x channels) at ``sr``.

    Example: ``to_mono(stereo_44k, 44100)`` -> 1-D float32 array at 22,050 Hz.
    """
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if samples.ndim != 1:
        raise ValueError(f"audio must be 1-D (samples) or 2-D (samples x channels), got shape {samples.shape}")
    if sr != SAMPLE_RATE:
        samples = librosa.resample(samples, orig_sr=sr, target_sr=SAMPLE_RATE)
    return np.ascontiguousarray(samples, dtype=np.float32)


def extract(audio: np.ndarray, sr: int) -> np.ndarray:
    """The (n_frames, 3) float32 feature matrix of ``audio`` (mono or samples x channels) sampled at ``sr``.

    Columns as in ``FEATURE_NAMES``; frame ``i`` is centred at ``i * HOP_LENGTH / SAMPLE_RATE`` s.

    Example: ``extract(np.zeros(22050, "f4"), 22050).shape`` -> ``(44, 3)``.
    """
    y = to_mono(audio, sr)
    if len(y) < HOP_LENGTH:
        raise ValueError(f"audio too short: {len(y)} samples at {SAMPLE_RATE} Hz, need at least {HOP_LENGTH}")
    onset = librosa.onset.onset_strength(y=y, sr=SAMPLE_RATE, hop_length=HOP_LENGTH, n_fft=N_FFT)
    spectrum = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH))
    centroid = librosa.feature.spectral_centroid(S=spectrum, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP_LENGTH)[0]
    rolloff = librosa.feature.spectral_rolloff(S=spectrum, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP_LENGTH)[0]
    n = min(len(onset), len(centroid), len(rolloff))
    return np.stack([onset[:n], centroid[:n], rolloff[:n]], axis=1).astype(np.float32)


def frame_times(n_frames: int) -> np.ndarray:
    """Times in seconds of frames ``0 .. n_frames-1`` (and so of the windows of ``windows``).

    Example: ``frame_times(3)`` -> ``array([0., 0.02321995, 0.0464399])``.
    """
    return librosa.frames_to_time(np.arange(n_frames), sr=SAMPLE_RATE, hop_length=HOP_LENGTH)


def windows(features: np.ndarray, size: int = WINDOW_FRAMES, reference: int = REFERENCE_FRAME) -> np.ndarray:
    """One (size, 3) window per frame of ``features`` (n, 3): window ``i`` has frame ``i`` at row ``reference``.

    Frames before the first and after the last repeat the edge frame. Returns (n, size, 3) float32.

    Example: ``windows(np.zeros((100, 3))).shape`` -> ``(100, 10, 3)``.
    """
    if not 0 <= reference < size:
        raise ValueError(f"reference frame {reference} outside a window of {size} frames")
    padded = np.pad(np.asarray(features, dtype=np.float32), ((reference, size - 1 - reference), (0, 0)), mode="edge")
    view = np.lib.stride_tricks.sliding_window_view(padded, size, axis=0)  # (n, 3, size)
    return np.ascontiguousarray(view.transpose(0, 2, 1))


@dataclass(frozen=True)
class Normalisation:
    """Per-feature z-score statistics: ``apply(x) = clip((x - mean) / std, -clip, +clip)``.

    Saved as JSON (``save``/``load``) beside the model: keys ``feature_names``, ``mean``, ``std``,
    ``clip``, ``sample_rate``, ``hop_length``.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    clip: float = CLIP_SIGMAS
    feature_names: tuple[str, ...] = FEATURE_NAMES
    sample_rate: int = SAMPLE_RATE
    hop_length: int = HOP_LENGTH

    @classmethod
    def fit(cls, features: np.ndarray) -> Normalisation:
        """Statistics of ``features`` (n, 3), e.g. every training frame stacked.

        Example: ``Normalisation.fit(np.vstack(train_features))``.
        """
        data = np.asarray(features, dtype=np.float64)
        std = np.where(data.std(axis=0) > 0, data.std(axis=0), 1.0)
        return cls(mean=tuple(float(v) for v in data.mean(axis=0)), std=tuple(float(v) for v in std))

    def apply(self, features: np.ndarray) -> np.ndarray:
        """``features`` (..., 3) normalised and clipped, float32.

        Example: ``stats.apply(extract(audio, sr))``.
        """
        z = (np.asarray(features, dtype=np.float32) - np.float32(self.mean)) / np.float32(self.std)
        return np.clip(z, -self.clip, self.clip).astype(np.float32)

    def to_json(self) -> str:
        """The JSON text (sorted keys, stable across runs)."""
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    def save(self, path: str | Path) -> None:
        """Write the statistics to ``path`` as JSON."""
        Path(path).write_text(self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> Normalisation:
        """Read statistics written by ``save``; refuses a file made for other features or rates.

        Example: ``Normalisation.load("artifact/model/normalisation.json")``.
        """
        data = json.loads(Path(path).read_text())
        stats = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
        expected = (FEATURE_NAMES, SAMPLE_RATE, HOP_LENGTH)
        if (stats.feature_names, stats.sample_rate, stats.hop_length) != expected:
            raise ValueError(
                f"{path}: statistics for features {stats.feature_names} at {stats.sample_rate} Hz / hop "
                f"{stats.hop_length}, this code computes {FEATURE_NAMES} at {SAMPLE_RATE} Hz / hop {HOP_LENGTH}"
            )
        return stats
