"""Beat detection: audio bytes -> features -> normalised windows -> the backend -> beats and tempo.

``read_audio`` decodes an uploaded file with libsndfile (WAV, FLAC, OGG/Vorbis, MP3, AIFF and
the rest it reads), refusing what it cannot read (``UnsupportedAudio``, HTTP 415) and audio
longer than the limit (``AudioTooLong``, 413) before decoding it. ``BeatDetector`` runs the
pipeline with the package's feature statistics and window shape and the selected backend (the
network's beat activation), then tracks the beats on it (``beat_tracking``: no threshold, a
tempo/phase Bayesian network by default), timing each stage;
the backend is called under a lock (one accelerator, one caller at a time) and each call is
reported to ``on_inference`` (metrics).

Example::

    detector = BeatDetector(backend, package.normalisation, package.window, on_inference=metrics.inference)
    audio, sr = read_audio(Path("song.flac").read_bytes(), max_seconds=600)
    result = detector.detect(audio, sr)       # beats (s), tempo (BPM), probabilities, timings
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import soundfile

from rhythm_service import features
from rhythm_service.backends import Backend
from rhythm_service.beat_tracking import FRAME_RATE, TEMPO_RANGE_BPM, track_beats
from rhythm_service.validation import InvalidInput


class UnsupportedAudio(ValueError):
    """The upload is not audio libsndfile can read (HTTP 415)."""


class AudioTooLong(ValueError):
    """The audio is longer than the service analyses (HTTP 413)."""


def read_audio(data: bytes, *, max_seconds: float) -> tuple[np.ndarray, int]:
    """Decode an audio file's bytes to float32 samples (samples x channels) and its sample rate.

    Raises ``UnsupportedAudio`` for anything libsndfile cannot read, ``AudioTooLong`` above
    ``max_seconds`` (checked from the header, before decoding) and ``InvalidInput`` for no samples.
    Example: ``read_audio(Path("click.wav").read_bytes(), max_seconds=600)`` -> ``(array(...), 44100)``.
    """
    if not data:
        raise InvalidInput("the uploaded file is empty")
    try:
        info = soundfile.info(io.BytesIO(data))
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise UnsupportedAudio(f"not an audio file this service reads (WAV, FLAC, OGG, MP3, AIFF...): {exc}") from None
    if info.samplerate <= 0 or info.channels <= 0:
        raise UnsupportedAudio(f"audio header says {info.samplerate} Hz, {info.channels} channels")
    if info.frames > 0 and info.frames / info.samplerate > max_seconds:
        raise AudioTooLong(f"audio is {info.frames / info.samplerate:.1f} s long; the limit is {max_seconds:g} s")
    try:
        samples, sr = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, ValueError) as exc:
        raise UnsupportedAudio(f"could not decode the audio: {exc}") from None
    if len(samples) / sr > max_seconds:  # headers without a length (streams) are checked here
        raise AudioTooLong(f"audio is {len(samples) / sr:.1f} s long; the limit is {max_seconds:g} s")
    if len(samples) == 0:
        raise InvalidInput("the audio file has no samples")
    if not np.isfinite(samples).all():
        raise InvalidInput("the audio has NaN or infinite samples")
    return samples, int(sr)


@dataclass(frozen=True)
class Detection:
    """The result of ``BeatDetector.detect``: beats (s), tempo (BPM), per-frame probabilities, timings (ms)."""

    beats: np.ndarray
    tempo: float
    probabilities: np.ndarray
    backend: str
    duration_s: float
    timings_ms: dict[str, float]

    def to_json(self, decimals: int = 5) -> dict[str, Any]:
        """The /api/detect-beats answer.

        Example: ``detection.to_json()["tempo"]`` -> ``120.2``.
        """
        return {
            "beats": [round(float(t), 4) for t in self.beats],
            "beat_count": len(self.beats),
            "tempo": round(float(self.tempo), 3),
            "probabilities": [round(float(p), decimals) for p in self.probabilities],
            "frame_rate": FRAME_RATE,
            "frame_seconds": 1.0 / FRAME_RATE,
            "frames": len(self.probabilities),
            "duration_s": round(self.duration_s, 4),
            "backend": self.backend,
            "timings_ms": {name: round(value, 3) for name, value in self.timings_ms.items()},
        }


class BeatDetector:
    """Runs windows and whole songs through one backend (thread-safe)."""

    def __init__(self, backend: Backend, normalisation: features.Normalisation, window: features.WindowShape,
                 on_inference: Callable[[str, float, int], None] | None = None) -> None:
        """Args: the inference ``backend``, the package's feature ``normalisation`` and input ``window`` shape,
        and a callback ``on_inference(backend_name, seconds, windows)`` per backend call.

        Example: ``BeatDetector(backend, package.normalisation, package.window)``.
        """
        self.backend = backend
        self.normalisation = normalisation
        self.window = window
        self.on_inference = on_inference
        self._lock = threading.Lock()
        self.warmed_up = threading.Event()  # set once ``warm_up`` ran (or failed): /health's detection_ready

    def predict(self, windows: np.ndarray, *, normalised: bool = False) -> tuple[np.ndarray, float]:
        """Beat probabilities of (N, frames, 3) feature windows (raw features unless ``normalised``), and the
        backend's time in seconds.

        Example: ``probabilities, seconds = detector.predict(features.windows(frames, detector.window))``.
        """
        x = np.ascontiguousarray(windows if normalised else self.normalisation.apply(windows), dtype=np.float32)
        with self._lock:
            started = time.perf_counter()
            probabilities = np.asarray(self.backend.predict(x), dtype=np.float64).reshape(-1)
            seconds = time.perf_counter() - started
        if len(probabilities) != len(x):
            raise RuntimeError(f"backend {self.backend.name} returned {len(probabilities)} values for {len(x)} windows")
        if self.on_inference is not None:
            self.on_inference(self.backend.name, seconds, len(x))
        return probabilities, seconds

    def warm_up(self) -> float:
        """Detect beats on 4 s of generated clicks once (tens of milliseconds: the features and the tracker compile
        nothing), so a broken model or backend shows at start-up; seconds taken."""
        started = time.perf_counter()
        sr = 22050
        t = np.arange(4 * sr) / sr
        clicks = np.sin(2000 * t) * (np.mod(t, 0.5) < 0.01)
        try:
            self.detect(clicks.astype(np.float32), sr)
        finally:
            self.warmed_up.set()
        return time.perf_counter() - started

    def detect(self, audio: np.ndarray, sr: int, *, method: str = "dbn",
               tempo_range_bpm: tuple[float, float] = TEMPO_RANGE_BPM) -> Detection:
        """Beats and tempo of ``audio`` (samples, or samples x channels) at ``sr`` Hz.

        Raises ``InvalidInput`` for audio too short to analyse.
        Example: ``detector.detect(samples, 44100).beats[:4]`` -> ``array([0.51, 1.02, 1.53, 2.04])``.
        """
        timings: dict[str, float] = {}
        started = time.perf_counter()
        try:
            frames = features.extract(audio, sr)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        timings["features"] = (time.perf_counter() - started) * 1000
        mark = time.perf_counter()
        windows = features.windows(self.normalisation.apply(frames), self.window)
        timings["windows"] = (time.perf_counter() - mark) * 1000
        probabilities, seconds = self.predict(windows, normalised=True)
        timings["inference"] = seconds * 1000
        mark = time.perf_counter()
        beats, tempo = track_beats(probabilities, method=method, tempo_range_bpm=tempo_range_bpm)
        timings["tracking"] = (time.perf_counter() - mark) * 1000
        timings["total"] = (time.perf_counter() - started) * 1000
        return Detection(beats=beats, tempo=tempo, probabilities=probabilities, backend=self.backend.name,
                         duration_s=len(audio) / sr, timings_ms=timings)
