"""``python -m hls_model evaluate --recordings DIR``: the packaged model and two baselines scored with mir_eval.

The recordings are generated here (a click track, the same with its beats shifted off the clicks,
one without a .beats file); the package is the tests' CI model (``model_package`` fixture).
"""

from __future__ import annotations

import json
from pathlib import Path

import librosa
import mir_eval
import numpy as np
import pytest
from click.testing import CliRunner

from hls_model import recordings, recordings_report
from hls_model.__main__ import cli
from rhythm_service import features
from tests.model_package import model_package_tarball

BPM = 120.0
SECONDS = 30.0
SHIFT = 0.25  # half a beat: no estimate on the clicks is within 70 ms of a shifted beat
WIDE = {"COLUMNS": "200"}  # rich's tables and messages on one line each


def click_track(bpm: float = BPM, seconds: float = SECONDS) -> tuple[np.ndarray, np.ndarray]:
    """Steady 1 kHz clicks (5 ms decay) at ``bpm`` from 0.5 s on, at ``features.SAMPLE_RATE``, and their times."""
    t = np.arange(int(0.03 * features.SAMPLE_RATE)) / features.SAMPLE_RATE
    click = 0.5 * np.sin(2 * np.pi * 1000 * t) * np.exp(-t / 0.005)
    audio = np.zeros(int(seconds * features.SAMPLE_RATE), dtype=np.float32)
    beats = np.arange(0.5, seconds - 0.5, 60 / bpm)
    for beat in beats:
        start = int(beat * features.SAMPLE_RATE)
        audio[start : start + len(click)] += click
    return audio, beats


def _stand_in_onset_envelope(audio: np.ndarray, sr: int) -> np.ndarray:
    """librosa's onset strength on the features' frame grid: what ``features.onset_envelope`` computes."""
    y = features.to_mono(audio, sr)
    return librosa.onset.onset_strength(y=y, sr=features.SAMPLE_RATE, hop_length=features.HOP_LENGTH)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, model_package: Path) -> tuple[object, dict, Path]:
    """The CLI's result, the JSON report and the output folder of one run on three generated recordings."""
    folder, out = tmp_path_factory.mktemp("recordings"), tmp_path_factory.mktemp("out")
    audio, beats = click_track()
    for name, annotated in (("click", beats), ("shifted", beats + SHIFT)):
        recordings.save_audio(folder / f"{name}.flac", audio)
        recordings.save_beats(folder / f"{name}.beats", annotated)
    recordings.save_audio(folder / "unannotated.wav", audio)
    with pytest.MonkeyPatch.context() as patch:
        if not hasattr(features, "onset_envelope"):  # until rhythm_service.features has its own
            patch.setattr(features, "onset_envelope", _stand_in_onset_envelope, raising=False)
        result = CliRunner().invoke(cli, ["--work", str(out / "work"), "evaluate", "--recordings", str(folder),
                                          "--package", str(model_package), "--out", str(out)], env=WIDE)
    assert result.exit_code == 0, result.output
    return result, json.loads((out / "recordings.json").read_text()), out


def test_every_recording_and_system_is_in_the_tables_and_the_json(evaluated) -> None:
    result, report, _ = evaluated
    assert [row["name"] for row in report["recordings"]] == ["click", "shifted"]
    for row in report["recordings"]:
        assert list(row["systems"]) == list(recordings_report.SYSTEMS)
        for system in row["systems"].values():
            assert set(system["scores"]) == set(recordings_report.SCORES)
            assert isinstance(system["beats"], list) and system["tempo_bpm"] >= 0
        assert f"{row['name']} (30 s, reference 120.0 BPM): mir_eval scores of the beats after 5 s" in result.output
    assert list(report["mean"]) == list(recordings_report.SYSTEMS)
    assert "Mean over 2 recordings" in result.output
    rows = [line.split()[0] for line in result.output.splitlines() if line.strip()]
    assert all(rows.count(system) == 3 for system in recordings_report.SYSTEMS)  # 2 recordings and the mean
    assert "unannotated.wav has no unannotated.beats beside it: skipped" in " ".join(result.output.split())
    assert [Path(path).name for path in report["settings"]["skipped"]] == ["unannotated.wav"]
    assert report["settings"]["trim_seconds"] == 5.0 and report["settings"]["package"]["release"]


def test_scores_are_mir_eval_scores_of_the_beats_after_5_s(evaluated) -> None:
    _, report, _ = evaluated
    click, shifted = report["recordings"]
    for system in ("model", "librosa"):
        assert click["systems"][system]["scores"]["f_measure"] > 0.9, system
        assert click["systems"][system]["tempo_correct"], system
    for system, result in shifted["systems"].items():
        assert result["scores"]["f_measure"] < 0.2, system
    reference = mir_eval.beat.trim_beats(recordings.load_beats(click["beats_file"]))
    estimate = mir_eval.beat.trim_beats(np.array(click["systems"]["librosa"]["beats"]))
    assert click["systems"]["librosa"]["scores"]["amlt"] == pytest.approx(mir_eval.beat.continuity(reference,
                                                                                                   estimate)[3])
    for system, mean in report["mean"].items():
        assert mean["f_measure"] == pytest.approx(np.mean([row["systems"][system]["scores"]["f_measure"]
                                                           for row in report["recordings"]]))


def test_the_chart_is_a_png(evaluated) -> None:
    _, _, out = evaluated
    assert (out / "recordings.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _write_garbage_wav(folder: Path) -> None:
    (folder / "noise.wav").write_bytes(b"not a wave file at all")
    recordings.save_beats(folder / "noise.beats", np.array([1.0, 2.0]))


def _write_bad_beats(folder: Path) -> None:
    recordings.save_audio(folder / "song.flac", click_track()[0])
    (folder / "song.beats").write_text("# times\n1.0\nsoon\n")


def _write_short_recording(folder: Path) -> None:
    audio, beats = click_track(seconds=4.0)
    recordings.save_audio(folder / "short.flac", audio)
    recordings.save_beats(folder / "short.beats", beats)


@pytest.mark.parametrize(("make", "message"), [
    (lambda folder: None, "nothing to evaluate: no audio files (.wav, .flac, .ogg"),
    (lambda folder: recordings.save_audio(folder / "a.flac", click_track()[0]),
     "nothing to evaluate: audio files without a .beats file (a.flac)"),
    (_write_garbage_wav, "noise.wav: not audio libsndfile can read"),
    (_write_bad_beats, "song.beats:3: not a time in seconds: 'soon'"),
    (_write_short_recording, "short.flac: 4.0 s long: scores count the beats after 5 s only"),
], ids=["empty folder", "no beats files", "unreadable audio", "bad beats file", "too short"])
def test_a_folder_that_cannot_be_evaluated_is_a_clear_error(tmp_path: Path, make, message: str) -> None:
    folder = tmp_path / "music"
    folder.mkdir()
    make(folder)
    result = CliRunner().invoke(cli, ["evaluate", "--recordings", str(folder), "--package", str(tmp_path)],
                                env=WIDE)
    assert result.exit_code == 1 and message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output


def test_without_a_built_package_the_error_says_what_to_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--work", str(tmp_path), "evaluate", "--recordings", str(tmp_path)],
                                env=WIDE)
    assert result.exit_code == 1
    assert "run `python -m hls_model all` first or pass --package" in result.output


def test_recording_and_recordings_together_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.flac").touch()
    (tmp_path / "a.beats").touch()
    both = ["evaluate", "--recording", str(tmp_path / "a.flac"), str(tmp_path / "a.beats"), "--recordings",
            str(tmp_path)]
    assert "give one of them" in CliRunner().invoke(cli, both).output
    assert "--package and --out go with --recordings" in CliRunner().invoke(cli, ["evaluate", "--out", "x"]).output


def test_a_package_tarball_is_refused_naming_the_folder_to_give(tmp_path: Path) -> None:
    (tmp_path / "a.flac").touch()
    tarball = model_package_tarball()
    result = CliRunner().invoke(cli, ["evaluate", "--recordings", str(tmp_path), "--package", str(tarball)])
    assert result.exit_code == 2 and "is a file" in result.output
