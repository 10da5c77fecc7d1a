"""Load test: the real service under gunicorn, wrk on /health and /api/predict, 0 server errors, memory flat.

    .venv/bin/python bench/inference/load.py [--duration 10] [--connections 16] [--backends cpu csim]

For each backend (default ``cpu``; ``csim`` runs the hls4ml C emulation) it starts the service the
way the FPGA hosts do, ``gunicorn -c rhythm_service/gunicorn.conf.py rhythm_service.wsgi:app``
from the repository root (one gthread worker, the shipped settings), on 127.0.0.1 and a free port,
with MODEL_DIR = the CI model package and ERROR_GENERATOR_URL = a closed local port. Once /health
answers and the warm-up is logged, wrk (Debian package ``wrk``) loads it in phases, each after a
short unmeasured warm-up of the same request: GET /health, POST /api/predict with 1 window, POST
/api/predict with 64 windows (held-out test windows, ``normalised: true``). A thread samples the
worker's VmRSS every second.

Pass criteria (exit status 1 otherwise): every response of every phase is a 2xx (so 0 server
errors; a 4xx would mean a broken request), no socket error (connect, read, write, timeout), the
worker is never restarted, the access log holds no 5xx, and memory is flat: after the warm-ups the
worker's RSS grows by at most ``--max-growth-mb`` (5 MB) from the start of the first measured phase
to the end of the last one. Prints a table and writes ``bench/results/load.json``.

Only the gunicorn started here is signalled (its master's PID, then the worker's PID if it is
left over), on success, failure and Ctrl-C alike. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rhythm_service.model_package import ModelPackage  # noqa: E402
from tests.model_package import model_package_folder  # noqa: E402
from tests.rhythm_service.backend_helpers import held_out_windows  # noqa: E402
from tests.rhythm_service.service_helpers import free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results"
LUA = Path(__file__).with_name("load.lua")
APT_HINT = "wrk is not installed: apt-get install -y wrk (Debian package wrk 4.1; scripts/setup installs it)"
READY_LINES = ("warm-up: beat detection ready", "warm-up failed")
ACCESS_STATUS = re.compile(rb'HTTP/[0-9.]+" (\d{3}) ')
MB = 1024.0  # VmRSS is in kB


@dataclass(frozen=True)
class Phase:
    """One wrk run: a name, a path and the number of windows in the POST body (0: a GET)."""

    name: str
    path: str
    windows: int


PHASES = (Phase("GET /health", "/health", 0), Phase("POST /api/predict 1 window", "/api/predict", 1),
          Phase("POST /api/predict 64 windows", "/api/predict", 64))


# ---------------------------------------------------------------- the service under gunicorn


def rss_kb(pid: int) -> int | None:
    """VmRSS of ``pid`` in kB, or None once it is gone.

    Example: ``rss_kb(os.getpid())`` -> ``123456``.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return None


def children(pid: int) -> list[int]:
    """The PIDs whose parent is ``pid`` (from /proc/*/stat)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(stat.parent.name))
    return found


class GunicornService:
    """The rhythm service under gunicorn with its shipped config (context manager; ``url``, ``worker_pid``).

    Example::

        with GunicornService(package_folder, "cpu", folder) as service:
            urllib.request.urlopen(service.url + "/health")
    """

    def __init__(self, model_dir: Path, backend: str, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = folder / f"gunicorn-{backend}.out"  # accesslog = "-": one line per request
        self.error_log = folder / f"gunicorn-{backend}.err"
        self.env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port), "MODEL_DIR": str(model_dir),
                    "INFERENCE_BACKEND": backend, "ERROR_GENERATOR_URL": f"http://127.0.0.1:{free_port()}",
                    "LOG_LEVEL": "INFO"}
        self.command = [str(Path(sys.executable).with_name("gunicorn")), "-c", "rhythm_service/gunicorn.conf.py",
                        "rhythm_service.wsgi:app"]
        self.process: subprocess.Popen | None = None
        self.worker_pid = 0

    def __enter__(self) -> GunicornService:
        with open(self.access_log, "wb") as out, open(self.error_log, "wb") as err:
            # own session: a Ctrl-C on the terminal reaches this script, which then stops gunicorn in order
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=out, stderr=err,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            self._wait_ready(180.0)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service was not ready within {timeout_s:.0f} s:\n{self.log_tail()}")
            workers = children(self.process.pid)
            errors = self.error_log.read_text(errors="replace")
            if workers and any(line in errors for line in READY_LINES) and http_status(self.url + "/health") == 200:
                self.worker_pid = workers[0]
                return
            time.sleep(0.2)

    def workers(self) -> list[int]:
        """The master's worker PIDs right now."""
        return children(self.process.pid) if self.process else []

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of gunicorn's error log (the service's log)."""
        return "\n".join(self.error_log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM to the master (graceful), SIGKILL after 15 s; then the worker's PID if it outlived it."""
        if self.process is None or self.process.poll() is not None:
            return
        workers = self.workers()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pid in workers:
            try:
                if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)
            except (FileNotFoundError, ProcessLookupError):
                pass


def http_status(url: str, body: bytes | None = None) -> int | None:
    """The status of a GET (or a JSON POST of ``body``) to ``url``, or None when nothing answers."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"} if body else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


# ---------------------------------------------------------------- sampling memory


@dataclass
class RssSampler:
    """A thread that appends (monotonic time, worker PIDs, worker RSS kB) every ``interval_s``."""

    service: GunicornService
    interval_s: float = 1.0
    samples: list[tuple[float, tuple[int, ...], int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> int:
        """Take one sample now; the worker's RSS in kB (0 when it is gone)."""
        workers = tuple(self.service.workers())
        rss = rss_kb(self.service.worker_pid) or 0
        self.samples.append((time.monotonic(), workers, rss))
        return rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def between(self, start: float, end: float) -> list[int]:
        """The RSS samples (kB) taken from ``start`` to ``end`` (monotonic)."""
        return [rss for when, _, rss in self.samples if start <= when <= end]


# ---------------------------------------------------------------- wrk


def wrk_binary() -> str:
    """The path of wrk, or SystemExit with the apt line that installs it."""
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(APT_HINT)
    return path


def wrk_version(wrk: str) -> str:
    """wrk's version line, e.g. ``wrk debian/4.1.0-3+b2 [epoll]``."""
    result = subprocess.run([wrk, "-v"], capture_output=True, text=True, timeout=10)
    return (result.stdout + result.stderr).splitlines()[0].split(" Copyright")[0].strip()


def run_wrk(wrk: str, url: str, body_file: Path | None, seconds: int, threads: int, connections: int) -> dict:
    """One wrk run through load.lua: its JSON summary (requests, errors, statuses, latency_us) and the command."""
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "--latency",
               "-s", str(LUA), url]
    if body_file is not None:
        command += ["--", str(body_file)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    lines = [line for line in result.stdout.splitlines() if line.startswith("LOADJSON ")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stdout[-1500:]}{result.stderr[-1500:]}")
    summary = json.loads(lines[-1].removeprefix("LOADJSON "))
    shown = " ".join(command).replace(f"{ROOT}/", "")  # the JSON shows repository-relative paths
    summary["command"] = shown.replace(f"{body_file.parent}/", "") if body_file else shown
    return summary


def access_statuses(log: Path, start: int, end: int) -> dict[str, int]:
    """Responses by status class in gunicorn's access log between byte offsets ``start`` and ``end``."""
    with open(log, "rb") as handle:
        handle.seek(start)
        chunk = handle.read(end - start)
    counts: dict[str, int] = {}
    for status in ACCESS_STATUS.findall(chunk):
        key = f"{status[:1].decode()}xx"
        counts[key] = counts.get(key, 0) + 1
    return counts


# ---------------------------------------------------------------- one backend


def request_bodies(folder: Path, windows: list) -> dict[int, Path]:
    """JSON bodies for /api/predict, one file per window count of PHASES."""
    bodies = {}
    for phase in PHASES:
        if phase.windows:
            path = folder / f"predict-{phase.windows}.json"
            path.write_text(json.dumps({"windows": windows[: phase.windows], "normalised": True}))
            bodies[phase.windows] = path
    return bodies


def load_backend(backend: str, wrk: str, model_dir: Path, bodies: dict[int, Path], folder: Path,
                 args: argparse.Namespace) -> dict:
    """Start the service with ``backend``, warm it up, run every phase; the measurements and verdicts."""
    with GunicornService(model_dir, backend, folder) as service, RssSampler(service) as sampler:
        for windows, body in bodies.items():
            status = http_status(service.url + "/api/predict", body.read_bytes())
            if status != 200:
                raise RuntimeError(f"/api/predict with {windows} windows answered {status}:\n{service.log_tail()}")
        for phase in PHASES:  # warm-up: every request kind once under load, not measured
            run_wrk(wrk, service.url + phase.path, bodies.get(phase.windows), args.warm_up, args.threads,
                    args.connections)
        boot_rss = sampler.samples[0][2]
        phases = {}
        for phase in PHASES:
            offset = service.access_log.stat().st_size
            started, rss_start = time.monotonic(), sampler.sample()
            result = run_wrk(wrk, service.url + phase.path, bodies.get(phase.windows), args.duration, args.threads,
                             args.connections)
            ended, rss_end = time.monotonic(), sampler.sample()
            time.sleep(0.2)  # the last access log lines
            rss = sampler.between(started, ended)
            seconds = result["duration_us"] / 1e6
            phases[phase.name] = {
                "path": phase.path, "windows_per_request": phase.windows,
                "requests": result["requests"], "requests_per_s": result["requests"] / seconds,
                "windows_per_s": result["requests"] * phase.windows / seconds,
                "latency_ms": {key: value / 1000 for key, value in result["latency_us"].items()},
                "statuses": result["statuses"], "non_2xx_3xx": result["errors"]["status"],
                "socket_errors": {key: value for key, value in result["errors"].items() if key != "status"},
                "access_log_statuses": access_statuses(service.access_log, offset, service.access_log.stat().st_size),
                "rss_mb": {"start": rss_start / MB, "max": max(rss) / MB, "end": rss_end / MB,
                           "growth": (rss_end - rss_start) / MB},
                "wrk": result["command"],
            }
        workers = {pids for _, pids, _ in sampler.samples}
        health = json.loads(urllib.request.urlopen(service.url + "/health", timeout=10).read())
    first = phases[PHASES[0].name]["rss_mb"]["start"]
    last = phases[PHASES[-1].name]["rss_mb"]["end"]
    failures = verdicts(phases, workers, last - first, args.max_growth_mb)
    return {"backend": health.get("backend", backend), "gunicorn": " ".join(service.command),
            "worker_pids": sorted(pid for pids in workers for pid in pids),
            "rss_mb": {"after_boot": boot_rss / MB, "measured_start": first, "end": last, "growth": last - first},
            "phases": phases, "failures": failures, "ok": not failures}


def verdicts(phases: dict, workers: set, growth_mb: float, max_growth_mb: float) -> list[str]:
    """What failed the pass criteria (module docstring), one message each; empty when all passed."""
    failures = []
    for name, row in phases.items():
        bad = {key: value for key, value in row["statuses"].items() if key != "2xx" and value}
        if bad:
            failures.append(f"{name}: responses other than 2xx: {bad}")
        if row["non_2xx_3xx"]:
            failures.append(f"{name}: wrk counted {row['non_2xx_3xx']} non-2xx/3xx responses")
        errors = {key: value for key, value in row["socket_errors"].items() if value}
        if errors:
            failures.append(f"{name}: socket errors {errors}")
        if row["access_log_statuses"].get("5xx"):
            failures.append(f"{name}: {row['access_log_statuses']['5xx']} 5xx in gunicorn's access log")
        if row["statuses"].get("2xx", 0) == 0:
            failures.append(f"{name}: no successful response at all")
    if len(workers) != 1 or len(next(iter(workers))) != 1:
        failures.append(f"the worker was restarted or duplicated: worker PID sets seen {sorted(workers)}")
    if growth_mb > max_growth_mb:
        failures.append(f"memory not flat: the worker's RSS grew {growth_mb:.1f} MB over the measured phases "
                        f"(limit {max_growth_mb:g} MB)")
    return failures


# ---------------------------------------------------------------- report


def table(results: dict) -> str:
    """The measurements as a text table, one row per backend and phase."""
    header = (f"{'backend':8s} {'phase':30s} {'req/s':>8s} {'windows/s':>10s} {'p50 ms':>7s} {'p99 ms':>7s} "
              f"{'2xx':>8s} {'non-2xx':>7s} {'5xx':>4s} {'sock err':>8s}  {'RSS MB start/max/end (growth)':>30s}")
    lines = [header, "-" * len(header)]
    for backend, result in results.items():
        for name, row in result["phases"].items():
            rss = row["rss_mb"]
            lines.append(
                f"{backend:8s} {name:30s} {row['requests_per_s']:8,.0f} {row['windows_per_s']:10,.0f} "
                f"{row['latency_ms']['p50']:7.2f} {row['latency_ms']['p99']:7.2f} {row['statuses']['2xx']:8d} "
                f"{row['non_2xx_3xx']:7d} {row['statuses']['5xx']:4d} {sum(row['socket_errors'].values()):8d}  "
                f"{rss['start']:7.1f}/{rss['max']:6.1f}/{rss['end']:6.1f} ({rss['growth']:+.1f})")
        rss = result["rss_mb"]
        lines.append(f"{backend:8s} memory over the measured phases: {rss['measured_start']:.1f} -> "
                     f"{rss['end']:.1f} MB ({rss['growth']:+.1f} MB; after boot {rss['after_boot']:.1f} MB); "
                     f"{'PASS' if result['ok'] else 'FAIL: ' + '; '.join(result['failures'])}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=("cpu", "csim"), default=["cpu"],
                        help="INFERENCE_BACKEND of each run (default: cpu)")
    parser.add_argument("--duration", type=int, default=10, help="whole seconds of each measured phase (default 10)")
    parser.add_argument("--warm-up", type=int, default=3, help="whole seconds of unmeasured load per phase first")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--max-growth-mb", type=float, default=5.0,
                        help="largest RSS growth of the worker over the measured phases that still counts as flat")
    parser.add_argument("--output", type=Path, default=RESULTS / "load.json")
    args = parser.parse_args()
    for name in ("duration", "warm_up", "max_growth_mb"):
        if not getattr(args, name) > 0:
            parser.error(f"--{name.replace('_', '-')}: expected a positive number")
    if args.threads < 1 or args.connections < args.threads:
        parser.error("--threads must be >= 1 and --connections >= --threads (wrk needs a connection per thread)")
    wrk = wrk_binary()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a kill of this script still stops gunicorn
    package = ModelPackage.load(model_package_folder())
    windows = held_out_windows(package)[:64].tolist()
    results, load_before = {}, os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        bodies = request_bodies(Path(folder), windows)
        for backend in args.backends:
            print(f"{backend}: gunicorn + {len(PHASES)} phases of {args.duration:g} s "
                  f"(after {args.warm_up:g} s warm-up each), wrk -t{args.threads} -c{args.connections}", flush=True)
            results[backend] = load_backend(backend, wrk, package.folder, bodies, Path(folder), args)
    print(table(results))
    document = {
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "processor": platform.processor() or platform.machine(),
                    "load_average_before": load_before, "load_average_after": os.getloadavg()},
        "wrk": wrk_version(wrk), "model": package.describe(),
        "settings": {"duration_s": args.duration, "warm_up_s": args.warm_up, "threads": args.threads,
                     "connections": args.connections, "timeout_s": 5, "target": "127.0.0.1"},
        "criteria": {"responses": "every response 2xx: 0 5xx (wrk's Lua response hook and gunicorn's access log), "
                                  "0 socket errors (connect, read, write, timeout), the worker never restarted",
                     "memory_flat": f"worker VmRSS growth from the first measured phase's start to the last "
                                    f"one's end <= {args.max_growth_mb:g} MB, after {args.warm_up:g} s warm-up "
                                    f"of each request kind"},
        "results": results, "ok": all(result["ok"] for result in results.values()),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0 if document["ok"] else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: gunicorn was stopped on the way out
        print("interrupted: the service started here was stopped", file=sys.stderr)
        sys.exit(130)
