"""Facts about system packages: which manager the host uses, what is installed, how fresh apt's lists are."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from fpgaops.core import Fact

_DEBIAN_FAMILY = {"debian", "ubuntu"}
_BINARY_LINE = "#binary "


def parse_os_release(text: str) -> dict[str, str]:
    """The KEY=value pairs of an /etc/os-release text (values unquoted as sh would)."""
    values = {}
    for line in text.splitlines():
        key, found, value = line.partition("=")
        if found and not line.startswith("#"):
            values[key.strip()] = " ".join(shlex.split(value)) if value.strip() else ""
    return values


@dataclass(frozen=True)
class PackageManager(Fact[str | None]):
    """The host's package manager: "apt", "dnf" or "yum", or None when none of them is there.

    Decided from /etc/os-release (ID, ID_LIKE) and the binaries on PATH: the Debian family prefers
    apt; any other system dnf when present (RHEL 8/9, Amazon Linux 2023), else yum (Amazon Linux 2).
    Example: ``PackageManager()`` -> "apt" on Ubuntu 22.04, "yum" on Amazon Linux 2
    """

    name = "package_manager"

    def command(self) -> str:
        return (
            "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release\n"
            f"for b in apt-get dnf yum; do command -v $b >/dev/null 2>&1 && echo '{_BINARY_LINE}'$b; done; true"
        )

    def process(self, output: str, status: int) -> str | None:
        release = parse_os_release(output)
        families = {release.get("ID", ""), *release.get("ID_LIKE", "").split()}
        binaries = {line.removeprefix(_BINARY_LINE) for line in output.splitlines() if line.startswith(_BINARY_LINE)}
        preference = ("apt-get", "dnf", "yum") if families & _DEBIAN_FAMILY else ("dnf", "yum", "apt-get")
        for binary in preference:
            if binary in binaries:
                return "apt" if binary == "apt-get" else binary
        return None


@dataclass(frozen=True)
class DpkgPackages(Fact[dict[str, str]]):
    """Installed Debian packages: name -> version ({} when dpkg is not there).

    Only packages whose status is "install ok installed" count (not removed-but-configured ones).
    Example: ``DpkgPackages()`` -> {"openssh-server": "1:9.2p1-2+deb12u10", "sudo": "1.9.13p3-1+deb12u4", ...}
    """

    name = "dpkg_packages"

    def command(self) -> str:
        return "command -v dpkg-query >/dev/null || exit 0\ndpkg-query -W -f='${Package}\\t${Version}\\t${Status}\\n'"

    def process(self, output: str, status: int) -> dict[str, str]:
        installed = {}
        for line in output.splitlines():
            package, version, state = line.split("\t")
            if state == "install ok installed":
                installed[package] = version
        return installed


@dataclass(frozen=True)
class RpmPackages(Fact[dict[str, str]]):
    """Installed RPM packages: name -> "version-release" ({} when rpm is not there).

    Example: ``RpmPackages()`` -> {"openssh-server": "8.7p1-38.el9", "python3": "3.9.18-3.el9", ...}
    """

    name = "rpm_packages"

    def command(self) -> str:
        return "command -v rpm >/dev/null || exit 0\nrpm -qa --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\n'"

    def process(self, output: str, status: int) -> dict[str, str]:
        installed = {}
        for line in output.splitlines():
            package, version, _arch = line.split("\t")
            installed[package] = version
        return installed


@dataclass(frozen=True)
class AptListsAge(Fact[int | None]):
    """Seconds since apt's package lists were last updated, or None when never (or no apt).

    Example: ``AptListsAge()`` -> 5400
    """

    name = "apt_lists_age"

    def command(self) -> str:
        return ("[ -d /var/lib/apt/lists ] || exit 1\n"
                "echo $(( $(date +%s) - $(stat -c %Y /var/lib/apt/lists) ))")

    def process(self, output: str, status: int) -> int | None:
        return int(output) if status == 0 else None
