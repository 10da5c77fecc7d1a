"""A role's variables: its ``defaults.yml`` under the host's inventory variables (Ansible's role defaults).

Every role folder holds a ``defaults.yml`` with each variable the role reads and its default; the
inventory (all < group < host < ``-e``) overrides any of them. A role reads its variables only
through ``role_vars``, so a misspelt name is an error naming the role file, the host and the
variable, not a silent ``None``.

Example::

    DEFAULTS = Path(__file__).with_name("defaults.yml")

    def tasks(host):
        v = role_vars(host, DEFAULTS)
        return [directory(v["service_root"], owner=v["service_user"])]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from fpgaops.inventory import Host


class RoleVarError(KeyError):
    """A role asked for a variable that neither its defaults nor the inventory define."""

    def __str__(self) -> str:
        return str(self.args[0])


@cache
def load_defaults(path: Path) -> Mapping[str, Any]:
    """The mapping of a role's ``defaults.yml`` (read once per process); a clear error when it is not one."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f"{path}: cannot read the role's defaults: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a role's defaults must be a mapping of variable names to values")
    return data


class RoleVars(Mapping[str, Any]):
    """The host's variables over the role's defaults; a missing name raises RoleVarError."""

    def __init__(self, host: Host, defaults_file: Path) -> None:
        self.host = host
        self.defaults_file = defaults_file
        self.defaults = load_defaults(defaults_file)

    def __getitem__(self, name: str) -> Any:
        if name in self.host.vars:
            return self.host.vars[name]
        if name in self.defaults:
            return self.defaults[name]
        raise RoleVarError(f"{self.defaults_file.parent.name}: variable {name!r} is not set for host "
                           f"{self.host.name} (add it to {self.defaults_file} or the inventory)")

    def __iter__(self) -> Iterator[str]:
        yield from self.defaults
        yield from (name for name in self.host.vars if name not in self.defaults)

    def __len__(self) -> int:
        return len(set(self.defaults) | set(self.host.vars))


def role_vars(host: Host, defaults_file: Path) -> RoleVars:
    """The variables a role sees on ``host``: its defaults, overridden by the inventory.

    Example: ``role_vars(host, Path("roles/rhythm_service/defaults.yml"))["service_port"]`` -> ``5001``
    """
    return RoleVars(host, defaults_file)
