"""The API through Flask's test client: the original fields and types, the new endpoints, every bad input."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rhythm_service import features
from rhythm_service.app import close_app, create_app, service_of
from rhythm_service.backends.cpu import CpuBackend
from tests.rhythm_service.service_helpers import RecordingErrgen, service_config

FRAMES = features.WINDOW_FRAMES  # the CI package's window: the code's default (checked in the predict tests)
WINDOW = [[0.5, 1200.0, 2500.0]] * FRAMES  # one raw feature window (FRAMES frames x 3)


@pytest.fixture(scope="module")
def errgen(tmp_path_factory) -> Iterator[RecordingErrgen]:
    with RecordingErrgen(tmp_path_factory.mktemp("errgen")) as server:
        yield server


@pytest.fixture(scope="module")
def app(model_package: Path, errgen: RecordingErrgen):
    app = create_app(service_config(model_package, errgen.url, max_upload_mb=0.25, max_windows=50,
                                    max_rhythm_seconds=600))
    yield app
    close_app(app)


@pytest.fixture
def client(app):
    yield app.test_client()
    service_of(app).rhythm.stop()


def post(client, path: str, body=None, data: bytes | str | None = None, **kwargs):
    """POST JSON (``body``) or raw ``data``; returns (status, parsed JSON), asserting the answer is JSON."""
    response = client.post(path, json=body, **kwargs) if data is None else client.post(path, data=data, **kwargs)
    assert response.mimetype == "application/json", response.data[:200]
    return response.status_code, response.get_json()


def assert_error(status: int, body: dict, expected_status: int, *words: str) -> None:
    assert status == expected_status, body
    assert set(body) == {"error", "status"} and body["status"] == expected_status
    assert all(word in body["error"] for word in words), body["error"]


# ------------------------------------------------------------------ original endpoints


def test_health_keeps_the_original_fields_and_adds_the_backend(client) -> None:
    response = client.get("/health")
    body = response.get_json()
    assert response.status_code == 200
    assert (body["status"], body["service"], body["fpga_enabled"]) == ("healthy", "rhythm-service", False)
    assert body["backend"] == "cpu" and body["backend_health"]["arithmetic"] == "fixed"
    assert body["backend_reasons"] and all(isinstance(reason, str) for reason in body["backend_reasons"])
    assert body["model"]["release"] == service_of(client.application).package.release
    assert body["error_generator"]["url"].endswith("/api/rhythm-trigger")


def test_health_is_503_json_when_the_backend_fails_its_check(app, monkeypatch) -> None:
    def broken() -> dict:
        raise OSError("device gone")

    monkeypatch.setattr(service_of(app).backend, "health", broken)
    response = app.test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unhealthy" and "device gone" in body["backend_health"]["error"]


def test_analyze_song_answers_the_original_fields(client) -> None:
    status, body = post(client, "/api/analyze-song", {
        "name": "Song", "artist": "Artist", "spotify_id": "abc",
        "audio_features": {"tempo": 128, "energy": 0.8, "danceability": 0.7}, "duration_ms": 200000,
    })
    assert status == 200 and set(body) == {"success", "tempo", "beat_interval", "structure"}
    assert body["success"] is True and body["tempo"] == 128.0 and body["beat_interval"] == pytest.approx(60 / 128)
    assert [s["type"] for s in body["structure"]] == ["intro", "verse", "chorus", "verse", "chorus", "bridge",
                                                      "chorus", "outro"]
    assert body["structure"][2] == {"start": 40.0, "duration": 20.0, "type": "chorus", "energy": 0.8,
                                    "danceability": 0.7}
    assert client.get("/api/status").get_json()["current_song"] == "Song"


def test_analyze_song_classifies_spotify_sections_like_the_original(client) -> None:
    sections = [{"start": 0, "duration": 10, "loudness": -20}, {"start": 10, "duration": 20, "loudness": -15},
                {"start": 30, "duration": 20, "loudness": -6}, {"start": 50, "duration": 20, "loudness": -12},
                {"start": 70, "duration": 20, "loudness": -12, "tempo": 121}, {"start": 90, "duration": 5}]
    status, body = post(client, "/api/analyze-song", {"name": "x", "spotify_analysis": {"sections": sections}})
    assert status == 200 and body["tempo"] == 120.0
    assert [s["type"] for s in body["structure"]] == ["intro", "verse", "chorus", "verse", "bridge", "outro"]
    assert body["structure"][4] == {"start": 70.0, "duration": 20.0, "type": "bridge", "loudness": -12.0,
                                    "tempo": 121.0}
    status, body = post(client, "/api/analyze-song", {"name": "x", "spotify_analysis": {"sections": []}})
    assert status == 200 and [s["start"] for s in body["structure"]] == [0, 30, 50, 80, 100, 120]


def test_analyze_song_without_data_is_the_original_400(client) -> None:
    for data in (b"", b"{}", b"null"):
        status, body = post(client, "/api/analyze-song", data=data, content_type="application/json")
        if data == b"null":
            assert_error(status, body, 400, "JSON object")
        else:
            assert_error(status, body, 400, "No song data provided")


def test_start_rhythm_mode_answers_the_original_fields_and_really_runs(client) -> None:
    status, body = post(client, "/api/start-rhythm-mode", {"song_data": {"name": "Run", "audio_features":
                                                                        {"tempo": 240}}, "duration": 30})
    assert status == 200
    assert {k: body[k] for k in ("success", "message", "tempo", "beat_interval", "duration")} == {
        "success": True, "message": "Rhythm mode started", "tempo": 240.0, "beat_interval": 0.25, "duration": 30.0}
    assert body["beats_planned"] == 120 and body["source"] == "song_data" and body["replaced"] is False
    time.sleep(0.6)
    state = client.get("/api/status").get_json()
    assert state["rhythm"]["running"] is True and state["beat_count"] >= 2 and state["current_song"] == "Run"
    assert state["tempo"] == 240.0 and state["beat_interval_ms"] == 250.0 and state["current_section"] == "intro"
    status, body = post(client, "/api/stop-rhythm-mode", data=b"")
    assert status == 200 and body["stopped"] is True and body["rhythm"]["cancelled"] is True
    assert client.get("/api/status").get_json()["rhythm"]["running"] is False
    status, body = post(client, "/api/stop-rhythm-mode", data=b"")
    assert (status, body["stopped"], body["rhythm"]) == (200, False, None)


def test_start_rhythm_mode_with_no_body_uses_the_original_defaults(client) -> None:
    status, body = post(client, "/api/start-rhythm-mode", data=b"")
    assert status == 200 and (body["tempo"], body["duration"], body["beats_planned"]) == (120.0, 180.0, 360)


def test_start_rhythm_mode_follows_given_beats_and_takes_their_tempo(client) -> None:
    beats = [0.5 + 0.4 * i for i in range(10)]  # 150 BPM
    status, body = post(client, "/api/start-rhythm-mode", {"beats": beats, "duration": 6})
    assert status == 200 and body["source"] == "beats" and body["tempo"] == pytest.approx(150.0)
    assert body["beats_planned"] == 10 + 4  # then steady at 150 BPM: 4.5, 4.9, 5.3, 5.7 s
    status, body = post(client, "/api/start-rhythm-mode", {"beats": beats[::-1] + beats[:3], "duration": 6})
    assert status == 200 and body["tempo"] == pytest.approx(150.0) and body["beats_planned"] == 10 + 4
    status, body = post(client, "/api/start-rhythm-mode", {"beats": beats, "duration": 6,
                                                           "song_data": {"audio_features": {"tempo": 100}}})
    assert body["tempo"] == 100.0 and body["replaced"] is True


def test_beat_trigger_answers_the_original_fields_and_queues_the_trigger(client, errgen: RecordingErrgen) -> None:
    before = len(errgen.raw())
    status, body = post(client, "/api/beat-trigger", {"section": "chorus", "beat_num": 42})
    assert status == 200
    assert body == {"success": True, "triggered": True, "error_type": "business", "section": "chorus", "beat": 42}
    received = errgen.wait_for(before + 1)[-1]
    assert received == {"trigger": "rhythm", "error_type": "business", "beat": 42, "section": "chorus",
                        "tempo": received["tempo"]} and isinstance(received["tempo"], float)
    status, body = post(client, "/api/beat-trigger", data=b"")
    assert (body["section"], body["beat"], body["error_type"]) == ("verse", 1, "basic")
    assert client.get("/api/status").get_json()["current_section"] == "verse"


def test_status_keeps_the_original_fields_with_their_types(client) -> None:
    body = client.get("/api/status").get_json()
    original = {"service": str, "current_song": (str, type(None)), "tempo": float, "current_section": str,
                "beat_count": int, "fpga_enabled": bool, "beat_interval_ms": float}
    for name, kind in original.items():
        assert isinstance(body[name], kind), (name, body[name])
    assert body["service"] == "rhythm-service" and body["backend"] == "cpu"
    assert {"sent", "failed", "dropped", "queued"} <= set(body["error_generator"])


# ------------------------------------------------------------------ predict


def test_predict_equals_the_backend_on_normalised_windows(app, client) -> None:
    service = service_of(app)
    rng = np.random.default_rng(3)
    assert service.package.window.dims == (FRAMES, 3)
    raw = np.abs(rng.normal([1.0, 1500.0, 3000.0], [1.0, 500.0, 1000.0], size=(7, FRAMES, 3))).round(3)
    status, body = post(client, "/api/predict", {"windows": raw.tolist()})
    expected = CpuBackend(service.package).predict(service.package.normalisation.apply(raw.astype(np.float32)))
    assert status == 200 and body["count"] == 7 and body["backend"] == "cpu" and body["inference_ms"] >= 0
    np.testing.assert_array_equal(body["probabilities"], expected)
    normalised = service.package.normalisation.apply(raw.astype(np.float32))
    status, again = post(client, "/api/predict", {"windows": normalised.tolist(), "normalised": True})
    np.testing.assert_array_equal(again["probabilities"], expected)


def test_predict_accepts_integers_and_one_window(client) -> None:
    status, body = post(client, "/api/predict", {"windows": [[[0, 1000, 2000]] * FRAMES]})
    assert status == 200 and len(body["probabilities"]) == 1 and 0.0 <= body["probabilities"][0] <= 1.0


@pytest.mark.parametrize(("body", "words"), [
    ({}, ["windows: missing", f"[[[f, f, f] x {FRAMES} frames], ...]"]),
    ({"windows": None}, ["windows", "array of windows"]),
    ({"windows": []}, ["1 to 50 windows"]),
    ({"windows": [WINDOW] * 51}, ["1 to 50 windows", "51"]),
    ({"windows": WINDOW}, ["windows[0]", f"{FRAMES} frames"]),
    ({"windows": [WINDOW[:-1]]}, ["windows[0]", f"{FRAMES} frames of 3 numbers"]),
    ({"windows": [WINDOW + WINDOW[:1]]}, ["windows[0]", f"{FRAMES} frames of 3 numbers"]),
    ({"windows": [[[0.0, 0.0]] * FRAMES]}, ["windows[0][0]", "3 numbers"]),
    ({"windows": [[[0.0, 0.0, 0.0, 0.0]] * FRAMES]}, ["windows[0][0]", "3 numbers"]),
    ({"windows": [WINDOW, [[0.0, "1", 0.0]] * FRAMES]}, ["windows[1][0][1]", "a string"]),
    ({"windows": [[[0.0, True, 0.0]] * FRAMES]}, ["windows[0][0][1]", "a boolean"]),
    ({"windows": [[[0.0, None, 0.0]] * FRAMES]}, ["windows[0][0][1]", "null"]),
    ({"windows": [[[0.0, 1e39, 0.0]] * FRAMES]}, ["windows[0][0][1]", "float32 range"]),
    ({"windows": [[[0.0, 10**400, 0.0]] * FRAMES]}, ["too large"]),
    ({"windows": [WINDOW], "normalised": "yes"}, ["normalised", "true or false"]),
])
def test_predict_refuses_wrong_shapes_and_types_with_400(client, body, words) -> None:
    status, answer = post(client, "/api/predict", data=json.dumps(body), content_type="application/json")
    assert_error(status, answer, 400, *words)


@pytest.mark.parametrize(("data", "words"), [
    (b"", ["empty"]),
    (b"not json", ["not valid JSON"]),
    (b'{"windows": [[[NaN, 0, 0]]]}', ["NaN is not JSON"]),
    (b'{"windows": [[[Infinity, 0, 0]]]}', ["Infinity is not JSON"]),
    (b'{"windows": [[[-Infinity, 0, 0]]]}', ["not JSON"]),
    (b'{"windows": [[[1e999, 0, 0]]]}', ["out of range"]),
    (b'{"windows": [[[0, 0, 0]]]', ["not valid JSON"]),
    (b"\xff\xfe{}", ["not UTF-8"]),
    (b"[" * 100_000 + b"]" * 100_000, ["nested too deeply"]),
    (b"[1, 2]", ["JSON object", "an array"]),
    (b'"windows"', ["JSON object", "a string"]),
])
def test_predict_refuses_bodies_that_are_not_strict_json_objects(client, data, words) -> None:
    status, answer = post(client, "/api/predict", data=data, content_type="application/json")
    assert_error(status, answer, 400, *words)


def test_json_is_read_whatever_the_content_type(client) -> None:
    status, body = post(client, "/api/predict", data=json.dumps({"windows": [WINDOW]}), content_type="text/plain")
    assert status == 200 and body["count"] == 1


# ------------------------------------------------------------------ other bad input


@pytest.mark.parametrize(("path", "body", "words"), [
    ("/api/analyze-song", {"audio_features": {"tempo": "fast"}}, ["audio_features.tempo", "a string"]),
    ("/api/analyze-song", {"audio_features": {"tempo": 0}}, ["audio_features.tempo", "from 1 to 500"]),
    ("/api/analyze-song", {"audio_features": {"tempo": True}}, ["audio_features.tempo", "a boolean"]),
    ("/api/analyze-song", {"audio_features": [120]}, ["audio_features: expected an object"]),
    ("/api/analyze-song", {"name": 5}, ["name: expected a string"]),
    ("/api/analyze-song", {"name": "x" * 501}, ["name: longer than 500"]),
    ("/api/analyze-song", {"duration_ms": -1}, ["duration_ms"]),
    ("/api/analyze-song", {"spotify_analysis": {"sections": {}}}, ["spotify_analysis.sections: expected an array"]),
    ("/api/analyze-song", {"spotify_analysis": {"sections": [1]}}, ["spotify_analysis.sections[0]: expected an obj"]),
    ("/api/analyze-song", {"spotify_analysis": {"sections": [{"start": -1}]}}, ["sections[0].start"]),
    ("/api/start-rhythm-mode", {"duration": 0}, ["duration", "from 0.001 to 600"]),
    ("/api/start-rhythm-mode", {"duration": 601}, ["duration", "600"]),
    ("/api/start-rhythm-mode", {"duration": "60"}, ["duration", "a string"]),
    ("/api/start-rhythm-mode", {"song_data": []}, ["song_data: expected an object"]),
    ("/api/start-rhythm-mode", {"song_data": {"audio_features": {"tempo": 9000}}},
     ["song_data.audio_features.tempo", "from 1 to 500"]),
    ("/api/start-rhythm-mode", {"beats": [0.5, "1"]}, ["beats[1]", "a string"]),
    ("/api/start-rhythm-mode", {"beats": [-0.5]}, ["beats[0]", "from 0 to 600"]),
    ("/api/start-rhythm-mode", {"beats": 1.0}, ["beats: expected an array"]),
    ("/api/beat-trigger", {"beat_num": "3"}, ["beat_num", "a string"]),
    ("/api/beat-trigger", {"beat_num": 1.5}, ["beat_num", "a number"]),
    ("/api/beat-trigger", {"beat_num": False}, ["beat_num", "a boolean"]),
    ("/api/beat-trigger", {"beat_num": 2**63}, ["beat_num", "9223372036854775807"]),
    ("/api/beat-trigger", {"section": ["chorus"]}, ["section: expected a string"]),
    ("/api/beat-trigger", {"section": "x" * 101}, ["section: longer than 100"]),
])
def test_wrong_fields_are_400_naming_the_field(client, path, body, words) -> None:
    status, answer = post(client, path, body)
    assert_error(status, answer, 400, *words)
    assert client.get("/api/status").get_json()["rhythm"]["running"] is False


def test_unknown_paths_and_wrong_methods_are_json_errors(client) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404 and response.get_json()["status"] == 404
    response = client.get("/api/predict")
    assert response.status_code == 405 and response.get_json()["status"] == 405
    assert response.headers["Allow"] and "POST" in response.headers["Allow"]
    response = client.delete("/health")
    assert response.status_code == 405 and response.mimetype == "application/json"


def test_a_body_over_the_limit_is_413_json(client) -> None:
    big = json.dumps({"windows": [WINDOW] * 6000})  # ~1 MB, the limit is 0.25 MB
    status, body = post(client, "/api/predict", data=big, content_type="application/json")
    assert_error(status, body, 413, "larger than the limit", "MAX_UPLOAD_MB")


def test_a_bug_is_a_json_500_without_details(model_package: Path, errgen: RecordingErrgen) -> None:
    app = create_app(service_config(model_package, errgen.url))
    try:
        app.add_url_rule("/boom", "boom", lambda: 1 / 0)
        response = app.test_client().get("/boom")
        assert response.status_code == 500
        assert response.get_json() == {"error": "internal error: ZeroDivisionError", "status": 500}
    finally:
        close_app(app)


# ------------------------------------------------------------------ metrics


def test_metrics_count_requests_inference_and_triggers(client, errgen: RecordingErrgen) -> None:
    client.get("/health")
    post(client, "/api/predict", {"windows": [WINDOW] * 3})
    post(client, "/api/beat-trigger", {"section": "intro", "beat_num": 1})
    client.get("/nowhere")
    service_of(client.application).errgen.wait_idle(5.0)
    response = client.get("/metrics")
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    assert 'rhythm_http_requests_total{endpoint="/health",method="GET",status="200"}' in text
    assert 'rhythm_http_requests_total{endpoint="unmatched",method="GET",status="404"}' in text
    assert 'rhythm_http_request_duration_seconds_count{endpoint="/api/predict"}' in text
    assert 'rhythm_inference_duration_seconds_count{backend="cpu"}' in text
    windows = [line for line in text.splitlines() if line.startswith('rhythm_inference_windows_total{backend="cpu"}')]
    assert windows and float(windows[0].split()[-1]) >= 3
    sent = [line for line in text.splitlines() if line.startswith('rhythm_triggers_total{outcome="sent"}')]
    assert sent and float(sent[0].split()[-1]) >= 1
    assert 'rhythm_trigger_drops_total{reason="queue_full"}' in text
    assert 'rhythm_backend_info{backend="cpu"' in text
