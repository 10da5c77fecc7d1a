"""Whether a host can run the uv that fpgaops pushes, and whether that uv is already there."""

from __future__ import annotations

from dataclasses import dataclass
from shlex import quote

from fpgaops.core import Fact


@dataclass(frozen=True)
class UvHost:
    """The host's machine (``uname -m``), its glibc version (None: not glibc) and the uv at the tool path."""

    machine: str
    glibc: tuple[int, int] | None
    uv_version: str | None  # "0.13.8", or None when the tool path holds no uv


@dataclass(frozen=True)
class UvTool(Fact[UvHost]):
    """The host's machine and C library, and whether uv ``version`` is installed at ``path``.

    Only a uv that ran (``uv --version``) is moved to its path, and the path is the version's own,
    so an executable file there is that version: the reading does not run it.
    Args: path: where fpgaops keeps this uv on the host; version: its version.
    Example: ``UvTool("/var/lib/fpgaops/uv/uv-0.13.8/uv", "0.13.8")`` ->
    ``UvHost(machine="x86_64", glibc=(2, 36), uv_version="0.13.8")``
    """

    name = "uv_tool"
    path: str
    version: str

    def command(self) -> str:
        return f"uname -m; getconf GNU_LIBC_VERSION 2>/dev/null || echo; [ -x {quote(self.path)} ] && echo installed"

    def process(self, output: str, status: int) -> UvHost:
        machine, libc, installed = [*output.split("\n"), "", ""][:3]
        glibc = None
        if libc.startswith("glibc "):
            major, minor = libc.split()[1].split(".")[:2]
            glibc = (int(major), int(minor))
        if not machine.strip():
            raise ValueError("uname -m printed nothing")
        return UvHost(machine=machine.strip(), glibc=glibc,
                      uv_version=self.version if installed.strip() == "installed" else None)
