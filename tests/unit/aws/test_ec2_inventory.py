"""The EC2 dynamic inventory, against moto's in-process EC2.

One mocked EC2 serves the whole module (starting moto costs half a second); each test tags its
instances with its own project, so tests see only their own instances.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from fpgaops.aws.ec2_inventory import (
    LOGIN_USER_TAG,
    NAME_TAG,
    PROJECT_TAG,
    ROLE_TAG,
    ec2_inventory,
    with_project_instances,
)
from fpgaops.inventory import InventoryError

REGION = "us-east-1"
AMI = "ami-12345678"


@pytest.fixture(scope="module")
def ec2() -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env.setenv(key, "testing")
        env.delenv("AWS_PROFILE", raising=False)
        with mock_aws():
            yield boto3.client("ec2", region_name=REGION)


@pytest.fixture
def project(request: pytest.FixtureRequest) -> str:
    """This test's own ``Project`` tag value."""
    return request.node.name


def launch(
    ec2: Any, instance_type: str = "c5.xlarge", spot: bool = False, subnet: str | None = None, **tags: str
) -> str:
    """One instance with ``tags`` (keyword names are tag keys, e.g. ``Project="beats"``)."""
    options: dict = {"InstanceMarketOptions": {"MarketType": "spot"}} if spot else {}
    if subnet:
        options["SubnetId"] = subnet
    if tags:
        options["TagSpecifications"] = [
            {"ResourceType": "instance", "Tags": [{"Key": key, "Value": value} for key, value in tags.items()]}
        ]
    reply = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, InstanceType=instance_type, **options)
    return reply["Instances"][0]["InstanceId"]


def private_subnet(ec2: Any) -> str:
    """A subnet whose instances get no public address."""
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    return ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]


def describe(ec2: Any, instance_id: str) -> dict:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def test_instances_are_grouped_by_role_and_named_by_their_name_tag(ec2: Any, project: str) -> None:
    launch(ec2, "z1d.2xlarge", **{PROJECT_TAG: project, ROLE_TAG: "dev", NAME_TAG: "dev"})
    launch(ec2, "f1.2xlarge", **{PROJECT_TAG: project, ROLE_TAG: "f1", NAME_TAG: "f1-b"})
    launch(ec2, "f1.4xlarge", **{PROJECT_TAG: project, ROLE_TAG: "f1", NAME_TAG: "f1-a"})

    inventory = ec2_inventory(ec2, project)

    assert list(inventory.hosts) == ["dev", "f1-a", "f1-b"]
    assert inventory.groups["all"].children == ("ungrouped", "dev", "f1")
    assert [host.name for host in inventory.select("f1")] == ["f1-a", "f1-b"]
    assert inventory.warnings == []


def test_host_vars_describe_the_instance(ec2: Any, project: str) -> None:
    instance_id = launch(
        ec2,
        "f2.6xlarge",
        spot=True,
        **{PROJECT_TAG: project, ROLE_TAG: "f2", NAME_TAG: "f2-a", LOGIN_USER_TAG: "ubuntu"},
    )

    host = ec2_inventory(ec2, project).host("f2-a")

    assert host.vars == {
        "ansible_host": describe(ec2, instance_id)["PublicIpAddress"],
        "ansible_user": "ubuntu",
        "ec2_instance_id": instance_id,
        "ec2_instance_type": "f2.6xlarge",
        "ec2_region": REGION,
        "ec2_lifecycle": "spot",
        "fpga_platform": "f2",
        "fpga_slots": 1,
    }
    assert (host.address, host.user, host.groups) == (host.vars["ansible_host"], "ubuntu", ("f2",))


def test_non_fpga_on_demand_instance_has_no_platform_and_no_user(ec2: Any, project: str) -> None:
    launch(ec2, "z1d.2xlarge", **{PROJECT_TAG: project, ROLE_TAG: "dev", NAME_TAG: "dev"})

    host = ec2_inventory(ec2, project).host("dev")

    assert host.vars["ec2_lifecycle"] == "on-demand"
    assert "fpga_platform" not in host.vars and host.user is None


def test_only_running_instances_of_the_project_are_listed(ec2: Any, project: str) -> None:
    launch(ec2, **{PROJECT_TAG: project, ROLE_TAG: "dev", NAME_TAG: "kept"})
    launch(ec2, **{PROJECT_TAG: "other", ROLE_TAG: "dev", NAME_TAG: "other-project"})
    launch(ec2, **{ROLE_TAG: "dev", NAME_TAG: "untagged"})
    stopped = launch(ec2, **{PROJECT_TAG: project, ROLE_TAG: "dev", NAME_TAG: "stopped"})
    terminated = launch(ec2, **{PROJECT_TAG: project, ROLE_TAG: "dev", NAME_TAG: "terminated"})
    ec2.stop_instances(InstanceIds=[stopped])
    ec2.terminate_instances(InstanceIds=[terminated])

    assert list(ec2_inventory(ec2, project).hosts) == ["kept"]


def test_missing_name_and_role_tags_give_the_instance_id_and_ungrouped(ec2: Any, project: str) -> None:
    instance_id = launch(ec2, **{PROJECT_TAG: project})

    inventory = ec2_inventory(ec2, project)

    assert list(inventory.hosts) == [instance_id]
    assert inventory.groups["ungrouped"].hosts == (instance_id,)


def test_instances_sharing_a_name_are_listed_by_id_with_a_warning(ec2: Any, project: str) -> None:
    first = launch(ec2, **{PROJECT_TAG: project, ROLE_TAG: "f1", NAME_TAG: "f1-a"})
    second = launch(ec2, **{PROJECT_TAG: project, ROLE_TAG: "f1", NAME_TAG: "f1-a"})

    inventory = ec2_inventory(ec2, project)

    assert set(inventory.hosts) == {first, second}
    assert inventory.warnings == [
        f"2 instances are named 'f1-a': {instance_id} is listed by its id" for instance_id in sorted([first, second])
    ]


def test_address_follows_the_preference_order(ec2: Any, project: str) -> None:
    instance_id = launch(ec2, **{PROJECT_TAG: project, NAME_TAG: "h"})
    described = describe(ec2, instance_id)

    def address(*preference: str) -> str:
        return ec2_inventory(ec2, project, address_preference=preference).host("h").address

    assert ec2_inventory(ec2, project).host("h").address == described["PublicIpAddress"]
    assert address("private_ip", "public_ip") == described["PrivateIpAddress"]
    assert address("dns_name") == described["PublicDnsName"]


def test_empty_addresses_are_skipped_and_none_left_is_a_warning(ec2: Any, project: str) -> None:
    instance_id = launch(ec2, subnet=private_subnet(ec2), **{PROJECT_TAG: project, NAME_TAG: "private"})

    fallback = ec2_inventory(ec2, project)
    public_only = ec2_inventory(ec2, project, address_preference=("public_ip", "dns_name"))

    assert fallback.host("private").address == describe(ec2, instance_id)["PrivateIpAddress"]
    assert "ansible_host" not in public_only.host("private").vars
    assert public_only.warnings == [
        f"instance {instance_id} (private) has none of the addresses ['public_ip', 'dns_name']"
    ]


def test_a_session_works_as_well_as_a_client(ec2: Any, project: str) -> None:
    launch(ec2, **{PROJECT_TAG: project, NAME_TAG: "h"})

    assert list(ec2_inventory(boto3.Session(region_name=REGION), project).hosts) == ["h"]


def test_extra_vars_override_instance_vars(ec2: Any, project: str) -> None:
    launch(ec2, **{PROJECT_TAG: project, NAME_TAG: "h", LOGIN_USER_TAG: "centos"})

    assert ec2_inventory(ec2, project, extra_vars={"ansible_user": "admin"}).host("h").user == "admin"


def test_unknown_address_kind_is_an_error(ec2: Any, project: str) -> None:
    with pytest.raises(ValueError, match=r"unknown address kinds \['ipv6'\]"):
        ec2_inventory(ec2, project, address_preference=("ipv6",))


def inventory_file(tmp_path, project: str, ec2_hosts: bool = True) -> Path:
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {
        "vars": {"ec2_hosts": ec2_hosts, "project": project, "aws_region": REGION},
        "children": {"errgen": {"hosts": {"errgen": {"ansible_host": "10.0.0.9"}}},
                     "f1": {"hosts": {"f1-a": {"ansible_host": "10.0.0.5", "ansible_user": "static"}}}}}}))
    return path


def test_an_inventory_with_ec2_hosts_adds_the_projects_running_instances(ec2, project, tmp_path) -> None:
    launch(ec2, **{PROJECT_TAG: project, ROLE_TAG: "dev", NAME_TAG: "dev-a", LOGIN_USER_TAG: "ubuntu"})
    launch(ec2, "f2.6xlarge", **{PROJECT_TAG: project, ROLE_TAG: "f1", NAME_TAG: "f1-a"})  # named like a static one
    launch(ec2, "f2.6xlarge", **{PROJECT_TAG: project, ROLE_TAG: "f1", NAME_TAG: "f1-b"})
    inventory = with_project_instances(inventory_file(tmp_path, project))
    assert [h.name for h in inventory.group_hosts("f1")] == ["f1-a", "f1-b"]
    assert inventory.host("f1-a").vars["ansible_user"] == "static"  # the file's host wins
    assert inventory.host("f1-b").vars["fpga_platform"] == "f2" and inventory.host("dev-a").user == "ubuntu"
    assert inventory.host("errgen").groups == ("errgen",)


def test_an_inventory_with_ec2_hosts_keeps_instances_without_a_role_ungrouped(ec2, project, tmp_path) -> None:
    launch(ec2, **{PROJECT_TAG: project, NAME_TAG: "loose"})
    inventory = with_project_instances(inventory_file(tmp_path, project))
    assert sorted(inventory.hosts) == ["errgen", "f1-a", "loose"] and inventory.host("loose").groups == ("ungrouped",)


def test_an_inventory_without_ec2_hosts_is_the_file_alone(ec2, project, tmp_path) -> None:
    launch(ec2, **{PROJECT_TAG: project, ROLE_TAG: "dev", NAME_TAG: "dev-a"})
    inventory = with_project_instances(inventory_file(tmp_path, project, ec2_hosts=False))
    assert sorted(inventory.hosts) == ["errgen", "f1-a"]


def test_an_unreachable_aws_is_an_inventory_error_naming_the_file(tmp_path) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"vars": {"ec2_hosts": True, "aws_endpoint_url": url}}}))
    with pytest.raises(InventoryError, match=r"inventory.yml: cannot list the project's instances"):
        with_project_instances(path)
