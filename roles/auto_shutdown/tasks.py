"""auto_shutdown: install (or remove) the idle check script and its named cron block in root's crontab.

The script (``templates/auto_shutdown/idle_check.sh.j2``) takes one reading each
``auto_shutdown_check_minutes`` and shuts the host down after ``auto_shutdown_idle_readings``
consecutive idle ones (load below the threshold, no SSH connection, no recent service request);
a second cron line shuts it down at the nightly time.  Variables: ``defaults.yml``.

Example (fabfile.py)::

    auto_shutdown = roles_task(lambda: [tasks.role()], name="auto-shutdown", doc="...")
"""

from __future__ import annotations

from pathlib import Path

from fpgaops.core import Operation
from fpgaops.inventory import Host
from fpgaops.operations.cron import cron_block
from fpgaops.operations.files import absent, directory, template
from fpgaops.role_vars import role_vars
from fpgaops.runner import Role
from roles.auto_shutdown.settings import AutoShutdownSettings

DEFAULTS = Path(__file__).with_name("defaults.yml")
TEMPLATE = "auto_shutdown/idle_check.sh.j2"
CRON_USER = "root"
CRON_BLOCK = "auto-shutdown"
HOSTS = "f1"  # the FPGA hosts: never the dev host, whose overnight synthesis must not be cut short
TAGS = ("auto-shutdown",)


def settings_of(host: Host) -> AutoShutdownSettings:
    """The host's checked auto_shutdown settings (its variables over ``defaults.yml``)."""
    return AutoShutdownSettings.from_vars(role_vars(host, DEFAULTS))


def tasks(host: Host) -> list[Operation]:
    """The state directory, the idle check script (root 0755), then the cron block that runs it.

    Example: ``tasks(inventory.host("f1-a"))`` -> [directory, template, cron block]
    """
    settings = settings_of(host)
    return [
        directory(settings.state_dir, mode=0o755, tags=TAGS),
        template(settings.script, TEMPLATE, settings.template_vars(), mode=0o755, tags=TAGS),
        cron_block(CRON_USER, CRON_BLOCK, settings.cron_entries(), tags=TAGS),
    ]


def disable_tasks(host: Host) -> list[Operation]:
    """The cron block removed first (cron never runs a missing script), then the script and its count.

    The log file is kept: it tells when and why the host was shut down.
    Example: ``disable_tasks(inventory.host("f1-a"))`` -> [cron block absent, absent script, absent state]
    """
    settings = settings_of(host)
    return [
        cron_block(CRON_USER, CRON_BLOCK, absent=True, tags=TAGS),
        absent(settings.script, tags=TAGS),
        absent(settings.state_file, tags=TAGS),
    ]


def role(hosts: str = HOSTS) -> Role:
    """The auto_shutdown role: install the idle check and nightly shutdown on ``hosts`` (the FPGA hosts).

    Example: ``run_roles(options, [role()])``
    """
    return Role("auto_shutdown", tasks, hosts=hosts)


def disable_role(hosts: str = HOSTS) -> Role:
    """The auto_shutdown role in reverse: remove the cron block, the script and its state from ``hosts``.

    Example: ``run_roles(options, [disable_role()])``
    """
    return Role("auto_shutdown", disable_tasks, hosts=hosts)
