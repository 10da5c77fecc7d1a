"""Facts about detached jobs started by ``jobs.job_started``: their state and the end of their log.

A job lives in ``<state_dir>/<name>/``: ``run.sh`` (the wrapper), ``command.sha256`` (what was
started), ``pid`` (written by the wrapper first), ``log`` (stdout and stderr), and ``exit_code``
(written by the wrapper when the command ends).
"""

from __future__ import annotations

from dataclasses import dataclass
from shlex import quote

from fpgaops.core import Fact

JOBS_DIR = "/var/lib/fpgaops/jobs"
_LOG_MARK = "--- log"

NOT_STARTED = "not-started"  # no state directory: never started on this host
RUNNING = "running"  # the pid is alive and is this job's wrapper (not a reused pid)
FINISHED = "finished"  # the wrapper recorded the command's exit code
LOST = "lost"  # no exit code and no live wrapper: killed, or the host rebooted


@dataclass(frozen=True)
class JobState:
    """A job's ``state`` (not-started, running, finished, lost), exit code when finished, log tail."""

    state: str
    exit_code: int | None = None
    pid: int | None = None
    command_sha256: str | None = None
    log_tail: str = ""


@dataclass(frozen=True)
class JobStatus(Fact[JobState]):
    """The state of the detached job ``job`` and the last ``tail_lines`` lines of its log.

    Read it again to follow a job (re-attaching is reading it again).
    Args: job: the job's name; state_dir: where jobs keep their state; tail_lines: log lines to return.
    Example: ``JobStatus("dcp-build")`` -> ``JobState(state="running", pid=4242, command_sha256="...", log_tail="...")``
    """

    name = "job_status"
    needs_root = True
    job: str
    state_dir: str = JOBS_DIR
    tail_lines: int = 20

    def command(self) -> str:
        return (
            f"d={quote(f'{self.state_dir}/{self.job}')}\n"
            f'[ -d "$d" ] || {{ echo state={NOT_STARTED}; exit 0; }}\n'
            'printf \'command_sha256=%s\\n\' "$(cat "$d/command.sha256" 2>/dev/null)"\n'
            '[ -f "$d/exit_code" ] && printf \'exit_code=%s\\n\' "$(cat "$d/exit_code")"\n'
            'pid=$(cat "$d/pid" 2>/dev/null)\n'
            "printf 'pid=%s\\n' \"$pid\"\n"
            "case \"$pid\" in ''|*[!0-9]*) ;; *)\n"
            '  tr \'\\0\' \' \' < "/proc/$pid/cmdline" | grep -qF -- "$d/run.sh" && echo alive=yes;; esac\n'
            f"echo '{_LOG_MARK}'\n"
            f'tail -n {int(self.tail_lines)} "$d/log" 2>/dev/null; true'
        )

    def process(self, output: str, status: int) -> JobState:
        head, _, log_tail = output.partition(f"{_LOG_MARK}\n")
        fields = dict(line.split("=", 1) for line in head.splitlines() if "=" in line)
        if fields.get("state") == NOT_STARTED:
            return JobState(state=NOT_STARTED)
        exit_code = int(fields["exit_code"]) if fields.get("exit_code", "").strip() else None
        if exit_code is not None:
            state = FINISHED
        elif fields.get("alive") == "yes":
            state = RUNNING
        else:
            state = LOST
        return JobState(state=state, exit_code=exit_code, pid=int(fields["pid"]) if fields.get("pid") else None,
                        command_sha256=fields.get("command_sha256") or None, log_tail=log_tail)
