"""The engine benchmark's three deployments (fpgaops, Ansible, pyinfra) describe the same 15 steps.

Each deployment is read without running anything: ours by planning its operations against a
fresh host's facts, the playbook as YAML, the pyinfra deploy file by executing it against stand-in
``pyinfra`` modules that record every operation.  Each is reduced to the same description (user,
directories and files with owner, group, mode, content source and restart notification, the
managed line, the cron line, the venv, the service and its restart handler, the template
variables) and compared with ``bench/engine/spec.py``.
"""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

from bench.engine import deployment, spec
from fpgaops.facts import (
    Crontab,
    FileText,
    GroupId,
    PathExists,
    PathState,
    ServiceState,
    ServiceStatus,
    UserAccount,
    UvHost,
    UvTool,
)
from fpgaops.templates import render_template

ENGINE_DIR = Path(spec.__file__).resolve().parent
ARTIFACT = "/laptop/model.bin"  # stands for the artifact in every description
CHOWN_CHMOD = re.compile(r"chown (?P<owner>[^:\s]+):(?P<group>\S+) \S+ && chmod (?P<mode>\d{4})")


def expected() -> dict:
    """The deployment as spec.py defines it, in the shape every tool's description takes."""
    return {
        "user": (spec.USER, spec.HOME, spec.SHELL),
        "directories": {item.path: (item.owner, item.group, item.mode) for item in spec.DIRECTORIES},
        "files": {item.path: (item.owner, item.group, item.mode, item.source, item.restarts) for item in spec.FILES},
        "line": (spec.LINE_FILE, spec.LINE),
        "cron": (spec.USER, spec.CRON_LINE),
        "venv": spec.VENV_PATH,
        "service": (spec.SERVICE, True, True),
        "restart_handler": spec.SERVICE,
        "template_vars": spec.TEMPLATE_VARS,
    }


def template_source(content: bytes) -> tuple[str, str]:
    """Which of spec's templates renders to ``content`` (with spec's variables)."""
    for item in spec.FILES:
        kind, name = item.source
        if kind == "template" and render_template(name, spec.TEMPLATE_VARS, spec.TEMPLATES_DIR).encode() == content:
            return item.source
    return ("template", "unknown content")


def local_source(local_path: str) -> tuple[str, str]:
    if local_path == ARTIFACT:
        return ("artifact", "")
    path = Path(local_path).resolve()
    if path.parent == spec.FILES_DIR.resolve():
        return ("file", path.name)
    if spec.TEMPLATES_DIR.resolve() in path.parents:
        return ("template", path.relative_to(spec.TEMPLATES_DIR.resolve()).as_posix())
    return ("unknown", local_path)


# --- fpgaops ------------------------------------------------------------------------------------


def fresh_host_value(fact):
    """What a fact reads on a host where nothing of the deployment exists yet."""
    if isinstance(fact, Crontab):
        return ""
    if isinstance(fact, ServiceState):
        return ServiceStatus(active="inactive", enabled="")
    if isinstance(fact, PathExists):
        return False
    if isinstance(fact, UvTool):
        return UvHost(machine="x86_64", glibc=(2, 36), uv_version=None)
    if isinstance(fact, PathState | FileText | UserAccount | GroupId):
        return None
    raise AssertionError(f"the test does not know the fact {fact!r}")


def step_key(fact) -> str:
    """What one of our steps is about, named as the peers' steps name it (a path, a user, a unit)."""
    for kind in (PathState, PathExists):
        if isinstance(fact, kind):
            return fact.path
    if isinstance(fact, FileText) and fact.path.startswith(spec.VENV_PATH + "/"):  # the venv's marker
        return spec.VENV_CREATES
    return {Crontab: lambda: f"crontab {fact.user}", UserAccount: lambda: f"user {fact.user}",
            ServiceState: lambda: f"service {fact.unit}"}[type(fact)]()


def describe_fpgaops(monkeypatch) -> tuple[dict, list[str]]:
    monkeypatch.setattr("fpgaops.operations.remote_file.FileContent.of_local_file",
                        classmethod(lambda cls, path: cls(sha256="0" * 64, local_path=str(path))))
    deployment.steps.cache_clear()
    role = deployment.role(ARTIFACT)
    operations = role.tasks(None)
    handlers = role.handlers(None)
    described: dict = {"directories": {}, "files": {}, "template_vars": spec.TEMPLATE_VARS}
    order = [step_key(operation.facts[0]) for operation in operations]
    for operation in operations:
        facts = {fact: fresh_host_value(fact) for fact in operation.facts}
        change = operation.plan(facts)
        assert change is not None, f"{operation.description}: nothing to do on a fresh host"
        shell = "\n".join(command.shell for command in change.commands)
        paths = [fact.path for fact in operation.facts if isinstance(fact, PathState)]
        restarts = spec.RESTART_HANDLER in operation.notify
        if operation.description.startswith("directory "):
            found = CHOWN_CHMOD.search(shell)
            described["directories"][paths[0]] = (found["owner"], found["group"], found["mode"])
        elif operation.description.startswith("line "):
            assert change.uploads[0].content.decode().splitlines()[-1] == spec.LINE
            described["line"] = (paths[0], spec.LINE)
            assert re.search(operation.description.split(" ")[1], spec.LINE)
        elif paths:
            found = CHOWN_CHMOD.search(shell)
            upload = change.uploads[0]
            source = local_source(upload.local_path) if upload.local_path else template_source(upload.content)
            described["files"][paths[0]] = (found["owner"], found["group"], found["mode"], source, restarts)
        elif any(isinstance(fact, Crontab) for fact in operation.facts):
            user = next(fact.user for fact in operation.facts if isinstance(fact, Crontab))
            lines = change.commands[-1].stdin.decode().splitlines()
            assert spec.CRON_LINE in lines
            described["cron"] = (user, spec.CRON_LINE)
        elif operation.description == f"venv {spec.VENV_PATH}":
            assert re.search(rf"/uv venv .* {spec.VENV_PATH} && ", shell)  # uv, the pushed binary
            assert change.uploads[0].local_path == str(spec.VENV_REQUIREMENTS)
            described["venv"] = spec.VENV_PATH
        elif any(isinstance(fact, UserAccount) for fact in operation.facts):
            found = re.search(r"useradd --system .*--home-dir (\S+) .*--shell (\S+) (\S+)$", shell)
            described["user"] = (found[3], found[1], found[2])
        elif any(isinstance(fact, ServiceState) for fact in operation.facts):
            unit = next(fact.unit for fact in operation.facts if isinstance(fact, ServiceState))
            described["service"] = (unit, f"systemctl enable {unit}" in shell, f"systemctl start {unit}" in shell)
        else:
            raise AssertionError(f"unexpected step {operation.description}")
    handler = handlers[spec.RESTART_HANDLER]
    state = next(fact for fact in handler.facts if isinstance(fact, ServiceState))
    change = handler.plan({state: ServiceStatus(active="active", enabled="enabled")})
    assert [command.shell for command in change.commands] == [f"systemctl restart {state.unit}"]
    described["restart_handler"] = state.unit
    return described, order


# --- Ansible ------------------------------------------------------------------------------------


def ansible_source(src: str) -> tuple[str, str]:
    if src == "{{ artifact_src }}":
        return ("artifact", "")
    if src.startswith("{{ templates_dir }}/"):
        return ("template", "bench/" + src.removeprefix("{{ templates_dir }}/"))
    if src.startswith("files/"):
        return ("file", src.removeprefix("files/"))
    return ("unknown", src)


def describe_ansible() -> tuple[dict, list[str]]:
    (play,) = yaml.safe_load((ENGINE_DIR / "playbook.yml").read_text())
    assert play["become"] is True and play["gather_facts"] is False and play["hosts"] == "all"
    assert "ansible.builtin.copy" in str(play["tasks"])  # modules by their full names
    template_vars = {key: value for key, value in play["vars"].items() if key != "templates_dir"}
    described: dict = {"directories": {}, "files": {}, "template_vars": template_vars}
    order = []
    for task in play["tasks"]:
        (module,) = [key for key in task if key.startswith("ansible.builtin.")]
        args = task[module]
        module = module.removeprefix("ansible.builtin.")
        restarts = task.get("notify") == spec.RESTART_HANDLER
        if module == "systemd_service" and args == {"daemon_reload": True}:
            assert task["when"] == "benchapp_unit is changed"  # not a step of its own: part of the unit's
            continue
        if module == "user":
            assert args["system"] is True and args["create_home"] is True
            described["user"] = (args["name"], args["home"], args["shell"])
            order.append(f"user {args['name']}")
        elif module == "file":
            assert args["state"] == "directory"
            described["directories"][args["path"]] = (args["owner"], args["group"], args["mode"])
            order.append(args["path"])
        elif module in ("copy", "template"):
            described["files"][args["dest"]] = (args["owner"], args["group"], args["mode"],
                                                ansible_source(args["src"]), restarts)
            order.append(args["dest"])
            if args["dest"] == spec.UNIT_PATH:
                assert task["register"] == "benchapp_unit"
        elif module == "lineinfile":
            assert re.search(args["regexp"], args["line"])
            described["line"] = (args["path"], args["line"])
            order.append(args["path"])
        elif module == "cron":
            described["cron"] = (args["user"], f"{args['minute']} * * * * {args['job']}")
            order.append(f"crontab {args['user']}")
        elif module == "command":
            assert (args["cmd"], args["creates"]) == (spec.VENV_COMMAND, spec.VENV_CREATES)
            described["venv"] = spec.VENV_PATH
            order.append(args["creates"])
        elif module == "systemd_service":
            described["service"] = (args["name"], args["enabled"], args["state"] == "started")
            order.append(f"service {args['name']}")
        else:
            raise AssertionError(f"unexpected task {task['name']}")
    (handler,) = play["handlers"]
    assert handler["name"] == spec.RESTART_HANDLER
    assert handler["ansible.builtin.systemd_service"]["state"] == "restarted"
    described["restart_handler"] = handler["ansible.builtin.systemd_service"]["name"]
    return described, order


# --- pyinfra ------------------------------------------------------------------------------------


class RecordedOperation:
    """A pyinfra operation call as the deploy file made it (stands for pyinfra's OperationMeta)."""

    def __init__(self, name: str, kwargs: dict) -> None:
        self.name = name
        self.kwargs = kwargs

    def did_change(self) -> bool:
        return True


class AnyChanged:
    def __init__(self, operations) -> None:
        self.operations = operations


def fake_pyinfra(monkeypatch) -> tuple[list[RecordedOperation], list[tuple]]:
    """Stand-in pyinfra modules recording the deploy file's operations and fact reads."""
    calls: list[RecordedOperation] = []
    facts: list[tuple] = []

    def operation_module(module: str, names: list[str]) -> types.ModuleType:
        fake = types.ModuleType(f"pyinfra.operations.{module}")
        for name in names:
            def call(_name=f"{module}.{name}", **kwargs):
                calls.append(RecordedOperation(_name, kwargs))
                return calls[-1]
            setattr(fake, name, call)
        return fake

    class File:
        pass

    def get_fact(fact, **kwargs):
        facts.append((fact.__name__, kwargs))
        return None  # a fresh host: nothing there

    pyinfra = types.ModuleType("pyinfra")
    pyinfra.host = types.SimpleNamespace(data=types.SimpleNamespace(artifact_src=ARTIFACT), get_fact=get_fact)
    operations = types.ModuleType("pyinfra.operations")
    operations.__path__ = []
    modules = {
        "crontab": operation_module("crontab", ["crontab"]),
        "files": operation_module("files", ["directory", "put", "template", "line"]),
        "server": operation_module("server", ["user", "shell"]),
        "systemd": operation_module("systemd", ["service", "daemon_reload"]),
    }
    for name, module in modules.items():
        setattr(operations, name, module)
        monkeypatch.setitem(sys.modules, f"pyinfra.operations.{name}", module)
    util = types.ModuleType("pyinfra.operations.util")
    util.any_changed = lambda *operations: AnyChanged(operations)
    facts_module = types.ModuleType("pyinfra.facts")
    facts_module.__path__ = []
    files_facts = types.ModuleType("pyinfra.facts.files")
    files_facts.File = File
    pyinfra.__path__ = []
    for name, module in {"pyinfra": pyinfra, "pyinfra.operations": operations, "pyinfra.operations.util": util,
                         "pyinfra.facts": facts_module, "pyinfra.facts.files": files_facts}.items():
        monkeypatch.setitem(sys.modules, name, module)
    return calls, facts


def describe_pyinfra(monkeypatch) -> tuple[dict, list[str]]:
    calls, facts = fake_pyinfra(monkeypatch)
    module = runpy.run_path(str(ENGINE_DIR / "pyinfra_deploy.py"))
    described: dict = {"directories": {}, "files": {}, "template_vars": module["TEMPLATE_VARS"]}
    restart = calls[-1]
    assert restart.name == "systemd.service" and restart.kwargs["restarted"] is True
    restarting = {id(operation) for operation in restart.kwargs["_if"].operations}
    order = []
    for call in calls[:-1]:
        kwargs = call.kwargs
        if call.name == "systemd.daemon_reload":
            unit = kwargs["_if"].__self__
            assert unit.kwargs["dest"] == spec.UNIT_PATH  # not a step of its own: part of the unit's
            continue
        if call.name == "server.user":
            assert kwargs["system"] is True and kwargs["create_home"] is True
            described["user"] = (kwargs["user"], kwargs["home"], kwargs["shell"])
            order.append(f"user {kwargs['user']}")
        elif call.name == "files.directory":
            described["directories"][kwargs["path"]] = (kwargs["user"], kwargs["group"], kwargs["mode"])
            order.append(kwargs["path"])
        elif call.name in ("files.put", "files.template"):
            if call.name == "files.template":
                assert {key: kwargs[key] for key in spec.TEMPLATE_VARS} == spec.TEMPLATE_VARS
            described["files"][kwargs["dest"]] = (kwargs["user"], kwargs["group"], kwargs["mode"],
                                                  local_source(kwargs["src"]), id(call) in restarting)
            order.append(kwargs["dest"])
        elif call.name == "files.line":
            assert kwargs["extended_regex"] is True
            assert re.search(kwargs["line"].replace("[[:space:]]", r"\s"), kwargs["replace"])  # ERE -> Python
            described["line"] = (kwargs["path"], kwargs["replace"])
            order.append(kwargs["path"])
        elif call.name == "crontab.crontab":
            described["cron"] = (kwargs["user"], f"{kwargs['minute']} * * * * {kwargs['command']}")
            order.append(f"crontab {kwargs['user']}")
        elif call.name == "server.shell":
            (command,) = kwargs["commands"]
            (guard,) = [fact for fact in facts if fact[0] == "File"]
            assert (command, guard[1]["path"]) == (spec.VENV_COMMAND, spec.VENV_CREATES)
            described["venv"] = spec.VENV_PATH
            order.append(guard[1]["path"])
        elif call.name == "systemd.service":
            described["service"] = (kwargs["service"], kwargs["enabled"], kwargs["running"])
            order.append(f"service {kwargs['service']}")
        else:
            raise AssertionError(f"unexpected operation {call.name}")
    described["restart_handler"] = restart.kwargs["service"]
    return described, order


# --- the tests ----------------------------------------------------------------------------------


def test_spec_lists_fifteen_steps_and_files_that_exist():
    assert len(spec.DIRECTORIES) + len(spec.FILES) + 5 == 15  # + user, line, cron, venv, service
    for item in spec.FILES:
        kind, name = item.source
        if kind == "template":
            assert (spec.TEMPLATES_DIR / name).is_file()
            render_template(name, spec.TEMPLATE_VARS, spec.TEMPLATES_DIR)  # strict: every variable given
        elif kind == "file":
            assert (spec.FILES_DIR / name).is_file()


def test_our_deployment_is_the_spec(monkeypatch):
    described, order = describe_fpgaops(monkeypatch)
    assert len(order) == 15
    assert described == expected()


def test_the_ansible_playbook_is_the_spec():
    described, order = describe_ansible()
    assert len(order) == 15  # and the daemon-reload when the unit changed
    assert described == expected()


def test_the_pyinfra_deploy_is_the_spec(monkeypatch):
    described, order = describe_pyinfra(monkeypatch)
    assert len(order) == 15  # and the daemon-reload when the unit changed
    assert described == expected()


def test_the_three_deployments_take_their_steps_in_the_same_order(monkeypatch):
    ours = describe_fpgaops(monkeypatch)[1]
    assert ours == describe_ansible()[1] == describe_pyinfra(monkeypatch)[1]
    assert ours[0] == f"user {spec.USER}" and ours[-1] == f"service {spec.SERVICE}"


def test_the_floor_reading_parses_back_into_the_deployment_state():
    contents = {item.path: f"{index:064x}" for index, item in enumerate(spec.FILES)}
    wanted = spec.expected_state(contents)
    lines = []
    for item in spec.MANAGED:
        lines.append(f"stat {item.path} {item.kind}|{int(item.mode, 8):o}|{item.owner}|{item.group}")
        if item.kind == "file":
            lines.append(f"sha256 {item.path} {contents[item.path]}")
    lines += [f"stat {spec.LINE_FILE} file|644|root|root", f"stat {spec.VENV_CREATES} link|python3",
              f"user {spec.USER}:{spec.HOME}:{spec.SHELL}", "cron #Ansible: benchapp-health",
              f"cron {spec.CRON_LINE}", "line 1", "service active enabled"]
    state = spec.parse_floor("\n".join(lines) + "\n")
    assert spec.state_problems(state, wanted) == []
    state["service"] = "inactive enabled"
    state["cron"] = ""
    assert len(spec.state_problems(state, wanted)) == 2
    script = spec.floor_script(full=True)
    assert all(path in script for path in spec.FLOOR_PATHS) and "systemctl is-active" in script


@pytest.mark.skipif(not os.access(sys.executable, os.X_OK), reason="needs the project's python")
def test_the_pyinfra_counter_wraps_paramiko_when_it_is_imported(tmp_path):
    code = ("import runpy, sys; runpy.run_path(sys.argv[1]); import paramiko; "
            "print(paramiko.SSHClient.exec_command.__qualname__, paramiko.SFTPClient.putfo.__qualname__)")
    done = subprocess.run([sys.executable, "-c", code, str(ENGINE_DIR / "pyinfra_count.py")], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "FPGAOPS_BENCH_COUNT_LOG": str(tmp_path / "log")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["_patch_client.<locals>.exec_command", "_patch_sftp.<locals>.putfo"]
