"""The service's Prometheus metrics, in a registry of their own per application (GET /metrics).

=============================================  =========  =====================================
name                                           type       labels
=============================================  =========  =====================================
rhythm_http_requests_total                     counter    endpoint, method, status
rhythm_http_request_duration_seconds           histogram  endpoint
rhythm_inference_duration_seconds              histogram  backend (one observation per call)
rhythm_inference_windows_total                 counter    backend
rhythm_triggers_total                          counter    outcome (sent, failed, dropped)
rhythm_trigger_drops_total                     counter    reason (queue_full, down, closed)
rhythm_beat_lateness_seconds                   histogram  (scheduled beat -> trigger queued)
rhythm_mode_running                            gauge      1 while rhythm mode runs
rhythm_backend_info                            gauge      backend, release (always 1)
=============================================  =========  =====================================

``endpoint`` is the route's rule (``/api/predict``), or ``unmatched`` for unknown paths, so the
label set stays bounded whatever clients send.

Example::

    metrics = ServiceMetrics()
    metrics.inference("cpu", 0.00001, 1)
    text = metrics.exposition()          # the Prometheus text format
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from rhythm_service.error_generator import DROP_REASONS, OUTCOMES

CONTENT_TYPE = CONTENT_TYPE_LATEST
REQUEST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
INFERENCE_BUCKETS = (2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1.0, 5.0)
LATENESS_BUCKETS = (0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5)


class ServiceMetrics:
    """All metrics of one application, in their own ``CollectorRegistry``."""

    def __init__(self) -> None:
        """Create the registry and the metrics (see the module's table)."""
        self.registry = CollectorRegistry()
        self.requests = Counter("rhythm_http_requests", "HTTP requests handled",
                                ["endpoint", "method", "status"], registry=self.registry)
        self.request_seconds = Histogram("rhythm_http_request_duration_seconds", "HTTP request handling time",
                                         ["endpoint"], buckets=REQUEST_BUCKETS, registry=self.registry)
        self.inference_seconds = Histogram("rhythm_inference_duration_seconds", "Time of one backend predict call",
                                           ["backend"], buckets=INFERENCE_BUCKETS, registry=self.registry)
        self.inference_windows = Counter("rhythm_inference_windows", "Windows run through the backend",
                                         ["backend"], registry=self.registry)
        self.triggers = Counter("rhythm_triggers", "Triggers for the error generator by outcome",
                                ["outcome"], registry=self.registry)
        self.trigger_drops = Counter("rhythm_trigger_drops", "Triggers dropped, by reason",
                                     ["reason"], registry=self.registry)
        self.beat_lateness = Histogram("rhythm_beat_lateness_seconds", "Delay from a scheduled beat to its trigger",
                                       buckets=LATENESS_BUCKETS, registry=self.registry)
        self.mode_running = Gauge("rhythm_mode_running", "1 while rhythm mode runs", registry=self.registry)
        self.backend_info = Gauge("rhythm_backend_info", "The inference backend in use",
                                  ["backend", "release"], registry=self.registry)
        for outcome in OUTCOMES:
            self.triggers.labels(outcome)
        for reason in DROP_REASONS:
            self.trigger_drops.labels(reason)

    def request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        """Count one HTTP request and its handling time.

        Example: ``metrics.request("/health", "GET", 200, 0.0004)``.
        """
        self.requests.labels(endpoint, method, str(status)).inc()
        self.request_seconds.labels(endpoint).observe(seconds)

    def inference(self, backend: str, seconds: float, windows: int) -> None:
        """Record one backend predict call of ``windows`` windows.

        Example: ``metrics.inference("cpu", 1.2e-5, 1)``.
        """
        self.inference_seconds.labels(backend).observe(seconds)
        self.inference_windows.labels(backend).inc(windows)

    def trigger_outcome(self, outcome: str, reason: str = "") -> None:
        """Count a trigger's end (the error generator client's ``on_outcome``).

        Example: ``metrics.trigger_outcome("dropped", "queue_full")``.
        """
        self.triggers.labels(outcome).inc()
        if outcome == "dropped":
            self.trigger_drops.labels(reason).inc()

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format (``CONTENT_TYPE``)."""
        return generate_latest(self.registry)
