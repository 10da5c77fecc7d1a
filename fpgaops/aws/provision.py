"""``fab provision`` (the AWS part): key pair, security group, instances, host keys, idle alarms, in one call.

Each step is idempotent, so a second call changes nothing and its report says so
(``ProvisionReport.changed`` is False, ``summary()`` lists what was found).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fpgaops.aws.budget import BudgetPolicy
from fpgaops.aws.ec2_inventory import PROJECT_TAG
from fpgaops.aws.errors import translate_errors
from fpgaops.aws.idle_alarm import IdleAlarmConfig, ensure_idle_alarm
from fpgaops.aws.instances import FPGA_ROLE, FleetConfig, FleetResult, InstanceGroup, LaunchSettings, ensure_fleet
from fpgaops.aws.known_hosts import known_hosts_lines, unpinned, update_known_hosts
from fpgaops.aws.network_access import (
    SSH_PORT,
    KeyPairConfig,
    KeyPairResult,
    SecurityGroupConfig,
    SecurityGroupResult,
    caller_cidrs,
    ensure_key_pair,
    ensure_security_group,
)
from fpgaops.aws.pricing import PriceBook
from fpgaops.aws.progress import ProgressCallback, ignore_progress
from fpgaops.aws.session import AwsClients
from fpgaops.platforms import DEFAULT_PLATFORM, Platform


@dataclass(frozen=True)
class ProvisionConfig:
    """Everything ``provision`` makes sure of.

    ``ssh_cidrs``: who may reach SSH and ``service_ports`` (empty: the caller's address, looked up);
    ``known_hosts_path``: where to pin the instances' host keys (None: not done); ``idle_alarm``: the
    AWS-side idle stop of FPGA instances (None: none).
    """

    project: str
    groups: tuple[InstanceGroup, ...]
    key_pair: KeyPairConfig
    platform: Platform = DEFAULT_PLATFORM
    ssh_cidrs: tuple[str, ...] = ()
    service_ports: tuple[int, ...] = ()
    allow_anywhere: bool = False
    security_group_name: str | None = None  # None: fpgaops-<project>
    vpc_id: str | None = None
    launch: LaunchSettings = field(default_factory=LaunchSettings)
    budget: BudgetPolicy = field(default_factory=BudgetPolicy)
    price_overrides: Mapping[str, float] = field(default_factory=dict)
    known_hosts_path: Path | None = None
    host_keys_timeout_s: float = 600.0
    idle_alarm: IdleAlarmConfig | None = None


@dataclass(frozen=True)
class ProvisionReport:
    """What each step found or did."""

    key_pair: KeyPairResult
    security_group: SecurityGroupResult
    fleet: FleetResult
    known_hosts_changed: bool
    idle_alarms: Mapping[str, str]  # instance name -> created | updated | unchanged

    @property
    def changed(self) -> bool:
        """True when anything was created, started or reconfigured."""
        return (self.key_pair.changed or self.security_group.changed or self.fleet.changed
                or self.known_hosts_changed or any(a != "unchanged" for a in self.idle_alarms.values()))

    def summary(self) -> list[str]:
        """One line per step, then the overall verdict.

        Example: ``["key pair beats: found", "security group sg-0123 (fpgaops-beats): unchanged", ...,
        "nothing changed"]``
        """
        sg = self.security_group
        sg_change = ("created" if sg.created else
                     f"{len(sg.authorized)} rules added, {len(sg.revoked)} removed" if sg.changed else "unchanged")
        lines = [f"key pair {self.key_pair.name}: {self.key_pair.action}",
                 f"security group {sg.group_id}: {sg_change}", f"instances: {self.fleet.summary()}"]
        lines += [f"not in the config, left alone: {r.name} ({r.instance_id}, {r.state})" for r in self.fleet.unplanned]
        if self.idle_alarms:
            lines.append("idle alarms: " + ", ".join(f"{n} {a}" for n, a in self.idle_alarms.items()))
        lines.append("changed" if self.changed else "nothing changed: everything was already as configured")
        return lines


def fleet_config(config: ProvisionConfig, security_group_ids: tuple[str, ...] = ()) -> FleetConfig:
    """The instances ``config`` asks for, launched into ``security_group_ids`` (none: for a plan only).

    Example: ``[(s.name, s.action) for s in plan_fleet(ec2, fleet_config(config)).slots]`` (the check mode)
    """
    return FleetConfig(config.project, config.groups, config.key_pair.name, security_group_ids, config.platform,
                       config.launch)


@translate_errors
def provision(aws: AwsClients, config: ProvisionConfig, *, caller_address: Callable[[], str] | None = None,
              progress: ProgressCallback = ignore_progress) -> ProvisionReport:
    """Make sure the project's AWS side exists: key pair, security group, instances running, host keys pinned.

    Args:
        aws: the clients (real AWS or the sandbox).
        config: the project's AWS settings.
        caller_address: returns the caller's public IP when ``config.ssh_cidrs`` is empty
            (``network_access.checkip_address`` in real use).
        progress: called with each step and poll of the waits.

    Example::

        report = provision(AwsClients(AwsSettings(region="us-east-1")),
                           ProvisionConfig("beats", fleet_groups(F2), KeyPairConfig("beats", public_key_path=pub)),
                           caller_address=checkip_address, progress=show)
        print("\\n".join(report.summary()))
    """
    ec2 = aws.client("ec2")
    tags = {PROJECT_TAG: config.project}
    cidrs = caller_cidrs(config.ssh_cidrs, caller_address)
    key_pair = ensure_key_pair(ec2, config.key_pair, tags)
    group = SecurityGroupConfig(config.security_group_name or f"fpgaops-{config.project}", cidrs,
                                tuple(dict.fromkeys((SSH_PORT, *config.service_ports))), config.vpc_id,
                                config.allow_anywhere)
    security_group = ensure_security_group(ec2, group, config.project, tags)
    fleet = ensure_fleet(ec2, fleet_config(config, (security_group.group_id,)),
                         prices=PriceBook.for_region(aws.region, config.price_overrides), budget=config.budget,
                         progress=progress)
    known_hosts_changed = False
    if config.known_hosts_path is not None:
        lines = known_hosts_lines(ec2, unpinned(config.known_hosts_path, fleet.instances),
                                  timeout_s=config.host_keys_timeout_s,
                                  interval_s=config.launch.poll_interval_s, progress=progress)
        known_hosts_changed = update_known_hosts(config.known_hosts_path, lines)
    alarms = {}
    if config.idle_alarm is not None:
        cloudwatch = aws.client("cloudwatch")
        for instance in fleet.instances:
            if instance.role == FPGA_ROLE:
                alarms[instance.name] = ensure_idle_alarm(cloudwatch, config.project, instance, config.idle_alarm)
    return ProvisionReport(key_pair, security_group, fleet, known_hosts_changed, alarms)
