"""System packages through the host's own manager: apt on Debian/Ubuntu, dnf or yum on RHEL/Amazon Linux."""

from __future__ import annotations

from collections.abc import Iterable
from shlex import quote

from fpgaops.core import Change, Operation
from fpgaops.facts import AptListsAge, DpkgPackages, PackageManager, RpmPackages
from fpgaops.operations.operation import PlanError, as_root, declare

__all__ = ["packages"]

# no prompts, and keep locally changed config files rather than stopping to ask
APT_GET = ("DEBIAN_FRONTEND=noninteractive apt-get -q -y"
           " -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold")


def packages(
    names: Iterable[str],
    present: bool = True,
    *,
    cache_valid_time: int | None = None,
    tags: Iterable[str] = (),
    notify: Iterable[str] = (),
) -> Operation:
    """System packages installed (or removed when ``present=False``), only those not already so.

    apt refreshes its lists before installing, and only then (skipped while the lists are younger
    than ``cache_valid_time`` seconds); dnf/yum refresh their metadata themselves.  Names are real
    package names (not virtual packages or provides), as the installed list reports them.
    Args:
        names: package names; present: installed (True) or removed (False);
        cache_valid_time: seconds apt's lists stay fresh enough to skip ``apt-get update``.
        tags, notify: as for ``files.file``.
    Example: ``packages(["python3-venv", "cron", "sudo"], cache_valid_time=3600)``
    """
    names = tuple(dict.fromkeys(names))
    for name in names:
        if not name or name.startswith("-") or any(char.isspace() for char in name):
            raise ValueError(f"packages: {name!r} is not a package name")
    manager, dpkg, rpm, lists_age = PackageManager(), DpkgPackages(), RpmPackages(), AptListsAge()
    facts = [manager, dpkg, rpm] + ([lists_age] if cache_valid_time is not None else [])

    def plan(values) -> Change | None:
        tool = values[manager]
        if tool is None:
            raise PlanError("no supported package manager (apt, dnf, yum) on this host")
        installed = values[dpkg] if tool == "apt" else values[rpm]
        todo = [name for name in names if (name in installed) != present]
        if not todo:
            return None
        packages_args = " ".join(quote(name) for name in todo)
        action = "install" if present else "remove"
        description = f"{action} {', '.join(todo)}"
        if tool != "apt":
            return Change(description=description, commands=(as_root(f"{tool} -y {action} {packages_args}"),))
        if not present:
            return Change(description=description, commands=(as_root(f"{APT_GET} remove {packages_args}"),))
        age = values[lists_age] if cache_valid_time is not None else None
        update = [] if age is not None and age <= cache_valid_time else [as_root(f"{APT_GET} update")]
        return Change(description=description, commands=(*update, as_root(f"{APT_GET} install {packages_args}")))

    return declare(f"packages {' '.join(names)} {'present' if present else 'absent'}", facts, plan,
                   tags=tags, notify=notify)
