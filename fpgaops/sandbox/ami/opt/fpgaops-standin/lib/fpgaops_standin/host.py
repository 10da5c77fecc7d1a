"""What the sandbox host says about itself: /run/sandbox/host.json (timings)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

DEFAULT_RUN_DIR = "/run/sandbox"


def host_json_path() -> Path:
    """host.json in ``$FPGAOPS_SANDBOX_RUN`` when set, else in /run/sandbox."""
    return Path(os.environ.get("FPGAOPS_SANDBOX_RUN") or DEFAULT_RUN_DIR) / "host.json"


def timing(key: str, default: float) -> float:
    """``timings.<key>`` of host.json in seconds, or ``default`` when absent or unreadable."""
    try:
        value = json.loads(host_json_path().read_text())["timings"][key]
        return max(0.0, float(value))
    except (OSError, ValueError, KeyError, TypeError):
        return default


def spend(seconds: float, steps: Sequence[str], announce: Callable[[str], None]) -> None:
    """Take ``seconds`` in total, announcing each step before its equal share of the time."""
    share = seconds / max(1, len(steps))
    for step in steps:
        announce(step)
        time.sleep(share)
