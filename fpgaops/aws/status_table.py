"""`fab status` on screen: the project's instances and AFIs as rich tables, with totals."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from fpgaops.aws.status import AFI_COLUMNS, INSTANCE_COLUMNS, ProjectStatus


def show_project_status(status: ProjectStatus, console: Console) -> None:
    """Print the instances (with hourly price and cost so far), the AFIs and where prices come from."""
    instances = Table(*INSTANCE_COLUMNS, title=f"{status.project} instances in {status.region}")
    for row in status.instance_rows():
        instances.add_row(*row.values())
    console.print(instances if status.instances else f"no instances of project {status.project} in {status.region}")
    if status.afis:
        afis = Table(*AFI_COLUMNS, title="AFIs")
        for row in status.afi_rows():
            afis.add_row(*row.values())
        console.print(afis)
    console.print(f"running now: ${status.hourly_usd:.2f}/h; cost of the current running periods: "
                  f"${status.cost_usd:.2f}")
    console.print(f"on-demand prices: {status.prices_source}; spot: describe_spot_price_history", style="dim")
