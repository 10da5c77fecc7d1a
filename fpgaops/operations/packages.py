"""System packages through the host's own manager: apt on Debian/Ubuntu, dnf or yum on RHEL/Amazon Linux."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from shlex import quote

from fpgaops.core import Change, Operation
from fpgaops.facts import AptListsAge, DpkgPackages, PackageManager, RpmPackages
from fpgaops.operations.operation import PlanError, as_root, declare

__all__ = ["packages", "packages_by_manager"]

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


def packages_by_manager(names: Mapping[str, Sequence[str]], *, cache_valid_time: int | None = None,
                        tags: Iterable[str] = ()) -> Operation:
    """System packages whose names depend on the host's package manager (``{"apt": [...], "dnf": [...]}``).

    One operation: the manager is read with the packages' facts, and the list for it is installed.
    Example: ``packages_by_manager({"apt": ["python3-venv"], "dnf": ["python3"]}, cache_valid_time=3600)``
    """
    per_manager = {manager: packages(list(wanted), cache_valid_time=cache_valid_time)
                   for manager, wanted in names.items() if wanted}
    manager = PackageManager()
    facts = [manager, *(fact for operation in per_manager.values() for fact in operation.facts)]

    def plan(values) -> Change | None:
        operation = per_manager.get(values[manager])
        if operation is None:
            raise PlanError(f"no package list for this host's package manager ({values[manager] or 'none found'}): "
                            f"the list has {', '.join(per_manager) or 'none'}")
        return operation.plan({fact: values[fact] for fact in operation.facts})

    return declare("build toolchain packages", facts, plan, tags=tags)
