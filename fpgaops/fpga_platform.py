"""The AWS FPGA platform as it is today, in one table: aws-fpga releases, shells, regions, Developer AMIs.

Everything that names an aws-fpga ref, a Vivado/Vitis version, a shell id or an FPGA Developer AMI
reads it from here: the role defaults (an empty ``aws_fpga_ref`` means :data:`DEFAULT_REF`), the
dev host's tool check before a build, the DCP tarball checks (and so the sandbox endpoint's
ingestion), the sandbox's stand-ins (AMI layer, aws-fpga archive, ``fpga-describe-*``) and the
docs (``docs/aws-fpga-platform.md`` holds :func:`markdown_tables`, a test keeps them equal).
Where each fact comes from is written in that document.

Example::

    from fpgaops.fpga_platform import release, shell, DEFAULT_REF
    release(DEFAULT_REF).vivado          # ('2024.1', '2024.2', '2025.1', '2025.2')
    shell("xdma_shell").version          # '0x10052623'
    developer_ami("1.19.2").vivado       # '2025.2'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

REF_PATTERN = re.compile(r"v\d+\.\d+\.\d+[a-z]?|[0-9a-f]{7,40}")  # a release tag or a commit id


class PlatformTableError(ValueError):
    """A name or value the table does not know (unknown shell, ref, AMI, unsupported tool version)."""


@dataclass(frozen=True)
class AwsFpgaRelease:
    """One aws-fpga release (a git tag of the ``f2`` branch) and what its HDK supports."""

    ref: str  # the tag, e.g. "v2.4.0"
    vivado: tuple[str, ...]  # supported_vivado_versions.txt: the Vivado versions hdk_setup.sh accepts
    vitis: tuple[str, ...]  # Vitis versions its Vitis flow supports
    shells: tuple[str, ...]  # shell modes its aws_build_dcp_from_cl.py --mode accepts

    @property
    def release_version(self) -> str:
        """``RELEASE_VERSION`` of its release_version.txt (the manifest's hdk_version): ``2.4.0``."""
        return self.ref.removeprefix("v")

    def supported_vivado_lines(self) -> list[str]:
        """Its supported_vivado_versions.txt, line by line: ``vivado -version``'s first line per version."""
        return [vivado_version_line(version) for version in self.vivado]


@dataclass(frozen=True)
class Shell:
    """An AWS shell: the platform logic a Custom Logic is built against (its id is in every manifest)."""

    platform: str  # "f2" | "f1"
    mode: str  # aws_build_dcp_from_cl.py --mode (F2); "" for F1, whose HDK has one shell
    version: str  # shell_version of a DCP manifest and fpga-describe-local-image's ShVersion
    default: bool = False  # the shell a build gets without --mode


@dataclass(frozen=True)
class DeveloperAmi:
    """An FPGA Developer AMI (AWS Marketplace) and the AMD tools installed on it under /opt/Xilinx."""

    platform: str
    version: str  # e.g. "1.19.2"
    name: str  # the Marketplace image name
    os: str
    login_user: str
    tools: dict[str, str] = field(default_factory=dict)  # product folder under /opt/Xilinx -> version

    @property
    def vivado(self) -> str:
        """The Vivado version the AMI's login environment puts on PATH."""
        return self.tools["Vivado"]

    @property
    def description(self) -> str:
        """Its Marketplace-style description: ``FPGA Developer AMI 1.19.2 (Ubuntu 24.04, AMD Vivado/Vitis 2025.2)``."""
        products = "/".join(name for name in ("Vivado", "Vitis") if name in self.tools)
        return f"FPGA Developer AMI {self.version} ({self.os}, AMD {products} {self.vivado})"


RELEASES: tuple[AwsFpgaRelease, ...] = (
    AwsFpgaRelease("v2.0.7", vivado=("2024.1",), vitis=("2024.1",), shells=("small_shell",)),
    AwsFpgaRelease("v2.4.0", vivado=("2024.1", "2024.2", "2025.1", "2025.2"), vitis=("2024.2", "2025.1", "2025.2"),
                   shells=("small_shell", "xdma_shell")),
)
DEFAULT_REF = "v2.4.0"

SHELLS: tuple[Shell, ...] = (
    Shell("f2", "small_shell", "0x10212415", default=True),
    Shell("f2", "xdma_shell", "0x10052623"),
    Shell("f1", "", "0x04261818", default=True),
)

# Regions offering the platform's instances, where CreateFpgaImage takes its DCPs (see docs/aws-fpga-platform.md).
FPGA_REGIONS: dict[str, tuple[str, ...]] = {
    "f2": ("us-east-1", "us-west-2", "ca-central-1", "eu-west-2", "eu-central-1", "ap-northeast-1",
           "ap-northeast-2", "ap-southeast-2"),
    "f1": ("us-east-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1", "ap-northeast-1",
           "ap-northeast-2", "ap-southeast-1", "ap-southeast-2", "ap-south-1", "ca-central-1"),
}

# Vivado versions AWS's DCP ingestion accepts in a manifest's tool_version, per platform.
INGESTION_TOOL_VERSIONS: dict[str, tuple[str, ...]] = {
    "f1": ("2018.2", "2018.3", "2019.1", "2019.2", "2020.1", "2020.2", "2021.1", "2021.2", "2022.1", "2022.2",
           "2024.1"),
    "f2": ("2024.1", "2024.2", "2025.1", "2025.2"),
}

# The last Vivado HLS (vivado_hls), which hls4ml's Vivado backend calls for F1: not on any F2 AMI's PATH.
F1_HLS_VIVADO = "2020.1"

DEVELOPER_AMIS: tuple[DeveloperAmi, ...] = (
    DeveloperAmi("f2", "1.19.2", "FPGA Developer AMI (Ubuntu) - 1.19.2-prod-rhng4b6alkhdq", "Ubuntu 24.04",
                 "ubuntu", {"Vivado": "2025.2", "Vitis": "2025.2"}),
    DeveloperAmi("f2", "1.18.0", "FPGA Developer AMI (Ubuntu) - 1.18.0", "Ubuntu", "ubuntu",
                 {"Vivado": "2025.1", "Vitis": "2025.1"}),
    DeveloperAmi("f2", "1.17.0", "FPGA Developer AMI (Ubuntu) - 1.17.0-prod-yexmzwy3ipomw", "Ubuntu", "ubuntu",
                 {"Vivado": "2024.2", "Vitis": "2024.2"}),
    DeveloperAmi("f2", "1.16.0", "FPGA Developer AMI (Ubuntu) - 1.16.0", "Ubuntu", "ubuntu",
                 {"Vivado": "2024.1", "Vitis": "2024.1"}),
    DeveloperAmi("f1", "1.12.2", "FPGA Developer AMI - 1.12.2-40257ab5-6688-4c95-97d1-e251a40fd1fc", "CentOS 7.9",
                 "centos", {"Vivado": "2021.2", "Vitis": "2021.2"}),
)
DEFAULT_AMI = "1.19.2"  # the newest F2 AMI: the sandbox's dev host runs it unless told otherwise


def vivado_version_line(version: str) -> str:
    """``vivado -version``'s first line, a line of supported_vivado_versions.txt: ``vivado v2025.2 (64-bit)``.

    From Vivado 2023 on the line starts with ``vivado``; earlier releases print ``Vivado``.
    """
    return f"{'vivado' if int(version.split('.')[0]) >= 2023 else 'Vivado'} v{version} (64-bit)"


def check_ref(ref: str) -> str:
    """``ref`` when it is a release tag (``v2.4.0``) or a commit id; ``PlatformTableError`` otherwise."""
    if not REF_PATTERN.fullmatch(ref or ""):
        raise PlatformTableError(f"aws_fpga_ref {ref!r} is neither a release tag (e.g. {DEFAULT_REF}) nor a commit id "
                                 "(7 to 40 lower-case hex digits)")
    return ref


def release(ref: str) -> AwsFpgaRelease:
    """The release tagged ``ref``; ``PlatformTableError`` naming the known ones otherwise."""
    for entry in RELEASES:
        if entry.ref == ref:
            return entry
    raise PlatformTableError(f"aws-fpga {ref!r} is not in the platform table (known: "
                             f"{', '.join(r.ref for r in RELEASES)})")


def shell(mode: str, platform: str = "f2") -> Shell:
    """The ``platform`` shell built with ``--mode <mode>``; ``PlatformTableError`` naming the modes otherwise."""
    for entry in SHELLS:
        if entry.platform == platform and entry.mode == mode:
            return entry
    modes = ", ".join(s.mode for s in SHELLS if s.platform == platform and s.mode)
    raise PlatformTableError(f"unknown {platform.upper()} shell {mode!r} (known: {modes or 'none'})")


def default_shell(platform: str = "f2") -> Shell:
    """The shell a ``platform`` build gets by default (F2: the small shell)."""
    return next(s for s in SHELLS if s.platform == platform and s.default)


def shells_of(platform: str) -> tuple[Shell, ...]:
    """Every shell of ``platform`` (AFIs built on any of them load on its instances)."""
    return tuple(s for s in SHELLS if s.platform == platform)


def shell_for_build(mode: str, ref: str) -> Shell:
    """The F2 shell of ``--mode <mode>``, checked to be buildable with aws-fpga ``ref`` when the table knows it.

    Example: ``shell_for_build("xdma_shell", "v2.0.7")`` -> PlatformTableError (the XDMA shell came with v2.4.0).
    """
    chosen = shell(mode)
    known = next((r for r in RELEASES if r.ref == ref), None)
    if known is not None and mode not in known.shells:
        raise PlatformTableError(f"aws-fpga {ref} cannot build the {mode} ({chosen.version}): its "
                                 f"aws_build_dcp_from_cl.py takes --mode {', '.join(known.shells)}")
    return chosen


def check_dcp_region(region: str, platform: str = "f2") -> None:
    """``PlatformTableError`` when ``region`` takes no ``platform`` DCPs (CreateFpgaImage), naming those that do."""
    if region not in FPGA_REGIONS[platform]:
        raise PlatformTableError(f"region {region!r} takes no {platform.upper()} DCPs: use one of "
                                 f"{', '.join(FPGA_REGIONS[platform])}")


def developer_ami(version: str) -> DeveloperAmi:
    """The FPGA Developer AMI of ``version``; ``PlatformTableError`` naming the known ones otherwise."""
    for ami in DEVELOPER_AMIS:
        if ami.version == version:
            return ami
    raise PlatformTableError(f"unknown FPGA Developer AMI {version!r} (known: "
                             f"{', '.join(a.version for a in DEVELOPER_AMIS)})")


def default_ami(platform: str = "f2") -> DeveloperAmi:
    """The AMI a ``platform`` host runs unless told otherwise: :data:`DEFAULT_AMI` for F2, the newest listed else."""
    if platform == "f2":
        return developer_ami(DEFAULT_AMI)
    return next(ami for ami in DEVELOPER_AMIS if ami.platform == platform)


def markdown_tables() -> str:
    """The table as the markdown that docs/aws-fpga-platform.md holds between its ``platform-table`` markers."""
    lines = ["| aws-fpga ref | Vivado (supported_vivado_versions.txt) | Vitis | shell modes |",
             "|---|---|---|---|"]
    lines += [f"| {r.ref}{' (default)' if r.ref == DEFAULT_REF else ''} | {', '.join(r.vivado)} | "
              f"{', '.join(r.vitis)} | {', '.join(r.shells)} |" for r in RELEASES]
    lines += ["", "| platform | shell (--mode) | shell version | default |", "|---|---|---|---|"]
    lines += [f"| {s.platform.upper()} | {s.mode or '-'} | {s.version} | {'yes' if s.default else 'no'} |"
              for s in SHELLS]
    lines += ["", "| FPGA Developer AMI | platform | OS | login | tools under /opt/Xilinx |", "|---|---|---|---|---|"]
    lines += [f"| {a.name} | {a.platform.upper()} | {a.os} | {a.login_user} | "
              f"{', '.join(f'{p} {v}' for p, v in a.tools.items())} |" for a in DEVELOPER_AMIS]
    lines += ["", "| platform | regions taking DCPs | tool_version accepted by ingestion |", "|---|---|---|"]
    lines += [f"| {p.upper()} | {', '.join(FPGA_REGIONS[p])} | {', '.join(INGESTION_TOOL_VERSIONS[p])} |"
              for p in ("f2", "f1")]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_tables(), end="")
