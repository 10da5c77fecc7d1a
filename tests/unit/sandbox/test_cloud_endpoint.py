"""The local AWS endpoint on the wire: boto3 against ``CloudEndpoint`` on an ephemeral port."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fpgaops.aws.instances import find_developer_ami
from fpgaops.fpga_platform import DEVELOPER_AMIS, default_ami
from fpgaops.platforms import F1, F2
from fpgaops.sandbox.cloud.host_provider import InstanceHostSpec, LaunchedHost
from fpgaops.sandbox.cloud.server import CloudEndpoint
from tests.unit.aws.dcp_fixtures import bad_tarballs, dcp_tarball

REGION = "us-east-1"
OTHER_REGION = "us-west-2"
PENDING_SECONDS = 0.3
BUCKET = "fpgaops-dcp"
FAILING_NAME = "will-not-boot"


def _openssh_public_key(seed: int) -> str:
    key = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32).public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


HOST_KEYS = (_openssh_public_key(7),)


@dataclass
class FakeHostProvider:
    """Records every call; hosts get 127.0.0.x addresses and fixed host keys."""

    calls: list[tuple] = field(default_factory=list)
    next_host: int = 2

    def _host(self) -> LaunchedHost:
        self.next_host += 1
        return LaunchedHost(f"127.0.0.{self.next_host - 1}", HOST_KEYS)

    def launch(self, instance_id: str, spec: InstanceHostSpec) -> LaunchedHost:
        self.calls.append(("launch", instance_id, spec))
        if spec.name == FAILING_NAME:
            raise RuntimeError("the host image is broken")
        return self._host()

    def stop(self, instance_id: str) -> None:
        self.calls.append(("stop", instance_id))

    def start(self, instance_id: str) -> LaunchedHost:
        self.calls.append(("start", instance_id))
        return self._host()

    def terminate(self, instance_id: str) -> None:
        self.calls.append(("terminate", instance_id))

    def calls_for(self, instance_id: str) -> list[str]:
        return [call[0] for call in self.calls if call[1] == instance_id]


@pytest.fixture(scope="module")
def provider() -> FakeHostProvider:
    return FakeHostProvider()


@pytest.fixture(scope="module")
def endpoint(provider):
    with CloudEndpoint([("127.0.0.1", 0)], host_provider=provider, afi_pending_seconds=PENDING_SECONDS) as cloud:
        urllib.request.urlopen(urllib.request.Request(f"{cloud.endpoints[0]}/moto-api/reset", method="POST"))
        yield cloud.endpoints[0]


def _client(endpoint: str, service: str, region: str = REGION):
    return boto3.client(service, endpoint_url=endpoint, region_name=region, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def ec2(endpoint):
    return _client(endpoint, "ec2")


@pytest.fixture(scope="module")
def s3(endpoint):
    client = _client(endpoint, "s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def _upload(s3, key: str, data: bytes) -> dict[str, str]:
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    return {"Bucket": BUCKET, "Key": key}


def _describe(ec2, afi_id: str) -> dict:
    return ec2.describe_fpga_images(FpgaImageIds=[afi_id])["FpgaImages"][0]


def _wait_settled(ec2, afi_id: str) -> dict:
    deadline = time.monotonic() + 5
    while (image := _describe(ec2, afi_id))["State"]["Code"] == "pending":
        assert time.monotonic() < deadline, f"{afi_id} still pending"
        time.sleep(0.05)
    return image


def _error_code(call) -> str:
    with pytest.raises(ClientError) as failure:
        call()
    return failure.value.response["Error"]["Code"]


def _new_afi(ec2, s3, key: str, tarball: bytes, **options) -> str:
    return ec2.create_fpga_image(InputStorageLocation=_upload(s3, key, tarball), **options)["FpgaImageId"]


@pytest.fixture(scope="module")
def available_afi(ec2, s3) -> dict:
    afi_id = _new_afi(ec2, s3, "dcp/good.tar", dcp_tarball(F2), Name="beat-detector",
                      Description="beat model", LogsStorageLocation={"Bucket": BUCKET, "Key": "logs/"},
                      TagSpecifications=[{"ResourceType": "fpga-image",
                                          "Tags": [{"Key": "Project", "Value": "fpgaops"}]}])
    return _wait_settled(ec2, afi_id)


# AFIs: creation and ingestion

def test_an_afi_is_pending_then_available_with_the_manifest_facts(ec2, s3):
    created = ec2.create_fpga_image(InputStorageLocation=_upload(s3, "dcp/f1.tar", dcp_tarball(F1)))
    assert created["FpgaImageId"].startswith("afi-") and len(created["FpgaImageId"]) == 21
    assert created["FpgaImageGlobalId"].startswith("agfi-") and len(created["FpgaImageGlobalId"]) == 22
    assert _describe(ec2, created["FpgaImageId"])["State"] == {"Code": "pending"}
    image = _wait_settled(ec2, created["FpgaImageId"])
    assert image["State"] == {"Code": "available"}
    assert image["ShellVersion"] == F1.shell_version
    assert image["PciId"] == {"DeviceId": "0xf000", "VendorId": "0x1d0f", "SubsystemId": "0x1d51",
                              "SubsystemVendorId": "0xfedd"}
    assert image["FpgaImageGlobalId"] == created["FpgaImageGlobalId"]
    assert sorted(image["InstanceTypes"]) == sorted(F1.slots_by_instance_type)


def test_the_logs_location_gets_a_state_file(s3, available_afi):
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"logs/{available_afi['FpgaImageId']}/")["Contents"]
    keys = [item["Key"] for item in listed]
    assert any(key.endswith("_logs/ingestion.log") for key in keys)
    state_key = next(key for key in keys if key.endswith("_logs/State"))
    state = json.loads(s3.get_object(Bucket=BUCKET, Key=state_key)["Body"].read())
    assert state["State"] == {"Code": "available"}
    assert state["FpgaImageGlobalId"] == available_afi["FpgaImageGlobalId"]


def test_the_logs_appear_once_the_pending_time_is_over_without_a_read(ec2, s3):
    afi_id = _new_afi(ec2, s3, "dcp/unread.tar", dcp_tarball(F2),
                      LogsStorageLocation={"Bucket": BUCKET, "Key": "unread-logs"})
    deadline = time.monotonic() + 5
    while s3.list_objects_v2(Bucket=BUCKET, Prefix=f"unread-logs/{afi_id}/")["KeyCount"] < 2:
        assert time.monotonic() < deadline, "no logs were written"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def failed_afis(ec2, s3) -> dict[str, dict]:
    """code -> the settled AFI of the bad tarball for that code."""
    created = {code: _new_afi(ec2, s3, f"dcp/bad-{code}.tar", tarball,
                              LogsStorageLocation={"Bucket": BUCKET, "Key": "bad-logs"})
               for code, tarball in bad_tarballs(F2).items()}
    return {code: _wait_settled(ec2, afi_id) for code, afi_id in created.items()}


@pytest.mark.parametrize("code", sorted(bad_tarballs()))
def test_a_bad_tarball_fails_with_its_code_and_logs_it(s3, failed_afis, code):
    image = failed_afis[code]
    assert image["State"]["Code"] == "failed"
    assert image["State"]["Message"].startswith(f"{code}: ")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"bad-logs/{image['FpgaImageId']}/")["Contents"]
    state_key = next(item["Key"] for item in listed if item["Key"].endswith("/State"))
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=state_key)["Body"].read())["State"] == image["State"]


def test_a_missing_input_object_fails_as_inaccessible_input(ec2):
    afi_id = ec2.create_fpga_image(InputStorageLocation={"Bucket": BUCKET, "Key": "dcp/absent.tar"})["FpgaImageId"]
    assert _wait_settled(ec2, afi_id)["State"]["Message"].startswith("INACCESSIBLE_INPUT: ")


def test_the_same_client_token_gives_the_same_afi_unless_the_request_differs(ec2, s3):
    location = _upload(s3, "dcp/token.tar", dcp_tarball(F2))
    first = ec2.create_fpga_image(InputStorageLocation=location, Name="a", ClientToken="token-1")
    again = ec2.create_fpga_image(InputStorageLocation=location, Name="a", ClientToken="token-1")
    assert again["FpgaImageId"] == first["FpgaImageId"]
    assert again["FpgaImageGlobalId"] == first["FpgaImageGlobalId"]
    mismatch = _error_code(lambda: ec2.create_fpga_image(InputStorageLocation=location, Name="b",
                                                         ClientToken="token-1"))
    assert mismatch == "IdempotentParameterMismatch"


def test_dry_run_creates_nothing(ec2, s3):
    before = len(ec2.describe_fpga_images()["FpgaImages"])
    code = _error_code(lambda: ec2.create_fpga_image(InputStorageLocation=_upload(s3, "dcp/dry.tar", b"x"),
                                                     DryRun=True))
    assert code == "DryRunOperation"
    assert len(ec2.describe_fpga_images()["FpgaImages"]) == before


# AFIs: describe, attributes, delete, copy

def test_describe_by_tag_name_state_and_global_id(ec2, available_afi):
    def ids(*filters, **options):
        return {i["FpgaImageId"] for i in ec2.describe_fpga_images(Filters=list(filters), **options)["FpgaImages"]}

    afi_id = available_afi["FpgaImageId"]
    assert ids({"Name": "tag:Project", "Values": ["fpgaops"]}) == {afi_id}
    assert afi_id in ids({"Name": "name", "Values": ["beat-*"]}, {"Name": "state", "Values": ["available"]})
    assert ids({"Name": "fpga-image-global-id", "Values": [available_afi["FpgaImageGlobalId"]]}) == {afi_id}
    assert afi_id in ids(Owners=["self"])
    assert afi_id not in ids(Owners=["amazon"])
    assert available_afi["Tags"] == [{"Key": "Project", "Value": "fpgaops"}]


def test_describe_pages_with_max_results(ec2, available_afi):
    everything = [image["FpgaImageId"] for image in ec2.describe_fpga_images()["FpgaImages"]]
    paged = [image["FpgaImageId"] for page in ec2.get_paginator("describe_fpga_images").paginate(MaxResults=5)
             for image in page["FpgaImages"]]
    assert paged == everything


def test_bad_filters_owners_and_ids_are_refused_as_aws_does(ec2):
    assert _error_code(lambda: ec2.describe_fpga_images(Filters=[{"Name": "bad-filter", "Values": ["x"]}])) \
        == "InvalidParameterValue"
    assert _error_code(lambda: ec2.describe_fpga_images(Owners=["12345"])) == "InvalidUserID.Malformed"
    assert _error_code(lambda: ec2.describe_fpga_images(FpgaImageIds=["afi-06d0ffc989feeeXXX"])) \
        == "InvalidFpgaImageID.Malformed"
    assert _error_code(lambda: ec2.describe_fpga_images(FpgaImageIds=["afi-03d027a3318440a77"])) \
        == "InvalidFpgaImageID.NotFound"
    assert _error_code(lambda: ec2.delete_fpga_image(FpgaImageId="agfi-03d027a3318440a77")) \
        == "InvalidFpgaImageID.Malformed"


def test_attributes_are_described_and_modified(ec2, s3):
    afi_id = _new_afi(ec2, s3, "dcp/attributes.tar", dcp_tarball(F2), Name="first", Description="about")

    def attribute(name):
        return ec2.describe_fpga_image_attribute(FpgaImageId=afi_id, Attribute=name)["FpgaImageAttribute"]

    assert attribute("name") == {"FpgaImageId": afi_id, "Name": "first"}
    assert attribute("description") == {"FpgaImageId": afi_id, "Description": "about"}
    assert attribute("loadPermission") == {"FpgaImageId": afi_id, "LoadPermissions": []}
    assert attribute("productCodes") == {"FpgaImageId": afi_id, "ProductCodes": []}
    renamed = ec2.modify_fpga_image_attribute(FpgaImageId=afi_id, Attribute="name", Name="second")
    assert renamed["FpgaImageAttribute"]["Name"] == "second"
    assert _describe(ec2, afi_id)["Name"] == "second"


def test_a_deleted_afi_is_not_found(ec2, s3):
    afi_id = _new_afi(ec2, s3, "dcp/delete.tar", dcp_tarball(F2))
    assert ec2.delete_fpga_image(FpgaImageId=afi_id)["Return"] is True
    assert _error_code(lambda: _describe(ec2, afi_id)) == "InvalidFpgaImageID.NotFound"


def test_a_cross_region_copy_keeps_the_global_id(endpoint, available_afi):
    west = _client(endpoint, "ec2", OTHER_REGION)
    copy_id = west.copy_fpga_image(SourceFpgaImageId=available_afi["FpgaImageId"], SourceRegion=REGION,
                                   Name="beat-west")["FpgaImageId"]
    assert copy_id != available_afi["FpgaImageId"]
    copied = _wait_settled(west, copy_id)
    assert copied["State"] == {"Code": "available"}
    assert copied["FpgaImageGlobalId"] == available_afi["FpgaImageGlobalId"]
    assert (copied["Name"], copied["Description"]) == ("beat-west", "beat model")
    assert copied["ShellVersion"] == F2.shell_version


def test_copying_a_pending_or_unknown_afi_fails(endpoint, ec2, s3):
    pending_id = _new_afi(ec2, s3, "dcp/pending.tar", dcp_tarball(F2))
    same_region = ec2.copy_fpga_image(SourceFpgaImageId=pending_id, SourceRegion=REGION)["FpgaImageId"]
    west = _client(endpoint, "ec2", OTHER_REGION)
    unknown = west.copy_fpga_image(SourceFpgaImageId="afi-03d027a3318440a77", SourceRegion=REGION)["FpgaImageId"]
    assert _wait_settled(ec2, same_region)["State"]["Message"].startswith("INVALID_STATE: ")
    assert _wait_settled(west, unknown)["State"]["Message"].startswith("NOT_FOUND: ")
    assert _error_code(lambda: ec2.copy_fpga_image(SourceFpgaImageId="afi-03d027a3318440a77",
                                                   SourceRegion=REGION)) == "InvalidFpgaImageID.NotFound"


# The route of the FPGA tool stand-ins

def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_sandbox_route_answers_an_agfi(endpoint, available_afi):
    agfi = available_afi["FpgaImageGlobalId"]
    status, body = _get(f"{endpoint}/_sandbox/fpga-images/{agfi}?region={REGION}")
    assert status == 200
    assert body == {"FpgaImageId": available_afi["FpgaImageId"], "FpgaImageGlobalId": agfi,
                    "State": {"Code": "available"}, "ShellVersion": F2.shell_version,
                    "PciId": available_afi["PciId"]}
    assert _get(f"{endpoint}/_sandbox/fpga-images/agfi-03d027a3318440a77?region={REGION}")[0] == 404
    assert _get(f"{endpoint}/_sandbox/fpga-images/{agfi}?region=eu-west-1")[0] == 404
    assert _get(f"{endpoint}/_sandbox/fpga-images/{agfi}")[0] == 400
    assert _get(f"{endpoint}/_sandbox/fpga-images/afi-03d027a3318440a77?region={REGION}")[0] == 400


def test_a_region_without_fpgas_has_no_create_fpga_image(endpoint, s3):
    paris = _client(endpoint, "ec2", "eu-west-3")
    with pytest.raises(ClientError) as raised:
        paris.create_fpga_image(InputStorageLocation=_upload(s3, "dcp/paris.tar", dcp_tarball(F2)))
    assert raised.value.response["Error"]["Code"] == "InvalidAction"
    assert raised.value.response["Error"]["Message"] == "The action CreateFpgaImage is not valid for this web service."


# AMIs

@pytest.mark.parametrize("platform", [F1, F2], ids=["f1", "f2"])
def test_the_fpga_developer_amis_of_the_table_are_found_by_name_the_default_newest(ec2, platform):
    images = ec2.describe_images(Owners=["aws-marketplace"],
                                 Filters=[{"Name": "name", "Values": [platform.ami_name_pattern]}])["Images"]
    assert sorted(image["Name"] for image in images) == sorted(
        ami.name for ami in DEVELOPER_AMIS if ami.platform == platform.name)
    assert all(image["OwnerId"] == "679593333241" and image["Public"] is True for image in images)
    assert find_developer_ami(ec2, platform).name == default_ami(platform.name).name


# Instances become hosts

def _ami_id(ec2, platform) -> str:
    return find_developer_ami(ec2, platform).image_id


def _instance(ec2, instance_id: str) -> dict:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def _launch_spec(provider, instance_id: str) -> InstanceHostSpec:
    return next(call[2] for call in provider.calls if call[:2] == ("launch", instance_id))


@pytest.fixture(scope="module")
def key_pair(ec2) -> dict:
    return ec2.create_key_pair(KeyName="fpgaops-created", KeyType="ed25519")


@pytest.fixture(scope="module")
def f2_instance(ec2, key_pair) -> str:
    return ec2.run_instances(
        ImageId=_ami_id(ec2, F2), InstanceType="f2.12xlarge", MinCount=1, MaxCount=1, KeyName=key_pair["KeyName"],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "fpga-1"}]}],
    )["Instances"][0]["InstanceId"]


def test_an_instance_of_an_older_ami_gets_that_amis_host(ec2, provider, key_pair):
    older = next(ami for ami in DEVELOPER_AMIS if ami.platform == "f2" and ami != default_ami("f2"))
    image = ec2.describe_images(Filters=[{"Name": "name", "Values": [older.name]}])["Images"][0]
    launched = ec2.run_instances(ImageId=image["ImageId"], InstanceType="f2.6xlarge", MinCount=1, MaxCount=1,
                                 KeyName=key_pair["KeyName"])["Instances"][0]["InstanceId"]
    assert _launch_spec(provider, launched).ami == older.version
    ec2.terminate_instances(InstanceIds=[launched])


def test_run_instances_launches_a_host_and_reports_its_address(ec2, provider, key_pair, f2_instance):
    spec = _launch_spec(provider, f2_instance)
    private_key = serialization.load_ssh_private_key(key_pair["KeyMaterial"].encode(), password=None)
    public_line = private_key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                        serialization.PublicFormat.OpenSSH).decode()
    assert spec == InstanceHostSpec(instance_type="f2.12xlarge", platform="f2", fpga_slots=2, login_user="ubuntu",
                                    authorized_keys=(f"{public_line} fpgaops-created",), region=REGION,
                                    name="fpga-1", ami=default_ami("f2").version)
    instance = _instance(ec2, f2_instance)
    assert instance["State"]["Name"] == "running"
    assert instance["PublicIpAddress"] == instance["PrivateIpAddress"]
    assert instance["PrivateIpAddress"].startswith("127.0.0.")
    assert instance["PrivateDnsName"] == f"ip-{instance['PrivateIpAddress'].replace('.', '-')}.ec2.internal"


def test_an_imported_key_is_authorized_on_an_f1_host(ec2, provider):
    public_key = _openssh_public_key(9)
    ec2.import_key_pair(KeyName="fpgaops-imported", PublicKeyMaterial=f"{public_key} me@laptop".encode())
    instance_id = ec2.run_instances(ImageId=_ami_id(ec2, F1), InstanceType="f1.4xlarge", MinCount=1, MaxCount=1,
                                    KeyName="fpgaops-imported")["Instances"][0]["InstanceId"]
    spec = _launch_spec(provider, instance_id)
    assert (spec.platform, spec.fpga_slots, spec.login_user) == ("f1", 2, "centos")
    assert spec.authorized_keys == (f"{public_key} fpgaops-imported",)
    assert spec.name == instance_id


def test_spot_instances_launch_hosts_too(ec2, provider):
    spot_id = ec2.run_instances(ImageId=_ami_id(ec2, F2), InstanceType="f2.6xlarge", MinCount=1, MaxCount=1,
                                InstanceMarketOptions={"MarketType": "spot"})["Instances"][0]["InstanceId"]
    assert _instance(ec2, spot_id)["InstanceLifecycle"] == "spot"
    request = ec2.request_spot_instances(InstanceCount=1, LaunchSpecification={
        "ImageId": _ami_id(ec2, F1), "InstanceType": "f1.2xlarge"})["SpotInstanceRequests"][0]
    fulfilled = ec2.describe_spot_instance_requests(SpotInstanceRequestIds=[request["SpotInstanceRequestId"]])
    requested_id = fulfilled["SpotInstanceRequests"][0]["InstanceId"]
    for instance_id in (spot_id, requested_id):
        assert provider.calls_for(instance_id) == ["launch"]
        assert _instance(ec2, instance_id)["PublicIpAddress"].startswith("127.0.0.")


def test_a_retried_run_instances_with_the_same_client_token_launches_nothing_new(ec2, provider):
    request = {"ImageId": _ami_id(ec2, F2), "InstanceType": "f2.6xlarge", "MinCount": 1, "MaxCount": 1,
               "ClientToken": "fleet-f1-a"}
    first = ec2.run_instances(**request)["Instances"][0]["InstanceId"]
    again = ec2.run_instances(**request)["Instances"][0]["InstanceId"]
    other = ec2.run_instances(**{**request, "ClientToken": "fleet-f1-b"})["Instances"][0]["InstanceId"]
    assert first == again != other
    assert provider.calls_for(first) == ["launch"]
    ec2.terminate_instances(InstanceIds=[first])
    retried = ec2.run_instances(**request)["Instances"][0]
    assert (retried["InstanceId"], retried["State"]["Name"]) == (first, "terminated")


def test_stop_start_and_terminate_drive_the_host(ec2, provider):
    instance_id = ec2.run_instances(ImageId=_ami_id(ec2, F2), InstanceType="f2.6xlarge", MinCount=1,
                                    MaxCount=1)["Instances"][0]["InstanceId"]
    first_address = _instance(ec2, instance_id)["PublicIpAddress"]
    ec2.stop_instances(InstanceIds=[instance_id])
    stopped = _instance(ec2, instance_id)
    assert stopped["State"]["Name"] == "stopped" and "PublicIpAddress" not in stopped
    ec2.start_instances(InstanceIds=[instance_id])
    assert _instance(ec2, instance_id)["PublicIpAddress"] not in (None, first_address)
    ec2.terminate_instances(InstanceIds=[instance_id])
    assert provider.calls_for(instance_id) == ["launch", "stop", "start", "terminate"]


def test_a_failed_launch_terminates_the_instance_with_aws_reason(ec2):
    instance_id = ec2.run_instances(
        ImageId=_ami_id(ec2, F2), InstanceType="f2.6xlarge", MinCount=1, MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": FAILING_NAME}]}],
    )["Instances"][0]["InstanceId"]
    instance = _instance(ec2, instance_id)
    assert instance["State"]["Name"] == "terminated"
    assert instance["StateReason"] == {"Code": "Server.InternalError",
                                       "Message": "Server.InternalError: Internal error on launch"}


def test_the_console_output_carries_the_host_keys(ec2, f2_instance):
    output = ec2.get_console_output(InstanceId=f2_instance)["Output"]  # boto3 decodes AWS's base64
    block = output.split("-----BEGIN SSH HOST KEY KEYS-----\n")[1].split("-----END SSH HOST KEY KEYS-----")[0]
    assert [" ".join(line.split()[:2]) for line in block.splitlines()] == list(HOST_KEYS)
    assert "-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 SHA256:" in output


# Spot prices

def test_spot_prices_of_fpga_types_are_a_share_of_on_demand(ec2):
    history = ec2.describe_spot_price_history(InstanceTypes=["f1.2xlarge", "f2.6xlarge"],
                                              Filters=[{"Name": "availability-zone", "Values": ["us-east-1b"]},
                                                       {"Name": "product-description", "Values": ["Linux/UNIX"]}])
    prices = {item["InstanceType"]: float(item["SpotPrice"]) for item in history["SpotPriceHistory"]}
    assert prices == pytest.approx({"f1.2xlarge": 1.65 * 0.32, "f2.6xlarge": 1.98 * 0.32})
