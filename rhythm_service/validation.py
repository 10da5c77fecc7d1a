"""Strict reading of the API's JSON bodies: every refusal is an ``InvalidInput`` naming the field.

JSON is parsed without Python's extensions: ``NaN``, ``Infinity`` and numbers that overflow a
double are refused, as are invalid UTF-8 and absurd nesting. Field readers check types exactly
(``true`` is not a number, ``1.5`` is not an integer) and ranges, and say where, with a dotted
path: ``song_data.audio_features.tempo: expected a number from 1 to 500, got "fast"``.

Example::

    body = json_object(request.get_data())
    tempo = number(body, "tempo", default=120.0, low=1.0, high=500.0)
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

MISSING = object()
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # the error generator decodes "beat" into a Go int


class InvalidInput(ValueError):
    """A request the API refuses with 400: the message names the field and what was expected."""


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"number {literal} is out of range")
    return value


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_refuse_constant)


def parse_json(body: bytes) -> Any:
    """The JSON value of ``body`` (UTF-8), strictly: no NaN/Infinity, no overflowing numbers.

    Example: ``parse_json(b'{"a": 1}')`` -> ``{"a": 1}``; ``parse_json(b"NaN")`` raises ``InvalidInput``.
    """
    try:
        text = body.decode("utf-8")
        return _DECODER.decode(text)
    except UnicodeDecodeError:
        raise InvalidInput("request body is not UTF-8 text") from None
    except RecursionError:
        raise InvalidInput("request body is not valid JSON: nested too deeply") from None
    except ValueError as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}") from None


def json_object(body: bytes, *, empty: dict | None = None) -> dict:
    """The JSON object in ``body``; an empty body gives ``empty`` (refused when ``empty`` is None).

    Example: ``json_object(b"", empty={})`` -> ``{}``; ``json_object(b"[1]")`` raises ``InvalidInput``.
    """
    if not body.strip():
        if empty is None:
            raise InvalidInput("request body is empty: send a JSON object")
        return dict(empty)
    value = parse_json(body)
    if not isinstance(value, dict):
        raise InvalidInput(f"request body must be a JSON object, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    """The JSON name of ``value``'s type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _field(container: dict, key: str) -> Any:
    """``container[key]``, MISSING when absent or null (null means "use the default", as the original did)."""
    value = container.get(key, MISSING)
    return MISSING if value is None else value


def field_path(prefix: str, key: str) -> str:
    """The dotted path of ``key`` inside ``prefix`` (messages, nested readers' ``prefix``).

    Example: ``field_path("song_data", "audio_features")`` -> ``"song_data.audio_features"``.
    """
    return f"{prefix}.{key}" if prefix else key


def number(container: dict, key: str, *, default: Any, low: float, high: float, prefix: str = "") -> Any:
    """A finite JSON number in [low, high] (not a boolean), or ``default`` when absent or null.

    Example: ``number({"tempo": 128}, "tempo", default=120.0, low=1, high=500)`` -> ``128.0``.
    """
    value = _field(container, key)
    if value is MISSING:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{field_path(prefix, key)}: expected a number from {low:g} to {high:g}, got {_kind(value)}")
    try:
        result = float(value)
    except OverflowError:
        result = math.inf
    if not low <= result <= high:
        raise InvalidInput(f"{field_path(prefix, key)}: expected a number from {low:g} to {high:g}, got {value!r:.40}")
    return result


def integer(container: dict, key: str, *, default: Any, low: int = INT64_MIN, high: int = INT64_MAX,
            prefix: str = "") -> Any:
    """A JSON integer in [low, high] (``3.0`` and ``true`` are refused), or ``default`` when absent or null.

    Example: ``integer({"beat_num": 4}, "beat_num", default=1)`` -> ``4``.
    """
    value = _field(container, key)
    if value is MISSING:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field_path(prefix, key)}: expected a whole number, got {_kind(value)}")
    if not low <= value <= high:
        raise InvalidInput(f"{field_path(prefix, key)}: expected a whole number from {low} to {high}, got {value}")
    return value


def string(container: dict, key: str, *, default: Any, max_length: int = 200, prefix: str = "") -> Any:
    """A JSON string of at most ``max_length`` characters, or ``default`` when absent or null.

    Example: ``string({"section": "chorus"}, "section", default="verse")`` -> ``"chorus"``.
    """
    value = _field(container, key)
    if value is MISSING:
        return default
    if not isinstance(value, str):
        raise InvalidInput(f"{field_path(prefix, key)}: expected a string, got {_kind(value)}")
    if len(value) > max_length:
        raise InvalidInput(f"{field_path(prefix, key)}: longer than {max_length} characters")
    return value


def obj(container: dict, key: str, *, prefix: str = "") -> dict:
    """A JSON object (``{}`` when absent or null).

    Example: ``obj({"audio_features": {"tempo": 90}}, "audio_features")`` -> ``{"tempo": 90}``.
    """
    value = _field(container, key)
    if value is MISSING:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{field_path(prefix, key)}: expected an object, got {_kind(value)}")
    return value


def array(container: dict, key: str, *, max_items: int, prefix: str = "") -> list | None:
    """A JSON array of at most ``max_items`` items, or None when absent or null.

    Example: ``array({"sections": []}, "sections", max_items=1000)`` -> ``[]``.
    """
    value = _field(container, key)
    if value is MISSING:
        return None
    if not isinstance(value, list):
        raise InvalidInput(f"{field_path(prefix, key)}: expected an array, got {_kind(value)}")
    if len(value) > max_items:
        raise InvalidInput(f"{field_path(prefix, key)}: more than {max_items} items ({len(value)})")
    return value


def number_array(container: dict, key: str, *, max_items: int, low: float, high: float) -> list[float] | None:
    """A JSON array of finite numbers in [low, high] (booleans refused), or None when absent or null.

    Example: ``number_array({"beats": [0.5, 1.0]}, "beats", max_items=10, low=0, high=60)`` -> ``[0.5, 1.0]``.
    """
    values = array(container, key, max_items=max_items)
    if values is None:
        return None
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int | float):
            shown = _kind(value)
        elif not low <= value <= high:
            shown = repr(value)
        else:
            continue
        raise InvalidInput(f"{key}[{i}]: expected a number from {low:g} to {high:g}, got {shown:.40}")
    return [float(v) for v in values]


def windows_layout(shape: tuple[int, int]) -> str:
    """How a batch of windows of ``shape`` (frames, features) is written in JSON, for messages.

    Example: ``windows_layout((16, 3))`` -> ``'[[[f, f, f] x 16 frames], ...]'``.
    """
    frames, features = shape
    return f"[[[{', '.join(['f'] * features)}] x {frames} frames], ...]"


def feature_windows(value: Any, *, shape: tuple[int, int], max_windows: int, path: str = "windows") -> np.ndarray:
    """A batch of windows of finite numbers as float32 (N, frames, features), each of the model's ``shape``.

    ``shape`` is (frames, features), the model package's window (``package.window.dims``).

    Example: ``feature_windows([[[0.0, 0.0, 0.0]] * 16], shape=(16, 3), max_windows=10).shape`` -> ``(1, 16, 3)``.
    """
    frames, features = shape
    if not isinstance(value, list):
        raise InvalidInput(f"{path}: expected an array of windows {windows_layout(shape)}, got {_kind(value)}")
    if not 1 <= len(value) <= max_windows:
        raise InvalidInput(f"{path}: expected 1 to {max_windows} windows, got {len(value)}")
    for i, window in enumerate(value):
        if not isinstance(window, list) or len(window) != frames:
            raise InvalidInput(f"{path}[{i}]: expected {frames} frames of {features} numbers (the model's window)")
        for j, frame in enumerate(window):
            if not isinstance(frame, list) or len(frame) != features:
                raise InvalidInput(f"{path}[{i}][{j}]: expected {features} numbers (one frame of the model's window)")
            for k, item in enumerate(frame):
                if isinstance(item, bool) or not isinstance(item, int | float):
                    raise InvalidInput(f"{path}[{i}][{j}][{k}]: expected a number, got {_kind(item)}")
    try:
        windows = np.asarray(value, dtype=np.float64)
    except OverflowError:
        raise InvalidInput(f"{path}: a number is too large") from None
    with np.errstate(over="ignore"):
        finite = np.isfinite(windows.astype(np.float32))
    if not finite.all():
        i, j, k = (int(n) for n in np.argwhere(~finite)[0])
        raise InvalidInput(f"{path}[{i}][{j}][{k}]: {value[i][j][k]!r:.40} is out of the float32 range")
    return windows.astype(np.float32)
