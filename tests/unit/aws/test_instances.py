"""Instances against moto in-process: found by tags, launched once, started, spot with fallback, clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fpgaops.aws.budget import BudgetPolicy
from fpgaops.aws.ec2_inventory import ec2_inventory
from fpgaops.aws.errors import AwsError, BudgetExceeded, CapacityError
from fpgaops.aws.instances import (
    FleetConfig,
    InstanceGroup,
    LaunchSettings,
    ensure_fleet,
    find_developer_ami,
    fleet_groups,
    plan_fleet,
    project_instances,
)
from fpgaops.aws.progress import Progress
from fpgaops.aws.session import AwsClients
from fpgaops.platforms import F1, F2
from tests.unit.aws.aws_fakes import Injected, moto_cloud

FAST = LaunchSettings(owner="tester", poll_interval_s=0.01, spot_fulfilment_timeout_s=0.3, running_timeout_s=5)


@pytest.fixture(scope="module")
def aws() -> Iterator[AwsClients]:
    with moto_cloud() as clients:
        yield clients


@pytest.fixture
def ec2(aws: AwsClients) -> Iterator[Any]:
    client = aws.client("ec2")
    with Injected(client) as hooks:
        client.hooks = hooks  # the test's injected failures, removed after it
        yield client


@pytest.fixture
def project(request: pytest.FixtureRequest) -> str:
    return request.node.name[:40]


def config(project: str, groups=None, launch: LaunchSettings = FAST, platform=F2) -> FleetConfig:
    return FleetConfig(project, groups or fleet_groups(platform), "laptop", (), platform, launch)


def test_a_dev_and_an_fpga_instance_are_launched_with_tags_imdsv2_and_encrypted_volumes(ec2, project) -> None:
    events: list[Progress] = []

    result = ensure_fleet(ec2, config(project), progress=events.append)

    assert [(o.name, o.action) for o in result.outcomes] == [("dev-a", "launched"), ("f1-a", "launched")]
    assert result.changed and result.image.image_id == find_developer_ami(ec2, F2).image_id
    reply = ec2.describe_instances(InstanceIds=[i.instance_id for i in result.instances])
    described = {{t["Key"]: t["Value"] for t in i["Tags"]}["Name"]: i
                 for r in reply["Reservations"] for i in r["Instances"]}
    fpga = described["f1-a"]
    assert fpga["InstanceType"] == "f2.6xlarge" and described["dev-a"]["InstanceType"] == "z1d.2xlarge"
    assert fpga["MetadataOptions"]["HttpTokens"] == "required"
    tags = {t["Key"]: t["Value"] for t in fpga["Tags"]}
    assert tags == {"Project": project, "Role": "f1", "Name": "f1-a", "LoginUser": "ubuntu", "Owner": "tester"}
    volumes = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [fpga["InstanceId"]]}])
    volume = volumes["Volumes"][0]
    assert volume["Encrypted"] and volume["Size"] == 100 and volume["VolumeType"] == "gp3"
    assert {t["Key"]: t["Value"] for t in volume["Tags"]}["Name"] == "f1-a"
    assert all(i.state == "running" for i in result.instances)
    assert {e.stage for e in events} >= {"launch", "wait-running"}
    inventory = ec2_inventory(ec2, project)  # the dynamic inventory sees them at once
    assert [h.name for h in inventory.select("f1")] == ["f1-a"]
    assert inventory.hosts["f1-a"].vars["ansible_user"] == "ubuntu"


def test_a_second_run_creates_nothing_and_says_so(ec2, project) -> None:
    ensure_fleet(ec2, config(project))
    launches = ec2.hooks.count("RunInstances")

    again = ensure_fleet(ec2, config(project))

    assert launches == [] and not again.changed
    assert again.summary() == "nothing to do: dev-a, f1-a already running"
    assert plan_fleet(ec2, config(project)).changes_nothing


def test_the_launch_request_is_idempotent_by_its_client_token(ec2, project) -> None:
    calls = ec2.hooks.count("RunInstances")
    first = {r.name: r.instance_id for r in ensure_fleet(ec2, config(project)).instances}
    first_tokens = [call["ClientToken"] for call in calls]
    for instance_id in first.values():
        ec2.terminate_instances(InstanceIds=[instance_id])

    again = {r.name: r.instance_id for r in ensure_fleet(ec2, config(project)).instances}

    assert len(set(first_tokens)) == 2 and all(len(token) <= 64 for token in first_tokens)
    retried = [call["ClientToken"] for call in calls[2:]]
    # each slot asks again with its first token (AWS answers with the terminated instance), then a new one
    assert retried[0::2] == first_tokens and all(t.endswith("-1") for t in retried[1::2])
    assert set(again) == set(first) and not set(again.values()) & set(first.values())


def test_a_token_whose_instance_was_terminated_gets_a_new_attempt(ec2, project) -> None:
    calls = ec2.hooks.count("RunInstances")
    # AWS answers a token it has seen with that launch's instance, even once terminated
    ec2.hooks.answer("RunInstances", lambda body: {"Instances": [{
        "InstanceId": "i-0000000000000dead", "State": {"Code": 48, "Name": "terminated"}}]}
        if body["ClientToken"].endswith("-0") else None)

    result = ensure_fleet(ec2, config(project))

    assert [call["ClientToken"][-2:] for call in calls] == ["-0", "-1", "-0", "-1"]
    assert "i-0000000000000dead" not in [i.instance_id for i in result.instances]


def test_a_stopped_instance_is_started_not_replaced(ec2, project) -> None:
    first = ensure_fleet(ec2, config(project))
    fpga = next(i for i in first.instances if i.name == "f1-a")
    ec2.stop_instances(InstanceIds=[fpga.instance_id])

    again = ensure_fleet(ec2, config(project))

    assert [(o.name, o.action) for o in again.outcomes] == [("dev-a", "kept"), ("f1-a", "started")]
    assert next(i for i in again.instances if i.name == "f1-a").instance_id == fpga.instance_id


def test_more_fpga_instances_keep_the_first_ones(ec2, project) -> None:
    ensure_fleet(ec2, config(project))

    grown = ensure_fleet(ec2, config(project, fleet_groups(F2, fpga_count=3)))

    assert [(o.name, o.action) for o in grown.outcomes] == [
        ("dev-a", "kept"), ("f1-a", "kept"), ("f1-b", "launched"), ("f1-c", "launched")]
    shrunk = ensure_fleet(ec2, config(project, fleet_groups(F2, fpga_count=1)))
    assert not shrunk.changed and [r.name for r in shrunk.unplanned] == ["f1-b", "f1-c"]


def test_spot_is_asked_as_a_persistent_request_that_stops(ec2, project) -> None:
    calls = ec2.hooks.count("RunInstances")

    result = ensure_fleet(ec2, config(project, fleet_groups(F2, fpga_market="spot", spot_max_price_usd=1.2)))

    assert next(o for o in result.outcomes if o.name == "f1-a").detail == "spot"
    fpga_call = next(c for c in calls if c["InstanceType"] == "f2.6xlarge")
    assert fpga_call["InstanceMarketOptions"] == {"MarketType": "spot", "SpotOptions": {
        "SpotInstanceType": "persistent", "InstanceInterruptionBehavior": "stop", "MaxPrice": "1.2000"}}
    assert next(i for i in result.instances if i.name == "f1-a").market == "spot"


def describe(ec2, instance_id: str) -> dict:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def is_spot(params: dict) -> bool:
    return "InstanceMarketOptions" in params


def test_no_spot_capacity_falls_back_to_on_demand(ec2, project) -> None:
    ec2.hooks.fail("RunInstances", "InsufficientInstanceCapacity",
                   "There is no Spot capacity available that matches your request.", times=None, when=is_spot)
    events: list[Progress] = []

    result = ensure_fleet(ec2, config(project, fleet_groups(F2, fpga_market="spot")), progress=events.append)

    fpga = next(o for o in result.outcomes if o.name == "f1-a")
    assert fpga.action == "launched-on-demand" and "InsufficientInstanceCapacity" in fpga.detail
    assert next(i for i in result.instances if i.name == "f1-a").market == "on-demand"
    assert any(e.stage == "fallback" for e in events)


def test_no_spot_capacity_without_fallback_is_a_clear_error(ec2, project) -> None:
    ec2.hooks.fail("RunInstances", "InsufficientInstanceCapacity", "no Spot capacity", times=None, when=is_spot)
    launch = LaunchSettings(owner="tester", poll_interval_s=0.01, on_demand_fallback=False)

    with pytest.raises(CapacityError) as raised:
        ensure_fleet(ec2, config(project, fleet_groups(F2, fpga_market="spot"), launch))

    assert "f1-a: no spot instance" in str(raised.value) and "on_demand_fallback" in str(raised.value)


def test_a_spot_request_never_fulfilled_is_cancelled_and_replaced_by_on_demand(ec2, project) -> None:
    pending = {}

    def open_spot_request(parsed: dict) -> None:  # AWS: the persistent request is open, the instance pending
        instance = parsed["Instances"][0]
        if instance.get("InstanceLifecycle") == "spot":
            pending[instance["InstanceId"]] = "sir-0123456789abcdef"
            instance["SpotInstanceRequestId"] = "sir-0123456789abcdef"

    def still_pending(parsed: dict) -> None:
        for reservation in parsed["Reservations"]:
            for instance in reservation["Instances"]:
                if instance["InstanceId"] in pending and instance["State"]["Name"] != "terminated":
                    instance["State"] = {"Code": 0, "Name": "pending"}
                    instance["SpotInstanceRequestId"] = pending[instance["InstanceId"]]

    cancelled = ec2.hooks.count("CancelSpotInstanceRequests")
    ec2.hooks.after("RunInstances", open_spot_request).after("DescribeInstances", still_pending)
    ec2.hooks.answer("DescribeSpotInstanceRequests", {"SpotInstanceRequests": [{
        "SpotInstanceRequestId": "sir-0123456789abcdef", "State": "open",
        "Status": {"Code": "capacity-not-available", "Message": "no capacity"}}]})
    ec2.hooks.answer("CancelSpotInstanceRequests", {"CancelledSpotInstanceRequests": []})

    result = ensure_fleet(ec2, config(project, fleet_groups(F2, fpga_market="spot")))

    fpga = next(o for o in result.outcomes if o.name == "f1-a")
    assert fpga.action == "launched-on-demand"
    assert "not fulfilled after 0s (capacity-not-available)" in fpga.detail
    assert cancelled == [{"SpotInstanceRequestIds": ["sir-0123456789abcdef"]}]
    spot_id = next(iter(pending))
    assert describe(ec2, spot_id)["State"]["Name"] == "terminated"
    assert [i.name for i in project_instances(ec2, project)] == ["dev-a", "f1-a"]


def test_on_demand_capacity_error_tries_the_next_subnet(ec2, project) -> None:
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    ec2.hooks.fail("RunInstances", "InsufficientInstanceCapacity",
                   "We currently do not have sufficient f2.6xlarge capacity in the Availability Zone you requested",
                   when=lambda params: params.get("SubnetId") == subnets[0] and params["InstanceType"] == "f2.6xlarge")
    launch = LaunchSettings(owner="tester", poll_interval_s=0.01, subnet_ids=tuple(subnets))

    result = ensure_fleet(ec2, config(project, launch=launch))

    fpga = next(i for i in result.instances if i.name == "f1-a")
    assert describe(ec2, fpga.instance_id)["SubnetId"] == subnets[1]


@pytest.mark.parametrize(("code", "message", "expected"), [
    ("VcpuLimitExceeded", "You have requested more vCPU capacity than your current vCPU limit of 0 allows for the "
     "instance bucket that the specified instance type belongs to.", "not enabled for this account"),
    ("InsufficientInstanceCapacity", "We currently do not have sufficient f2.6xlarge capacity", "subnets"),
    ("UnauthorizedOperation", "You are not authorized to perform this operation. Encoded authorization failure "
     "message: abc", "add ec2:RunInstances to the IAM policy"),
    ("InvalidParameterValue", "Invalid value 'f3.huge' for InstanceType.", "FPGA instance types: f2.6xlarge"),
    ("PendingVerification", "Your request for accessing resources in this region is being validated", "4 hours"),
    ("OptInRequired", "In order to use this AWS Marketplace product you need to accept terms and subscribe.",
     "subscribe to the 'FPGA Developer AMI'"),
])
def test_launch_errors_say_what_to_do(ec2, project, code, message, expected) -> None:
    ec2.hooks.fail("RunInstances", code, message, times=None)

    with pytest.raises(AwsError) as raised:
        ensure_fleet(ec2, config(project))

    assert raised.value.code == code and expected in str(raised.value)
    assert "launching dev-a" in raised.value.summary


def test_f1_unsupported_points_to_f2(ec2, project) -> None:
    ec2.hooks.fail("RunInstances", "Unsupported", "Your requested instance type (f1.2xlarge) is not supported "
                   "in your requested Availability Zone.", times=None)

    with pytest.raises(AwsError) as raised:
        ensure_fleet(ec2, config(project, fleet_groups(F1), platform=F1))

    assert "use F2" in raised.value.fix


def test_throttled_calls_are_retried_by_botocore(ec2, project, monkeypatch) -> None:
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0)
    ec2.hooks.throttle("RunInstances", times=2).throttle("DescribeInstances", times=2)

    result = ensure_fleet(ec2, config(project))

    assert [o.action for o in result.outcomes] == ["launched", "launched"]
    assert len(ec2.hooks.calls["throttled RunInstances"]) == 2
    assert len(ec2.hooks.calls["throttled DescribeInstances"]) == 2


def test_the_budget_guard_refuses_before_anything_is_launched(ec2, project) -> None:
    calls = ec2.hooks.count("RunInstances")

    with pytest.raises(BudgetExceeded) as raised:
        ensure_fleet(ec2, config(project, fleet_groups(F2, fpga_count=2)), budget=BudgetPolicy(max_hourly_usd=3.0))

    assert calls == [] and "$4.70/h, over the budget of $3.00/h" in str(raised.value)
    ensure_fleet(ec2, config(project, fleet_groups(F2, fpga_count=2)), budget=BudgetPolicy(3.0, override=True))
    assert len(calls) == 3


def test_an_interrupted_wait_resumes_without_launching_again(ec2, project) -> None:
    calls = ec2.hooks.count("RunInstances")

    def interrupt(event: Progress) -> None:
        if event.stage == "wait-running":
            raise KeyboardInterrupt

    ec2.hooks.after("DescribeInstances", lambda parsed: [i["State"].update(Code=0, Name="pending")
                                                         for r in parsed["Reservations"] for i in r["Instances"]])
    with pytest.raises(KeyboardInterrupt):
        ensure_fleet(ec2, config(project), progress=interrupt)
    ec2.hooks.remove()
    calls_after_interrupt = len(calls)

    resumed = ensure_fleet(ec2, config(project))

    assert calls_after_interrupt == 2 and [o.action for o in resumed.outcomes] == ["kept", "kept"]


def test_a_wait_that_times_out_says_to_rerun(ec2, project) -> None:
    ec2.hooks.after("DescribeInstances", lambda parsed: [i["State"].update(Code=0, Name="pending")
                                                         for r in parsed["Reservations"] for i in r["Instances"]])
    launch = LaunchSettings(owner="tester", poll_interval_s=0.01, running_timeout_s=0.05)

    with pytest.raises(AwsError) as raised:
        ensure_fleet(ec2, config(project, launch=launch))

    assert raised.value.code == "WaitTimeout" and "rerun" in raised.value.fix


def test_a_platform_mismatch_and_a_too_small_root_volume_are_refused(ec2, project) -> None:
    with pytest.raises(ValueError, match="F1 type but the platform is F2"):
        config(project, (InstanceGroup("f1", 1, "f1.2xlarge"),))
    ami = find_developer_ami(ec2, F2)
    ec2.hooks.after("DescribeImages", lambda parsed: [image.update(BlockDeviceMappings=[
        {"DeviceName": image["RootDeviceName"], "Ebs": {"VolumeSize": 120}}]) for image in parsed["Images"]])

    with pytest.raises(AwsError, match="smaller than the AMI's 120 GiB snapshot"):
        ensure_fleet(ec2, config(project))
    assert ami.root_device_name == "/dev/sda1"
