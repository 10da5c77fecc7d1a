"""What the AWS fab tasks do (`fab status`, `fab stop`, `fab start`, `fab teardown`), kept out of the fabfile.

Settings come from the inventory's variables (``project``, ``aws_region``, ``aws_profile``, or the
sandbox's ``aws_endpoint_url``); every function returns the task's exit status.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from fpgaops.aws.errors import AwsError
from fpgaops.aws.pricing import PriceBook
from fpgaops.aws.session import AwsClients, project_of, settings_from_vars
from fpgaops.aws.status import project_status
from fpgaops.aws.status_table import show_project_status
from fpgaops.aws.teardown import Selection, start_instances, stop_instances, teardown, terminate_instances
from fpgaops.inventory import Inventory, InventoryError

LIFECYCLE_ACTIONS = {"stop": stop_instances, "start": start_instances, "terminate": terminate_instances}


@dataclass(frozen=True)
class AwsTarget:
    """Which project, reached how: from an inventory's variables."""

    clients: AwsClients
    project: str

    @classmethod
    def from_inventory(cls, inventory: Path, project: str = "") -> AwsTarget:
        settings = Inventory.load(inventory).groups["all"].vars
        return cls(AwsClients.shared(settings_from_vars(settings)), project or project_of(settings))


def _explained(action: Callable[[Console], int], console: Console) -> int:
    try:
        return action(console)
    except (AwsError, InventoryError) as err:
        console.print(f"Error: {err}", style="bold red", highlight=False)
        return 1


def show_status(inventory: Path, project: str = "", console: Console | None = None) -> int:
    """`fab status`: the project's instances (uptime, price, cost so far) and AFIs."""

    def act(console: Console) -> int:
        target = AwsTarget.from_inventory(inventory, project)
        show_project_status(project_status(target.clients.client("ec2"), target.project,
                                           prices=PriceBook.for_region(target.clients.region)), console)
        return 0

    return _explained(act, console or Console())


def confirmed(question: str, yes: bool, console: Console, ask: Callable[[str], str] = input) -> bool:
    """True when ``--yes`` was given, or a person at a terminal answered yes; never guesses for a script."""
    if yes:
        return True
    if not sys.stdin.isatty():
        console.print("not confirmed: rerun with --yes to do it without a question", style="yellow")
        return False
    return ask(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def change_instances(action: str, inventory: Path, *, project: str = "", names: str = "", roles: str = "",
                     yes: bool = False, console: Console | None = None) -> int:
    """`fab stop|start`, and `fab teardown`'s instances: show what would happen, confirm, then do it.

    Example: ``change_instances("stop", Path("inventory/sandbox.yml"), roles="f1", yes=True)``
    """
    selection = Selection(names=tuple(filter(None, names.split(","))), roles=tuple(filter(None, roles.split(","))))

    def act(console: Console) -> int:
        target = AwsTarget.from_inventory(inventory, project)
        ec2, apply = target.clients.client("ec2"), LIFECYCLE_ACTIONS[action]
        planned = apply(ec2, target.project, selection, dry_run=True)
        console.print(planned.summary())
        if not planned.changed or not confirmed(f"{action} these instances of {target.project}?", yes, console):
            return 0 if not planned.changed else 1
        console.print(apply(ec2, target.project, selection).summary())
        return 0

    return _explained(act, console or Console())


def tear_down(inventory: Path, *, project: str = "", delete_afis: bool = False, yes: bool = False,
              console: Console | None = None) -> int:
    """`fab teardown`: terminate every instance of the project (and its idle alarms), optionally delete its AFIs."""

    def act(console: Console) -> int:
        target = AwsTarget.from_inventory(inventory, project)
        clients = target.clients

        def run(dry_run: bool):
            return teardown(clients.client("ec2"), clients.client("s3"), target.project, delete_afi_images=delete_afis,
                            cloudwatch=clients.client("cloudwatch"), dry_run=dry_run)

        console.print(run(True).summary())
        if not confirmed(f"tear down project {target.project}?", yes, console):
            return 1
        console.print(run(False).summary())
        return 0

    return _explained(act, console or Console())
