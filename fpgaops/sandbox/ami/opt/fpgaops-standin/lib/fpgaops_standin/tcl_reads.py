"""What a Vivado synthesis script reads: its read_verilog/read_ip/read_xdc/add_files arguments.

Not a Tcl interpreter: comments and continuations are handled, ``${var}``/``$var`` are replaced
from the variables given (an unknown one is Tcl's ``can't read "x": no such variable``),
``[list ...]`` and ``[glob ...]`` are expanded (glob with Tcl's ``{a,b}`` alternatives; no match
is Tcl's error), ``source`` is followed into existing files, ``synth_design -top`` is noted.
"""

from __future__ import annotations

import glob
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from .console import ToolError

READ_COMMANDS = ("read_verilog", "read_vhdl", "read_ip", "read_xdc", "add_files")
VALUE_OPTIONS = {"-ref", "-library", "-fileset", "-of_objects", "-cells", "-mode", "-unmanaged"}


@dataclass
class ScriptReads:
    """Files a script reads, by command, and the synthesis top it names."""

    files: dict[str, list[Path]] = field(default_factory=lambda: {c: [] for c in READ_COMMANDS})
    top: str | None = None


def _commands(text: str) -> list[str]:
    text = re.sub(r"\\\n", " ", text)
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _substitute(text: str, variables: dict[str, str]) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in variables:
            raise ToolError(f'ERROR: can\'t read "{name}": no such variable')
        return variables[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, text)


def _braces(pattern: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    return [
        expanded
        for choice in match.group(1).split(",")
        for expanded in _braces(pattern[: match.start()] + choice + pattern[match.end() :])
    ]


def _arguments(command: str) -> list[str]:
    """The file arguments of a command, options dropped, [list]/[glob] expanded."""
    globbing = "[glob" in command.replace("[ glob", "[glob")
    words = shlex.split(command.replace("[", " ").replace("]", " "), posix=True)[1:]
    paths, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word in VALUE_OPTIONS:
            skip = True
        elif word.startswith("-") or word in ("list", "glob"):
            continue
        elif globbing and any(c in word for c in "*?{"):
            matches = sorted({m for p in _braces(word) for m in glob.glob(p)})
            if not matches:
                raise ToolError(f'ERROR: no files matched glob pattern "{word}"')
            paths += matches
        else:
            paths.append(word)
    return paths


def scan(script: Path, variables: dict[str, str], reads: ScriptReads | None = None) -> ScriptReads:
    """What ``script`` (and the scripts it sources) reads; ToolError for what Tcl would refuse."""
    reads = reads or ScriptReads()
    if not script.is_file():
        raise ToolError(f'ERROR: couldn\'t read file "{script}": no such file or directory')
    for command in _commands(script.read_text()):
        name = command.split()[0]
        if name == "source":
            scan(Path(_substitute(command.split(None, 1)[1].strip(), variables)), variables, reads)
        elif name in READ_COMMANDS:
            reads.files[name] += [Path(p) for p in _arguments(_substitute(command, variables))]
        elif name == "synth_design":
            top = re.search(r"-top\s+(\S+)", _substitute(command, variables))
            reads.top = top.group(1) if top else reads.top
    return reads
