"""The AWS-side idle stop: one CloudWatch alarm per FPGA instance, reconciled, removed by project."""

from __future__ import annotations

import pytest

from fpgaops.aws.idle_alarm import IdleAlarmConfig, ensure_idle_alarm, idle_alarm_name, remove_idle_alarms
from fpgaops.aws.instances import InstanceRecord
from tests.unit.aws.aws_fakes import moto_cloud


def record(name: str, instance_id: str = "i-0123456789abcdef0") -> InstanceRecord:
    return InstanceRecord(instance_id, name, "f1", "f2.6xlarge", "on-demand", "running", None, None, None, None,
                          None, {})


def test_the_alarm_stops_the_instance_after_the_idle_window() -> None:
    with moto_cloud() as aws:
        cloudwatch = aws.client("cloudwatch")

        assert ensure_idle_alarm(cloudwatch, "beats", record("f1-a"), IdleAlarmConfig(idle_minutes=90)) == "created"
        assert ensure_idle_alarm(cloudwatch, "beats", record("f1-a"), IdleAlarmConfig(idle_minutes=90)) == "unchanged"
        assert ensure_idle_alarm(cloudwatch, "beats", record("f1-a"), IdleAlarmConfig(idle_minutes=30)) == "updated"

        [alarm] = cloudwatch.describe_alarms(AlarmNames=[idle_alarm_name("beats", "f1-a")])["MetricAlarms"]
        assert alarm["AlarmActions"] == ["arn:aws:automate:us-east-1:ec2:stop"]
        assert (alarm["MetricName"], alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == (
            "CPUUtilization", "Average", 300, 6)
        assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["TreatMissingData"]) == (
            5.0, "LessThanThreshold", "notBreaching")
        assert alarm["Dimensions"] == [{"Name": "InstanceId", "Value": "i-0123456789abcdef0"}]


def test_removal_takes_only_the_projects_alarms() -> None:
    with moto_cloud() as aws:
        cloudwatch = aws.client("cloudwatch")
        ensure_idle_alarm(cloudwatch, "beats", record("f1-a"))
        ensure_idle_alarm(cloudwatch, "beats", record("f1-b"))
        ensure_idle_alarm(cloudwatch, "beats-dev", record("f1-a"))  # its name starts like beats' alarms

        assert remove_idle_alarms(cloudwatch, "beats", ["f1-b"], dry_run=True) == [idle_alarm_name("beats", "f1-b")]
        removed = remove_idle_alarms(cloudwatch, "beats")

        assert sorted(removed) == [idle_alarm_name("beats", "f1-a"), idle_alarm_name("beats", "f1-b")]
        left = [a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]]
        assert left == [idle_alarm_name("beats-dev", "f1-a")]


def test_a_period_that_cloudwatch_cannot_use_is_refused() -> None:
    with pytest.raises(ValueError, match="multiple of 60"):
        IdleAlarmConfig(period_s=90)
    with pytest.raises(ValueError, match="shorter than one period"):
        IdleAlarmConfig(idle_minutes=2, period_s=300)
