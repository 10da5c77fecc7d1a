"""How a pending AFI settles: the ingestion of its DCP tarball from S3, or the copy of another AFI.

Ingestion reads the tarball from moto's S3 and checks it with ``fpgaops.aws.dcp_tarball`` (the
checks the toolkit's preflight runs too). It ends ``available``, with the manifest's shell version
and PCI ids, or ``failed`` with ``State.Message`` = ``<CODE>: <message>`` as AWS writes it.

Logs. AWS writes the bitstream-generation logs under the request's LogsStorageLocation, in a
folder named after the AFI id, with a "State" file saying how it ended. Its exact file names are
not documented; this stand-in writes, once the AFI has settled::

    <logs key>/<afi id>/<UTC time, %Y-%m-%dT%H-%M-%SZ>_logs/State          JSON: ids and State
    <logs key>/<afi id>/<UTC time, %Y-%m-%dT%H-%M-%SZ>_logs/ingestion.log  the checks, one per line

and nothing when the logs bucket does not exist. A missing input bucket or object, or a bucket in
another region, fails the AFI with INACCESSIBLE_INPUT (AWS reports input problems asynchronously).
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.ec2.models import ec2_backends
from moto.s3.exceptions import MissingBucket
from moto.s3.models import s3_backends

from fpgaops.aws.dcp_tarball import ERROR_DESCRIPTIONS, DcpTarball, DcpTarballError, inspect_dcp_tarball
from fpgaops.sandbox.cloud.fpga_image_store import FpgaImage, registry_of, settle_due_images

DEFAULT_PENDING_SECONDS = 5.0
_pending_seconds = DEFAULT_PENDING_SECONDS


def set_pending_seconds(seconds: float) -> None:
    """How long every new AFI (created or copied) stays ``pending`` before it settles."""
    global _pending_seconds
    _pending_seconds = seconds


def ready_time() -> float:
    """The ``time.monotonic()`` at which an AFI created now is due to settle."""
    return time.monotonic() + _pending_seconds


@dataclass(frozen=True)
class DcpIngestion:
    """The work of ``CreateFpgaImage``: ingest the tarball at ``input_location``."""

    input_location: dict[str, str]  # {"Bucket": ..., "Key": ...}
    logs_location: dict[str, str] | None

    def run(self, image: FpgaImage) -> None:
        """Check the tarball, settle ``image`` accordingly and write the logs."""
        log = [f"Ingesting s3://{self.input_location['Bucket']}/{self.input_location['Key']}"]
        try:
            tarball = inspect_dcp_tarball(io.BytesIO(self._read_input(image)))
        except DcpTarballError as failure:
            log.append(f"ERROR: {failure}")
            image.settle("failed", str(failure))
        else:
            log.extend(_describe_success(tarball))
            image.shell_version, image.pci_id = tarball.shell_version, tarball.pci_id
            image.instance_types = sorted(tarball.platform.slots_by_instance_type)
            image.settle("available")
        if self.logs_location:
            _write_logs(image, self.logs_location, log)

    def _read_input(self, image: FpgaImage) -> bytes:
        s3 = s3_backends[image.owner_id]["aws"]
        bucket_name, key_name = self.input_location["Bucket"], self.input_location["Key"]
        try:
            bucket = s3.get_bucket(bucket_name)
        except MissingBucket:
            raise _inaccessible(f"The bucket {bucket_name} does not exist") from None
        if bucket.region_name != image.region:
            raise _inaccessible(f"The bucket {bucket_name} is in {bucket.region_name}, not in {image.region}")
        found = s3.get_object(bucket_name, key_name)
        if found is None:
            raise _inaccessible(f"s3://{bucket_name}/{key_name} does not exist")
        return found.value


COPY_NOT_FOUND = "NOT_FOUND: Source image is not found or the user ID is not authorized to copy source image."
COPY_INVALID_STATE = "INVALID_STATE: Source image is not in a suitable state to allow copying."


@dataclass(frozen=True)
class AfiCopy:
    """The work of ``CopyFpgaImage``: take over the source AFI, which had to be ``available`` when
    the copy was requested (``refusal`` says otherwise, in AWS's words)."""

    source_region: str
    source_fpga_image_id: str
    refusal: str | None

    @classmethod
    def request(cls, account_id: str, source_region: str, source_fpga_image_id: str) -> AfiCopy:
        """The copy of the source AFI as it is now (checked now, reported once the copy settles)."""
        source = _source_image(account_id, source_region, source_fpga_image_id)
        refusal = (COPY_NOT_FOUND if source is None else
                   COPY_INVALID_STATE if source.state_code != "available" else None)
        return cls(source_region, source_fpga_image_id, refusal)

    def run(self, image: FpgaImage) -> None:
        """Settle ``image`` as a copy of the source AFI (name and description default to the source's),
        or failed with AWS's wording."""
        source = _source_image(image.owner_id, self.source_region, self.source_fpga_image_id)
        if self.refusal or source is None:
            image.settle("failed", self.refusal or COPY_NOT_FOUND)
            return
        image.fpga_image_global_id = source.fpga_image_global_id
        image.name = source.name if image.name is None else image.name
        image.description = source.description if image.description is None else image.description
        image.shell_version, image.pci_id = source.shell_version, source.pci_id
        image.instance_types = list(source.instance_types)
        image.settle("available")


def _source_image(account_id: str, region: str, fpga_image_id: str) -> FpgaImage | None:
    registry = registry_of(ec2_backends[account_id][region])
    settle_due_images(registry)
    return registry.images.get(fpga_image_id)


def _inaccessible(detail: str) -> DcpTarballError:
    return DcpTarballError("INACCESSIBLE_INPUT", f"{ERROR_DESCRIPTIONS['INACCESSIBLE_INPUT']} {detail}")


def _describe_success(tarball: DcpTarball) -> list[str]:
    return [f"Manifest: {key}={value}" for key, value in tarball.manifest.items()] + [
        f"DCP {tarball.dcp_member}: sha256 {tarball.dcp_sha256} matches dcp_hash",
        f"Shell {tarball.shell_version} ({tarball.platform.name.upper()}): bitstream generated",
    ]


def _write_logs(image: FpgaImage, location: dict[str, str], log: list[str]) -> None:
    s3 = s3_backends[image.owner_id]["aws"]
    try:
        s3.get_bucket(location.get("Bucket", ""))
    except MissingBucket:
        return
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    folder = "/".join(part for part in (location.get("Key", "").strip("/"), image.fpga_image_id,
                                        f"{stamp}_logs") if part)
    state: dict[str, Any] = {"Code": image.state_code}
    if image.state_message:
        state["Message"] = image.state_message
    record = {"FpgaImageId": image.fpga_image_id, "FpgaImageGlobalId": image.fpga_image_global_id,
              "State": state}
    s3.put_object(location["Bucket"], f"{folder}/State", json.dumps(record, indent=2).encode())
    s3.put_object(location["Bucket"], f"{folder}/ingestion.log", "".join(f"{line}\n" for line in log).encode())
