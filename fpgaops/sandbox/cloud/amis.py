"""The FPGA Developer AMIs of the platform table, registered in every region of every account as AWS Marketplace does.

Names, operating systems and tool versions are ``fpgaops.fpga_platform.DEVELOPER_AMIS`` (e.g.
``FPGA Developer AMI (Ubuntu) - 1.19.2-prod-rhng4b6alkhdq``, Vivado/Vitis 2025.2, user ``ubuntu``),
all owned by the AWS Marketplace account 679593333241 (owner alias ``aws-marketplace``).
``describe_images(Owners=["aws-marketplace"], Filters=[name=<platform's ami_name_pattern>])`` finds
them. Their ids are made from name and region, so stable per region. Their creation dates are the
sandbox's own, one day apart in version order, so that "the newest" (``find_developer_ami``) is the
highest version (the real dates are not in the table). An instance launched from one runs that AMI's
layer (``fpgaops.sandbox.ami_layer``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from moto.ec2.models import ec2_backends
from moto.ec2.models.amis import Ami, AmiBackend

from fpgaops.fpga_platform import DEVELOPER_AMIS, DeveloperAmi
from fpgaops.platforms import PLATFORMS

MARKETPLACE_ACCOUNT_ID = "679593333241"
MARKETPLACE_ALIAS = "aws-marketplace"
DEFAULT_LOGIN_USER = "ec2-user"  # Amazon Linux, the default of an AMI that is not an FPGA Developer AMI
FIRST_CREATION = datetime(2024, 1, 1, tzinfo=UTC)  # the sandbox's own dates, see the module docstring


def creation_date(ami: DeveloperAmi) -> datetime:
    """The sandbox's creation date of ``ami``: one day per place in version order."""
    order = sorted(DEVELOPER_AMIS, key=lambda entry: tuple(int(part) for part in entry.version.split(".")))
    return FIRST_CREATION + timedelta(days=order.index(ami))

_original_load_amis = AmiBackend._load_amis


def install_fpga_developer_amis() -> None:
    """Register the FPGA Developer AMIs in every EC2 backend, existing ones and those made later."""
    if AmiBackend._load_amis is _original_load_amis:
        AmiBackend._load_amis = _load_amis_and_fpga_developer_amis
    for _account, _region, backend in list(ec2_backends.iter_backends()):
        register_fpga_developer_amis(backend)


def register_fpga_developer_amis(backend: Any) -> None:
    """Register the FPGA Developer AMIs in one EC2 backend (one account, one region), once."""
    for ami in DEVELOPER_AMIS:
        ami_id = _ami_id(ami.name, backend.region_name)
        if ami_id not in backend.amis:
            backend.amis[ami_id] = Ami(
                backend, ami_id, name=ami.name, description=ami.description,
                owner_id=MARKETPLACE_ACCOUNT_ID, owner_alias=MARKETPLACE_ALIAS, public=True,
                virtualization_type="hvm", architecture="x86_64", hypervisor="xen", root_device_type="ebs",
                image_location=f"{MARKETPLACE_ALIAS}/{ami.name}", region_name=f"{backend.region_name}a",
                creation_date=creation_date(ami),
                boot_mode="legacy-bios")


def developer_ami_of_image(backend: Any, image_id: str | None) -> DeveloperAmi | None:
    """The platform table's FPGA Developer AMI an image id is, or None for any other image."""
    ami = backend.amis.get(image_id) if image_id else None
    return next((entry for entry in DEVELOPER_AMIS if ami is not None and ami.name == entry.name), None)


def login_user_for_image(backend: Any, image_id: str | None) -> str:
    """The default login user of an AMI: the platform's for an FPGA Developer AMI, else Amazon Linux's."""
    known = developer_ami_of_image(backend, image_id)
    if known is not None:
        return known.login_user
    ami = backend.amis.get(image_id) if image_id else None
    name = ami.name if ami is not None and ami.name else ""
    for platform in PLATFORMS.values():
        if fnmatchcase(name, platform.ami_name_pattern):
            return platform.login_user
    return "ubuntu" if "ubuntu" in name.lower() else DEFAULT_LOGIN_USER


def _load_amis_and_fpga_developer_amis(self: AmiBackend) -> None:
    _original_load_amis(self)
    register_fpga_developer_amis(self)


def _ami_id(name: str, region: str) -> str:
    return "ami-" + hashlib.sha256(f"{name}|{region}".encode()).hexdigest()[:17]
