"""The benchmark's deployment as a fab task, run as a user runs a role-running task:

    BENCH_ARTIFACT=/path/model.bin .venv/bin/fab -r bench/engine deploy --inventory INV --limit b01,b02 --forks 16

``deploy`` takes the common options of every role-running task (``fpgaops.cli_options``) and runs
one shared connection per host, as ``fab deploy`` of the project will.  When ``BENCH_COUNTS``
names a file, the remote commands (SSH exec requests, from the connection pool), the file
transfers (SFTP uploads) and the recap counts per host are written there as JSON when the
process exits, with the seconds spent from the task's start (its imports and fab's excluded).
``BENCH_LOG_DIR`` puts the run's log there instead of .fpgaops/logs.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
from pathlib import Path

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # fab puts only bench/engine on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.engine import deployment
from fpgaops import cli_options
from fpgaops.cli_options import invocation_pool, roles_task
from fpgaops.connection import HostConnection

_transfers: dict[str, int] = {}
_recaps: dict[str, dict] = {}


def _keep_recaps() -> None:
    """Keep each host's recap counts of the run (``run_roles`` returns only the exit code)."""
    run = cli_options.run

    def run_and_keep(*args, **kwargs):
        result = run(*args, **kwargs)
        _recaps.update({name: {"ok": recap.ok, "changed": recap.changed, "failed": recap.failed,
                               "unreachable": recap.unreachable, "error": recap.error}
                        for name, recap in result.hosts.items()})
        return result

    cli_options.run = run_and_keep


def _count_transfers() -> None:
    """Count uploads per host by wrapping the connection's two upload methods."""
    for name in ("stage", "put"):
        upload = getattr(HostConnection, name)

        def counted(self, *args, _upload=upload, **kwargs):
            _transfers[self.target.name] = _transfers.get(self.target.name, 0) + 1
            return _upload(self, *args, **kwargs)

        setattr(HostConnection, name, counted)


def _counts_at_exit(path: Path, started: float) -> None:
    pool = invocation_pool()  # made now, so its close (registered at exit) runs after the counts are read
    commands: dict[str, int] = {}

    def write() -> None:
        commands.update(pool.commands_run())
        path.write_text(json.dumps({"engine_s": time.perf_counter() - started,
                                    "hosts": {name: {"commands": commands.get(name, 0),
                                                     "transfers": _transfers.get(name, 0), **recap}
                                              for name, recap in _recaps.items()}}, indent=2) + "\n")

    atexit.register(write)


def _roles():
    if os.environ.get("BENCH_LOG_DIR"):  # the run logs of a benchmark go with its other scratch files
        cli_options.LOG_DIR = Path(os.environ["BENCH_LOG_DIR"])
    if os.environ.get("BENCH_COUNTS"):
        _count_transfers()
        _keep_recaps()
        _counts_at_exit(Path(os.environ["BENCH_COUNTS"]), time.perf_counter())
    return [deployment.role(os.environ["BENCH_ARTIFACT"])]


deploy = roles_task(_roles, name="deploy", doc="The engine benchmark's 15-step deployment (BENCH_ARTIFACT: its 5 MB "
                                                "artifact).")
