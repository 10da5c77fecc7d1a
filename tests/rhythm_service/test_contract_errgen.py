"""The service over real HTTP against a recording stand-in of the error generator: every trigger's wire format.

The stand-in (``fpgaops/sandbox/errgen.py``) decodes bodies the way the Go original does and keeps
the raw bodies, so each trigger is checked twice: exact JSON fields and types as sent, and that
the original would have accepted it. The service runs under Werkzeug's threaded server and, once,
under gunicorn with the shipped configuration.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
import soundfile

from rhythm_service.song_structure import ERROR_TYPES
from tests.rhythm_service.service_helpers import (
    RecordingErrgen,
    ServedApp,
    click_track,
    free_port,
    hung_server,
    service_config,
)

ROOT = Path(__file__).resolve().parents[2]
TRIGGER_TYPES = {"trigger": str, "error_type": str, "beat": int, "section": str, "tempo": float}
TOLERANCE_S = 0.025  # receive time at the error generator vs the beat (the scheduler's 20 ms + HTTP)


@pytest.fixture
def errgen(tmp_path: Path) -> Iterator[RecordingErrgen]:
    with RecordingErrgen(tmp_path) as server:
        yield server


def assert_contract(body: object) -> None:
    """Exactly the five fields with their JSON types, and the section's error type."""
    assert isinstance(body, dict) and set(body) == set(TRIGGER_TYPES), body
    for name, kind in TRIGGER_TYPES.items():
        assert type(body[name]) is kind, (name, body[name])
    assert body["trigger"] == "rhythm" and body["beat"] >= 1
    assert body["error_type"] == ERROR_TYPES.get(body["section"], "basic")


def test_rhythm_mode_sends_one_trigger_per_beat_with_the_exact_fields(model_package: Path, errgen) -> None:
    sections = [{"start": 0, "duration": 0.5, "loudness": -20}, {"start": 0.5, "duration": 0.5, "loudness": -5},
                {"start": 1.0, "duration": 0.5, "loudness": -15}, {"start": 1.5, "duration": 5}]
    song = {"name": "Contract", "artist": "Tests", "audio_features": {"tempo": 240},
            "spotify_analysis": {"sections": sections}}
    with ServedApp(service_config(model_package, errgen.url)) as served:
        answer = requests.post(f"{served.url}/api/start-rhythm-mode", json={"song_data": song, "duration": 2.0},
                               timeout=5).json()
        assert answer["beats_planned"] == 8 and answer["message"] == "Rhythm mode started"
        bodies = errgen.wait_for(8, timeout_s=5.0)
        time.sleep(0.3)
        status = requests.get(f"{served.url}/api/status", timeout=5).json()
    assert len(errgen.raw()) == 8
    for body in bodies:
        assert_contract(body)
    assert [b["beat"] for b in bodies] == list(range(1, 9))
    assert [b["section"] for b in bodies] == ["intro"] * 2 + ["chorus"] * 2 + ["verse"] * 2 + ["outro"] * 2
    assert {b["tempo"] for b in bodies} == {240.0}
    decoded = errgen.decoded()  # what the Go original would have decoded from the same bytes
    assert [{k: d[k] for k in TRIGGER_TYPES} for d in decoded] == bodies
    received = np.array([when for when, _ in errgen.raw()])
    offsets = (received - received[0]) - np.arange(8) * 0.25
    assert np.max(np.abs(offsets)) < TOLERANCE_S, offsets
    assert status["rhythm"]["beats_fired"] == 8 and status["error_generator"]["sent"] == 8
    assert status["rhythm"]["max_lateness_ms"] < 20


def test_detected_beats_drive_rhythm_mode(model_package: Path, errgen) -> None:
    audio, beats = click_track(150.0, 4.0, first_beat=0.3)
    buffer = io.BytesIO()
    soundfile.write(buffer, audio, 22050, format="FLAC")
    with ServedApp(service_config(model_package, errgen.url)) as served:
        detected = requests.post(f"{served.url}/api/detect-beats", files={"file": ("c.flac", buffer.getvalue())},
                                 timeout=30).json()
        found = detected["beats"]
        assert len(found) >= len(beats) - 1
        answer = requests.post(f"{served.url}/api/start-rhythm-mode", json={"beats": found, "duration": 3.0},
                               timeout=5).json()
        assert answer["source"] == "beats" and answer["tempo"] == pytest.approx(150.0, rel=0.03)
        expected = [t for t in found if t < 3.0]
        bodies = errgen.wait_for(len(expected), timeout_s=6.0)
    for body in bodies:
        assert_contract(body)
    received = np.array([when for when, _ in errgen.raw()])
    offsets = (received - received[0]) - (np.array(expected[: len(received)]) - expected[0])
    assert len(received) >= len(expected) and np.max(np.abs(offsets)) < TOLERANCE_S, offsets


def test_a_manual_trigger_reaches_the_error_generator_as_the_original_sent_it(model_package: Path, errgen) -> None:
    with ServedApp(service_config(model_package, errgen.url)) as served:
        requests.post(f"{served.url}/api/analyze-song", json={"name": "x", "audio_features": {"tempo": 97.5}},
                      timeout=5)
        answer = requests.post(f"{served.url}/api/beat-trigger", json={"section": "outro", "beat_num": 33},
                               timeout=5).json()
        body = errgen.wait_for(1)[0]
    assert answer == {"success": True, "triggered": True, "error_type": "philosophical", "section": "outro",
                      "beat": 33}
    assert body == {"trigger": "rhythm", "error_type": "philosophical", "beat": 33, "section": "outro",
                    "tempo": 97.5}
    assert_contract(body)


def test_with_the_error_generator_hung_requests_stay_fast_and_losses_are_counted(model_package: Path) -> None:
    with hung_server() as url:
        config = service_config(model_package, url, errgen_timeout_s=2.0, errgen_retries=0, trigger_queue_size=4)
        with ServedApp(config) as served, requests.Session() as session:
            started = time.monotonic()
            answers = [session.post(f"{served.url}/api/beat-trigger", json={"beat_num": n}, timeout=5).json()
                       for n in range(1, 31)]
            elapsed = time.monotonic() - started
            status = session.get(f"{served.url}/api/status", timeout=5).json()
            health = session.get(f"{served.url}/health", timeout=5)
    assert elapsed < 1.5  # 30 requests while one trigger hangs for 2 s: none waited on it
    assert all(a["success"] for a in answers) and sum(not a["triggered"] for a in answers) >= 25
    counters = status["error_generator"]
    assert counters["drops"]["queue_full"] >= 25 and counters["queued"] <= 4
    assert health.status_code == 200


def test_gunicorn_serves_the_wsgi_app_with_the_shipped_configuration(model_package: Path, errgen) -> None:
    port = free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "MODEL_DIR": str(model_package),
           "INFERENCE_BACKEND": "cpu", "ERROR_GENERATOR_URL": errgen.url, "LOG_LEVEL": "WARNING"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen([str(gunicorn), "-c", "rhythm_service/gunicorn.conf.py", "rhythm_service.wsgi:app"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = requests.get(f"{url}/health", timeout=20)  # the worker imports librosa first
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, process.stdout.read().decode()[-2000:]
                time.sleep(0.1)
        assert health.status_code == 200 and health.json()["backend"] == "cpu"
        answer = requests.post(f"{url}/api/beat-trigger", json={"section": "intro", "beat_num": 2}, timeout=5)
        assert answer.json()["triggered"] is True
        assert_contract(errgen.wait_for(1)[0])
        bad = requests.post(f"{url}/api/predict", data=b"NaN", timeout=5)
        assert bad.status_code == 400 and bad.headers["Content-Type"] == "application/json"
        assert "rhythm_http_requests_total" in requests.get(f"{url}/metrics", timeout=5).text
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0


def test_a_bad_setting_stops_the_dev_server_naming_the_variable() -> None:
    result = subprocess.run([sys.executable, "-m", "rhythm_service"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PORT": "http"}, timeout=60)
    assert result.returncode == 2 and "PORT: expected a whole number" in result.stderr
    result = subprocess.run([sys.executable, "-m", "rhythm_service"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "MODEL_DIR": "/nonexistent/model"}, timeout=60)
    assert result.returncode == 2 and "MODEL_DIR" in result.stderr
