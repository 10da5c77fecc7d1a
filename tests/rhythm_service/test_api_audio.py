"""POST /api/detect-beats on audio files made here (click tracks): formats, limits and refusals."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile

from rhythm_service import features
from rhythm_service.app import close_app, create_app
from tests.rhythm_service.service_helpers import click_track, free_port, service_config

BPM = 120.0


@pytest.fixture(scope="module")
def client(model_package: Path):
    app = create_app(service_config(model_package, f"http://127.0.0.1:{free_port()}", max_upload_mb=1.0,
                                    max_audio_seconds=20.0))
    yield app.test_client()
    close_app(app)


def encoded(audio: np.ndarray, sr: int, format: str) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, audio, sr, format=format)
    return buffer.getvalue()


def upload(client, data: bytes, filename: str = "song.wav", **form):
    response = client.post("/api/detect-beats", data={"file": (io.BytesIO(data), filename), **form},
                           content_type="multipart/form-data")
    assert response.mimetype == "application/json"
    return response.status_code, response.get_json()


@pytest.mark.parametrize(("format", "sr", "channels"), [("WAV", 22050, 1), ("FLAC", 44100, 2)])
def test_the_beats_and_tempo_of_a_click_track_are_found(client, format: str, sr: int, channels: int) -> None:
    audio, beats = click_track(BPM, 8.0, sr=sr, channels=channels)
    status, body = upload(client, encoded(audio, sr, format), f"clicks.{format.lower()}")
    assert status == 200, body
    assert body["tempo"] == pytest.approx(BPM, rel=0.02)
    found = np.array(body["beats"])
    assert len(found) == body["beat_count"] and all(np.min(np.abs(found - b)) < 0.07 for b in beats)
    expected_frames = len(features.extract(audio, sr))
    assert body["frames"] == len(body["probabilities"]) == expected_frames
    assert all(0.0 <= p <= 1.0 for p in body["probabilities"])
    assert (body["backend"], body["sample_rate"], body["channels"]) == ("cpu", sr, channels)
    assert body["duration_s"] == pytest.approx(8.0) and body["filename"] == f"clicks.{format.lower()}"
    assert set(body["timings_ms"]) == {"decode", "features", "windows", "inference", "tracking", "total"}


def test_options_and_the_raw_body_upload(client) -> None:
    audio, beats = click_track(BPM, 6.0)
    data = encoded(audio, 22050, "WAV")
    status, body = upload(client, data, method="dp")
    assert status == 200 and (body["method"], body["tempo_range_bpm"]) == ("dp", [50.0, 210.0])
    assert all(np.min(np.abs(np.array(body["beats"]) - b)) < 0.07 for b in beats[1:])
    response = client.post("/api/detect-beats?min_bpm=40&max_bpm=80", data=data, content_type="audio/wav")
    assert response.status_code == 200 and response.get_json()["tempo"] == pytest.approx(BPM / 2, rel=0.02)


def test_a_text_file_is_415(client) -> None:
    status, body = upload(client, b"this is not audio\n" * 100, "notes.txt")
    assert status == 415 and "not an audio file" in body["error"]


def test_a_file_over_the_upload_limit_is_413(client) -> None:
    audio, _ = click_track(BPM, 15.0, sr=44100)  # 1.3 MB of 16-bit WAV, the limit is 1 MB
    status, body = upload(client, encoded(audio, 44100, "WAV"))
    assert status == 413 and "MAX_UPLOAD_MB" in body["error"]


def test_audio_longer_than_the_limit_is_413_before_decoding(client) -> None:
    audio = np.zeros(25 * 8000, dtype=np.float32)  # 25 s at 8 kHz, FLAC compresses silence to almost nothing
    status, body = upload(client, encoded(audio, 8000, "FLAC"), "long.flac")
    assert status == 413 and "25.0 s long" in body["error"] and "20 s" in body["error"]


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"data": {"file": (io.BytesIO(b""), "empty.wav")}, "content_type": "multipart/form-data"}, "empty"),
    ({"data": {"other": (io.BytesIO(b"x"), "a.wav")}, "content_type": "multipart/form-data"}, "no file field"),
    ({"json": {"file": "song.wav"}}, "multipart/form-data"),
    ({"data": b"", "content_type": "audio/wav"}, "empty"),
])
def test_missing_or_empty_uploads_are_400(client, kwargs, words: str) -> None:
    response = client.post("/api/detect-beats", **kwargs)
    assert response.status_code == 400 and words in response.get_json()["error"]


@pytest.mark.parametrize(("form", "words"), [({"method": "magic"}, "method"), ({"min_bpm": "nan"}, "min_bpm"),
                                             ({"max_bpm": "1000"}, "max_bpm"), ({"min_bpm": "x"}, "min_bpm"),
                                             ({"min_bpm": "120", "max_bpm": "100"}, "max_bpm must be above")])
def test_bad_options_are_400(client, form, words: str) -> None:
    audio, _ = click_track(BPM, 2.0)
    status, body = upload(client, encoded(audio, 22050, "WAV"), **form)
    assert status == 400 and body["error"].startswith(words)


def test_audio_too_short_to_analyse_is_400(client) -> None:
    status, body = upload(client, encoded(np.zeros(100, dtype=np.float32), 22050, "WAV"))
    assert status == 400 and "too short" in body["error"]
