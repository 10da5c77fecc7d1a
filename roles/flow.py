"""A multi-step task (``fab deploy``, ``fab synth``...): roles on hosts and laptop-side steps in one invocation.

``Flow`` holds the task's options, the inventory and the invocation's connections; ``run`` runs
roles with extra variables a previous step computed (the release to deploy, the AFI to load) and
stops the flow at the first role with a failed or unreachable host, with the runner's exit code.

Example::

    flow = Flow(RunOptions.from_task_args(inventory="inventory/sandbox.yml"))
    flow.run([dev_host.role()])
    flow.run([rhythm_service.role()], rhythm_release_id="3f9a...", rhythm_release_tarball="build/...")
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from fpgaops.cli_options import (
    EXIT_CANNOT_START,
    RunOptions,
    invocation_facts,
    invocation_pool,
    load_inventory,
    options_task,
    run_roles,
    show_warnings,
)
from fpgaops.connection import HostConnection
from fpgaops.inventory import Host, Inventory, InventoryError
from fpgaops.runner import Role, read_ahead
from fpgaops.sandbox.config import PROJECT_ROOT

ARTIFACTS_ENV = "FPGAOPS_ARTIFACTS"  # where builds, packages and releases are kept on the laptop
ARTIFACTS_DIR = Path(os.environ.get(ARTIFACTS_ENV) or PROJECT_ROOT / "build" / "deploy")


class FlowStopped(Exception):
    """A step of the flow failed: ``exit_code`` is the task's exit code, the message says what and what next."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Flow:
    """One task invocation: its options, inventory, console and connections."""

    def __init__(self, options: RunOptions, console: Console | None = None) -> None:
        self.options = options
        self.console = console or Console()
        self.reload_inventory()

    def reload_inventory(self) -> None:
        """Read the inventory again (after ``provision``, the EC2 instances are in it)."""
        try:
            self.inventory: Inventory = load_inventory(self.options)
        except InventoryError as err:
            raise FlowStopped(str(err), EXIT_CANNOT_START) from None
        show_warnings(self.inventory, self.console)

    @property
    def check(self) -> bool:
        """True in check mode: roles show changes, laptop steps only say what they would do."""
        return self.options.check

    def hosts(self, group: str) -> list[Host]:
        """The hosts of ``group`` that ``--limit`` selects (none when the inventory has no such group)."""
        if group not in self.inventory.groups:
            return []
        chosen = {host.name for host in self.inventory.select(self.options.limit)}
        return [host for host in self.inventory.group_hosts(group) if host.name in chosen]

    @property
    def settings(self) -> dict[str, Any]:
        """The inventory's ``all`` variables with ``-e`` on top: the project-wide settings (AWS, project...)."""
        return {**self.inventory.groups["all"].vars, **self.options.extra_vars}

    def run(self, roles: list[Role], **extra_vars: Any) -> None:
        """Run ``roles`` on the flow's inventory, with ``extra_vars`` (computed by an earlier step) over every
        other variable for this run; ``FlowStopped`` when a host failed or was unreachable."""
        code = run_roles(self.options, roles, self.console, self.inventory.with_extra_vars(extra_vars))
        if code:
            names = ", ".join(role.name for role in roles)
            raise FlowStopped(f"{names}: stopped (see the recap above and the log in .fpgaops/logs)", code)

    def read_ahead(self, roles: list[Role], **extra_vars: Any) -> None:
        """Have the next reading of facts on each host also read those ``roles`` will need (run later with
        ``extra_vars``): a flow's no-op then costs one round trip per host."""
        with contextlib.suppress(InventoryError):  # a bad --limit: the run itself says so
            read_ahead(invocation_facts(), self.inventory.with_extra_vars(extra_vars), roles, self.options.settings())

    def connection(self, host: Host) -> HostConnection:
        """The invocation's connection to ``host`` (opened once, shared with the roles); what the caller runs
        may change the host, so the facts read there before are read again when needed."""
        invocation_facts().forget(host.name)
        return invocation_pool().get(host)

    def say(self, message: str, style: str = "bold") -> None:
        """A line of the flow's own progress."""
        self.console.print(Text(message, style=style))


def artifacts_dir(*parts: str) -> Path:
    """A folder under ``build/deploy`` (created)."""
    path = ARTIFACTS_DIR.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def content_tarball(files: dict[str, Path], out_dir: Path, prefix: str) -> tuple[Path, str]:
    """A reproducible tarball of ``files`` (name inside -> laptop path) named by their content: ``(path, id)``.

    The id is 16 hex digits of the sha256 over the names and contents; the tarball is
    ``<out_dir>/<prefix>-<id>.tar.gz`` with one top folder, built once (atomically) and then reused.
    Example: ``content_tarball({"hls_model/x.py": Path("hls_model/x.py")}, artifacts_dir("src"), "src")``
    """
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0".encode() + hashlib.sha256(files[name].read_bytes()).digest())
    ident = digest.hexdigest()[:16]
    destination = out_dir / f"{prefix}-{ident}.tar.gz"
    if not destination.is_file():
        from hls_model.package import tarball  # here, not at the top: every fab command imports this module

        staging = out_dir / f".staging-{prefix}-{ident}"
        shutil.rmtree(staging, ignore_errors=True)
        for name, path in files.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        partial = destination.with_suffix(".partial")
        tarball(staging, partial)
        partial.rename(destination)
        shutil.rmtree(staging)
    return destination, ident


def flow_task(steps: Callable[..., Any], *, name: str, doc: str, flags: dict[str, str] | None = None) -> Any:
    """A fab task taking the common options (as ``cli_options.roles_task``) and running ``steps(flow, **flags)``.

    Exit codes: those of the runner (0 ok, 1 could not start, 2 a host failed, 4 unreachable), or
    the failing step's.
    Example: ``deploy = flow_task(deploy_steps, name="deploy", doc="Build, load and start everything.")``
    """

    def run_steps(options: RunOptions, **chosen: bool) -> int:
        try:
            steps(Flow(options), **chosen)
        except FlowStopped as err:
            Console().print(Text(f"Error: {err}", style="bold red"))
            return err.exit_code
        return 0

    return options_task(run_steps, name=name, doc=doc, flags=flags)
