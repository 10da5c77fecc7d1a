"""Whether a host can run the uv that fpgaops pushes, and which uv (if any) is already there."""

from __future__ import annotations

from dataclasses import dataclass
from shlex import quote

from fpgaops.core import Fact


@dataclass(frozen=True)
class UvHost:
    """The host's machine (``uname -m``), its glibc version (None: not glibc) and the uv at the tool path."""

    machine: str
    glibc: tuple[int, int] | None
    uv_version: str | None  # "0.13.8", or None when the tool path holds no working uv


@dataclass(frozen=True)
class UvTool(Fact[UvHost]):
    """The host's machine and C library, and the version of the uv binary at ``path``.

    Args: path: where fpgaops keeps its uv on the host.
    Example: ``UvTool("/usr/local/lib/fpgaops/uv-0.13.8/uv")`` ->
    ``UvHost(machine="x86_64", glibc=(2, 36), uv_version="0.13.8")``
    """

    name = "uv_tool"
    path: str

    def command(self) -> str:
        return (f"uname -m; getconf GNU_LIBC_VERSION 2>/dev/null || echo; "
                f"[ -x {quote(self.path)} ] && {quote(self.path)} --version 2>/dev/null || echo")

    def process(self, output: str, status: int) -> UvHost:
        machine, libc, uv = [*output.split("\n"), "", ""][:3]
        glibc = None
        if libc.startswith("glibc "):
            major, minor = libc.split()[1].split(".")[:2]
            glibc = (int(major), int(minor))
        version = uv.split()[1] if uv.startswith("uv ") else None
        if not machine.strip():
            raise ValueError("uname -m printed nothing")
        return UvHost(machine=machine.strip(), glibc=glibc, uv_version=version)
