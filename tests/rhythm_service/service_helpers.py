"""What the service's tests share: a recording error generator, the service over real HTTP, audio clips.

- ``RecordingErrgen``: the sandbox's stand-in of the original error generator
  (``fpgaops/sandbox/errgen.py``, decoding like the Go original) on 127.0.0.1 and a free port, that
  also keeps each trigger's raw request body and receive time (``monotonic``);
- ``ServedApp``: ``create_app`` behind Werkzeug's threaded WSGI server on 127.0.0.1 and a free port;
- ``service_config``: a config for the CI model package and the cpu backend;
- ``hung_server``: a port that accepts connections but never answers (a hung error generator);
- ``click_track``: a mono click per beat (a decaying 1 kHz sine), written to WAV/FLAC with soundfile.

Only tests import this (``fpgaops`` is never imported by the service itself).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import queue
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from werkzeug.serving import make_server

from fpgaops.sandbox import errgen
from rhythm_service.app import close_app, create_app
from rhythm_service.config import ServiceConfig


class _RecordingHandler(errgen.ErrgenHandler):
    def _rhythm_trigger(self, body: bytes) -> None:
        if self.command == "POST":
            with self.server.raw_lock:
                self.server.raw.append((time.monotonic(), body))
        super()._rhythm_trigger(body)


class RecordingErrgen:
    """The error generator stand-in, recording what it receives (use as a context manager)."""

    def __init__(self, folder: Path) -> None:
        self.record_path = folder / "triggers.jsonl"
        triggers: queue.Queue = queue.Queue(maxsize=errgen.QUEUE_SLOTS)
        self.server = errgen.ErrgenServer(("127.0.0.1", 0), triggers, errgen.TriggerRecorder(str(self.record_path)))
        self.server.RequestHandlerClass = _RecordingHandler
        self.server.raw = []
        self.server.raw_lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._threads = [threading.Thread(target=self.server.serve_forever, daemon=True),
                         threading.Thread(target=errgen.process_triggers, args=(triggers, 0.0), daemon=True)]

    def __enter__(self) -> RecordingErrgen:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def raw(self) -> list[tuple[float, bytes]]:
        """(monotonic receive time, body) of every POST to /api/rhythm-trigger so far."""
        with self.server.raw_lock:
            return list(self.server.raw)

    def bodies(self) -> list[Any]:
        """The JSON bodies received, parsed by Python's json (exact types)."""
        return [json.loads(body) for _, body in self.raw()]

    def decoded(self) -> list[dict]:
        """The triggers as the stand-in decoded them (as the Go original would), from its record file."""
        if not self.record_path.exists():
            return []
        return [json.loads(line) for line in self.record_path.read_text().splitlines()]

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Any]:
        """The bodies once at least ``count`` arrived (or whatever arrived by the timeout)."""
        deadline = time.monotonic() + timeout_s
        while len(self.raw()) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.bodies()


def free_port() -> int:
    """A TCP port nothing listens on right now (for 'error generator down')."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def hung_server() -> Iterator[str]:
    """The URL of a port that accepts connections (the kernel's backlog) but never answers: a hung error generator."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def service_config(model_package: Path, errgen_url: str, **changes: Any) -> ServiceConfig:
    """The service's settings for tests: the CI model package, the cpu backend, ``errgen_url``."""
    base = ServiceConfig(model_dir=str(model_package), inference_backend="cpu", error_generator_url=errgen_url,
                         errgen_timeout_s=1.0, errgen_backoff_s=0.01, log_level="WARNING")
    return dataclasses.replace(base, **changes)


class ServedApp:
    """``create_app(config)`` served over HTTP on 127.0.0.1 (context manager; ``url`` once entered)."""

    def __init__(self, config: ServiceConfig) -> None:
        self.app = create_app(config)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ServedApp:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        close_app(self.app)


def click_track(bpm: float, seconds: float, sr: int = 22050, first_beat: float = 0.5,
                channels: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(samples, beat times): a 30 ms decaying 1 kHz click on every beat, a little noise between.

    Example: ``audio, beats = click_track(120, 8.0)``.
    """
    rng = np.random.default_rng(7)
    audio = 0.003 * rng.standard_normal(int(seconds * sr)).astype(np.float32)
    beats = np.arange(first_beat, seconds - 0.1, 60.0 / bpm)
    t = np.arange(int(0.03 * sr)) / sr
    click = (0.8 * np.sin(2 * np.pi * 1000 * t) * np.exp(-t / 0.006)).astype(np.float32)
    for beat in beats:
        start = int(beat * sr)
        audio[start:start + len(click)] += click[: len(audio) - start]
    if channels > 1:
        audio = np.repeat(audio[:, None], channels, axis=1)
    return audio, beats
