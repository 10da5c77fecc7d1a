"""Client of the error generator: triggers go through a bounded queue to one worker thread.

``submit(trigger)`` never waits on the network: it puts the trigger on a queue of
``queue_size`` slots and returns at once (False when it was dropped). One worker thread posts
each trigger to ``{url}/api/rhythm-trigger`` as JSON with a timeout, retries a transport error or
a 5xx answer ``retries`` times with exponential backoff (``backoff_s``, doubling), and gives up.
A 4xx answer is not retried (the request itself is wrong).

When a trigger has failed every attempt the error generator is taken as down for
``cooldown_s``: new triggers are dropped at once instead of queueing behind more timeouts, then
the next one probes it again. So memory stays bounded (the queue and a few counters), a slow or
dead error generator costs the API nothing, and every trigger ends counted as exactly one of
``sent``, ``failed`` or ``dropped`` (with a reason: ``queue_full``, ``down``, ``closed``).

Example::

    client = ErrorGeneratorClient("http://localhost:9090", on_outcome=metrics.trigger_outcome)
    client.start()
    client.submit({"trigger": "rhythm", "error_type": "basic", "beat": 1, "section": "verse", "tempo": 120.0})
    client.close()
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

log = logging.getLogger(__name__)

TRIGGER_PATH = "/api/rhythm-trigger"
OUTCOMES = ("sent", "failed", "dropped")
DROP_REASONS = ("queue_full", "down", "closed")
MAX_BACKOFF_S = 5.0

Outcome = Callable[[str, str], None]  # (outcome, reason) -> None


class ErrorGeneratorClient:
    """Posts rhythm triggers to the error generator from a background worker (see the module doc)."""

    def __init__(
        self,
        base_url: str,
        *,
        queue_size: int = 64,
        timeout_s: float = 2.0,
        retries: int = 2,
        backoff_s: float = 0.05,
        cooldown_s: float = 1.0,
        on_outcome: Outcome | None = None,
    ) -> None:
        """Set up the client (no thread yet: ``start`` it).

        Args:
            base_url: the error generator's root URL (``ERROR_GENERATOR_URL``), without a trailing slash.
            queue_size: triggers waiting at most; more are dropped.
            timeout_s: connect and read timeout of one POST.
            retries: extra attempts after a transport error or 5xx.
            backoff_s: the wait before the first retry, doubled for each next one.
            cooldown_s: after a trigger failed, drop new ones for this long.
            on_outcome: called with ("sent" | "failed" | "dropped", reason) once per trigger (metrics).

        Example: ``ErrorGeneratorClient("http://errgen:9090", queue_size=8)``.
        """
        self.url = base_url.rstrip("/") + TRIGGER_PATH
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.cooldown_s = cooldown_s
        self.on_outcome = on_outcome
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._counts = {"sent": 0, "failed": 0, "dropped": 0, "retries": 0}
        self._drops = dict.fromkeys(DROP_REASONS, 0)
        self._down_until = 0.0
        self._last_error = ""
        self._thread: threading.Thread | None = None
        self._session = requests.Session()

    def start(self) -> None:
        """Start the worker thread (once).

        Example: ``client.start()``.
        """
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="errgen-client", daemon=True)
            self._thread.start()

    def submit(self, trigger: dict[str, Any]) -> bool:
        """Queue ``trigger`` for sending without waiting; False when it was dropped (queue full, down, closed).

        Example: ``client.submit({"trigger": "rhythm", ..., "beat": 3})`` -> ``True``.
        """
        if self._stop.is_set():
            self._finish("dropped", "closed")
            return False
        if self._is_down():
            self._finish("dropped", "down")
            return False
        try:
            self._queue.put_nowait(trigger)
        except queue.Full:
            self._finish("dropped", "queue_full")
            return False
        return True

    def stats(self) -> dict[str, Any]:
        """Counters so far, the queue's depth and whether the error generator is taken as down.

        Example: ``client.stats()`` -> ``{"sent": 12, "failed": 0, "dropped": 1, "drops": {...}, ...}``.
        """
        with self._lock:
            return {
                **self._counts,
                "drops": dict(self._drops),
                "queued": self._queue.qsize(),
                "queue_size": self._queue.maxsize,
                "down": self._is_down(),
                "last_error": self._last_error,
                "url": self.url,
            }

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until every queued trigger has been handled; False on timeout.

        Example: ``client.wait_idle(5.0)``.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.005)
        return self._queue.unfinished_tasks == 0

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the worker (a request in flight finishes first); triggers still queued count as dropped.

        Example: ``client.close()``.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
            self._finish("dropped", "closed")
            self._queue.task_done()
        self._session.close()

    def _is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _finish(self, outcome: str, reason: str = "") -> None:
        with self._lock:
            self._counts[outcome] += 1
            if outcome == "dropped":
                self._drops[reason] += 1
        if self.on_outcome is not None:
            self.on_outcome(outcome, reason)

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                trigger = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                if self._is_down():
                    self._finish("dropped", "down")
                else:
                    self._deliver(trigger)
            except Exception:  # the worker must survive anything (a bug here would silence every trigger)
                log.exception("error generator client: unexpected error")
                self._finish("failed")
            finally:
                self._queue.task_done()

    def _deliver(self, trigger: dict[str, Any]) -> None:
        """POST with retries; record the outcome; mark the error generator down after a failure."""
        for attempt in range(self.retries + 1):
            if attempt:
                with self._lock:
                    self._counts["retries"] += 1
                if self._stop.wait(min(MAX_BACKOFF_S, self.backoff_s * 2 ** (attempt - 1))):
                    self._finish("dropped", "closed")
                    return
            error, retry = self._post(trigger)
            if error is None:
                self._finish("sent")
                return
            with self._lock:
                self._last_error = error
            if not retry:
                log.error("error generator refused trigger beat %s: %s", trigger.get("beat"), error)
                self._finish("failed")
                return
        log.warning("error generator unreachable after %d attempts (%s); dropping triggers for %.1f s",
                    self.retries + 1, error, self.cooldown_s)
        self._down_until = time.monotonic() + self.cooldown_s
        self._finish("failed")

    def _post(self, trigger: dict[str, Any]) -> tuple[str | None, bool]:
        """One attempt: (None, _) when accepted, else (what went wrong, whether to retry)."""
        try:
            response = self._session.post(self.url, json=trigger, timeout=self.timeout_s)
        except requests.RequestException as exc:
            return f"{type(exc).__name__}: {exc}", True
        if response.status_code == 200:
            log.debug("trigger beat %s: %s", trigger.get("beat"), response.text.strip()[:200])
            return None, False
        text = response.text.strip()[:200]
        return f"HTTP {response.status_code}: {text}", response.status_code >= 500
