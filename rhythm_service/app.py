"""The Flask application factory: configuration -> model package, backend, clients -> the API.

``create_app(config)`` loads and verifies the model package (``MODEL_DIR``), selects the inference
backend (``INFERENCE_BACKEND``, saying why in the log), starts the error generator client's
worker, and registers the API blueprint (``rhythm_service.api``). Everything the views need is
one ``RhythmService`` in ``app.extensions["rhythm_service"]``.

Every error is JSON, ``{"error": message, "status": code}``, never an HTML page: bad input is a
400 naming the field, a body over ``MAX_UPLOAD_MB`` a 413, audio libsndfile cannot read a 415,
unknown paths 404, wrong methods 405, and only a bug in the service a 500 (logged with its
traceback). Each request's handling time is recorded per endpoint in the metrics.

Run it with ``python -m rhythm_service`` (development) or gunicorn (``rhythm_service.wsgi:app``,
one worker process: rhythm mode's state lives in the process).

Example::

    app = create_app(ServiceConfig.from_environ({"MODEL_DIR": "build/.../beat-model-e6cc...", "PORT": "5001"}))
    app.test_client().get("/health").get_json()["backend"]       # "cpu"
    close_app(app)
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from rhythm_service.activity import ActivityMarker
from rhythm_service.config import ServiceConfig
from rhythm_service.detection import AudioTooLong, BeatDetector, UnsupportedAudio
from rhythm_service.error_generator import ErrorGeneratorClient
from rhythm_service.metrics import ServiceMetrics
from rhythm_service.model_package import ModelPackage
from rhythm_service.rhythm import RhythmController
from rhythm_service.validation import InvalidInput

log = logging.getLogger("rhythm_service")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass
class RhythmService:
    """What the API works with: settings, model, backend (and why it was chosen), clients, metrics."""

    config: ServiceConfig
    package: ModelPackage
    backend: Any  # rhythm_service.backends.Backend
    backend_reasons: list[str]
    detector: BeatDetector
    metrics: ServiceMetrics
    errgen: ErrorGeneratorClient
    rhythm: RhythmController

    def close(self) -> None:
        """Stop rhythm mode and the error generator client (at shutdown, or between tests)."""
        self.rhythm.close()
        self.errgen.close()
        self.backend.close()


def build_service(config: ServiceConfig) -> RhythmService:
    """Load the model package, select the backend and start the error generator client.

    Raises the package's or the backend selection's error (naming MODEL_DIR / the backend) when it cannot start.
    Example: ``service = build_service(ServiceConfig.from_environ())``.
    """
    from rhythm_service.backends.select import select_backend

    package = ModelPackage.load(config.model_dir)
    backend, reasons = select_backend(config.backend_settings(), package, log)
    log.info("model %s from %s; serving with the %s backend", package.release, package.folder, backend.name)
    metrics = ServiceMetrics()
    metrics.backend_info.labels(backend.name, package.release).set(1)
    errgen = ErrorGeneratorClient(
        config.error_generator_url,
        queue_size=config.trigger_queue_size,
        timeout_s=config.errgen_timeout_s,
        retries=config.errgen_retries,
        backoff_s=config.errgen_backoff_s,
        cooldown_s=config.errgen_cooldown_s,
        on_outcome=metrics.trigger_outcome,
    )
    errgen.start()
    rhythm = RhythmController(errgen.submit, on_lateness=metrics.beat_lateness.observe,
                              on_running=lambda running: metrics.mode_running.set(int(running)))
    detector = BeatDetector(backend, package.normalisation, package.window, on_inference=metrics.inference)
    threading.Thread(target=_warm_up, args=(detector,), name="warm-up", daemon=True).start()
    return RhythmService(config=config, package=package, backend=backend, backend_reasons=reasons,
                         detector=detector, metrics=metrics, errgen=errgen, rhythm=rhythm)


def _warm_up(detector: BeatDetector) -> None:
    try:
        log.info("warm-up: beat detection ready in %.1f s", detector.warm_up())
    except Exception:  # a failed warm-up only costs the first request its compile time
        log.exception("warm-up failed")


def create_app(config: ServiceConfig | None = None) -> Flask:
    """The rhythm service's Flask application for ``config`` (default: from the environment).

    Example: ``create_app(ServiceConfig.from_environ()).run(port=5001)``.
    """
    from rhythm_service.api import api

    config = config or ServiceConfig.from_environ()
    _configure_logging(config.log_level)
    app = Flask("rhythm_service")
    app.config["MAX_CONTENT_LENGTH"] = config.max_upload_bytes
    app.json.sort_keys = False
    app.extensions["rhythm_service"] = build_service(config)
    app.register_blueprint(api)
    _register_error_handlers(app)
    _register_request_metrics(app)
    _register_activity_marker(app, ActivityMarker(config.activity_file))
    return app


def service_of(app: Flask) -> RhythmService:
    """The ``RhythmService`` of an application made by ``create_app``."""
    return app.extensions["rhythm_service"]


def close_app(app: Flask) -> None:
    """Stop the application's background threads (rhythm mode, error generator client).

    Example: ``close_app(app)`` at the end of a test.
    """
    service_of(app).close()


def _configure_logging(level: str) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(format=LOG_FORMAT)
    log.setLevel(level)


def error_response(status: int, message: str) -> tuple[Response, int]:
    """The JSON error every failure answers with.

    Example: ``return error_response(400, "windows: expected an array")``.
    """
    return jsonify({"error": message, "status": status}), status


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(InvalidInput)
    def invalid_input(exc: InvalidInput):
        return error_response(400, str(exc))

    @app.errorhandler(UnsupportedAudio)
    def unsupported_audio(exc: UnsupportedAudio):
        return error_response(415, str(exc))

    @app.errorhandler(AudioTooLong)
    def audio_too_long(exc: AudioTooLong):
        return error_response(413, str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        response = exc.get_response()  # keeps headers such as Allow on a 405
        message = exc.description or exc.name
        if exc.code == 413:
            message = f"request body larger than the limit of {app.config['MAX_CONTENT_LENGTH']} bytes (MAX_UPLOAD_MB)"
        body, status = error_response(exc.code or 500, message)
        body.headers.extend((k, v) for k, v in response.headers.items() if k not in ("Content-Type", "Content-Length"))
        return body, status

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, f"internal error: {type(exc).__name__}")


def _register_activity_marker(app: Flask, marker: ActivityMarker) -> None:
    @app.before_request
    def mark_activity() -> None:
        if request.path.startswith("/api/"):
            marker.touch()


def _register_request_metrics(app: Flask) -> None:
    metrics = service_of(app).metrics

    @app.before_request
    def start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def record(response: Response) -> Response:
        started = g.get("request_started")
        if started is not None:
            endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
            metrics.request(endpoint, request.method, response.status_code, time.perf_counter() - started)
        return response
