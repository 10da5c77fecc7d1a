"""The runner without SSH: planning, check mode, handlers, tags, limit, failures, recap, masking, options.

A ``LocalHost`` stands in for a connection: it runs each command with ``sh -c`` on this machine
(sudo ignored), in a directory of its own per host, and records what it ran.  The facts and
operations are the tests' own (a file's text, an atomic write-file), so the runner is tested on
nothing but ``core``'s types; the integration tests import them too.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import posixpath
import subprocess
from dataclasses import dataclass
from pathlib import Path
from shlex import quote

import pytest
from rich.console import Console

from fpgaops.cli_options import OptionError, RunOptions, choose_inventory, parse_extra_vars
from fpgaops.connection import HostUnreachable, Result
from fpgaops.core import FACT_MARK, Change, Command, Fact, Operation, Upload
from fpgaops.fact_cache import FactCache
from fpgaops.inventory import Host, Inventory
from fpgaops.progress import RunDisplay
from fpgaops.recap import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, RunResult, recap_table
from fpgaops.run_log import MASK, Masker, secret_values
from fpgaops.runner import (
    STEP_MARK,
    Role,
    RunError,
    RunSettings,
    command_segments,
    failed_command,
    read_ahead,
    run,
    segment_script,
    selected_operations,
)

TEMP_TAG = ".fpgaops-tmp-"  # the operations' temporary files: `.<name>.fpgaops-tmp-<sha>`


# --- the tests' own facts and operations (also used by the integration tests) --------------------


@dataclass(frozen=True)
class FileText(Fact["str | None"]):
    """A file's text, or None when there is no such file."""

    name = "file_text"
    path: str

    def command(self) -> str:
        return f"cat {quote(self.path)}"

    def process(self, output: str, status: int) -> str | None:
        return output if status == 0 else None


@dataclass(frozen=True)
class RootFileText(FileText):
    """A file's text, read as root."""

    name = "root_file_text"
    needs_root = True


def temp_name(path: str, text: str) -> str:
    directory, name = posixpath.split(path)
    return posixpath.join(directory, f".{name}{TEMP_TAG}{hashlib.sha256(text.encode()).hexdigest()[:16]}")


def write_file(path: str, text: str, *, root: bool = False, tags: tuple[str, ...] = (),
               notify: tuple[str, ...] = (), reread: bool = False, before: str = "") -> Operation:
    """Make ``path`` hold ``text``: upload to a temporary name beside it, then rename (atomic).

    ``before`` is a command run first (the tests use a sleep to interrupt an apply midway).
    """
    fact = RootFileText(path) if root else FileText(path)

    def plan(values):
        current = values[fact]
        if current == text:
            return None
        temp = temp_name(path, text)
        diff = "".join(difflib.unified_diff((current or "").splitlines(True), text.splitlines(True),
                                            f"a{path}", f"b{path}"))
        commands = [Command(before, sudo=root)] if before else []
        owner = f"chown 0:0 {quote(temp)} && " if root else ""
        commands.append(Command(f"{owner}chmod 644 {quote(temp)} && mv -f {quote(temp)} {quote(path)}", sudo=root))
        return Change(f"write {path}", commands=tuple(commands), uploads=(Upload(temp, content=text.encode()),),
                      diff=diff, notify=notify)

    return Operation(f"write {path}", (fact,), plan, notify=notify, tags=tags, reread=reread)


def shell_step(description: str, shell: str, *, root: bool = False, tags: tuple[str, ...] = (),
               notify: tuple[str, ...] = (), stdin: bytes | None = None) -> Operation:
    """A step that always runs ``shell`` (a handler, or a step made to fail)."""
    command = Command(shell, sudo=root, stdin=stdin)
    return Operation(description, (), lambda values: Change(description, commands=(command,), notify=notify),
                     notify=notify, tags=tags)


# --- a connection that runs locally ----------------------------------------------------------


class LocalHost:
    """Runs commands on this machine with ``sh -c`` (as if root), recording them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging = root / "stage"
        self.staging.mkdir(parents=True, exist_ok=True)
        self.commands: list[tuple[str, bool]] = []
        self.uploads: list[str] = []

    @property
    def commands_run(self) -> int:
        return len(self.commands)

    def run(self, shell: str, sudo: bool = False, stdin: bytes | None = None, on_stderr=None) -> Result:
        self.commands.append((shell, sudo))
        done = subprocess.run(["sh", "-c", shell], input=stdin or b"", capture_output=True)
        if on_stderr is not None:  # in two pieces, cut inside the first marker line if there is one
            on_stderr(done.stderr[:20])
            on_stderr(done.stderr[20:])
        return Result(done.stdout.decode(), done.stderr.decode(), done.returncode)

    def stage(self, upload: Upload) -> str:
        staged = self.staging / Path(upload.remote_path).name
        staged.write_bytes(upload.content or b"")
        self.uploads.append(upload.remote_path)
        return str(staged)

    def mutating_commands(self) -> list[str]:
        return [shell for shell, _ in self.commands if FACT_MARK not in shell]


class LocalHosts:
    """One LocalHost per inventory host, each with its own directory; `connect` for the runner."""

    def __init__(self, base: Path, unreachable: tuple[str, ...] = ()) -> None:
        self.base = base
        self.unreachable = unreachable
        self.hosts: dict[str, LocalHost] = {}

    def dir(self, name: str) -> Path:
        return self.base / name

    def connect(self, host: Host) -> LocalHost:
        if host.name in self.unreachable:
            raise HostUnreachable(host.name, f"{host.name} ({host.address}:22) is unreachable: no route")
        return self.hosts.setdefault(host.name, LocalHost(self.dir(host.name)))


def inventory_of(*names: str, **host_vars) -> Inventory:
    return Inventory.from_dict({"all": {"children": {"f1": {"hosts": {name: dict(host_vars) for name in names}}}}})


@pytest.fixture
def local(tmp_path):
    return LocalHosts(tmp_path / "hosts")


def go(inventory, roles, local, tmp_path, **settings) -> tuple[RunResult, str]:
    """Run, capturing what is printed."""
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    result = run(inventory, roles, local.connect, RunSettings(log_dir=tmp_path / "logs", **settings), console)
    return result, out.getvalue()


def files_role(local: LocalHosts, contents: dict[str, str], **role) -> Role:
    def tasks(host):
        return [write_file(str(local.dir(host.name) / name), text) for name, text in contents.items()]

    return Role("files", tasks, **role)


# --- plan and apply --------------------------------------------------------------------------


def test_a_role_applied_twice_changes_nothing_the_second_time_in_one_round_trip(local, tmp_path):
    inventory = inventory_of("a", "b")
    role = files_role(local, {f"f{i}": f"text {i}\n" for i in range(15)})
    first, _ = go(inventory, [role], local, tmp_path)
    assert first.exit_code == EXIT_OK
    assert [(r.ok, r.changed) for r in first.hosts.values()] == [(15, 15), (15, 15)]
    assert (local.dir("a") / "f3").read_text() == "text 3\n"

    before = {name: host.commands_run for name, host in local.hosts.items()}
    second, _ = go(inventory, [role], local, tmp_path)
    assert [(r.ok, r.changed) for r in second.hosts.values()] == [(15, 0), (15, 0)]
    assert {name: host.commands_run - before[name] for name, host in local.hosts.items()} == {"a": 1, "b": 1}
    assert [r.commands_run for r in second.hosts.values()] == [1, 1]


def test_commands_of_a_change_go_in_one_round_trip_and_a_failure_names_its_command(tmp_path):
    commands = [Command("echo one"), Command("echo two; exit 3"), Command("echo never")]
    nonce = "n0"
    done = subprocess.run(["sh", "-c", segment_script(commands, nonce)], capture_output=True, text=True)
    assert done.returncode == 3 and done.stdout == "one\ntwo\n"
    assert failed_command(done.stderr, nonce) == (1, "")


def test_commands_are_grouped_by_privilege_and_stdin():
    a, b = Command("a"), Command("b")
    root, fed = Command("r", sudo=True), Command("f", stdin=b"x")
    assert command_segments([a, b, root, root, fed, a]) == [[a, b], [root, root], [fed], [a]]


def test_an_exit_inside_a_command_stops_only_that_command():
    script = segment_script([Command("true || exit 1; exit 0"), Command("echo after")], "n")
    assert subprocess.run(["sh", "-c", script], capture_output=True, text=True).stdout == "after\n"


def test_the_changes_of_a_role_go_in_one_round_trip_when_they_can(local, tmp_path):
    contents = {f"f{i}": f"text {i}\n" for i in range(15)}
    role = Role("root files", lambda host: [write_file(str(local.dir(host.name) / name), text, root=True)
                                            for name, text in contents.items()])
    result, _ = go(inventory_of("a"), [role], local, tmp_path)
    recap = result.hosts["a"]
    assert (recap.ok, recap.changed, recap.commands_run) == (15, 15, 2)  # the facts, then every change
    assert len(local.hosts["a"].mutating_commands()) == 1
    assert all((local.dir("a") / name).read_text() == text for name, text in contents.items())


def test_a_change_written_straight_in_place_waits_for_the_steps_before_it(local, tmp_path):
    folder = local.dir("a") / "made-by-step-1"
    role = Role("r", lambda host: [shell_step("make the folder", f"mkdir -p {folder}"),
                                   write_file(str(folder / "f"), "x\n")])  # uploaded by the login user
    result, _ = go(inventory_of("a"), [role], local, tmp_path)
    assert result.exit_code == EXIT_OK and (folder / "f").read_text() == "x\n"


def test_a_failed_command_in_a_batch_fails_its_step_the_ones_before_are_done_the_ones_after_skipped(local,
                                                                                                 tmp_path):
    folder = local.dir("a")

    def tasks(host):
        return [write_file(str(folder / "before"), "1\n", root=True),
                shell_step("breaks", "echo broken >&2; exit 4", root=True),
                write_file(str(folder / "after"), "3\n", root=True)]

    result, shown = go(inventory_of("a"), [Role("r", tasks)], local, tmp_path)
    recap = result.hosts["a"]
    assert (recap.ok, recap.changed, recap.failed, recap.skipped) == (1, 1, 1, 1)
    assert "r › breaks" in shown and "exited with status 4" in shown and "broken" in shown
    assert (folder / "before").read_text() == "1\n" and not (folder / "after").exists()

    fixed = Role("r", lambda host: [tasks(host)[0], tasks(host)[2]])
    again, _ = go(inventory_of("a"), [fixed], local, tmp_path)
    assert (again.hosts["a"].ok, again.hosts["a"].changed) == (2, 1)
    assert (folder / "after").read_text() == "3\n"
    assert not list(local.hosts["a"].staging.iterdir())  # nothing left staged


def test_a_failed_upload_fails_its_step_after_the_steps_before_it_ran(local, tmp_path):
    folder = local.dir("a")
    host = local.connect(inventory_of("a").hosts["a"])
    stage = host.stage

    def refuse_the_second(upload):
        if upload.remote_path.endswith(temp_name(str(folder / "second"), "2\n").rsplit("/", 1)[1]):
            raise OSError("No space left on device")
        return stage(upload)

    host.stage = refuse_the_second
    role = Role("r", lambda h: [write_file(str(folder / name), text, root=True)
                                for name, text in (("first", "1\n"), ("second", "2\n"), ("third", "3\n"))])
    result, shown = go(inventory_of("a"), [role], local, tmp_path)
    recap = result.hosts["a"]
    assert (recap.changed, recap.failed, recap.skipped) == (1, 1, 1)
    assert "upload failed: No space left on device" in shown and "r › write" in shown
    assert (folder / "first").read_text() == "1\n"
    assert not (folder / "second").exists() and not (folder / "third").exists()


def test_the_live_line_follows_the_steps_of_a_batch(local, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(RunDisplay, "step", lambda self, host, role, what: shown.append(what))
    role = Role("r", lambda host: [write_file(str(local.dir(host.name) / name), name, root=True)
                                   for name in ("one", "two", "three")])
    go(inventory_of("a"), [role], local, tmp_path)
    steps = [f"write {local.dir('a') / name}" for name in ("one", "two", "three")]
    assert shown[-4:] == ["applying 3 change(s)", *steps]


def test_a_failed_command_shows_its_own_output_without_the_script_markers(local, tmp_path):
    role = Role("r", lambda host: [shell_step("noisy", "echo before >&2; exit 2", root=True)])
    result, shown = go(inventory_of("a"), [role], local, tmp_path)
    assert "before" in shown and STEP_MARK not in shown and STEP_MARK not in result.log_path.read_text()


def test_a_step_with_stdin_gets_it(local, tmp_path):
    target = local.dir("a") / "fed"
    role = Role("fed", lambda host: [shell_step("feed", f"mkdir -p {local.dir('a')} && cat > {target}",
                                                stdin=b"from stdin")])
    result, _ = go(inventory_of("a"), [role], local, tmp_path)
    assert result.exit_code == EXIT_OK and target.read_text() == "from stdin"


def test_root_changes_stage_uploads_and_move_them_in_the_same_round_trip(local, tmp_path):
    path = str(local.dir("a") / "root-owned")
    role = Role("root", lambda host: [write_file(path, "as root\n", root=True)])
    go(inventory_of("a"), [role], local, tmp_path)
    host = local.hosts["a"]
    assert Path(path).read_text() == "as root\n"
    assert host.commands[0][1] is True  # facts needing root are read with sudo
    mutating = host.mutating_commands()
    assert len(mutating) == 1 and "mv -f" in mutating[0] and str(host.staging) in mutating[0]
    assert not list(host.staging.iterdir())


def test_a_reread_step_sees_what_an_earlier_step_changed(local, tmp_path):
    path = str(local.dir("a") / "f")
    seen = []

    def observe(values):
        seen.append(values[FileText(path)])

    def tasks(host):
        return [write_file(path, "new\n"), Operation("observe", (FileText(path),), observe, reread=True)]

    go(inventory_of("a"), [Role("r", tasks)], local, tmp_path)
    assert seen == ["new\n"]


# --- facts kept and read ahead across the runs of a flow --------------------------------------------


@dataclass(frozen=True)
class Garbled(FileText):
    """A fact whose output never parses."""

    name = "garbled"

    def process(self, output: str, status: int) -> str | None:
        raise ValueError("not what a garbled fact expects")


def test_a_flow_reads_the_facts_of_its_later_roles_with_the_first_reading(local, tmp_path):
    inventory = inventory_of("a", "b")
    first_role = files_role(local, {"one": "1\n"})
    later = [Role("two", lambda host: [write_file(str(local.dir(host.name) / "two"), "2\n")]),
             Role("three", lambda host: [write_file(str(local.dir(host.name) / "three"), "3\n")], hosts="b")]
    for role in [first_role, *later]:
        go(inventory, [role], local, tmp_path)  # everything in place: what follows is a no-op
    before = {name: host.commands_run for name, host in local.hosts.items()}

    facts = FactCache()
    settings = RunSettings(log_dir=tmp_path / "logs")
    read_ahead(facts, inventory, later, settings)
    results = [run(inventory, [role], local.connect, settings, Console(file=io.StringIO()), facts)
               for role in [first_role, *later]]
    assert all(result.exit_code == EXIT_OK for result in results)
    assert {name: host.commands_run - before[name] for name, host in local.hosts.items()} == {"a": 1, "b": 1}
    assert [sum(r.commands_run for r in result.hosts.values()) for result in results] == [2, 0, 0]


def test_a_value_read_before_a_change_on_that_host_is_read_again(local, tmp_path):
    inventory = inventory_of("a")
    path = str(local.dir("a") / "f")
    seen = []
    facts = FactCache()
    settings = RunSettings(log_dir=tmp_path / "logs")
    observe = Role("observe", lambda host: [Operation("observe", (FileText(path),), seen.append)])
    read_ahead(facts, inventory, [observe], settings)
    run(inventory, [observe], local.connect, settings, Console(file=io.StringIO()), facts)  # absent: None
    run(inventory, [files_role(local, {"f": "new\n"})], local.connect, settings, Console(file=io.StringIO()), facts)
    run(inventory, [observe], local.connect, settings, Console(file=io.StringIO()), facts)
    assert [values[FileText(path)] for values in seen] == [None, "new\n"]


def test_a_fact_read_ahead_that_does_not_parse_fails_only_the_role_that_needs_it(local, tmp_path):
    inventory = inventory_of("a")
    facts = FactCache()
    settings = RunSettings(log_dir=tmp_path / "logs")
    garbled = Role("garbled", lambda host: [Operation("needs it", (Garbled("/etc/hostname"),), lambda values: None)])
    read_ahead(facts, inventory, [garbled], settings)
    fine = run(inventory, [files_role(local, {"f": "x\n"})], local.connect, settings, Console(file=io.StringIO()),
               facts)
    failed = run(inventory, [garbled], local.connect, settings, Console(file=io.StringIO()), facts)
    assert fine.exit_code == EXIT_OK and failed.exit_code == EXIT_FAILED
    assert "not what a garbled fact expects" in failed.hosts["a"].error


# --- check mode --------------------------------------------------------------------------------


def test_check_mode_shows_every_change_with_its_diff_and_touches_nothing(local, tmp_path):
    inventory = inventory_of("a")
    go(inventory, [files_role(local, {"motd": "hello\n", "keep": "same\n"})], local, tmp_path)
    before = local.hosts["a"].commands_run

    result, shown = go(inventory, [files_role(local, {"motd": "hello [world]\n", "keep": "same\n", "new": "n\n"})],
                       local, tmp_path, check=True)
    assert result.exit_code == EXIT_OK
    assert (result.hosts["a"].changed, result.hosts["a"].ok) == (2, 3)
    assert "CHECK MODE" in shown and "would change" in shown
    assert "-hello\n" in shown and "+hello [world]\n" in shown  # brackets printed as they are
    assert "write" in shown and "new" in shown
    assert (local.dir("a") / "motd").read_text() == "hello\n" and not (local.dir("a") / "new").exists()
    assert local.hosts["a"].commands_run - before == 1  # the facts, nothing else
    assert local.hosts["a"].mutating_commands() == local.hosts["a"].mutating_commands()[:2]  # the first run's


def test_diff_mode_shows_diffs_in_a_real_run_and_they_are_hidden_otherwise(local, tmp_path):
    inventory = inventory_of("a")
    _, quiet = go(inventory, [files_role(local, {"f": "one\n"})], local, tmp_path)
    assert "changed" in quiet and "+one" not in quiet
    _, shown = go(inventory, [files_role(local, {"f": "two\n"})], local, tmp_path, diff=True)
    assert "-one" in shown and "+two" in shown


# --- handlers ----------------------------------------------------------------------------------


def handler_role(local: LocalHosts, texts: dict[str, str]) -> Role:
    def tasks(host):
        return [write_file(str(local.dir(host.name) / name), text, notify=("restart",)) for name, text in texts.items()]

    def handlers(host):
        log = local.dir(host.name) / "handlers.log"
        return {"reload": shell_step("reload", f"echo reload >> {log}"),
                "restart": shell_step("restart", f"echo restart >> {log}")}

    return Role("service", tasks, handlers)


def test_a_handler_runs_once_at_the_end_of_its_role_only_when_notified_by_a_change(local, tmp_path):
    inventory = inventory_of("a")
    log = local.dir("a") / "handlers.log"
    result, _ = go(inventory, [handler_role(local, {"x": "1\n", "y": "2\n"})], local, tmp_path)
    assert log.read_text() == "restart\n"
    assert (result.hosts["a"].ok, result.hosts["a"].changed) == (3, 3)

    go(inventory, [handler_role(local, {"x": "1\n", "y": "2\n"})], local, tmp_path)
    assert log.read_text() == "restart\n"  # nothing changed: not notified

    go(inventory, [handler_role(local, {"x": "1\n", "y": "3\n"})], local, tmp_path, check=True)
    assert log.read_text() == "restart\n"  # check mode runs no handler


def test_a_change_that_satisfies_a_handler_takes_back_the_notifications_before_it(local, tmp_path):
    log = local.dir("a") / "handlers.log"

    def start(host):
        command = Command(f"echo start >> {log}")
        return Operation("start", (), lambda values: Change("start", commands=(command,), satisfies=("restart",)))

    def tasks(host):
        base = local.dir(host.name)
        return [write_file(str(base / "env"), "1\n", notify=("restart",)), start(host),
                write_file(str(base / "unit"), "2\n", notify=("reload",))]

    role = Role("service", tasks, handler_role(local, {}).handlers)
    go(inventory_of("a"), [role], local, tmp_path)
    assert log.read_text() == "start\nreload\n"  # the restart notified before the start is not run


def test_a_change_that_only_waits_or_reads_is_ok_not_changed(local, tmp_path):
    marker = local.dir("a") / "waited"
    wait = Command(f"touch {marker}", mutating=False)  # stands for a health wait: the host is not changed
    role = Role("r", lambda host: [Operation("wait for it", (), lambda values: Change("wait", commands=(wait,)))])
    result, _ = go(inventory_of("a"), [role], local, tmp_path)
    assert marker.exists()  # it ran
    assert (result.hosts["a"].ok, result.hosts["a"].changed) == (1, 0)


def test_notifying_an_unknown_handler_fails_the_host_before_it_changes_anything(local, tmp_path):
    path = local.dir("a") / "x"
    role = Role("r", lambda host: [write_file(str(path), "x\n", notify=("restrat",))],
                lambda host: {"restart": shell_step("restart", "true")})
    result, shown = go(inventory_of("a"), [role], local, tmp_path)
    assert result.exit_code == EXIT_FAILED and not path.exists()
    assert "'restrat'" in shown and "its handlers: restart" in shown


# --- tags and limit -----------------------------------------------------------------------------


def test_tags_select_steps_or_whole_roles(local, tmp_path):
    def tasks(host):
        base = local.dir(host.name)
        return [write_file(str(base / "env"), "e\n", tags=("env",)),
                write_file(str(base / "unit"), "u\n", tags=("unit",))]

    other = Role("other", lambda host: [write_file(str(local.dir(host.name) / "other"), "o\n")])
    go(inventory_of("a"), [Role("service", tasks), other], local, tmp_path, tags=frozenset({"env"}))
    assert sorted(p.name for p in local.dir("a").iterdir() if p.is_file()) == ["env"]
    go(inventory_of("a"), [Role("service", tasks), other], local, tmp_path, tags=frozenset({"other"}))
    assert sorted(p.name for p in local.dir("a").iterdir() if p.is_file()) == ["env", "other"]


def test_tags_that_select_nothing_are_an_error_listing_the_known_ones(local, tmp_path):
    role = Role("service", lambda host: [write_file("/x", "x", tags=("env",))])
    with pytest.raises(RunError, match=r"--tags nope: .*roles: service; tags: env"):
        go(inventory_of("a"), [role], local, tmp_path, tags=frozenset({"nope"}))
    assert not local.hosts


def test_selected_operations():
    role = Role("svc", lambda host: [])
    ops = [Operation("a", (), lambda v: None, tags=("x",)), Operation("b", (), lambda v: None)]
    assert selected_operations(role, ops, frozenset()) == ops
    assert selected_operations(role, ops, frozenset({"x", "y"})) == ops[:1]
    assert selected_operations(role, ops, frozenset({"svc"})) == ops


def test_limit_and_role_hosts_choose_where_a_role_runs(local, tmp_path):
    inventory = Inventory.from_dict({"all": {"children": {
        "dev": {"hosts": {"dev": None}}, "f1": {"hosts": {"f1-a": None, "f1-b": None}}}}})
    roles = [files_role(local, {"d": "d\n"}, hosts="dev"), Role("fpga", lambda host: [
        write_file(str(local.dir(host.name) / "f"), "f\n")], hosts="f1")]
    result, _ = go(inventory, roles, local, tmp_path, limit="dev,f1-b")
    assert list(result.hosts) == ["dev", "f1-b"]
    assert (local.dir("dev") / "d").exists() and not (local.dir("dev") / "f").exists()
    assert (local.dir("f1-b") / "f").exists() and not local.dir("f1-a").exists()
    with pytest.raises(RunError, match="select no host"):
        go(inventory, roles[:1], local, tmp_path, limit="f1")


# --- failures -----------------------------------------------------------------------------------


def test_a_failure_stops_that_host_only_logs_everything_and_shows_the_last_lines(local, tmp_path):
    inventory = inventory_of("a", "b")
    noisy = "; ".join(f"echo line{i}" for i in range(40))

    def tasks(host):
        fail = host.name == "a"
        return [write_file(str(local.dir(host.name) / "first"), "1\n"),
                shell_step("flaky", f"{noisy}; echo oops >&2; exit 7" if fail else "true"),
                write_file(str(local.dir(host.name) / "last"), "3\n")]

    roles = [Role("one", tasks), files_role(local, {"after": "x\n"})]
    result, shown = go(inventory, roles, local, tmp_path)
    a, b = result.hosts["a"], result.hosts["b"]
    assert result.exit_code == EXIT_FAILED
    assert (a.ok, a.changed, a.failed, a.skipped) == (1, 1, 1, 2)
    assert (b.ok, b.failed, b.skipped) == (4, 0, 0)
    assert not (local.dir("a") / "last").exists() and (local.dir("b") / "after").exists()
    assert "FAILED" in shown and "one › flaky" in shown and "exited with status 7" in shown and "oops" in shown
    log = result.log_path.read_text()
    assert "line0" in log and "line39" in log and "oops" in log
    assert str(result.log_path) in shown.replace("\n", "")


def test_an_unreachable_host_does_not_stop_the_others(tmp_path):
    local = LocalHosts(tmp_path / "hosts", unreachable=("b",))
    result, shown = go(inventory_of("a", "b"), [files_role(local, {"f": "x\n", "g": "y\n"})], local, tmp_path)
    assert result.exit_code == EXIT_UNREACHABLE
    assert (result.hosts["b"].unreachable, result.hosts["b"].skipped) == (1, 2)
    assert (result.hosts["a"].changed, result.hosts["a"].unreachable) == (2, 0)
    assert "UNREACHABLE" in shown and "no route" in shown


def test_an_operation_that_cannot_plan_fails_its_host_with_the_reason(local, tmp_path):
    def refuse(values):
        raise RuntimeError("/etc/x is a directory: remove it first")

    result, shown = go(inventory_of("a"), [Role("r", lambda host: [Operation("edit x", (), refuse)])], local, tmp_path)
    assert result.hosts["a"].failed == 1 and "r › edit x: RuntimeError: /etc/x is a directory" in shown


def test_a_role_whose_steps_cannot_be_listed_fails_the_host_before_touching_it(local, tmp_path):
    def tasks(host):
        if host.name == "a":
            raise KeyError("rhythm_port")
        return [write_file(str(local.dir(host.name) / "f"), "x\n")]

    result, shown = go(inventory_of("a", "b"), [Role("r", tasks)], local, tmp_path)
    assert "a" not in local.hosts and result.hosts["b"].changed == 1
    assert result.hosts["a"].failed == 1 and "cannot list its steps: KeyError" in shown


def test_secrets_are_masked_on_screen_and_in_the_log(local, tmp_path):
    inventory = inventory_of("a", ansible_become_password="s3cret-pw", api_token="tok-123456",
                             db={"password": "nested-pw"})
    role = Role("r", lambda host: [shell_step("leak", "echo s3cret-pw tok-123456 nested-pw; exit 1")])
    result, shown = go(inventory, [role], local, tmp_path, verbose=True)
    log = result.log_path.read_text()
    for secret in ("s3cret-pw", "tok-123456", "nested-pw"):
        assert secret not in shown and secret not in log
    assert MASK in shown and MASK in log


def test_secret_values_and_masker():
    found = secret_values([{"ansible_become_password": "pw1234", "db": {"token": "t0k"}, "user_secret": ["ab", "cd3"],
                            "password_enabled": True, "name": "pw1234-not-a-secret-key"}])
    assert found == {"pw1234", "t0k", "cd3"}
    assert Masker({"pw", "pw1234"})("x pw1234 pw") == f"x {MASK} {MASK}"


def test_the_recap_table_has_a_row_per_host(local, tmp_path):
    result, shown = go(inventory_of("a", "b"), [files_role(local, {"f": "x\n"})], local, tmp_path)
    assert "RECAP" in shown and "unreachable" in shown
    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(recap_table(result))
    rows = [line for line in out.getvalue().splitlines() if line.startswith("│ a") or line.startswith("│ b")]
    assert len(rows) == 2 and all("1 │" in row for row in rows)


# --- options (cli_options) ----------------------------------------------------------------------


def test_extra_vars_are_read_as_ansible_reads_them(tmp_path):
    (tmp_path / "vars.yml").write_text("slot: 1\nname: x\n")
    assert parse_extra_vars(["afi_id=afi-01 'msg=a b'", f"@{tmp_path / 'vars.yml'}", '{"debug": true}']) == {
        "afi_id": "afi-01", "msg": "a b", "slot": 1, "name": "x", "debug": True}
    with pytest.raises(OptionError, match="expected key=value"):
        parse_extra_vars(["oops"])


def test_options_are_checked_and_the_inventory_chosen(tmp_path, monkeypatch):
    inventory = tmp_path / "inv.yml"
    inventory.write_text("all: {}\n")
    options = RunOptions.from_task_args(str(inventory), limit="f1", tags="env, unit", forks="4", extra_vars=["a=1"])
    assert (options.tags, options.forks, options.extra_vars) == (frozenset({"env", "unit"}), 4, {"a": "1"})
    assert options.settings().forks == 4
    with pytest.raises(OptionError, match="at least 1"):
        RunOptions.from_task_args(str(inventory), forks=0)
    with pytest.raises(OptionError, match="no such file"):
        choose_inventory(tmp_path / "missing.yml")
    monkeypatch.delenv("FPGAOPS_INVENTORY", raising=False)
    monkeypatch.setattr("fpgaops.cli_options.DEFAULT_INVENTORY", tmp_path / "none.yml")
    with pytest.raises(OptionError, match=r"fab sandbox.up.*-i/--inventory"):
        choose_inventory(None)
    monkeypatch.setenv("FPGAOPS_INVENTORY", str(inventory))  # for `fab provision deploy`: one setting, two tasks
    assert choose_inventory(None) == inventory
    assert choose_inventory(tmp_path / "inv.yml") == inventory
    monkeypatch.setenv("FPGAOPS_INVENTORY", str(tmp_path / "gone.yml"))
    with pytest.raises(OptionError, match=r"FPGAOPS_INVENTORY .*gone\.yml: no such file"):
        choose_inventory(None)


def test_run_roles_reports_a_bad_limit_without_a_traceback(tmp_path):
    from fpgaops.cli_options import run_roles

    inventory = tmp_path / "inv.yml"
    inventory.write_text("all:\n  hosts:\n    a:\n")
    out = io.StringIO()
    code = run_roles(RunOptions(inventory=inventory, limit="nosuch"), [Role("r", lambda host: [])],
                     Console(file=out, width=200))
    assert code == 1 and "limit pattern 'nosuch' matches no host" in out.getvalue()

