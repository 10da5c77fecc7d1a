"""Key pair and security group against moto: imported or created once, rules reconciled, never open to all."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fpgaops.aws.errors import AwsError
from fpgaops.aws.network_access import (
    IngressRule,
    KeyPairConfig,
    SecurityGroupConfig,
    caller_cidrs,
    ensure_key_pair,
    ensure_security_group,
)
from tests.unit.aws.aws_fakes import moto_cloud


@pytest.fixture(scope="module")
def ec2() -> Iterator[Any]:
    with moto_cloud() as aws:
        yield aws.client("ec2")


@pytest.fixture
def project(request: pytest.FixtureRequest) -> str:
    return request.node.name[:40]


def public_key_file(path: Path, seed: int = 1) -> Path:
    key = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32).public_key()
    path.write_text(key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
                    + " me@laptop\n")
    return path


def test_a_public_key_is_imported_once(ec2, project, tmp_path) -> None:
    config = KeyPairConfig(project, public_key_path=public_key_file(tmp_path / "id.pub"))

    first = ensure_key_pair(ec2, config, {"Project": project})
    again = ensure_key_pair(ec2, config, {"Project": project})

    assert (first.action, again.action, again.changed) == ("imported", "found", False)
    pair = ec2.describe_key_pairs(KeyNames=[project])["KeyPairs"][0]
    assert {t["Key"]: t["Value"] for t in pair["Tags"]} == {"Project": project}


def test_another_key_under_the_same_name_is_refused(ec2, project, tmp_path) -> None:
    ensure_key_pair(ec2, KeyPairConfig(project, public_key_path=public_key_file(tmp_path / "a.pub", 1)), {})

    with pytest.raises(AwsError) as raised:
        ensure_key_pair(ec2, KeyPairConfig(project, public_key_path=public_key_file(tmp_path / "b.pub", 2)), {})

    assert raised.value.code == "KeyPairMismatch" and "delete-key-pair" in raised.value.fix


def test_a_created_key_is_saved_0600_and_found_again(ec2, project, tmp_path) -> None:
    private = tmp_path / "keys" / "id_ed25519"
    config = KeyPairConfig(project, private_key_path=private)

    first = ensure_key_pair(ec2, config, {})
    again = ensure_key_pair(ec2, config, {})

    assert (first.action, again.action) == ("created", "found")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and b"PRIVATE KEY" in private.read_bytes()


def test_a_key_pair_whose_private_key_is_missing_is_reported(ec2, project, tmp_path) -> None:
    ensure_key_pair(ec2, KeyPairConfig(project, private_key_path=tmp_path / "first"), {})

    with pytest.raises(AwsError) as raised:
        ensure_key_pair(ec2, KeyPairConfig(project, private_key_path=tmp_path / "elsewhere"), {})

    assert raised.value.code == "KeyPairPrivateKeyMissing"


def test_an_existing_private_key_has_its_public_part_imported(ec2, project, tmp_path) -> None:
    private = tmp_path / "id"
    private.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()))

    assert ensure_key_pair(ec2, KeyPairConfig(project, private_key_path=private), {}).action == "imported"


def test_the_security_group_allows_only_the_configured_cidrs_and_ports(ec2, project) -> None:
    config = SecurityGroupConfig(f"fpgaops-{project}", ("203.0.113.7/32", "2001:db8::1/128"), (22, 5000))

    first = ensure_security_group(ec2, config, project, {"Project": project})
    again = ensure_security_group(ec2, config, project, {"Project": project})

    assert first.created and len(first.authorized) == 4 and not again.changed
    group = ec2.describe_security_groups(GroupIds=[first.group_id])["SecurityGroups"][0]
    cidrs = {(p["FromPort"], r["CidrIp"]) for p in group["IpPermissions"] for r in p.get("IpRanges", [])}
    assert cidrs == {(22, "203.0.113.7/32"), (5000, "203.0.113.7/32")}


def test_rules_are_reconciled_when_the_address_changes(ec2, project) -> None:
    name = f"fpgaops-{project}"
    ensure_security_group(ec2, SecurityGroupConfig(name, ("203.0.113.7/32",)), project, {"Project": project})
    group_id = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"][0]
    ec2.authorize_security_group_ingress(GroupId=group_id["GroupId"], IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])  # someone opened everything by hand

    moved = ensure_security_group(ec2, SecurityGroupConfig(name, ("198.51.100.4/32",)), project, {})

    assert moved.authorized == (IngressRule(22, "198.51.100.4/32"),)
    assert IngressRule(22, "203.0.113.7/32") in moved.revoked and len(moved.revoked) == 2
    group = ec2.describe_security_groups(GroupIds=[moved.group_id])["SecurityGroups"][0]
    assert [(p["IpProtocol"], p["IpRanges"][0]["CidrIp"]) for p in group["IpPermissions"]] == [
        ("tcp", "198.51.100.4/32")]


def test_the_whole_internet_is_refused_unless_asked(ec2, project) -> None:
    with pytest.raises(AwsError) as raised:
        ensure_security_group(ec2, SecurityGroupConfig(f"fpgaops-{project}", ("0.0.0.0/0",)), project, {})

    assert raised.value.code == "IngressFromAnywhere"
    opened = ensure_security_group(ec2, SecurityGroupConfig(f"fpgaops-{project}", ("0.0.0.0/0",), allow_anywhere=True),
                                   project, {"Project": project})
    assert opened.created


def test_a_group_of_that_name_without_the_project_tag_is_not_touched(ec2, project) -> None:
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    ec2.create_security_group(GroupName=f"fpgaops-{project}", Description="someone else's", VpcId=vpc)

    with pytest.raises(AwsError) as raised:
        ensure_security_group(ec2, SecurityGroupConfig(f"fpgaops-{project}", ("203.0.113.7/32",)), project, {})

    assert raised.value.code == "NotThisProjects"


def test_the_callers_cidrs_come_from_the_config_or_the_lookup() -> None:
    assert caller_cidrs(["203.0.113.7", "198.51.100.0/24"]) == ("203.0.113.7/32", "198.51.100.0/24")
    assert caller_cidrs(None, lambda: "2001:db8::5\n".strip()) == ("2001:db8::5/128",)
    with pytest.raises(AwsError, match="no address to allow SSH from"):
        caller_cidrs()
    with pytest.raises(AwsError, match="not an IP address"):
        caller_cidrs(["my-laptop"])
