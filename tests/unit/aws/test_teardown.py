"""Stop, start, terminate and delete: only what carries the project's tag, with dry runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fpgaops.aws.afi import AfiConfig, ensure_afi
from fpgaops.aws.budget import BudgetPolicy
from fpgaops.aws.errors import AwsError, BudgetExceeded
from fpgaops.aws.idle_alarm import ensure_idle_alarm
from fpgaops.aws.instances import FleetConfig, LaunchSettings, ensure_fleet, fleet_groups, project_instances
from fpgaops.aws.session import AwsClients
from fpgaops.aws.teardown import (
    Selection,
    Waiting,
    delete_afis,
    delete_s3_objects,
    start_instances,
    stop_instances,
    teardown,
    terminate_instances,
)
from fpgaops.platforms import F2
from tests.unit.aws.aws_fakes import Injected, moto_cloud
from tests.unit.aws.dcp_fixtures import dcp_tarball

FAST_WAIT = Waiting(timeout_s=5, interval_s=0.01)


@pytest.fixture(scope="module")
def aws() -> Iterator[AwsClients]:
    with moto_cloud() as clients:
        yield clients


@pytest.fixture
def ec2(aws) -> Any:
    return aws.client("ec2")


@pytest.fixture
def project(request: pytest.FixtureRequest) -> str:
    return request.node.name[:40].replace("_", "-")


def provision(ec2, project: str, **groups: Any) -> None:
    ensure_fleet(ec2, FleetConfig(project, fleet_groups(F2, **groups), "k", (), F2,
                                  LaunchSettings(owner="t", poll_interval_s=0.01)))


def states(ec2, project: str) -> dict[str, str]:
    return {r.name: r.state for r in project_instances(ec2, project, ("pending", "running", "stopping", "stopped",
                                                                       "shutting-down", "terminated"))}


def test_stop_and_start_act_on_the_selection_only_and_say_what_was_already_done(ec2, project) -> None:
    provision(ec2, project, fpga_count=2)

    stopped = stop_instances(ec2, project, Selection(roles=("f1",)), waiting=FAST_WAIT)
    again = stop_instances(ec2, project, Selection(names=("f1-a",)), waiting=FAST_WAIT)

    assert stopped.summary() == "stop: f1-a, f1-b"
    assert again.summary() == "stop: nothing to do (1 already done)"
    assert states(ec2, project) == {"dev-a": "running", "f1-a": "stopped", "f1-b": "stopped"}
    started = start_instances(ec2, project, waiting=FAST_WAIT)
    assert started.summary() == "start: f1-a, f1-b (dev-a already)"
    assert set(states(ec2, project).values()) == {"running"}


def test_a_dry_run_changes_nothing(ec2, project) -> None:
    provision(ec2, project)

    planned = terminate_instances(ec2, project, dry_run=True)

    assert planned.summary() == "would terminate: dev-a, f1-a"
    assert set(states(ec2, project).values()) == {"running"}


def test_an_unknown_name_is_an_error_not_a_noop(ec2, project) -> None:
    provision(ec2, project)

    with pytest.raises(AwsError, match="no instance of the project named or in a role f1-z"):
        stop_instances(ec2, project, Selection(names=("f1-z",)))


def test_start_checks_the_budget_of_what_would_then_run(ec2, project) -> None:
    provision(ec2, project, fpga_count=2)
    stop_instances(ec2, project, Selection(roles=("f1",)), waiting=FAST_WAIT)

    with pytest.raises(BudgetExceeded, match=r"\$4.70/h"):
        start_instances(ec2, project, budget=BudgetPolicy(max_hourly_usd=4.0), waiting=FAST_WAIT)

    assert start_instances(ec2, project, Selection(names=("f1-a",)), budget=BudgetPolicy(4.0),
                           waiting=FAST_WAIT).budget.hourly_usd == 2.724


def test_terminate_touches_only_the_projects_instances_and_cancels_spot_requests(ec2, project) -> None:
    provision(ec2, project, fpga_market="spot")
    image = ec2.describe_images(Owners=["679593333241"])["Images"][0]["ImageId"]
    untagged = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="f2.6xlarge")
    other = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="f2.6xlarge", TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "Project", "Value": project + "-other"}]}])
    with Injected(ec2) as hooks:
        cancelled = hooks.count("CancelSpotInstanceRequests")
        hooks.answer("CancelSpotInstanceRequests", {"CancelledSpotInstanceRequests": []})
        hooks.after("DescribeInstances", lambda parsed: [
            i.update(SpotInstanceRequestId="sir-0123456789abcdef") for r in parsed["Reservations"]
            for i in r["Instances"] if i.get("InstanceLifecycle") == "spot"])

        result = terminate_instances(ec2, project, waiting=FAST_WAIT)

    assert result.summary() == "terminate: dev-a, f1-a"
    assert cancelled == [{"SpotInstanceRequestIds": ["sir-0123456789abcdef"]}]
    assert set(states(ec2, project).values()) == {"terminated"}
    survivors = [untagged["Instances"][0]["InstanceId"], other["Instances"][0]["InstanceId"]]
    reply = ec2.describe_instances(InstanceIds=survivors)
    assert {i["State"]["Name"] for r in reply["Reservations"] for i in r["Instances"]} == {"running"}


def test_teardown_deletes_afis_and_objects_of_the_project_only(aws, project, tmp_path) -> None:
    ec2, s3 = aws.client("ec2"), aws.client("s3")
    config = AfiConfig(project, f"{project}-bucket", poll_interval_s=0.02)
    path = tmp_path / "x.Developer_CL.tar"
    path.write_bytes(dcp_tarball(F2))
    kept = ensure_afi(ec2, s3, path, "a" * 64, config).afi
    ensure_afi(ec2, s3, path, "b" * 64, config)
    s3.put_object(Bucket=config.bucket, Key="notes/keep-me.txt", Body=b"mine")
    provision(ec2, project)

    cloudwatch = aws.client("cloudwatch")
    ensure_idle_alarm(cloudwatch, project, project_instances(ec2, project)[1])

    planned = teardown(ec2, s3, project, afi_config=config, delete_afi_images=True, delete_objects=True,
                       cloudwatch=cloudwatch, dry_run=True)
    assert planned.summary().splitlines() == ["would terminate: dev-a, f1-a", "AFIs: would delete 2",
                                              "S3 objects: would delete 5",  # the tarball, 2 logs per AFI
                                              "idle alarms: would delete 1"]
    deleted = delete_afis(ec2, project, keep=[kept.agfi_id])
    assert len(deleted) == 1 and deleted[0].afi_id != kept.afi_id

    done = teardown(ec2, s3, project, afi_config=config, delete_afi_images=True, delete_objects=True,
                    cloudwatch=cloudwatch, waiting=FAST_WAIT)

    assert done.summary().splitlines()[1:] == ["AFIs: deleted 1", "S3 objects: deleted 5", "idle alarms: deleted 1"]
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=config.bucket)["Contents"]]
    assert keys == ["notes/keep-me.txt"]


def test_objects_of_a_bucket_without_the_project_tag_are_left_alone(aws, project) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=f"{project}-theirs")
    s3.put_object(Bucket=f"{project}-theirs", Key=f"dcp/{project}/x.tar", Body=b"x")

    with pytest.raises(AwsError) as raised:
        delete_s3_objects(s3, f"{project}-theirs", project, ["dcp"])

    assert raised.value.code == "NotThisProjects"
    assert s3.list_objects_v2(Bucket=f"{project}-theirs")["KeyCount"] == 1
