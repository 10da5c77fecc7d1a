"""``DescribeSpotPriceHistory`` with plausible prices for the FPGA instance types.

moto answers a constant 0.00001 USD for every type, and nothing for f1.* (its offerings data has
no F1 since AWS retired it). Here an FPGA type costs, in each availability zone, a share of its
on-demand price (us-east-1 Linux, USD/hour) that goes from 30% in zone "a" to 38% in zone "e":
``on-demand x (0.30 + 0.02 x (zone letter index mod 5))``. F1 is offered in every zone of the
regions that had F1. Other types keep moto's price. Filters: availability-zone, instance-type,
product-description ("Linux/UNIX" or "Linux/UNIX (Amazon VPC)").
"""

from __future__ import annotations

from datetime import UTC, datetime
from fnmatch import fnmatchcase

from moto.core.responses import ActionResult
from moto.ec2.responses import EC2Response

from fpgaops.fpga_platform import FPGA_REGIONS
from fpgaops.platforms import F1

ON_DEMAND_USD_PER_HOUR = {
    "f1.2xlarge": 1.65, "f1.4xlarge": 3.30, "f1.16xlarge": 13.20,
    "f2.6xlarge": 1.98, "f2.12xlarge": 3.96, "f2.48xlarge": 15.84,
}
MOTO_SPOT_PRICE = "0.00001"
PRODUCT_DESCRIPTIONS = ("Linux/UNIX", "Linux/UNIX (Amazon VPC)")


def install_spot_prices() -> None:
    """Make moto's DescribeSpotPriceHistory price the FPGA instance types."""
    EC2Response.describe_spot_price_history = describe_spot_price_history


def spot_price(instance_type: str, availability_zone: str) -> str:
    """The spot price (USD/hour, 6 decimals) of an instance type in a zone, moto's for non-FPGA types."""
    on_demand = ON_DEMAND_USD_PER_HOUR.get(instance_type)
    if on_demand is None:
        return MOTO_SPOT_PRICE
    share = 0.30 + 0.02 * ((ord(availability_zone[-1]) - ord("a")) % 5)
    return f"{on_demand * share:.6f}"


def describe_spot_price_history(self: EC2Response) -> ActionResult:
    """DescribeSpotPriceHistory: one current price per (instance type, zone, product description)."""
    instance_types = self._get_param("InstanceTypes", [])
    filters = self._filters_from_querystring()
    zone = self._get_param("AvailabilityZone")
    descriptions = self._get_param("ProductDescriptions", []) or [PRODUCT_DESCRIPTIONS[0]]
    self.error_on_dryrun()
    now = datetime.now(UTC)
    history = [
        {"InstanceType": instance_type, "ProductDescription": description, "AvailabilityZone": location,
         "SpotPrice": spot_price(instance_type, location), "Timestamp": now}
        for instance_type, location in _offerings(self, instance_types)
        for description in descriptions
        if description in PRODUCT_DESCRIPTIONS and (zone is None or location == zone)
        and _matches(filters.get("availability-zone"), location)
        and _matches(filters.get("instance-type"), instance_type)
        and _matches(filters.get("product-description"), description)
    ]
    return ActionResult({"SpotPriceHistory": history})


def _offerings(response: EC2Response, instance_types: list[str]) -> list[tuple[str, str]]:
    """(instance type, zone) pairs offered in the region: moto's, plus F1 where F1 was."""
    backend = response.ec2_backend
    pairs = [(o["InstanceType"], o["Location"]) for o in backend.describe_spot_price_history(instance_types, {})]
    if backend.region_name in FPGA_REGIONS["f1"]:
        zones = [zone.name for zone in backend.describe_availability_zones()]
        pairs += [(instance_type, zone) for instance_type in F1.slots_by_instance_type for zone in zones
                  if not instance_types or instance_type in instance_types]
    return pairs


def _matches(patterns: list[str] | None, value: str) -> bool:
    return patterns is None or any(fnmatchcase(value, pattern) for pattern in patterns)
