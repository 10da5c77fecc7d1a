"""AWS failures explained: codes to meaning and fix, refused permissions to the IAM action, botocore errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError, NoRegionError, ProfileNotFound

from fpgaops.aws.dcp_tarball import ERROR_DESCRIPTIONS
from fpgaops.aws.errors import (
    AFI_ERRORS,
    AwsError,
    CapacityError,
    afi_error_code,
    explain,
    required_iam_actions,
    translate_errors,
)
from tests.unit.aws.aws_fakes import client_error


def test_a_refused_call_names_the_iam_action_from_the_message_or_the_operation() -> None:
    worded = explain(client_error("UnauthorizedOperation", "User: arn:aws:iam::1:user/x is not authorized to "
                                  "perform: ec2:RunInstances on resource: arn:aws:ec2:us-east-1:1:instance/*",
                                  "RunInstances"))
    s3 = explain(client_error("AccessDenied", "Access Denied", "HeadObject"))
    unknown = explain(client_error("AccessDenied", "Access Denied", "FrobnicateWidgets"))

    assert worded.action == "ec2:RunInstances" and "add ec2:RunInstances to the IAM policy" in worded.fix
    assert s3.action == "s3:GetObject"
    assert unknown.action == "the IAM action of FrobnicateWidgets"


def test_capacity_codes_are_capacity_errors_with_a_fix() -> None:
    error = explain(client_error("InsufficientInstanceCapacity", "We currently do not have sufficient f2.6xlarge "
                                 "capacity in the Availability Zone you requested (us-east-1a).", "RunInstances"),
                    "launching f1-a")

    assert isinstance(error, CapacityError)
    assert str(error).splitlines()[0].startswith("launching f1-a: RunInstances failed: InsufficientInstanceCapacity:")
    assert "  meaning: AWS has no free capacity" in str(error) and "  fix: " in str(error)


def test_a_zero_vcpu_quota_says_fpga_instances_are_not_enabled() -> None:
    zero = explain(client_error("VcpuLimitExceeded", "You have requested more vCPU capacity than your current vCPU "
                                "limit of 0 allows for the instance bucket", "RunInstances"))
    reached = explain(client_error("VcpuLimitExceeded", "... your current vCPU limit of 96 allows ...", "RunInstances"))

    assert "not enabled for this account" in zero.meaning and "Service Quotas" in zero.fix
    assert "not enabled for this account" not in reached.meaning


@pytest.mark.parametrize(("exc", "code", "fix"), [
    (NoCredentialsError(), "NoCredentials", "aws configure"),
    (ProfileNotFound(profile="fpga"), "ProfileNotFound", "aws configure --profile NAME"),
    (NoRegionError(), "NoRegion", "AWS_DEFAULT_REGION"),
    (EndpointConnectionError(endpoint_url="https://ec2.us-east-9.amazonaws.com"), "EndpointConnection", "region"),
])
def test_botocore_errors_say_how_to_fix_the_setup(exc, code, fix) -> None:
    error = explain(exc)

    assert error.code == code and fix in error.fix


def test_every_afi_error_code_has_a_meaning_and_a_fix() -> None:
    assert set(ERROR_DESCRIPTIONS) <= set(AFI_ERRORS)
    assert all(advice.meaning and advice.fix for advice in AFI_ERRORS.values())
    assert afi_error_code("MANIFEST_NOT_FOUND: No manifest file was found.") == "MANIFEST_NOT_FOUND"
    assert afi_error_code("") is None


def test_translate_errors_turns_botocore_exceptions_into_aws_errors() -> None:
    @translate_errors
    def launch() -> None:
        raise client_error("PendingVerification", "being validated", "RunInstances")

    with pytest.raises(AwsError) as raised:
        launch()

    assert raised.value.code == "PendingVerification" and raised.value.__cause__ is not None


def test_the_iam_actions_form_a_policy() -> None:
    actions = required_iam_actions()

    assert {"ec2:RunInstances", "ec2:CreateTags", "ec2:CreateFpgaImage", "s3:PutObject",
            "cloudwatch:PutMetricAlarm"} <= set(actions)
    assert actions == sorted(set(actions))
