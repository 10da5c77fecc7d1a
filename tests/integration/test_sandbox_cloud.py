"""The local AWS endpoint with real hosts: AFIs that load on FPGA hosts, instances that become hosts."""

from __future__ import annotations

import time

import boto3
import paramiko
import pytest

from fpgaops.aws.host_keys import host_keys_from_console
from fpgaops.fpga_platform import DEFAULT_REF
from fpgaops.platforms import F1, F2
from fpgaops.sandbox.hosts import SandboxHosts
from fpgaops.sandbox.processes import listening
from tests.ssh_helpers import connect
from tests.unit.aws.dcp_fixtures import dcp_tarball


def aws(cfg, service):
    return boto3.client(service, endpoint_url=cfg.endpoint_url, region_name=cfg.region,
                        aws_access_key_id="sandbox", aws_secret_access_key="sandbox")


def create_afi(cfg, platform, token):
    s3 = aws(cfg, "s3")
    s3.create_bucket(Bucket="afi-input")
    s3.put_object(Bucket="afi-input", Key=f"{token}.tar", Body=dcp_tarball(platform))
    return aws(cfg, "ec2").create_fpga_image(
        InputStorageLocation={"Bucket": "afi-input", "Key": f"{token}.tar"},
        LogsStorageLocation={"Bucket": "afi-input", "Key": "logs"}, Name=token, ClientToken=token)


def wait_state(cfg, afi_id, timeout_s=15.0):
    ec2, deadline = aws(cfg, "ec2"), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = ec2.describe_fpga_images(FpgaImageIds=[afi_id])["FpgaImages"][0]["State"]["Code"]
        if state != "pending":
            return state
        time.sleep(0.1)
    raise AssertionError(f"{afi_id} still pending after {timeout_s} s")


def install_sdk(cfg, conn):
    conn.put(str(cfg.artifacts_dir / f"aws-fpga-{DEFAULT_REF}.tar.gz"), "aws-fpga.tar.gz")
    conn.run("tar xzf aws-fpga.tar.gz && source aws-fpga/sdk_setup.sh >/dev/null")


@pytest.fixture(scope="module")
def f1a(sandbox):
    spec = SandboxHosts(sandbox).spec("f1-a")
    with connect(sandbox, spec.address, spec.login_user) as conn:
        install_sdk(sandbox, conn)
        yield conn


def test_an_available_agfi_loads_on_its_platform_and_nothing_else_does(sandbox, f1a):
    f2_afi = create_afi(sandbox, F2, "beat-f2")
    assert wait_state(sandbox, f2_afi["FpgaImageId"]) == "available"
    agfi = f2_afi["FpgaImageGlobalId"]

    loaded = f1a.run(f"sudo fpga-load-local-image -S 0 -I {agfi}", warn=True)
    assert loaded.exited == 0, loaded.stdout
    assert loaded.stdout.splitlines()[0].split()[2:4] == [agfi, "loaded"]
    described = f1a.run("sudo fpga-describe-local-image -S 0 -H").stdout.splitlines()
    assert described[1].split()[2:4] == [agfi, "loaded"] and described[1].split()[-1] == F2.shell_version

    f1_afi = create_afi(sandbox, F1, "beat-f1")
    assert wait_state(sandbox, f1_afi["FpgaImageId"]) == "available"
    for wrong in (f1_afi["FpgaImageGlobalId"], f2_afi["FpgaImageId"], "agfi-0123456789abcdef0"):
        refused = f1a.run(f"sudo fpga-load-local-image -S 0 -I {wrong}", warn=True)
        assert (refused.exited, refused.stdout.splitlines()[0]) == (5, "Error: (5) invalid-afi-id")


def launch(cfg, key_name, **extra):
    ec2 = aws(cfg, "ec2")
    ami = ec2.describe_images(Owners=["aws-marketplace"],
                              Filters=[{"Name": "name", "Values": [F2.ami_name_pattern]}])["Images"][0]
    instance = ec2.run_instances(ImageId=ami["ImageId"], InstanceType="f2.6xlarge", KeyName=key_name,
                                 MinCount=1, MaxCount=1, **extra)["Instances"][0]
    return ec2.describe_instances(InstanceIds=[instance["InstanceId"]])["Reservations"][0]["Instances"][0]


def pin_host_keys(cfg, instance, path):
    output = aws(cfg, "ec2").get_console_output(InstanceId=instance["InstanceId"])["Output"]
    keys = host_keys_from_console(output)
    assert keys, output
    path.write_text("".join(f"{instance['PublicIpAddress']} {k}\n" for k in keys))
    return path


def test_an_instance_becomes_a_host_that_stops_starts_and_terminates(sandbox, tmp_path):
    ec2 = aws(sandbox, "ec2")
    ec2.import_key_pair(KeyName="laptop", PublicKeyMaterial=sandbox.client_key.with_suffix(".pub").read_bytes())
    instance = launch(sandbox, "laptop", InstanceMarketOptions={"MarketType": "spot"})
    instance_id, address = instance["InstanceId"], instance["PublicIpAddress"]
    known_hosts = pin_host_keys(sandbox, instance, tmp_path / "known_hosts")

    with connect(sandbox, address, "ubuntu", known_hosts) as conn:
        assert conn.run("hostname").stdout.strip() == "ip-" + address.replace(".", "-")
        assert f'"instance_id": "{instance_id}"' in conn.run("cat /run/sandbox/host.json").stdout
        install_sdk(sandbox, conn)
        conn.run("echo kept | sudo tee /srv/on-the-root-volume >/dev/null")
        assert conn.run("sudo fpga-describe-local-image -S 0").ok
        assert conn.run("sudo test -d /run/sandbox/fpga").ok

    ec2.stop_instances(InstanceIds=[instance_id])
    assert not listening(address, 22)
    ec2.start_instances(InstanceIds=[instance_id])
    restarted = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert restarted["State"]["Name"] in ("pending", "running")
    with connect(sandbox, restarted["PublicIpAddress"], "ubuntu", known_hosts) as conn:
        assert conn.run("cat /srv/on-the-root-volume").stdout == "kept\n"  # the disk stays
        assert conn.run("sudo test -d /run/sandbox/fpga", warn=True).failed  # the FPGA's image does not

    ec2.terminate_instances(InstanceIds=[instance_id])
    assert not listening(address, 22)
    assert instance_id not in SandboxHosts(sandbox).names()


def test_an_instance_refuses_a_key_that_is_not_its_key_pairs(sandbox, tmp_path):
    ec2 = aws(sandbox, "ec2")
    created = ec2.create_key_pair(KeyName="generated-elsewhere")  # its private key is not ours
    instance = launch(sandbox, created["KeyName"])
    known_hosts = pin_host_keys(sandbox, instance, tmp_path / "known_hosts")
    try:
        with pytest.raises(paramiko.AuthenticationException):
            connect(sandbox, instance["PublicIpAddress"], "ubuntu", known_hosts)
    finally:
        ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
