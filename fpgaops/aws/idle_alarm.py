"""An AWS-side idle stop: a CloudWatch alarm that stops an instance after N minutes of low CPU.

A second line of defence beside the cron idle check on the host: it works even when the host is
wedged or its cron was removed. CPU is only a proxy (an FPGA can be busy while the CPU idles), so
the threshold is low and the window long. The alarm's action is EC2's built-in stop
(``arn:aws:automate:<region>:ec2:stop``); the first such alarm in an account makes AWS create its
service-linked role for CloudWatch actions. Missing data (a stopped instance) does not breach.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from fpgaops.aws.ec2_inventory import PROJECT_TAG
from fpgaops.aws.errors import translate_errors
from fpgaops.aws.instances import InstanceRecord

ALARM_PREFIX = "fpgaops"
COMPARED_FIELDS = ("MetricName", "Namespace", "Statistic", "Period", "EvaluationPeriods", "Threshold",
                   "ComparisonOperator", "AlarmActions", "Dimensions", "TreatMissingData", "ActionsEnabled")


@dataclass(frozen=True)
class IdleAlarmConfig:
    """Stop after ``idle_minutes`` with average CPU under ``cpu_threshold_percent`` (``period_s`` a multiple of 60)."""

    idle_minutes: int = 60
    cpu_threshold_percent: float = 5.0
    period_s: int = 300

    def __post_init__(self) -> None:
        if self.period_s < 60 or self.period_s % 60:
            raise ValueError(f"period_s must be a multiple of 60, not {self.period_s}")
        if self.idle_minutes * 60 < self.period_s:
            raise ValueError(f"idle_minutes ({self.idle_minutes}) is shorter than one period ({self.period_s} s)")


def idle_alarm_name(project: str, instance_name: str) -> str:
    """``fpgaops-<project>-<instance name>-idle-stop``."""
    return f"{ALARM_PREFIX}-{project}-{instance_name}-idle-stop"


@translate_errors
def ensure_idle_alarm(cloudwatch, project: str, instance: InstanceRecord,
                      config: IdleAlarmConfig | None = None) -> str:
    """The idle-stop alarm of ``instance``: ``"created"``, ``"updated"`` or ``"unchanged"``.

    Example: ``ensure_idle_alarm(cloudwatch, "beats", record, IdleAlarmConfig(idle_minutes=90))``
    """
    config = config or IdleAlarmConfig()
    region = cloudwatch.meta.region_name
    wanted = {
        "MetricName": "CPUUtilization", "Namespace": "AWS/EC2", "Statistic": "Average",
        "Period": config.period_s, "EvaluationPeriods": math.ceil(config.idle_minutes * 60 / config.period_s),
        "Threshold": float(config.cpu_threshold_percent), "ComparisonOperator": "LessThanThreshold",
        "AlarmActions": [f"arn:aws:automate:{region}:ec2:stop"],
        "Dimensions": [{"Name": "InstanceId", "Value": instance.instance_id}],
        "TreatMissingData": "notBreaching", "ActionsEnabled": True,
    }
    name = idle_alarm_name(project, instance.name)
    found = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    if found and all(found[0].get(key) == value for key, value in wanted.items()):
        return "unchanged"
    cloudwatch.put_metric_alarm(
        AlarmName=name, AlarmDescription=f"fpgaops {project}: stop {instance.name} after {config.idle_minutes} min "
                                         f"under {config.cpu_threshold_percent}% CPU",
        Tags=[{"Key": PROJECT_TAG, "Value": project}], **wanted)
    return "updated" if found else "created"


@translate_errors
def remove_idle_alarms(cloudwatch, project: str, instance_names: Sequence[str] | None = None, *,
                       dry_run: bool = False) -> list[str]:
    """Delete the project's idle-stop alarms (of ``instance_names`` only, when given); returns their names.

    Example: ``remove_idle_alarms(cloudwatch, "beats")``
    """
    prefix = f"{ALARM_PREFIX}-{project}-"
    alarms = [alarm for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix)
              for alarm in page["MetricAlarms"] if alarm["AlarmName"].endswith("-idle-stop")]
    names = [alarm["AlarmName"] for alarm in alarms if _tagged(cloudwatch, alarm["AlarmArn"], project)]
    if instance_names is not None:
        wanted = {idle_alarm_name(project, name) for name in instance_names}
        names = [name for name in names if name in wanted]
    if names and not dry_run:
        for start in range(0, len(names), 100):
            cloudwatch.delete_alarms(AlarmNames=names[start:start + 100])
    return names



def _tagged(cloudwatch, arn: str, project: str) -> bool:
    """Whether the alarm carries ``Project=<project>`` (another project's name may share the prefix)."""
    tags = cloudwatch.list_tags_for_resource(ResourceARN=arn).get("Tags", [])
    return {tag["Key"]: tag["Value"] for tag in tags}.get(PROJECT_TAG) == project
