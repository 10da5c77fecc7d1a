"""Sessions: clear errors for missing credentials, profiles and regions; throttling retried by botocore."""

from __future__ import annotations

import pytest

from fpgaops.aws.errors import AwsError
from fpgaops.aws.session import AwsClients, AwsSettings
from tests.unit.aws.aws_fakes import Injected, moto_cloud


@pytest.fixture
def no_aws_config(monkeypatch, tmp_path) -> None:
    """An environment with no AWS credentials anywhere (no files, no variables, no instance metadata)."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_DEFAULT_PROFILE", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_no_credentials_says_how_to_configure_them(no_aws_config) -> None:
    aws = AwsClients(AwsSettings(region="us-east-1"))

    with pytest.raises(AwsError) as raised:
        aws.check_credentials()

    assert raised.value.code == "NoCredentials" and "aws configure sso" in raised.value.fix


def test_an_unknown_profile_is_named(no_aws_config) -> None:
    with pytest.raises(AwsError) as raised:
        AwsClients(AwsSettings(profile="fpga-lab", region="us-east-1"))

    assert raised.value.code == "ProfileNotFound" and "fpga-lab" in raised.value.summary


@pytest.mark.parametrize("region", ["us-east1", "virginia", "US-EAST-1"])
def test_an_unknown_region_is_refused_before_any_call(no_aws_config, region) -> None:
    with pytest.raises(AwsError) as raised:
        AwsClients(AwsSettings(region=region))

    assert raised.value.code == "UnknownRegion"


def test_no_region_at_all_is_refused(no_aws_config) -> None:
    with pytest.raises(AwsError) as raised:
        AwsClients(AwsSettings())

    assert raised.value.code == "NoRegion"


def test_the_sandbox_needs_only_its_endpoint(no_aws_config) -> None:
    aws = AwsClients(AwsSettings.sandbox("http://127.0.0.1:4566"))

    ec2 = aws.client("ec2")

    assert ec2.meta.endpoint_url == "http://127.0.0.1:4566" and ec2.meta.region_name == "us-east-1"
    assert aws.client("ec2") is ec2
    assert ec2.meta.config.retries == {"mode": "standard", "total_max_attempts": 10}


def test_throttled_calls_are_retried_and_credentials_checked(monkeypatch) -> None:
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0)
    with moto_cloud() as aws, Injected(aws.client("ec2")) as hooks:
        hooks.throttle("DescribeRegions", times=3)

        regions = aws.client("ec2").describe_regions()["Regions"]

        assert regions and len(hooks.calls["throttled DescribeRegions"]) == 3
        assert aws.account_id == "123456789012"


def test_throttling_beyond_the_retries_is_explained(monkeypatch) -> None:
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0)
    with moto_cloud() as base:
        aws = AwsClients(AwsSettings(region="us-east-1", max_attempts=2), session=base.session)
        with Injected(aws.client("sts")) as hooks:
            hooks.throttle("GetCallerIdentity", times=5)

            with pytest.raises(AwsError) as raised:
                aws.check_credentials()

    assert raised.value.code == "RequestLimitExceeded" and "retried with backoff" in raised.value.fix
