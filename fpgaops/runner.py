"""Run roles on hosts: plan -> (check: show the changes, stop) -> apply -> handlers -> recap.

A **Role** is a name, the hosts it applies to (an inventory pattern), a function giving a host's
operations and one giving its handlers.  Roles run one after the other, each on all its hosts in
parallel (``forks`` threads); a host that fails or becomes unreachable stops there, the others
go on, and the run's exit code says whether every host succeeded.

For each host and role:

1. every fact the role's operations declare is read in **one** round trip (``core.batch_script``
   with a nonce, under sudo when any fact needs root), so a rerun with nothing to do costs one
   remote command per role and host; values are kept (``fact_cache.FactCache``) until a change is
   applied on the host, and facts the caller reads ahead (the later roles of a flow) come with the
   first reading, so a whole flow's no-op can cost one round trip per host;
2. each operation plans its Change from those values (an operation marked ``reread`` reads its
   facts again when an earlier step of the role changed something);
3. the Changes are applied together, when the role's steps are planned (or before a ``reread``
   step): uploads over SFTP, staged in the login user's home, then every change's commands in
   order, each preceded by the moves of its uploads (as root when the change runs as root),
   consecutive commands with the same privileges in one round trip, each in its own subshell so a
   failure names its command and step (the steps before it are done, those after it skipped); in
   check mode nothing is applied (and nothing that could mutate is sent);
4. handlers notified by a change run once, at the end of the role, in the order the role
   declares them; a later change that ``satisfies`` a handler (a service started after its
   configuration changed) takes back the notifications made before it.

Example::

    role = Role("motd", tasks=lambda host: [write_motd(host.vars["banner"])], hosts="f1")
    with ConnectionPool(hosts=inventory.hosts) as pool:
        result = run(inventory, [role], connect=pool.get, settings=RunSettings(check=True))
    raise SystemExit(result.exit_code)
"""

from __future__ import annotations

import re
import secrets
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console

from fpgaops.connection import BecomeFailed, Result, SshError, move_into_place
from fpgaops.core import Change, Command, Fact, FactError, Operation, Upload, batch_script, parse_batch
from fpgaops.fact_cache import FactCache
from fpgaops.inventory import Host, Inventory
from fpgaops.progress import RunDisplay
from fpgaops.recap import HostRecap, RunResult
from fpgaops.run_log import Masker, RunLog, new_log_path, secret_values

STEP_MARK = "@@fpgaops-step"  # the line a change script prints (on stderr) when one of its commands fails
DEFAULT_FORKS = 10
DEFAULT_LOG_DIR = Path(".fpgaops/logs")


class RemoteHost(Protocol):
    """What the runner needs of a connection (``connection.HostConnection``, or a test's fake)."""

    def run(self, shell: str, sudo: bool = False, stdin: bytes | None = None,
            on_stderr: Callable[[bytes], None] | None = None) -> Result: ...

    def stage(self, upload: Upload) -> str: ...


def no_handlers(host: Host) -> dict[str, Operation]:
    """The handlers of a role that has none."""
    return {}


@dataclass(frozen=True)
class Role:
    """A named list of operations per host, with the handlers they may notify.

    Args:
        name: what ``--tags`` selects the whole role by, and what the output shows.
        tasks: ``tasks(host) -> list[Operation]``, the host's steps in order (pure: reads only ``host``).
        handlers: ``handlers(host) -> {name: Operation}``, run at the end of the role when notified.
        hosts: the inventory pattern of the hosts the role applies to (``--limit`` narrows it).

    Example: ``Role("rhythm_service", tasks=service_steps, handlers=service_handlers, hosts="f1")``
    """

    name: str
    tasks: Callable[[Host], list[Operation]]
    handlers: Callable[[Host], dict[str, Operation]] = no_handlers
    hosts: str = "all"


@dataclass(frozen=True)
class RunSettings:
    """How to run: check/diff mode, which steps (tags) and hosts (limit), parallelism, output.

    Example: ``RunSettings(check=True, tags=frozenset({"env"}), limit="f1", forks=4)``
    """

    check: bool = False
    diff: bool = False
    tags: frozenset[str] = frozenset()
    limit: str = ""
    forks: int = DEFAULT_FORKS
    verbose: bool = False
    log_dir: Path = DEFAULT_LOG_DIR


class RunError(Exception):
    """A run that cannot start (no host selected, tags that match no step); the message says why."""


def selected_operations(role: Role, operations: Iterable[Operation], tags: frozenset[str]) -> list[Operation]:
    """The operations ``--tags`` selects: all when no tags or the role's name is a tag, else those sharing a tag."""
    if not tags or role.name in tags:
        return list(operations)
    return [operation for operation in operations if tags.intersection(operation.tags)]


def facts_of(operations: Iterable[Operation]) -> list[Fact]:
    """Every fact the operations declare, once each, in first-declared order."""
    return list(dict.fromkeys(fact for operation in operations for fact in operation.facts))


# --- change scripts ---------------------------------------------------------------------------


def command_segments(commands: Sequence[Command]) -> list[list[Command]]:
    """Commands grouped for one round trip each: consecutive, same privileges, at most one with stdin (alone)."""
    segments: list[list[Command]] = []
    for command in commands:
        last = segments[-1] if segments else None
        if (last is None or command.stdin is not None or last[-1].stdin is not None
                or last[-1].sudo != command.sudo):
            segments.append([command])
        else:
            last.append(command)
    return segments


def segment_script(commands: Sequence[Command], nonce: str) -> str:
    """One sh script running each command in a subshell, stopping at the first failure and naming it on stderr.

    Before each command it says on stderr which one starts (``StepWatcher`` follows them).
    """
    parts = []
    for index, command in enumerate(commands):
        parts.append(f"printf '{STEP_MARK} {nonce} start {index}\\n' >&2\n(\n{command.shell}\n)\nrc=$?; "
                     f"if [ $rc -ne 0 ]; then printf '\\n{STEP_MARK} {nonce} {index} %d\\n' $rc >&2; exit $rc; fi")
    return "\n".join(parts) + "\n"


def failed_command(stderr: str, nonce: str) -> tuple[int | None, str]:
    """(index of the command that failed or None, stderr without the script's marker lines)."""
    mark = f"{re.escape(STEP_MARK)} {re.escape(nonce)}"
    stderr = re.sub(rf"{mark} start \d+\n", "", stderr)
    match = re.search(rf"\n?{mark} (\d+) \d+\n", stderr)
    if match is None:
        return None, stderr
    return int(match.group(1)), stderr[: match.start()] + stderr[match.end():]


class StepWatcher:
    """Follows a segment script's stderr as it arrives and calls ``started(index)`` as each command starts."""

    def __init__(self, nonce: str, started: Callable[[int], None]) -> None:
        self.pattern = re.compile(rf"{re.escape(STEP_MARK)} {re.escape(nonce)} start (\d+)\n".encode())
        self.started = started
        self.buffer = b""

    def __call__(self, piece: bytes) -> None:
        self.buffer += piece
        end = 0
        for match in self.pattern.finditer(self.buffer):
            self.started(int(match.group(1)))
            end = match.end()
        self.buffer = self.buffer[end:][-200:]  # a marker cut in two finishes in the next piece



# --- one host ---------------------------------------------------------------------------------


class _StepFailed(Exception):
    """A step failed on a host: what happened, where (role › step), and the output to show.

    ``position``: which command of the script failed (when a script of several commands did).
    """

    def __init__(self, message: str, where: str, output: str = "", position: int | None = None) -> None:
        super().__init__(message)
        self.where = where
        self.output = output
        self.position = position


@dataclass
class _RolePlan:
    """A role's selected operations and its handlers, for one host."""

    role: Role
    operations: list[Operation]
    handlers: dict[str, Operation] = field(default_factory=dict)


class _HostRun:
    """Runs the roles of one host, keeps its recap; everything it prints and logs is masked."""

    def __init__(self, host: Host, connect: Callable[[Host], RemoteHost], settings: RunSettings,
                 display: RunDisplay, log: RunLog, recap: HostRecap, facts: FactCache) -> None:
        self.host = host
        self.facts = facts
        self.name = host.name
        self.connect = connect
        self.settings = settings
        self.display = display
        self.log = log
        self.recap = recap
        self._connection: RemoteHost | None = None
        self._pending = 0  # steps of the current role not started yet
        self._where = ""  # the step under way, for errors raised outside a step's own checks
        self._queued: list[tuple[str, Change | None]] = []  # planned steps not applied yet (None: ok)

    # the role

    def run_role(self, plan: _RolePlan) -> None:
        """Run one role on this host, recording the outcome; never raises."""
        if self.recap.stopped:
            self.recap.skipped += len(plan.operations)
            return
        started = time.monotonic()
        self._pending = len(plan.operations)
        self._queued = []
        self.display.start_host(self.name)
        self._where = f"{plan.role.name} › connecting"
        try:
            self._role(plan)
        except BecomeFailed as err:
            self._fail(self._where, str(err))
        except SshError as err:
            self.recap.unreachable = 1
            self.recap.error = f"{self._where}: {err}"
            self.display.unreachable(self.name, self._where, str(err))
            self.log.write(self.name, f"{self._where}: UNREACHABLE: {err}")
        except _StepFailed as err:
            self._fail(err.where, str(err), err.output)
        except Exception as err:  # a bug in an operation or in the engine: this host stops, the run goes on
            self.log.write(self.name, f"{self._where}: internal error\n{traceback.format_exc()}")
            self._fail(self._where, f"internal error: {type(err).__name__}: {err} (traceback in the log)")
        finally:
            self.recap.skipped += self._pending if self.recap.stopped else 0
            self._pending = 0
            self.recap.seconds += time.monotonic() - started
            self.display.end_host(self.name)

    def fail_before_start(self, reason: str) -> None:
        """Mark the host failed before anything ran on it (its steps could not be listed)."""
        self._fail("planning", reason)

    def _fail(self, where: str, message: str, output: str = "") -> None:
        self.recap.failed = 1
        self.recap.error = f"{where}: {message}"
        self.display.failed(self.name, where, message, output)
        self.log.write(self.name, f"{where}: FAILED: {message}")

    def _role(self, plan: _RolePlan) -> None:
        role = plan.role.name
        for operation in plan.operations:
            self._check_handlers(plan, f"{role} › {operation.description}", operation.notify)
        if plan.operations:
            self._connect()  # where = "connecting" until it is open
        self.display.step(self.name, role, "reading facts")
        self._where = f"{role} › reading facts"
        values = self._read(role, facts_of(plan.operations))
        changed = False
        notified: list[str] = []
        for operation in plan.operations:
            where = self._where = f"{role} › {operation.description}"
            self.display.step(self.name, role, operation.description)
            reread = operation.reread and changed and not self.settings.check
            if reread:
                self._apply_queued()  # first: the changes it must see (their failure skips this step)
            self._pending -= 1
            if reread:
                values = {**values, **self._read(where, list(operation.facts), fresh=True)}
            change = self._plan(where, operation, values)
            if change is None:
                self._ok(where)
                continue
            self._check_handlers(plan, where, change.notify)
            self._change(where, change)
            changed = True
            notified = [name for name in notified if name not in change.satisfies]  # e.g. started: no restart
            notified += [name for name in (*operation.notify, *change.notify) if name not in notified]
        self._apply_queued()
        self._handlers(plan, notified)

    @staticmethod
    def _check_handlers(plan: _RolePlan, where: str, names: Iterable[str]) -> None:
        unknown = [name for name in names if name not in plan.handlers]
        if unknown:
            known = ", ".join(plan.handlers) or "none"
            raise _StepFailed(f"notifies {', '.join(map(repr, unknown))}, but role {plan.role.name} has no "
                              f"handler of that name (its handlers: {known})", where)

    def _handlers(self, plan: _RolePlan, notified: list[str]) -> None:
        """Run each notified handler once, in the order the role declares them."""
        names = [name for name in plan.handlers if name in notified]
        if not names:
            return
        role = plan.role.name
        self.display.step(self.name, role, "handlers")
        self._where = f"{role} › reading the handlers' facts"
        values = self._read(f"{role} › handlers", facts_of(plan.handlers[name] for name in names))
        for name in names:
            where = self._where = f"{role} › handler {name}"
            self.display.step(self.name, role, f"handler {name}")
            change = self._plan(where, plan.handlers[name], values)
            if change is None:
                self._ok(where)
            else:
                self._change(where, change)
        self._apply_queued()

    # steps

    def _plan(self, where: str, operation: Operation, values: dict[Fact, Any]) -> Change | None:
        try:
            return operation.plan({fact: values[fact] for fact in operation.facts})
        except Exception as err:
            self.log.write(self.name, f"{where}: planning failed\n{traceback.format_exc()}")
            raise _StepFailed(f"{type(err).__name__}: {err}", where) from None

    def _ok(self, where: str) -> None:
        """A step with nothing to do: shown after the changes planned before it are applied."""
        if self._queued:
            self._queued.append((where, None))
        else:
            self._report(where, None)

    def _change(self, where: str, change: Change) -> None:
        """Queue a change (check mode: show it at once, apply nothing)."""
        self.log.write(self.name, f"{where}: {'would change' if self.settings.check else 'changing'}: "
                                  f"{change.description}" + (f"\n{change.diff}" if change.diff else ""))
        if self.settings.check:
            self._report(where, change)
        else:
            self._queued.append((where, change))

    def _report(self, where: str, change: Change | None) -> None:
        """Count and show a step done: ok, or changed (a change that only waits or reads is ok)."""
        self.recap.ok += 1
        if change is None or (not change.uploads and not any(command.mutating for command in change.commands)):
            self.display.ok(self.name, where)
            self.log.write(self.name, f"{where}: ok")
            return
        self.display.changed(self.name, where, change)
        self.recap.changed += 1

    def _apply_queued(self) -> None:
        """Apply the queued changes in as few round trips as the commands allow, then report each step.

        Every upload is staged first; then every change's commands in order, each change's own
        preceded by the moves of its uploads, consecutive same-privilege commands in one script.  A
        failed command (or upload) fails its step; the steps queued before it are done, those after
        it skipped.
        """
        queued, self._queued = self._queued, []
        failure: tuple[int, _StepFailed] | None = None
        changes = [where for where, change in queued if change]
        if changes:
            self.facts.forget(self.name)
            self._show(changes[0], f"applying {len(changes)} change(s)")
            connection = self._connect()
            commands: list[Command] = []
            owners: list[int] = []  # the queued step of each command
            for index, (where, change) in enumerate(queued):
                if change is None:
                    continue
                try:
                    mine = self._staged(where, connection, change)
                except _StepFailed as err:  # the steps before it still run (and may fail first)
                    failure = (index, err)
                    break
                commands += mine
                owners += [index] * len(mine)
            failure = self._run_commands(queued, commands, owners, connection) or failure
        done = failure[0] if failure else len(queued)
        for where, change in queued[:done]:
            self._report(where, change)
        if failure:
            self._pending += len(queued) - done - 1
            raise failure[1]

    def _staged(self, where: str, connection: RemoteHost, change: Change) -> list[Command]:
        """Stage a change's uploads (SFTP); its commands, preceded by the moves of the staged files."""
        sudo = any(command.sudo for command in change.commands)
        return [Command(move_into_place(self._stage(where, connection, upload), upload.remote_path), sudo=sudo)
                for upload in change.uploads] + list(change.commands)

    def _show(self, where: str, what: str | None = None) -> None:
        """Put the step ``where`` names (``role › step``), or ``what`` in its role, on the host's live line."""
        role, _, step = where.partition(" › ")
        self.display.step(self.name, role, what or step)

    def _run_commands(self, queued: list[tuple[str, Change | None]], commands: list[Command], owners: list[int],
                      connection: RemoteHost) -> tuple[int, _StepFailed] | None:
        """Run the queued steps' commands segment by segment: None, or the failed step's index and error."""
        start = 0
        for segment in command_segments(commands):
            wheres = [queued[owner][0] for owner in owners[start:start + len(segment)]]
            try:
                self._run_segment(wheres, connection, segment)
            except _StepFailed as err:
                return owners[start + (err.position or 0)], err
            start += len(segment)
        return None

    def _stage(self, where: str, connection: RemoteHost, upload: Upload) -> str:
        """Stage one upload (its path on the host); a failure fails the step."""
        self.log.write(self.name, f"{where}: upload {upload.remote_path}")
        try:
            return connection.stage(upload)
        except OSError as err:
            raise _StepFailed(f"upload failed: {err}", where) from None

    def _run_segment(self, wheres: list[str], connection: RemoteHost, commands: list[Command]) -> None:
        """One round trip for ``commands`` (``wheres``: the step of each); _StepFailed names the failed one."""
        nonce = secrets.token_hex(6)
        sudo = commands[0].sudo
        for where, command in zip(wheres, commands, strict=True):
            self.display.command(self.name, command.shell, sudo)
            self.log.write(self.name, f"{where}: {'#' if sudo else '$'} {command.shell}")
        shown = ""

        def follow(index: int) -> None:  # the live line moves to each step as its first command starts
            nonlocal shown
            if wheres[index] != shown:
                shown = wheres[index]
                self._show(shown)

        result = self._run(connection, segment_script(commands, nonce), sudo, commands[-1].stdin,
                           StepWatcher(nonce, follow))
        if result.ok:
            return
        index, stderr = failed_command(result.stderr, nonce)
        position = index if index is not None else len(commands) - 1
        failed, where = commands[position], wheres[position]
        how = "was killed by a signal" if result.exit_code < 0 else f"exited with status {result.exit_code}"
        first_line = failed.shell.strip().split("\n")[0]
        self.log.output(self.name, f"{where}: the failed command: {failed.shell}", result.stdout, stderr)
        raise _StepFailed(f"command {how}: {first_line[:100]}", where, result.stdout.rstrip() + "\n" + stderr,
                          position)

    def _read(self, where: str, facts: list[Fact], fresh: bool = False) -> dict[Fact, Any]:
        """Every fact's value: those not known yet (all when ``fresh``) and those read ahead in one round trip
        (as root when any needs it)."""
        reading = self.facts.to_read(self.name, facts, fresh)
        if reading:
            nonce = secrets.token_hex(8)
            sudo = any(fact.needs_root for fact in reading)
            result = self._run(self._connect(), batch_script(reading, nonce), sudo, None)
            try:
                values = parse_batch(reading, result.stdout, nonce, optional=set(reading).difference(facts))
            except FactError as err:
                self.log.output(self.name, f"{where}: reading facts failed: {err}", result.stdout, result.stderr)
                raise _StepFailed(f"reading facts: {err}", f"{where} › reading facts", result.stderr) from None
            self.facts.keep(self.name, values)
        return self.facts.values(self.name, facts)

    def _run(self, connection: RemoteHost, shell: str, sudo: bool, stdin: bytes | None,
             on_stderr: Callable[[bytes], None] | None = None) -> Result:
        self.recap.commands_run += 1
        return connection.run(shell, sudo=sudo, stdin=stdin, on_stderr=on_stderr)

    def _connect(self) -> RemoteHost:
        if self._connection is None:
            self._connection = self.connect(self.host)
        return self._connection


# --- the run ----------------------------------------------------------------------------------


@dataclass
class _Plans:
    """Each (role, host)'s selected steps, the hosts whose steps could not be listed (why), every tag seen."""

    steps: dict[tuple[str, str], _RolePlan] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)


def _plan_all(roles: Sequence[Role], hosts_of: dict[str, list[Host]], tags: frozenset[str]) -> _Plans:
    plans = _Plans()
    for role in roles:
        for host in hosts_of[role.name]:
            try:
                operations = role.tasks(host)
                selected = selected_operations(role, operations, tags)
                handlers = role.handlers(host) if selected else {}
            except Exception as err:  # e.g. a template with a missing variable: nothing touched yet
                plans.broken.setdefault(host.name, f"{role.name}: cannot list its steps: {type(err).__name__}: {err}")
                continue
            plans.tags.update(tag for operation in operations for tag in operation.tags)
            plans.steps[role.name, host.name] = _RolePlan(role, selected, handlers)
    return plans


def _hosts_of(inventory: Inventory, roles: Sequence[Role], limit: str) -> dict[str, list[Host]]:
    """Each role's hosts: its pattern's, narrowed by ``limit`` (InventoryError for a bad pattern)."""
    limited = {host.name for host in inventory.select(limit)}
    return {role.name: [host for host in inventory.select(role.hosts) if host.name in limited] for role in roles}


def read_ahead(facts: FactCache, inventory: Inventory, roles: Sequence[Role], settings: RunSettings) -> None:
    """Have the next reading on each host also read the facts of the steps ``roles`` will run there (as ``run``
    selects them: limit, tags); a host whose steps cannot be listed yet is left to ``run`` to report.

    Example: ``read_ahead(cache, inventory, [service_role], settings)``, then ``run(..., facts=cache)`` of an
    earlier role reads the service's facts in its own round trip.
    """
    plans = _plan_all(roles, _hosts_of(inventory, roles, settings.limit), settings.tags)
    for (_, host), plan in plans.steps.items():
        facts.read_ahead(host, facts_of(plan.operations))


def run(inventory: Inventory, roles: Sequence[Role], connect: Callable[[Host], RemoteHost],
        settings: RunSettings = RunSettings(), console: Console | None = None,
        facts: FactCache | None = None) -> RunResult:
    """Run ``roles`` (in order, each on its hosts in parallel) and return the outcome per host.

    Args:
        inventory: the hosts and their variables.
        roles: what to run, in order; ``Role.hosts`` and ``settings.limit`` choose the hosts.
        connect: ``connect(host)`` gives the host's connection (``ConnectionPool.get``), called
            lazily, once per host, from the host's worker thread.
        settings: check/diff mode, tags, limit, forks, verbosity, where the log goes.
        console: where to print (a rich Console; the terminal by default).
        facts: the fact values and read-ahead of a flow of several runs (a new FactCache by default).

    Raises RunError (or InventoryError for a bad limit) before anything is touched.

    Example: ``run(inventory, [role], pool.get, RunSettings(diff=True)).exit_code``
    """
    console = console or Console()
    hosts_of = _hosts_of(inventory, roles, settings.limit)
    hosts = [host for host in inventory.hosts.values() if any(host in chosen for chosen in hosts_of.values())]
    if not hosts:
        raise RunError(f"no host to run on: roles {', '.join(f'{r.name} ({r.hosts})' for r in roles)} "
                       f"with limit {settings.limit or '(none)'} select no host of the inventory")
    plans = _plan_all(roles, hosts_of, settings.tags)
    if settings.tags and not plans.broken and not any(plan.operations for plan in plans.steps.values()):
        raise RunError(f"--tags {','.join(sorted(settings.tags))}: no step has these tags and no role is named so "
                       f"(roles: {', '.join(role.name for role in roles)}; "
                       f"tags: {', '.join(sorted(plans.tags)) or 'none'})")
    mask = Masker(secret_values(host.vars for host in hosts))
    log = RunLog(new_log_path(settings.log_dir), mask)
    result = RunResult({host.name: HostRecap(host.name) for host in hosts}, log.path, settings.check)
    log.write("-", f"run: roles {', '.join(role.name for role in roles)} on {', '.join(h.name for h in hosts)}"
                   f"{' (check mode)' if settings.check else ''}")
    with RunDisplay(console, mask, check=settings.check, show_diff=settings.diff, verbose=settings.verbose) as display:
        facts = facts if facts is not None else FactCache()
        runs = {host.name: _HostRun(host, connect, settings, display, log, result.hosts[host.name], facts)
                for host in hosts}
        for name, reason in plans.broken.items():
            runs[name].fail_before_start(reason)
        with ThreadPoolExecutor(max_workers=max(1, settings.forks), thread_name_prefix="fpgaops-host") as workers:
            for role in roles:
                jobs = [(runs[host.name], plans.steps[role.name, host.name]) for host in hosts_of[role.name]
                        if (role.name, host.name) in plans.steps]
                list(workers.map(lambda job: job[0].run_role(job[1]), jobs))
        display.recap(result)
    for recap in result.hosts.values():
        log.write(recap.host, f"recap: ok={recap.ok} changed={recap.changed} failed={recap.failed} "
                              f"skipped={recap.skipped} unreachable={recap.unreachable} "
                              f"commands={recap.commands_run} seconds={recap.seconds:.2f}")
    return result
