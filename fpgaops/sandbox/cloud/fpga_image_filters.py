"""The ``Owners`` and ``Filters`` of ``DescribeFpgaImages``, with AWS's wildcards and error messages."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from fnmatch import fnmatchcase

from moto.ec2.exceptions import EC2ClientError

from fpgaops.sandbox.cloud.fpga_image_store import FpgaImage

OWNER_ALIASES = ("amazon", "aws-marketplace")  # AWS owns no AFI of the sandbox's accounts
ACCOUNT_ID = re.compile(r"\d{12}")


def _time_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


# filter name -> the values an AFI offers to it
FILTER_VALUES = {
    "create-time": lambda image: [_time_text(image.create_time)],
    "update-time": lambda image: [_time_text(image.update_time)],
    "fpga-image-id": lambda image: [image.fpga_image_id],
    "fpga-image-global-id": lambda image: [image.fpga_image_global_id or ""],
    "name": lambda image: [image.name or ""],
    "owner-id": lambda image: [image.owner_id],
    "product-code": lambda image: [],
    "shell-version": lambda image: [image.shell_version or ""],
    "state": lambda image: [image.state_code],
    "tag-key": lambda image: list(image.tags),
    "tag-value": lambda image: list(image.tags.values()),
}


def select_images(images: Iterable[FpgaImage], account_id: str, owners: list[str],
                  filters: list[dict]) -> list[FpgaImage]:
    """The AFIs matching every filter (values of one filter OR-ed) and one of the owners, if any."""
    owner_ids = {_owner_id(owner, account_id) for owner in owners}
    checks = [(_filter_values(item.get("Name")), item.get("Values", [])) for item in filters]
    return [image for image in images
            if (not owner_ids or image.owner_id in owner_ids)
            and all(_matches(values_of(image), patterns) for values_of, patterns in checks)]


def _owner_id(owner: str, account_id: str) -> str:
    if owner == "self":
        return account_id
    if owner in OWNER_ALIASES or ACCOUNT_ID.fullmatch(owner):
        return owner
    raise EC2ClientError("InvalidUserID.Malformed", f"User ID '{owner}' is invalid")


def _filter_values(name: str | None):
    if name and name.startswith("tag:"):
        key = name.removeprefix("tag:")
        return lambda image: [image.tags[key]] if key in image.tags else []
    if name in FILTER_VALUES:
        return FILTER_VALUES[name]
    raise EC2ClientError("InvalidParameterValue", f"The filter '{name}' is invalid")


def _matches(values: list[str], patterns: list[str]) -> bool:
    return any(fnmatchcase(value, pattern) for value in values for pattern in patterns)
