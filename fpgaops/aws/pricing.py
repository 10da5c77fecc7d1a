"""What instances cost: on-demand prices from a table, spot prices from AWS, cost of a running period.

On-demand prices (USD per hour, Linux, shared tenancy) come from AWS's public price list
(https://aws.amazon.com/ec2/pricing/on-demand/, "Linux" tab), as published in 2025 for US East
(N. Virginia) and US West (Oregon), which price these types the same; F2 from the F2 launch
announcement (2024-12). They change rarely but they do change: a project overrides or extends
them with ``PriceBook.for_region(region, overrides)`` from its config. Spot prices are read live
with ``DescribeSpotPriceHistory``.

Billing: per second with a 60-second minimum for Linux instances, only while ``running``; AWS
resets ``LaunchTime`` when a stopped instance starts, so a cost computed from it is the cost of the
current running period. EBS volumes are billed even when stopped and are not counted here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fpgaops.aws.errors import translate_errors

PRICES_SOURCE = ("AWS EC2 on-demand price list (aws.amazon.com/ec2/pricing/on-demand), Linux, us-east-1/us-west-2, "
                 "as published in 2025")
_US_PRICES = {
    # FPGA instances
    "f1.2xlarge": 1.65, "f1.4xlarge": 3.30, "f1.16xlarge": 13.20,
    "f2.6xlarge": 1.98, "f2.12xlarge": 3.96, "f2.48xlarge": 15.84,
    # build (dev) instances usual for Vivado: memory for place and route, fast cores
    "z1d.xlarge": 0.372, "z1d.2xlarge": 0.744, "z1d.3xlarge": 1.116, "z1d.6xlarge": 2.232,
    "c5.2xlarge": 0.34, "c5.4xlarge": 0.68, "c5.9xlarge": 1.53,
    "c6i.2xlarge": 0.34, "c6i.4xlarge": 0.68, "c6i.8xlarge": 1.36,
    "m5.xlarge": 0.192, "m5.2xlarge": 0.384, "m5.4xlarge": 0.768,
    "m6i.xlarge": 0.192, "m6i.2xlarge": 0.384, "m6i.4xlarge": 0.768,
    "r5.xlarge": 0.252, "r5.2xlarge": 0.504, "r6i.2xlarge": 0.504,
    "t3.large": 0.0832, "t3.xlarge": 0.1664, "t3.2xlarge": 0.3328,
}
ON_DEMAND_USD_PER_HOUR: dict[str, dict[str, float]] = {"us-east-1": _US_PRICES, "us-west-2": _US_PRICES}
LINUX = "Linux/UNIX"
MINIMUM_BILLED_S = 60


@dataclass(frozen=True)
class PriceBook:
    """The on-demand prices of one region (USD/hour), the table's merged with the config's overrides."""

    region: str
    on_demand: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def for_region(cls, region: str, overrides: Mapping[str, float] | None = None) -> PriceBook:
        """The table's prices for ``region`` (none for a region not in it), then ``overrides``.

        Example: ``PriceBook.for_region("eu-west-2", {"f2.6xlarge": 2.18}).on_demand_usd("f2.6xlarge")``
        """
        return cls(region, {**ON_DEMAND_USD_PER_HOUR.get(region, {}), **(overrides or {})})

    def on_demand_usd(self, instance_type: str) -> float | None:
        """The on-demand price of ``instance_type`` per hour, or None when the table does not have it."""
        return self.on_demand.get(instance_type)


@dataclass(frozen=True)
class SpotPrice:
    """The current spot price of an instance type: the lowest over the zones, and each zone's."""

    instance_type: str
    usd_per_hour: float
    availability_zone: str  # where the lowest price is
    by_zone: Mapping[str, float]


@translate_errors
def spot_prices(ec2, instance_types: Iterable[str], *, availability_zone: str | None = None,
                product_description: str = LINUX) -> dict[str, SpotPrice]:
    """The current spot price of each instance type (the latest per zone, lowest zone first); missing
    types are not offered as spot here.

    Args:
        ec2: an EC2 client.
        instance_types: e.g. ``["f2.6xlarge"]``.
        availability_zone: only this zone (e.g. the zone a running spot instance is in).
        product_description: ``"Linux/UNIX"``.

    Example: ``spot_prices(ec2, ["f2.6xlarge"])["f2.6xlarge"].usd_per_hour``
    """
    types = sorted(set(instance_types))
    if not types:
        return {}
    request = {"InstanceTypes": types, "ProductDescriptions": [product_description], "StartTime": datetime.now(UTC)}
    if availability_zone:
        request["AvailabilityZone"] = availability_zone
    latest: dict[tuple[str, str], tuple[datetime, float]] = {}
    for page in ec2.get_paginator("describe_spot_price_history").paginate(**request):
        for entry in page["SpotPriceHistory"]:
            key = (entry["InstanceType"], entry["AvailabilityZone"])
            if key not in latest or entry["Timestamp"] > latest[key][0]:
                latest[key] = (entry["Timestamp"], float(entry["SpotPrice"]))
    found: dict[str, SpotPrice] = {}
    for instance_type in types:
        by_zone = {zone: price for (kind, zone), (_, price) in sorted(latest.items()) if kind == instance_type}
        if by_zone:
            zone = min(by_zone, key=lambda z: (by_zone[z], z))
            found[instance_type] = SpotPrice(instance_type, by_zone[zone], zone, by_zone)
    return found


def billed_seconds(launch_time: datetime, now: datetime) -> float:
    """Seconds billed for a running period that began at ``launch_time`` (60 s minimum, per second after)."""
    return max(float(MINIMUM_BILLED_S), (now - launch_time).total_seconds())


def running_cost_usd(launch_time: datetime, now: datetime, usd_per_hour: float) -> float:
    """The cost of a running period from ``launch_time`` to ``now`` at ``usd_per_hour``.

    Example: ``running_cost_usd(datetime(2026, 1, 1, 10, tzinfo=UTC), datetime(2026, 1, 1, 12, 30, tzinfo=UTC), 1.98)``
    -> 4.95
    """
    return billed_seconds(launch_time, now) * usd_per_hour / 3600.0
