"""AWS failures said plainly: what happened, what it means, what to do.

``AwsError`` is the one exception this package raises for expected failures (no credentials, a
missing permission, no capacity, an AFI that failed...). ``explain(exc)`` turns a botocore
exception into one, with the meaning and likely fix of its error code from ``AWS_ERRORS`` (EC2,
S3, STS, CloudWatch codes) or ``AFI_ERRORS`` (the codes of a failed AFI's ``State.Message``).
Public functions of ``fpgaops.aws`` are wrapped in ``@translate_errors`` so callers (fab tasks,
the runner) catch ``AwsError`` only and print ``str(error)``.

Sources: EC2's error code reference (docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html),
messages seen in real launches (VcpuLimitExceeded, InsufficientInstanceCapacity, Unsupported,
PendingVerification), and aws-fpga's ``hdk/docs/create_fpga_image_error_codes.md`` for AFIs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)

from fpgaops.aws.dcp_tarball import ERROR_DESCRIPTIONS
from fpgaops.fpga_platform import shells_of

F = TypeVar("F", bound=Callable[..., Any])


class AwsError(Exception):
    """An expected AWS failure: ``summary`` (what happened), ``meaning`` and ``fix`` when known.

    ``code`` is AWS's error code (``VcpuLimitExceeded``, ``MANIFEST_NOT_FOUND``...), ``action`` the
    IAM action that was refused (``ec2:RunInstances``) for a missing permission.
    """

    def __init__(self, summary: str, *, code: str | None = None, meaning: str | None = None,
                 fix: str | None = None, action: str | None = None):
        self.summary, self.code, self.meaning, self.fix, self.action = summary, code, meaning, fix, action
        super().__init__(self._text())

    def _text(self) -> str:
        lines = [self.summary]
        if self.meaning:
            lines.append(f"  meaning: {self.meaning}")
        if self.fix:
            lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)


class CapacityError(AwsError):
    """No capacity for the instance (on-demand or spot) where it was asked for."""


class BudgetExceeded(AwsError):
    """What would run costs more per hour than ``max_hourly_usd`` allows."""


@dataclass(frozen=True)
class ErrorAdvice:
    """What an error code means and how it is usually fixed."""

    meaning: str
    fix: str


_CREDENTIALS_FIX = ("configure credentials: `aws configure` (access keys), `aws configure sso` then "
                    "`aws sso login --profile NAME` (IAM Identity Center), or AWS_PROFILE / AWS_ACCESS_KEY_ID")
_QUOTA_FIX = ("request a higher quota in the Service Quotas console (EC2 > 'Running On-Demand F instances' or "
              "'All F Spot Instance Requests'; vCPUs: f2.6xlarge = 24, f1.2xlarge = 8); increases take hours to days")
_THROTTLE_FIX = "wait a minute and rerun; the request was already retried with backoff"

AWS_ERRORS: dict[str, ErrorAdvice] = {
    # capacity and quotas
    "InsufficientInstanceCapacity": ErrorAdvice(
        "AWS has no free capacity for this instance type in this Availability Zone right now",
        "retry later, allow on-demand fallback for spot, or list several subnets (other zones) in the config"),
    "InsufficientCapacity": ErrorAdvice(
        "AWS has no free capacity for this request right now", "retry later or in another zone or region"),
    "VcpuLimitExceeded": ErrorAdvice(
        "the account's vCPU quota for this instance family is reached (new accounts get 0 vCPUs for F "
        "instances: FPGA instances are not enabled until the quota is raised)", _QUOTA_FIX),
    "MaxSpotInstanceCountExceeded": ErrorAdvice(
        "the account's spot quota for this instance family is reached",
        "use on-demand (market on-demand, or allow the fallback), or " + _QUOTA_FIX),
    "InstanceLimitExceeded": ErrorAdvice(
        "the account's instance count limit in this region is reached", _QUOTA_FIX),
    "SpotMaxPriceTooLow": ErrorAdvice(
        "the spot max price is below the current spot price",
        "raise spot_max_price_usd, leave it unset (capped at the on-demand price), or use on-demand"),
    "Unsupported": ErrorAdvice(
        "the instance type is not offered in this Availability Zone or region, or not to this account "
        "(F1 was retired on 2025-12-20: only accounts that used F1 in Dec 2023 - Dec 2024 may launch it)",
        "pick another zone/region where the type is offered (`aws ec2 describe-instance-type-offerings "
        "--location-type availability-zone --filters Name=instance-type,Values=TYPE`), or use F2"),
    "PendingVerification": ErrorAdvice(
        "AWS is still validating this account for this region (new accounts), so nothing can be launched yet",
        "wait (usually minutes, up to 4 hours), then rerun; write to aws-verification@amazon.com if it persists"),
    "OptInRequired": ErrorAdvice(
        "the account is not subscribed to this AWS Marketplace product (the FPGA Developer AMI is one) or "
        "the region is not enabled for the account",
        "subscribe to the 'FPGA Developer AMI' in AWS Marketplace (accept its terms), or enable the region "
        "in Account settings, then rerun"),
    "Blocked": ErrorAdvice("the account is blocked", "contact AWS Support"),
    # parameters
    "InvalidParameterValue": ErrorAdvice(
        "a request parameter has a value AWS does not accept (the message names it: an unknown instance "
        "type, for example)", "fix the value in the config (FPGA instance types: f2.6xlarge, f2.12xlarge, "
        "f2.48xlarge, f1.2xlarge, f1.4xlarge, f1.16xlarge)"),
    "InvalidParameterCombination": ErrorAdvice(
        "parameters that cannot be used together", "check the launch settings named in the message"),
    "InvalidAMIID.NotFound": ErrorAdvice(
        "the AMI does not exist in this region (AMI ids are regional)",
        "leave ami_id unset to look up the FPGA Developer AMI of this region, or use this region's AMI id"),
    "InvalidAMIID.Malformed": ErrorAdvice("the AMI id is not of the form ami-...", "fix ami_id"),
    "InvalidBlockDeviceMapping": ErrorAdvice(
        "the root volume settings are invalid (often: smaller than the AMI's snapshot)",
        "raise root_volume_gb to at least the AMI's snapshot size"),
    "InvalidKeyPair.NotFound": ErrorAdvice("the key pair does not exist in this region", "rerun provision"),
    "InvalidGroup.NotFound": ErrorAdvice("the security group does not exist", "rerun provision"),
    "InvalidSubnetID.NotFound": ErrorAdvice("a configured subnet does not exist in this region",
                                            "fix subnet_ids (subnets are regional)"),
    "VPCIdNotSpecified": ErrorAdvice("the region has no default VPC", "set vpc_id and subnet_ids in the config"),
    "MissingInput": ErrorAdvice("the region has no default VPC or subnet", "set vpc_id and subnet_ids in the config"),
    "IdempotentParameterMismatch": ErrorAdvice(
        "the same client token was used before with other parameters (an earlier launch or AFI request of "
        "the same slot or model was made with other settings)",
        "terminate the earlier instance (or delete the AFI) and rerun, or rename the project"),
    "IncorrectInstanceState": ErrorAdvice(
        "the instance is in a state that does not allow this (e.g. starting one that is still stopping)",
        "wait a minute and rerun"),
    "IncorrectSpotRequestState": ErrorAdvice(
        "the spot request is not in a state that allows this", "wait a minute and rerun"),
    "InvalidFpgaImageID.NotFound": ErrorAdvice(
        "no AFI with this id in this region (afi- ids are regional)", "check the id and the region"),
    "InvalidFpgaImageID.Malformed": ErrorAdvice(
        "not an AFI id (afi- or agfi- followed by 17 hex digits)", "check the id"),
    "OperationNotPermitted": ErrorAdvice(
        "AWS refuses this operation on this resource (e.g. deleting a public or shared AFI)",
        "remove its load permissions first"),
    # credentials and permissions
    "UnauthorizedOperation": ErrorAdvice(
        "the credentials in use lack a permission", "add the IAM action to the user's or role's policy"),
    "AccessDenied": ErrorAdvice(
        "the credentials in use lack a permission (or the S3 bucket belongs to another account)",
        "add the IAM action to the user's or role's policy, or use a bucket of this account"),
    "AccessDeniedException": ErrorAdvice(
        "the credentials in use lack a permission", "add the IAM action to the user's or role's policy"),
    "AuthFailure": ErrorAdvice("AWS did not accept the credentials", _CREDENTIALS_FIX),
    "InvalidClientTokenId": ErrorAdvice("the access key id is not known to AWS", _CREDENTIALS_FIX),
    "InvalidAccessKeyId": ErrorAdvice("the access key id is not known to AWS", _CREDENTIALS_FIX),
    "SignatureDoesNotMatch": ErrorAdvice("the secret access key is wrong", _CREDENTIALS_FIX),
    "UnrecognizedClientException": ErrorAdvice("AWS did not accept the credentials", _CREDENTIALS_FIX),
    "ExpiredToken": ErrorAdvice("the session credentials have expired",
                                "refresh them (`aws sso login --profile NAME` for SSO)"),
    "ExpiredTokenException": ErrorAdvice("the session credentials have expired",
                                         "refresh them (`aws sso login --profile NAME` for SSO)"),
    "RequestExpired": ErrorAdvice("the request's timestamp is too old: the laptop clock is off",
                                  "sync the clock (e.g. `timedatectl set-ntp true`)"),
    # throttling
    "RequestLimitExceeded": ErrorAdvice("AWS throttled the API calls", _THROTTLE_FIX),
    "Throttling": ErrorAdvice("AWS throttled the API calls", _THROTTLE_FIX),
    "ThrottlingException": ErrorAdvice("AWS throttled the API calls", _THROTTLE_FIX),
    "SlowDown": ErrorAdvice("S3 throttled the requests", _THROTTLE_FIX),
    # S3
    "NoSuchBucket": ErrorAdvice("the S3 bucket does not exist", "rerun: the AFI pipeline creates it"),
    "BucketAlreadyExists": ErrorAdvice("the S3 bucket name is taken by another account (names are global)",
                                       "choose another bucket name in the config"),
    "IllegalLocationConstraintException": ErrorAdvice(
        "the bucket is in another region than the request", "use a bucket in the AFI's region"),
    "EntityTooSmall": ErrorAdvice("a multipart upload part is below S3's 5 MiB minimum",
                                  "raise multipart_chunk_bytes to 8 MiB or more"),
}

# Likely fixes of the codes a failed AFI reports in State.Message ("CODE: message"); the meanings
# are AWS's own (dcp_tarball.ERROR_DESCRIPTIONS) plus the codes only AWS's Vivado run can find.
_AFI_FIXES = {
    "INACCESSIBLE_INPUT": "keep the bucket in the AFI's region and the object in place until the AFI settles; "
                          "the credentials must be able to read it",
    "INPUT_SIZE_ILLEGAL": "rebuild the tarball with the HDK scripts (it is empty or too large)",
    "DCP_INTEGRITY_UNVERIFIED": "rebuild the tarball with the HDK scripts instead of editing it: the DCP no "
                                "longer matches the manifest's dcp_hash",
    "MANIFEST_NOT_FOUND": "upload the <timestamp>.Developer_CL.tar the HDK DCP build writes to "
                          "build/checkpoints/to_aws, not an HLS project export",
    "MANIFEST_PARSE_FAILED": "let the HDK scripts write the manifest (manifest_format_version=2, key=value lines)",
    "SHELL_VERSION_INVALID": "build with the HDK of the target platform (" + "; ".join(
        f"{p.upper()} shells {', '.join(s.version for s in shells_of(p))}" for p in ("f2", "f1")) + ")",
    "SHELL_VERSION_DEPRECATED": "update aws-fpga to a current release and rebuild",
    "TOOL_VERSION_INVALID": "build with a Vivado version AWS supports for the platform",
    "PCIID_SYNTAX_INVALID": "set the CL's PCI ids to 0x0001-0xFFFF values",
    "PCIID_FORBIDDEN": "with vendor 0x1D0F use a device id in 0xF000-0xFFFF (or your own vendor id)",
    "CLK_ILLEGAL": "choose clock recipes from the HDK's clock recipe table",
    "CORRUPT_ARCHIVE": "upload the plain (not gzipped) tar the HDK scripts write; fetch it again if truncated",
    "DCP_NOT_FOUND": "dcp_file_name must name the DCP inside to_aws/: rebuild with the HDK scripts",
    "DCP_CORRUPT": "rerun the DCP build; fetch the tarball again (it may have been damaged in transfer)",
    "DCP_NOT_ENCRYPTED": "build with the HDK scripts, which encrypt the CL before the DCP is written",
    "UNSUPPORTED_DESIGN_LOGIC": "remove the logic the logs name (AWS forbids some primitives in a CL) and rebuild",
    "UNKNOWN_BITSTREAM_GENERATE_ERROR": "an AWS-side failure: retry once (retry_failed=True); if it fails "
                                        "again, open an AWS Support case with the AFI id and the logs",
}
_AFI_EXTRA_MEANINGS = {
    "DCP_CORRUPT": "Could not parse the input DCP. The DCP files seems to be corrupt",
    "DCP_NOT_ENCRYPTED": "The DCP was not encrypted",
    "UNSUPPORTED_DESIGN_LOGIC": "The design uses logic AWS does not allow in a Custom Logic",
    "UNKNOWN_BITSTREAM_GENERATE_ERROR": "An unexpected error occurred generating the bitstream",
}
AFI_ERRORS: dict[str, ErrorAdvice] = {
    code: ErrorAdvice(ERROR_DESCRIPTIONS.get(code) or _AFI_EXTRA_MEANINGS[code], fix)
    for code, fix in _AFI_FIXES.items()
}

CAPACITY_CODES = frozenset({"InsufficientInstanceCapacity", "InsufficientCapacity"})
SPOT_FALLBACK_CODES = CAPACITY_CODES | {"SpotMaxPriceTooLow", "MaxSpotInstanceCountExceeded"}
PERMISSION_CODES = frozenset({"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"})

# The IAM action behind each API operation this package calls: a refused call names it, and
# together they are the policy the toolkit needs (``required_iam_actions()``).
IAM_ACTIONS = {
    **{op: f"ec2:{op}" for op in (
        "RunInstances", "DescribeInstances", "StartInstances", "StopInstances", "TerminateInstances",
        "CreateTags", "DescribeImages", "DescribeKeyPairs", "ImportKeyPair", "CreateKeyPair",
        "DescribeSecurityGroups", "CreateSecurityGroup", "AuthorizeSecurityGroupIngress",
        "RevokeSecurityGroupIngress", "DescribeVpcs", "DescribeSubnets", "DescribeSpotPriceHistory",
        "DescribeSpotInstanceRequests", "CancelSpotInstanceRequests", "GetConsoleOutput",
        "CreateFpgaImage", "DescribeFpgaImages", "DeleteFpgaImage")},
    "CreateBucket": "s3:CreateBucket", "HeadBucket": "s3:ListBucket", "ListObjectsV2": "s3:ListBucket",
    "GetBucketLocation": "s3:GetBucketLocation", "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "PutBucketTagging": "s3:PutBucketTagging", "GetBucketTagging": "s3:GetBucketTagging",
    "HeadObject": "s3:GetObject", "GetObject": "s3:GetObject", "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject", "UploadPart": "s3:PutObject", "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload", "DeleteObjects": "s3:DeleteObject",
    "PutMetricAlarm": "cloudwatch:PutMetricAlarm", "DescribeAlarms": "cloudwatch:DescribeAlarms",
    "DeleteAlarms": "cloudwatch:DeleteAlarms",
}
_REFUSED_ACTION = re.compile(r"not authorized to perform:? ([a-z0-9-]+:[A-Za-z0-9]+)")
_LAUNCH_OPERATIONS = ("RunInstances", "StartInstances")


def required_iam_actions() -> list[str]:
    """Every IAM action the toolkit's AWS calls need, sorted (for an IAM policy).

    Example: ``{"Effect": "Allow", "Action": required_iam_actions(), "Resource": "*"}``
    """
    return sorted(set(IAM_ACTIONS.values()))


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a ``ClientError`` (``"InsufficientInstanceCapacity"``), else None."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None


def afi_error_code(state_message: str | None) -> str | None:
    """The code at the start of a failed AFI's ``State.Message`` (``"MANIFEST_NOT_FOUND: No..."``), or None."""
    match = re.match(r"\s*([A-Z][A-Z0-9_]+)\b", state_message or "")
    return match.group(1) if match else None


def explain(exc: BaseException, context: str | None = None) -> AwsError:
    """The ``AwsError`` for a botocore exception (``AwsError`` passes through), ``context`` prefixed.

    Args:
        exc: a ``ClientError``, a ``BotoCoreError`` (no credentials, no region, no connection) or an ``AwsError``.
        context: what was being done, e.g. ``"launching f1-a"``.

    Example: ``except ClientError as exc: raise explain(exc, "launching f1-a") from exc``
    """
    if isinstance(exc, AwsError):
        return exc
    prefix = f"{context}: " if context else ""
    if isinstance(exc, ClientError):
        return _explain_client_error(exc, prefix)
    return _explain_botocore_error(exc, prefix)


def _explain_client_error(exc: ClientError, prefix: str) -> AwsError:
    code = error_code(exc) or "Unknown"
    message = exc.response.get("Error", {}).get("Message") or ""
    operation = exc.operation_name
    summary = f"{prefix}{operation} failed: {code}: {message}".rstrip(": ")
    advice = AWS_ERRORS.get(code)
    meaning, fix = (advice.meaning, advice.fix) if advice else (None, None)
    action = None
    if code in PERMISSION_CODES:
        found = _REFUSED_ACTION.search(message)
        action = found.group(1) if found else IAM_ACTIONS.get(operation, f"the IAM action of {operation}")
        meaning = f"the credentials in use may not call {action}"
        fix = f"add {action} to the IAM policy of the user or role in use"
        if "Encoded authorization failure message" in message:
            fix += " (`aws sts decode-authorization-message --encoded-message ...` shows which policy denied it)"
    elif code == "VcpuLimitExceeded" and "limit of 0 " in message:
        meaning = ("FPGA (F) instances are not enabled for this account yet: its vCPU quota for them is 0")
    elif code in ("Unsupported", "InvalidParameterValue") and operation in _LAUNCH_OPERATIONS and " f1." in message:
        fix = "use F2 (platform f2): F1 was retired on 2025-12-20 for accounts that did not use it in 2024"
    error_class = CapacityError if code in SPOT_FALLBACK_CODES else AwsError
    return error_class(summary, code=code, meaning=meaning, fix=fix, action=action)


def _explain_botocore_error(exc: BaseException, prefix: str) -> AwsError:
    if isinstance(exc, NoCredentialsError):
        return AwsError(f"{prefix}no AWS credentials found", code="NoCredentials",
                        meaning="boto3 found no credentials in the environment, ~/.aws or the instance role",
                        fix=_CREDENTIALS_FIX)
    if isinstance(exc, PartialCredentialsError):
        return AwsError(f"{prefix}incomplete AWS credentials: {exc}", code="PartialCredentials", fix=_CREDENTIALS_FIX)
    if isinstance(exc, ProfileNotFound):
        return AwsError(f"{prefix}{exc}", code="ProfileNotFound",
                        fix="use a profile listed by `aws configure list-profiles`, or create it with "
                            "`aws configure --profile NAME` / `aws configure sso`")
    if isinstance(exc, SSOError | TokenRetrievalError):
        return AwsError(f"{prefix}the SSO session is missing or expired: {exc}", code="SSOTokenExpired",
                        fix="run `aws sso login --profile NAME`")
    if isinstance(exc, CredentialRetrievalError):
        return AwsError(f"{prefix}{exc}", code="CredentialRetrieval", fix=_CREDENTIALS_FIX)
    if isinstance(exc, NoRegionError):
        return AwsError(f"{prefix}no AWS region set", code="NoRegion",
                        fix="set the region in the config, in AWS_DEFAULT_REGION, or in the profile")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return AwsError(f"{prefix}cannot reach AWS: {exc}", code="EndpointConnection",
                        meaning="no network, a proxy in the way, or a region name that does not exist",
                        fix="check the network and the region name (e.g. us-east-1)")
    return AwsError(f"{prefix}{type(exc).__name__}: {exc}")


def translate_errors(func: F) -> F:
    """Decorator: botocore exceptions raised by ``func`` leave it as ``AwsError`` (with the cause chained).

    Example: ``@translate_errors\\ndef ensure_bucket(s3, name): ...``
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise explain(exc) from exc

    return wrapper  # type: ignore[return-value]
