"""Inference benchmark of the service's backends where the service runs: ``python -m rhythm_service.benchmark``.

Reads the service's configuration (the same environment variables: MODEL_DIR, FPGA_*, ...), then
measures each backend that can run on this host (cpu fixed and float, csim, fpga when selectable):
per-window latency (p50, p99 over repeated single-window calls) and batch throughput (windows/s).
Prints one JSON document (``fab benchmark`` brings it back to the laptop); ``bench/inference``
uses the same measuring functions on the laptop.

Example::

    sudo -u rhythm sh -c 'set -a; . /etc/rhythm/rhythm.env; /opt/rhythm/venv/bin/python -m rhythm_service.benchmark'
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import socket
import sys
import time
from collections.abc import Callable

import numpy as np

from rhythm_service.backends import BackendSettings
from rhythm_service.backends.select import BackendUnavailable, select_backend
from rhythm_service.config import ConfigError, ServiceConfig
from rhythm_service.model_package import ModelPackage

BACKENDS = (("cpu fixed", "cpu", "fixed"), ("cpu float", "cpu", "float"), ("csim", "csim", "fixed"),
            ("fpga", "fpga", "fixed"))


def latency(call: Callable[[np.ndarray], object], windows: np.ndarray, count: int, budget_s: float) -> dict:
    """p50/p99 in microseconds of ``call(window)`` over up to ``count`` windows (and ``budget_s`` seconds)."""
    for window in windows[:20]:  # warm-up
        call(window)
    times, deadline = [], time.perf_counter() + budget_s
    for i in range(count):
        window = windows[i % len(windows)]
        started = time.perf_counter_ns()
        call(window)
        times.append(time.perf_counter_ns() - started)
        if time.perf_counter() > deadline:
            break
    values = np.array(times) / 1e3
    return {"p50_us": float(np.percentile(values, 50)), "p99_us": float(np.percentile(values, 99)),
            "calls": len(values)}


def throughput(call: Callable[[np.ndarray], object], batch: np.ndarray, repeats: int) -> dict:
    """Best windows/s of ``call(batch)`` over ``repeats`` runs."""
    call(batch[: min(len(batch), 1000)])
    best = min(_timed(call, batch) for _ in range(repeats))
    return {"windows_per_s": len(batch) / best, "batch": len(batch)}


def _timed(call: Callable[[np.ndarray], object], batch: np.ndarray) -> float:
    started = time.perf_counter()
    call(batch)
    return time.perf_counter() - started


def sample_windows(count: int, dims: tuple[int, int], seed: int = 0) -> np.ndarray:
    """``count`` normalised feature windows of ``dims`` (the package's frames x features), seeded.

    Latency does not depend on the values. Example: ``sample_windows(100, package.window.dims).shape``.
    """
    return np.random.default_rng(seed).normal(size=(count, *dims)).clip(-8, 8).astype(np.float32)


def measure_host(config: ServiceConfig, count: int = 2000, batch: int = 20000, budget_s: float = 10.0) -> dict:
    """Every backend that runs here with this configuration: latency, throughput, or why it was skipped."""
    package = ModelPackage.load(config.model_dir)
    windows = sample_windows(max(count, 100), package.window.dims)
    batch_windows = sample_windows(batch, package.window.dims, seed=1)
    results: dict[str, dict] = {}
    for label, choice, arithmetic in BACKENDS:
        settings: BackendSettings = dataclasses.replace(config.backend_settings(), choice=choice,
                                                        cpu_arithmetic=arithmetic, use_fpga=True)
        try:
            backend, _ = select_backend(settings, package)
        except BackendUnavailable as err:
            results[label] = {"skipped": str(err)}
            continue
        row = latency(backend.predict_one, windows, count, budget_s)
        fpga_batch = batch_windows[: min(batch, 2000)] if choice == "fpga" else batch_windows
        row |= throughput(backend.predict, fpga_batch, repeats=3)
        results[label] = row
        backend.close()
    return {"host": socket.gethostname(), "machine": platform.machine(), "python": platform.python_version(),
            "model": package.release, "window": str(package.window), "backends": results}


def main(argv: list[str] | None = None) -> int:
    """The command line: measure, print JSON; exit 1 with the variable's name on a bad configuration."""
    parser = argparse.ArgumentParser(prog="python -m rhythm_service.benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="single-window calls per backend")
    parser.add_argument("--batch", type=int, default=20000, help="windows in the throughput batch")
    options = parser.parse_args(argv)
    try:
        config = ServiceConfig.from_environ()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(measure_host(config, options.count, options.batch), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
