"""Detached long-running jobs (synthesis, DCP builds): started once, survive the SSH session, followed by facts.

A job lives in ``<state_dir>/<name>/`` (default /var/lib/fpgaops/jobs/<name>/): ``run.sh``
writes its pid to ``pid``, runs the command in ``workdir`` with output to ``log``, then writes
the command's exit status to ``exit_code``.  ``facts.JobStatus`` reads it as one of:
not-started, running (the pid is alive and is this job's run.sh), finished (exit code known), or
lost (neither: killed or rebooted).  Re-attaching to a job is reading ``JobStatus`` again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from shlex import quote

from fpgaops.core import Change, Operation
from fpgaops.facts import JOBS_DIR, JobStatus
from fpgaops.facts.jobs import FINISHED, RUNNING
from fpgaops.operations.operation import PlanError, absolute, as_root, declare
from fpgaops.operations.remote_file import write_text_command

__all__ = ["job_started"]

_JOB_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_START_WAIT_TENTHS = 50  # how long the start command waits for run.sh to write its pid


def job_started(
    name: str,
    shell: str,
    workdir: str,
    user: str = "root",
    *,
    state_dir: str = JOBS_DIR,
    tags: Iterable[str] = (),
    notify: Iterable[str] = (),
) -> Operation:
    """The job ``name`` started, detached (``setsid nohup``), unless it is running or finished with the same command.

    Starts when the job was never started, is lost, or finished a different command (same name,
    new shell/workdir/user).  A job running a different command is an error: wait for it or
    stop it first.  A finished job is not started again, whatever its exit code: read
    ``JobStatus`` for the outcome.
    Args:
        name: the job's name (letters, digits, ``_.-``); shell: the POSIX sh command;
        workdir: absolute directory it runs in; user: the account it runs as (via ``runuser``);
        state_dir: where jobs keep their state.  tags, notify: as for ``files.file``.
    Example: ``job_started("dcp-build", "./build_dcp.sh -strategy DEFAULT", "/home/centos/build", user="centos")``
    """
    if not _JOB_NAME.fullmatch(name):
        raise ValueError(f"job name {name!r}: use letters, digits, '_', '.', '-'")
    workdir = absolute(workdir)
    job_dir = f"{absolute(state_dir)}/{name}"
    command_sha256 = hashlib.sha256(json.dumps([shell, workdir, user]).encode()).hexdigest()
    status = JobStatus(name, state_dir)

    def path(file_name: str) -> str:
        return quote(f"{job_dir}/{file_name}")

    run_script = (f"echo $$ > {path('pid')}\n"
                  f"cd {quote(workdir)} && sh -c {quote(shell)}\n"
                  f"echo $? > {path('exit_code.tmp')} && mv -f {path('exit_code.tmp')} {path('exit_code')}\n")
    run_as = "" if user == "root" else f"runuser -u {quote(user)} -- "
    owned = "" if user == "root" else f" && chown {quote(user)} {quote(job_dir)}"

    def plan(values) -> Change | None:
        job = values[status]
        if job.state == RUNNING and job.command_sha256 != command_sha256:
            raise PlanError(f"job {name} is running another command (pid {job.pid}): wait for it or stop it first")
        if job.state in (RUNNING, FINISHED) and job.command_sha256 == command_sha256:
            return None
        return Change(description=f"start job {name} ({job.state} before)", commands=(
            as_root(f"mkdir -p {quote(job_dir)} && rm -f {path('pid')} {path('exit_code')} {path('log')}"
                    f"{owned} && chmod 0700 {quote(job_dir)}"),
            as_root(write_text_command(f"{job_dir}/run.sh", run_script)),
            as_root(write_text_command(f"{job_dir}/command.sha256", f"{command_sha256}\n")),
            as_root(f"setsid nohup {run_as}sh {path('run.sh')} > {path('log')} 2>&1 < /dev/null &"
                    f" i=0; while [ ! -s {path('pid')} ] && [ $i -lt {_START_WAIT_TENTHS} ];"
                    " do sleep 0.1; i=$((i + 1)); done;"
                    f" [ -s {path('pid')} ] || {{ echo {quote(f'job {name} did not start: see {job_dir}/log')} >&2;"
                    " exit 1; }"),
        ))

    return declare(f"job {name} started", [status], plan, tags=tags, notify=notify)
