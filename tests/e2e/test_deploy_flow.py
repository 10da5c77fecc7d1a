"""`fab provision deploy` as a user runs it, on a fresh sandbox with only the error generator host.

From nothing: the AWS side (key pair, security group, a dev and an FPGA instance, host keys),
the dev host prepared (aws-fpga, the ML venv from laptop wheels), the model trained, converted,
synthesized and built into a DCP tarball by a detached job, the AFI created from it, loaded, the
service deployed on the card, auto-shutdown installed. Then what a user checks: the service answers
on the card, triggers reach the error generator with the original's fields, a rerun changes
nothing and creates nothing, a template edit shows in --check and applies with one restart, and an
FPGA instance stopped and started comes back serving without a deploy.

About 4 minutes on 2 cores (most of it the dev host's TensorFlow venv and the model pipeline).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from fpgaops.aws.session import AwsClients, AwsSettings
from fpgaops.cli_options import STATS_ENV
from fpgaops.connection import ConnectionPool
from fpgaops.inventory import Inventory
from fpgaops.sandbox.config import PROJECT_ROOT
from tests.conftest import running_sandbox
from tests.e2e.fab_output import changed

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root"), pytest.mark.slow,
              pytest.mark.timeout(1200)]
FAB = str(PROJECT_ROOT / ".venv" / "bin" / "fab")
ENV_TEMPLATE = PROJECT_ROOT / "templates" / "rhythm_service" / "rhythm.env.j2"


class Sandbox:
    """The test's sandbox: `fab` with its inventory and artifacts, SSH to its hosts, its AWS endpoint."""

    def __init__(self, cfg, artifacts: Path) -> None:
        self.cfg = cfg
        self.env = {**os.environ, "COLUMNS": "200", "FPGAOPS_INVENTORY": str(cfg.inventory_path),
                    "FPGAOPS_ARTIFACTS": str(artifacts)}
        self.pool = ConnectionPool()
        self.ec2 = AwsClients(AwsSettings.sandbox(cfg.endpoint_url, cfg.region)).client("ec2")

    def fab(self, *args: str, timeout: float = 900, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run([FAB, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout,
                              env={**self.env, **(env or {})})
        print(done.stdout[-20000:], done.stderr[-5000:])  # shown when the test fails
        return done

    def inventory(self) -> Inventory:
        from fpgaops.aws.ec2_inventory import with_project_instances

        return with_project_instances(self.cfg.inventory_path)

    def run(self, host: str, shell: str, sudo: bool = True):
        inventory = self.inventory()
        self.pool.hosts.update(inventory.hosts)
        return self.pool.get(inventory.host(host)).run(shell, sudo=sudo)

    def on(self, host: str, shell: str, sudo: bool = True) -> str:
        result = self.run(host, shell, sudo)
        assert result.exit_code == 0, f"{host}: {shell}: {result.stderr}"
        return result.stdout

    def health(self, host: str) -> dict:
        return json.loads(self.on(host, "curl -fsS --max-time 10 http://127.0.0.1:5001/health", sudo=False))

    def resources(self) -> tuple[int, int]:
        """Instances (any state but terminated) and AFIs of the sandbox's account."""
        reservations = self.ec2.describe_instances()["Reservations"]
        instances = [i for r in reservations for i in r["Instances"] if i["State"]["Name"] != "terminated"]
        return len(instances), len(self.ec2.describe_fpga_images(Owners=["self"])["FpgaImages"])


@pytest.fixture(scope="module")
def sandbox_cfg(new_config):
    yield from running_sandbox(new_config("deploy"), "errgen", cloud=True)


@pytest.fixture(scope="module")
def deployed(sandbox_cfg, tmp_path_factory):
    sandbox = Sandbox(sandbox_cfg, tmp_path_factory.mktemp("artifacts"))
    started = time.monotonic()
    done = sandbox.fab("provision", "deploy")
    try:
        yield sandbox, done, time.monotonic() - started
    finally:
        sandbox.pool.close()


def test_provision_deploy_from_nothing_serves_on_the_card(deployed) -> None:
    sandbox, done, seconds = deployed
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "launched dev-a" in done.stdout and "launched f1-a" in done.stdout
    assert "following job synth-" in done.stdout and "== done" in done.stdout  # built on the dev host
    assert re.search(r"afi: created afi-[0-9a-f]{17} \(agfi-[0-9a-f]{17}\): available", done.stdout)
    sample = json.loads(re.search(r"sample detection on f1-a \(clicks at 120 BPM\): (\{.*\})", done.stdout,
                                  re.S).group(1).replace("\n", ""))
    assert sample["backend"] == "fpga" and abs(sample["tempo"] - 120) < 3 and len(sample["beats"]) >= 8
    health = sandbox.health("f1-a")
    assert health["status"] == "healthy" and health["backend"] == "fpga" and health["fpga_enabled"] is True
    print(f"fab provision deploy from nothing: {seconds:.0f} s")


def test_triggers_reach_the_error_generator_with_the_original_fields(deployed) -> None:
    sandbox, _, _ = deployed
    for beat, section in ((1, "chorus"), (2, "bridge")):
        reply = json.loads(sandbox.on("f1-a", "curl -fsS -X POST -H 'Content-Type: application/json' "
                                      f"-d '{{\"section\": \"{section}\", \"beat_num\": {beat}}}' "
                                      "http://127.0.0.1:5001/api/beat-trigger", sudo=False))
        assert reply["success"] is True and reply["triggered"] is True
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        lines = sandbox.on("errgen", "cat /var/lib/errgen/triggers.jsonl 2>/dev/null || true").splitlines()
        if len(lines) >= 2:
            break
        time.sleep(0.3)
    records = [json.loads(line) for line in lines]  # each: the five decoded fields + when and whether queued
    assert [(r["section"], r["error_type"], r["beat"]) for r in records[-2:]] == [
        ("chorus", "business", 1), ("bridge", "chaotic", 2)]
    for record in records[-2:]:
        assert record["trigger"] == "rhythm" and record["queued"] is True
        assert isinstance(record["beat"], int) and isinstance(record["tempo"], float)


def test_the_host_is_left_safe_and_cheap(deployed) -> None:
    sandbox, _, _ = deployed
    assert sandbox.on("f1-a", "stat -c '%a %U' /etc/rhythm/rhythm.env").split() == ["600", "rhythm"]
    assert sandbox.on("f1-a", "crontab -l").count("# BEGIN FPGAOPS auto-shutdown") == 1
    assert "rhythm" in sandbox.on("f1-a", "ps -o user= -C gunicorn")  # the service is not root
    verify = sandbox.run("f1-a", "systemd-analyze verify /etc/systemd/system/rhythm.service")
    assert (verify.exit_code, verify.stdout, verify.stderr) == (0, "", "")  # not even a warning
    security = sandbox.on("f1-a", "systemd-analyze security --offline=yes /etc/systemd/system/rhythm.service")
    score = float(re.search(r"Overall exposure level for rhythm.service: ([0-9.]+)", security).group(1))
    print(f"systemd-analyze security exposure of the deployed unit: {score}")
    assert score <= 3.0


def test_a_second_provision_deploy_changes_nothing_and_creates_nothing(deployed, tmp_path) -> None:
    sandbox, _, _ = deployed
    before = sandbox.resources()
    stats = tmp_path / "stats.json"
    again = sandbox.fab("provision", "deploy", env={STATS_ENV: str(stats)})
    assert again.returncode == 0
    assert set(changed(again.stdout).values()) == {0}, changed(again.stdout)
    assert "nothing changed: everything was already as configured" in again.stdout
    assert "synth: build" in again.stdout and "is up to date" in again.stdout
    assert "afi: reused" in again.stdout
    assert sandbox.resources() == before
    # every role's facts in one round trip per host (the FPGA host's second: the sample detection), and AWS
    # asked only what finds the project's resources by name and tags
    counts = json.loads(stats.read_text())
    assert counts["remote_commands"] == {"dev-a": 1, "f1-a": 2}
    assert not {"ec2.DescribeVpcs", "ec2.GetConsoleOutput"} & set(counts["aws_calls_by_operation"])
    assert counts["aws_calls_by_operation"]["ec2.DescribeInstances"] <= 3  # provision's inventory + plan, deploy's


def test_a_template_edit_shows_in_check_mode_then_applies_with_one_restart(deployed) -> None:
    sandbox, _, _ = deployed
    env_before = sandbox.on("f1-a", "cat /etc/rhythm/rhythm.env")
    starts = sandbox.on("f1-a", "journalctl -u rhythm.service -n 100000 --no-pager").count("Starting gunicorn")
    original = ENV_TEMPLATE.read_text()
    try:
        ENV_TEMPLATE.write_text(original + "# a line added by the e2e test\n")
        check = sandbox.fab("deploy", "--check")
        assert check.returncode == 0
        assert "+# a line added by the e2e test" in check.stdout
        added = [line.strip() for line in check.stdout.splitlines() if line.strip().startswith("+")]
        assert added == ["+++ /etc/rhythm/rhythm.env (new)", "+# a line added by the e2e test"]  # that diff only
        assert sandbox.on("f1-a", "cat /etc/rhythm/rhythm.env") == env_before  # nothing touched
        applied = sandbox.fab("render-env")
        assert applied.returncode == 0 and changed(applied.stdout)["f1-a"] == 2  # the .env, then the restart
    finally:
        ENV_TEMPLATE.write_text(original)
    assert sandbox.on("f1-a", "tail -n 1 /etc/rhythm/rhythm.env") == "# a line added by the e2e test\n"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        log = sandbox.on("f1-a", "journalctl -u rhythm.service -n 100000 --no-pager")
        if log.count("Starting gunicorn") == starts + 1:
            break
        time.sleep(0.5)
    assert log.count("Starting gunicorn") == starts + 1


def test_an_fpga_instance_stopped_and_started_comes_back_serving_without_a_deploy(deployed) -> None:
    sandbox, _, _ = deployed
    assert sandbox.fab("stop", "--names", "f1-a", "--yes").returncode == 0
    assert sandbox.fab("start", "--names", "f1-a", "--yes").returncode == 0
    sandbox.pool.close()  # the instance rebooted: new connections
    sandbox.pool = ConnectionPool()
    deadline, health = time.monotonic() + 120, {}
    while time.monotonic() < deadline:
        try:
            health = sandbox.health("f1-a")
            if health.get("backend") == "fpga":
                break
        except (AssertionError, ValueError, OSError):
            pass
        time.sleep(1)
    assert health.get("backend") == "fpga", health
    status = sandbox.fab("fpga-status")
    assert status.returncode == 0 and "loaded" in status.stdout
    health = sandbox.fab("health")
    table = health.stdout.split("rhythm service health", 1)[1]
    row = next(line for line in table.splitlines() if line.startswith("│ f1-a"))
    assert health.returncode == 0 and "healthy" in row and "fpga" in row and "model matches" in row


def test_benchmark_logs_and_rollback_work_on_the_deployed_hosts(deployed) -> None:
    sandbox, _, _ = deployed
    bench = sandbox.fab("benchmark")
    assert bench.returncode == 0
    report = json.loads((Path(sandbox.env["FPGAOPS_ARTIFACTS"]) / "benchmark" / "hosts.json").read_text())
    backends = report["f1-a"]["backends"]
    assert backends["fpga"]["p50_us"] > 0 and backends["cpu fixed"]["windows_per_s"] > 0  # the card, as deployed
    assert (Path(sandbox.env["FPGAOPS_ARTIFACTS"]) / "benchmark" / "hosts.png").stat().st_size > 1000

    logs = sandbox.fab("logs")
    assert logs.returncode == 0
    for shown in ("== f1-a: rhythm.service", '"GET /health HTTP/1.1" 200', "== f1-a: fpgaops-afi.service",
                  "== dev-a: build job", "== done: /var/lib/fpgaops/build/"):
        assert shown in logs.stdout, shown

    rollback = sandbox.fab("rollback")  # only one release so far: a clear error, nothing changed
    assert rollback.returncode == 2 and "no previous release to roll back to" in rollback.stdout
    assert sandbox.health("f1-a")["status"] == "healthy"
