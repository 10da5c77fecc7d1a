"""Console output in the AMD/Xilinx tools' style, copied to the tool's log file."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

STANDIN_NOTE = "fpgaops sandbox stand-in: a model of the tool, not the tool (no real synthesis or implementation)"


class ToolError(Exception):
    """A failure the real tool reports with ERROR lines and a non-zero exit status.

    ``tcl_error`` is False for a script's own ``exit 1`` (no Tcl error trace follows).
    """

    def __init__(self, *lines: str, tcl_error: bool = True) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.tcl_error = tcl_error


class Console:
    """Writes each line to stdout and, once opened, to the tool's log file."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.log: TextIO | None = None

    def open_log(self, path: Path) -> None:
        """Copy every following line into ``path`` (truncated first)."""
        self.log = path.open("w", encoding="utf-8")

    def line(self, text: str = "") -> None:
        """One line of output."""
        for target in (self.stream, self.log):
            if target is not None:
                target.write(text + "\n")
                target.flush()

    def info(self, code: str, text: str) -> None:
        """``INFO: [<code>] <text>``."""
        self.line(f"INFO: [{code}] {text}")

    def warning(self, code: str, text: str) -> None:
        """``WARNING: [<code>] <text>``."""
        self.line(f"WARNING: [{code}] {text}")

    def error(self, text: str) -> None:
        """An ERROR line as given (the caller includes the message id)."""
        self.line(text if text.startswith("ERROR:") else f"ERROR: {text}")

    def banner(self, title: str, copyright_lines: list[str]) -> None:
        """The ``******`` banner; its second line says this is a sandbox stand-in."""
        self.line()
        self.line(f"****** {title}")
        self.line(f"  **** {STANDIN_NOTE}")
        self.line(f"  **** Start of session at: {now()}")
        for text in copyright_lines:
            self.line(f"    ** {text}")
        self.line()

    def close(self) -> None:
        """Close the log file."""
        if self.log is not None:
            self.log.close()
            self.log = None


def now() -> str:
    """The tools' date format: ``Tue Jun 10 12:00:00 2025``."""
    return time.strftime("%a %b %d %H:%M:%S %Y")


def copyright_lines(version: str) -> list[str]:
    """The copyright lines of a release."""
    year = version.split(".")[0]
    lines = [f"Copyright 1986-{min(int(year), 2022)} Xilinx, Inc. All Rights Reserved."]
    if int(year) >= 2023:
        lines.append(f"Copyright 2022-{year} Advanced Micro Devices, Inc. All Rights Reserved.")
    return lines
