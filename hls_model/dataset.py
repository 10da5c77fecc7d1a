"""Songs -> features -> labelled windows, and the generated splits saved as ``.npz``.

A window is labelled 1 (a beat) when an annotated beat lies within ``label_tolerance_seconds``
(35 ms by default, about 1.5 frames) of its reference frame's time, else 0: with a hop of
23.2 ms, each beat makes 2 or 3 consecutive beat windows. Features come from
``rhythm_service.features`` (the code the service runs), so training and serving cannot drift.

Example::

    from hls_model import dataset
    songs = list(dataset.iter_split(config.dataset, "test"))
    x, y = dataset.windows_and_labels(songs, stats, config.model.window, config.dataset.label_tolerance_seconds)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hls_model.arrangement import generate_arranged_song
from hls_model.config import DatasetConfig
from hls_model.synth_audio import Song, generate_song, song_seed
from rhythm_service import features

SPLITS = ("train", "validation", "test")
GENERATORS = {  # DatasetConfig.generator's names (the last part of a song's name) -> (seed, config) -> Song
    "arranged": lambda seed, config: generate_arranged_song(seed, config.arrangement),  # SoundFont arrangements
    "synth": lambda seed, config: generate_song(seed, config.synth),  # drum-machine songs
}


@dataclass(frozen=True)
class SongFeatures:
    """A song reduced to what training and evaluation need."""

    name: str
    features: np.ndarray  # (n_frames, 3) raw (not normalised)
    beats: np.ndarray  # seconds
    tempo_bpm: float
    description: str = ""


def split_size(config: DatasetConfig, split: str) -> int:
    """Number of songs in ``split``."""
    return {"train": config.train_songs, "validation": config.validation_songs, "test": config.test_songs}[split]


def song_of(config: DatasetConfig, split: str, index: int) -> Song:
    """Song ``index`` of ``split``, generated from its seed: an arrangement rendered through the SoundFont
    (``config.arranged_fraction`` of the songs) or a drum-machine song (``synth_audio``).

    Example: ``song_of(DatasetConfig(), "test", 0).beats``.
    """
    return GENERATORS[config.generator(index)](song_seed(config.seed, SPLITS.index(split), index), config)


def describe(song: Song, name: str) -> SongFeatures:
    """The features and annotations of ``song``."""
    return SongFeatures(name, features.extract(song.audio, features.SAMPLE_RATE), song.beats, song.tempo_bpm,
                        song.description)


def _song_features(job: tuple[DatasetConfig, str, int]) -> SongFeatures:
    config, split, index = job
    return describe(song_of(config, split, index), f"{split}-{index:04d}-{config.generator(index)}")


def generator_of(song: SongFeatures) -> str:
    """Which generator made ``song`` (``GENERATORS``), or ``"recording"`` for anything else.

    Example: ``generator_of(SongFeatures("test-0001-synth", ...))`` -> ``'synth'``.
    """
    suffix = song.name.rsplit("-", 1)[-1]
    return suffix if suffix in GENERATORS else "recording"


def iter_split(config: DatasetConfig, split: str, workers: int = 1) -> Iterator[SongFeatures]:
    """The songs of ``split`` in order, generated and analysed with ``workers`` processes.

    Example: ``for song in iter_split(config, "train", workers=2): ...``.
    """
    jobs = [(config, split, i) for i in range(split_size(config, split))]
    if workers <= 1:
        yield from map(_song_features, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_song_features, jobs, chunksize=2)


def label_frames(n_frames: int, beats: np.ndarray, tolerance_seconds: float) -> np.ndarray:
    """(n_frames,) float32: 1 where a beat is within ``tolerance_seconds`` of the frame's time.

    Example: ``label_frames(5, np.array([0.05]), 0.035)`` -> ``[0, 1, 1, 0, 0]``.
    """
    times = features.frame_times(n_frames)
    if len(beats) == 0:
        return np.zeros(n_frames, dtype=np.float32)
    position = np.clip(np.searchsorted(beats, times), 1, len(beats) - 1) if len(beats) > 1 else np.zeros(n_frames, int)
    nearest = np.minimum(np.abs(times - beats[position]), np.abs(times - beats[np.maximum(position - 1, 0)]))
    return (nearest <= tolerance_seconds).astype(np.float32)


def windows_and_labels(
    songs: Sequence[SongFeatures], stats: features.Normalisation, shape: features.WindowShape, tolerance_seconds: float
) -> tuple[np.ndarray, np.ndarray]:
    """All windows (n, frames, 3) float32 of ``songs``, normalised with ``stats``, and their labels (n,).

    Example: ``x, y = windows_and_labels(train, stats, WindowShape(24, 12), 0.035)``.
    """
    x = [features.windows(stats.apply(song.features), shape) for song in songs]
    y = [label_frames(len(song.features), song.beats, tolerance_seconds) for song in songs]
    return np.concatenate(x), np.concatenate(y)


def save_split(path: str | Path, songs: Sequence[SongFeatures]) -> None:
    """Write ``songs`` to one ``.npz`` (features and beats concatenated, with offsets).

    Example: ``save_split("data/test.npz", songs)``.
    """
    arrays = {
        "features": np.concatenate([s.features for s in songs]),
        "frame_offsets": np.cumsum([0] + [len(s.features) for s in songs]),
        "beats": np.concatenate([s.beats for s in songs]),
        "beat_offsets": np.cumsum([0] + [len(s.beats) for s in songs]),
        "tempo_bpm": np.array([s.tempo_bpm for s in songs]),
        "names": np.array([s.name for s in songs]),
        "descriptions": np.array([s.description for s in songs]),
    }
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def load_split(path: str | Path) -> list[SongFeatures]:
    """The songs written by ``save_split``.

    Example: ``load_split("data/test.npz")[0].beats``.
    """
    with np.load(path) as data:
        f, b = data["frame_offsets"], data["beat_offsets"]
        return [
            SongFeatures(
                str(data["names"][i]),
                data["features"][f[i] : f[i + 1]],
                data["beats"][b[i] : b[i + 1]],
                float(data["tempo_bpm"][i]),
                str(data["descriptions"][i]),
            )
            for i in range(len(data["names"]))
        ]
