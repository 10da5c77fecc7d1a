"""The error generator client: delivers triggers, never blocks its caller, retries, counts every loss."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rhythm_service.error_generator import ErrorGeneratorClient
from rhythm_service.rhythm import make_trigger
from tests.rhythm_service.service_helpers import RecordingErrgen, free_port, hung_server


@pytest.fixture
def recording_errgen(tmp_path: Path) -> Iterator[RecordingErrgen]:
    with RecordingErrgen(tmp_path) as server:
        yield server


class ScriptedServer(ThreadingHTTPServer):
    """Answers POSTs with the statuses of ``script`` in turn (then 200), counting requests."""

    daemon_threads = True

    def __init__(self, script: list[int]) -> None:
        self.script = list(script)
        self.requests = 0
        super().__init__(("127.0.0.1", 0), ScriptedHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ScriptedHandler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests += 1
        status = self.server.script.pop(0) if self.server.script else 200
        body = b'{"success": true}' if status == 200 else b"nope"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[callable]:
    servers = []

    def start(script: list[int]) -> ScriptedServer:
        server = ScriptedServer(script)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent_listener() -> Iterator[str]:
    """A hung error generator's URL (``hung_server``)."""
    with hung_server() as url:
        yield url


def new_client(url: str, **options) -> ErrorGeneratorClient:
    outcomes: list[tuple[str, str]] = []
    defaults = {"timeout_s": 1.0, "retries": 2, "backoff_s": 0.01, "cooldown_s": 0.5}
    client = ErrorGeneratorClient(url, on_outcome=lambda outcome, reason: outcomes.append((outcome, reason)),
                                  **{**defaults, **options})
    client.outcomes = outcomes
    client.start()
    return client


def test_triggers_reach_the_error_generator_as_given(recording_errgen: RecordingErrgen) -> None:
    client = new_client(recording_errgen.url)
    triggers = [make_trigger(section, beat, 128.0) for beat, section in enumerate(["intro", "chorus", "solo"], 1)]
    try:
        assert all(client.submit(trigger) for trigger in triggers)
        assert client.wait_idle(5.0)
    finally:
        client.close()
    assert recording_errgen.bodies() == triggers
    assert [t["queued"] for t in recording_errgen.decoded()] == [True, True, True]
    assert client.stats()["sent"] == 3 and client.outcomes == [("sent", "")] * 3


def test_when_the_error_generator_is_down_every_trigger_is_counted_failed_or_dropped() -> None:
    client = new_client(f"http://127.0.0.1:{free_port()}", cooldown_s=0.3)
    try:
        for beat in range(1, 41):
            client.submit(make_trigger("verse", beat, 120.0))
            time.sleep(0.01)
        assert client.wait_idle(10.0)
        stats = client.stats()
    finally:
        client.close()
    assert stats["sent"] == 0 and stats["failed"] >= 1 and stats["drops"]["down"] >= 1
    assert stats["failed"] + stats["dropped"] == 40 and len(client.outcomes) == 40
    assert stats["retries"] == 2 * stats["failed"]  # each failed trigger was tried 3 times
    assert "ConnectionError" in stats["last_error"]


def test_a_hung_error_generator_never_delays_the_caller_and_the_queue_stays_bounded(silent_listener: str) -> None:
    client = new_client(silent_listener, queue_size=4, timeout_s=2.0, retries=0)
    try:
        started = time.monotonic()
        accepted = [client.submit(make_trigger("verse", beat, 120.0)) for beat in range(200)]
        submit_seconds = time.monotonic() - started
        stats = client.stats()
    finally:
        client.close(timeout_s=3.0)
    # 200 submissions while one request hangs for 2 s: none of them waited for it.
    assert submit_seconds < 0.5
    assert sum(accepted) <= 5 and stats["queued"] <= 4  # 4 waiting + at most 1 taken by the worker
    assert stats["drops"]["queue_full"] == 200 - sum(accepted)


def test_5xx_answers_are_retried_with_backoff_and_4xx_are_not(scripted) -> None:
    flaky = scripted([503, 502])
    client = new_client(flaky.url, retries=2)
    try:
        client.submit(make_trigger("verse", 1, 120.0))
        assert client.wait_idle(5.0)
        assert (client.stats()["sent"], client.stats()["retries"], flaky.requests) == (1, 2, 3)
    finally:
        client.close()
    refusing = scripted([400])
    client = new_client(refusing.url, retries=2)
    try:
        client.submit(make_trigger("verse", 1, 120.0))
        assert client.wait_idle(5.0)
        stats = client.stats()
    finally:
        client.close()
    assert (stats["failed"], stats["retries"], refusing.requests) == (1, 0, 1)
    assert stats["last_error"].startswith("HTTP 400") and not stats["down"]


def test_after_a_failure_triggers_are_dropped_during_the_cooldown_then_tried_again(scripted) -> None:
    server = scripted([500, 500])
    client = new_client(server.url, retries=1, cooldown_s=0.3)
    try:
        client.submit(make_trigger("verse", 1, 120.0))
        assert client.wait_idle(5.0) and client.stats()["down"]
        assert client.submit(make_trigger("verse", 2, 120.0)) is False
        time.sleep(0.35)
        assert client.submit(make_trigger("verse", 3, 120.0)) is True
        assert client.wait_idle(5.0)
        stats = client.stats()
    finally:
        client.close()
    assert (stats["failed"], stats["drops"]["down"], stats["sent"]) == (1, 1, 1)
    assert server.requests == 3


def test_closing_counts_what_was_still_queued_and_stops_the_worker(silent_listener: str) -> None:
    client = new_client(silent_listener, queue_size=8, timeout_s=0.5, retries=0)
    for beat in range(6):
        client.submit(make_trigger("verse", beat, 120.0))
    client.close(timeout_s=3.0)
    stats = client.stats()
    assert stats["queued"] == 0 and stats["drops"]["closed"] >= 4
    assert stats["sent"] + stats["failed"] + stats["dropped"] == 6
    assert client.submit(make_trigger("verse", 9, 120.0)) is False
    assert not client._thread.is_alive()
