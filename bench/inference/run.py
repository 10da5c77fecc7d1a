"""Benchmark: beat-model inference latency and throughput, every way the project can run it.

    .venv/bin/python bench/inference/run.py [--quick] [--skip-keras] [--skip-http]

Per-window latency (p50, p99 over repeated single-window calls) and batch throughput (windows/s)
for: Keras ``model.predict``, ``model(x)``, a ``tf.function``; the hls4ml C emulation (csim
backend); the numpy backend (fixed and float, single and batched); the fpga backend driving a
stand-in card through a mapped resource0 file (the sandbox card's register block,
``fpgaops.sandbox.card.registers``, in its own process: so the emulation's speed, not the
hardware's); and HTTP ``POST /api/predict`` end to end (the Flask app on a local werkzeug server,
one keep-alive connection).

The measuring process is pinned to one core (the card process to the other) and BLAS to one
thread: "batched on one core" as the targets say. Windows are the CI model's held-out test
windows. Counts are bounded (about a minute in all; ``--quick`` about 20 s).

Prints a table beside the design document's figures (CPU 10-50 ms and 20-100 windows/s; FPGA
1-10 us and 100k-200k windows/s), writes ``bench/results/inference.json`` and a log-scale bar
chart ``bench/results/inference.png``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: one core, as the targets say
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import http.client
import json
import logging
import multiprocessing
import platform
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rhythm_service import register_map as rm  # noqa: E402
from rhythm_service.backends import BackendSettings  # noqa: E402
from rhythm_service.backends.cpu import CpuBackend  # noqa: E402
from rhythm_service.backends.csim import CsimBackend  # noqa: E402
from rhythm_service.backends.fpga import FpgaBackend  # noqa: E402
from rhythm_service.benchmark import latency, throughput  # noqa: E402
from rhythm_service.model_package import ModelPackage  # noqa: E402
from tests.model_package import model_package_folder  # noqa: E402
from tests.rhythm_service.backend_helpers import add_pci_function, held_out_windows  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DESIGN = {"cpu": {"latency_us": (10_000, 50_000), "throughput": (20, 100)},
          "fpga": {"latency_us": (1, 10), "throughput": (100_000, 200_000)}}
TARGETS = {"numpy fixed": {"p50_us": 10.0, "throughput": 2_000_000}}
CARD_DBDF = "0000:00:1e.0"


# ---------------------------------------------------------------- the stand-in card (own process)


def _card_process(pci_root: str, folder: str, ready, stop) -> None:
    os.sched_setaffinity(0, {1 % os.cpu_count()})
    import mmap

    from fpgaops.sandbox.card.registers import CardRegisters, Design  # the sandbox's card

    package = ModelPackage.load(folder)
    cpu = CpuBackend(package, "fixed")
    design = Design.of_package(package, cpu.predict_one, "bench")
    with open(Path(pci_root) / CARD_DBDF / "resource0", "r+b") as handle:
        page = mmap.mmap(handle.fileno(), rm.ADDRESS_SPAN, mmap.MAP_SHARED)
        registers = CardRegisters(page, design)
        ready.set()
        while not stop.is_set():
            if not registers.poll():
                os.sched_yield()
        registers.words.release()
        page.close()


def fpga_rows(package: ModelPackage, windows: np.ndarray, count: int) -> dict:
    """The fpga backend against the sandbox card's register block served from another process."""
    with tempfile.TemporaryDirectory(prefix="bench-pci-") as root:
        add_pci_function(Path(root), CARD_DBDF, rm.ADDRESS_SPAN, device_id=0xF000)
        context = multiprocessing.get_context("spawn")
        ready, stop = context.Event(), context.Event()
        card = context.Process(target=_card_process, args=(root, str(package.folder), ready, stop), daemon=True)
        card.start()
        try:
            if not ready.wait(60):
                raise RuntimeError("the stand-in card did not start")
            backend = FpgaBackend(package, BackendSettings(choice="fpga", pci_root=root, fpga_timeout_s=1.0))
            try:
                single = latency(backend.predict_one, windows, count, 10.0)
                batch = throughput(backend.predict, windows[:2000], 2)
                equal = bool(np.array_equal(backend.predict(windows[:500]),
                                            CpuBackend(package, "fixed").predict(windows[:500])))
            finally:
                backend.close()
        finally:
            stop.set()
            card.join(10)
            if card.is_alive():
                card.kill()
    return {"fpga backend, stand-in card": {**single, **batch, "equal_to_emulation": equal,
                                            "card": "fpgaops.sandbox.card.registers.CardRegisters (cpu fixed inside)"}}


# ---------------------------------------------------------------- HTTP end to end


def http_rows(package: ModelPackage, windows: np.ndarray, count: int) -> dict:
    """POST /api/predict on the Flask app (cpu backend) served by werkzeug on 127.0.0.1, keep-alive client."""
    try:
        from werkzeug.serving import make_server

        from rhythm_service.app import close_app, create_app
        from rhythm_service.config import ServiceConfig
    except ImportError as error:
        return {"HTTP /api/predict": {"skipped": f"the service app is not importable: {error}"}}
    config = ServiceConfig.from_environ({"MODEL_DIR": str(package.folder), "INFERENCE_BACKEND": "cpu",
                                         "LOG_LEVEL": "WARNING", "ERROR_GENERATOR_URL": "http://127.0.0.1:9"})
    app = create_app(config)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)

    def post(batch: np.ndarray) -> list[float]:
        body = json.dumps({"windows": np.asarray(batch).reshape(-1, *package.window.dims).tolist(), "normalised": True})
        connection.request("POST", "/api/predict", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"/api/predict answered {response.status}: {data[:200]!r}")
        return json.loads(data)["probabilities"]

    try:
        single = latency(post, windows, count, 10.0)
        batch = throughput(post, windows[:5000], 2)
        equal = bool(np.array_equal(np.array(post(windows[:500])), CpuBackend(package).predict(windows[:500])))
    finally:
        connection.close()
        server.shutdown()
        close_app(app)
    return {"HTTP /api/predict (cpu fixed)": {**single, **batch, "equal_to_emulation": equal,
                                              "server": "werkzeug threaded, one keep-alive client"}}


# ---------------------------------------------------------------- Keras


def keras_rows(package: ModelPackage, windows: np.ndarray, quick: bool) -> dict:
    """Keras model.predict, model(x) and a tf.function, on the packaged model.h5."""
    import tensorflow as tf

    from hls_model.model import load_model

    model = load_model(package.folder / "model" / "model.h5")
    x = windows.astype(np.float32)
    function = tf.function(lambda batch: model(batch, training=False))
    rows = {
        "Keras model.predict": (lambda w: model.predict(w[None], verbose=0), 30 if quick else 100,
                                lambda b: model.predict(b, batch_size=4096, verbose=0)),
        "Keras model(x)": (lambda w: model(w[None], training=False), 200 if quick else 1000,
                           lambda b: model(b, training=False)),
        "Keras tf.function": (lambda w: function(w[None]), 500 if quick else 3000, lambda b: function(b)),
    }
    out = {}
    for name, (single, count, batch) in rows.items():
        out[name] = {**latency(single, x, count, 8.0), **throughput(batch, x, 2)}
    return out


# ---------------------------------------------------------------- report


def table(results: dict) -> str:
    """The results as a text table beside the design document's figures."""
    lines = [f"{'method':34s} {'p50 us':>10s} {'p99 us':>10s} {'windows/s':>12s}  design document",
             "-" * 100]
    for name, row in results.items():
        if "skipped" in row:
            lines.append(f"{name:34s} skipped: {row['skipped']}")
            continue
        kind = "fpga" if name.startswith(("fpga", "hls4ml")) else "cpu"
        design = DESIGN[kind]
        note = (f"{kind.upper()}: {design['latency_us'][0]:g}-{design['latency_us'][1]:g} us, "
                f"{design['throughput'][0]:g}-{design['throughput'][1]:g}/s")
        lines.append(f"{name:34s} {row['p50_us']:10.1f} {row['p99_us']:10.1f} {row['windows_per_s']:12,.0f}  {note}")
    return "\n".join(lines)


def chart(results: dict, path: Path) -> None:
    """Log-scale bars of p50 latency and throughput, with the design document's ranges shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = {name: row for name, row in results.items() if "skipped" not in row}
    names = list(rows)
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 0.45 * len(names) + 2.2), sharey=True)
    y = np.arange(len(names))
    left.barh(y, [rows[n]["p50_us"] for n in names], color="tab:blue")
    right.barh(y, [rows[n]["windows_per_s"] for n in names], color="tab:green")
    for axis, key, label in ((left, "latency_us", "p50 latency per window (us, log)"),
                             (right, "throughput", "batch throughput (windows/s, log)")):
        axis.set_xscale("log")
        axis.set_xlabel(label)
        for kind, colour in (("cpu", "tab:red"), ("fpga", "tab:purple")):
            low, high = DESIGN[kind][key]
            axis.axvspan(low, high, color=colour, alpha=0.15, label=f"design document {kind.upper()}")
        axis.grid(axis="x", which="both", alpha=0.3)
    left.set_yticks(y, names)
    left.invert_yaxis()
    left.legend(loc="lower right", fontsize=8)
    fig.suptitle("Beat model inference (one core)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (about 20 s)")
    parser.add_argument("--skip-keras", action="store_true", help="no TensorFlow (saves ~10 s of import)")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-fpga", action="store_true")
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    count = 2000 if args.quick else 10000
    package = ModelPackage.load(model_package_folder())
    windows = held_out_windows(package).astype(np.float32)
    big = np.concatenate([windows] * (200_000 // len(windows) + 1))[:200_000]
    results: dict[str, dict] = {}
    if not args.skip_keras:
        results.update(keras_rows(package, windows, args.quick))
    with tempfile.TemporaryDirectory(prefix="bench-csim-") as build:
        csim = CsimBackend(package, build_dir=build)
        results["hls4ml emulation (csim)"] = {**latency(lambda w: csim.predict(w[None]), windows, count, 10.0),
                                              **throughput(csim.predict, windows, 2)}
    for arithmetic in ("fixed", "float"):
        backend = CpuBackend(package, arithmetic)
        results[f"numpy {arithmetic}"] = {**latency(backend.predict_one, windows, count * 3, 10.0),
                                          **throughput(backend.predict, big, 5)}
    if not args.skip_fpga:
        results.update(fpga_rows(package, windows, count // 2))
    if not args.skip_http:
        results.update(http_rows(package, windows, count // 4))
    verdicts = {name: {"p50_ok": results[name]["p50_us"] <= target["p50_us"],
                       "throughput_ok": results[name]["windows_per_s"] >= target["throughput"], **target}
                for name, target in TARGETS.items()}
    print(table(results))
    print("\ntargets:", json.dumps(verdicts))
    RESULTS.mkdir(parents=True, exist_ok=True)
    document = {"machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                            "processor": platform.processor() or platform.machine(),
                            "load_average": os.getloadavg()},
                "model": package.describe(), "windows": len(windows), "design_document": DESIGN,
                "targets": verdicts, "results": results}
    (RESULTS / "inference.json").write_text(json.dumps(document, indent=2) + "\n")
    chart(results, RESULTS / "inference.png")
    print(f"wrote {RESULTS / 'inference.json'} and {RESULTS / 'inference.png'}")


if __name__ == "__main__":
    main()
