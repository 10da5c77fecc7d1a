"""The EC2 FPGA image actions moto lacks, added to moto's ``EC2Response`` (moto dispatches an action
to the method of the same name in snake case).

CreateFpgaImage, DescribeFpgaImages, DeleteFpgaImage, CopyFpgaImage, DescribeFpgaImageAttribute,
ModifyFpgaImageAttribute and ResetFpgaImageAttribute, with AWS's ids (``afi-``/``agfi-`` and 17 hex
digits), errors (InvalidFpgaImageID.Malformed / .NotFound, IdempotentParameterMismatch, DryRun...)
and ClientToken idempotency. Wording of errors from aws-fpga's ``hdk/docs/AWS_CLI_FPGA_Commands.md``.
Only the caller's own AFIs are listed: AFIs shared by other accounts are not modelled.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import ec2_backends
from moto.ec2.responses import EC2Response

from fpgaops.fpga_platform import FPGA_REGIONS
from fpgaops.sandbox.cloud.fpga_image_filters import select_images
from fpgaops.sandbox.cloud.fpga_image_store import (
    FPGA_IMAGES_LOCK,
    FpgaImage,
    FpgaImageRegistry,
    new_afi_id,
    new_agfi_id,
    registry_of,
    settle_due_images,
)
from fpgaops.sandbox.cloud.ingestion import AfiCopy, DcpIngestion, ready_time

AFI_ID = re.compile(r"afi-[0-9a-f]{17}")
IDEMPOTENCY_MISMATCH = ("Arguments on this idempotent request are inconsistent with arguments used in "
                        "previous request(s).")


def create_fpga_image(self: EC2Response) -> ActionResult:
    """CreateFpgaImage: a pending AFI whose DCP tarball is ingested once its pending time is over.

    In a region without FPGA instances (none of the platform table's) AWS has no such action: InvalidAction.
    """
    input_location = self._get_param("InputStorageLocation") or {}
    logs_location = self._get_param("LogsStorageLocation")
    if not input_location.get("Bucket") or not input_location.get("Key"):
        raise EC2ClientError("MissingParameter", "The request must contain the parameter "
                                                 "InputStorageLocation with a Bucket and a Key")
    if not any(self.region in regions for regions in FPGA_REGIONS.values()):
        raise EC2ClientError("InvalidAction", "The action CreateFpgaImage is not valid for this web service.")
    name, description = self._get_param("Name"), self._get_param("Description")
    tags = self._parse_tag_specification("fpga-image").get("fpga-image", {})
    self.error_on_dryrun()
    request = {"Action": "CreateFpgaImage", "InputStorageLocation": input_location,
               "LogsStorageLocation": logs_location, "Name": name, "Description": description, "Tags": tags}

    def create() -> FpgaImage:
        return FpgaImage(new_afi_id(), new_agfi_id(), self.current_account, self.region, name, description,
                         dict(tags), DcpIngestion(input_location, logs_location), ready_time())

    image = _create_once(_registry(self), self._get_param("ClientToken"), request, create)
    return ActionResult({"FpgaImageId": image.fpga_image_id, "FpgaImageGlobalId": image.fpga_image_global_id})


def copy_fpga_image(self: EC2Response) -> ActionResult:
    """CopyFpgaImage: a new AFI id in this region with the source's global id, pending until copied."""
    source_id = self._get_param("SourceFpgaImageId")
    source_region = self._get_param("SourceRegion") or self.region
    name, description = self._get_param("Name"), self._get_param("Description")
    _check_afi_id(source_id)
    if source_region not in ec2_backends[self.current_account]:
        raise EC2ClientError("InvalidParameterValue", f"Invalid value '{source_region}' for SourceRegion")
    registry = _registry(self)
    if source_region == self.region:
        _image(registry, source_id)  # a same-region copy is checked at once, a cross-region one later
    self.error_on_dryrun()
    request = {"Action": "CopyFpgaImage", "SourceFpgaImageId": source_id, "SourceRegion": source_region,
               "Name": name, "Description": description}

    def create() -> FpgaImage:
        return FpgaImage(new_afi_id(), None, self.current_account, self.region, name, description, {},
                         AfiCopy.request(self.current_account, source_region, source_id), ready_time())

    image = _create_once(registry, self._get_param("ClientToken"), request, create)
    return ActionResult({"FpgaImageId": image.fpga_image_id})


def describe_fpga_images(self: EC2Response) -> ActionResult:
    """DescribeFpgaImages: by ids, owners and filters (tag:*, state, fpga-image-global-id...)."""
    ids = self._get_param("FpgaImageIds", [])
    owners, filters = self._get_param("Owners", []), self._get_param("Filters", [])
    max_results, next_token = self._get_int_param("MaxResults"), self._get_param("NextToken")
    self.error_on_dryrun()
    registry = _registry(self)
    with FPGA_IMAGES_LOCK:
        images = [_image(registry, afi_id) for afi_id in ids] if ids else list(registry.images.values())
        found = [image.describe() for image in select_images(images, self.current_account, owners, filters)]
    start = _start_of_page(next_token, len(found))
    end = start + max_results if max_results else len(found)
    return ActionResult({"FpgaImages": found[start:end], "NextToken": str(end) if end < len(found) else None})


def delete_fpga_image(self: EC2Response) -> ActionResult:
    """DeleteFpgaImage: refused for a public or shared AFI, as AWS does."""
    afi_id = self._get_param("FpgaImageId")
    registry = _registry(self)
    image = _image(registry, afi_id)
    if image.public:
        raise EC2ClientError("OperationNotPermitted", "Operation not permitted for public AFI")
    if image.load_permissions:
        raise EC2ClientError("OperationNotPermitted", "Operation not permitted for shared AFI")
    self.error_on_dryrun()
    with FPGA_IMAGES_LOCK:
        registry.images.pop(afi_id, None)
    return ActionResult({"Return": True})


def describe_fpga_image_attribute(self: EC2Response) -> ActionResult:
    """DescribeFpgaImageAttribute: name, description, loadPermission or productCodes."""
    image = _image(_registry(self), self._get_param("FpgaImageId"))
    attribute = self._get_param("Attribute")
    self.error_on_dryrun()
    return ActionResult({"FpgaImageAttribute": _attribute(image, attribute)})


def modify_fpga_image_attribute(self: EC2Response) -> ActionResult:
    """ModifyFpgaImageAttribute: the name, the description, or who may load the AFI."""
    image = _image(_registry(self), self._get_param("FpgaImageId"))
    name, description = self._get_param("Name"), self._get_param("Description")
    changes = _load_permission_changes(self)
    attribute = self._get_param("Attribute") or ("loadPermission" if any(changes.values()) else
                                                 "description" if description is not None else "name")
    if attribute == "loadPermission" and image.state_code != "available":
        raise EC2ClientError("IncorrectState", f"Image ID '{image.fpga_image_id}' is not available: load "
                                               f"permissions can be changed only for an available AFI")
    self.error_on_dryrun()
    with FPGA_IMAGES_LOCK:
        if name is not None:
            image.name = name
        if description is not None:
            image.description = description
        for permission in changes["Add"]:
            if permission not in image.load_permissions:
                image.load_permissions.append(permission)
        image.load_permissions = [p for p in image.load_permissions if p not in changes["Remove"]]
    return ActionResult({"FpgaImageAttribute": _attribute(image, attribute)})


def reset_fpga_image_attribute(self: EC2Response) -> ActionResult:
    """ResetFpgaImageAttribute: remove every load permission."""
    image = _image(_registry(self), self._get_param("FpgaImageId"))
    self.error_on_dryrun()
    with FPGA_IMAGES_LOCK:
        image.load_permissions = []
    return ActionResult({"Return": True})


ACTIONS = (create_fpga_image, copy_fpga_image, describe_fpga_images, delete_fpga_image,
           describe_fpga_image_attribute, modify_fpga_image_attribute, reset_fpga_image_attribute)


def install_fpga_image_actions() -> None:
    """Add the FPGA image actions to moto's EC2 API (in-process moto and its servers alike)."""
    for action in ACTIONS:
        setattr(EC2Response, action.__name__, action)


def _registry(response: EC2Response) -> FpgaImageRegistry:
    registry = registry_of(response.ec2_backend)
    settle_due_images(registry)
    return registry


def _check_afi_id(afi_id: str | None) -> None:
    if not afi_id or not AFI_ID.fullmatch(afi_id):
        raise EC2ClientError("InvalidFpgaImageID.Malformed", f"Image ID '{afi_id}' is invalid")


def _image(registry: FpgaImageRegistry, afi_id: str | None) -> FpgaImage:
    _check_afi_id(afi_id)
    image = registry.images.get(afi_id)
    if image is None:
        raise EC2ClientError("InvalidFpgaImageID.NotFound", f"Image ID '{afi_id}' not found")
    return image


def _create_once(registry: FpgaImageRegistry, client_token: str | None, request: dict[str, Any],
                 create: Callable[[], FpgaImage]) -> FpgaImage:
    """The AFI of an earlier request with the same client token, or a new one."""
    with FPGA_IMAGES_LOCK:
        if client_token and client_token in registry.client_tokens:
            earlier_request, image = registry.client_tokens[client_token]
            if earlier_request != request:
                raise EC2ClientError("IdempotentParameterMismatch", IDEMPOTENCY_MISMATCH)
            return image
        image = create()
        registry.add(image)
        if client_token:
            registry.client_tokens[client_token] = (request, image)
        return image


def _start_of_page(next_token: str | None, count: int) -> int:
    if next_token is None:
        return 0
    if not next_token.isdigit() or int(next_token) > count:
        raise EC2ClientError("InvalidParameterValue", f"The token '{next_token}' is invalid")
    return int(next_token)


def _attribute(image: FpgaImage, attribute: str) -> dict[str, Any]:
    values = {"name": ("Name", image.name), "description": ("Description", image.description),
              "loadPermission": ("LoadPermissions", list(image.load_permissions)),
              "productCodes": ("ProductCodes", [])}
    if attribute not in values:
        raise EC2ClientError("InvalidParameterValue", f"Value ({attribute}) for parameter attribute is invalid")
    key, value = values[attribute]
    found = {"FpgaImageId": image.fpga_image_id}
    if value is not None:
        found[key] = value
    return found


def _load_permission_changes(response: EC2Response) -> dict[str, list[dict[str, str]]]:
    """Load permissions to add and remove, from LoadPermission or OperationType+UserIds/UserGroups."""
    structured = response._get_param("LoadPermission") or {}
    changes = {"Add": list(structured.get("Add", [])), "Remove": list(structured.get("Remove", []))}
    operation = response._get_param("OperationType")
    if operation in ("add", "remove"):
        listed = ([{"UserId": user} for user in response._get_param("UserIds", [])]
                  + [{"Group": group} for group in response._get_param("UserGroups", [])])
        changes[operation.capitalize()].extend(listed)
    return changes
