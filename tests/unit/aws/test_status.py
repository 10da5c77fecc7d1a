"""``fab status`` data: a known running time gives a known cost; spot priced at its zone; AFIs with their age."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fpgaops.aws.instances import FleetConfig, InstanceGroup, LaunchSettings, ensure_fleet
from fpgaops.aws.pricing import PriceBook
from fpgaops.aws.status import AFI_COLUMNS, INSTANCE_COLUMNS, project_status
from fpgaops.platforms import F2
from tests.unit.aws.aws_fakes import Injected, moto_cloud

LAUNCHED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = LAUNCHED + timedelta(hours=2, minutes=30)
FAST = LaunchSettings(owner="tester", poll_interval_s=0.01)


@pytest.fixture(scope="module")
def ec2() -> Iterator[Any]:
    with moto_cloud() as aws:
        yield aws.client("ec2")


def launched_at(when: datetime):
    def change(parsed: dict) -> None:
        for reservation in parsed["Reservations"]:
            for instance in reservation["Instances"]:
                instance["LaunchTime"] = when
                instance.setdefault("Placement", {})["AvailabilityZone"] = "us-east-1b"
    return change


def test_a_known_running_time_gives_a_known_cost(ec2) -> None:
    groups = (InstanceGroup("dev", 1, "z1d.2xlarge"), InstanceGroup("f1", 2, "f2.6xlarge"))
    result = ensure_fleet(ec2, FleetConfig("costs", groups, "k", (), F2, FAST))
    ec2.stop_instances(InstanceIds=[next(i.instance_id for i in result.instances if i.name == "f1-b")])

    with Injected(ec2) as hooks:
        hooks.after("DescribeInstances", launched_at(LAUNCHED))
        status = project_status(ec2, "costs", now=NOW)

    rows = {row["name"]: row for row in status.instance_rows()}
    assert list(rows["f1-a"]) == list(INSTANCE_COLUMNS)
    assert rows["f1-a"] == {"role": "f1", "name": "f1-a", "instance": rows["f1-a"]["instance"], "type": "f2.6xlarge",
                            "market": "on-demand", "state": "running", "uptime": "2h30m00s", "$/hour": "1.980",
                            "cost so far": "4.95"}
    assert rows["dev-a"]["cost so far"] == "1.86"
    assert (rows["f1-b"]["state"], rows["f1-b"]["uptime"], rows["f1-b"]["cost so far"]) == ("stopped", "-", "0.00")
    assert status.hourly_usd == 2.724 and status.cost_usd == 6.81
    assert "aws.amazon.com" in status.prices_source


def test_spot_is_priced_at_its_zone_and_unknown_types_show_a_question_mark(ec2) -> None:
    groups = (InstanceGroup("f1", 1, "f2.6xlarge", market="spot"), InstanceGroup("dev", 1, "x9.mystery"))
    ensure_fleet(ec2, FleetConfig("spotcost", groups, "k", (), F2, FAST))

    with Injected(ec2) as hooks:
        hooks.after("DescribeInstances", launched_at(LAUNCHED))
        status = project_status(ec2, "spotcost", now=NOW, prices=PriceBook.for_region("us-east-1"))

    rows = {row["name"]: row for row in status.instance_rows()}
    assert (rows["f1-a"]["market"], rows["f1-a"]["$/hour"], rows["f1-a"]["cost so far"]) == ("spot", "0.634", "1.58")
    assert (rows["dev-a"]["$/hour"], rows["dev-a"]["cost so far"]) == ("?", "?")


def test_afis_are_listed_with_state_and_age(ec2) -> None:
    with Injected(ec2) as hooks:
        hooks.answer("DescribeFpgaImages", {"FpgaImages": [{
            "FpgaImageId": "afi-0123456789abcdef0", "FpgaImageGlobalId": "agfi-0123456789abcdef0",
            "State": {"Code": "failed", "Message": "MANIFEST_NOT_FOUND: No manifest file was found."},
            "CreateTime": LAUNCHED, "Tags": [{"Key": "Project", "Value": "afis"}, {"Key": "Platform", "Value": "f2"},
                                             {"Key": "ModelHash", "Value": "9f2c" * 16}]}]})
        status = project_status(ec2, "afis", now=NOW)

    assert status.afi_rows() == [dict(zip(AFI_COLUMNS, (
        "afi-0123456789abcdef0", "agfi-0123456789abcdef0", "failed", "2h30m00s", "f2", "9f2c9f2c9f2c",
        "MANIFEST_NOT_FOUND: No manifest file was found."), strict=True))]
    assert status.instances == ()
