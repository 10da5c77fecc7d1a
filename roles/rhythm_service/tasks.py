"""rhythm_service: the service on every FPGA host, as a versioned release under systemd.

Steps: the service user (in the card's group), the release (code + model) unpacked under
``releases/<id>`` and switched in as ``current`` (the previous one kept for ``fab rollback``), a
venv from the pinned requirements, ``.env`` (0600, the service user's) and the hardened unit from
templates, the service enabled and running, and a health check. The service restarts once, at
the end of the role, only when the release, the venv, the ``.env`` or the unit changed.

Variables: ``defaults.yml``; the deploy flow sets ``rhythm_release_tarball``/``rhythm_release_id``
(the release built on the laptop) and ``afi_agfi``.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from fpgaops.core import Operation
from fpgaops.inventory import Host
from fpgaops.operations.archives import archive
from fpgaops.operations.files import directory, template
from fpgaops.operations.packages import packages_by_manager
from fpgaops.operations.releases import release_current, releases_pruned, rolled_back
from fpgaops.operations.systemd import service, unit
from fpgaops.operations.users import system_user
from fpgaops.operations.venv import venv
from fpgaops.operations.waits import http_status
from fpgaops.role_vars import RoleVars, role_vars
from fpgaops.runner import Role
from fpgaops.wheelhouse import ensure_wheelhouse
from roles.rhythm_service.release import REQUIREMENTS

DEFAULTS = Path(__file__).with_name("defaults.yml")
RESTART = "restart the service"
SECRETS = ("spotify_client_secret",)


def service_vars(host: Host) -> RoleVars:
    """The service role's variables on ``host`` (its defaults.yml under the inventory)."""
    return role_vars(host, DEFAULTS)


def unit_name(v: RoleVars) -> str:
    """The service's systemd unit."""
    return f"{v['service_name']}.service"


def env_and_unit(v: RoleVars) -> list[Operation]:
    """The rendered ``.env`` (0600, the service user's) and unit; both restart the service when changed."""
    name = v["service_name"]
    return [
        directory(v["service_config_dir"], owner="root", group=name, mode="0750", tags=("env",)),
        template(posixpath.join(v["service_config_dir"], f"{name}.env"), "rhythm_service/rhythm.env.j2", v,
                 secrets=SECRETS, mode="0600", owner=name, group=name, tags=("env",), notify=[RESTART]),
        unit(unit_name(v), template_name="rhythm_service/rhythm.service.j2", variables=v, tags=("unit",),
             notify=[RESTART]),
    ]


def tasks(host: Host) -> list[Operation]:
    """The service's steps on one FPGA host."""
    v = service_vars(host)
    name, root = v["service_name"], v["service_root"]
    release = v["rhythm_release_id"]
    wheels = ensure_wheelhouse(REQUIREMENTS) if v["wheelhouse"] else None
    return [
        packages_by_manager(v["service_packages"], tags=("packages",)),
        system_user(name, home=f"/var/lib/{name}", tags=("user",)),
        directory(root, tags=("release",)),
        directory(posixpath.join(root, "releases"), tags=("release",)),
        archive(v["rhythm_release_tarball"], posixpath.join(root, "releases", release), strip_components=1,
                tags=("release",)),
        venv(posixpath.join(root, "venv"), REQUIREMENTS, python=v["python"], wheelhouse=wheels, tags=("venv",),
             notify=[RESTART]),
        release_current(root, release, tags=("release",), notify=[RESTART]),
        releases_pruned(root, keep=int(v["releases_kept"]), tags=("release",)),
        *env_and_unit(v),
        service(unit_name(v), enabled=True, running=True, satisfies=[RESTART], tags=("service",)),
    ]


def handlers(host: Host) -> dict[str, Operation]:
    """Restart the service (once, when something it runs from changed), then check its health."""
    v = service_vars(host)
    return {RESTART: service(unit_name(v), restarted=True)}


def health_check(host: Host) -> list[Operation]:
    """GET /health on the host answers 200 within ``health_timeout_s``."""
    v = service_vars(host)
    return [http_status(f"http://127.0.0.1:{v['service_port']}/health", 200, timeout_s=float(v["health_timeout_s"]),
                        tags=("health",))]


def role(hosts: str = "f1") -> Role:
    """The service role for the FPGA hosts."""
    return Role("rhythm_service", tasks, handlers, hosts=hosts)


def env_role(hosts: str = "f1") -> Role:
    """Only the ``.env`` and the unit (``fab render-env``): the service restarts if they changed."""
    return Role("render_env", lambda host: env_and_unit(service_vars(host)), handlers, hosts=hosts)


def health_role(hosts: str = "f1") -> Role:
    """The health check alone (``fab health``), after the service role in a deploy."""
    return Role("health", health_check, hosts=hosts)


def restart_role(hosts: str = "f1") -> Role:
    """Restart the service now (``fab restart``)."""
    return Role("restart", lambda host: [service(unit_name(service_vars(host)), restarted=True)], hosts=hosts)


def rollback_role(hosts: str = "f1") -> Role:
    """Switch ``current`` back to the previous release and restart (``fab rollback``)."""
    return Role("rollback", lambda host: [rolled_back(service_vars(host)["service_root"], notify=[RESTART])], handlers,
                hosts=hosts)
