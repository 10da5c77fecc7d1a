"""The AMD toolchain of a build host against its aws-fpga checkout: what ``hdk_setup.sh`` would compare.

One reading: the first line of ``vivado -version`` in a login shell (where the FPGA Developer AMI
puts Vivado on PATH), the checkout's ``supported_vivado_versions.txt`` and the ``RELEASE_VERSION``
of its ``release_version.txt``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from shlex import quote

from fpgaops.core import Fact

_MARKS = ("--- vivado", "--- supported", "--- release")
VERSION_IN_LINE = re.compile(r"\bv(\d{4}\.\d)\b")


@dataclass(frozen=True)
class ToolchainState:
    """``vivado_line``: ``vivado -version``'s first line ("" when there is no Vivado); the checkout's lists."""

    vivado_line: str
    supported_lines: tuple[str, ...]  # empty when the checkout has no supported_vivado_versions.txt
    release_version: str  # "" when the checkout has no release_version.txt

    @property
    def vivado_version(self) -> str | None:
        """``2025.2`` from ``vivado v2025.2 (64-bit)``; None without a Vivado."""
        match = VERSION_IN_LINE.search(self.vivado_line)
        return match.group(1) if match else None

    @property
    def supported_versions(self) -> tuple[str, ...]:
        """The versions of ``supported_lines``: ``("2024.1", "2025.2")``."""
        return tuple(m.group(1) for line in self.supported_lines if (m := VERSION_IN_LINE.search(line)))

    @property
    def supported(self) -> bool:
        """Whether ``hdk_setup.sh`` accepts the installed Vivado: its line is one of the file's lines."""
        return bool(self.vivado_line) and self.vivado_line in self.supported_lines


@dataclass(frozen=True)
class XilinxToolchain(Fact[ToolchainState]):
    """The login shell's Vivado and what the aws-fpga checkout at ``aws_fpga_dir`` supports.

    Args: aws_fpga_dir: the checkout.
    Example: ``XilinxToolchain("/home/ubuntu/aws-fpga")`` ->
    ``ToolchainState("vivado v2025.2 (64-bit)", ("vivado v2024.1 (64-bit)", ...), "2.4.0")``
    """

    name = "xilinx_toolchain"
    aws_fpga_dir: str

    def command(self) -> str:
        tree = quote(self.aws_fpga_dir)
        return (
            f"echo '{_MARKS[0]}'\n"
            "bash -lc 'vivado -version' 2>/dev/null </dev/null | grep -i '^vivado' | head -n 1\n"
            f"echo '{_MARKS[1]}'\n"
            f"cat {tree}/supported_vivado_versions.txt 2>/dev/null\n"
            f"echo '{_MARKS[2]}'\n"
            f"sed -n 's/^RELEASE_VERSION=//p' {tree}/release_version.txt 2>/dev/null\n"
            "true"
        )

    def process(self, output: str, status: int) -> ToolchainState:
        sections: dict[str, list[str]] = {mark: [] for mark in _MARKS}
        current = None
        for line in output.splitlines():
            if line in sections:
                current = line
            elif current is not None and line.strip():
                sections[current].append(line.rstrip())
        vivado = sections[_MARKS[0]]
        release = sections[_MARKS[2]]
        return ToolchainState(vivado[0] if vivado else "", tuple(sections[_MARKS[1]]),
                              release[0].strip() if release else "")
