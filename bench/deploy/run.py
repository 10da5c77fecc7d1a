"""Benchmark: the deployment flow as a user runs it (``fab`` as a subprocess) on sandboxes it brings up itself.

    sudo .venv/bin/python bench/deploy/run.py [--quick] [--sizes 1,4,8] [--output bench/results/deploy.json]

One sandbox (the static host ``errgen`` and the local AWS endpoint, fast stand-in timings, its own
state directory, network index and port) and one fresh ``FPGAOPS_ARTIFACTS`` folder serve every
measurement; the sandbox is brought down at the end, also on a failure, Ctrl-C or SIGTERM.
Every figure is the wall time of one ``fab`` process, from its start to its exit (Python start,
imports, SSH connections included).  Its output is timestamped line by line and split into
steps at the lines each step prints last (a recap, ``afi: ...``), so the steps add up to the total.

1. ``full flow``: ``fab provision deploy`` from nothing: key pair, security group, dev-a and f1-a
   launched, both hosts prepared (dev: toolchain, aws-fpga, the ML venv from laptop wheels; f1:
   SDK tools), the model trained, converted and built into a DCP on the dev host (synth), the AFI
   created, loaded, the service deployed, auto-shutdown installed, a sample detection.
2. ``no-op rerun``: the same command again; every recap must say 0 changed and no instance or
   AFI may appear.
3. For each N of ``--sizes`` (1, 4, 8; ``--quick``: 1, 2), on N fresh FPGA hosts: the FPGA
   instances of the previous size are terminated first (setup, not timed), then
   a. ``provision N fresh FPGA``: ``fab provision`` with ``fpga_count=N`` (a copy of the inventory
      with that value, in ``FPGAOPS_INVENTORY``): N instances launched and prepared, dev-a unchanged;
   b. ``first deploy on N fresh FPGA``: ``fab deploy``: the build of 1. is reused (synth finds it up to
      date, the AFI is found by tags), so this is load + service (release, venv from laptop wheels,
      .env, unit, start, health) + auto-shutdown on N new hosts + the sample detection; the model
      build is excluded (it is in 1.);
   c. ``no-op deploy``: ``fab deploy`` again on the same N hosts.

4. ``start to first detection`` (after 2., on f1-a, 3 rounds, median): the service stopped, then
   ``systemctl start`` -> ``/health`` says ``detection_ready`` -> the first ``/api/detect-beats``
   (the flow's 6 s click track, sent beforehand) answered 200, timed on the host.

Every ``fab`` run writes its remote commands per host and its AWS API calls (``FPGAOPS_STATS``):
the table shows the most commands any host got (round trips) and the AWS calls.  The sample
detection (the flow's last step) waits for ``/health``'s ``detection_ready`` on the first FPGA
host before its request; after the full flow and each first deploy, ``fab logs --limit f1``
gives every host's warm-up time (``facts.service_warm_up_s``).  Sandbox hosts share this
machine's CPUs: N hosts installing venvs at once take about N times the CPU of one, which real
instances would not.

Prints a table (measurement, FPGA hosts, seconds, changed counts, round trips, AWS calls, steps) and writes
bench/results/deploy.json (machine, load average at the start and end, settings, raw numbers,
every step and recap).  The full outputs of the ``fab`` runs are kept in a logs folder (printed).
``--show FILE`` prints the table of a results file again.  Needs root (the sandbox).  About 13
minutes on 2 cores (most of it the service venvs and warm-ups of the 8-host deploy); ``--quick`` about 8.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `tests` and the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import yaml
from rich.console import Console
from rich.table import Table

from fpgaops.cli_options import STATS_ENV
from fpgaops.sandbox import lifecycle
from fpgaops.sandbox.config import PROJECT_ROOT, SandboxConfig
from fpgaops.sandbox.topology import parse_hosts
from tests.conftest import FAST_TIMINGS, claim_network_index, endpoint_port
from tests.e2e import fab_output

FAB = str(PROJECT_ROOT / ".venv" / "bin" / "fab")
RESULTS = Path(__file__).resolve().parents[1] / "results" / "deploy.json"
FAB_TIMEOUT_S = 1500
SANDBOX_HOSTS = "errgen"

# The steps of a run and the line each one prints last ("before": the line before the next step's first one).
AWS_DONE = r"^  (changed|nothing changed: everything was already as configured)$"
AFI_FIRST = r"^(afi: |  (preflight|upload|afi-[a-z]+|bucket)\b)"
PROVISION_STEPS = [("provision: AWS side", AWS_DONE, "at"), ("provision: dev + FPGA hosts prepared", r"^RECAP", "at")]
DEPLOY_STEPS = [("synth", AFI_FIRST, "before"), ("afi", r"^afi: ", "at"), ("load-afi", r"^RECAP", "at"),
                ("service", r"^RECAP", "at"), ("auto-shutdown", r"^RECAP", "at"),
                ("sample detection", r"^sample detection on ", "at")]
PRIVATE_VARS = ("ansible_ssh_private_key_file", "ansible_ssh_common_args", "fpgaops_known_hosts",
                "aws_fpga_sdk_archive")  # paths of this run's temp folder: not settings
SAMPLE_LINE = re.compile(r"^sample detection on \S+ \(clicks at 120 BPM\): (.*)$")
WARM_UP_LINE = re.compile(r"warm-up: beat detection ready in ([0-9.]+) s")
SERVICE_UNIT = "rhythm"
TABLE_CAPTION = (
    "full flow: fab provision deploy from nothing (model built on the dev host). provision N fresh FPGA: fab provision "
    "launching and preparing N new FPGA instances (the previous ones terminated first, untimed). first deploy on N "
    "fresh FPGA: fab deploy on those N hosts with the build reused (synth up to date, AFI found): load + service + "
    "auto-shutdown + sample detection, the model build excluded. sample detection: waits for /health's "
    "detection_ready on the first host, then one request. round trips: the most remote commands any host got. "
    "Sandbox hosts share this machine's CPUs.")
CHANGED_LINE = re.compile(r"^changed\s+(\S+)\s+(.*)$")


@dataclass
class FabRun:
    """One ``fab`` process: its arguments, wall time, exit code and timestamped output lines."""

    args: list[str]
    seconds: float
    exit_code: int
    lines: list[tuple[float, str]] = field(default_factory=list)

    @property
    def stdout(self) -> str:
        return "\n".join(text for _, text in self.lines)

    def recaps(self) -> list[dict[str, dict[str, str]]]:
        """Every recap table the run printed, in order (host -> column -> value)."""
        return fab_output.recaps(self.stdout)

    def changed(self) -> dict[str, int]:
        """Changes per host, summed over every recap of the run."""
        return fab_output.changed(self.stdout)

    def steps(self, plan: list[tuple[str, str, str]]) -> dict[str, float | None]:
        """Seconds of each step of ``plan`` (name, end pattern, "at"/"before"), then "exit"; None when not found."""
        result: dict[str, float | None] = {}
        index, previous = 0, 0.0
        for name, pattern, mode in plan:
            found = next((i for i in range(index, len(self.lines)) if re.search(pattern, self.lines[i][1])), None)
            if found is None:
                result[name] = None
                continue
            end = found - 1 if mode == "before" and found > index else found
            result[name] = round(self.lines[end][0] - previous, 2)
            index, previous = end + 1, self.lines[end][0]
        result["exit"] = round(self.seconds - previous, 2)
        return result

    def sample_detection(self) -> dict | str | None:
        """What the flow's sample detection answered (its JSON), the start of its error, or None (not run)."""
        found = next((i for i, (_, text) in enumerate(self.lines) if SAMPLE_LINE.match(text)), None)
        if found is None:
            return None
        text = SAMPLE_LINE.match(self.lines[found][1]).group(1)
        following = [more for _, more in self.lines[found + 1:found + 40]]
        for more in [*following, ""]:  # the answer may wrap over several lines
            try:
                return json.loads(text)
            except ValueError:
                text += more
        error = next((more for more in following if re.match(r"^\w+(Error|Exception)\b", more)), text[:120])
        return f"failed: {error.strip()}"

    def slowest_changes(self, count: int = 6) -> list[dict]:
        """The changes that took longest: per host, the time since its previous change or the flow's previous line.

        That time holds the change and the ok steps before it (and, for the first change of a host
        in a role run, the run's start: connection and facts).
        """
        last: dict[str, float] = {}
        flow_line = 0.0  # the last line that is not a change: a recap, a flow step's line, a job's log
        gaps: dict[str, list[float]] = {}
        for at, text in self.lines:
            match = CHANGED_LINE.match(text)
            if not match:
                flow_line = at if text.strip() else flow_line
                continue
            host, what = match.groups()
            step = re.sub(r"\s+", " ", what)[:90]
            gaps.setdefault(step, []).append(at - max(last.get(host, 0.0), flow_line))
            last[host] = at
        ranked = sorted(gaps.items(), key=lambda item: -max(item[1]))[:count]
        return [{"change": step, "hosts": len(values), "max_s": round(max(values), 1),
                 "median_s": round(sorted(values)[len(values) // 2], 1)} for step, values in ranked]


def run_fab(args: list[str], env: dict[str, str], log: Path, console: Console) -> FabRun:
    """Run ``fab args`` as a user would, its output timestamped; the run is killed after ``FAB_TIMEOUT_S``."""
    console.print(f"  [dim]$ fab {' '.join(args)}[/]")
    started = time.monotonic()
    process = subprocess.Popen([FAB, *args], cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1)
    watchdog = threading.Timer(FAB_TIMEOUT_S, process.kill)
    watchdog.start()
    lines: list[tuple[float, str]] = []
    try:
        with log.open("w") as out:
            for line in process.stdout:
                at = time.monotonic() - started
                lines.append((at, line.rstrip("\n")))
                out.write(f"{at:8.2f} {line}")
                out.flush()  # followable with tail -f
        process.wait()
    finally:
        watchdog.cancel()
        if process.poll() is None:  # interrupted: the fab process ends with us
            process.kill()
            process.wait()
    run = FabRun(args, round(time.monotonic() - started, 2), process.returncode, lines)
    console.print(f"  [dim]{run.seconds:.1f} s, exit {run.exit_code}, changed {compact_changed(run.changed())}[/]")
    return run


def compact_changed(changed: dict[str, int]) -> str:
    """``dev-a 0, f1-a..f1-h 16 each`` (or ``f1-a..f1-h 16 x3, 17 x5`` when they differ): the FPGA hosts grouped."""
    if not changed:
        return "-"
    fpga = sorted(host for host in changed if host.startswith("f1-"))
    parts = [f"{host} {count}" for host, count in sorted(changed.items()) if host not in fpga]
    counts = sorted({changed[host] for host in fpga})
    if len(fpga) == 1:
        parts.append(f"{fpga[0]} {changed[fpga[0]]}")
    elif len(counts) == 1:
        parts.append(f"{fpga[0]}..{fpga[-1]} {counts[0]} each")
    elif fpga:
        tally = ", ".join(f"{count} x{sum(changed[host] == count for host in fpga)}" for count in counts)
        parts.append(f"{fpga[0]}..{fpga[-1]} {tally}")
    return ", ".join(parts)


class Bench:
    """The benchmark's sandbox, artifacts folder, logs and measurements."""

    def __init__(self, cfg: SandboxConfig, work: Path, logs: Path, console: Console) -> None:
        self.cfg = cfg
        self.console = console
        self.logs = logs
        self.artifacts = work / "artifacts"
        self.env = {**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1", "FPGAOPS_ARTIFACTS": str(self.artifacts),
                    "FPGAOPS_INVENTORY": str(cfg.inventory_path)}
        self.rows: list[dict] = []

    def fab(self, label: str, hosts: int, args: list[str], plan: list[tuple[str, str, str]],
            inventory: Path | None = None) -> FabRun:
        """Run and record one measurement; a failed ``fab`` stops the benchmark (its log kept)."""
        self.console.print(f"[bold]{label}[/] ({hosts} FPGA host{'s' if hosts > 1 else ''})")
        env = {**self.env, "FPGAOPS_INVENTORY": str(inventory)} if inventory else self.env
        log = self.logs / f"{len(self.rows) + 1:02d}-{re.sub(r'[^a-z0-9]+', '-', label.lower()).strip('-')}.log"
        stats_file = log.with_suffix(".stats.json")
        run = run_fab(args, {**env, STATS_ENV: str(stats_file)}, log, self.console)
        stats = json.loads(stats_file.read_text()) if stats_file.is_file() else {}
        changed = run.changed()
        self.rows.append({"measurement": label, "fpga_hosts": hosts, "command": "fab " + " ".join(args),
                          "seconds": run.seconds, "exit_code": run.exit_code, "changed": changed,
                          "changed_total": sum(changed.values()),
                          "remote_commands": stats.get("remote_commands"), "aws_calls": stats.get("aws_calls"),
                          "aws_calls_by_operation": stats.get("aws_calls_by_operation"), "steps": run.steps(plan),
                          "sample_detection": run.sample_detection(),
                          "recaps": run.recaps(), "slowest_changes": run.slowest_changes(), "log": str(log),
                          "load_average_after": [round(x, 2) for x in os.getloadavg()]})
        if run.exit_code != 0:
            raise SystemExit(f"{label}: fab exited with {run.exit_code}; its output: {log}")
        return run

    def warm_ups(self, inventory: Path | None = None) -> dict[str, float | None]:
        """Per FPGA host, the service's warm-up time (the beat tracker's JIT compile) from ``fab logs``' journal."""
        env = {**self.env, "FPGAOPS_INVENTORY": str(inventory)} if inventory else self.env
        run = run_fab(["logs", "--limit", "f1"], env, self.logs / f"{len(self.rows):02d}-logs.log", self.console)
        found: dict[str, float | None] = {}
        host = None
        for _, text in run.lines:
            if header := re.match(r"^== (\S+): (\S+)$", text):
                host = header.group(1) if header.group(2).startswith(SERVICE_UNIT) else None
                if host:
                    found.setdefault(host, None)
            elif host and (ready := WARM_UP_LINE.search(text)):
                found[host] = float(ready.group(1))  # the last one: the current start's
        return found

    def inventory_with(self, fpga_count: int) -> Path:
        """A copy of the sandbox's inventory with ``fpga_count`` changed (beside it: known_hosts paths stay valid)."""
        data = yaml.safe_load(self.cfg.inventory_path.read_text())
        data["all"]["vars"]["fpga_count"] = fpga_count
        path = self.cfg.inventory_path.with_name(f"inventory-{fpga_count}fpga.yml")
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def ec2(self):
        from fpgaops.aws.session import AwsClients, AwsSettings

        return AwsClients(AwsSettings.sandbox(self.cfg.endpoint_url, self.cfg.region)).client("ec2")

    def resources(self) -> dict[str, int]:
        """The sandbox account's instances (not terminated) and AFIs."""
        ec2 = self.ec2()
        instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
                     if i["State"]["Name"] != "terminated"]
        return {"instances": len(instances), "afis": len(ec2.describe_fpga_images(Owners=["self"])["FpgaImages"])}

    def terminate_fpga_instances(self) -> float:
        """Terminate the project's FPGA instances (setup between sizes); seconds it took."""
        from fpgaops.aws.teardown import Selection, terminate_instances

        started = time.monotonic()
        project = yaml.safe_load(self.cfg.inventory_path.read_text())["all"]["vars"]["project"]
        terminate_instances(self.ec2(), project, Selection(roles=("f1",)))
        return round(time.monotonic() - started, 2)


START_SCRIPT = """set -eu
unit={unit}; port={port}; clicks=/tmp/fpgaops-bench-clicks.wav
cat >"$clicks"  # the flow's sample click track, on stdin
now() {{ date +%s.%N; }}
for round in $(seq {rounds}); do
  systemctl stop "$unit"
  start=$(now); systemctl start "$unit"; started=$(now); deadline=$(( $(date +%s) + 120 ))
  until curl -s --max-time 5 "http://127.0.0.1:$port/health" | grep -Eq '"detection_ready": ?true'; do
    [ "$(date +%s)" -lt "$deadline" ] || {{ echo "round $round: not ready in 120 s" >&2; exit 1; }}; sleep 0.02
  done
  ready=$(now)
  curl -sf --max-time 60 -H 'Content-Type: audio/wav' --data-binary "@$clicks" \
    "http://127.0.0.1:$port/api/detect-beats" >/dev/null
  echo "$start $started $ready $(now)"
done
rm -f "$clicks"
"""


def start_to_first_detection(bench: Bench, rounds: int = 3) -> dict:
    """On f1-a: ``systemctl start`` -> ``/health`` detection_ready -> the first detection answered, ``rounds`` times
    (timed on the host); the medians and every round."""
    from fpgaops.aws.ec2_inventory import with_project_instances
    from fpgaops.connection import ConnectionPool
    from roles.deploy import click_track_wav
    from roles.rhythm_service.tasks import service_vars, unit_name

    inventory = with_project_instances(bench.cfg.inventory_path)
    host = inventory.group_hosts("f1")[0]
    v = service_vars(host)
    script = START_SCRIPT.format(unit=unit_name(v), port=v["service_port"], rounds=rounds)
    with ConnectionPool(hosts=inventory.hosts) as pool:
        reply = pool.get(host).run(script, sudo=True, stdin=click_track_wav())
    if reply.exit_code != 0:
        raise SystemExit(f"start to first detection on {host.name} failed: {reply.stderr.strip()[-400:]}")
    runs = []
    for line in reply.stdout.split("\n"):
        if line.strip():
            start, started, ready, answered = map(float, line.split())
            runs.append({"systemctl_start_s": round(started - start, 3), "detection_ready_s": round(ready - start, 3),
                         "first_detection_s": round(answered - start, 3)})
    result = {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]}
    bench.console.print(f"start to first detection on {host.name}: {result['first_detection_s']:.2f} s (median of "
                        f"{rounds}; detection_ready after {result['detection_ready_s']:.2f} s)")
    return {"host": host.name, **result, "runs": runs}


def measure(bench: Bench, sizes: list[int]) -> dict:
    """Every measurement of the module docstring, in order; the extra facts the report needs."""
    facts: dict = {}
    full_plan = PROVISION_STEPS + DEPLOY_STEPS
    bench.fab("full flow from nothing", 1, ["provision", "deploy"], full_plan)
    facts["service_warm_up_s"] = {"full flow from nothing": bench.warm_ups()}
    before = bench.resources()
    noop = bench.fab("no-op rerun", 1, ["provision", "deploy"], full_plan)
    after = bench.resources()
    facts["noop_rerun"] = {"resources_before": before, "resources_after": after,
                           "created_nothing": before == after,
                           "every_recap_0_changed": all(int(row["changed"]) == 0 for table in noop.recaps()
                                                        for row in table.values()),
                           "recaps": len(noop.recaps())}
    facts["start_to_first_detection"] = start_to_first_detection(bench)
    facts["terminate_s"] = {}
    for size in sizes:
        facts["terminate_s"][size] = bench.terminate_fpga_instances()
        inventory = bench.inventory_with(size)
        bench.fab(f"provision {size} fresh FPGA", size, ["provision"], PROVISION_STEPS, inventory)
        bench.fab(f"first deploy on {size} fresh FPGA", size, ["deploy"], DEPLOY_STEPS, inventory)
        facts["service_warm_up_s"][f"first deploy on {size} fresh FPGA"] = bench.warm_ups(inventory)
        bench.fab(f"no-op deploy on {size} FPGA", size, ["deploy"], DEPLOY_STEPS, inventory)
    return facts


def print_table(console: Console, rows: list[dict]) -> None:
    table = Table("measurement", "FPGA hosts", "seconds", "changed (recaps summed)", "round trips", "AWS calls",
                  "steps (s)", "sample detection", title="fab, run as a user runs it, on the sandbox",
                  caption=TABLE_CAPTION, caption_justify="left")
    for row in rows:
        steps = ", ".join(f"{name} {value:.1f}" if value is not None else f"{name} ?"
                          for name, value in row["steps"].items())
        commands = row.get("remote_commands") or {}
        table.add_row(row["measurement"], str(row["fpga_hosts"]), f"{row['seconds']:.1f}",
                      compact_changed(row["changed"]), str(max(commands.values())) if commands else "?",
                      str(row.get("aws_calls", "?")), steps, sample_summary(row["sample_detection"]))
    console.print(table)


def sample_summary(sample: dict | str | None) -> str:
    """``fpga, 120.2 BPM, 9 beats`` from the flow's sample detection, its error, or ``-`` when not run."""
    if isinstance(sample, dict):
        return f"{sample.get('backend')}, {sample.get('tempo', 0):.1f} BPM, {len(sample.get('beats', []))} beats"
    return sample or "-"


def machine() -> dict:
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:")), "0")
    return {"cpus": os.cpu_count(), "memory_gib": round(int(memory) / 2**20, 1), "kernel": platform.release(),
            "python": platform.python_version()}


def _interrupted(signum, frame):  # Ctrl-C, SIGTERM, SIGHUP: unwind, so the sandbox comes down
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="FPGA host counts 1,2 (a check that it works)")
    parser.add_argument("--sizes", default="", help="FPGA host counts, comma-separated (default 1,4,8)")
    parser.add_argument("--show", type=Path, default=None, help="print the table of a results file; run nothing")
    parser.add_argument("--output", type=Path, default=None, help=f"default {RESULTS.relative_to(PROJECT_ROOT)}"
                                                                  " (--quick: printed only, unless given)")
    args = parser.parse_args()
    if args.show:
        report = json.loads(args.show.read_text())
        print_table(Console(width=None if sys.stdout.isatty() else 160), report["rows"])
        return
    sizes = sorted({int(s) for s in (args.sizes or ("1,2" if args.quick else "1,4,8")).split(",") if s.strip()})
    if not sizes or min(sizes) < 1 or max(sizes) > 9:
        raise SystemExit("--sizes: 1..9 FPGA hosts each (the runner's 10 forks: the dev host and 9)")
    output = args.output or (None if args.quick else RESULTS)
    lifecycle.require_root()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # also when started with SIGINT ignored (`&`)
        signal.signal(signum, _interrupted)
    console = Console(width=None if sys.stdout.isatty() else 160)
    load_start = os.getloadavg()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="fpgaops-bench-deploy-"))
    logs = work / "logs"
    logs.mkdir()
    index = claim_network_index()
    cfg = SandboxConfig(state_dir=work / "sandbox", inventory_path=work / "sandbox" / "inventory.yml",
                        network_index=index, endpoint_port=endpoint_port(index), timings=FAST_TIMINGS)
    bench = Bench(cfg, work, logs, console)
    facts: dict = {}
    failure = None
    try:
        console.print(f"sandbox: {SANDBOX_HOSTS} + cloud on 10.200.{index}.0/24, port {cfg.endpoint_port} "
                      f"({work}); load average {load_start[0]:.2f}")
        up_started = time.monotonic()
        lifecycle.up(cfg, parse_hosts(SANDBOX_HOSTS, "f2"), cloud=True)
        facts["sandbox_up_s"] = round(time.monotonic() - up_started, 2)
        written = yaml.safe_load(cfg.inventory_path.read_text())["all"]["vars"]
        facts["inventory_vars"] = {k: v for k, v in written.items() if k not in PRIVATE_VARS}
        facts.update(measure(bench, sizes))
    except BaseException as err:  # the table of what was measured is printed, then it is raised again
        failure = err
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a second Ctrl-C must not leave hosts behind
            signal.signal(signum, signal.SIG_IGN)
        down_started = time.monotonic()
        lifecycle.down(cfg)
        facts["sandbox_down_s"] = round(time.monotonic() - down_started, 2)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _interrupted)
    if bench.rows:
        print_table(console, bench.rows)
    console.print(f"fab outputs (timestamped): {logs}")
    if isinstance(failure, KeyboardInterrupt):
        raise SystemExit(f"interrupted: the sandbox is down; outputs so far in {logs}")
    if failure is not None:
        raise failure
    for scratch in (bench.artifacts, cfg.state_dir):  # the build and the sandbox's keys; the logs stay
        shutil.rmtree(scratch, ignore_errors=True)
    noop = facts["noop_rerun"]
    console.print(f"no-op rerun: every recap 0 changed: {noop['every_recap_0_changed']} ({noop['recaps']} recaps); "
                  f"created nothing: {noop['created_nothing']} ({noop['resources_after']})")
    report = {
        "benchmark": "deploy: fab provision deploy from nothing, no-op rerun, fab deploy on N fresh FPGA hosts",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds_total": round(time.monotonic() - started, 1),
        "machine": {**machine(), "load_average_at_start": load_start, "load_average_at_end": os.getloadavg(),
                    "note": "a shared machine: other work may have run meanwhile"},
        "settings": {
            "sizes": sizes, "quick": args.quick, "sandbox_hosts": SANDBOX_HOSTS, "cloud": True,
            "stand_in_timings_s": {name: getattr(FAST_TIMINGS, name) for name in FAST_TIMINGS.__dataclass_fields__},
            "inventory_vars": facts.pop("inventory_vars"),
            "timing": "wall time of one fab process (start to exit); steps split at the line each step prints last",
            "fpga_count": "a copy of the sandbox inventory with fpga_count=N in FPGAOPS_INVENTORY",
            "between_sizes": "the previous size's FPGA instances terminated (not timed in the rows), so every "
                             "size deploys on N fresh hosts",
            "build": "one FPGAOPS_ARTIFACTS folder for the whole run: the build of the full flow is reused by "
                     "every later deploy (synth up to date, AFI found by tags)",
        },
        "rows": bench.rows,
        "facts": facts,
    }
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2) + "\n")
        console.print(f"wrote {output} ({report['seconds_total']:.0f} s in all)")
    else:
        console.print(f"{report['seconds_total']:.0f} s in all (--quick: no JSON written; --output to write one)")


if __name__ == "__main__":
    main()
