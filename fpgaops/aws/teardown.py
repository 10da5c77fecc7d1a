"""Stop, start and terminate the project's instances; optionally delete its AFIs and S3 objects.

Only resources tagged ``Project=<project>`` are ever touched (instances and AFIs are selected by
that tag; a bucket must carry it before any object in it is deleted). Every function takes
``dry_run``: it then returns what it would do and changes nothing, which is how the fab tasks
show what a confirmation is for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from botocore.exceptions import ClientError

from fpgaops.aws.afi import Afi, AfiConfig, find_afis
from fpgaops.aws.budget import BudgetCheck, BudgetPolicy, CostLine, check_budget
from fpgaops.aws.ec2_inventory import PROJECT_TAG
from fpgaops.aws.errors import AwsError, error_code, translate_errors
from fpgaops.aws.idle_alarm import remove_idle_alarms
from fpgaops.aws.instances import InstanceRecord, project_instances
from fpgaops.aws.pricing import PriceBook, spot_prices
from fpgaops.aws.progress import ProgressCallback, WaitTimedOut, format_elapsed, ignore_progress, wait_until
from fpgaops.aws.status import instance_hourly_usd


@dataclass(frozen=True)
class Selection:
    """Which of the project's instances: all (the default), or those with these names or roles."""

    names: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    def pick(self, records: Sequence[InstanceRecord]) -> list[InstanceRecord]:
        """The records selected; ``AwsError`` for a name or role that matches none."""
        unknown = [name for name in self.names if name not in {r.name for r in records}]
        unknown += [role for role in self.roles if role not in {r.role for r in records}]
        if unknown:
            raise AwsError(f"no instance of the project named or in a role {', '.join(unknown)}", code="NoSuchInstance",
                           fix="`fab status` lists the project's instances")
        if not self.names and not self.roles:
            return list(records)
        return [r for r in records if r.name in self.names or r.role in self.roles]


@dataclass(frozen=True)
class LifecycleResult:
    """``changed``: the instances acted on; ``unchanged``: those already in the wanted state."""

    action: str  # "stop" | "start" | "terminate"
    changed: tuple[InstanceRecord, ...]
    unchanged: tuple[InstanceRecord, ...]
    dry_run: bool
    budget: BudgetCheck | None = None

    def summary(self) -> str:
        """One line, e.g. ``"stop: f1-a, f1-b (dev-a already stopped)"`` or ``"stop: nothing to do"``."""
        verb = f"would {self.action}" if self.dry_run else self.action
        if not self.changed:
            already = f" ({len(self.unchanged)} already done)" if self.unchanged else ""
            return f"{self.action}: nothing to do{already}"
        done = f" ({', '.join(r.name for r in self.unchanged)} already)" if self.unchanged else ""
        return f"{verb}: {', '.join(r.name for r in self.changed)}{done}"


@dataclass(frozen=True)
class Waiting:
    """Whether and how long to wait for the new state."""

    wait: bool = True
    timeout_s: float = 600.0
    interval_s: float = 5.0


@translate_errors
def stop_instances(ec2, project: str, selection: Selection | None = None, *, dry_run: bool = False,
                   waiting: Waiting | None = None, progress: ProgressCallback = ignore_progress) -> LifecycleResult:
    """Stop the project's running instances (disks kept, FPGA images lost; on-demand billing stops).

    Example: ``stop_instances(ec2, "beats", Selection(roles=("f1",))).summary()``
    """
    records = (selection or Selection()).pick(project_instances(ec2, project))
    to_stop = [r for r in records if r.state in ("pending", "running")]
    result = LifecycleResult("stop", tuple(to_stop), tuple(r for r in records if r not in to_stop), dry_run)
    if to_stop and not dry_run:
        ids = [r.instance_id for r in to_stop]
        ec2.stop_instances(InstanceIds=ids)
        _wait(ec2, ids, ("stopped",), "wait-stopped", waiting, progress)
    return result


@translate_errors
def start_instances(ec2, project: str, selection: Selection | None = None, *, dry_run: bool = False,
                    budget: BudgetPolicy | None = None, prices: PriceBook | None = None,
                    waiting: Waiting | None = None, progress: ProgressCallback = ignore_progress) -> LifecycleResult:
    """Start the project's stopped instances, after the budget check of everything that would then run.

    Example: ``start_instances(ec2, "beats", budget=BudgetPolicy(max_hourly_usd=5)).summary()``
    """
    every = project_instances(ec2, project)
    records = (selection or Selection()).pick(every)
    to_start = [r for r in records if r.state in ("stopped", "stopping")]
    check = None
    if to_start and budget is not None and budget.max_hourly_usd is not None:
        prices = prices or PriceBook.for_region(ec2.meta.region_name)
        would_run = [r for r in every if r.state in ("pending", "running")] + to_start
        spot_types = {r.instance_type for r in would_run if r.market == "spot"}
        spot = spot_prices(ec2, spot_types) if spot_types else {}
        check = check_budget([CostLine(r.name, r.instance_type, r.market, instance_hourly_usd(r, prices, spot),
                                       "start" if r in to_start else "running") for r in would_run], budget)
    result = LifecycleResult("start", tuple(to_start), tuple(r for r in records if r not in to_start), dry_run, check)
    if to_start and not dry_run:
        ids = [r.instance_id for r in to_start]
        if any(r.state == "stopping" for r in to_start):
            _wait(ec2, ids, ("stopped",), "wait-stopped", waiting, progress)
        ec2.start_instances(InstanceIds=ids)
        _wait(ec2, ids, ("running",), "wait-running", waiting, progress)
    return result


@translate_errors
def terminate_instances(ec2, project: str, selection: Selection | None = None, *, dry_run: bool = False,
                        waiting: Waiting | None = None,
                        progress: ProgressCallback = ignore_progress) -> LifecycleResult:
    """Terminate the project's instances (disks deleted); persistent spot requests are cancelled first,
    or AWS would launch their instances again.

    Example: ``terminate_instances(ec2, "beats", dry_run=True).changed``
    """
    records = (selection or Selection()).pick(project_instances(ec2, project))
    result = LifecycleResult("terminate", tuple(records), (), dry_run)
    if records and not dry_run:
        requests = [r.spot_request_id for r in records if r.spot_request_id]
        if requests:
            ec2.cancel_spot_instance_requests(SpotInstanceRequestIds=requests)
        ids = [r.instance_id for r in records]
        ec2.terminate_instances(InstanceIds=ids)
        _wait(ec2, ids, ("terminated",), "wait-terminated", waiting, progress)
    return result


def _wait(ec2, ids: list[str], wanted: tuple[str, ...], stage: str, waiting: Waiting | None,
          progress: ProgressCallback) -> None:
    waiting = waiting or Waiting()
    if not waiting.wait:
        return

    def read() -> list[InstanceRecord]:
        reply = ec2.describe_instances(InstanceIds=ids)
        return [InstanceRecord.from_description(item) for res in reply["Reservations"] for item in res["Instances"]]

    def describe(records: list[InstanceRecord], elapsed: float) -> str:
        states = ", ".join(f"{r.name} {r.state}" for r in records)
        ready = sum(r.state in wanted for r in records)
        return f"{ready}/{len(records)} {wanted[0]} after {format_elapsed(elapsed)}: {states}"

    try:
        wait_until(read, lambda records: all(r.state in wanted for r in records), stage=stage, describe=describe,
                   timeout_s=waiting.timeout_s, interval_s=waiting.interval_s, progress=progress,
                   count=lambda records: (sum(r.state in wanted for r in records), len(records)))
    except WaitTimedOut as timed_out:
        raise AwsError(str(timed_out), code="WaitTimeout", fix="rerun to wait again") from None


@translate_errors
def delete_afis(ec2, project: str, *, keep: Sequence[str] = (), dry_run: bool = False) -> list[Afi]:
    """Delete the project's AFIs except those whose afi- or agfi- id is in ``keep``; returns those deleted.

    Example: ``delete_afis(ec2, "beats", keep=[current.agfi_id])``
    """
    doomed = [afi for afi in find_afis(ec2, project) if afi.afi_id not in keep and afi.agfi_id not in keep]
    if not dry_run:
        for afi in doomed:
            ec2.delete_fpga_image(FpgaImageId=afi.afi_id)
    return doomed


@translate_errors
def delete_s3_objects(s3, bucket: str, project: str, prefixes: Sequence[str], *, dry_run: bool = False) -> list[str]:
    """Delete the objects under ``<prefix>/<project>/`` of each prefix in a bucket tagged ``Project=<project>``.

    Example: ``delete_s3_objects(s3, bucket, "beats", [config.input_prefix, config.logs_prefix])``
    """
    try:
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    except ClientError as exc:
        if error_code(exc) == "NoSuchBucket":
            return []
        if error_code(exc) != "NoSuchTagSet":
            raise
        tags = {}
    if tags.get(PROJECT_TAG) != project:
        raise AwsError(f"S3 bucket {bucket} is not tagged {PROJECT_TAG}={project}: its objects are left alone",
                       code="NotThisProjects", fix="delete them by hand if they are yours")
    keys = []
    for prefix in prefixes:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix.strip('/')}/{project}/")
        keys.extend(item["Key"] for page in pages for item in page.get("Contents", []))
    if not dry_run:
        for start in range(0, len(keys), 1000):
            batch = keys[start:start + 1000]
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
    return keys


@dataclass(frozen=True)
class TeardownResult:
    """What ``teardown`` terminated and deleted (or would, with ``dry_run``)."""

    instances: LifecycleResult
    afis: tuple[Afi, ...]
    s3_keys: tuple[str, ...]
    idle_alarms: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line per kind of resource."""
        verb = "would delete" if self.instances.dry_run else "deleted"
        return "\n".join([self.instances.summary(), f"AFIs: {verb} {len(self.afis)}",
                          f"S3 objects: {verb} {len(self.s3_keys)}", f"idle alarms: {verb} {len(self.idle_alarms)}"])


@translate_errors
def teardown(ec2, s3, project: str, *, afi_config: AfiConfig | None = None, delete_afi_images: bool = False,
             delete_objects: bool = False, cloudwatch=None, dry_run: bool = False, waiting: Waiting | None = None,
             progress: ProgressCallback = ignore_progress) -> TeardownResult:
    """Terminate every instance of the project (and remove their idle alarms when ``cloudwatch`` is given);
    with the flags, delete its AFIs and its S3 objects too.

    Example: ``teardown(ec2, s3, "beats", afi_config=config, delete_afi_images=True, dry_run=True).summary()``
    """
    instances = terminate_instances(ec2, project, dry_run=dry_run, waiting=waiting, progress=progress)
    alarms = remove_idle_alarms(cloudwatch, project, dry_run=dry_run) if cloudwatch is not None else []
    afis = delete_afis(ec2, project, dry_run=dry_run) if delete_afi_images else []
    keys: list[str] = []
    if delete_objects:
        if afi_config is None:
            raise AwsError("deleting S3 objects needs the AFI config (bucket and prefixes)", code="TeardownConfig")
        keys = delete_s3_objects(s3, afi_config.bucket, project, [afi_config.input_prefix, afi_config.logs_prefix],
                                 dry_run=dry_run)
    return TeardownResult(instances, tuple(afis), tuple(keys), tuple(alarms))
