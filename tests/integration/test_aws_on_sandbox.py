"""The AWS lifecycle end to end against the sandbox's endpoint: instances that become SSH hosts, AFIs, teardown."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fpgaops.aws.afi import AfiConfig, AfiFailed, ensure_afi
from fpgaops.aws.ec2_inventory import ec2_inventory
from fpgaops.aws.errors import AwsError
from fpgaops.aws.instances import LaunchSettings, fleet_groups
from fpgaops.aws.network_access import KeyPairConfig
from fpgaops.aws.progress import Progress
from fpgaops.aws.provision import ProvisionConfig, ProvisionReport, provision
from fpgaops.aws.session import AwsClients, AwsSettings
from fpgaops.aws.status import project_status
from fpgaops.aws.teardown import Waiting, terminate_instances
from fpgaops.platforms import F2
from fpgaops.sandbox.config import PROJECT_ROOT
from tests.ssh_helpers import connect
from tests.unit.aws.aws_fakes import Injected
from tests.unit.aws.dcp_fixtures import bad_tarballs, dcp_tarball

PROJECT = "aws-itest"
FAST = LaunchSettings(owner="itest", poll_interval_s=0.2, running_timeout_s=60)
WAIT = Waiting(timeout_s=60, interval_s=0.2)


@pytest.fixture(scope="module")
def aws(sandbox) -> AwsClients:
    return AwsClients(AwsSettings.sandbox(sandbox.endpoint_url, sandbox.region))


def provision_config(sandbox, project: str, known_hosts: Path, **groups) -> ProvisionConfig:
    return ProvisionConfig(project, fleet_groups(F2, **groups),
                           KeyPairConfig(project, public_key_path=sandbox.client_key.with_suffix(".pub")),
                           ssh_cidrs=(f"{sandbox.gateway}/32",), service_ports=(5000,), launch=FAST,
                           known_hosts_path=known_hosts, host_keys_timeout_s=30)


@pytest.fixture(scope="module")
def provisioned(sandbox, aws, tmp_path_factory) -> Iterator[tuple[ProvisionReport, ProvisionConfig, float]]:
    config = provision_config(sandbox, PROJECT, tmp_path_factory.mktemp("aws") / "known_hosts")
    started = time.monotonic()
    report = provision(aws, config)
    try:
        yield report, config, time.monotonic() - started
    finally:
        terminate_instances(aws.client("ec2"), PROJECT, waiting=WAIT)


def test_provision_makes_a_dev_and_an_fpga_instance_and_a_rerun_creates_nothing(aws, provisioned) -> None:
    report, config, seconds = provisioned
    launches = Injected(aws.client("ec2"))
    calls = launches.count("RunInstances")
    try:
        again = provision(aws, config)
    finally:
        launches.remove()

    assert [(o.name, o.action) for o in report.fleet.outcomes] == [("dev-a", "launched"), ("f1-a", "launched")]
    assert report.changed and report.key_pair.action == "imported" and seconds < 30
    assert calls == [] and not again.changed
    assert again.summary()[-1] == "nothing changed: everything was already as configured"
    inventory = ec2_inventory(aws.client("ec2"), PROJECT)
    assert sorted(inventory.hosts) == ["dev-a", "f1-a"]
    assert inventory.hosts["f1-a"].vars["fpga_platform"] == "f2"


def test_the_instances_answer_ssh_with_their_pinned_host_keys(sandbox, provisioned) -> None:
    report, config, _ = provisioned

    for instance in report.fleet.instances:
        with connect(sandbox, instance.public_ip, "ubuntu", config.known_hosts_path) as conn:
            assert conn.run("hostname").stdout.strip() == "ip-" + instance.public_ip.replace(".", "-")
            assert instance.instance_id in conn.run("cat /run/sandbox/host.json").stdout


def test_status_prices_the_running_instances(aws, provisioned) -> None:
    status = project_status(aws.client("ec2"), PROJECT)

    rows = {row["name"]: row for row in status.instance_rows()}
    assert (rows["f1-a"]["state"], rows["f1-a"]["$/hour"], rows["dev-a"]["$/hour"]) == ("running", "1.980", "0.744")
    assert 0 < status.cost_usd < 1 and status.hourly_usd == 2.724


def afi_config(sandbox, project: str) -> AfiConfig:
    return AfiConfig(project, f"fpgaops-{project}-{sandbox.region}", poll_interval_s=0.1, timeout_s=30)


def test_a_valid_tarball_becomes_an_available_afi(sandbox, aws, tmp_path) -> None:
    path = tmp_path / "24_05_01-120000.Developer_CL.tar"
    path.write_bytes(dcp_tarball(F2))
    events: list[Progress] = []

    result = ensure_afi(aws.client("ec2"), aws.client("s3"), path, "1" * 64, afi_config(sandbox, "afi-ok"),
                        progress=events.append)
    again = ensure_afi(aws.client("ec2"), aws.client("s3"), path, "1" * 64, afi_config(sandbox, "afi-ok"))

    assert (result.action, result.afi.state) == ("created", "available") and result.afi.agfi_id.startswith("agfi-")
    assert (again.action, again.afi.afi_id) == ("reused", result.afi.afi_id)
    assert any(e.stage == "afi-pending" for e in events)


def test_a_bad_tarball_is_rejected_by_preflight_in_seconds(sandbox, aws, tmp_path) -> None:
    path = tmp_path / "hls_project_export.tar"
    path.write_bytes(bad_tarballs(F2)["CORRUPT_ARCHIVE"])
    started = time.monotonic()

    with pytest.raises(AwsError) as raised:
        ensure_afi(aws.client("ec2"), aws.client("s3"), path, "2" * 64, afi_config(sandbox, "afi-bad"))

    assert time.monotonic() - started < 2 and raised.value.code == "CORRUPT_ARCHIVE"


def test_an_afi_that_fails_at_ingestion_comes_back_with_its_logs(sandbox, aws, tmp_path) -> None:
    ec2, s3 = aws.client("ec2"), aws.client("s3")
    config = afi_config(sandbox, "afi-fails")
    path = tmp_path / "24_05_01-120000.Developer_CL.tar"
    path.write_bytes(dcp_tarball(F2))

    def remove_input(_parsed: dict) -> None:  # the tarball is gone before AWS reads it
        for item in s3.list_objects_v2(Bucket=config.bucket, Prefix="dcp/").get("Contents", []):
            s3.delete_object(Bucket=config.bucket, Key=item["Key"])

    with Injected(ec2) as hooks, pytest.raises(AfiFailed) as raised:
        hooks.after("CreateFpgaImage", remove_input)
        ensure_afi(ec2, s3, path, "3" * 64, config)

    failure = raised.value
    assert failure.code == "INACCESSIBLE_INPUT" and failure.fix
    assert any("ERROR: INACCESSIBLE_INPUT" in text for text in failure.logs.values())


def test_teardown_terminates_only_the_tagged_instances(sandbox, aws, tmp_path) -> None:
    ec2 = aws.client("ec2")
    provision(aws, provision_config(sandbox, "aws-teardown", tmp_path / "known_hosts", dev_count=0))
    image = ec2.describe_images(Owners=["679593333241"],
                                Filters=[{"Name": "name", "Values": [F2.ami_name_pattern]}])["Images"][0]["ImageId"]
    stranger = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.large",
                                 KeyName="aws-teardown")["Instances"][0]["InstanceId"]
    try:
        result = terminate_instances(ec2, "aws-teardown", waiting=WAIT)

        assert result.summary() == "terminate: f1-a", [(r.instance_id, r.name, r.state, r.launch_time)
                                                        for r in result.changed]
        state = ec2.describe_instances(InstanceIds=[stranger])["Reservations"][0]["Instances"][0]["State"]["Name"]
        assert state == "running"
    finally:
        ec2.terminate_instances(InstanceIds=[stranger])


def test_fab_status_shows_the_same_prices_and_totals(sandbox, provisioned) -> None:
    done = fab("status", "-i", str(sandbox.inventory_path), "--project", PROJECT)
    assert done.returncode == 0, done.stdout + done.stderr
    f1_row = next(line for line in done.stdout.splitlines() if "│ f1-a" in line)
    assert "running" in f1_row and "1.980" in f1_row and "f2.6xlarge" in f1_row
    assert "running now: $2.72/h" in done.stdout


def test_fab_status_of_a_project_without_instances_says_so(sandbox) -> None:
    done = fab("status", "-i", str(sandbox.inventory_path), "--project", "nothing-here")
    assert done.returncode == 0 and "no instances of project nothing-here" in done.stdout


def fab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(PROJECT_ROOT / ".venv" / "bin" / "fab"), *args], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=180, stdin=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "200"})


def test_fab_stop_start_teardown_ask_first_and_do_what_they_say(sandbox, aws, tmp_path) -> None:
    project = "fab-lifecycle"
    provision(aws, provision_config(sandbox, project, tmp_path / "known_hosts", dev_count=0))
    scope = ["-i", str(sandbox.inventory_path), "--project", project]

    def state() -> str:
        return {r["name"]: r["state"] for r in project_status(aws.client("ec2"), project).instance_rows()}["f1-a"]

    unconfirmed = fab("stop", *scope)  # a script without --yes: shows the plan, changes nothing
    assert unconfirmed.returncode == 1 and "would stop: f1-a" in unconfirmed.stdout and "--yes" in unconfirmed.stdout
    assert state() == "running"
    assert fab("stop", *scope, "--yes").returncode == 0 and state() == "stopped"
    unknown = fab("start", *scope, "--names", "f1-z", "--yes")
    assert unknown.returncode == 1 and "f1-z" in unknown.stdout
    assert fab("start", *scope, "--names", "f1-a", "--yes").returncode == 0 and state() == "running"
    torn = fab("teardown", *scope, "--yes")
    assert torn.returncode == 0 and "terminate: f1-a" in torn.stdout
    assert project_status(aws.client("ec2"), project).instance_rows() == []
