"""The benchmark's deployment as data: what a host holds once any of the three tools applied it.

``deployment.py`` (fpgaops), ``playbook.yml`` (Ansible) and ``pyinfra_deploy.py`` (pyinfra) each
write this down in their own tool's words, as a user of that tool would; the unit test
``tests/unit/test_bench_engine_deployment.py`` checks that all three describe these paths,
owners, modes, unit, cron line and managed line, and ``run.py`` checks the hosts against it after
every run (the same final state, whichever tool got there).

Pure standard library: the pyinfra deploy file, run by pyinfra's own venv, may read it too.

The 15 steps, in order:
 1. a system user ``benchapp`` (home /var/lib/benchapp, no login shell)
 2-5. directories /opt/benchapp, /opt/benchapp/bin, /etc/benchapp, /var/log/benchapp
 6. a 5 MB artifact /opt/benchapp/model.bin (made on the laptop by ``write_artifact``)
 7. the ``.env`` from ``templates/bench/benchapp.env.j2`` (0600)
 8. the unit /etc/systemd/system/benchapp.service from ``templates/bench/benchapp.service.j2``
    (daemon-reload only when it changed)
 9. a managed line in /etc/hosts
 10. a cron entry in benchapp's crontab
 11. the script /opt/benchapp/bin/benchapp.sh
 12. a venv /opt/benchapp/venv with nothing installed in it: each tool makes it its own way, the peers with
     ``python3 -m venv`` guarded by creates /opt/benchapp/venv/bin/python, fpgaops with its venv
     operation (uv; the requirements file files/requirements.txt lists nothing)
 13-14. two config files /etc/benchapp/app.toml and /etc/benchapp/logging.ini
 15. benchapp.service enabled and running
 and a handler restarting benchapp.service when the artifact, .env, unit, script or a config changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from shlex import quote

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parents[1]
TEMPLATES_DIR = PROJECT_ROOT / "templates"  # templates/bench/... (the project's templates directory)
FILES_DIR = HERE / "files"  # the script and the two config files, copied as they are

USER = "benchapp"
HOME = "/var/lib/benchapp"
SHELL = "/usr/sbin/nologin"
SERVICE = "benchapp.service"
RESTART_HANDLER = "restart benchapp"

ARTIFACT_BYTES = 5 * 1024 * 1024
ARTIFACT_PATH = "/opt/benchapp/model.bin"
ENV_PATH = "/etc/benchapp/benchapp.env"
UNIT_PATH = f"/etc/systemd/system/{SERVICE}"
SCRIPT_PATH = "/opt/benchapp/bin/benchapp.sh"

LINE_FILE = "/etc/hosts"
LINE = "127.0.0.1 benchapp.internal"
LINE_REGEX = r"^127\.0\.0\.1\s+benchapp\.internal$"

CRON_NAME = "benchapp-health"
CRON_MINUTE = "*/5"
CRON_JOB = f"{SCRIPT_PATH} health"
CRON_LINE = f"{CRON_MINUTE} * * * * {CRON_JOB}"

VENV_PATH = "/opt/benchapp/venv"
VENV_CREATES = f"{VENV_PATH}/bin/python"
VENV_COMMAND = f"python3 -m venv {VENV_PATH}"  # the peers'
VENV_REQUIREMENTS = FILES_DIR / "requirements.txt"  # fpgaops' venv operation

# the variables of both templates (the same dict for the three tools)
TEMPLATE_VARS = {
    "app_name": "benchapp",
    "app_user": USER,
    "app_port": 8080,
    "model_path": ARTIFACT_PATH,
    "config_dir": "/etc/benchapp",
    "log_dir": "/var/log/benchapp",
    "api_token": "bench-not-a-secret-0123456789abcdef",
    "script_path": SCRIPT_PATH,
    "env_path": ENV_PATH,
    "home": HOME,
}


@dataclass(frozen=True)
class Managed:
    """One managed path: what it is, its owner, group and mode, and where its content comes from.

    ``source`` is ("template", name under templates/), ("file", name under files/), ("artifact", "")
    or ("", "") for a directory.
    """

    path: str
    kind: str  # "directory" or "file"
    owner: str
    group: str
    mode: str  # octal, 4 digits
    source: tuple[str, str] = ("", "")
    restarts: bool = False  # a change notifies the restart handler


DIRECTORIES = (
    Managed("/opt/benchapp", "directory", "root", "root", "0755"),
    Managed("/opt/benchapp/bin", "directory", "root", "root", "0755"),
    Managed("/etc/benchapp", "directory", "root", USER, "0750"),
    Managed("/var/log/benchapp", "directory", USER, USER, "0750"),
)
FILES = (
    Managed(ARTIFACT_PATH, "file", "root", "root", "0644", ("artifact", ""), restarts=True),
    Managed(ENV_PATH, "file", "root", "root", "0600", ("template", "bench/benchapp.env.j2"), restarts=True),
    Managed(UNIT_PATH, "file", "root", "root", "0644", ("template", "bench/benchapp.service.j2"), restarts=True),
    Managed(SCRIPT_PATH, "file", "root", "root", "0755", ("file", "benchapp.sh"), restarts=True),
    Managed("/etc/benchapp/app.toml", "file", "root", USER, "0640", ("file", "app.toml"), restarts=True),
    Managed("/etc/benchapp/logging.ini", "file", "root", USER, "0640", ("file", "logging.ini"), restarts=True),
)
MANAGED = DIRECTORIES + FILES

# the paths whose state the floor reads: every managed path, the edited file and the venv's marker
FLOOR_PATHS = (*(item.path for item in MANAGED), LINE_FILE, VENV_CREATES)


def write_artifact(path: Path) -> str:
    """Write the deterministic 5 MB artifact at ``path`` (unless it is already there); its sha256."""
    block_size = 32 * 1024
    data = b"".join(hashlib.sha256(f"benchapp-artifact-{index}".encode()).digest() * (block_size // 32)
                    for index in range(ARTIFACT_BYTES // block_size))
    if not path.is_file() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(data)
        partial.replace(path)
    return hashlib.sha256(data).hexdigest()


def floor_script(full: bool = False) -> str:
    """One sh script (run as root) stating and hashing every managed path: the floor's one round trip.

    ``full`` also reads what is not a file: the user, the crontab, the managed line, the service.
    """
    paths = " ".join(quote(path) for path in FLOOR_PATHS)
    lines = [
        f"for p in {paths}; do",
        "  if [ -L \"$p\" ]; then printf 'stat %s link|%s\\n' \"$p\" \"$(readlink -- \"$p\")\"",
        "  elif [ -d \"$p\" ]; then printf 'stat %s %s\\n' \"$p\" \"$(stat -c 'directory|%a|%U|%G' -- \"$p\")\"",
        "  elif [ -f \"$p\" ]; then printf 'stat %s %s\\n' \"$p\" \"$(stat -c 'file|%a|%U|%G' -- \"$p\")\"",
        "    printf 'sha256 %s %s\\n' \"$p\" \"$(sha256sum < \"$p\" | cut -d' ' -f1)\"",
        "  else printf 'stat %s absent\\n' \"$p\"; fi",
        "done",
    ]
    if full:
        lines += [
            f"printf 'user %s\\n' \"$(getent passwd {USER} | cut -d: -f1,6,7)\"",
            f"crontab -u {USER} -l 2>/dev/null | sed 's/^/cron /'",
            f"printf 'line %s\\n' \"$(grep -c -E '^127\\.0\\.0\\.1[[:space:]]+benchapp\\.internal$' {LINE_FILE})\"",
            f"printf 'service %s %s\\n' \"$(systemctl is-active {SERVICE})\" \"$(systemctl is-enabled {SERVICE})\"",
        ]
    return "\n".join(lines) + "\n"


def parse_floor(output: str) -> dict[str, str]:
    """The floor script's output as {key: value}: "stat <path>", "sha256 <path>", "user", "cron", "line", "service"."""
    state: dict[str, str] = {}
    cron: list[str] = []
    for line in output.splitlines():
        kind, _, rest = line.partition(" ")
        if kind in ("stat", "sha256"):
            path, _, value = rest.partition(" ")
            state[f"{kind} {path}"] = value
        elif kind == "cron":
            cron.append(rest)
        elif kind in ("user", "line", "service"):
            state[kind] = rest
    state["cron"] = "\n".join(cron)
    return state


def expected_state(contents: dict[str, str]) -> dict[str, str]:
    """What ``parse_floor`` of a full reading must hold after a run (``contents``: path -> sha256 of each file).

    The crontab is checked for the entry line only: each tool frames it with its own marker comment.
    """
    state = {}
    for item in MANAGED:
        state[f"stat {item.path}"] = f"{item.kind}|{int(item.mode, 8):o}|{item.owner}|{item.group}"
        if item.kind == "file":
            state[f"sha256 {item.path}"] = contents[item.path]
    state["user"] = f"{USER}:{HOME}:{SHELL}"
    state["line"] = "1"
    state["service"] = "active enabled"
    return state


def state_problems(state: dict[str, str], expected: dict[str, str]) -> list[str]:
    """How a host's state (``parse_floor``) differs from ``expected``: [] when it is the deployment's."""
    problems = [f"{key}: {state.get(key, 'missing')!r}, expected {value!r}"
                for key, value in expected.items() if state.get(key) != value]
    if CRON_LINE not in state.get("cron", "").splitlines():
        problems.append(f"crontab of {USER}: no line {CRON_LINE!r}")
    if state.get(f"stat {VENV_CREATES}", "absent") == "absent":
        problems.append(f"{VENV_CREATES}: absent")
    return problems
