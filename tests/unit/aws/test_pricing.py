"""Prices: the on-demand table, live spot prices (lowest zone), the cost of a running period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fpgaops.aws.pricing import PRICES_SOURCE, PriceBook, billed_seconds, running_cost_usd, spot_prices
from fpgaops.sandbox.cloud.spot_prices import ON_DEMAND_USD_PER_HOUR as SANDBOX_ON_DEMAND
from tests.unit.aws.aws_fakes import Injected, moto_cloud

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_table_prices_fpga_and_dev_types_and_says_where_it_came_from() -> None:
    book = PriceBook.for_region("us-east-1")

    assert {t: book.on_demand_usd(t) for t in SANDBOX_ON_DEMAND} == SANDBOX_ON_DEMAND
    assert book.on_demand_usd("z1d.2xlarge") == 0.744 and book.on_demand_usd("p5.48xlarge") is None
    assert "aws.amazon.com/ec2/pricing/on-demand" in PRICES_SOURCE


def test_the_config_overrides_and_extends_the_table() -> None:
    book = PriceBook.for_region("eu-west-2", {"f2.6xlarge": 2.18})

    assert book.on_demand_usd("f2.6xlarge") == 2.18 and book.on_demand_usd("f2.12xlarge") is None


def test_spot_prices_are_the_latest_per_zone_and_the_lowest_zone() -> None:
    with moto_cloud() as aws:
        ec2 = aws.client("ec2")

        prices = spot_prices(ec2, ["f2.6xlarge", "f1.2xlarge"])

        f2 = prices["f2.6xlarge"]
        assert (f2.usd_per_hour, f2.availability_zone) == (0.594, "us-east-1a")
        assert f2.by_zone["us-east-1b"] == 0.6336 and prices["f1.2xlarge"].usd_per_hour == 0.495
        with Injected(ec2) as hooks:  # two readings of one zone: the later one counts
            hooks.answer("DescribeSpotPriceHistory", {"SpotPriceHistory": [
                {"InstanceType": "f2.6xlarge", "AvailabilityZone": "us-east-1c", "SpotPrice": "0.9",
                 "Timestamp": START + timedelta(hours=1), "ProductDescription": "Linux/UNIX"},
                {"InstanceType": "f2.6xlarge", "AvailabilityZone": "us-east-1c", "SpotPrice": "0.5",
                 "Timestamp": START, "ProductDescription": "Linux/UNIX"}]})
            assert spot_prices(ec2, ["f2.6xlarge"])["f2.6xlarge"].usd_per_hour == 0.9
        assert spot_prices(ec2, []) == {}


def test_a_running_period_is_billed_per_second_with_a_minute_minimum() -> None:
    assert running_cost_usd(START, START + timedelta(hours=2, minutes=30), 1.98) == 4.95
    assert billed_seconds(START, START + timedelta(seconds=20)) == 60
    assert round(running_cost_usd(START, START + timedelta(seconds=90), 3.6), 6) == 0.09
