"""Benchmark: the same 15-step deployment by fpgaops, ansible-playbook and pyinfra, on the same sandbox hosts.

    sudo .venv/bin/python -m bench.engine.run [--sizes 1,8,16] [--rounds 3] [--tools fpgaops,ansible,pyinfra]

For each size N, on hosts b01..bN of one dedicated sandbox, and for each tool in turn: the hosts
are reset to a pristine state (restarted with fresh writable layers), then the tool applies the
deployment once (first run) and ``--rounds`` more times (no-op reruns, median reported), each
run a new process of the tool, timed from its start to its exit, its remote commands counted per
host (see ``peers.py``).  After the first and the last run, one read of every host checks that it
holds the deployment (the same files, bytes, owners and modes, user, cron line, service state,
whichever tool wrote them).  The floor (one new OpenSSH connection per host, all at once, and one
command stating and hashing every managed path) is measured on the same hosts, and so is the
peers' venv command alone (``python3 -m venv``, the largest piece of host work of their first runs;
fpgaops makes the venv with uv).

Prints a table with ratios (ours vs each peer, from this run), says whether each target is met,
and writes bench/results/engine.json.  The peers' venvs (pinned: requirements-*.txt) are made in
bench/engine/.venvs/ on first use.  Needs root (the sandbox).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench.engine` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import yaml
from rich.console import Console
from rich.table import Table

from bench.engine import peers, spec
from fpgaops.operations.remote_file import FileContent
from fpgaops.sandbox import lifecycle
from fpgaops.sandbox.config import SandboxConfig
from fpgaops.sandbox.hosts import SandboxHosts
from fpgaops.sandbox.network import link_exists
from fpgaops.sandbox.topology import parse_hosts
from fpgaops.templates import render_template

RESULTS = Path(__file__).resolve().parents[1] / "results" / "engine.json"
TOOLS = ("fpgaops", "ansible", "pyinfra")
PEERS = ("ansible", "pyinfra")
LOCK_DIR = Path("/run/lock") if Path("/run/lock").is_dir() else Path("/tmp")
TARGETS_TEXT = {
    "noop_within_2x_floor": "no-op rerun within 2x of the floor, at every size",
    "noop_at_most_3_commands": "no-op rerun: at most 3 remote commands per host",
    "noop_10x_ansible": "no-op rerun >= 10x faster than Ansible, at every size",
    "noop_3x_pyinfra": "no-op rerun >= 3x faster than pyinfra, at every size",
    "first_3x_ansible": "first run >= 3x faster than Ansible, at every size",
    "first_2x_pyinfra": "first run >= 2x faster than pyinfra, at every size",
}
# the issue's figures, measured elsewhere on this kind of machine: shown beside ours for context
ISSUE_FIGURES = {"noop": {"ansible": {1: 7.5, 8: 24, 16: 51}, "pyinfra": {1: 2.7, 8: 4.9, 16: 8.2}},
                 "first": {"ansible": {1: 15, 16: 95}, "pyinfra": {1: 12, 16: 47}},
                 "floor": {1: 0.24, 16: 1.4}}


# --- the sandbox --------------------------------------------------------------------------------


def claim_network_index(preferred: int) -> tuple[int, object]:
    """A free 10.200.N.0/24 from ``preferred`` up, locked as the tests lock theirs (same lock files)."""
    for index in range(preferred, 255):
        lock = open(LOCK_DIR / f"fpgaops-test-net{index}.lock", "w")  # noqa: SIM115 (held for the whole run)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        if link_exists(f"fpgaops{index}"):
            lock.close()
            continue
        return index, lock
    raise SystemExit(f"no free sandbox network index from {preferred} to 254")


def reset_hosts(cfg: SandboxConfig, names: tuple[str, ...]) -> None:
    """Restart ``names`` with fresh writable layers: every host as it was before any tool touched it."""
    hosts = SandboxHosts(cfg)
    specs = [hosts.spec(name) for name in names]
    hosts.stop(list(names))
    hosts.start(specs, fresh=True)


def target_of(cfg: SandboxConfig, names: tuple[str, ...], artifact: Path, work_dir: Path) -> peers.Target:
    data = yaml.safe_load(cfg.inventory_path.read_text())
    hosts = {name: vars_ for group in data["all"]["children"].values() for name, vars_ in group["hosts"].items()}
    return peers.Target(inventory=cfg.inventory_path, names=names,
                        addresses={name: hosts[name]["ansible_host"] for name in names},
                        user=hosts[names[0]]["ansible_user"], key=cfg.client_key, known_hosts=cfg.known_hosts,
                        artifact=artifact, work_dir=work_dir)


# --- checks ---------------------------------------------------------------------------------------


def expected_contents(artifact_sha256: str) -> dict[str, str]:
    """sha256 of every managed file's content as the deployment defines it (templates rendered here)."""
    contents = {}
    for item in spec.FILES:
        kind, name = item.source
        if kind == "artifact":
            contents[item.path] = artifact_sha256
        elif kind == "template":
            text = render_template(name, spec.TEMPLATE_VARS, spec.TEMPLATES_DIR)
            contents[item.path] = FileContent.of(text).sha256
        else:
            contents[item.path] = FileContent.of((spec.FILES_DIR / name).read_bytes()).sha256
    return contents


def check_hosts(target: peers.Target, expected: dict[str, str]) -> dict[str, list[str]]:
    """Per host, how it differs from the deployment ([] when it holds it exactly)."""
    _, outputs, codes = peers.read_all(target, spec.floor_script(full=True))
    return {name: (spec.state_problems(spec.parse_floor(outputs[name]), expected) if codes[name] == 0
                   else [f"cannot read its state (exit {codes[name]}): {outputs[name].strip()[-300:]}"])
            for name in target.names}


# --- measuring ------------------------------------------------------------------------------------


def summarize(runs: list[peers.ToolRun]) -> dict:
    """Median wall time and the per-host command counts of some runs of one tool."""
    walls = [run.wall_s for run in runs]
    per_host = [count for run in runs for count in run.commands.values()]
    data = {
        "median_s": round(statistics.median(walls), 4), "min_s": round(min(walls), 4),
        "max_s": round(max(walls), 4),
        "commands_per_host": {"max": max(per_host), "min": min(per_host),
                              "mean": round(statistics.mean(per_host), 2)},
        "transfers_per_host_max": max(count for run in runs for count in run.transfers.values()),
        "changed_max": max(count for run in runs for count in run.changed.values()),
        "failed_runs": sum(1 for run in runs if run.exit_code != 0),
        "runs": [run.as_dict() for run in runs],
    }
    engine = [run.engine_s for run in runs if run.engine_s is not None]
    if engine:
        data["engine_median_s"] = round(statistics.median(engine), 4)
    data["cpu_median_s"] = round(statistics.median(run.cpu_s or 0.0 for run in runs), 3)
    return data


def run_tool(tool: str, target: peers.Target) -> peers.ToolRun:
    """One run of ``tool``, with the CPU it took on this machine (the sandbox hosts share it)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = peers.RUNNERS[tool](target)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run.cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return run


def measure_tool(console: Console, cfg: SandboxConfig, tool: str, target: peers.Target, rounds: int,
                 expected: dict[str, str]) -> dict:
    reset_hosts(cfg, target.names)
    first = run_tool(tool, target)
    console.print(f"  {tool:8} first run  {first.wall_s:7.2f} s  commands/host {max(first.commands.values()):3}"
                  f"  cpu {first.cpu_s:6.2f} s  exit {first.exit_code}")
    after_first = check_hosts(target, expected)
    reruns = []
    for _ in range(rounds):
        rerun = run_tool(tool, target)
        reruns.append(rerun)
        console.print(f"  {tool:8} no-op rerun {rerun.wall_s:6.2f} s  commands/host {max(rerun.commands.values()):3}"
                      f"  cpu {rerun.cpu_s:6.2f} s  changed {max(rerun.changed.values())}  exit {rerun.exit_code}")
    after_reruns = check_hosts(target, expected)
    problems = {name: found for name, found in {**after_first, **after_reruns}.items() if found}
    for name, found in problems.items():
        console.print(f"  [red]{tool} left {name} different from the deployment:[/] {'; '.join(found[:4])}")
    return {"first": summarize([first]), "noop": summarize(reruns),
            "state_ok_after_first": not any(after_first.values()),
            "state_ok_after_reruns": not any(after_reruns.values()), "state_problems": problems}


def measure_floor(target: peers.Target, rounds: int, full: bool) -> dict:
    walls = []
    for _ in range(rounds):
        wall, _, codes = peers.read_all(target, spec.floor_script(full))
        if any(codes.values()):
            raise SystemExit(f"the floor's read failed: {codes}")
        walls.append(wall)
    return {"median_s": round(statistics.median(walls), 4), "min_s": round(min(walls), 4),
            "max_s": round(max(walls), 4), "commands_per_host": 1, "runs_s": [round(w, 4) for w in walls]}


def measure_venv_alone(target: peers.Target) -> dict:
    """The peers' venv command alone on every host at once (in a scratch dir): their first runs'
    largest piece of host work (fpgaops makes the venv with uv)."""
    script = f"d=$(mktemp -d) && {spec.VENV_COMMAND.replace(spec.VENV_PATH, '$d/venv')}; s=$?; rm -rf \"$d\"; exit $s"
    wall, _, codes = peers.read_all(target, script)
    if any(codes.values()):
        raise SystemExit(f"the venv alone failed: {codes}")
    return {"wall_s": round(wall, 4), "command": spec.VENV_COMMAND}


# --- the verdict ----------------------------------------------------------------------------------


def ratio(slower: float | None, faster: float | None) -> float | None:
    return None if not slower or not faster else round(slower / faster, 2)


def ratios_and_targets(sizes: dict[int, dict], tools: tuple[str, ...]) -> tuple[dict, dict]:
    ratios: dict[str, dict] = {}
    for size, data in sizes.items():
        ours = data.get("fpgaops")
        row: dict[str, float | None] = {}
        if ours:
            row["noop_vs_floor"] = ratio(ours["noop"]["median_s"], data["floor"]["median_s"])
            row["noop_vs_floor_full"] = ratio(ours["noop"]["median_s"], data["floor_full"]["median_s"])
            for peer in PEERS:
                if peer in data:
                    row[f"{peer}_noop_vs_ours"] = ratio(data[peer]["noop"]["median_s"], ours["noop"]["median_s"])
                    row[f"{peer}_first_vs_ours"] = ratio(data[peer]["first"]["median_s"], ours["first"]["median_s"])
        ratios[str(size)] = row
    targets: dict[str, dict] = {}
    if "fpgaops" not in tools:
        return ratios, targets

    def verdict(key: str, values: dict[str, float | None], ok) -> None:
        met = all(value is not None and ok(value) for value in values.values()) if values else None
        targets[key] = {"target": TARGETS_TEXT[key], "met": met, "values": values}

    verdict("noop_within_2x_floor", {s: r["noop_vs_floor"] for s, r in ratios.items()}, lambda v: v <= 2)
    verdict("noop_at_most_3_commands",
            {str(s): d["fpgaops"]["noop"]["commands_per_host"]["max"] for s, d in sizes.items()}, lambda v: v <= 3)
    if "ansible" in tools:
        verdict("noop_10x_ansible", {s: r["ansible_noop_vs_ours"] for s, r in ratios.items()}, lambda v: v >= 10)
    if "pyinfra" in tools:
        verdict("noop_3x_pyinfra", {s: r["pyinfra_noop_vs_ours"] for s, r in ratios.items()}, lambda v: v >= 3)
    if "ansible" in tools:
        verdict("first_3x_ansible", {s: r["ansible_first_vs_ours"] for s, r in ratios.items()}, lambda v: v >= 3)
    if "pyinfra" in tools:
        verdict("first_2x_pyinfra", {s: r["pyinfra_first_vs_ours"] for s, r in ratios.items()}, lambda v: v >= 2)
    return ratios, targets


def print_table(console: Console, sizes: dict[int, dict], ratios: dict, tools: tuple[str, ...], rounds: int) -> None:
    table = Table(title=f"engine benchmark: 15-step deployment; first run, then median of {rounds} no-op reruns "
                        "(wall s, remote commands per host)", title_justify="left")
    table.add_column("hosts", justify="right")
    table.add_column("phase")
    table.add_column("floor\n(files / +svc)", justify="right")
    for tool in tools:
        table.add_column(f"{tool}\ns (cmds/host)", justify="right")
    if "fpgaops" in tools:
        table.add_column("ours ÷ floor\n(files / +svc)", justify="right")
        for peer in PEERS:
            if peer in tools:
                table.add_column(f"{peer} ÷\nours", justify="right")
    for size, data in sizes.items():
        for phase in ("first", "noop"):
            cells = [str(size), "first run" if phase == "first" else "no-op rerun"]
            cells.append(f"{data['floor']['median_s']:.2f} / {data['floor_full']['median_s']:.2f}" if phase == "noop"
                         else f"peers' venv {data['venv_alone']['wall_s']:.2f}" if "venv_alone" in data else "")
            for tool in tools:
                result = data[tool][phase]
                mark = "" if result["failed_runs"] == 0 else " FAILED"
                cells.append(f"{result['median_s']:.2f} ({result['commands_per_host']['max']}){mark}")
            if "fpgaops" in tools:
                row = ratios[str(size)]
                cells.append(f"{row['noop_vs_floor']:.2f}x / {row['noop_vs_floor_full']:.2f}x"
                             if phase == "noop" and row["noop_vs_floor"] else "")
                for peer in PEERS:
                    if peer in tools:
                        value = row.get(f"{peer}_{phase}_vs_ours")
                        cells.append(f"{value:.1f}x" if value else "")
            table.add_row(*cells)
    console.print(table)


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,8,16", help="numbers of hosts, comma-separated (default 1,8,16)")
    parser.add_argument("--rounds", type=int, default=3, help="no-op reruns per tool and size (median)")
    parser.add_argument("--tools", default=",".join(TOOLS), help="which of fpgaops,ansible,pyinfra")
    parser.add_argument("--network-index", type=int, default=240, help="first 10.200.N.0/24 to try")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    sizes = sorted({int(size) for size in args.sizes.split(",") if size.strip()})
    tools = tuple(tool for tool in TOOLS if tool in args.tools.split(","))
    if not sizes or min(sizes) < 1 or max(sizes) > 60 or not tools or args.rounds < 1:
        raise SystemExit("--sizes: 1..60 hosts each; --tools: some of fpgaops,ansible,pyinfra; --rounds >= 1")
    lifecycle.require_root()
    console = Console(width=None if sys.stdout.isatty() else 150)
    for peer in PEERS:
        if peer in tools:
            peers.ensure_venv(peer, log=console.print)
    versions = peers.tool_versions(tools)
    index, lock = claim_network_index(args.network_index)
    names = tuple(f"b{number:02}" for number in range(1, max(sizes) + 1))
    started = time.monotonic()
    results: dict[int, dict] = {}
    work = Path(tempfile.mkdtemp(prefix="fpgaops-bench-engine-"))
    cfg = SandboxConfig(state_dir=work / "sandbox", inventory_path=work / "sandbox" / "inventory.yml",
                        network_index=index, endpoint_port=45000 + index)
    artifact = work / "model.bin"
    expected = spec.expected_state(expected_contents(spec.write_artifact(artifact)))
    kept: list[str] = []
    try:
        console.print(f"sandbox: {len(names)} hosts on 10.200.{index}.0/24 ({cfg.state_dir})")
        lifecycle.up(cfg, parse_hosts(",".join(names), "f2"), cloud=False)
        for size in sizes:
            console.print(f"[bold]{size} host{'s' if size > 1 else ''}[/]")
            target = target_of(cfg, names[:size], artifact, work / f"{size}-hosts")
            results[size] = {}
            for tool in tools:
                target.work_dir.mkdir(parents=True, exist_ok=True)
                results[size][tool] = measure_tool(console, cfg, tool, target, args.rounds, expected)
                if results[size][tool]["first"]["failed_runs"] or results[size][tool]["noop"]["failed_runs"]:
                    keep = work / f"{size}-hosts-{tool}-failed"
                    target.work_dir.rename(keep)  # its output and run logs, for a look afterwards
                    kept.append(str(keep))
            results[size]["floor"] = measure_floor(target, args.rounds, full=False)
            results[size]["floor_full"] = measure_floor(target, args.rounds, full=True)
            results[size]["venv_alone"] = measure_venv_alone(target)
            console.print(f"  floor {results[size]['floor']['median_s']:.2f} s (files), "
                          f"{results[size]['floor_full']['median_s']:.2f} s (+ user, crontab, service); "
                          f"the peers' venv alone {results[size]['venv_alone']['wall_s']:.2f} s")
    finally:
        lifecycle.down(cfg)
        lock.close()
        if kept:
            console.print(f"[red]some runs failed: their outputs and logs are kept in {', '.join(kept)}[/]")
        else:
            shutil.rmtree(work, ignore_errors=True)
    ratios, targets = ratios_and_targets(results, tools)
    print_table(console, results, ratios, tools, args.rounds)
    for target in targets.values():
        verdict = "met" if target["met"] else "MISSED"
        values = ", ".join(f"{size} host(s): {value}" for size, value in target["values"].items())
        console.print(f"target: {target['target']}: [bold]{verdict}[/] ({values})")
    state_problems = {f"{tool} on {size} hosts": results[size][tool]["state_problems"]
                      for size in results for tool in tools if results[size][tool]["state_problems"]}
    console.print("final state: every tool left every host holding the deployment" if not state_problems
                  else f"[red]final state differs: {state_problems}[/]")
    report = {
        "benchmark": "engine: 15-step deployment, first run and no-op rerun, fpgaops vs ansible-playbook vs pyinfra",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds_total": round(time.monotonic() - started, 1),
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
                    "load_average_at_end": os.getloadavg()},
        "versions": versions,
        "settings": {
            "rounds": args.rounds, "sizes": sizes, "hosts": "sandbox hosts (sshd in namespaces), login ubuntu, sudo",
            "timing": "wall time of one new process of the tool, from start to exit (imports and SSH connections "
                      "included)",
            "commands": "SSH exec requests per host (a remote command); file transfers counted apart",
            "cpu": "user + system seconds of the tool's process and the children it waited for (its ssh "
                   "processes for Ansible, except ControlMasters), on the machine the hosts share",
            "fpgaops": "fab -r bench/engine deploy --inventory <sandbox's> --limit <hosts> --forks <hosts>: "
                       "the role as a fab task with the common options (bench/engine/fabfile.py)",
            "ansible": {**peers.ANSIBLE_SETTINGS, "forks": "hosts", "gather_facts": False, "become": True,
                        "ControlPath": "a fresh directory per run (no master kept from an earlier run)",
                        "host_key_checking": "strict, the sandbox's known_hosts (ansible_ssh_common_args)"},
            "pyinfra": {"options": [*peers.PYINFRA_OPTIONS, "--parallel <hosts>"],
                        "inventory": "Python: ssh_hostname/ssh_user/ssh_key/ssh_known_hosts_file, "
                                     "ssh_strict_host_key_checking=yes, no agent, no key search",
                        "counting": "paramiko SSHClient.exec_command and SFTPClient.putfo wrapped at import"},
            "floor": "one new OpenSSH connection per host (all hosts at once, no multiplexing) running one sudo "
                     "command that stats and hashes every managed path; floor_full also reads user, crontab, "
                     "managed line and service state",
            "venv_alone": "the peers' venv command (python3 -m venv) alone, on every host at once over one OpenSSH "
                          "connection each: host work their first runs contain (fpgaops makes the venv with uv, "
                          "pushing its pinned binary to each host in the first run)",
            "reset": "before each tool's first run the hosts restart with fresh writable layers",
        },
        "issue_figures": ISSUE_FIGURES,
        "sizes": {str(size): data for size, data in results.items()},
        "ratios": ratios,
        "targets": targets,
        "final_state_problems": state_problems,
        "failed_runs_kept_in": kept,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {args.output} ({report['seconds_total']:.0f} s in all)")


if __name__ == "__main__":
    main()
