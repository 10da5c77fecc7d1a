"""The AFI pipeline: DCP tarball -> preflight -> S3 -> create_fpga_image -> wait -> agfi id.

``ensure_afi`` runs it idempotently for one model: an AFI is found again by its tags (``Project``,
``ModelHash``, ``Platform``), which are the record of "the current AFI of a model" (no local
state): an available one is reused, a pending one waited for (so an interrupted wait resumes and
never creates a duplicate), and only then is a new one made. The tarball is checked on the laptop
first (``dcp_tarball.inspect_dcp_tarball``, the checks AWS's ingestion makes), so a wrong tarball
fails in seconds instead of after an hour at AWS. A failed AFI's logs are fetched from the S3
logs location and raised with the error code, its meaning and the likely fix.

With ``package_tarball`` (the model package release tarball the DCP was built from), the package
is uploaded beside the DCP tarball and the new AFI is tagged ``fpgaops:package`` =
``s3://<bucket>/<key>``: the exact model behind each AFI (provenance), and what the sandbox's FPGA
card stand-in emulates when the AFI is loaded. An AFI that is reused or resumed keeps its tags.

S3 layout in the project's bucket (public access blocked, in the AFI's region)::

    <input_prefix>/<project>/<sha256[:16]>/<tarball name>    metadata sha256=<full sha256>
    <package_prefix>/<project>/<sha256[:16]>/<package tarball name>   metadata sha256=<full sha256>
    <logs_prefix>/<project>/<afi id>/...                     written by AWS
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from fpgaops.aws.client_token import client_token
from fpgaops.aws.dcp_tarball import DcpTarball, DcpTarballError, inspect_dcp_tarball
from fpgaops.aws.ec2_inventory import PROJECT_TAG
from fpgaops.aws.errors import AFI_ERRORS, AwsError, afi_error_code, error_code, translate_errors
from fpgaops.aws.progress import Progress, ProgressCallback, WaitTimedOut, format_elapsed, ignore_progress, wait_until
from fpgaops.fpga_platform import PlatformTableError, check_dcp_region
from fpgaops.platforms import DEFAULT_PLATFORM, Platform

MODEL_HASH_TAG = "ModelHash"
PLATFORM_TAG = "Platform"
DCP_SHA256_TAG = "DcpSha256"
PACKAGE_TAG = "fpgaops:package"  # s3://bucket/key of the model package tarball the AFI was built from
SHA256_METADATA = "sha256"  # S3 user metadata key (x-amz-meta-sha256)
MiB = 1024 * 1024
AFI_ID_PREFIX, AGFI_ID_PREFIX = "afi-", "agfi-"


class AfiFailed(AwsError):
    """An AFI ended ``failed``: ``afi`` is its description, ``logs`` its log files (S3 key -> text)."""

    def __init__(self, summary: str, afi: Afi, logs: Mapping[str, str], **advice: Any):
        self.afi, self.logs = afi, dict(logs)
        super().__init__(summary, **advice)


@dataclass(frozen=True)
class AfiConfig:
    """Where the pipeline keeps things and how long it waits."""

    project: str
    bucket: str
    platform: Platform = DEFAULT_PLATFORM
    input_prefix: str = "dcp"
    package_prefix: str = "model-packages"
    logs_prefix: str = "afi-logs"
    poll_interval_s: float = 30.0
    timeout_s: float = 4 * 3600.0  # AWS takes 30-90 minutes; the wait can be resumed after this anyway
    retry_failed: bool = False  # make a new AFI even though this very tarball already failed once
    multipart_threshold_bytes: int = 64 * MiB
    multipart_chunk_bytes: int = 16 * MiB
    max_log_bytes: int = 64 * 1024  # the tail of each log file kept in AfiFailed.logs
    extra_tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def logs_key(self) -> str:
        """The LogsStorageLocation key: AWS writes each AFI's logs below it, in a folder named after the AFI."""
        return f"{self.logs_prefix}/{self.project}"


@dataclass(frozen=True)
class Afi:
    """One AFI as ``describe_fpga_images`` reports it."""

    afi_id: str
    agfi_id: str | None
    state: str  # pending | available | failed | unavailable
    message: str | None
    name: str | None
    create_time: datetime | None
    update_time: datetime | None
    shell_version: str | None
    tags: Mapping[str, str]

    @classmethod
    def from_description(cls, item: Mapping[str, Any]) -> Afi:
        state = item.get("State") or {}
        return cls(item["FpgaImageId"], item.get("FpgaImageGlobalId"), state.get("Code", "unknown"),
                   state.get("Message"), item.get("Name"), item.get("CreateTime"), item.get("UpdateTime"),
                   item.get("ShellVersion"), {tag["Key"]: tag["Value"] for tag in item.get("Tags", [])})

    @property
    def error_code(self) -> str | None:
        """The code of a failed AFI (``"MANIFEST_NOT_FOUND"``), from its State.Message."""
        return afi_error_code(self.message) if self.state == "failed" else None


@dataclass(frozen=True)
class AfiResult:
    """The AFI of the model, and what the pipeline did: ``reused`` (available already), ``resumed``
    (was pending: waited) or ``created``; ``uploaded`` is False when S3 already held the tarball."""

    afi: Afi
    action: str
    uploaded: bool
    tarball: DcpTarball | None
    s3_key: str | None

    def summary(self) -> str:
        """One line, e.g. ``"created afi-0123... (agfi-0abc...): available"``."""
        upload = ""
        if self.action == "created":
            upload = ", uploaded" if self.uploaded else ", upload skipped (same sha256)"
        return f"{self.action} {self.afi.afi_id} ({self.afi.agfi_id}): {self.afi.state}{upload}"


# --- preflight -------------------------------------------------------------------------------


def preflight(tarball_path: Path, platform: Platform = DEFAULT_PLATFORM) -> DcpTarball:
    """Check the tarball as AWS's ingestion will, in seconds; ``AwsError`` with the AFI error code otherwise.

    Example: ``preflight(Path("build/24_05_01-120000.Developer_CL.tar"), F2).dcp_sha256``
    """
    if not tarball_path.is_file():
        raise AwsError(f"preflight of {tarball_path}: no such file", code="INPUT_NOT_FOUND",
                       fix="build the DCP tarball first and give its path")
    try:
        return inspect_dcp_tarball(tarball_path, platform)
    except DcpTarballError as failure:
        advice = AFI_ERRORS.get(failure.code)
        raise AwsError(f"preflight of {tarball_path.name}: AWS would fail this AFI with {failure.code}: "
                       f"{failure.message}", code=failure.code, meaning=advice.meaning if advice else None,
                       fix=advice.fix if advice else None) from None


def check_region(region: str, platform: Platform = DEFAULT_PLATFORM) -> None:
    """``AwsError`` before any upload when ``region`` takes no DCPs of ``platform`` (the platform table's regions).

    Example: ``check_region("eu-west-3", F2)`` -> AwsError (code InvalidAction, as AWS answers there).
    """
    try:
        check_dcp_region(region, platform.name)
    except PlatformTableError as problem:
        raise AwsError(f"create_fpga_image: {problem}", code="InvalidAction",
                       fix="set aws_region to a region that builds AFIs for this platform") from None


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


# --- S3 --------------------------------------------------------------------------------------


def default_bucket_name(project: str, account_id: str, region: str) -> str:
    """A bucket name unique to the project, account and region (S3 names are global, at most 63 characters).

    Example: ``default_bucket_name("beats", "123456789012", "us-east-1")`` -> ``"fpgaops-beats-123456789012-us-east-1"``
    """
    safe = "".join(ch if ch.isalnum() else "-" for ch in project.lower()).strip("-")
    suffix = f"-{account_id}-{region}"
    return f"fpgaops-{safe}"[: 63 - len(suffix)].rstrip("-") + suffix


@translate_errors
def ensure_bucket(s3, bucket: str, region: str, tags: Mapping[str, str]) -> bool:
    """The bucket exists in ``region`` (created with public access blocked and ``tags`` if missing); True if created.

    A bucket of another region is refused (AWS would fail the AFI with INACCESSIBLE_INPUT), and so is one that
    belongs to another account.

    Example: ``ensure_bucket(s3, "fpgaops-beats-123456789012-us-east-1", "us-east-1", {"Project": "beats"})``
    """
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) in ("403", "AccessDenied"):
            raise AwsError(f"S3 bucket {bucket} exists but this account cannot use it", code="AccessDenied",
                           meaning="the name is taken by another account (names are global), or s3:ListBucket "
                                   "is not allowed", fix="choose another bucket name in the config") from exc
        if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise
    else:
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
        location = "eu-west-1" if location == "EU" else location
        if location != region:
            raise AwsError(f"S3 bucket {bucket} is in {location}, not in {region}", code="INACCESSIBLE_INPUT",
                           meaning="AWS reads the DCP tarball only from a bucket in the AFI's region",
                           fix=f"use a bucket in {region} (leave bucket unset for the default one)")
        return False
    request: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**request)
    except ClientError as exc:
        if error_code(exc) != "BucketAlreadyOwnedByYou":
            raise
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
    return True


@translate_errors
def upload_tarball(s3, path: Path, bucket: str, key: str, sha256: str, config: AfiConfig,
                   progress: ProgressCallback = ignore_progress) -> bool:
    """Upload ``path`` to ``s3://bucket/key`` (multipart above the threshold) with its sha256 in the object's
    metadata; skipped (False) when the object there already holds that sha256.

    Example: ``upload_tarball(s3, tar, bucket, "dcp/beats/0a1b/x.tar", file_sha256(tar), config, show)``
    """
    try:
        metadata = s3.head_object(Bucket=bucket, Key=key).get("Metadata", {})
    except ClientError as exc:
        if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
            raise
        metadata = {}
    if metadata.get(SHA256_METADATA) == sha256:
        progress(Progress("upload", f"s3://{bucket}/{key} already holds sha256 {sha256[:12]}: upload skipped",
                          subject=key))
        return False
    total = path.stat().st_size
    sent = [0]
    lock = threading.Lock()
    started = time.monotonic()

    def on_bytes(count: int) -> None:  # called from the transfer's threads
        with lock:
            sent[0] += count
            progress(Progress("upload", f"uploading {path.name}: {sent[0] / MiB:.1f}/{total / MiB:.1f} MiB",
                              time.monotonic() - started, key, sent[0], total))

    transfer = TransferConfig(multipart_threshold=config.multipart_threshold_bytes,
                              multipart_chunksize=config.multipart_chunk_bytes)
    s3.upload_file(str(path), bucket, key, ExtraArgs={"Metadata": {SHA256_METADATA: sha256}},
                   Callback=on_bytes, Config=transfer)
    return True


# --- finding AFIs ----------------------------------------------------------------------------


@translate_errors
def find_afis(ec2, project: str, model_hash: str | None = None, platform: Platform | None = None) -> list[Afi]:
    """This account's AFIs tagged ``Project=<project>`` (and the model hash, platform when given), newest first.

    Example: ``[a.afi_id for a in find_afis(ec2, "beats", model_hash="9f2c...")]``
    """
    filters = [{"Name": f"tag:{PROJECT_TAG}", "Values": [project]}]
    if model_hash:
        filters.append({"Name": f"tag:{MODEL_HASH_TAG}", "Values": [model_hash]})
    if platform:
        filters.append({"Name": f"tag:{PLATFORM_TAG}", "Values": [platform.name]})
    found = []
    for page in ec2.get_paginator("describe_fpga_images").paginate(Owners=["self"], Filters=filters):
        found.extend(Afi.from_description(item) for item in page["FpgaImages"])
    return sorted(found, key=lambda afi: (afi.create_time is not None, afi.create_time), reverse=True)


@translate_errors
def current_afi(ec2, project: str, model_hash: str, platform: Platform = DEFAULT_PLATFORM) -> Afi | None:
    """The newest available AFI of this model and platform (what ``fab load-afi`` loads), or None.

    Example: ``current_afi(ec2, "beats", model_hash).agfi_id``
    """
    return next((afi for afi in find_afis(ec2, project, model_hash, platform) if afi.state == "available"), None)


@translate_errors
def resolve_afi(ec2, fpga_image_id: str) -> Afi:
    """The AFI of an ``afi-`` (regional) or ``agfi-`` (global, what loading takes) id, in the client's region.

    Example: ``resolve_afi(ec2, "afi-0123456789abcdef0").agfi_id`` -> ``"agfi-0fedcba9876543210"``
    """
    if fpga_image_id.startswith(AGFI_ID_PREFIX):
        pages = ec2.get_paginator("describe_fpga_images").paginate(
            Filters=[{"Name": "fpga-image-global-id", "Values": [fpga_image_id]}])
        found = [Afi.from_description(item) for page in pages for item in page["FpgaImages"]]
        if not found:
            raise AwsError(f"no AFI with global id {fpga_image_id} in {ec2.meta.region_name}",
                           code="InvalidFpgaImageID.NotFound",
                           fix="check the id, and the region (an AFI copied elsewhere keeps its agfi id)")
        return sorted(found, key=lambda afi: afi.state != "available")[0]
    if fpga_image_id.startswith(AFI_ID_PREFIX):
        return Afi.from_description(ec2.describe_fpga_images(FpgaImageIds=[fpga_image_id])["FpgaImages"][0])
    raise AwsError(f"{fpga_image_id!r} is not an AFI id", code="InvalidFpgaImageID.Malformed",
                   fix="use an afi-... or agfi-... id")


# --- the pipeline ----------------------------------------------------------------------------


@translate_errors
def ensure_afi(ec2, s3, tarball_path: Path, model_hash: str, config: AfiConfig,
               progress: ProgressCallback = ignore_progress, package_tarball: Path | None = None) -> AfiResult:
    """The available AFI of ``model_hash``: reused, waited for, or made from the tarball (preflight first).

    Steps: preflight (seconds, before any upload); an AFI of the model found by tags is reused
    (available) or waited for (pending); otherwise the bucket is ensured, the tarball uploaded
    (skipped when S3 holds the same sha256), ``create_fpga_image`` called with a ClientToken and tags,
    and the AFI waited for. Interrupting the wait (Ctrl-C, or the progress callback raising) is safe:
    calling again resumes it. A failed AFI raises ``AfiFailed`` with its logs; the same tarball is
    not submitted again unless ``config.retry_failed``.

    Args:
        ec2, s3: clients of the AFI's region.
        tarball_path: the ``<ts>.Developer_CL.tar`` of the DCP build.
        model_hash: identifies the model the AFI implements (tagged, and used to find the AFI again).
        config: bucket, prefixes, platform, waits.
        progress: called with upload and wait progress.
        package_tarball: the model package release tarball; uploaded (skipped when S3 holds the same
            sha256) and named by the new AFI's ``fpgaops:package`` tag.

    Example: ``ensure_afi(ec2, s3, Path("x.Developer_CL.tar"), "9f2c...", AfiConfig("beats", bucket)).afi.agfi_id``
    """
    check_region(ec2.meta.region_name, config.platform)
    tarball = preflight(tarball_path, config.platform)
    known = find_afis(ec2, config.project, model_hash, config.platform)
    for state, action in (("available", "reused"), ("pending", "resumed")):
        found = next((afi for afi in known if afi.state == state), None)
        if found is not None:
            if action == "resumed":
                progress(Progress("afi-pending", f"{found.afi_id} is pending: waiting for it again",
                                  subject=found.afi_id))
                found = wait_for_afi(ec2, s3, found.afi_id, config, progress)
            return AfiResult(found, action, False, tarball, None)
    if package_tarball is not None and not package_tarball.is_file():
        raise AwsError(f"model package tarball {package_tarball}: no such file", code="INPUT_NOT_FOUND",
                       fix="build the model package first (python -m hls_model package) and give its .tar.gz")
    sha256 = file_sha256(tarball_path)
    failed = [afi for afi in known if afi.state == "failed" and afi.tags.get(DCP_SHA256_TAG) == sha256]
    if failed and not config.retry_failed:
        raise _failure(s3, failed[0], config, already=True)
    region = ec2.meta.region_name
    ensure_bucket(s3, config.bucket, region, {PROJECT_TAG: config.project})
    key = f"{config.input_prefix}/{config.project}/{sha256[:16]}/{tarball_path.name}"
    uploaded = upload_tarball(s3, tarball_path, config.bucket, key, sha256, config, progress)
    extra_tags = {}
    if package_tarball is not None:
        package_sha256 = file_sha256(package_tarball)
        package_key = f"{config.package_prefix}/{config.project}/{package_sha256[:16]}/{package_tarball.name}"
        upload_tarball(s3, package_tarball, config.bucket, package_key, package_sha256, config, progress)
        extra_tags[PACKAGE_TAG] = f"s3://{config.bucket}/{package_key}"
    afi = _create(ec2, config, key, tarball_path.name, model_hash, sha256, {afi.afi_id for afi in failed}, progress,
                  extra_tags)
    return AfiResult(wait_for_afi(ec2, s3, afi.afi_id, config, progress), "created", uploaded, tarball, key)


def _create(ec2, config: AfiConfig, key: str, file_name: str, model_hash: str, sha256: str,
            failed_ids: set[str], progress: ProgressCallback, extra_tags: Mapping[str, str]) -> Afi:
    tags = {PROJECT_TAG: config.project, MODEL_HASH_TAG: model_hash, PLATFORM_TAG: config.platform.name,
            DCP_SHA256_TAG: sha256, **extra_tags, **config.extra_tags}
    request = {
        "InputStorageLocation": {"Bucket": config.bucket, "Key": key},
        "LogsStorageLocation": {"Bucket": config.bucket, "Key": config.logs_key},
        "Name": f"{config.project}-{config.platform.name}-{model_hash[:12]}",
        "Description": f"fpgaops {config.project}: model {model_hash[:12]}, {file_name}, dcp sha256 {sha256[:12]}",
        "TagSpecifications": [{"ResourceType": "fpga-image",
                               "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
    }
    for attempt in range(10):
        reply = ec2.create_fpga_image(**request, ClientToken=client_token(request, attempt))
        try:
            afi = resolve_afi(ec2, reply["FpgaImageId"])
        except AwsError as exc:
            if exc.code == "InvalidFpgaImageID.NotFound":
                continue  # the token's AFI was deleted since: the same request must make a new one
            raise
        if afi.afi_id in failed_ids:
            continue  # the token's AFI is the failure being retried
        progress(Progress("afi-created", f"created {afi.afi_id} ({afi.agfi_id}) from s3://{config.bucket}/{key}",
                          subject=afi.afi_id))
        return afi
    raise AwsError("create_fpga_image: every client token returned a deleted or failed AFI", code="ClientTokenReused",
                   fix="rerun later")


@translate_errors
def wait_for_afi(ec2, s3, afi_id: str, config: AfiConfig, progress: ProgressCallback = ignore_progress) -> Afi:
    """Wait until the AFI leaves ``pending``: the AFI when available, ``AfiFailed`` (with logs) when failed.

    Example: ``wait_for_afi(ec2, s3, "afi-0123456789abcdef0", config, show).agfi_id``
    """
    def describe(afi: Afi, elapsed: float) -> str:
        age = f" (created {format_elapsed(_age_s(afi))} ago)" if afi.create_time else ""
        return f"{afi.afi_id} {afi.state} after {format_elapsed(elapsed)} of waiting{age}"

    try:
        afi = wait_until(lambda: resolve_afi(ec2, afi_id), lambda afi: afi.state != "pending", stage="afi-pending",
                         describe=describe, timeout_s=config.timeout_s, interval_s=config.poll_interval_s,
                         progress=progress, subject=afi_id)
    except WaitTimedOut as timed_out:
        raise AwsError(str(timed_out), code="WaitTimeout",
                       fix="rerun: the pending AFI is found again by its tags and the wait goes on") from None
    if afi.state == "available":
        return afi
    if afi.state == "failed":
        raise _failure(s3, afi, config)
    raise AwsError(f"{afi.afi_id} is {afi.state}: {afi.message or 'no message'}", code=f"Afi{afi.state.capitalize()}",
                   fix="check the AFI in the EC2 console; make a new one if it stays unavailable")


def _age_s(afi: Afi) -> float:
    return max(0.0, time.time() - afi.create_time.timestamp())


def _failure(s3, afi: Afi, config: AfiConfig, already: bool = False) -> AfiFailed:
    code = afi.error_code or "UNKNOWN"
    advice = AFI_ERRORS.get(code)
    logs = afi_logs(s3, config.bucket, f"{config.logs_key}/{afi.afi_id}", config.max_log_bytes)
    where = f"s3://{config.bucket}/{config.logs_key}/{afi.afi_id}/"
    again = " (this tarball failed before: not submitted again)" if already else ""
    summary = f"{afi.afi_id} failed: {afi.message or code}{again}; logs: {where} ({len(logs)} files)"
    fix = advice.fix if advice else "read the logs"
    if already:
        fix += "; to submit the same tarball again anyway, set retry_failed"
    return AfiFailed(summary, afi, logs, code=code, meaning=advice.meaning if advice else None, fix=fix)


@translate_errors
def afi_logs(s3, bucket: str, prefix: str, max_bytes: int = 64 * 1024) -> dict[str, str]:
    """The log files under ``s3://bucket/prefix/`` (key -> text, the last ``max_bytes`` of each); {} if none.

    Example: ``afi_logs(s3, bucket, "afi-logs/beats/afi-0123456789abcdef0")``
    """
    logs: dict[str, str] = {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/"):
            for item in page.get("Contents", []):
                request: dict[str, Any] = {"Bucket": bucket, "Key": item["Key"]}
                if item["Size"] > max_bytes:
                    request["Range"] = f"bytes=-{max_bytes}"
                logs[item["Key"]] = s3.get_object(**request)["Body"].read().decode("utf-8", "replace")
    except ClientError as exc:
        if error_code(exc) != "NoSuchBucket":
            raise
    return logs
