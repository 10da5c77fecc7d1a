"""``ProvisionConfig`` from inventory variables: what ``fab provision`` launches, and how, in one place.

Variables (all optional; ``all:vars`` of the inventory, or ``-e``):

==========================  ==============================================================
project                     the ``Project`` tag of everything made (default ``fpgaops``)
platform                    ``f2`` (default) or ``f1``
fpga_count                  FPGA instances (default 1); ``fpga_instance_type`` (platform default)
fpga_market                 ``on-demand`` (default) or ``spot``; ``spot_max_price_usd``
dev_count                   build instances (default 1); ``dev_instance_type``
dev_root_volume_gb          200; ``fpga_root_volume_gb`` 100
ssh_public_key              OpenSSH public key imported as the key pair (default: the
                            ``ansible_ssh_private_key_file`` with ``.pub``); else a key AWS makes,
                            saved 0600 at ``ssh_private_key_path``
ssh_cidrs                   who may reach SSH and the service (default: the caller's address)
allow_anywhere              true to allow 0.0.0.0/0 (refused otherwise)
service_port                opened beside SSH (default 5001)
ami_id                      an AMI instead of the newest FPGA Developer AMI
max_hourly_usd              refuse a launch that would cost more per hour; ``budget_override``
fpgaops_known_hosts         where the instances' host keys are pinned (from their console output)
idle_alarm_minutes          an AWS-side stop after that many idle minutes (CloudWatch), 0: none
launch_poll_s               seconds between polls while waiting (default 5)
==========================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fpgaops.aws.budget import BudgetPolicy
from fpgaops.aws.idle_alarm import IdleAlarmConfig
from fpgaops.aws.instances import DEFAULT_DEV_INSTANCE_TYPE, LaunchSettings, fleet_groups
from fpgaops.aws.network_access import KeyPairConfig
from fpgaops.aws.provision import ProvisionConfig
from fpgaops.aws.session import project_of
from fpgaops.platforms import DEFAULT_PLATFORM, platform_named

DEFAULT_SERVICE_PORT = 5001


def _key_pair(project: str, variables: Mapping[str, Any]) -> KeyPairConfig:
    public = variables.get("ssh_public_key")
    if not public and variables.get("ansible_ssh_private_key_file"):
        candidate = Path(str(variables["ansible_ssh_private_key_file"])).expanduser().with_suffix(".pub")
        public = str(candidate) if candidate.is_file() else None
    if public:
        return KeyPairConfig(project, public_key_path=Path(str(public)).expanduser())
    private = variables.get("ssh_private_key_path") or f"~/.ssh/{project}.pem"
    return KeyPairConfig(project, private_key_path=Path(str(private)).expanduser())


def _cidrs(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    return (value,) if isinstance(value, str) else tuple(str(item) for item in value)


def provision_config(variables: Mapping[str, Any]) -> ProvisionConfig:
    """The AWS side ``fab provision`` makes sure of, from the inventory's variables (table above).

    Example: ``provision_config({"project": "beats", "fpga_count": 2, "ssh_cidrs": ["203.0.113.7/32"]})``
    """
    project = project_of(variables)
    platform = platform_named(str(variables.get("platform") or DEFAULT_PLATFORM.name))
    groups = fleet_groups(
        platform, fpga_count=int(variables.get("fpga_count", 1)),
        fpga_instance_type=variables.get("fpga_instance_type") or None,
        fpga_market=str(variables.get("fpga_market", "on-demand")),
        spot_max_price_usd=float(variables["spot_max_price_usd"]) if variables.get("spot_max_price_usd") else None,
        dev_count=int(variables.get("dev_count", 1)),
        dev_instance_type=str(variables.get("dev_instance_type") or DEFAULT_DEV_INSTANCE_TYPE),
        dev_root_volume_gb=int(variables.get("dev_root_volume_gb", 200)),
        fpga_root_volume_gb=int(variables.get("fpga_root_volume_gb", 100)))
    known_hosts = variables.get("fpgaops_known_hosts")
    idle_minutes = int(variables.get("idle_alarm_minutes") or 0)
    max_hourly = variables.get("max_hourly_usd")
    return ProvisionConfig(
        project=project, groups=groups, key_pair=_key_pair(project, variables), platform=platform,
        ssh_cidrs=_cidrs(variables.get("ssh_cidrs")),
        service_ports=(int(variables.get("service_port", DEFAULT_SERVICE_PORT)),),
        allow_anywhere=bool(variables.get("allow_anywhere", False)),
        launch=LaunchSettings(ami_id=variables.get("ami_id") or None,
                              poll_interval_s=float(variables.get("launch_poll_s", 5.0))),
        budget=BudgetPolicy(float(max_hourly) if max_hourly not in (None, "") else None,
                            bool(variables.get("budget_override", False))),
        known_hosts_path=Path(str(known_hosts)).expanduser() if known_hosts else None,
        idle_alarm=IdleAlarmConfig(idle_minutes=idle_minutes) if idle_minutes else None,
    )
