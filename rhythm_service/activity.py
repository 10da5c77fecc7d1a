"""The "last request" file the host's idle check reads (``RHYTHM_ACTIVITY_FILE``).

Every ``/api/*`` request touches it (not /health or /metrics: health checks and scrapes must not
keep an idle host running), at most once per ``min_interval_s``, so a busy service costs one
``utime`` a second. The auto_shutdown role's idle check counts the host busy while the file is
newer than its ``auto_shutdown_activity_minutes``. A failure to touch is logged once, never raised.

Example::

    marker = ActivityMarker("/var/lib/rhythm/last-request")
    marker.touch()      # creates the file, or updates its time
"""

from __future__ import annotations

import logging
import os
import threading
import time

log = logging.getLogger(__name__)


class ActivityMarker:
    """Touches ``path`` (when set) at most once per ``min_interval_s``; thread-safe."""

    def __init__(self, path: str, min_interval_s: float = 1.0, clock=time.monotonic) -> None:
        self.path = path
        self.min_interval_s = min_interval_s
        self.clock = clock
        self._last = float("-inf")
        self._lock = threading.Lock()
        self._warned = False

    def touch(self) -> bool:
        """Mark activity now; True when the file was written (False: off, too soon, or it failed)."""
        if not self.path:
            return False
        now = self.clock()
        with self._lock:
            if now - self._last < self.min_interval_s:
                return False
            self._last = now
        try:
            with open(self.path, "a"):
                os.utime(self.path)
        except OSError as err:
            if not self._warned:
                log.warning("RHYTHM_ACTIVITY_FILE %s: cannot touch it (%s); the idle check will not see requests",
                            self.path, err)
                self._warned = True
            return False
        return True
