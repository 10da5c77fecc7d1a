"""``fab status``: the project's instances and AFIs, with what they cost, as table-ready rows.

Cost so far is the cost of each instance's current running period: AWS bills Linux instances
per second (60 s minimum) while they run, and resets ``LaunchTime`` at each start. Spot
instances are priced at the current spot price of their zone, on-demand ones from the price book.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from fpgaops.aws.afi import MODEL_HASH_TAG, PLATFORM_TAG, Afi, find_afis
from fpgaops.aws.errors import translate_errors
from fpgaops.aws.instances import InstanceRecord, project_instances
from fpgaops.aws.pricing import PRICES_SOURCE, PriceBook, SpotPrice, running_cost_usd, spot_prices
from fpgaops.aws.progress import format_elapsed

BILLED_STATES = ("pending", "running")
INSTANCE_COLUMNS = ("role", "name", "instance", "type", "market", "state", "uptime", "$/hour", "cost so far")
AFI_COLUMNS = ("afi", "agfi", "state", "age", "platform", "model", "message")


@dataclass(frozen=True)
class InstanceStatus:
    """One instance of the project, priced."""

    role: str | None
    name: str
    instance_id: str
    instance_type: str
    market: str
    state: str
    uptime_s: float | None  # of the current running period; None when not running
    usd_per_hour: float | None  # None: no known price
    cost_usd: float | None  # of the current running period (0 when not running)
    public_ip: str | None
    availability_zone: str | None


@dataclass(frozen=True)
class AfiStatus:
    """One AFI of the project."""

    afi_id: str
    agfi_id: str | None
    state: str
    age_s: float | None
    message: str | None
    tags: Mapping[str, str]


@dataclass(frozen=True)
class ProjectStatus:
    """Everything ``fab status`` shows."""

    project: str
    region: str
    instances: tuple[InstanceStatus, ...]
    afis: tuple[AfiStatus, ...]
    prices_source: str

    @property
    def hourly_usd(self) -> float:
        """What the running instances cost per hour (known prices only)."""
        return round(sum(i.usd_per_hour or 0.0 for i in self.instances if i.state in BILLED_STATES), 4)

    @property
    def cost_usd(self) -> float:
        """The cost so far of the current running periods."""
        return round(sum(i.cost_usd or 0.0 for i in self.instances), 4)

    def instance_rows(self) -> list[dict[str, str]]:
        """One dict per instance, keyed by ``INSTANCE_COLUMNS``, values formatted for a table."""
        return [dict(zip(INSTANCE_COLUMNS, (
            i.role or "-", i.name, i.instance_id, i.instance_type, i.market, i.state,
            format_elapsed(i.uptime_s) if i.uptime_s is not None else "-",
            f"{i.usd_per_hour:.3f}" if i.usd_per_hour is not None else "?",
            f"{i.cost_usd:.2f}" if i.cost_usd is not None else "?"), strict=True)) for i in self.instances]

    def afi_rows(self) -> list[dict[str, str]]:
        """One dict per AFI, keyed by ``AFI_COLUMNS``."""
        return [dict(zip(AFI_COLUMNS, (
            a.afi_id, a.agfi_id or "-", a.state, format_elapsed(a.age_s) if a.age_s is not None else "-",
            a.tags.get(PLATFORM_TAG, "-"), a.tags.get(MODEL_HASH_TAG, "-")[:12], a.message or ""), strict=True))
            for a in self.afis]


@translate_errors
def project_status(ec2, project: str, *, prices: PriceBook | None = None, now: datetime | None = None,
                   include_afis: bool = True) -> ProjectStatus:
    """The project's instances (priced, with uptime and cost so far) and AFIs (state, age).

    Args:
        ec2: an EC2 client.
        project: the ``Project`` tag.
        prices: on-demand prices (the region's table by default).
        now: the time to measure uptime and cost to (the current time by default).
        include_afis: also list the AFIs.

    Example: ``for row in project_status(ec2, "beats").instance_rows(): print(row)``
    """
    region = ec2.meta.region_name
    prices = prices or PriceBook.for_region(region)
    now = now or datetime.now(UTC)
    records = project_instances(ec2, project)
    spot_types = {r.instance_type for r in records if r.market == "spot" and r.state in BILLED_STATES}
    spot = spot_prices(ec2, spot_types) if spot_types else {}
    instances = tuple(_instance_status(record, prices, spot, now) for record in records)
    afis = tuple(_afi_status(afi, now) for afi in find_afis(ec2, project)) if include_afis else ()
    return ProjectStatus(project, region, instances, afis, PRICES_SOURCE)


def instance_hourly_usd(record: InstanceRecord, prices: PriceBook, spot: Mapping[str, SpotPrice]) -> float | None:
    """The hourly price of an instance: its zone's spot price for spot, the price book's otherwise."""
    if record.market == "spot" and record.instance_type in spot:
        found = spot[record.instance_type]
        return found.by_zone.get(record.availability_zone or "", found.usd_per_hour)
    return prices.on_demand_usd(record.instance_type)


def _instance_status(record: InstanceRecord, prices: PriceBook, spot: Mapping[str, SpotPrice],
                     now: datetime) -> InstanceStatus:
    hourly = instance_hourly_usd(record, prices, spot)
    running = record.state in BILLED_STATES and record.launch_time is not None
    uptime = max(0.0, (now - record.launch_time).total_seconds()) if running else None
    if not running:
        cost = 0.0
    elif hourly is None:
        cost = None
    else:
        cost = running_cost_usd(record.launch_time, now, hourly)
    return InstanceStatus(record.role, record.name, record.instance_id, record.instance_type, record.market,
                          record.state, uptime, hourly, cost, record.public_ip, record.availability_zone)


def _afi_status(afi: Afi, now: datetime) -> AfiStatus:
    age = max(0.0, (now - afi.create_time).total_seconds()) if afi.create_time else None
    return AfiStatus(afi.afi_id, afi.agfi_id, afi.state, age, afi.message, afi.tags)

