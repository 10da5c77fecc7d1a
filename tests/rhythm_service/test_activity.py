"""The "last request" file the idle check reads: touched by /api/* requests only, at most once a second."""

from __future__ import annotations

import os
from pathlib import Path

from rhythm_service.activity import ActivityMarker
from rhythm_service.app import close_app, create_app
from tests.rhythm_service.service_helpers import free_port, service_config


def test_api_requests_touch_the_file_health_and_metrics_do_not(model_package: Path, tmp_path: Path) -> None:
    marker = tmp_path / "last-request"
    app = create_app(service_config(model_package, f"http://127.0.0.1:{free_port()}", activity_file=str(marker)))
    try:
        client = app.test_client()
        assert client.get("/health").status_code == 200 and client.get("/metrics").status_code == 200
        assert not marker.exists()
        assert client.get("/api/status").status_code == 200
        assert marker.exists()
    finally:
        close_app(app)


def test_touches_are_throttled_and_a_failure_is_not_raised(tmp_path: Path) -> None:
    now = [100.0]
    marker = ActivityMarker(str(tmp_path / "last"), min_interval_s=1.0, clock=lambda: now[0])
    assert marker.touch() is True
    os.utime(tmp_path / "last", (1, 1))
    now[0] += 0.5
    assert marker.touch() is False and (tmp_path / "last").stat().st_mtime == 1  # too soon: not written
    now[0] += 0.6
    assert marker.touch() is True and (tmp_path / "last").stat().st_mtime > 1
    assert ActivityMarker(str(tmp_path / "no-such-dir" / "last")).touch() is False
    assert ActivityMarker("").touch() is False
