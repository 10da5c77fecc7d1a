"""The benchmark's deployment in fpgaops' own words: one role of 15 steps and a restart handler.

``role(artifact)`` gives the Role (``spec.py`` lists the steps); ``fabfile.py`` beside this file
makes it the task ``fab -r bench/engine deploy``, which the benchmark runs.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from bench.engine import spec
from fpgaops.core import Operation
from fpgaops.inventory import Host
from fpgaops.operations import cron, files, systemd, users, venv
from fpgaops.runner import Role

FILES_DIR = spec.FILES_DIR
RESTART = (spec.RESTART_HANDLER,)


@cache
def steps(artifact: str) -> tuple[Operation, ...]:
    """The 15 steps, the same for every host: built once, so the 5 MB artifact is hashed once per run."""
    variables = spec.TEMPLATE_VARS
    return (
        users.system_user("benchapp", home="/var/lib/benchapp", shell="/usr/sbin/nologin"),
        files.directory("/opt/benchapp", owner="root", group="root", mode="0755"),
        files.directory("/opt/benchapp/bin", owner="root", group="root", mode="0755"),
        files.directory("/etc/benchapp", owner="root", group="benchapp", mode="0750"),
        files.directory("/var/log/benchapp", owner="benchapp", group="benchapp", mode="0750"),
        files.file("/opt/benchapp/model.bin", local_path=artifact, owner="root", group="root", mode="0644",
                   notify=RESTART),
        files.template("/etc/benchapp/benchapp.env", "bench/benchapp.env.j2", variables, owner="root",
                       group="root", mode="0600", notify=RESTART),
        systemd.unit("benchapp.service", template_name="bench/benchapp.service.j2", variables=variables,
                     notify=RESTART),
        files.line("/etc/hosts", r"^127\.0\.0\.1\s+benchapp\.internal$", "127.0.0.1 benchapp.internal"),
        cron.cron_block("benchapp", "benchapp-health", ["*/5 * * * * /opt/benchapp/bin/benchapp.sh health"]),
        files.file("/opt/benchapp/bin/benchapp.sh", local_path=FILES_DIR / "benchapp.sh", owner="root",
                   group="root", mode="0755", notify=RESTART),
        venv.venv(spec.VENV_PATH, spec.VENV_REQUIREMENTS),
        files.file("/etc/benchapp/app.toml", local_path=FILES_DIR / "app.toml", owner="root", group="benchapp",
                   mode="0640", notify=RESTART),
        files.file("/etc/benchapp/logging.ini", local_path=FILES_DIR / "logging.ini", owner="root",
                   group="benchapp", mode="0640", notify=RESTART),
        systemd.service("benchapp.service", enabled=True, running=True, satisfies=RESTART),
    )


def role(artifact: str | Path) -> Role:
    """The deployment as a Role for every host of the inventory (``--limit`` narrows it)."""
    artifact = str(Path(artifact).resolve())

    def tasks(host: Host) -> list[Operation]:
        return list(steps(artifact))

    def handlers(host: Host) -> dict[str, Operation]:
        return {spec.RESTART_HANDLER: systemd.service("benchapp.service", restarted=True)}

    return Role("benchapp", tasks, handlers)
