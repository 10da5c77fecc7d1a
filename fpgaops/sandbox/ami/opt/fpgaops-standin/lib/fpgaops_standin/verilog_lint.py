"""RTL checking for the synthesis stand-in: ``verilator --lint-only`` when the host has it.

Verilator's errors are reported as Vivado synthesis errors: syntax errors as [Synth 8-2715], a
missing module as [Synth 8-439], a missing include file as [Synth 8-1766]; other errors keep
Verilator's text under [Synth 8-6859] (an id of the stand-in). Warnings (widths, unused
signals...) are not errors, as in Vivado.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ERROR_RE = re.compile(r"%Error(?:-[A-Z0-9_]+)?: (?:(?P<file>[^:\s]+):(?P<line>\d+):(?:\d+:)? )?(?P<msg>.*)")


def verilator() -> str | None:
    """Path of verilator on this host, or None."""
    return shutil.which("verilator")


def lint(top: str, sources: list[Path], include_dirs: list[Path]) -> list[str]:
    """Vivado-style ERROR lines for the design (empty when clean); requires verilator()."""
    command = [
        str(verilator()),
        "--lint-only",
        "-Wno-fatal",
        "-Wno-lint",
        "-Wno-style",
        "--top-module",
        top,
        *(f"-I{d}" for d in include_dirs),
        *(str(s) for s in sources),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    errors = []
    for line in result.stderr.splitlines():
        match = ERROR_RE.match(line)
        if not match or match.group("msg").startswith(("Exiting due to", "This may be because")):
            continue
        where = f" [{match.group('file')}:{match.group('line')}]" if match.group("file") else ""
        message = match.group("msg")
        missing = re.search(r"(?:Cannot find file containing module:?|--top-module) '?(\w+)'?", message)
        include = re.search(r"Cannot find include file:? '?([\w./-]+)'?", message)
        if "syntax error" in message:
            errors.append(f"ERROR: [Synth 8-2715] {message}{where}")
        elif include:
            errors.append(f"ERROR: [Synth 8-1766] cannot open include file {include.group(1)}{where}")
        elif missing:
            errors.append(f"ERROR: [Synth 8-439] module '{missing.group(1)}' not found{where}")
        else:
            errors.append(f"ERROR: [Synth 8-6859] {message}{where}")
    if result.returncode != 0 and not errors:
        errors.append(f"ERROR: [Synth 8-6859] verilator exited with status {result.returncode}")
    return errors
