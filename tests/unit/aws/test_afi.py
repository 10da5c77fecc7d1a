"""The AFI pipeline against moto in-process with the sandbox's FPGA image actions (AFIs settle in 0.2 s)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fpgaops.aws.afi import (
    AfiConfig,
    AfiFailed,
    check_region,
    current_afi,
    ensure_afi,
    ensure_bucket,
    file_sha256,
    find_afis,
    preflight,
    resolve_afi,
    upload_tarball,
)
from fpgaops.aws.errors import AwsError
from fpgaops.aws.progress import Progress
from fpgaops.aws.session import AwsClients
from fpgaops.platforms import F1, F2
from fpgaops.sandbox.cloud import ingestion
from tests.unit.aws.aws_fakes import Injected, moto_cloud
from tests.unit.aws.dcp_fixtures import DCP_CONTENT, bad_tarballs, dcp_tarball

BUCKET = "fpgaops-test-afis"


@pytest.fixture(scope="module")
def aws() -> Iterator[AwsClients]:
    with moto_cloud() as clients:
        yield clients


@pytest.fixture
def clients(aws: AwsClients) -> Iterator[tuple[Any, Any]]:
    ec2, s3 = aws.client("ec2"), aws.client("s3")
    with Injected(ec2) as ec2_hooks, Injected(s3) as s3_hooks:
        ec2.hooks, s3.hooks = ec2_hooks, s3_hooks
        yield ec2, s3


@pytest.fixture
def project(request: pytest.FixtureRequest) -> str:
    return request.node.name[:40].replace("_", "-")


def afi_config(project: str, **changes: Any) -> AfiConfig:
    return AfiConfig(project, BUCKET, **{"poll_interval_s": 0.02, "timeout_s": 10, **changes})


def tarball(tmp_path: Path, content: bytes, name: str = "24_05_01-120000.Developer_CL.tar") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def model(project: str) -> str:
    return (project.encode().hex() * 4)[:64]


@pytest.mark.parametrize("code", sorted(bad_tarballs(F2)))
def test_preflight_rejects_a_bad_tarball_in_seconds_before_any_upload(clients, project, tmp_path, code) -> None:
    ec2, s3 = clients
    uploads, creates = s3.hooks.count("PutObject"), ec2.hooks.count("CreateFpgaImage")
    started = time.monotonic()

    with pytest.raises(AwsError) as raised:
        ensure_afi(ec2, s3, tarball(tmp_path, bad_tarballs(F2)[code]), model(project), afi_config(project))

    assert time.monotonic() - started < 2
    assert raised.value.code == code and raised.value.fix and "preflight" in raised.value.summary
    assert uploads == [] and creates == []


def test_an_f1_tarball_is_refused_for_f2(tmp_path) -> None:
    with pytest.raises(AwsError) as raised:
        preflight(tarball(tmp_path, dcp_tarball(F1)), F2)

    assert raised.value.code == "SHELL_VERSION_INVALID" and f"F2 shells {F2.shell_version}" in raised.value.fix


def test_a_region_without_f2_dcps_is_refused_before_any_upload() -> None:
    check_region("eu-west-2", F2)
    with pytest.raises(AwsError) as raised:
        check_region("eu-west-3", F2)

    assert raised.value.code == "InvalidAction" and "takes no F2 DCPs: use one of us-east-1" in str(raised.value)


def test_a_valid_tarball_becomes_an_available_afi_tagged_with_its_model(clients, project, tmp_path) -> None:
    ec2, s3 = clients
    events: list[Progress] = []
    path = tarball(tmp_path, dcp_tarball(F2))

    result = ensure_afi(ec2, s3, path, model(project), afi_config(project), progress=events.append)

    assert result.action == "created" and result.uploaded and result.afi.state == "available"
    assert result.afi.agfi_id.startswith("agfi-") and result.afi.shell_version == F2.shell_version
    assert result.afi.tags == {"Project": project, "ModelHash": model(project), "Platform": "f2",
                               "DcpSha256": file_sha256(path)}
    head = s3.head_object(Bucket=BUCKET, Key=result.s3_key)
    assert head["Metadata"] == {"sha256": file_sha256(path)}
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    assert {e.stage for e in events} >= {"upload", "afi-created", "afi-pending"}
    assert current_afi(ec2, project, model(project)) == result.afi
    assert resolve_afi(ec2, result.afi.agfi_id).afi_id == result.afi.afi_id
    assert resolve_afi(ec2, result.afi.afi_id).agfi_id == result.afi.agfi_id


def test_a_second_run_reuses_the_afi_and_uploads_nothing(clients, project, tmp_path) -> None:
    ec2, s3 = clients
    path = tarball(tmp_path, dcp_tarball(F2))
    first = ensure_afi(ec2, s3, path, model(project), afi_config(project))
    uploads, creates = s3.hooks.count("PutObject"), ec2.hooks.count("CreateFpgaImage")

    again = ensure_afi(ec2, s3, path, model(project), afi_config(project))

    assert (again.action, again.afi.afi_id) == ("reused", first.afi.afi_id)
    assert uploads == [] and creates == []


def test_an_interrupted_wait_resumes_the_same_afi(clients, project, tmp_path) -> None:
    ec2, s3 = clients
    creates = ec2.hooks.count("CreateFpgaImage")

    def interrupt(event: Progress) -> None:
        if event.stage == "afi-pending":
            raise KeyboardInterrupt

    ingestion.set_pending_seconds(0.6)
    try:
        with pytest.raises(KeyboardInterrupt):
            ensure_afi(ec2, s3, tarball(tmp_path, dcp_tarball(F2)), model(project), afi_config(project),
                       progress=interrupt)
        [pending] = find_afis(ec2, project)
        assert pending.state == "pending"

        resumed = ensure_afi(ec2, s3, tarball(tmp_path, dcp_tarball(F2)), model(project), afi_config(project))
    finally:
        ingestion.set_pending_seconds(0.2)

    assert (resumed.action, resumed.afi.afi_id, resumed.afi.state) == ("resumed", pending.afi_id, "available")
    assert len(creates) == 1 and len(find_afis(ec2, project)) == 1


def test_an_afi_that_fails_at_aws_raises_its_code_fix_and_logs(clients, project, tmp_path) -> None:
    ec2, s3 = clients
    path = tarball(tmp_path, dcp_tarball(F2))

    def remove_input(**_: object) -> None:  # the object disappears before AWS ingests it
        # as the request goes: after it, the ingestion timer could read the object first on a busy machine
        for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"dcp/{project}/").get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=item["Key"])

    ec2.hooks.on("provide-client-params.ec2.CreateFpgaImage", remove_input)
    with pytest.raises(AfiFailed) as raised:
        ensure_afi(ec2, s3, path, model(project), afi_config(project))
    ec2.hooks.remove()

    failure = raised.value
    assert failure.code == "INACCESSIBLE_INPUT" and failure.afi.state == "failed"
    assert "same region" in failure.meaning and "keep the bucket in the AFI's region" in failure.fix
    assert [key.rsplit("/", 1)[1] for key in sorted(failure.logs)] == ["State", "ingestion.log"]
    log = next(text for key, text in failure.logs.items() if key.endswith("ingestion.log"))
    assert "ERROR: INACCESSIBLE_INPUT" in log
    assert f"s3://{BUCKET}/afi-logs/{project}/{failure.afi.afi_id}/" in failure.summary

    creates = ec2.hooks.count("CreateFpgaImage")
    with pytest.raises(AfiFailed, match="failed before: not submitted again"):
        ensure_afi(ec2, s3, path, model(project), afi_config(project))
    assert creates == []

    retried = ensure_afi(ec2, s3, path, model(project), afi_config(project, retry_failed=True))
    assert retried.action == "created" and retried.afi.state == "available" and retried.afi.afi_id != failure.afi.afi_id
    assert creates[0]["ClientToken"] != "" and len(find_afis(ec2, project)) == 2


def test_an_upload_is_skipped_when_s3_holds_the_same_sha256(clients, project, tmp_path) -> None:
    _, s3 = clients
    ensure_bucket(s3, BUCKET, "us-east-1", {"Project": project})
    path = tarball(tmp_path, dcp_tarball(F2))
    sha = file_sha256(path)

    assert upload_tarball(s3, path, BUCKET, f"dcp/{project}/x.tar", sha, afi_config(project))
    assert not upload_tarball(s3, path, BUCKET, f"dcp/{project}/x.tar", sha, afi_config(project))


def test_a_large_tarball_goes_up_in_parts_with_progress(clients, project, tmp_path) -> None:
    _, s3 = clients
    ensure_bucket(s3, BUCKET, "us-east-1", {"Project": project})
    path = tarball(tmp_path, dcp_tarball(F2, dcp=DCP_CONTENT * 4000))  # ~12 MiB
    events: list[Progress] = []
    config = afi_config(project, multipart_threshold_bytes=5 * 1024 * 1024, multipart_chunk_bytes=5 * 1024 * 1024)

    upload_tarball(s3, path, BUCKET, f"dcp/{project}/big.tar", file_sha256(path), config, events.append)

    assert s3.head_object(Bucket=BUCKET, Key=f"dcp/{project}/big.tar")["ETag"].endswith('-3"')
    assert events[-1].done == events[-1].total == path.stat().st_size


def test_a_bucket_in_another_region_is_refused(aws, project) -> None:
    s3_west = aws.session.client("s3", region_name="us-west-2")
    s3_west.create_bucket(Bucket=f"{project}-west", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})

    with pytest.raises(AwsError) as raised:
        ensure_bucket(aws.client("s3"), f"{project}-west", "us-east-1", {})

    assert raised.value.code == "INACCESSIBLE_INPUT" and "is in us-west-2, not in us-east-1" in str(raised.value)
    assert ensure_bucket(s3_west, f"{project}-new", "us-west-2", {})
    assert s3_west.get_bucket_location(Bucket=f"{project}-new")["LocationConstraint"] == "us-west-2"


def test_ids_that_are_no_afi_ids_are_refused(clients) -> None:
    ec2, _ = clients
    with pytest.raises(AwsError, match="not an AFI id"):
        resolve_afi(ec2, "ami-0123")
    with pytest.raises(AwsError) as raised:
        resolve_afi(ec2, "agfi-0123456789abcdef0")
    assert raised.value.code == "InvalidFpgaImageID.NotFound"
