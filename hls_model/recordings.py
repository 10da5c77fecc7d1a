"""Real recordings: audio files (WAV, FLAC, anything libsndfile reads) and their beat annotations.

Annotations are the common one-beat-per-line text format (``.beats``, ``.txt``): the first
whitespace-separated field of each line is a time in seconds; further fields (such as the
position in the bar, ``12.345 1``) are ignored, as are blank lines and lines starting with ``#``.

A folder of recordings pairs each audio file (``AUDIO_SUFFIXES``) with the ``.beats`` file of
the same name beside it (``annotated_pairs``). Files that cannot be read raise ``ValueError``
naming the file.

Example::

    from hls_model import recordings
    song = recordings.load_annotated("song.flac", "song.beats")
    metrics = evaluate(predict, [song], stats, config)
    pairs, unannotated = recordings.annotated_pairs(Path("my-music"))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from hls_model.dataset import SongFeatures
from rhythm_service import features
from rhythm_service.beat_tracking import tempo_of

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif")  # what libsndfile reads
BEATS_SUFFIX = ".beats"


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples (the channels' mean) of an audio file at its own sample rate, and that rate.

    Raises ``ValueError`` naming the file when libsndfile cannot read it.

    Args:
        path: a WAV, FLAC, Ogg, MP3, AIFF... file.

    Example: ``read_audio("song.ogg")`` -> ``(array([...], dtype=float32), 44100)``.
    """
    try:
        samples, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        raise ValueError(f"{path}: not audio libsndfile can read ({error})") from None
    return samples.mean(axis=1, dtype=np.float32), int(sr)


def load_audio(path: str | Path) -> np.ndarray:
    """Mono float32 samples at ``features.SAMPLE_RATE`` of an audio file.

    Example: ``load_audio("song.wav").shape`` -> ``(n_samples,)``.
    """
    samples, sr = read_audio(path)
    return features.to_mono(samples, sr)


def annotated_pairs(folder: str | Path) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """The audio files of ``folder`` (not its subfolders) with their ``.beats`` file, and those without one.

    Args:
        folder: a folder of ``<name>.<audio suffix>`` files, each with ``<name>.beats`` beside it.

    Example: ``annotated_pairs("music")`` -> ``([(Path("music/a.ogg"), Path("music/a.beats"))], [Path("music/b.wav")])``
    when ``b.wav`` has no ``b.beats``.
    """
    audio = sorted(path for path in Path(folder).iterdir() if path.suffix.lower() in AUDIO_SUFFIXES and path.is_file())
    pairs = [(path, path.with_suffix(BEATS_SUFFIX)) for path in audio if path.with_suffix(BEATS_SUFFIX).is_file()]
    return pairs, [path for path in audio if not path.with_suffix(BEATS_SUFFIX).is_file()]


def load_beats(path: str | Path) -> np.ndarray:
    """Beat times (s, sorted) from a one-time-per-line annotation file.

    Example: ``load_beats("song.beats")[:3]`` -> ``array([0.52, 1.03, 1.55])``.
    """
    try:
        text = Path(path).read_text()
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file of beat times") from None
    times = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        try:
            times.append(float(fields[0].replace(",", ".")))
        except ValueError:
            raise ValueError(f"{path}:{number}: not a time in seconds: {fields[0]!r}") from None
    return np.sort(np.array(times, dtype=np.float64))


def save_beats(path: str | Path, beats: np.ndarray) -> None:
    """Write beat times in the one-time-per-line format (millisecond precision).

    Example: ``save_beats("song.beats", song.beats)``.
    """
    Path(path).write_text("".join(f"{t:.3f}\n" for t in beats))


def save_audio(path: str | Path, audio: np.ndarray) -> None:
    """Write mono audio at ``features.SAMPLE_RATE`` (format from the suffix: .wav, .flac...).

    Example: ``save_audio("song.flac", song.audio)``.
    """
    soundfile.write(str(path), audio, features.SAMPLE_RATE)


def load_annotated(audio_path: str | Path, beats_path: str | Path) -> SongFeatures:
    """A recording and its annotations, ready for ``evaluate``.

    Example: ``load_annotated("song.wav", "song.beats").tempo_bpm``.
    """
    beats = load_beats(beats_path)
    audio = load_audio(audio_path)
    return SongFeatures(Path(audio_path).stem, features.extract(audio, features.SAMPLE_RATE), beats, tempo_of(beats),
                        f"recording {Path(audio_path).name}")
