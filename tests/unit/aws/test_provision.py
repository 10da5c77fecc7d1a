"""The AWS part of ``fab provision`` in one call; the second call changes nothing and says so."""

from __future__ import annotations

import base64
import stat
from collections import Counter
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fpgaops.aws.idle_alarm import IdleAlarmConfig
from fpgaops.aws.instances import InstanceRecord, LaunchSettings, fleet_groups
from fpgaops.aws.known_hosts import unpinned, update_known_hosts
from fpgaops.aws.network_access import KeyPairConfig
from fpgaops.aws.provision import ProvisionConfig, provision
from fpgaops.aws.session import API_CALLS
from fpgaops.platforms import F2
from tests.unit.aws.aws_fakes import Injected, moto_cloud

HOST_KEY = Ed25519PrivateKey.from_private_bytes(bytes([9]) * 32).public_key().public_bytes(
    serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
CONSOLE = f"boot\n-----BEGIN SSH HOST KEY KEYS-----\n{HOST_KEY} root@ip-10-0-0-1\n-----END SSH HOST KEY KEYS-----\n"


def test_provision_twice_the_second_time_changes_nothing(tmp_path: Path) -> None:
    config = ProvisionConfig(
        "beats", fleet_groups(F2), KeyPairConfig("beats", private_key_path=tmp_path / "id_ed25519"),
        service_ports=(5000,), launch=LaunchSettings(owner="tester", poll_interval_s=0.01),
        known_hosts_path=tmp_path / "known_hosts", idle_alarm=IdleAlarmConfig())
    with moto_cloud() as aws, Injected(aws.client("ec2")) as hooks:
        hooks.answer("GetConsoleOutput", lambda params: {"InstanceId": params["InstanceId"],
                                                         "Output": base64.b64encode(CONSOLE.encode()).decode()})
        lookups: list[str] = []

        def my_address() -> str:
            lookups.append("checkip")
            return "203.0.113.7"

        first = provision(aws, config, caller_address=my_address)
        before = Counter(API_CALLS)
        second = provision(aws, config, caller_address=my_address)
        calls = dict(API_CALLS - before)

    assert first.changed and first.key_pair.action == "created" and first.security_group.created
    assert [o.action for o in first.fleet.outcomes] == ["launched", "launched"]
    assert first.idle_alarms == {"f1-a": "created"} and first.known_hosts_changed
    assert not second.changed and second.summary() == [
        "key pair beats: found", f"security group {first.security_group.group_id}: unchanged",
        "instances: nothing to do: dev-a, f1-a already running", "idle alarms: f1-a unchanged",
        "nothing changed: everything was already as configured"]
    # the second finds everything by name and tags, once each: no VPC lookup, no wait, host keys already pinned
    assert calls == {"ec2.DescribeKeyPairs": 1, "ec2.DescribeSecurityGroups": 1, "ec2.DescribeInstances": 1,
                     "cloudwatch.DescribeAlarms": 1}
    known = (tmp_path / "known_hosts").read_text().splitlines()
    ids = [outcome.instance_id for outcome in first.fleet.outcomes]
    assert sorted(line.split(" ", 1)[1] for line in known) == sorted(f"{HOST_KEY} {i}" for i in ids)
    assert stat.S_IMODE((tmp_path / "known_hosts").stat().st_mode) == 0o600
    assert lookups == ["checkip", "checkip"]


def test_known_hosts_lines_of_an_address_are_replaced(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.write_text("10.0.0.5 ssh-ed25519 OLD\nother.example ssh-rsa KEEP\n")

    assert update_known_hosts(path, ["10.0.0.5 ssh-ed25519 NEW"])
    assert not update_known_hosts(path, ["10.0.0.5 ssh-ed25519 NEW"])
    assert path.read_text() == "other.example ssh-rsa KEEP\n10.0.0.5 ssh-ed25519 NEW\n"


def test_only_instances_not_pinned_at_their_address_have_their_host_keys_read(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.write_text("10.0.0.5 ssh-ed25519 AAAA i-0aaa\n10.0.0.6 ssh-ed25519 BBBB\n")  # the second: no instance id
    def instance(instance_id: str, address: str) -> InstanceRecord:
        return InstanceRecord.from_description({"InstanceId": instance_id, "PrivateIpAddress": address,
                                                "InstanceType": "f2.6xlarge", "State": {"Name": "running"}})

    kept, replaced = instance("i-0aaa", "10.0.0.5"), instance("i-0ccc", "10.0.0.5")
    older = instance("i-0bbb", "10.0.0.6")
    assert unpinned(path, [kept, replaced, older]) == [replaced, older]
    assert unpinned(tmp_path / "absent", [kept]) == [kept]
