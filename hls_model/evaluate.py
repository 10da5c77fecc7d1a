"""Scores of a beat model on annotated songs: frames, beats, tempo.

- frame accuracy (decision ``p >= threshold`` against the window labels) and ROC AUC;
- beat F-measure: beats tracked on each song's probability curve (``beat_tracking``), scored
  with ``mir_eval.beat.f_measure`` at +-70 ms, on the whole song (no trimming of the first
  5 s), averaged over songs;
- tempo accuracy: share of songs whose tempo is within 4 % of the annotated one (MIREX
  "Acc1"), and the same allowing octave errors (x2, x1/2, x3, x1/3: "Acc2").

Any ``predict`` function works (Keras, the hls4ml C emulation, the numpy forward pass), so the
hardware path is scored the same way as the model.

Example::

    from hls_model.evaluate import evaluate
    metrics = evaluate(lambda w: model_predict(model, w), test_songs, stats, config)
    metrics["beat_f_measure"], metrics["tempo_accuracy"]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import mir_eval
import numpy as np
from sklearn.metrics import roc_auc_score

from hls_model.config import EvaluateConfig, PipelineConfig
from hls_model.dataset import SongFeatures, generator_of, label_frames
from rhythm_service import features
from rhythm_service.beat_tracking import track_beats

Predict = Callable[[np.ndarray], np.ndarray]
OCTAVE_FACTORS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)


@dataclass(frozen=True)
class SongScore:
    """The beat and tempo scores of one song."""

    name: str
    f_measure: float
    tempo_bpm: float  # estimated
    reference_tempo_bpm: float
    tempo_correct: bool  # within the tolerance
    tempo_correct_octave: bool  # within the tolerance of the reference times 1, 2, 1/2, 3 or 1/3
    description: str


def tempo_matches(estimate: float, reference: float, tolerance: float, factors: Sequence[float] = (1.0,)) -> bool:
    """Whether ``estimate`` is within ``tolerance`` (relative) of ``reference`` times one of ``factors``.

    Example: ``tempo_matches(61.0, 120.0, 0.04, OCTAVE_FACTORS)`` -> True.
    """
    return any(abs(estimate - reference * f) <= tolerance * reference * f for f in factors)


def score_song(probabilities: np.ndarray, song: SongFeatures, config: EvaluateConfig, method: str) -> SongScore:
    """Track beats on one song's probability curve with ``method`` and score them against its annotations.

    Example: ``score_song(predict(windows), song, EvaluateConfig(), "dp").f_measure``.
    """
    beats, tempo = track_beats(probabilities, method, config.tempo_range_bpm)
    f_measure = mir_eval.beat.f_measure(song.beats, beats, f_measure_threshold=config.f_measure_window_seconds)
    return SongScore(
        name=song.name,
        f_measure=float(f_measure),
        tempo_bpm=tempo,
        reference_tempo_bpm=song.tempo_bpm,
        tempo_correct=tempo_matches(tempo, song.tempo_bpm, config.tempo_tolerance),
        tempo_correct_octave=tempo_matches(tempo, song.tempo_bpm, config.tempo_tolerance, OCTAVE_FACTORS),
        description=song.description,
    )


def _summary(scores: Sequence[SongScore]) -> dict:
    return {
        "beat_f_measure": float(np.mean([s.f_measure for s in scores])),
        "tempo_accuracy": float(np.mean([s.tempo_correct for s in scores])),
        "tempo_accuracy_octave": float(np.mean([s.tempo_correct_octave for s in scores])),
    }


def evaluate(
    predict: Predict,
    songs: Sequence[SongFeatures],
    stats: features.Normalisation,
    config: PipelineConfig,
    on_song: Callable[[SongScore], None] | None = None,
) -> dict:
    """Frame, beat and tempo scores of ``predict`` on ``songs`` (``on_song`` is called after each song).

    Returns ``{"songs", "method", "frame_accuracy", "roc_auc", "beat_f_measure", "tempo_accuracy",
    "tempo_accuracy_octave", "by_generator": {"arranged" | "synth" | "recording": {beat_f_measure,
    tempo_accuracy, tempo_accuracy_octave}}, "per_song": [SongScore as dict, ...]}``, beats tracked
    with the configured method only: the pipeline runs this where TensorFlow is loaded, and
    librosa's numba code (the ``dp`` method) has crashed compiling there on a fresh cache.

    Example: ``evaluate(numpy_predict, test_songs, stats, PipelineConfig())["beat_f_measure"]``.
    """
    settings = config.evaluate
    scores: list[SongScore] = []
    all_probabilities, all_labels = [], []
    for song in songs:
        probabilities = predict(features.windows(stats.apply(song.features), config.model.window))
        all_probabilities.append(probabilities)
        all_labels.append(label_frames(len(song.features), song.beats, config.dataset.label_tolerance_seconds))
        scores.append(score_song(probabilities, song, settings, settings.method))
        if on_song:
            on_song(scores[-1])
    probabilities, labels = np.concatenate(all_probabilities), np.concatenate(all_labels)
    both_classes = 0 < labels.sum() < len(labels)
    return {
        "songs": len(songs),
        "method": settings.method,
        "frame_accuracy": float(np.mean((probabilities >= settings.threshold) == (labels > 0.5))),
        "roc_auc": float(roc_auc_score(labels, probabilities)) if both_classes else float("nan"),
        **_summary(scores),
        "by_generator": {
            kind: _summary([score for song, score in zip(songs, scores, strict=True) if generator_of(song) == kind])
            for kind in sorted({generator_of(song) for song in songs})
        },
        "per_song": [asdict(s) for s in scores],
    }
