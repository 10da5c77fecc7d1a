"""The service compiles librosa's numba code at start-up, in the background, not in the first request."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from rhythm_service.app import close_app, create_app, service_of
from tests.rhythm_service.service_helpers import free_port, service_config


def test_start_up_warms_beat_detection_in_the_background(model_package: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="rhythm_service")
    started = time.perf_counter()
    app = create_app(service_config(model_package, f"http://127.0.0.1:{free_port()}", log_level="INFO"))
    try:
        assert app.test_client().get("/health").status_code == 200  # answers while warming up
        deadline = time.monotonic() + 120
        while not app.test_client().get("/health").json["detection_ready"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert app.test_client().get("/health").json["detection_ready"] is True
        assert "warm-up: beat detection ready" in caplog.text
        assert service_of(app).detector.warm_up() < time.perf_counter() - started + 1  # compiled once: quick again
    finally:
        close_app(app)
