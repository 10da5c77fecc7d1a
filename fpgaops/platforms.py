"""The AWS FPGA platforms (F1, F2) and their fixed facts, written down once.

Every part of the toolkit (AWS lifecycle, preflight, sandbox stand-ins, hls_model's
conversion defaults) reads platform facts from here.  Sources: aws-fpga (branch ``f2``
and ``f1_xdma_shell``), see ``../shared/research/aws-fpga-tools.md``.  Shell ids, tool versions,
releases and AMIs are in the platform table, ``fpgaops.fpga_platform``: this module takes them from there.
"""

from __future__ import annotations

from dataclasses import dataclass

from fpgaops.fpga_platform import default_shell, shells_of


@dataclass(frozen=True)
class Platform:
    """What is fixed for one generation of AWS FPGA instances."""

    name: str  # "f1" | "f2"
    part: str  # the FPGA part hls4ml and Vivado target
    shell_version: str  # of the default shell: a cleared slot's in fpga-describe-local-image
    cleared_device_id: str  # application PF device id of an empty slot
    empty_slot_label: str  # FpgaImageId column of a cleared slot
    tools_version: str  # `fpga-* -V` of the SDK's management tools
    slots_by_instance_type: dict[str, int]
    default_instance_type: str
    ami_name_pattern: str  # the FPGA Developer AMI, looked up by name (owner aws-marketplace, 679593333241)
    login_user: str  # the AMI's default login user

    def slots_for(self, instance_type: str) -> int:
        """Number of FPGAs of an instance type of this platform (KeyError if not one)."""
        return self.slots_by_instance_type[instance_type]


VENDOR_ID = "0x1d0f"  # Amazon's PCI vendor id

F1 = Platform(
    name="f1",
    part="xcvu9p-flgb2104-2-i",
    shell_version=default_shell("f1").version,
    cleared_device_id="0x1042",
    empty_slot_label="none",
    tools_version="1.4.25",
    slots_by_instance_type={"f1.2xlarge": 1, "f1.4xlarge": 2, "f1.16xlarge": 8},
    default_instance_type="f1.2xlarge",
    ami_name_pattern="FPGA Developer AMI - 1.12.*",  # the last F1 (CentOS 7) AMI line, Vivado 2021.2
    login_user="centos",
)

F2 = Platform(
    name="f2",
    part="xcvu47p-fsvh2892-2-e",
    shell_version=default_shell("f2").version,
    cleared_device_id="0x9048",
    empty_slot_label="No AFI",
    tools_version="2.0.6",
    slots_by_instance_type={"f2.6xlarge": 1, "f2.12xlarge": 2, "f2.48xlarge": 8},
    default_instance_type="f2.6xlarge",
    ami_name_pattern="FPGA Developer AMI (Ubuntu) - 1.*",  # e.g. "... - 1.19.2-prod-rhng4b6alkhdq"
    login_user="ubuntu",
)

PLATFORMS: dict[str, Platform] = {p.name: p for p in (F1, F2)}
DEFAULT_PLATFORM = F2


def platform_named(name: str) -> Platform:
    """The platform called ``name`` ("f1" or "f2"), with a clear error otherwise."""
    try:
        return PLATFORMS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown FPGA platform {name!r}: expected one of {', '.join(PLATFORMS)}") from None


def platform_of_instance_type(instance_type: str) -> Platform | None:
    """The platform of an instance type (``f2.6xlarge`` -> F2), or None for a non-FPGA type."""
    for platform in PLATFORMS.values():
        if instance_type in platform.slots_by_instance_type:
            return platform
    return None


def platform_of_shell_version(shell_version: str) -> Platform | None:
    """The platform with a shell of this version (as written in a manifest: any of its shells), or None."""
    for platform in PLATFORMS.values():
        if any(int(s.version, 16) == int(shell_version, 16) for s in shells_of(platform.name)):
            return platform
    return None
