"""The per-run log file (``.fpgaops/logs/<timestamp>.log``), with every secret masked.

The screen shows the last lines of a failed command; the log keeps its full stdout and stderr,
each step's outcome and every change's diff.  Secrets never reach it: the values of variables
named like a secret (``ansible_become_password``, ``*password*``, ``*secret*``, ``*token*``) are
replaced by ``********`` in everything written, on screen as in the file.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

SECRET_NAME = re.compile(r"secret|passw|token|become_pass", re.IGNORECASE)
MASK = "********"
MIN_SECRET_LENGTH = 3  # shorter values would mask ordinary text everywhere


def secret_values(variables: Iterable[Mapping[str, Any]]) -> set[str]:
    """The values of every variable named like a secret, nested values included.

    Example: ``secret_values([{"ansible_become_password": "pw1234", "db": {"token": "t0k"}}]) == {"pw1234", "t0k"}``
    """
    found: set[str] = set()

    def collect(value: Any, secret: bool) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                collect(item, secret or bool(SECRET_NAME.search(str(key))))
        elif isinstance(value, list | tuple | set):
            for item in value:
                collect(item, secret)
        elif secret and value is not None and not isinstance(value, bool):
            text = str(value)
            if len(text) >= MIN_SECRET_LENGTH:
                found.add(text)

    for mapping in variables:
        collect(mapping, False)
    return found


class Masker:
    """Replaces each secret value by ``********`` in a text (longest values first).

    Example: ``Masker({"hunter22"})("password=hunter22") == "password=********"``
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        ordered = sorted(set(secrets), key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern else text


def new_log_path(log_dir: Path) -> Path:
    """A new file name in ``log_dir`` for this run: its start time, to the microsecond."""
    return Path(log_dir) / f"{datetime.now().strftime('%Y%m%d-%H%M%S-%f')}.log"


class RunLog:
    """Append-only, thread-safe, masked log of one run; the file is created on the first write.

    Example::

        log = RunLog(new_log_path(Path(".fpgaops/logs")), Masker({"hunter22"}))
        log.write("f1-a", "deploy: write .env: changed")
    """

    def __init__(self, path: Path, mask: Masker) -> None:
        self.path = path
        self.mask = mask
        self._lock = threading.Lock()

    def write(self, host: str, text: str) -> None:
        """Append ``text`` (masked), each line prefixed with the time and the host."""
        stamp = datetime.now().strftime("%H:%M:%S.%f")[:-3]
        lines = self.mask(text).rstrip("\n").split("\n")
        block = "".join(f"{stamp} {host:<12} {line}\n" for line in lines)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as stream:
                stream.write(block)

    def output(self, host: str, what: str, stdout: str, stderr: str) -> None:
        """Append a command's full stdout and stderr under a heading."""
        self.write(host, f"{what}\n--- stdout\n{stdout.rstrip() or '(empty)'}\n--- stderr\n"
                         f"{stderr.rstrip() or '(empty)'}\n---")
