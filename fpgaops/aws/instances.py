"""The project's instances: a dev (build) instance and N FPGA instances, found by tags, made when missing.

A slot is one instance the config asks for: role (the inventory group, ``dev`` or ``f1``) and name
(``dev-a``, ``f1-a``, ``f1-b``...). ``ensure_fleet`` finds each slot's instance by its tags
(``Project``, ``Role``, ``Name``), leaves running ones alone, starts stopped ones and launches
missing ones, then waits until all run. A rerun after an interruption finds what the first run
made (tags are set atomically at launch) and keeps waiting; launches carry a ClientToken derived
from the request, so a retried call never launches twice.

Launch settings: the FPGA Developer AMI of the platform (newest by CreationDate, owner AWS
Marketplace) unless an AMI id is given; IMDSv2 required; an encrypted gp3 root volume; tags on
the instance, its volumes and its spot request. Spot instances are persistent requests that stop
on interruption (one-time spot instances cannot be stopped, and stopping is how the toolkit saves
money at night). On a capacity error or a spot request still unfulfilled after
``spot_fulfilment_timeout_s``, the slot falls back to on-demand when allowed.
"""

from __future__ import annotations

import getpass
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from botocore.exceptions import ClientError

from fpgaops.aws.budget import BudgetPolicy, CostLine, check_budget
from fpgaops.aws.client_token import client_token
from fpgaops.aws.ec2_inventory import LOGIN_USER_TAG, NAME_TAG, PROJECT_TAG, ROLE_TAG
from fpgaops.aws.errors import (
    CAPACITY_CODES,
    SPOT_FALLBACK_CODES,
    AwsError,
    CapacityError,
    error_code,
    explain,
    translate_errors,
)
from fpgaops.aws.pricing import PriceBook, spot_prices
from fpgaops.aws.progress import Progress, ProgressCallback, WaitTimedOut, format_elapsed, ignore_progress, wait_until
from fpgaops.platforms import DEFAULT_PLATFORM, PLATFORMS, Platform, platform_of_instance_type

MARKETPLACE_OWNER_ID = "679593333241"  # aws-marketplace, publisher of the FPGA Developer AMIs
OWNER_TAG = "Owner"
DEV_ROLE = "dev"
FPGA_ROLE = "f1"  # the inventory group of FPGA hosts (the seed's name, kept for F2 hosts too)
DEFAULT_DEV_INSTANCE_TYPE = "z1d.2xlarge"  # 8 vCPU, 64 GiB: Vivado place and route of a small CL
MARKETS = ("on-demand", "spot")
LIVE_STATES = ("running", "pending", "stopping", "stopped")  # in order of preference for a slot
UNFULFILLED_SPOT_STATES = ("failed", "cancelled", "closed")


@dataclass(frozen=True)
class InstanceGroup:
    """``count`` instances of one role, alike: type, market, root volume."""

    role: str
    count: int
    instance_type: str
    market: str = "on-demand"
    spot_max_price_usd: float | None = None  # None: capped at the on-demand price (AWS's default)
    root_volume_gb: int = 100

    def names(self) -> list[str]:
        """``f1-a``, ``f1-b``... (``f1-aa`` after ``f1-z``): stable as the count grows."""
        return [f"{self.role}-{_letters(index)}" for index in range(self.count)]


def _letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = string.ascii_lowercase[rest] + letters
    return letters


def fleet_groups(platform: Platform = DEFAULT_PLATFORM, *, fpga_count: int = 1, fpga_instance_type: str | None = None,
                 fpga_market: str = "on-demand", spot_max_price_usd: float | None = None,
                 dev_count: int = 1, dev_instance_type: str = DEFAULT_DEV_INSTANCE_TYPE, dev_market: str = "on-demand",
                 dev_root_volume_gb: int = 200, fpga_root_volume_gb: int = 100) -> tuple[InstanceGroup, ...]:
    """The usual groups: ``dev_count`` dev instances and ``fpga_count`` FPGA instances of the platform.

    Example: ``fleet_groups(F2, fpga_count=2, fpga_market="spot")``
    """
    fpga_type = fpga_instance_type or platform.default_instance_type
    return (InstanceGroup(DEV_ROLE, dev_count, dev_instance_type, dev_market, None, dev_root_volume_gb),
            InstanceGroup(FPGA_ROLE, fpga_count, fpga_type, fpga_market, spot_max_price_usd, fpga_root_volume_gb))


@dataclass(frozen=True)
class LaunchSettings:
    """How instances are launched and waited for (the same for every group)."""

    ami_id: str | None = None  # None: the platform's FPGA Developer AMI, newest
    login_user: str | None = None  # None: the AMI's (the platform's for an FPGA Developer AMI)
    subnet_ids: tuple[str, ...] = ()  # tried in order on capacity errors; () lets AWS choose
    owner: str = field(default_factory=getpass.getuser)
    on_demand_fallback: bool = True  # a spot slot without spot capacity is launched on-demand
    spot_fulfilment_timeout_s: float = 300.0
    running_timeout_s: float = 900.0
    poll_interval_s: float = 5.0
    extra_tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FleetConfig:
    """What the project's instances should be: groups, key pair, security groups, platform, launch settings."""

    project: str
    groups: tuple[InstanceGroup, ...]
    key_name: str
    security_group_ids: tuple[str, ...]
    platform: Platform = DEFAULT_PLATFORM
    launch: LaunchSettings = field(default_factory=LaunchSettings)

    def __post_init__(self) -> None:
        names = [name for group in self.groups for name in group.names()]
        if len(set(names)) != len(names):
            raise ValueError(f"two groups share a role: {sorted(names)}")
        for group in self.groups:
            if group.market not in MARKETS:
                raise ValueError(f"group {group.role}: market must be one of {MARKETS}, not {group.market!r}")
            platform = platform_of_instance_type(group.instance_type)
            if platform is not None and platform is not self.platform:
                raise ValueError(f"group {group.role}: {group.instance_type} is an {platform.name.upper()} type but "
                                 f"the platform is {self.platform.name.upper()}")

    def slots(self) -> list[tuple[InstanceGroup, str]]:
        """Every (group, name) the config asks for, in order."""
        return [(group, name) for group in self.groups for name in group.names()]

    def tags(self, role: str, name: str, login_user: str) -> dict[str, str]:
        """The tags of one slot's instance, volumes and spot request."""
        return {PROJECT_TAG: self.project, ROLE_TAG: role, NAME_TAG: name, LOGIN_USER_TAG: login_user,
                OWNER_TAG: self.launch.owner, **self.launch.extra_tags}


# --- reading instances -----------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceRecord:
    """One instance of the project, as the toolkit needs it."""

    instance_id: str
    name: str
    role: str | None
    instance_type: str
    market: str  # "on-demand" | "spot"
    state: str
    launch_time: datetime | None
    availability_zone: str | None
    public_ip: str | None
    private_ip: str | None
    spot_request_id: str | None
    tags: Mapping[str, str]
    state_reason: str | None = None

    @classmethod
    def from_description(cls, item: Mapping[str, Any]) -> InstanceRecord:
        """From one ``Instances[]`` item of ``describe_instances``."""
        tags = {tag["Key"]: tag["Value"] for tag in item.get("Tags", [])}
        return cls(item["InstanceId"], tags.get(NAME_TAG) or item["InstanceId"], tags.get(ROLE_TAG),
                   item["InstanceType"], "spot" if item.get("InstanceLifecycle") == "spot" else "on-demand",
                   item["State"]["Name"], item.get("LaunchTime"), item.get("Placement", {}).get("AvailabilityZone"),
                   item.get("PublicIpAddress"), item.get("PrivateIpAddress"), item.get("SpotInstanceRequestId"), tags,
                   (item.get("StateReason") or {}).get("Message"))


@translate_errors
def project_instances(ec2, project: str, states: Sequence[str] = LIVE_STATES) -> list[InstanceRecord]:
    """The instances tagged ``Project=<project>`` in ``states`` (not terminated by default), by name.

    Example: ``[i.name for i in project_instances(ec2, "beats")]``
    """
    filters = [{"Name": f"tag:{PROJECT_TAG}", "Values": [project]},
               {"Name": "instance-state-name", "Values": list(states)}]
    return sorted(_described(ec2, Filters=filters), key=lambda record: (record.name, record.instance_id))


def _described(ec2, **request: Any) -> list[InstanceRecord]:
    found = []
    for page in ec2.get_paginator("describe_instances").paginate(**request):
        for reservation in page["Reservations"]:
            found.extend(InstanceRecord.from_description(item) for item in reservation["Instances"])
    return found


# --- the AMI ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MachineImage:
    """An AMI: its id, name, date, root device and the size of the root snapshot (GiB)."""

    image_id: str
    name: str
    creation_date: str
    root_device_name: str
    root_snapshot_gb: int | None

    @classmethod
    def from_description(cls, item: Mapping[str, Any]) -> MachineImage:
        root = item.get("RootDeviceName") or "/dev/sda1"
        sizes = [m["Ebs"].get("VolumeSize") for m in item.get("BlockDeviceMappings", [])
                 if m.get("DeviceName") == root and "Ebs" in m]
        return cls(item["ImageId"], item.get("Name") or "", item.get("CreationDate") or "", root,
                   sizes[0] if sizes else None)

    def login_user(self, default: str) -> str:
        """The login user of an FPGA Developer AMI (by its name), else ``default``."""
        for platform in PLATFORMS.values():
            if fnmatchcase(self.name, platform.ami_name_pattern):
                return platform.login_user
        return default


@translate_errors
def find_developer_ami(ec2, platform: Platform = DEFAULT_PLATFORM) -> MachineImage:
    """The newest FPGA Developer AMI of ``platform`` in the client's region (owner AWS Marketplace).

    Example: ``find_developer_ami(ec2, F2).image_id``
    """
    images = ec2.describe_images(Owners=[MARKETPLACE_OWNER_ID],
                                 Filters=[{"Name": "name", "Values": [platform.ami_name_pattern]},
                                          {"Name": "state", "Values": ["available"]}])["Images"]
    if not images:
        raise AwsError(f"no FPGA Developer AMI for {platform.name.upper()} ({platform.ami_name_pattern!r}, owner "
                       f"{MARKETPLACE_OWNER_ID}) in {ec2.meta.region_name}", code="AmiNotFound",
                       fix="use a region where the platform is offered, or set ami_id")
    return MachineImage.from_description(max(images, key=lambda image: image.get("CreationDate") or ""))


@translate_errors
def describe_ami(ec2, image_id: str) -> MachineImage:
    """The AMI ``image_id`` (AwsError InvalidAMIID.NotFound when not in this region)."""
    return MachineImage.from_description(ec2.describe_images(ImageIds=[image_id])["Images"][0])


# --- planning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotPlan:
    """What happens to one slot: ``keep`` (running), ``wait`` (pending), ``start`` (stopped or stopping),
    ``launch`` (missing)."""

    group: InstanceGroup
    name: str
    action: str
    instance: InstanceRecord | None
    note: str | None = None


@dataclass(frozen=True)
class FleetPlan:
    """Every slot's plan, and the project's instances no slot asks for (left alone, reported)."""

    slots: tuple[SlotPlan, ...]
    unplanned: tuple[InstanceRecord, ...]

    @property
    def changes_nothing(self) -> bool:
        """True when every slot's instance is running or pending already."""
        return all(slot.action in ("keep", "wait") for slot in self.slots)


@translate_errors
def plan_fleet(ec2, config: FleetConfig) -> FleetPlan:
    """What ``ensure_fleet`` would do, read from AWS, changing nothing (the check mode).

    Example: ``[(s.name, s.action) for s in plan_fleet(ec2, config).slots]``
    -> ``[("dev-a", "keep"), ("f1-a", "launch")]``
    """
    instances = project_instances(ec2, config.project)
    by_slot: dict[tuple[str | None, str], list[InstanceRecord]] = {}
    for record in instances:
        by_slot.setdefault((record.role, record.name), []).append(record)
    slots, used = [], set()
    for group, name in config.slots():
        candidates = sorted(by_slot.get((group.role, name), []), key=lambda r: LIVE_STATES.index(r.state))
        if not candidates:
            slots.append(SlotPlan(group, name, "launch", None))
            continue
        record = candidates[0]
        used.add(record.instance_id)
        action = {"running": "keep", "pending": "wait", "stopping": "start", "stopped": "start"}[record.state]
        note = None
        if record.instance_type != group.instance_type:
            note = f"is {record.instance_type}, the config says {group.instance_type} (not changed)"
        elif record.market != group.market:
            note = f"is {record.market}, the config says {group.market} (not changed)"
        slots.append(SlotPlan(group, name, action, record, note))
    unplanned = tuple(record for record in instances if record.instance_id not in used)
    return FleetPlan(tuple(slots), unplanned)


def fleet_cost_lines(ec2, plan: FleetPlan, prices: PriceBook) -> list[CostLine]:
    """The hourly cost of every instance that would run after ``ensure_fleet`` (planned market, spot at the
    lowest current zone price capped by the max price), plus unplanned instances that are running."""
    spot_types = {slot.group.instance_type for slot in plan.slots if _market(slot) == "spot"}
    spot_types |= {record.instance_type for record in plan.unplanned if record.market == "spot"}
    spot = spot_prices(ec2, spot_types) if spot_types else {}
    lines = []
    for slot in plan.slots:
        market = _market(slot)
        instance_type = slot.instance.instance_type if slot.instance else slot.group.instance_type
        price = _hourly(instance_type, market, prices, spot, slot.group.spot_max_price_usd)
        lines.append(CostLine(slot.name, instance_type, market, price,
                              {"keep": "running", "wait": "running"}.get(slot.action, slot.action)))
    for record in plan.unplanned:
        if record.state in ("pending", "running"):
            lines.append(CostLine(record.name, record.instance_type, record.market,
                                  _hourly(record.instance_type, record.market, prices, spot, None), "running"))
    return lines


def _market(slot: SlotPlan) -> str:
    return slot.instance.market if slot.instance else slot.group.market


def _hourly(instance_type: str, market: str, prices: PriceBook, spot: Mapping[str, Any],
            max_price: float | None) -> float | None:
    on_demand = prices.on_demand_usd(instance_type)
    if market != "spot":
        return on_demand
    current = spot[instance_type].usd_per_hour if instance_type in spot else None
    caps = [price for price in (max_price, on_demand) if price is not None]
    if current is None:
        return min(caps) if caps else None
    return min([current, *caps])


# --- ensuring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotOutcome:
    """What was done for one slot: ``kept``, ``waited``, ``started``, ``launched``, ``launched-on-demand``."""

    name: str
    role: str
    action: str
    instance_id: str
    detail: str | None = None


@dataclass(frozen=True)
class FleetResult:
    """The outcome of each slot, the instances as they are now, and unplanned ones left alone."""

    outcomes: tuple[SlotOutcome, ...]
    instances: tuple[InstanceRecord, ...]
    unplanned: tuple[InstanceRecord, ...]
    image: MachineImage | None

    @property
    def changed(self) -> bool:
        """True when something was started or launched."""
        return any(outcome.action not in ("kept", "waited") for outcome in self.outcomes)

    def summary(self) -> str:
        """One line: what was done, or that nothing was needed.

        Example: ``"nothing to do: dev-a, f1-a already running"`` or ``"launched f1-a (spot); kept dev-a"``
        """
        if not self.changed:
            return f"nothing to do: {', '.join(o.name for o in self.outcomes)} already running"
        parts = [f"{o.action} {o.name}" + (f" ({o.detail})" if o.detail else "") for o in self.outcomes]
        return "; ".join(parts)


@translate_errors
def ensure_fleet(ec2, config: FleetConfig, *, prices: PriceBook | None = None,
                 budget: BudgetPolicy | None = None, progress: ProgressCallback = ignore_progress) -> FleetResult:
    """Make the project's instances what ``config`` says and wait until they all run.

    Found instances (by tags) are kept, stopped ones started, missing ones launched. Before
    starting or launching anything, the hourly cost of what would then run is checked against
    ``budget`` (``BudgetExceeded``). Interrupting (Ctrl-C, or the progress callback raising)
    leaves nothing half-made: a rerun finds the instances and keeps waiting.

    Args:
        ec2: an EC2 client.
        config: the groups, key pair, security groups, AMI, launch and wait settings.
        prices: on-demand prices for the budget check (the region's table by default).
        budget: the hourly limit (none by default).
        progress: called with each step and each poll of the waits.

    Example::

        result = ensure_fleet(ec2, FleetConfig("beats", fleet_groups(F2), "beats", (sg_id,)),
                              budget=BudgetPolicy(max_hourly_usd=5.0), progress=show)
        print(result.summary())
    """
    plan = plan_fleet(ec2, config)
    if not plan.changes_nothing and budget is not None and budget.max_hourly_usd is not None:
        prices = prices or PriceBook.for_region(ec2.meta.region_name)
        check_budget(fleet_cost_lines(ec2, plan, prices), budget)
    image = None
    if any(slot.action == "launch" for slot in plan.slots):
        ami_id = config.launch.ami_id
        image = describe_ami(ec2, ami_id) if ami_id else find_developer_ami(ec2, config.platform)
        _check_root_volumes(config, image)
    launcher = _Launcher(ec2, config, image, prices, budget, progress)
    outcomes: dict[str, SlotOutcome] = {}
    starting = [slot for slot in plan.slots if slot.action == "start"]
    if starting:
        outcomes |= launcher.start(starting)
    for slot in plan.slots:
        if slot.action in ("keep", "wait"):
            action = "kept" if slot.action == "keep" else "waited"
            outcomes[slot.name] = SlotOutcome(slot.name, slot.group.role, action, slot.instance.instance_id, slot.note)
        elif slot.action == "launch":
            outcomes[slot.name] = launcher.launch(slot.group, slot.name)
    outcomes |= launcher.settle_spot(outcomes)
    if all(slot.action == "keep" for slot in plan.slots):  # all running when the plan read them: no wait
        instances = [slot.instance for slot in plan.slots]
    else:
        instances = launcher.wait_running([outcomes[slot.name].instance_id for slot in plan.slots])
    return FleetResult(tuple(outcomes[slot.name] for slot in plan.slots), tuple(instances), plan.unplanned, image)


def _check_root_volumes(config: FleetConfig, image: MachineImage) -> None:
    for group in config.groups:
        if image.root_snapshot_gb and group.root_volume_gb < image.root_snapshot_gb:
            raise AwsError(f"group {group.role}: root_volume_gb {group.root_volume_gb} is smaller than the AMI's "
                           f"{image.root_snapshot_gb} GiB snapshot ({image.name})", code="InvalidBlockDeviceMapping",
                           fix=f"set root_volume_gb to {image.root_snapshot_gb} or more")


class _Launcher:
    """The steps of ``ensure_fleet`` that change things, sharing its settings."""

    def __init__(self, ec2, config: FleetConfig, image: MachineImage | None, prices: PriceBook | None,
                 budget: BudgetPolicy | None, progress: ProgressCallback):
        self.ec2, self.config, self.image, self.progress = ec2, config, image, progress
        self.prices, self.budget = prices, budget
        self.spot_launched: dict[str, InstanceGroup] = {}  # name -> group, spot launches to watch

    # starting

    def start(self, slots: list[SlotPlan]) -> dict[str, SlotOutcome]:
        ids = [slot.instance.instance_id for slot in slots]
        if any(slot.instance.state == "stopping" for slot in slots):
            self._wait_states(ids, ("stopped",), "wait-stopped", self.config.launch.running_timeout_s)
        names = ", ".join(slot.name for slot in slots)
        self.progress(Progress("start", f"starting {names}", subject=names))
        try:
            self.ec2.start_instances(InstanceIds=ids)
        except ClientError as exc:
            error = explain(exc, f"starting {names}")
            if error_code(exc) in CAPACITY_CODES:
                raise CapacityError(error.summary, code=error.code, meaning=error.meaning,
                                    fix="start it again later (a stopped instance keeps its type and zone), or "
                                        "terminate it so that the next provision launches one elsewhere") from exc
            raise error from exc
        return {slot.name: SlotOutcome(slot.name, slot.group.role, "started", slot.instance.instance_id, slot.note)
                for slot in slots}

    # launching

    def launch(self, group: InstanceGroup, name: str) -> SlotOutcome:
        if group.market == "on-demand":
            instance_id = self._launch_in_some_subnet(group, name, "on-demand")
            return SlotOutcome(name, group.role, "launched", instance_id, "on-demand")
        try:
            instance_id = self._launch_in_some_subnet(group, name, "spot")
        except CapacityError as exc:
            return self._fall_back(group, name, exc.summary)
        self.spot_launched[name] = group
        return SlotOutcome(name, group.role, "launched", instance_id, "spot")

    def _fall_back(self, group: InstanceGroup, name: str, reason: str) -> SlotOutcome:
        if not self.config.launch.on_demand_fallback:
            raise CapacityError(f"{name}: no spot instance ({reason})", code="SpotUnavailable",
                                fix="retry later, allow on_demand_fallback, or use the on-demand market")
        self._check_fallback_budget(group, name)
        self.progress(Progress("fallback", f"{name}: no spot instance ({reason}); launching on-demand", subject=name))
        instance_id = self._launch_in_some_subnet(group, name, "on-demand")
        return SlotOutcome(name, group.role, "launched-on-demand", instance_id, f"spot unavailable: {reason}")

    def _check_fallback_budget(self, group: InstanceGroup, name: str) -> None:
        if self.budget is None or self.budget.max_hourly_usd is None:
            return
        prices = self.prices or PriceBook.for_region(self.ec2.meta.region_name)
        plan = plan_fleet(self.ec2, self.config)
        lines = [line for line in fleet_cost_lines(self.ec2, plan, prices) if line.name != name]
        lines.append(CostLine(name, group.instance_type, "on-demand", prices.on_demand_usd(group.instance_type),
                              "launch (on-demand fallback)"))
        check_budget(lines, self.budget)

    def _launch_in_some_subnet(self, group: InstanceGroup, name: str, market: str) -> str:
        reasons = []
        for subnet_id in self.config.launch.subnet_ids or (None,):
            where = f" in {subnet_id}" if subnet_id else ""
            self.progress(Progress("launch", f"launching {name} ({group.instance_type}, {market}){where}",
                                   subject=name))
            try:
                return self._run_instance(group, name, market, subnet_id)
            except ClientError as exc:
                code = error_code(exc)
                retry_elsewhere = code in CAPACITY_CODES | {"Unsupported"} or (
                    market == "spot" and code in SPOT_FALLBACK_CODES)
                if not retry_elsewhere:
                    raise explain(exc, f"launching {name} ({group.instance_type}, {market})") from exc
                reasons.append(explain(exc, f"launching {name} ({group.instance_type}, {market}){where}"))
        last = reasons[-1]
        raise CapacityError("; ".join(reason.summary for reason in reasons), code=last.code, meaning=last.meaning,
                            fix=last.fix)

    def _run_instance(self, group: InstanceGroup, name: str, market: str, subnet_id: str | None) -> str:
        request = self._request(group, name, market, subnet_id)
        for attempt in range(10):
            reply = self.ec2.run_instances(**request, ClientToken=client_token(request, attempt))
            instance = reply["Instances"][0]
            if instance["State"]["Name"] not in ("shutting-down", "terminated"):
                return instance["InstanceId"]
            # the token's instance is gone (terminated since): the same request must make a new one
        raise AwsError(f"launching {name}: every client token returned a terminated instance", code="ClientTokenReused",
                       fix="rerun in an hour, when AWS has forgotten the terminated instances")

    def _request(self, group: InstanceGroup, name: str, market: str, subnet_id: str | None) -> dict[str, Any]:
        image = self.image
        login_user = self.config.launch.login_user or image.login_user(self.config.platform.login_user)
        tag_list = [{"Key": k, "Value": v} for k, v in self.config.tags(group.role, name, login_user).items()]
        resource_types = ("instance", "volume") + (("spot-instances-request",) if market == "spot" else ())
        request: dict[str, Any] = {
            "ImageId": image.image_id, "InstanceType": group.instance_type, "MinCount": 1, "MaxCount": 1,
            "KeyName": self.config.key_name, "SecurityGroupIds": list(self.config.security_group_ids),
            "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled", "HttpPutResponseHopLimit": 2},
            "BlockDeviceMappings": [{"DeviceName": image.root_device_name, "Ebs": {
                "VolumeSize": group.root_volume_gb, "VolumeType": "gp3", "Encrypted": True,
                "DeleteOnTermination": True}}],
            "TagSpecifications": [{"ResourceType": kind, "Tags": tag_list} for kind in resource_types],
        }
        if subnet_id:
            request["SubnetId"] = subnet_id
        if market == "spot":
            options: dict[str, Any] = {"SpotInstanceType": "persistent", "InstanceInterruptionBehavior": "stop"}
            if group.spot_max_price_usd is not None:
                options["MaxPrice"] = f"{group.spot_max_price_usd:.4f}"
            request["InstanceMarketOptions"] = {"MarketType": "spot", "SpotOptions": options}
        return request

    # spot fulfilment

    def settle_spot(self, outcomes: dict[str, SlotOutcome]) -> dict[str, SlotOutcome]:
        """Wait for the spot launches to be fulfilled; replace those that are not by on-demand (or fail)."""
        if not self.spot_launched:
            return {}
        names = {outcomes[name].instance_id: name for name in self.spot_launched}
        try:
            states = wait_until(lambda: self._spot_states(list(names)),
                                lambda states: all(s.fulfilled or s.refused for s in states.values()),
                                stage="spot-fulfilment", describe=lambda states, t: _spot_message(states, names, t),
                                timeout_s=self.config.launch.spot_fulfilment_timeout_s,
                                interval_s=self.config.launch.poll_interval_s, progress=self.progress)
        except WaitTimedOut as timed_out:
            waited = format_elapsed(self.config.launch.spot_fulfilment_timeout_s)
            states = {instance_id: state if state.fulfilled or state.refused else
                      replace(state, refused=f"spot request not fulfilled after {waited} ({state.status})")
                      for instance_id, state in timed_out.last.items()}
        replaced = {}
        for instance_id, state in states.items():
            if state.refused:
                name = names[instance_id]
                self._cancel_spot(instance_id)
                replaced[name] = self._fall_back(self.spot_launched[name], name, state.refused)
        return replaced

    def _spot_states(self, instance_ids: list[str]) -> dict[str, _SpotState]:
        records = {r.instance_id: r for r in _described(self.ec2, InstanceIds=instance_ids)}
        request_ids = [r.spot_request_id for r in records.values() if r.spot_request_id]
        requests = {}
        if request_ids:
            reply = self.ec2.describe_spot_instance_requests(SpotInstanceRequestIds=request_ids)
            requests = {item["SpotInstanceRequestId"]: item for item in reply["SpotInstanceRequests"]}
        states = {}
        for instance_id, record in records.items():
            request = requests.get(record.spot_request_id or "")
            status = (request or {}).get("Status", {}).get("Code") or record.state
            refused = None
            if request and request.get("State") in UNFULFILLED_SPOT_STATES:
                refused = f"spot request {request['State']}: {status}"
            elif record.state in ("shutting-down", "terminated"):
                refused = f"spot instance {record.state}: {record.state_reason or status}"
            active = request is None or request.get("State") == "active"
            states[instance_id] = _SpotState(active and record.state == "running", status, refused)
        return states

    def _cancel_spot(self, instance_id: str) -> None:
        record = _described(self.ec2, InstanceIds=[instance_id])[0]
        if record.spot_request_id:
            self.ec2.cancel_spot_instance_requests(SpotInstanceRequestIds=[record.spot_request_id])
        if record.state not in ("shutting-down", "terminated"):
            self.ec2.terminate_instances(InstanceIds=[instance_id])

    # waiting

    def wait_running(self, instance_ids: list[str]) -> list[InstanceRecord]:
        return self._wait_states(instance_ids, ("running",), "wait-running", self.config.launch.running_timeout_s)

    def _wait_states(self, instance_ids: list[str], wanted: tuple[str, ...], stage: str,
                     timeout_s: float) -> list[InstanceRecord]:
        def read() -> list[InstanceRecord]:
            records = _described(self.ec2, InstanceIds=instance_ids)
            for record in records:
                if record.state in ("shutting-down", "terminated"):
                    raise AwsError(f"{record.name} ({record.instance_id}) is {record.state}: "
                                   f"{record.state_reason or 'no reason given'}", code="InstanceTerminated",
                                   fix="rerun provision to launch it again")
            return records

        def describe(records: list[InstanceRecord], elapsed: float) -> str:
            ready = sum(record.state in wanted for record in records)
            states = ", ".join(f"{r.name} {r.state}" for r in records)
            return f"{ready}/{len(records)} {'/'.join(wanted)} after {format_elapsed(elapsed)}: {states}"

        try:
            records = wait_until(read, lambda rs: all(r.state in wanted for r in rs), stage=stage, describe=describe,
                                 timeout_s=timeout_s, interval_s=self.config.launch.poll_interval_s,
                                 progress=self.progress,
                                 count=lambda rs: (sum(r.state in wanted for r in rs), len(rs)))
        except WaitTimedOut as timed_out:
            raise AwsError(str(timed_out), code="WaitTimeout",
                           fix="rerun: the instances are found again and the wait goes on") from None
        order = {instance_id: index for index, instance_id in enumerate(instance_ids)}
        return sorted(records, key=lambda record: order[record.instance_id])


@dataclass(frozen=True)
class _SpotState:
    fulfilled: bool
    status: str  # the spot request's status code (e.g. capacity-not-available), else the instance state
    refused: str | None  # why it will not be fulfilled, once known


def _spot_message(states: dict[str, _SpotState], names: dict[str, str], elapsed: float) -> str:
    parts = [f"{names[i]} {'fulfilled' if s.fulfilled else s.status}" for i, s in states.items()]
    return f"spot requests after {format_elapsed(elapsed)}: {', '.join(parts)}"
