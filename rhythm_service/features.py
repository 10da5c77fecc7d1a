"""The beat model's input features, computed once here for training (hls_model) and serving.

Three features per analysis frame at 22,050 Hz with a hop of 512 samples (one frame every
23.2 ms): the **spectral flux of three frequency bands** of a log-magnitude mel spectrogram, the
input the field's best beat trackers feed their networks (Böck et al.), as
``librosa.onset.onset_strength_multi`` computes it (SuperFlux's maximum filter across mel bands,
so vibrato and slow glides do not look like onsets). The steps are librosa's definitions in
numpy and scipy (``rhythm_service.spectrum``): nothing here compiles numba code, so a service
answers its first request a moment after it starts, even on a host without a numba cache.

====  ==============  =========================================================
col   feature         what it hears
====  ==============  =========================================================
0     ``flux_low``    30-250 Hz: kick drum, bass, the left hand of a piano
1     ``flux_mid``    250-3,000 Hz: snare, chords, voices, strings
2     ``flux_high``   3-11 kHz: hi-hats, cymbals, attacks of plucked notes
====  ==============  =========================================================

**Normalised per recording** (``extract``): the mel spectrogram is in dB relative to the
recording's loudest bin (so neither the gain nor a band's level matters: a flux is a rise in dB),
and the three are divided by their recording's 95th percentile (so sparse and dense music, a
quiet or a dull recording, give the network the same range). A model package's ``Normalisation``
(fitted on the training set, saved beside the model) then centres and scales the three columns
and clips them to +-``CLIP_SIGMAS``.

The model sees a window of ``frames`` consecutive frames x 3 features (``WindowShape``; the
package says which: ``WINDOW_FRAMES`` / ``REFERENCE_FRAME`` are this code's defaults). Window
``i`` of ``windows(features, shape)`` is the one whose *reference frame* is frame ``i``: there is
one window per frame, frames beyond either end repeat the first/last frame, and the model's output
for window ``i`` is the beat probability at ``frame_times(n)[i]``.

Flattened for the accelerator (``rhythm_service.register_map``), element ``k`` of a window is
``window[k // 3, k % 3]`` (frame-major, as Keras' ``Flatten``).

``onset_envelope`` is the plain single-band onset strength (librosa's default) on the same frame
grid: the baseline the network's activation is compared with (the one function that imports
librosa).

This module needs numpy, scipy and soxr (never TensorFlow, librosa only for ``onset_envelope``).

Example::

    from rhythm_service import features
    frames = features.extract(audio, 44100)                  # (n, 3) float32
    stats = features.Normalisation.load("model/normalisation.json")
    x = features.windows(stats.apply(frames), shape)         # (n, shape.frames, 3) float32
    times = features.frame_times(len(frames))                # seconds, one per window
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rhythm_service import spectrum

SAMPLE_RATE = 22050  # Hz: audio is resampled to this before analysis
HOP_LENGTH = 512  # samples between frames
N_FFT = 1024  # analysis window of the spectrogram (46 ms: onsets stay sharp)
N_MELS = 82  # mel bands from MEL_FMIN to Nyquist
MEL_FMIN = 30.0  # Hz
BAND_EDGES_HZ = (250.0, 3000.0)  # the three bands' boundaries
FLUX_MAX_SIZE = 3  # SuperFlux: the previous frame's maximum over this many neighbouring mel bands
TOP_DB = 80.0  # the spectrogram's floor below the recording's loudest bin
SCALE_PERCENTILE = 95.0  # each band's flux is divided by this percentile of its recording
FEATURE_NAMES = ("flux_low", "flux_mid", "flux_high")
N_FEATURES = len(FEATURE_NAMES)
WINDOW_FRAMES = 24  # frames in one model input (this code's default; a package says its own)
REFERENCE_FRAME = 12  # the frame of a window its label and output refer to (11 frames, 255 ms, of look-ahead)
CLIP_SIGMAS = 8.0  # normalised values are clipped to +-this (keeps them in fixed-point range)


@dataclass(frozen=True)
class WindowShape:
    """The model's input: ``frames`` consecutive frames of ``features`` each, labelled at frame ``reference``.

    Example: ``WindowShape(24, 12).inputs`` -> ``72``.
    """

    frames: int = WINDOW_FRAMES
    reference: int = REFERENCE_FRAME
    features: int = N_FEATURES

    def __post_init__(self) -> None:
        if self.frames < 1 or self.features < 1 or not 0 <= self.reference < self.frames:
            raise ValueError(f"a window of {self.frames} frames x {self.features} features with its reference "
                             f"frame at {self.reference} is impossible")

    @property
    def inputs(self) -> int:
        """Values in one flattened window (``frames * features``)."""
        return self.frames * self.features

    @property
    def dims(self) -> tuple[int, int]:
        """The array shape of one window: ``(frames, features)``."""
        return self.frames, self.features

    def __str__(self) -> str:
        """The window for messages: ``16 frames x 3 features (48 inputs)``."""
        return f"{self.frames} frames x {self.features} features ({self.inputs} inputs)"


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
        samples = spectrum.resample(samples, sr, SAMPLE_RATE)
    return np.ascontiguousarray(samples, dtype=np.float32)


def _analysed(audio: np.ndarray, sr: int) -> np.ndarray:
    y = to_mono(audio, sr)
    if len(y) < HOP_LENGTH:
        raise ValueError(f"audio too short: {len(y)} samples at {SAMPLE_RATE} Hz, need at least {HOP_LENGTH}")
    return y


def _band_channels() -> list[int]:
    mel_hz = spectrum.mel_frequencies(N_MELS, MEL_FMIN, SAMPLE_RATE / 2)
    return [0, *(int(i) for i in np.searchsorted(mel_hz, BAND_EDGES_HZ)), N_MELS]


def extract(audio: np.ndarray, sr: int) -> np.ndarray:
    """The (n_frames, 3) float32 feature matrix of ``audio`` (mono or samples x channels) sampled at ``sr``.

    Columns as in ``FEATURE_NAMES``, scaled by the recording's ``SCALE_PERCENTILE``; frame ``i``
    is centred at ``i * HOP_LENGTH / SAMPLE_RATE`` s.

    Example: ``extract(np.zeros(22050, "f4"), 22050).shape`` -> ``(44, 3)``.
    """
    y = _analysed(audio, sr)
    mel = spectrum.mel_filterbank(SAMPLE_RATE, N_FFT, N_MELS, MEL_FMIN) @ spectrum.stft_magnitude(y, N_FFT, HOP_LENGTH)
    db = spectrum.amplitude_to_db(mel / max(float(mel.max()), 1e-12), amin=1e-6, top_db=TOP_DB)
    flux = spectrum.band_flux(db, _band_channels(), FLUX_MAX_SIZE, N_FFT, HOP_LENGTH)
    scale = float(np.percentile(flux, SCALE_PERCENTILE))
    return np.ascontiguousarray(flux.T / (scale if scale > 1e-6 else 1.0), dtype=np.float32)


def onset_envelope(audio: np.ndarray, sr: int) -> np.ndarray:
    """librosa's plain onset strength (one band, its defaults) of ``audio`` on the features' frame grid.

    The baseline a beat tracker is run on to show what the network adds. Example:
    ``onset_envelope(np.zeros(22050, "f4"), 22050).shape`` -> ``(44,)``.
    """
    import librosa  # the baseline only: the service's path stays free of librosa's numba code

    y = _analysed(audio, sr)
    return librosa.onset.onset_strength(y=y, sr=SAMPLE_RATE, hop_length=HOP_LENGTH).astype(np.float32)


def frame_times(n_frames: int) -> np.ndarray:
    """Times in seconds of frames ``0 .. n_frames-1`` (and so of the windows of ``windows``).

    Example: ``frame_times(3)`` -> ``array([0., 0.02321995, 0.0464399])``.
    """
    return np.arange(n_frames) * (HOP_LENGTH / SAMPLE_RATE)


def windows(features: np.ndarray, shape: WindowShape = WindowShape()) -> np.ndarray:
    """One window per frame of ``features`` (n, 3): window ``i`` has frame ``i`` at row ``shape.reference``.

    Frames before the first and after the last repeat the edge frame. Returns (n, shape.frames, 3) float32.

    Example: ``windows(np.zeros((100, 3)), WindowShape(24, 12)).shape`` -> ``(100, 24, 3)``.
    """
    size, reference = shape.frames, shape.reference
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
