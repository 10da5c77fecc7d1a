"""Beat tracking on real recordings: the packaged model beside two baselines, scored with mir_eval.

Every audio file of a folder with a ``.beats`` file beside it (``recordings.annotated_pairs``;
files without one are skipped with a warning) is run through three systems in the same run:

- ``model``: the package's cpu backend exactly as the service runs it
  (``BeatDetector(CpuBackend(package), package.normalisation, package.window).detect(samples, sr)``);
- ``onset+tracker``: the service's beat tracker (``track_beats``) on the plain onset envelope
  (``features.onset_envelope``) instead of the network's activation: what the network adds;
- ``librosa``: ``librosa.beat.beat_track`` with its defaults, on the audio at its own sample rate.

Scores follow the field's convention: beats in the first 5 s are dropped from both the
reference and the estimate (``mir_eval.beat.trim_beats``), then F-measure (+-70 ms), Cemgil,
P-score, CMLt and AMLt. A tempo is right within 4 % of the reference tempo (60 / the median
interval of all reference beats), "octave" also allowing x2, x1/2, x3 and x1/3
(``hls_model.evaluate.tempo_matches``).

``run`` does it all: prints one table per recording and the means, writes the JSON report and a
chart (a 20 s excerpt of each recording, from 5 s on: waveform envelope and beat ticks).

Example::

    from hls_model import recordings_report
    recordings_report.run(Path("my-music"), recordings_report.built_package(Path("build/hls_model")),
                          Path("out/recordings.json"), Path("out/recordings.png"), Console())
"""

from __future__ import annotations

import contextlib
import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import librosa
import mir_eval
import numpy as np
from rich import box
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from hls_model import recordings
from hls_model.config import EvaluateConfig
from hls_model.evaluate import OCTAVE_FACTORS, tempo_matches
from rhythm_service import features
from rhythm_service.backends.cpu import CpuBackend
from rhythm_service.beat_tracking import tempo_of, track_beats
from rhythm_service.detection import BeatDetector
from rhythm_service.model_package import ModelPackage

SYSTEMS = {
    "model": "the package's cpu backend as the service runs it (BeatDetector.detect, endpoint defaults)",
    "onset+tracker": "rhythm_service.beat_tracking.track_beats on rhythm_service.features.onset_envelope",
    "librosa": "librosa.beat.beat_track(y, sr, units='time'), defaults, audio at its own sample rate",
}
SCORES = {"f_measure": "F", "cemgil": "Cemgil", "p_score": "P", "cmlt": "CMLt", "amlt": "AMLt"}  # key: column
TRIM_SECONDS = 5.0  # mir_eval.beat.trim_beats' min_beat_time: the field's convention
EXCERPT_SECONDS = 20.0  # the chart's excerpt of each recording, from TRIM_SECONDS on
ENVELOPE_RATE = 200  # points per second of the chart's waveform envelope
TOLERANCES = EvaluateConfig()  # F-measure window and tempo tolerance, as the held-out evaluation uses

Tracker = Callable[[np.ndarray, int], tuple[np.ndarray, float]]


class RecordingsError(ValueError):
    """The recordings or the package cannot be evaluated (the message says which file and why)."""


@dataclass(frozen=True)
class Recording:
    """One annotated recording: mono samples at the file's own rate and the reference beats (s)."""

    audio_path: Path
    beats_path: Path
    samples: np.ndarray
    sr: int
    beats: np.ndarray

    @property
    def name(self) -> str:
        """The audio file's name without its suffix."""
        return self.audio_path.stem

    @property
    def duration_s(self) -> float:
        """Length of the audio in seconds."""
        return len(self.samples) / self.sr


def built_package(work: Path) -> Path:
    """The model package folder ``python -m hls_model all`` built under ``work``.

    Raises ``RecordingsError`` when there is none.

    Args:
        work: the pipeline's ``--work`` folder.

    Example: ``built_package(Path("build/hls_model"))`` -> ``Path("build/hls_model/package/beat-model-0123...")``.
    """
    release = work / "package" / "release.json"
    if not release.is_file():
        raise RecordingsError(f"no model package under {work / 'package'}: run `python -m hls_model all` first "
                              "or pass --package")
    return work / "package" / json.loads(release.read_text())["folder"]


def load_folder(folder: Path) -> tuple[list[Recording], list[Path]]:
    """The annotated recordings of ``folder`` and the audio files skipped for having no ``.beats``.

    Raises ``RecordingsError`` for a folder without annotated audio, an unreadable file, a ``.beats``
    file with fewer than two beats, or a recording too short to have beats after ``TRIM_SECONDS``.

    Args:
        folder: audio files (``recordings.AUDIO_SUFFIXES``), each with ``<name>.beats`` beside it.

    Example: ``load_folder(Path("my-music"))`` -> ``([Recording(...), ...], [Path("my-music/demo.wav")])``.
    """
    pairs, unannotated = recordings.annotated_pairs(folder)
    if not pairs:
        found = f"audio files without a .beats file ({', '.join(p.name for p in unannotated)})" if unannotated else (
            f"no audio files ({', '.join(recordings.AUDIO_SUFFIXES)})")
        raise RecordingsError(f"{folder}: nothing to evaluate: {found}")
    loaded = []
    for audio_path, beats_path in pairs:
        try:
            samples, sr = recordings.read_audio(audio_path)
            beats = recordings.load_beats(beats_path)
        except (ValueError, OSError) as error:
            raise RecordingsError(str(error)) from None
        if len(beats) < 2:
            raise RecordingsError(f"{beats_path}: {len(beats)} beat times, a reference needs at least two")
        if len(samples) / sr <= TRIM_SECONDS:
            raise RecordingsError(f"{audio_path}: {len(samples) / sr:.1f} s long: scores count the beats after "
                                  f"{TRIM_SECONDS:g} s only")
        loaded.append(Recording(audio_path, beats_path, samples, sr, beats))
    return loaded, unannotated


def trackers(package: ModelPackage) -> dict[str, Tracker]:
    """The three systems of ``SYSTEMS``, each ``(mono samples, sr) -> (beat times in s, tempo in BPM)``.

    Args:
        package: the model package whose cpu backend the ``model`` system runs.

    Example: ``beats, tempo = trackers(package)["model"](samples, 44100)``.
    """
    detector = BeatDetector(CpuBackend(package), package.normalisation, package.window)

    def model(samples: np.ndarray, sr: int) -> tuple[np.ndarray, float]:
        detection = detector.detect(samples, sr)
        return detection.beats, detection.tempo

    def onset_tracker(samples: np.ndarray, sr: int) -> tuple[np.ndarray, float]:
        return track_beats(features.onset_envelope(samples, sr))

    def librosa_tracker(samples: np.ndarray, sr: int) -> tuple[np.ndarray, float]:
        tempo, beats = librosa.beat.beat_track(y=samples, sr=sr, units="time")
        return beats, float(np.atleast_1d(tempo)[0])

    return {"model": model, "onset+tracker": onset_tracker, "librosa": librosa_tracker}


def score(reference: np.ndarray, estimate: np.ndarray) -> dict[str, float]:
    """The mir_eval scores of ``SCORES`` of estimated against reference beats, both trimmed to after 5 s.

    Args:
        reference: the annotated beat times (s).
        estimate: a system's beat times (s).

    Example: ``score(np.arange(0, 30, 0.5), np.arange(0, 30, 0.5))["f_measure"]`` -> ``1.0``.
    """
    reference = mir_eval.beat.trim_beats(np.asarray(reference, dtype=np.float64), TRIM_SECONDS)
    estimate = mir_eval.beat.trim_beats(np.asarray(estimate, dtype=np.float64), TRIM_SECONDS)
    with warnings.catch_warnings():  # empty or one-beat estimates score 0, which the table shows
        warnings.simplefilter("ignore", UserWarning)
        _, cmlt, _, amlt = mir_eval.beat.continuity(reference, estimate)
        return {
            "f_measure": float(mir_eval.beat.f_measure(reference, estimate, TOLERANCES.f_measure_window_seconds)),
            "cemgil": float(mir_eval.beat.cemgil(reference, estimate)[0]),
            "p_score": float(mir_eval.beat.p_score(reference, estimate)),
            "cmlt": float(cmlt),
            "amlt": float(amlt),
        }


def evaluate(recording_list: list[Recording], package: ModelPackage, progress: Progress | None = None) -> dict:
    """Every system on every recording: the report (``settings``, ``recordings``, ``mean``; see ``run``).

    Args:
        recording_list: the recordings (``load_folder``).
        package: the model package of the ``model`` system.
        progress: a rich progress display to advance per recording and system, if any.

    Example: ``evaluate(load_folder(Path("my-music"))[0], package)["mean"]["model"]["f_measure"]``.
    """
    systems = trackers(package)
    task = progress.add_task("recordings", total=len(recording_list) * len(systems)) if progress else None
    rows = []
    for recording in recording_list:
        reference_tempo = tempo_of(recording.beats)
        results = {}
        for name, track in systems.items():
            started = time.perf_counter()
            beats, tempo = track(recording.samples, recording.sr)
            results[name] = {
                "scores": score(recording.beats, beats),
                "tempo_bpm": round(float(tempo), 3),
                "tempo_correct": tempo_matches(tempo, reference_tempo, TOLERANCES.tempo_tolerance),
                "tempo_correct_octave": tempo_matches(tempo, reference_tempo, TOLERANCES.tempo_tolerance,
                                                      OCTAVE_FACTORS),
                "seconds": round(time.perf_counter() - started, 3),
                "beats": [round(float(t), 4) for t in beats],
            }
            if progress:
                progress.advance(task)
        start = max(0.0, min(TRIM_SECONDS, recording.duration_s - EXCERPT_SECONDS))
        rows.append({
            "name": recording.name,
            "audio": str(recording.audio_path),
            "beats_file": str(recording.beats_path),
            "sample_rate": recording.sr,
            "duration_s": round(recording.duration_s, 3),
            "reference": {"beats": len(recording.beats), "tempo_bpm": round(reference_tempo, 3)},
            "excerpt_s": [round(start, 3), round(min(start + EXCERPT_SECONDS, recording.duration_s), 3)],
            "systems": results,
        })
    return {"settings": _settings(package), "recordings": rows, "mean": _means(rows)}


def _settings(package: ModelPackage) -> dict:
    return {
        "systems": SYSTEMS,
        "package": package.describe(),
        "trim_seconds": TRIM_SECONDS,
        "f_measure_window_s": TOLERANCES.f_measure_window_seconds,
        "tempo_tolerance": TOLERANCES.tempo_tolerance,
        "octave_factors": list(OCTAVE_FACTORS),
        "reference_tempo": "60 / median interval of all reference beats",
        "excerpt_seconds": EXCERPT_SECONDS,
        "versions": {name: metadata.version(name) for name in ("librosa", "mir_eval", "numpy")},
    }


def _means(rows: list[dict]) -> dict:
    means = {}
    for system in SYSTEMS:
        results = [row["systems"][system] for row in rows]
        means[system] = {key: float(np.mean([r["scores"][key] for r in results])) for key in SCORES}
        for key in ("tempo_correct", "tempo_correct_octave"):
            means[system][key] = float(np.mean([r[key] for r in results]))
    return means


def tables(report: dict) -> list[Table]:
    """One rich table per recording (scores, tempo and its verdicts per system) and one of the means.

    Args:
        report: the result of ``evaluate``.

    Example: ``for table in tables(report): Console().print(table)``.
    """
    settings = report["settings"]
    trimmed = f"mir_eval scores of the beats after {settings['trim_seconds']:g} s"
    tolerance = f"{settings['tempo_tolerance']:.0%}"
    legend = (f"F: F-measure ±{settings['f_measure_window_s'] * 1000:.0f} ms, P: P-score; BPM: estimated tempo; "
              f"±{tolerance}: within {tolerance} of the reference tempo, oct.: also at x2, x1/2, x3, x1/3")
    out = []
    for row in report["recordings"]:
        table = _table(f"{row['name']} ({row['duration_s']:.0f} s, reference {row['reference']['tempo_bpm']:.1f} "
                       f"BPM): {trimmed}", ("BPM", f"±{tolerance}", "oct."))
        for system, result in row["systems"].items():
            table.add_row(system, *(f"{result['scores'][key]:.3f}" for key in SCORES), f"{result['tempo_bpm']:.1f}",
                          _yes_no(result["tempo_correct"]), _yes_no(result["tempo_correct_octave"]))
        out.append(table)
    table = _table(f"Mean over {len(report['recordings'])} recordings: {trimmed}", (f"±{tolerance}", "oct."))
    table.caption = legend
    for system, mean in report["mean"].items():
        table.add_row(system, *(f"{mean[key]:.3f}" for key in SCORES), f"{mean['tempo_correct']:.0%}",
                      f"{mean['tempo_correct_octave']:.0%}")
    out.append(table)
    return out


def _table(title: str, tempo_columns: tuple[str, ...]) -> Table:
    table = Table(title=title, title_justify="left", caption_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("system", no_wrap=True)
    for header in (*SCORES.values(), *tempo_columns):
        table.add_column(header, justify="right", no_wrap=True)
    return table


def _yes_no(value: bool) -> str:
    return "[green]yes[/]" if value else "[red]no[/]"


def chart(report: dict, path: Path) -> None:
    """A PNG with one panel per recording: its excerpt's waveform envelope under rows of beat ticks.

    The rows are, from the top: the model's beats, the reference beats, librosa's beats. The audio
    and the reference are read again from the files the report names.

    Args:
        report: the result of ``evaluate``.
        path: the PNG to write.

    Example: ``chart(report, Path("out/recordings.png"))``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["recordings"]
    fig, axes = plt.subplots(len(rows), 1, figsize=(14, 2.4 * len(rows)), squeeze=False, layout="constrained")
    ticks = (("model", "tab:blue", 2.5), ("reference", "black", 1.5), ("librosa", "tab:orange", 0.5))
    for axis, row in zip(axes[:, 0], rows, strict=True):
        start, end = row["excerpt_s"]
        samples, sr = recordings.read_audio(row["audio"])
        times, envelope = _envelope(samples[int(start * sr) : int(end * sr)], sr)
        axis.fill_between(start + times, -0.9 - 0.8 * envelope, -0.9 + 0.8 * envelope, color="0.6", linewidth=0)
        beats = {"reference": recordings.load_beats(row["beats_file"]),
                 **{name: np.array(row["systems"][name]["beats"]) for name in ("model", "librosa")}}
        for name, colour, y in ticks:
            shown = beats[name][(beats[name] >= start) & (beats[name] <= end)]
            axis.vlines(shown, y - 0.4, y + 0.4, color=colour, linewidth=1.2)
        axis.set_yticks([y for _, _, y in ticks], [name for name, _, _ in ticks])
        axis.set_ylim(-1.8, 3.0)
        axis.set_xlim(start, end)
        f = {name: row["systems"][name]["scores"]["f_measure"] for name in ("model", "librosa")}
        axis.set_title(f"{row['name']}: seconds {start:g}-{end:g} (F model {f['model']:.2f}, "
                       f"librosa {f['librosa']:.2f}; reference {row['reference']['tempo_bpm']:.0f} BPM)",
                       fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("time (s)")
    fig.suptitle(f"Beats on real recordings: a {report['settings']['excerpt_seconds']:g} s excerpt of each "
                 "(waveform envelope below)")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _envelope(samples: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Times (s) and the peak amplitude (0-1, of the excerpt's peak) of ``ENVELOPE_RATE`` blocks a second."""
    block = max(1, sr // ENVELOPE_RATE)
    peaks = np.abs(samples[: len(samples) // block * block]).reshape(-1, block).max(axis=1)
    return np.arange(len(peaks)) * block / sr, peaks / max(float(peaks.max(initial=0.0)), 1e-9)


def run(folder: Path, package_path: Path, json_path: Path, chart_path: Path, console: Console,
        progress: Progress | None = None) -> dict:
    """Evaluate the recordings of ``folder``, print the tables, write the JSON report and the chart.

    Warns on ``console`` about audio files skipped for having no ``.beats``. The JSON report holds
    ``settings`` (systems, package identity, trimming, tolerances, versions, recordings folder,
    skipped files), ``recordings`` (per recording: files, duration, reference beat count and tempo,
    the chart's excerpt, and per system its ``scores``, tempo, tempo verdicts, seconds taken and
    beats) and ``mean`` (per system: each score and the share of right tempi).

    Args:
        folder: the recordings (see ``load_folder``).
        package_path: the model package folder (``beat-model-<release>/``).
        json_path: where the JSON report goes.
        chart_path: where the PNG chart goes.
        console: where the tables and warnings are printed.
        progress: a rich progress display (not started) for the evaluation, if any.

    Example: ``run(Path("music"), Path("beat-model-0123456789abcdef"), Path("r.json"), Path("r.png"), Console())``.
    """
    recording_list, skipped = load_folder(folder)
    for path in skipped:
        console.print(f"[yellow]warning:[/] {path} has no {path.with_suffix(recordings.BEATS_SUFFIX).name} "
                      "beside it: skipped")
    package = ModelPackage.load(package_path)
    with progress or contextlib.nullcontext():
        report = evaluate(recording_list, package, progress)
    report["settings"].update(recordings_folder=str(folder), skipped=[str(path) for path in skipped])
    for table in tables(report):
        console.print(table)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    chart_path.parent.mkdir(parents=True, exist_ok=True)
    chart(report, chart_path)
    console.print(f"wrote {json_path} and {chart_path}")
    return report
