"""Property-based: whatever body a client sends, the API answers JSON and never a 5xx (hypothesis)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rhythm_service import features
from rhythm_service.app import close_app, create_app, service_of
from tests.rhythm_service.service_helpers import free_port, service_config

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FEWER = settings(SETTINGS, max_examples=150)  # the endpoints that start threads or queue triggers

numbers = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from([0, 1, -1, 0.5, 1e308, -1e308, 3.4e38, 1e-320, 2**63, 2**63 - 1]))
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=5)),
                           max_leaves=30)
FRAMES = features.WINDOW_FRAMES  # the CI package's window: the code's default
frames = st.lists(st.one_of(numbers, scalars), min_size=2, max_size=4)
windows = st.lists(st.lists(frames, min_size=FRAMES - 1, max_size=FRAMES + 1), min_size=0, max_size=4)
predict_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"windows": windows}, optional={"normalised": scalars}),
    st.fixed_dictionaries({"windows": st.lists(st.lists(st.lists(numbers, min_size=3, max_size=3), min_size=FRAMES,
                                                                 max_size=FRAMES), min_size=1, max_size=3)}),
)
section = st.fixed_dictionaries({}, optional={"start": scalars, "duration": scalars, "loudness": scalars,
                                              "tempo": scalars})
song_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({}, optional={
        "name": scalars, "artist": scalars, "spotify_id": scalars, "duration_ms": scalars,
        "audio_features": st.one_of(scalars, st.fixed_dictionaries({}, optional={
            "tempo": scalars, "energy": scalars, "danceability": scalars})),
        "spotify_analysis": st.one_of(scalars, st.fixed_dictionaries({}, optional={
            "sections": st.one_of(scalars, st.lists(st.one_of(section, scalars), max_size=6))})),
    }),
)
raw_bodies = st.one_of(st.binary(max_size=200), st.sampled_from([b"NaN", b"[NaN]", b'{"windows": Infinity}',
                                                                   b"{" * 5000, b"\x00", b'{"a": 1e400}']))


@pytest.fixture(scope="module")
def client(model_package: Path):
    app = create_app(service_config(model_package, f"http://127.0.0.1:{free_port()}", max_windows=8,
                                    max_rhythm_seconds=30))
    yield app.test_client()
    service_of(app).rhythm.stop()
    close_app(app)


def check(response):
    """JSON always; 2xx or 4xx only; a 4xx says what was wrong. Returns ``response``."""
    assert response.status_code < 500, response.data[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    if response.status_code >= 400:
        assert isinstance(body["error"], str) and body["error"] and body["status"] == response.status_code
    return response


def post_json(client, path: str, body):
    """POST ``body`` as JSON to ``path`` and ``check`` the answer."""
    return check(client.post(path, data=json.dumps(body), content_type="application/json"))


@SETTINGS
@given(body=predict_bodies)
def test_predict_never_fails_on_any_json(client, body) -> None:
    response = post_json(client, "/api/predict", body)
    if response.status_code == 200:
        assert len(response.get_json()["probabilities"]) == len(body["windows"])


@SETTINGS
@given(body=song_bodies)
def test_analyze_song_never_fails_on_any_json(client, body) -> None:
    response = post_json(client, "/api/analyze-song", body)
    if response.status_code == 200:
        answer = response.get_json()
        assert answer["beat_interval"] == pytest.approx(60.0 / answer["tempo"])


@FEWER
@given(body=st.one_of(json_values, st.fixed_dictionaries({}, optional={
    "song_data": song_bodies, "duration": scalars, "beats": st.one_of(scalars, st.lists(scalars, max_size=5))})))
def test_start_rhythm_mode_never_fails_on_any_json(client, body) -> None:
    post_json(client, "/api/start-rhythm-mode", body)
    check(client.post("/api/stop-rhythm-mode"))


@FEWER
@given(body=st.one_of(json_values, st.fixed_dictionaries({}, optional={"section": scalars, "beat_num": scalars})))
def test_beat_trigger_never_fails_on_any_json(client, body) -> None:
    post_json(client, "/api/beat-trigger", body)


@SETTINGS
@given(data=raw_bodies, path=st.sampled_from(["/api/predict", "/api/analyze-song", "/api/start-rhythm-mode",
                                              "/api/beat-trigger", "/api/detect-beats"]))
def test_raw_bytes_never_fail(client, data: bytes, path: str) -> None:
    check(client.post(path, data=data, content_type="application/json"))
    check(client.post("/api/stop-rhythm-mode"))
