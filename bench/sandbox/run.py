"""Benchmark: how long the sandbox takes to bring hosts up and down (no cloud endpoint).

    sudo .venv/bin/python bench/sandbox/run.py [--hosts 4] [--rounds 5]

Prints a table (median, min, max over the rounds) and writes bench/results/sandbox-<N>hosts.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fpgaops.sandbox import lifecycle
from fpgaops.sandbox.config import SandboxConfig
from fpgaops.sandbox.hosts import SandboxHosts, ssh_keygen
from fpgaops.sandbox.topology import static_specs

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"


def one_round(cfg: SandboxConfig, count: int) -> tuple[float, float]:
    """Seconds to start ``count`` hosts (every sshd answering) and to stop them again."""
    names = [("dev", "f2"), *((f"f1-{i}", "f2") for i in range(count - 1))]
    specs = static_specs(cfg, names, cfg.client_key.with_suffix(".pub").read_text())
    hosts = SandboxHosts(cfg)
    start = time.perf_counter()
    hosts.start(specs)
    started = time.perf_counter() - start
    start = time.perf_counter()
    hosts.remove([s.name for s in specs])
    return started, time.perf_counter() - start


def summary(values: list[float]) -> dict:
    return {"median_s": statistics.median(values), "min_s": min(values), "max_s": max(values), "runs": values}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    lifecycle.require_root()
    with tempfile.TemporaryDirectory(prefix="fpgaops-bench-") as tmp:
        cfg = SandboxConfig(state_dir=Path(tmp), network_index=250)
        cfg.state_dir.mkdir(exist_ok=True)
        ssh_keygen(cfg.client_key, "bench")
        try:
            rounds = [one_round(cfg, args.hosts) for _ in range(args.rounds)]
        finally:
            lifecycle.down(cfg)
    result = {
        "benchmark": "sandbox hosts up/down",
        "hosts": args.hosts,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "kernel": platform.release()},
        "up": summary([r[0] for r in rounds]),
        "down": summary([r[1] for r in rounds]),
        "target_up_s": 2.0,
    }
    results = RESULTS_DIR / f"sandbox-{args.hosts}hosts.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(result, indent=2) + "\n")
    table = Table("phase", "median s", "min s", "max s", title=f"sandbox: {args.hosts} hosts, {args.rounds} rounds")
    for phase in ("up", "down"):
        s = result[phase]
        table.add_row(phase, f"{s['median_s']:.3f}", f"{s['min_s']:.3f}", f"{s['max_s']:.3f}")
    Console().print(table)
    print(f"target: up < 2 s -> {'met' if result['up']['median_s'] < 2 else 'MISSED'}; wrote {results}")


if __name__ == "__main__":
    main()
