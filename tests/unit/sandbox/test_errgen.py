"""The error generator stand-in against the original Go service's contract, byte for byte."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import fpgaops.sandbox

ERRGEN = Path(fpgaops.sandbox.__file__).parent / "errgen.py"
JSON_OK = b'{"success":true,"message":"Trigger received for verse section"}\n'
TRIGGER = {"trigger": "rhythm", "error_type": "basic", "beat": 3, "section": "verse", "tempo": 120.5}


@dataclass
class Errgen:
    """A running stand-in: its process, port, record file and log."""

    process: subprocess.Popen
    port: int
    record: Path
    log: Path

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request; status, headers in order (Date dropped), body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
        response = connection.getresponse()
        result = response.status, [(k, v) for k, v in response.getheaders() if k != "Date"], response.read()
        connection.close()
        return result

    def records(self) -> list[dict]:
        """The JSON lines recorded so far."""
        return [json.loads(line) for line in self.record.read_text().splitlines()] if self.record.exists() else []


def start(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[subprocess.Popen, Path]:
    """Start errgen.py with its log going to a file."""
    log = tmp_path / "errgen.log"
    process = subprocess.Popen(
        [sys.executable, str(ERRGEN), "--bind", "127.0.0.1", "--record", str(tmp_path / "triggers.jsonl"), *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    return process, log


def wait_for(log: Path, pattern: str) -> re.Match:
    """The first match of ``pattern`` in the log, waiting up to 5 s."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        match = re.search(pattern, log.read_text())
        if match:
            return match
        time.sleep(0.02)
    raise AssertionError(f"{pattern!r} not logged: {log.read_text()}")


def launch(tmp_path: Path, *args: str) -> Errgen:
    """A stand-in in rhythm mode on an ephemeral port."""
    process, log = start(tmp_path, {"RHYTHM_SERVICE_URL": "http://rhythm:5001", "ERROR_GENERATOR_PORT": "0"}, *args)
    port = int(wait_for(log, r"listening on 127\.0\.0\.1:(\d+)").group(1))
    return Errgen(process, port, tmp_path / "triggers.jsonl", log)


@pytest.fixture
def errgen(tmp_path: Path) -> Iterator[Errgen]:
    """A running stand-in, stopped after the test."""
    service = launch(tmp_path)
    yield service
    service.process.kill()
    service.process.wait()


def go_error(text: str) -> list[tuple[str, str]]:
    """Headers of Go's http.Error."""
    return [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("X-Content-Type-Options", "nosniff"),
        ("Content-Length", str(len(text) + 1)),
    ]


def test_trigger_is_accepted_recorded_and_answered(errgen: Errgen) -> None:
    status, headers, body = errgen.request("POST", "/api/rhythm-trigger", json.dumps(TRIGGER).encode())
    assert (status, headers, body) == (
        200,
        [("Content-Type", "application/json"), ("Content-Length", str(len(JSON_OK)))],
        JSON_OK,
    )
    [record] = errgen.records()
    assert {k: record[k] for k in TRIGGER} == TRIGGER
    assert record["queued"] is True and record["dropped_total"] == 0 and record["received_at"].endswith("+00:00")
    assert "Rhythm trigger received: verse section, beat 3, tempo 120.5 BPM" in errgen.log.read_text()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"section":"verse","unknown":[1,2],"beat":7}', {"section": "verse", "beat": 7}),  # unknown fields ignored
        (b'{"SECTION":"verse","Beat":2,"beat":5}', {"section": "verse", "beat": 5}),  # keys fold case, last wins
        (b'{"section":"verse","tempo":128}', {"section": "verse", "tempo": 128.0}),  # an int for a float64
        (b'{"section":"verse","beat":null}', {"section": "verse", "beat": 0}),  # null keeps the zero value
        (b'{"section":"verse"} trailing bytes', {"section": "verse"}),  # Decode reads one value
        (b'  \n{"section":"verse","beat":-0}', {"section": "verse", "beat": 0}),
    ],
)
def test_go_decoding_accepts(errgen: Errgen, body: bytes, expected: dict) -> None:
    status, _, answer = errgen.request("POST", "/api/rhythm-trigger", body)
    assert (status, answer) == (200, JSON_OK)
    record = errgen.records()[-1]
    assert {k: record[k] for k in expected} == expected


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"[]",
        b'"verse"',
        b"42",
        b'{"beat":1.0}',
        b'{"beat":1e2}',
        b'{"beat":"1"}',
        b'{"beat":true}',
        b'{"section":5}',
        b'{"tempo":"fast"}',
        b'{"tempo":NaN}',
        b'{"tempo":1e400}',
        b'{"beat":9223372036854775808}',
        b'{"section":"verse"',
        b"{'section':'verse'}",
        b'{"section":"verse",}',
        b"\xef\xbb\xbf{}",
    ],
)
def test_go_decoding_rejects_with_400(errgen: Errgen, body: bytes) -> None:
    assert errgen.request("POST", "/api/rhythm-trigger", body) == (
        400,
        go_error("Invalid request body"),
        b"Invalid request body\n",
    )
    assert errgen.records() == []


def test_null_body_is_a_zero_trigger(errgen: Errgen) -> None:
    assert errgen.request("POST", "/api/rhythm-trigger", b"null")[2] == (
        b'{"success":true,"message":"Trigger received for  section"}\n'
    )


def test_answer_is_html_escaped_utf8_like_go(errgen: Errgen) -> None:
    body = json.dumps({"section": "<ch&rus> \u00e9\u2028"}).encode()
    answer = errgen.request("POST", "/api/rhythm-trigger", body)[2]
    assert (
        answer
        == (
            '{"success":true,"message":"Trigger received for \\u003cch\\u0026rus\\u003e \u00e9\\u2028 section"}\n'
        ).encode()
    )


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_get_405(errgen: Errgen, method: str) -> None:
    assert errgen.request(method, "/api/rhythm-trigger") == (
        405,
        go_error("Method not allowed"),
        b"Method not allowed\n",
    )


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_health_is_plain_text_without_newline(errgen: Errgen, method: str) -> None:
    text = b"OK - Error Generator (Rhythm Mode: true)"
    assert errgen.request(method, "/health") == (
        200,
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(text)))],
        text,
    )


def test_unknown_paths_get_go_404(errgen: Errgen) -> None:
    for path in ("/", "/api/rhythm-trigger/", "/healthz"):
        assert errgen.request("GET", path) == (404, go_error("404 page not found"), b"404 page not found\n")


def test_a_full_queue_drops_and_counts(tmp_path: Path) -> None:
    service = launch(tmp_path, "--process-seconds", "30")
    try:
        trigger = json.dumps(TRIGGER).encode()
        assert service.request("POST", "/api/rhythm-trigger", trigger)[0] == 200
        wait_for(service.log, "Processing basic trigger")  # the worker holds the first one
        answers = [service.request("POST", "/api/rhythm-trigger", trigger) for _ in range(14)]
        assert all(
            answer == (200, [("Content-Type", "application/json"), ("Content-Length", str(len(JSON_OK)))], JSON_OK)
            for answer in answers
        )
        records = service.records()
        assert [r["queued"] for r in records] == [True] * 11 + [False] * 4
        assert records[-1]["dropped_total"] == 4
        assert "Trigger channel full, skipping (4 dropped so far)" in service.log.read_text()
    finally:
        service.process.kill()
        service.process.wait()


def test_without_rhythm_service_url_it_idles_without_listener(tmp_path: Path) -> None:
    process, log = start(tmp_path, {"RHYTHM_SERVICE_URL": "", "ERROR_GENERATOR_PORT": "0"})
    try:
        wait_for(log, "no listener")
        assert process.poll() is None
        text = log.read_text()
        assert "fpgaops sandbox stand-in" in text and "Sending errors every 60.00 seconds" in text
        assert "listening on" not in text
    finally:
        process.kill()
        process.wait()


def test_a_busy_port_is_logged_and_the_process_stays(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process, log = start(tmp_path, {"RHYTHM_SERVICE_URL": "http://rhythm", "ERROR_GENERATOR_PORT": str(port)})
        try:
            wait_for(log, rf"HTTP server error: listen tcp 127\.0\.0\.1:{port}: bind: address already in use")
            wait_for(log, "waiting for triggers")
            assert process.poll() is None
        finally:
            process.kill()
            process.wait()
