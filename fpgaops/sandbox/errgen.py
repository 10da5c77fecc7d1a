#!/usr/bin/env python3
"""Stand-in for the original error generator (Go) of the rhythm demo, stdlib only.

It runs on the sandbox host ``errgen`` as ``python3 errgen.py`` and keeps the wire contract of
``error-generator/main.go`` (see shared/research/original-app.md):

- the HTTP listener starts only when ``RHYTHM_SERVICE_URL`` is set, on ``ERROR_GENERATOR_PORT``
  (default 9090); otherwise the process logs like the original and idles (the original's periodic
  calls to a slogan server are not emulated);
- ``POST /api/rhythm-trigger`` decodes the first JSON value of the body the way Go's
  ``json.Decoder`` does into ``{trigger, error_type: string, beat: int, section: string,
  tempo: float64}`` (unknown fields ignored, keys matched case-insensitively, ``null`` leaves the
  zero value, a non-integral number for ``beat`` is an error), queues it on a 10-slot queue
  drained by one worker (dropped when full) and answers
  ``{"success":true,"message":"Trigger received for <section> section"}`` + newline;
- any other method on that path: 405 ``Method not allowed``; a body Go cannot decode: 400
  ``Invalid request body``; an unknown path: 404 ``404 page not found`` (Go's ``http.Error``
  format: text and newline, ``text/plain; charset=utf-8``, ``X-Content-Type-Options: nosniff``);
- ``GET /health`` (any method): ``OK - Error Generator (Rhythm Mode: true)``, no newline.

Stand-in additions: every decoded trigger is appended as one JSON line to ``--record`` with its
receive time and whether it was queued or dropped (with the running drop count), the worker's
processing time is ``--process-seconds``, and the log names the address actually bound.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import queue
import re
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

QUEUE_SLOTS = 10  # the original's make(chan RhythmTrigger, 10)
DEFAULT_PORT = "9090"
DEFAULT_RECORD = "/var/lib/errgen/triggers.jsonl"
DEFAULT_SLOGAN_URL = "http://localhost:8080"

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# The Go struct: JSON name -> kind.
TRIGGER_FIELDS = {"trigger": "string", "error_type": "string", "beat": "int", "section": "string", "tempo": "float"}


class DecodeError(Exception):
    """The body is something Go's json.Decoder would refuse for a RhythmTrigger."""


def log(message: str) -> None:
    """One line in the Go ``log`` package format (local time, to stderr)."""
    sys.stderr.write(f"{time.strftime('%Y/%m/%d %H:%M:%S')} {message}\n")
    sys.stderr.flush()


def _go_fold(name: str) -> str:
    """Case folding close to encoding/json's field matching (includes Go's special folds)."""
    return name.replace("\u017f", "s").replace("\u212a", "k").lower()


def _reject_constant(name: str) -> float:
    raise DecodeError(f"invalid character in literal {name}")


def _decode_int(literal: str) -> int:
    if not re.fullmatch(r"-?(0|[1-9][0-9]*)", literal):
        raise DecodeError(f"cannot unmarshal number {literal} into an int field")
    value = int(literal)
    if not INT64_MIN <= value <= INT64_MAX:
        raise DecodeError(f"cannot unmarshal number {literal} into an int field")
    return value


def _decode_float(literal: str) -> float:
    value = float(literal)
    if value in (float("inf"), float("-inf")):
        raise DecodeError(f"cannot unmarshal number {literal} into a float64 field")
    return value


class _Number(str):
    """A JSON number kept as its literal, so int and float fields can be checked like Go."""


class _Object(list):
    """A JSON object kept as its (key, value) pairs in order, duplicates included."""


_decoder = json.JSONDecoder(
    parse_int=_Number, parse_float=_Number, parse_constant=_reject_constant, object_pairs_hook=_Object
)


def decode_trigger(body: bytes) -> dict:
    """Decode the first JSON value of ``body`` into the five trigger fields, like Go would."""
    text = body.decode("utf-8", errors="replace").lstrip(" \t\r\n")
    if not text:
        raise DecodeError("EOF")
    try:
        value, _ = _decoder.raw_decode(text)
    except (ValueError, RecursionError) as exc:
        raise DecodeError(str(exc)) from None
    trigger = {"trigger": "", "error_type": "", "beat": 0, "section": "", "tempo": 0.0}
    if value is None:
        return trigger
    if not isinstance(value, _Object):
        raise DecodeError("cannot unmarshal a non-object into main.RhythmTrigger")
    problem = None
    for key, item in value:
        field = next((f for f in TRIGGER_FIELDS if _go_fold(key) == f), None)
        if field is None or item is None:
            continue
        try:
            trigger[field] = _convert(TRIGGER_FIELDS[field], item)
        except DecodeError as exc:
            problem = problem or exc  # Go reports the first type error after decoding the rest
    if problem:
        raise problem
    return trigger


def _convert(kind: str, item: object) -> object:
    if kind == "string":
        if isinstance(item, str) and not isinstance(item, _Number):
            return re.sub("[\ud800-\udfff]", "\ufffd", item)  # Go decodes lone surrogates to U+FFFD
        raise DecodeError("cannot unmarshal into a string field")
    if not isinstance(item, _Number):
        raise DecodeError(f"cannot unmarshal into a {kind} field")
    return _decode_int(item) if kind == "int" else _decode_float(item)


def go_json_line(payload: dict) -> bytes:
    """``json.NewEncoder(w).Encode(payload)``: compact, HTML-escaped, UTF-8, newline-terminated."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return (text + "\n").encode("utf-8")


class TriggerRecorder:
    """Appends one JSON line per decoded trigger to a file (the tests' view of the service)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.dropped = 0
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)

    def record(self, trigger: dict, queued: bool) -> int:
        """Write the line; return the number of triggers dropped so far."""
        with self.lock:
            if not queued:
                self.dropped += 1
            line = {
                "received_at": datetime.now(UTC).isoformat(timespec="microseconds"),
                **trigger,
                "queued": queued,
                "dropped_total": self.dropped,
            }
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
            return self.dropped


class ErrgenHandler(BaseHTTPRequestHandler):
    """Go's ServeMux with the two original routes, answering byte-for-byte like net/http."""

    protocol_version = "HTTP/1.1"
    server: ErrgenServer

    def do_request(self) -> None:
        """Route any method (the original registers handlers for all methods)."""
        body = self._read_body()
        path = self.path.split("?", 1)[0]
        if path == "/health":
            self._reply(200, b"OK - Error Generator (Rhythm Mode: true)", {}, sniffed="text/plain; charset=utf-8")
        elif path == "/api/rhythm-trigger":
            self._rhythm_trigger(body)
        else:
            self._go_error(404, "404 page not found")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_request

    def _rhythm_trigger(self, body: bytes) -> None:
        if self.command != "POST":
            self._go_error(405, "Method not allowed")
            return
        try:
            trigger = decode_trigger(body)
        except DecodeError:
            self._go_error(400, "Invalid request body")
            return
        log(
            f"🎵 Rhythm trigger received: {trigger['section']} section, beat {trigger['beat']}, "
            f"tempo {trigger['tempo']:.1f} BPM"
        )
        try:
            self.server.triggers.put_nowait(trigger)
            queued = True
            log("✓ Trigger queued for processing")
        except queue.Full:
            queued = False
        dropped = self.server.recorder.record(trigger, queued)
        if not queued:
            log(f"⚠️  Trigger channel full, skipping ({dropped} dropped so far)")
        message = f"Trigger received for {trigger['section']} section"
        self._reply(200, go_json_line({"success": True, "message": message}), {"Content-Type": "application/json"})

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _go_error(self, status: int, text: str) -> None:
        """``http.Error(w, text, status)``."""
        headers = {"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"}
        self._reply(status, (text + "\n").encode(), headers)

    def _reply(self, status: int, body: bytes, headers: dict[str, str], sniffed: str | None = None) -> None:
        # net/http writes the handler's headers sorted, then Content-Type (when sniffed), Date
        # and Content-Length; it sends no Server header.
        self.send_response_only(status)
        for name in sorted(headers):
            self.send_header(name, headers[name])
        if sniffed:
            self.send_header("Content-Type", sniffed)
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silence per-request access lines (the original logs none)."""


class ErrgenServer(ThreadingHTTPServer):
    """The HTTP server with the trigger queue and the recorder attached."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], triggers: queue.Queue, recorder: TriggerRecorder) -> None:
        self.triggers = triggers
        self.recorder = recorder
        super().__init__(address, ErrgenHandler)


def process_triggers(triggers: queue.Queue, seconds: float) -> None:
    """The original's worker goroutine: one trigger at a time, each taking ``seconds``."""
    while True:
        trigger = triggers.get()
        log(f"🎼 Processing {trigger['error_type']} trigger (beat {trigger['beat']})")
        time.sleep(seconds)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command line of the stand-in (the original takes none: only environment variables)."""
    parser = argparse.ArgumentParser(description="fpgaops sandbox stand-in for the rhythm demo's error generator")
    parser.add_argument("--bind", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    parser.add_argument("--record", default=DEFAULT_RECORD, help=f"JSON-lines record of triggers ({DEFAULT_RECORD})")
    parser.add_argument(
        "--process-seconds", type=float, default=0.2, help="time the worker spends on one trigger (default 0.2)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start like the original: listener and worker only in rhythm mode, then run forever."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    rhythm_url = os.environ.get("RHYTHM_SERVICE_URL", "")
    port = os.environ.get("ERROR_GENERATOR_PORT", "") or DEFAULT_PORT
    log("Error Generator starting... (fpgaops sandbox stand-in of error-generator/main.go)")
    log(f"Slogan server URL: {os.environ.get('SLOGAN_SERVER_URL', '') or DEFAULT_SLOGAN_URL}")
    if not rhythm_url:
        log("Sending errors every 60.00 seconds")
        log("stand-in: RHYTHM_SERVICE_URL is not set, so no listener; periodic errors are not emulated, idling")
        threading.Event().wait()
    log(f"🎵 Rhythm mode ENABLED - listening on port {port}")
    log(f"Rhythm service URL: {rhythm_url}")
    triggers: queue.Queue = queue.Queue(maxsize=QUEUE_SLOTS)
    recorder = TriggerRecorder(args.record)
    log(f"🎵 Starting HTTP server on port {port} for rhythm triggers...")
    server = _listen(args.bind, port, triggers, recorder)
    if server is not None:
        host, bound_port = server.server_address[:2]
        log(f"stand-in: listening on {host}:{bound_port}, recording triggers to {args.record}")
        threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    threading.Thread(target=process_triggers, args=(triggers, args.process_seconds), name="worker", daemon=True).start()
    log("🎵 Rhythm mode active - waiting for triggers from rhythm service...")
    log(f"Send triggers to: http://localhost:{port}/api/rhythm-trigger")
    threading.Event().wait()
    return 0


def _listen(bind: str, port: str, triggers: queue.Queue, recorder: TriggerRecorder) -> ErrgenServer | None:
    """Bind like Go's ListenAndServe; on failure log its error and carry on without a listener."""
    if not port.isdigit() or int(port) > 65535:
        log(f"HTTP server error: listen tcp: lookup tcp/{port}: unknown port")
        return None
    try:
        return ErrgenServer((bind, int(port)), triggers, recorder)
    except OSError as exc:
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc)).lower()
        where = f":{port}" if bind == "0.0.0.0" else f"{bind}:{port}"
        log(f"HTTP server error: listen tcp {where}: bind: {reason}")
        return None


if __name__ == "__main__":
    sys.exit(main())
