"""The options every role-running fab task takes, the same way, and the call they turn into.

Options (after the task name): ``-i/--inventory PATH`` (default ``inventory/sandbox.yml`` when it
exists), ``-l/--limit``, ``-t/--tags``, ``-c/--check``, ``-d/--diff``, ``-f/--forks``,
``-v/--verbose``, ``-e/--extra-vars k=v`` (repeatable; ``@file.yml`` and ``{json}`` too),
``-a/--accept-new-host-keys``.  Every task of one ``fab`` invocation shares one connection per
host (``invocation_pool``), closed when the process exits, and the facts read there
(``invocation_facts``).

Example (fabfile.py)::

    from fpgaops.cli_options import roles_task
    from roles import rhythm_service

    deploy = roles_task(lambda: [rhythm_service.role()], name="deploy",
                        doc="Deploy the rhythm service on the FPGA hosts.")
"""

from __future__ import annotations

import atexit
import inspect
import json
import os
import shlex
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from fabric import task
from invoke.exceptions import Exit
from rich.console import Console
from rich.text import Text

from fpgaops.connection import ConnectionPool
from fpgaops.fact_cache import FactCache
from fpgaops.inventory import Inventory, InventoryError
from fpgaops.runner import DEFAULT_FORKS, Role, RunError, RunSettings, run
from fpgaops.sandbox.config import DEFAULT_INVENTORY, PROJECT_ROOT

LOG_DIR = PROJECT_ROOT / ".fpgaops" / "logs"
EXIT_CANNOT_START = 1  # options, inventory or selection errors: nothing was touched
STATS_ENV = "FPGAOPS_STATS"  # a file: the invocation's remote commands and AWS calls are written there at exit
INVENTORY_ENV = "FPGAOPS_INVENTORY"  # the inventory when -i is not given

COMMON_HELP = {
    "inventory": f"Ansible YAML inventory (default: {DEFAULT_INVENTORY.relative_to(PROJECT_ROOT)}, "
                 f"written by `fab sandbox.up`)",
    "limit": "only these hosts/groups (Ansible patterns: f1,dev  f1:!f1-b  ~f1-[ab])",
    "tags": "only steps with one of these tags, or whole roles by name (comma-separated)",
    "check": "show what would change, with diffs; change nothing",
    "diff": "show the diff of every file edited",
    "forks": f"hosts worked on in parallel (default {DEFAULT_FORKS})",
    "verbose": "also show steps with nothing to do and every command sent",
    "extra_vars": "variables overriding the inventory: k=v, @file.yml or {json} (repeatable)",
    "accept_new_host_keys": "record the key of a host not yet in known_hosts (a changed key is always refused)",
}


class OptionError(ValueError):
    """An option value that cannot be used; the message says which and why."""


def parse_extra_vars(items: Iterable[str]) -> dict[str, Any]:
    """``-e`` values as Ansible reads them: ``k=v`` words (strings), ``@file`` (YAML/JSON), ``{json}``.

    Example: ``parse_extra_vars(["afi_id=afi-01 slot=0", '{"debug": true}']) == {"afi_id": "afi-01",
    "slot": "0", "debug": True}``
    """
    merged: dict[str, Any] = {}
    for item in items:
        item = item.strip()
        if not item:
            continue
        if item.startswith("@"):
            path = Path(item[1:]).expanduser()
            try:
                data = yaml.safe_load(path.read_text())
            except (OSError, yaml.YAMLError) as err:
                raise OptionError(f"--extra-vars {item}: cannot read {path}: {err}") from None
        elif item.startswith("{"):
            try:
                data = json.loads(item)
            except json.JSONDecodeError as err:
                raise OptionError(f"--extra-vars {item!r}: not valid JSON: {err}") from None
        else:
            data = {}
            for word in shlex.split(item):
                key, equals, value = word.partition("=")
                if not equals or not key:
                    raise OptionError(f"--extra-vars {word!r}: expected key=value")
                data[key] = value
        if not isinstance(data, dict):
            raise OptionError(f"--extra-vars {item!r}: expected a mapping of names to values")
        merged.update(data)
    return merged


def choose_inventory(path: str | Path | None) -> Path:
    """The inventory file to use: ``path``, else ``$FPGAOPS_INVENTORY``, else the sandbox's when it exists.

    ``FPGAOPS_INVENTORY`` serves several tasks in one invocation (``fab provision deploy``), where
    ``-i`` would have to follow each task. OptionError when none is a file.
    """
    for chosen, origin in ((path, "--inventory"), (os.environ.get(INVENTORY_ENV), INVENTORY_ENV)):
        if chosen:
            if not Path(chosen).expanduser().is_file():
                raise OptionError(f"{origin} {chosen}: no such file")
            return Path(chosen).expanduser()
    if DEFAULT_INVENTORY.is_file():
        return DEFAULT_INVENTORY
    raise OptionError(f"no inventory: {DEFAULT_INVENTORY} does not exist. Start the sandbox (`fab sandbox.up`) "
                      f"to get one, or choose a file with -i/--inventory PATH or {INVENTORY_ENV}=PATH "
                      f"(an Ansible YAML inventory).")


@dataclass(frozen=True)
class RunOptions:
    """The common options of a role-running task, parsed and checked.

    Example: ``RunOptions.from_task_args(inventory="inventory/aws.yml", limit="f1", check=True)``
    """

    inventory: Path
    limit: str = ""
    tags: frozenset[str] = frozenset()
    check: bool = False
    diff: bool = False
    forks: int = DEFAULT_FORKS
    verbose: bool = False
    extra_vars: dict[str, Any] = field(default_factory=dict)
    accept_new_host_keys: bool = False

    @classmethod
    def from_task_args(cls, inventory: str | None = None, limit: str = "", tags: str = "", check: bool = False,
                       diff: bool = False, forks: int | str = DEFAULT_FORKS, verbose: bool = False,
                       extra_vars: Sequence[str] | None = None, accept_new_host_keys: bool = False) -> RunOptions:
        """Options from a fab task's arguments (strings as typed); OptionError for a bad value."""
        try:
            fork_count = int(forks)
        except ValueError:
            raise OptionError(f"--forks {forks!r}: expected a number") from None
        if fork_count < 1:
            raise OptionError(f"--forks {forks}: must be at least 1")
        return cls(inventory=choose_inventory(inventory), limit=limit or "",
                   tags=frozenset(tag.strip() for tag in (tags or "").split(",") if tag.strip()),
                   check=bool(check), diff=bool(diff), forks=fork_count, verbose=bool(verbose),
                   extra_vars=parse_extra_vars(extra_vars or ()), accept_new_host_keys=bool(accept_new_host_keys))

    def settings(self) -> RunSettings:
        """The runner's settings for these options."""
        return RunSettings(check=self.check, diff=self.diff, tags=self.tags, limit=self.limit, forks=self.forks,
                           verbose=self.verbose, log_dir=LOG_DIR)


_pool: ConnectionPool | None = None


def invocation_pool() -> ConnectionPool:
    """The connection pool shared by every task of this process (one ``fab`` invocation), closed at exit
    (after the invocation's counts are written to ``$FPGAOPS_STATS`` when it is set)."""
    global _pool
    if _pool is None:
        _pool = ConnectionPool()
        atexit.register(_end_invocation, _pool)
    return _pool


def _end_invocation(pool: ConnectionPool) -> None:
    if os.environ.get(STATS_ENV):
        write_stats(Path(os.environ[STATS_ENV]), pool)
    pool.close()


def write_stats(path: Path, pool: ConnectionPool) -> None:
    """The invocation's remote commands per host and AWS API calls by operation, as JSON (benchmarks read it)."""
    session = sys.modules.get("fpgaops.aws.session")  # not imported: no AWS call was made
    calls = dict(session.API_CALLS) if session else {}
    path.write_text(json.dumps({"remote_commands": pool.commands_run(), "aws_calls": sum(calls.values()),
                                "aws_calls_by_operation": calls}, indent=2, sort_keys=True) + "\n")


_facts: FactCache | None = None


def invocation_facts() -> FactCache:
    """The fact values and read-ahead shared by every task of this process (``fab provision deploy``)."""
    global _facts
    if _facts is None:
        _facts = FactCache()
    return _facts


def load_inventory(options: RunOptions) -> Inventory:
    """The task's inventory: the file, plus the project's running EC2 instances when it sets ``ec2_hosts: true``.

    Example: ``load_inventory(RunOptions.from_task_args(inventory="inventory/aws.yml")).group_hosts("f1")``
    """
    inventory = Inventory.load(options.inventory, extra_vars=options.extra_vars)
    if not inventory.groups["all"].vars.get("ec2_hosts"):
        return inventory
    from fpgaops.aws.ec2_inventory import with_project_instances  # boto3: only for inventories that need it

    return with_project_instances(options.inventory, options.extra_vars)


def run_roles(options: RunOptions, roles: Sequence[Role], console: Console | None = None,
              inventory: Inventory | None = None) -> int:
    """Load the inventory (unless given, already loaded), run ``roles`` on the shared connections, print the recap.

    Returns the exit code. 0: every host succeeded; 2: some host failed; 4: some host was unreachable;
    1: the run could not start (inventory, limit, tags), nothing was touched.

    Example: ``raise SystemExit(run_roles(RunOptions.from_task_args(check=True), [motd_role]))``
    """
    console = console or Console()
    try:
        if inventory is None:
            inventory = load_inventory(options)
            show_warnings(inventory, console)
        pool = invocation_pool()
        pool.accept_new = options.accept_new_host_keys
        pool.hosts.update(inventory.hosts)
        return run(inventory, roles, pool.get, options.settings(), console, invocation_facts()).exit_code
    except (InventoryError, RunError) as err:
        console.print(Text(f"Error: {err}", style="bold red"))
        return EXIT_CANNOT_START


def show_warnings(inventory: Inventory, console: Console) -> None:
    """Print what loading the inventory warned about (hosts listed by id, missing addresses...)."""
    for warning in inventory.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))


def options_task(body: Callable[..., int], *, name: str, doc: str, flags: Mapping[str, str] | None = None) -> Any:
    """A fab task taking the common options (and ``flags``), exiting with ``body(options, **flags)``'s code.

    Args: body: runs the task; name: its name on the command line; doc: its one-line help;
    flags: boolean options of this task only, name -> help (``{"disable": "remove it"}``).
    Example: ``ping = options_task(lambda options: run_roles(options, [ping_role]), name="ping", doc="...")``
    """
    flags = dict(flags or {})

    def task_body(c: Any, inventory: str = "", limit: str = "", tags: str = "", check: bool = False,
                  diff: bool = False, forks: int = DEFAULT_FORKS, verbose: bool = False,
                  extra_vars: list[str] | None = None, accept_new_host_keys: bool = False, **chosen: bool) -> None:
        try:
            options = RunOptions.from_task_args(inventory, limit, tags, check, diff, forks, verbose, extra_vars,
                                                accept_new_host_keys)
        except OptionError as err:
            raise Exit(f"Error: {err}", code=EXIT_CANNOT_START) from None
        code = body(options, **{flag: bool(chosen.get(flag, False)) for flag in flags})
        if code:
            raise Exit(code=code)

    signature = inspect.signature(task_body)
    parameters = [p for p in signature.parameters.values() if p.kind != inspect.Parameter.VAR_KEYWORD]
    parameters += [inspect.Parameter(flag, inspect.Parameter.KEYWORD_ONLY, default=False) for flag in flags]
    task_body.__signature__ = signature.replace(parameters=parameters)  # what invoke reads the options from
    task_body.__name__ = task_body.__qualname__ = name.replace("-", "_")
    task_body.__doc__ = doc
    return task(task_body, name=name, help={**COMMON_HELP, **flags}, iterable=["extra_vars"])


def roles_task(roles: Callable[[], Sequence[Role]], *, name: str, doc: str) -> Any:
    """A fab task taking the common options and running ``roles()`` with them.

    Args:
        roles: gives the roles to run, in order (called when the task runs).
        name: the task's name on the command line.
        doc: its one-line help (``fab --list``).

    Example: ``deploy = roles_task(lambda: [service.role()], name="deploy", doc="Deploy the service.")``
    """
    return options_task(lambda options: run_roles(options, roles()), name=name, doc=doc)
