"""The HTTP API: the original service's endpoints with their fields, and the new ones.

Original (same fields and types; JSON bodies are read whatever the Content-Type says):

- ``GET /health``: ``status``, ``service``, ``fpga_enabled`` (true when inference runs on the
  FPGA), plus ``backend``, ``backend_health``, ``backend_reasons``, ``model``, ``error_generator``;
  503 with ``status: "unhealthy"`` when the backend's health check fails;
- ``POST /api/analyze-song``: ``success``, ``tempo``, ``beat_interval``, ``structure``;
- ``POST /api/start-rhythm-mode`` ``{song_data, duration, beats?}``: starts the triggers (see
  ``rhythm_service.rhythm``); ``success``, ``message: "Rhythm mode started"``, ``tempo``,
  ``beat_interval``, ``duration``, plus ``beats_planned``, ``source``, ``replaced``;
- ``POST /api/beat-trigger`` ``{section, beat_num}``: ``success``, ``triggered`` (queued for the
  error generator), ``error_type``, ``section``, ``beat``;
- ``GET /api/status``: ``service``, ``current_song``, ``tempo``, ``current_section``,
  ``beat_count``, ``fpga_enabled``, ``beat_interval_ms``, plus ``rhythm`` (progress),
  ``error_generator`` (trigger counters) and ``backend``.

New:

- ``POST /api/stop-rhythm-mode``: ``success``, ``stopped``, ``rhythm`` (final progress);
- ``POST /api/detect-beats``: an audio file (multipart field ``file``, or the raw body with an
  ``audio/*`` or ``application/octet-stream`` Content-Type); options ``method`` (dbn | dp) and the
  tempo range ``min_bpm`` / ``max_bpm`` (default 50-210) as form fields or query parameters.
  Answers ``beats``, ``tempo``,
  ``probabilities`` (one per frame), ``backend``, ``timings_ms`` and the audio's facts;
- ``POST /api/predict`` ``{"windows": [[[f, f, f] x frames], ...], "normalised": false}``: the beat
  probability of each window (raw features, normalised with the model's statistics, unless
  ``normalised`` is true): ``probabilities``, ``count``, ``backend``, ``inference_ms``. A window's
  shape is the model package's (``frames`` x features, its manifest's ``model`` section; /health
  shows it as ``model.window``); a window of another shape is a 400 naming the expected one;
- ``GET /metrics``: Prometheus text format.

Example::

    curl -s localhost:5001/api/predict -d '{"windows": [[[0,0,0],[0,0,0],...]]}'   # window_frames rows
"""

from __future__ import annotations

import math
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from rhythm_service import song_structure
from rhythm_service.beat_tracking import METHODS, TEMPO_RANGE_BPM, tempo_of
from rhythm_service.detection import read_audio
from rhythm_service.metrics import CONTENT_TYPE
from rhythm_service.rhythm import BeatPlan
from rhythm_service.validation import (
    InvalidInput,
    feature_windows,
    integer,
    json_object,
    number,
    number_array,
    obj,
    string,
    windows_layout,
)

api = Blueprint("api", __name__)

SERVICE_NAME = "rhythm-service"
DEFAULT_DURATION_S = 180.0
MAX_SECTION_LENGTH = 100
AUDIO_FIELDS = ("file", "audio")
RAW_AUDIO_TYPES = ("application/octet-stream",)


def _service():
    from rhythm_service.app import service_of

    return service_of(current_app)


def _fpga_enabled(service) -> bool:
    return service.backend.name == "fpga"


@api.get("/health")
def health() -> Any:
    """The service's health, the backend in use and its details (for fpga: the slot's AFI)."""
    service = _service()
    body: dict[str, Any] = {"status": "healthy", "service": SERVICE_NAME, "fpga_enabled": _fpga_enabled(service),
                            "backend": service.backend.name, "detection_ready": service.detector.warmed_up.is_set()}
    status = 200
    try:
        body["backend_health"] = service.backend.health()
    except Exception as exc:  # a failing device must show here, not as a 500
        body["status"], body["backend_health"], status = "unhealthy", {"error": f"{type(exc).__name__}: {exc}"}, 503
    body["backend_reasons"] = service.backend_reasons
    body["model"] = service.package.describe()
    body["error_generator"] = service.errgen.stats()
    return jsonify(body), status


@api.post("/api/analyze-song")
def analyze_song() -> Any:
    """Tempo, beat interval and sections of the song described in the body."""
    song_data = json_object(request.get_data(), empty={})
    if not song_data:
        raise InvalidInput("No song data provided")
    song = song_structure.analyze(song_data)
    _service().rhythm.analyze(song)
    return jsonify({"success": True, "tempo": song.tempo, "beat_interval": song.beat_interval,
                    "structure": song.structure})


@api.post("/api/start-rhythm-mode")
def start_rhythm_mode() -> Any:
    """Start sending a trigger on every beat for ``duration`` seconds (replacing a running rhythm mode)."""
    service = _service()
    body = json_object(request.get_data(), empty={})
    song = song_structure.analyze(obj(body, "song_data"), prefix="song_data")
    duration = number(body, "duration", default=DEFAULT_DURATION_S, low=0.001, high=service.config.max_rhythm_seconds)
    beats = _beat_times(body, service.config.max_rhythm_seconds)
    if beats is None:
        plan = BeatPlan.steady(song, duration)
    else:
        beats = sorted(set(beats))  # the plan's order: the tempo of unsorted or repeated times would be wrong
        tempo = song.tempo
        low, high = song_structure.TEMPO_RANGE_BPM
        if not song.tempo_given and low <= (beats_tempo := tempo_of(beats)) <= high:  # 0.0 for < 2 beats
            tempo = beats_tempo
        plan = BeatPlan.from_beats(song, duration, beats, tempo)
    session, replaced = service.rhythm.start(plan)
    return jsonify({"success": True, "message": "Rhythm mode started", "tempo": plan.tempo,
                    "beat_interval": plan.interval, "duration": duration, "beats_planned": session.beats_planned,
                    "source": plan.source, "replaced": replaced})


def _beat_times(body: dict, max_seconds: float) -> list[float] | None:
    """The optional ``beats`` (seconds from the start, e.g. /api/detect-beats' answer), checked."""
    limit = int(max_seconds * song_structure.TEMPO_RANGE_BPM[1] / 60) + 1
    return number_array(body, "beats", max_items=limit, low=0.0, high=max_seconds)


@api.post("/api/stop-rhythm-mode")
def stop_rhythm_mode() -> Any:
    """Cancel rhythm mode; ``stopped`` is false when it was not running."""
    progress = _service().rhythm.stop()
    message = "Rhythm mode stopped" if progress is not None else "Rhythm mode was not running"
    return jsonify({"success": True, "stopped": progress is not None, "message": message, "rhythm": progress})


@api.post("/api/beat-trigger")
def beat_trigger() -> Any:
    """Send one trigger now (queued for the error generator; the answer does not wait for it)."""
    body = json_object(request.get_data(), empty={})
    section = string(body, "section", default="verse", max_length=MAX_SECTION_LENGTH)
    beat = integer(body, "beat_num", default=1)
    error_type, queued = _service().rhythm.trigger(section, beat)
    return jsonify({"success": True, "triggered": queued, "error_type": error_type, "section": section,
                    "beat": beat})


@api.get("/api/status")
def status() -> Any:
    """The original status fields with rhythm mode's progress and the trigger counters."""
    service = _service()
    state = service.rhythm.status()
    return jsonify({
        "service": SERVICE_NAME,
        "current_song": state["current_song"],
        "tempo": state["tempo"],
        "current_section": state["current_section"],
        "beat_count": state["beat_count"],
        "fpga_enabled": _fpga_enabled(service),
        "beat_interval_ms": state["beat_interval_ms"],
        "rhythm": state["rhythm"],
        "error_generator": service.errgen.stats(),
        "backend": service.backend.name,
    })


@api.post("/api/detect-beats")
def detect_beats() -> Any:
    """Beats, tempo and per-frame probabilities of an uploaded audio file."""
    service = _service()
    data, filename = _uploaded_audio()
    method = request.values.get("method", "dbn")
    if method not in METHODS:
        raise InvalidInput(f"method: expected one of {', '.join(METHODS)}, got {method[:40]!r}")
    tempo_range = (_form_number("min_bpm", TEMPO_RANGE_BPM[0], 20.0, 400.0),
                   _form_number("max_bpm", TEMPO_RANGE_BPM[1], 20.0, 400.0))
    if tempo_range[1] <= tempo_range[0]:
        raise InvalidInput(f"max_bpm must be above min_bpm, got {tempo_range[0]:g}-{tempo_range[1]:g}")
    started = time.perf_counter()
    audio, sr = read_audio(data, max_seconds=service.config.max_audio_seconds)
    decode_ms = (time.perf_counter() - started) * 1000
    detection = service.detector.detect(audio, sr, method=method, tempo_range_bpm=tempo_range)
    body = detection.to_json()
    body["timings_ms"] = {"decode": round(decode_ms, 3), **body["timings_ms"]}
    body["timings_ms"]["total"] = round(body["timings_ms"]["total"] + decode_ms, 3)
    body.update({"method": method, "tempo_range_bpm": list(tempo_range), "filename": filename, "sample_rate": sr,
                 "channels": int(audio.shape[1])})
    return jsonify(body)


def _uploaded_audio() -> tuple[bytes, str | None]:
    """The audio bytes of the request: a multipart file field, or the raw body of an audio type."""
    mimetype = request.mimetype or ""
    if mimetype.startswith("audio/") or mimetype in RAW_AUDIO_TYPES:
        return request.get_data(), None
    if mimetype != "multipart/form-data":
        raise InvalidInput(
            "send the audio as a multipart/form-data file field named 'file' (curl -F file=@song.wav), "
            f"or as the raw body with an audio/* Content-Type; got Content-Type {mimetype or 'none'!r}"
        )
    for name in AUDIO_FIELDS:
        if name in request.files:
            upload = request.files[name]
            return upload.read(), upload.filename
    raise InvalidInput("no file field named 'file' in the multipart form (curl -F file=@song.wav)")


def _form_number(name: str, default: float, low: float, high: float) -> float:
    """A number from the form or query string (``min_bpm=80``), in [low, high]."""
    raw = request.values.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not low <= value <= high:  # NaN fails this too
        raise InvalidInput(f"{name}: expected a number from {low:g} to {high:g}, got {raw[:40]!r}")
    return value


@api.post("/api/predict")
def predict() -> Any:
    """Beat probabilities of a batch of feature windows of the model's shape (frames x features)."""
    service = _service()
    shape = service.package.window.dims
    body = json_object(request.get_data())
    if "windows" not in body:
        raise InvalidInput(f"windows: missing; send {{\"windows\": {windows_layout(shape)}}}")
    normalised = body.get("normalised", False)
    if not isinstance(normalised, bool):
        raise InvalidInput("normalised: expected true or false")
    windows = feature_windows(body["windows"], shape=shape, max_windows=service.config.max_windows)
    probabilities, seconds = service.detector.predict(windows, normalised=normalised)
    return jsonify({"probabilities": [float(p) for p in probabilities], "count": len(probabilities),
                    "backend": service.backend.name, "inference_ms": round(seconds * 1000, 4)})


@api.get("/metrics")
def metrics() -> Response:
    """The Prometheus metrics of this process."""
    return Response(_service().metrics.exposition(), mimetype=None, content_type=CONTENT_TYPE)
