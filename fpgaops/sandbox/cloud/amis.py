"""The FPGA Developer AMIs, registered in every region of every account as AWS Marketplace publishes them.

Names as published (seen in use): F1 ``FPGA Developer AMI - 1.12.2-40257ab5-6688-4c95-97d1-e251a40fd1fc``
(CentOS 7, Vivado 2021.2, user ``centos``), F2 ``FPGA Developer AMI (Ubuntu) - 1.19.2-prod-rhng4b6alkhdq``
(Ubuntu 24.04, user ``ubuntu``); both owned by the AWS Marketplace account 679593333241 (owner alias
``aws-marketplace``). ``describe_images(Owners=["aws-marketplace"], Filters=[name=<platform's
ami_name_pattern>])`` finds them. Their ids are made from name and region, so stable per region.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from moto.ec2.models import ec2_backends
from moto.ec2.models.amis import Ami, AmiBackend

from fpgaops.platforms import F1, F2, PLATFORMS, Platform

MARKETPLACE_ACCOUNT_ID = "679593333241"
MARKETPLACE_ALIAS = "aws-marketplace"
DEFAULT_LOGIN_USER = "ec2-user"  # Amazon Linux, the default of an AMI that is not an FPGA Developer AMI


@dataclass(frozen=True)
class DeveloperAmi:
    """One FPGA Developer AMI as AWS Marketplace publishes it."""

    platform: Platform
    name: str
    description: str


FPGA_DEVELOPER_AMIS = (
    DeveloperAmi(F1, "FPGA Developer AMI - 1.12.2-40257ab5-6688-4c95-97d1-e251a40fd1fc",
                 "FPGA Developer AMI 1.12.2 (CentOS 7.9, Xilinx Vivado/Vitis 2021.2)"),
    DeveloperAmi(F2, "FPGA Developer AMI (Ubuntu) - 1.19.2-prod-rhng4b6alkhdq",
                 "FPGA Developer AMI (Ubuntu) 1.19.2 (Ubuntu 24.04, AMD Vivado 2025.1)"),
)

_original_load_amis = AmiBackend._load_amis


def install_fpga_developer_amis() -> None:
    """Register the FPGA Developer AMIs in every EC2 backend, existing ones and those made later."""
    if AmiBackend._load_amis is _original_load_amis:
        AmiBackend._load_amis = _load_amis_and_fpga_developer_amis
    for _account, _region, backend in list(ec2_backends.iter_backends()):
        register_fpga_developer_amis(backend)


def register_fpga_developer_amis(backend: Any) -> None:
    """Register the FPGA Developer AMIs in one EC2 backend (one account, one region), once."""
    for ami in FPGA_DEVELOPER_AMIS:
        ami_id = _ami_id(ami.name, backend.region_name)
        if ami_id not in backend.amis:
            backend.amis[ami_id] = Ami(
                backend, ami_id, name=ami.name, description=ami.description,
                owner_id=MARKETPLACE_ACCOUNT_ID, owner_alias=MARKETPLACE_ALIAS, public=True,
                virtualization_type="hvm", architecture="x86_64", hypervisor="xen", root_device_type="ebs",
                image_location=f"{MARKETPLACE_ALIAS}/{ami.name}", region_name=f"{backend.region_name}a",
                boot_mode="legacy-bios")


def login_user_for_image(backend: Any, image_id: str | None) -> str:
    """The default login user of an AMI: the platform's for an FPGA Developer AMI, else Amazon Linux's."""
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
