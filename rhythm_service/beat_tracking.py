"""From the model's beat-probability curve (one value per frame) to beat times and a tempo.

Two methods:

- ``"peaks"``: peak picking alone: local maxima of the curve above ``threshold``, at least
  ``min_interval_seconds`` apart (``scipy.signal.find_peaks``);
- ``"dp"`` (default): the same curve fed as the onset envelope of librosa's dynamic-programming
  beat tracker (Ellis 2007) with a flat tempo prior over ``tempo_range_bpm``: it estimates the
  tempo from the curve's autocorrelation and picks the peaks that best fit a steady pulse, which
  removes off-beat detections (syncopation) and fills short gaps (a one-bar stop). Then the
  metrical level is checked: a periodicity test cannot tell beats from eighth notes, but the
  model can (beats get the higher probabilities), so when every other tracked beat is clearly
  weaker than its neighbours (mean ratio below ``METRICAL_RATIO``) only the stronger half is
  kept, and when the points halfway between tracked beats are about as strong as the beats,
  they are added.

numpy, scipy and librosa only, no TensorFlow: the service's ``/api/detect-beats`` and the model's
evaluation (``hls_model.evaluate``) both track beats with it.

Example::

    from rhythm_service.beat_tracking import track_beats
    beats, tempo = track_beats(probabilities)   # seconds, BPM
"""

from __future__ import annotations

import librosa
import numpy as np
import scipy.signal
import scipy.stats

from rhythm_service.features import HOP_LENGTH, SAMPLE_RATE, frame_times

METHODS = ("dp", "peaks")
FRAME_RATE = SAMPLE_RATE / HOP_LENGTH  # frames per second (43.07)
METRICAL_RATIO = 0.8  # weaker/stronger mean probability below which a level is halved (or doubled above)
PEAK_RADIUS = 2  # frames each side of a beat searched for its probability


def tempo_of(beats: np.ndarray) -> float:
    """Tempo in BPM from beat times: 60 / median interval (0.0 with fewer than two beats).

    Example: ``tempo_of(np.array([0.0, 0.5, 1.0]))`` -> ``120.0``.
    """
    return float(60.0 / np.median(np.diff(beats))) if len(beats) > 1 else 0.0


def pick_peaks(probabilities: np.ndarray, threshold: float = 0.5, min_interval_seconds: float = 0.2) -> np.ndarray:
    """Times (s) of the local maxima of ``probabilities`` above ``threshold``, ``min_interval_seconds`` apart.

    Example: ``pick_peaks(np.r_[0, .9, np.zeros(10), .8, 0])`` -> ``[0.0232, 0.2786]``.
    """
    distance = max(1, round(min_interval_seconds * FRAME_RATE))
    peaks, _ = scipy.signal.find_peaks(np.asarray(probabilities, dtype=np.float64), height=threshold, distance=distance)
    return frame_times(len(probabilities))[peaks]


def _strengths(curve: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """The highest probability within ``PEAK_RADIUS`` frames of each frame index."""
    return np.array([curve[max(0, f - PEAK_RADIUS) : f + PEAK_RADIUS + 1].max() for f in frames])


def choose_metrical_level(curve: np.ndarray, frames: np.ndarray, tempo_range_bpm: tuple[float, float]) -> np.ndarray:
    """Tracked beat frames halved or doubled when the probabilities say the pulse found is not the beat.

    Example: ``choose_metrical_level(curve, np.array([10, 20, 30, 40]), (60, 200))``.
    """
    if len(frames) < 4:
        return frames
    tempo = 60.0 * FRAME_RATE / np.median(np.diff(frames))
    strengths = _strengths(curve, frames)
    even, odd = strengths[0::2].mean(), strengths[1::2].mean()
    if tempo / 2 >= tempo_range_bpm[0] and min(even, odd) < METRICAL_RATIO * max(even, odd):
        return frames[0::2] if even >= odd else frames[1::2]
    middles = (frames[:-1] + frames[1:]) // 2
    if tempo * 2 <= tempo_range_bpm[1] and _strengths(curve, middles).mean() >= METRICAL_RATIO * strengths.mean():
        return np.sort(np.concatenate([frames, middles]))
    return frames


def track_beats(
    probabilities: np.ndarray,
    method: str = "dp",
    threshold: float = 0.5,
    tempo_range_bpm: tuple[float, float] = (60.0, 200.0),
) -> tuple[np.ndarray, float]:
    """Beat times (s) and tempo (BPM) from the per-frame beat probabilities of a song.

    Example: ``beats, bpm = track_beats(model_probabilities, method="peaks")``.
    """
    curve = np.asarray(probabilities, dtype=np.float64)
    if method == "peaks":
        beats = pick_peaks(curve, threshold)
        return beats, tempo_of(beats)
    if method != "dp":
        raise ValueError(f"unknown beat tracking method {method!r}: expected one of {', '.join(METHODS)}")
    if curve.max(initial=0.0) < threshold:
        return np.zeros(0), 0.0
    low, high = tempo_range_bpm
    _, frames = librosa.beat.beat_track(
        onset_envelope=curve, sr=SAMPLE_RATE, hop_length=HOP_LENGTH, trim=True,
        prior=scipy.stats.uniform(low, high - low),
    )
    beats = frame_times(len(curve))[choose_metrical_level(curve, np.asarray(frames), tempo_range_bpm)]
    return beats, tempo_of(beats)
