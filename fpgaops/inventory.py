"""Hosts, groups and their variables, read from an Ansible YAML inventory.

The format and the resolution rules are Ansible's (checked against ``ansible-inventory --list``
in ``tests/unit/test_inventory_oracle.py``), so one file serves both tools:

- groups nest under ``all`` through ``children``; a group may have several parents, a host may be
  in several groups; hosts listed directly under ``all`` (and in no other group) form ``ungrouped``;
- host keys may hold ranges (``web[01:03]``, ``db-[a:c]``, ``n[0:10:2]``) and a port (``h:2222``);
- ``group_vars/<group>`` and ``host_vars/<host>`` next to the inventory file are read as Ansible
  reads them: a file ``<name>``, ``<name>.yml``, ``<name>.yaml`` or ``<name>.json`` (the first that
  exists), or a directory ``<name>/`` whose files are read in name order;
- a host's variables are, from weakest to strongest: ``all``'s inline vars; the inline vars of its
  other groups, ordered by depth, then ``ansible_group_priority``, then name; ``group_vars/all``;
  the other groups' ``group_vars`` files in the same order; the host's inline vars; its
  ``host_vars`` files; extra vars (the command line). Values replace, never deep-merge;
- values stay as YAML typed them: ``{{ ... }}`` strings are kept unrendered.

Where it differs from Ansible, on purpose: a broken inventory is an ``InventoryError`` (Ansible
warns and goes on with an empty inventory), and so are an unexpected key or a non-mapping body in
a group and a limit pattern that matches nothing (Ansible warns and skips them); hosts are listed in
the order the file first names them; there is no implicit ``localhost``; only YAML files are read
(no INI, no inventory plugins, no playbook-adjacent ``group_vars/``).
"""

from __future__ import annotations

import copy
import fnmatch
import ipaddress
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ALL = "all"
UNGROUPED = "ungrouped"
GROUP_SECTIONS = ("vars", "children", "hosts")
PRIORITY_VAR = "ansible_group_priority"
DEFAULT_PRIORITY = 1
VARS_FILE_EXTENSIONS = ("", ".yml", ".yaml", ".json")  # Ansible's order: a bare name first

Vars = dict[str, Any]


class InventoryError(Exception):
    """An inventory that cannot be read: the message names the file (and line) and the problem."""


# --- hosts and groups --------------------------------------------------------------------------


@dataclass(frozen=True)
class Host:
    """One host: its name, the groups it belongs to, and its final variables.

    ``groups`` holds every group the host is in, directly or through a child group, except
    ``all``, in the order their variables apply (weakest first).

    Example: ``Host("f1-a", ("f1",), {"ansible_host": "10.0.0.5", "ansible_user": "centos"})``
    """

    name: str
    groups: tuple[str, ...]
    vars: Vars

    @property
    def address(self) -> str:
        """Where to connect: ``ansible_host``, or the host's name."""
        return str(self.vars.get("ansible_host", self.name))

    @property
    def user(self) -> str | None:
        """The login user (``ansible_user``), or None to let SSH decide."""
        user = self.vars.get("ansible_user")
        return None if user is None else str(user)

    @property
    def port(self) -> int | None:
        """The SSH port (``ansible_port``), or None for SSH's default."""
        port = self.vars.get("ansible_port")
        if port is None:
            return None
        try:
            return int(port)
        except (TypeError, ValueError):
            raise InventoryError(f"host {self.name}: ansible_port {port!r} is not a port number") from None


@dataclass(frozen=True)
class Group:
    """One group as the inventory declares it.

    ``hosts`` are the direct members (``Inventory.group_hosts`` adds the children's), ``vars``
    the inline vars of the inventory file, ``file_vars`` those of ``group_vars/<name>``;
    ``depth`` (longest path from ``all``) and ``priority`` order groups for precedence.

    Example: ``Group("f1", parents=("all",), children=(), hosts=("f1-a",), vars={}, ...)``
    """

    name: str
    parents: tuple[str, ...]
    children: tuple[str, ...]
    hosts: tuple[str, ...]
    vars: Vars
    file_vars: Vars = field(default_factory=dict)
    priority: int = DEFAULT_PRIORITY
    depth: int = 0


# --- YAML with positions -----------------------------------------------------------------------


class _MarkingLoader(yaml.SafeLoader):
    """A safe loader that remembers where each mapping and list starts, for error messages."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.start_marks: dict[int, yaml.Mark] = {}  # `marks` is the parser's


def _marking(construct: Any) -> Any:
    def construct_and_mark(loader: _MarkingLoader, node: yaml.Node) -> Any:
        for data in construct(loader, node):
            loader.start_marks[id(data)] = node.start_mark
            yield data

    return construct_and_mark


_MarkingLoader.add_constructor("tag:yaml.org,2002:map", _marking(yaml.SafeLoader.construct_yaml_map))
_MarkingLoader.add_constructor("tag:yaml.org,2002:seq", _marking(yaml.SafeLoader.construct_yaml_seq))
_MarkingLoader.add_constructor("!unsafe", yaml.SafeLoader.construct_scalar)  # Ansible's "never template"


@dataclass
class _Document:
    """A loaded YAML file and where its mappings and lists start."""

    path: Path | None
    data: Any
    marks: dict[int, yaml.Mark] = field(default_factory=dict)

    def where(self, obj: object) -> str:
        """``file:line:column`` of ``obj`` when known, else the file."""
        name = str(self.path) if self.path else "<inventory data>"
        mark = self.marks.get(id(obj))
        return f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name


def _load_yaml(path: Path) -> _Document:
    """Parse one YAML file, turning any failure into an ``InventoryError`` naming the place."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InventoryError(f"{path}: cannot read: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise InventoryError(f"{path}: not UTF-8 text: {err}") from None
    loader = _MarkingLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        place = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise InventoryError(f"{place}: invalid YAML: {err.problem or err.context}") from None
    except yaml.YAMLError as err:
        raise InventoryError(f"{path}: invalid YAML: {err}") from None
    finally:
        loader.dispose()
    return _Document(path, data, loader.start_marks)


def _kind(value: object) -> str:
    names = {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), f"a {type(value).__name__}")


# --- host patterns: ranges and ports -----------------------------------------------------------

_RANGE = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]"
_LABEL = rf"(?:\w|{_RANGE})(?:[\w-]|{_RANGE})*(?<![_-])"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$", re.IGNORECASE)
_BRACKETED_HOST_PORT = re.compile(r"^\[(.+)\]:([0-9]+)$")
_HOST_PORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$")
_FIRST_RANGE = re.compile(r"\[([^\]]*)\]")


def _is_host_identifier(text: str) -> bool:
    """A hostname or IPv4 address (ranges allowed), or an IPv6 address."""
    if _HOSTNAME.match(text):
        return True
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def parse_address(text: str) -> tuple[str, int | None] | None:
    """Split ``host:port`` (or ``[v6]:port``) as Ansible does; None if ``text`` is not an address.

    Example: ``parse_address("db-[a:c]:2222") == ("db-[a:c]", 2222)``
    """
    host, port = text, None
    match = _BRACKETED_HOST_PORT.match(text) or _HOST_PORT.match(text)
    if match:
        host, port = match.group(1), int(match.group(2))
    return (host, port) if _is_host_identifier(host) else None


def _range_values(spec: str) -> list[str]:
    """``"01:03"`` -> ``["01", "02", "03"]``, ``"a:c"`` -> ``["a", "b", "c"]``, ``"0:6:2"`` -> evens."""
    bounds = spec.split(":")
    if len(bounds) not in (2, 3):
        raise ValueError(f"range [{spec}] must be begin:end or begin:end:step")
    begin, end = bounds[0] or "0", bounds[1]
    step = int(bounds[2]) if len(bounds) == 3 else 1
    if not end:
        raise ValueError(f"range [{spec}] has no end")
    if begin in string.ascii_letters and end in string.ascii_letters:
        first, last = string.ascii_letters.index(begin), string.ascii_letters.index(end)
        if first > last:
            raise ValueError(f"range [{spec}] must have begin <= end")
        return list(string.ascii_letters[first : last + 1 : step])
    width = len(begin) if begin.startswith("0") and len(begin) > 1 else 0
    if width and len(end) != width:
        raise ValueError(f"range [{spec}] must have begin and end of the same width")
    return [str(number).zfill(width) for number in range(int(begin), int(end) + 1, step)]


def expand_host_range(name: str) -> list[str]:
    """Expand every ``[begin:end(:step)]`` in a host name, as Ansible does.

    Example: ``expand_host_range("web[01:02]-[a:b]") == ["web01-a", "web01-b", "web02-a", "web02-b"]``
    """
    match = _FIRST_RANGE.search(name)
    if not match:
        return [name]
    head, tail = name[: match.start()], name[match.end() :]
    return [expanded for value in _range_values(match.group(1)) for expanded in expand_host_range(head + value + tail)]


def _expand_host_key(key: str) -> tuple[list[str], int | None]:
    """A ``hosts:`` key -> (host names, port or None)."""
    address = parse_address(key)
    pattern, port = address if address else (key, None)
    return expand_host_range(pattern), port


# --- building an inventory from data -----------------------------------------------------------


@dataclass
class _GroupDraft:
    name: str
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    vars: Vars = field(default_factory=dict)
    file_vars: Vars = field(default_factory=dict)
    priority: int = DEFAULT_PRIORITY


@dataclass
class _HostDraft:
    name: str
    groups: list[str] = field(default_factory=list)
    vars: Vars = field(default_factory=dict)
    file_vars: Vars = field(default_factory=dict)


class _Builder:
    """Reads inventory data into drafts, then resolves them into hosts and groups."""

    def __init__(self, document: _Document) -> None:
        self.document = document
        self.groups: dict[str, _GroupDraft] = {ALL: _GroupDraft(ALL), UNGROUPED: _GroupDraft(UNGROUPED)}
        self.hosts: dict[str, _HostDraft] = {}
        self.warnings: list[str] = []
        self._link(ALL, UNGROUPED)

    def fail(self, obj: object, problem: str) -> InventoryError:
        return InventoryError(f"{self.document.where(obj)}: {problem}")

    # reading the inventory file

    def read(self) -> None:
        data = self.document.data
        if data is None:
            raise self.fail(data, "the inventory is empty: expected a mapping such as `all: {children: ...}`")
        if not isinstance(data, Mapping):
            raise self.fail(data, f"the top level must be a mapping of group names, got {_kind(data)}")
        if "plugin" in data:
            raise self.fail(data, "this is an inventory plugin configuration, not a YAML inventory")
        for name, body in data.items():
            self.read_group(name, body, data)

    def read_group(self, name: object, body: object, parent_data: object) -> str:
        if not isinstance(name, str) or not name:
            raise self.fail(parent_data, f"group name {name!r} must be a non-empty string")
        if body is not None and not isinstance(body, Mapping):
            raise self.fail(parent_data, f"group {name!r} must be a mapping (hosts/children/vars), got {_kind(body)}")
        self.groups.setdefault(name, _GroupDraft(name))
        for section, content in (body or {}).items():
            self.read_section(name, section, content, body)
        return name

    def read_section(self, group: str, section: object, content: object, body: object) -> None:
        if section not in GROUP_SECTIONS:
            raise self.fail(body, f"group {group!r}: unexpected key {section!r}, expected hosts, children or vars")
        if isinstance(content, str):
            content = {content: None}  # Ansible reads `hosts: web1` as one host
        if content is None:
            return
        if not isinstance(content, Mapping):
            hint = " (write each host as a key: `name:` on its own line)" if section == "hosts" else ""
            raise self.fail(content, f"group {group!r}: {section!r} must be a mapping, got {_kind(content)}{hint}")
        if section == "vars":
            self.set_group_vars(group, content)
        elif section == "children":
            for child, child_body in content.items():
                self._link(group, self.read_group(child, child_body, content))
        else:
            for key, host_vars in content.items():
                self.read_host(group, key, host_vars, content)

    def set_group_vars(self, group: str, content: Mapping[Any, Any]) -> None:
        draft = self.groups[group]
        for key, value in content.items():
            if key != PRIORITY_VAR:
                draft.vars[key] = value
                continue
            try:
                draft.priority = int(value)
            except (TypeError, ValueError):
                raise self.fail(content, f"group {group!r}: {PRIORITY_VAR} must be an integer, got {value!r}") from None

    def read_host(self, group: str, key: object, host_vars: object, hosts_data: object) -> None:
        if not isinstance(key, str) or not key:
            raise self.fail(hosts_data, f"group {group!r}: host name {key!r} must be a non-empty string (quote it)")
        if host_vars is not None and not isinstance(host_vars, Mapping):
            problem = f"host {key!r} must map to its variables (or nothing), got {_kind(host_vars)}"
            raise self.fail(hosts_data, f"group {group!r}: {problem}")
        try:
            names, port = _expand_host_key(key)
        except ValueError as err:
            raise self.fail(hosts_data, f"group {group!r}: host {key!r}: {err}") from None
        for name in names:
            self.add_host(group, name, port).vars.update(host_vars or {})

    def add_host(self, group: str, name: str, port: int | None) -> _HostDraft:
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = _HostDraft(name, vars={"ansible_port": port} if port else {})
        if group not in host.groups:
            host.groups.append(group)
            self.groups[group].hosts.append(name)
        return host

    def _link(self, parent: str, child: str) -> None:
        if child not in self.groups[parent].children:
            self.groups[parent].children.append(child)
        if parent not in self.groups[child].parents:
            self.groups[child].parents.append(parent)

    # completing the graph as Ansible's reconcile step does

    def complete(self) -> None:
        self.check_cycles()
        for name, group in self.groups.items():
            if name != ALL and not group.parents:
                self._link(ALL, name)
        self.fill_ungrouped()

    def check_cycles(self) -> None:
        done: set[str] = set()

        def visit(name: str, path: list[str]) -> None:
            if name in path:
                loop = " -> ".join([*path[path.index(name) :], name])
                raise self.fail(None, f"group {name!r} is its own ancestor: {loop}")
            if name not in done:
                for child in self.groups[name].children:
                    visit(child, [*path, name])
                done.add(name)

        for name in self.groups:
            visit(name, [])

    def fill_ungrouped(self) -> None:
        """``ungrouped`` holds exactly the hosts that are in no group but ``all``/``ungrouped``."""
        lonely = [name for name, host in self.hosts.items() if set(host.groups) <= {ALL, UNGROUPED}]
        ungrouped = self.groups[UNGROUPED]
        for name in [name for name in ungrouped.hosts if name not in lonely]:
            ungrouped.hosts.remove(name)
            self.hosts[name].groups.remove(UNGROUPED)
        for name in lonely:
            self.add_host(UNGROUPED, name, None)

    # group_vars/ and host_vars/

    def read_vars_dirs(self, base_dir: Path) -> None:
        for group in self.groups.values():
            group.file_vars = _read_vars_files(base_dir / "group_vars", group.name)
        for host in self.hosts.values():
            host.file_vars = _read_vars_files(base_dir / "host_vars", host.name)
        self.warnings += _unknown_vars_entries(base_dir / "group_vars", "group", self.groups)
        self.warnings += _unknown_vars_entries(base_dir / "host_vars", "host", self.hosts)

    # resolution

    def depths(self) -> dict[str, int]:
        """Each group's depth: the longest path from ``all`` (Ansible's ``group.depth``)."""
        depths: dict[str, int] = {ALL: 0}

        def depth(name: str) -> int:
            if name not in depths:
                depths[name] = max(depth(parent) + 1 for parent in self.groups[name].parents)
            return depths[name]

        for name in self.groups:
            depth(name)
        return depths

    def ancestors(self, names: Iterable[str]) -> set[str]:
        found: set[str] = set()
        pending = list(names)
        while pending:
            name = pending.pop()
            if name not in found:
                found.add(name)
                pending += self.groups[name].parents
        return found

    def build(self, extra_vars: Vars) -> Inventory:
        depths = self.depths()
        groups = {
            name: Group(
                name, tuple(g.parents), tuple(g.children), tuple(g.hosts), g.vars, g.file_vars, g.priority, depths[name]
            )
            for name, g in self.groups.items()
        }

        def precedence(name: str) -> tuple[int, int, str]:
            return (depths[name], groups[name].priority, name)

        hosts = {}
        for name, draft in self.hosts.items():
            member_of = tuple(sorted(self.ancestors(draft.groups) - {ALL}, key=precedence))
            hosts[name] = Host(name, member_of, _merged_vars(draft, member_of, groups, extra_vars))
        return Inventory(hosts, groups, self.warnings)


def _merged_vars(host: _HostDraft, member_of: tuple[str, ...], groups: dict[str, Group], extra_vars: Vars) -> Vars:
    """A host's variables by Ansible's precedence (see the module docstring); values replace."""
    layers = [
        groups[ALL].vars,
        *(groups[name].vars for name in member_of),
        groups[ALL].file_vars,
        *(groups[name].file_vars for name in member_of),
        host.vars,
        host.file_vars,
        extra_vars,
    ]
    merged: Vars = {}
    for layer in layers:
        merged.update(layer)
    return copy.deepcopy(merged)


def _vars_files(folder: Path, name: str) -> list[Path]:
    """The files Ansible reads for ``name`` in ``group_vars/`` or ``host_vars/``, in order."""
    for extension in VARS_FILE_EXTENSIONS:
        candidate = folder / f"{name}{extension}"
        if candidate.is_dir():
            return _files_under(candidate)
        if candidate.is_file():
            return [candidate]
    return []


def _files_under(directory: Path) -> list[Path]:
    """Vars files of a directory, recursively, by name; hidden files and ``~`` backups skipped."""
    found = []
    for entry in sorted(directory.iterdir(), key=lambda path: path.name):
        if entry.name.startswith(".") or entry.name.endswith("~"):
            continue
        if entry.is_dir() and not entry.suffix:
            found += _files_under(entry)
        elif entry.is_file() and entry.suffix in VARS_FILE_EXTENSIONS:
            found.append(entry)
    return found


def _read_vars_files(folder: Path, name: str) -> Vars:
    """The variables of ``name`` in a vars folder: its files merged in order (later wins)."""
    merged: Vars = {}
    for path in _vars_files(folder, name):
        document = _load_yaml(path)
        if not document.data:
            continue  # an empty file, as Ansible, adds nothing
        if not isinstance(document.data, Mapping):
            raise InventoryError(
                f"{document.where(document.data)}: variables file must be a mapping of names to values, "
                f"got {_kind(document.data)}"
            )
        merged.update(document.data)
    return merged


def _unknown_vars_entries(folder: Path, kind: str, known: Mapping[str, object]) -> list[str]:
    """Warnings for entries of a vars folder that name no known group or host (Ansible ignores them)."""
    if not folder.is_dir():
        return [f"{folder}: not a directory, ignored"] if folder.exists() else []
    warnings = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name.endswith("~"):
            continue
        name = entry.stem if entry.is_file() and entry.suffix in VARS_FILE_EXTENSIONS else entry.name
        if name not in known:
            warnings.append(f"{entry}: no {kind} named {name!r} in the inventory, ignored")
    return warnings


# --- limits -----------------------------------------------------------------------------------

_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+):([0-9]*))\]$")
_COLON_SEPARATED = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")
_GLOB_CHARACTERS = (".", "?", "*", "[")


def split_limit(limit: str) -> list[str]:
    """Split a limit into patterns as Ansible does: by commas, else by colons (unless one address).

    Example: ``split_limit("dev:f1-*:!f1-b") == ["dev", "f1-*", "!f1-b"]``
    """
    if "," in limit:
        patterns = limit.split(",")
    elif parse_address(limit) is not None:
        patterns = [limit]
    else:
        patterns = _COLON_SEPARATED.findall(limit)
    return [pattern.strip() for pattern in patterns if pattern.strip()]


def _ordered_patterns(patterns: list[str]) -> list[str]:
    """Plain patterns first, then ``&`` intersections, then ``!`` exclusions; ``all`` if no plain one."""
    plain = [p for p in patterns if p[0] not in "&!"]
    return (plain or [ALL]) + [p for p in patterns if p[0] == "&"] + [p for p in patterns if p[0] == "!"]


def _name_matcher(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern[1:] if pattern.startswith("~") else fnmatch.translate(pattern))
    except re.error as err:
        raise InventoryError(f"invalid limit pattern {pattern!r}: {err}") from None


# --- the inventory ----------------------------------------------------------------------------


class Inventory:
    """Hosts and groups with resolved variables; build one with ``load`` or ``from_dict``.

    Example::

        inventory = Inventory.load(Path("inventory/sandbox.yml"), extra_vars={"afi_id": "afi-0123"})
        for host in inventory.select("f1:!f1-b"):
            print(host.name, host.address, host.user, host.vars["fpga_platform"])
    """

    def __init__(self, hosts: dict[str, Host], groups: dict[str, Group], warnings: list[str]) -> None:
        self.hosts = hosts
        self.groups = groups
        self.warnings = warnings

    @classmethod
    def load(cls, path: Path, extra_vars: Vars | None = None) -> Inventory:
        """Read an Ansible YAML inventory file and the ``group_vars/``, ``host_vars/`` beside it.

        Args:
            path: the inventory file (YAML).
            extra_vars: variables that override every other (Ansible's ``-e``).

        Example: ``Inventory.load(Path("inventory/sandbox.yml")).host("dev").address``
        """
        path = Path(path)
        if path.is_dir():
            raise InventoryError(f"{path}: is a directory, expected an inventory file")
        return cls._build(_load_yaml(path), extra_vars, vars_dir=path.parent)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], extra_vars: Vars | None = None, vars_dir: Path | None = None
    ) -> Inventory:
        """Build an inventory from data shaped like the YAML format (``{"all": {"children": ...}}``).

        Args:
            data: the inventory, as ``yaml.safe_load`` of an inventory file would give it.
            extra_vars: variables that override every other.
            vars_dir: a folder whose ``group_vars/`` and ``host_vars/`` apply, if any.

        Example: ``Inventory.from_dict({"all": {"children": {"f1": {"hosts": {"f1-a": None}}}}})``
        """
        return cls._build(_Document(None, copy.deepcopy(data)), extra_vars, vars_dir)

    @classmethod
    def _build(cls, document: _Document, extra_vars: Vars | None, vars_dir: Path | None) -> Inventory:
        builder = _Builder(document)
        builder.read()
        builder.complete()
        if vars_dir is not None:
            builder.read_vars_dirs(vars_dir)
        return builder.build(dict(extra_vars or {}))

    def with_extra_vars(self, extra_vars: Vars) -> Inventory:
        """The same inventory with ``extra_vars`` over every host's variables (as ``-e`` would put them).

        Example: ``inventory.with_extra_vars({"afi_agfi": "agfi-0123456789abcdef0"}).host("f1-a").vars["afi_agfi"]``
        """
        hosts = {name: Host(host.name, host.groups, {**host.vars, **copy.deepcopy(extra_vars)})
                 for name, host in self.hosts.items()}
        return Inventory(hosts, self.groups, list(self.warnings))

    def host(self, name: str) -> Host:
        """The host called ``name``; ``InventoryError`` if there is none.

        Example: ``inventory.host("dev").user == "ubuntu"``
        """
        try:
            return self.hosts[name]
        except KeyError:
            raise InventoryError(f"no host named {name!r} in the inventory") from None

    def group_hosts(self, group: str) -> list[Host]:
        """Every host of ``group`` and of its children, in inventory order.

        Example: ``[h.name for h in inventory.group_hosts("f1")] == ["f1-a", "f1-b"]``
        """
        if group not in self.groups:
            raise InventoryError(f"no group named {group!r} in the inventory")
        if group == ALL:
            return list(self.hosts.values())
        return [host for host in self.hosts.values() if group in host.groups]

    def select(self, limit: str | None = None) -> list[Host]:
        """The hosts an Ansible ``--limit`` selects, in inventory order (all hosts for None or "").

        Patterns: a host or group name, a glob (``f1-*``), a regex (``~f1-[ab]``), a subscript
        (``f1[0]``, ``f1[0:1]``), separated by ``,`` or ``:``; ``&group`` intersects, ``!group``
        excludes. A pattern that matches no host and no group is an ``InventoryError`` naming it.

        Example: ``inventory.select("f1:&spot:!f1-b")``
        """
        if not limit or not limit.strip():
            return list(self.hosts.values())
        selected: list[str] = []
        for pattern in _ordered_patterns(split_limit(limit)):
            operator, body = (pattern[0], pattern[1:]) if pattern[0] in "&!" else ("", pattern)
            matched = [pattern] if pattern in self.hosts else self._match(body)
            if operator == "!":
                selected = [name for name in selected if name not in set(matched)]
            elif operator == "&":
                selected = [name for name in selected if name in set(matched)]
            else:
                selected += [name for name in matched if name not in selected]
        chosen = set(selected)
        return [host for name, host in self.hosts.items() if name in chosen]

    def _match(self, pattern: str) -> list[str]:
        """Host names one pattern (without ``&``/``!``) matches, as Ansible's ``_match_one_pattern``."""
        expression, subscript = pattern, None
        match = None if pattern.startswith("~") else _SUBSCRIPT.match(pattern)
        if match:
            expression, subscript = match.group(1), match.groups()[1:]
        names = self._enumerate(expression)
        return _apply_subscript(pattern, names, subscript) if subscript else names

    def _enumerate(self, pattern: str) -> list[str]:
        """Hosts of the groups ``pattern`` matches; hosts it matches when no group does, or for globs."""
        matcher = _name_matcher(pattern)
        groups = [name for name in self.groups if matcher.match(name)]
        names = [host.name for group in groups for host in self.group_hosts(group)]
        if not groups or pattern.startswith("~") or any(c in pattern for c in _GLOB_CHARACTERS):
            names += [name for name in self.hosts if matcher.match(name)]
        if not names and not groups:
            raise InventoryError(f"limit pattern {pattern!r} matches no host or group in the inventory")
        return list(dict.fromkeys(names))


def _apply_subscript(pattern: str, names: list[str], subscript: tuple[str | None, ...]) -> list[str]:
    """``[i]``, ``[start:end]`` (inclusive) or ``[start:]`` applied to matched hosts."""
    index, start, end = subscript
    try:
        if index is not None:
            return [names[int(index)]] if names else []
        last = int(end) if end else len(names) - 1
        return names[int(start or 0) : last + 1]
    except IndexError:
        raise InventoryError(f"limit pattern {pattern!r}: no host at that position") from None
