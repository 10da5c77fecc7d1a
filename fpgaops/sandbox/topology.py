"""The static topology: named hosts (``--hosts dev,f1-a,f1-b,errgen``) for work that needs no cloud.

A name's role follows from the name: ``dev`` is the build host, ``errgen`` runs the error
generator stand-in, anything else is an FPGA host.  ``name:f1`` or ``name:f2`` picks the
platform of one host (login user and FPGA shell); the default comes from ``--platform``.
``name@1.18.0`` picks the host's FPGA Developer AMI from the platform table (its Vivado/Vitis);
the default is the platform's newest (``fpgaops.fpga_platform.default_ami``).
"""

from __future__ import annotations

import re
from pathlib import Path

from fpgaops.fpga_platform import PlatformTableError, default_ami, developer_ami
from fpgaops.platforms import platform_named
from fpgaops.sandbox.config import SandboxConfig
from fpgaops.sandbox.errors import SandboxError
from fpgaops.sandbox.hosts import HostSpec

STATIC_FIRST_OCTET = 11  # static hosts get .11, .12, ...; instance hosts .101 and up
STATIC_LAST_OCTET = 99
ERRGEN_SCRIPT = Path(__file__).with_name("errgen.py")
ERRGEN_PORT = 9090
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")

ERRGEN_BOOT = """\
# start the error generator stand-in, unprivileged, as the original runs beside the service
install -d -o nobody -g nogroup /var/lib/errgen
install -m 755 /run/sandbox-host/files/errgen.py /usr/local/bin/errgen
RHYTHM_SERVICE_URL={rhythm_url} ERROR_GENERATOR_PORT={port} setsid \\
  setpriv --reuid=nobody --regid=nogroup --clear-groups \\
  /usr/bin/python3 /usr/local/bin/errgen --record /var/lib/errgen/triggers.jsonl \\
  </dev/null >/var/log/errgen.log 2>&1 &
"""


class TopologyError(SandboxError):
    """A --hosts value that does not describe a topology."""


def role_of(name: str) -> str:
    return name if name in ("dev", "errgen") else "fpga"


def parse_hosts(value: str, default_platform: str) -> list[tuple[str, str, str]]:
    """``"dev@1.18.0,f1-a:f1"`` -> ``[("dev", "f2", "1.18.0"), ("f1-a", "f1", "1.12.2")]`` with clear errors."""
    out: list[tuple[str, str, str]] = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        item, _, ami = item.partition("@")
        name, _, platform = item.partition(":")
        if not NAME_RE.match(name):
            raise TopologyError(f"bad host name {name!r}: use lower-case letters, digits and '-'")
        try:
            platform_named(platform or default_platform)
            ami = developer_ami(ami).version if ami else default_ami(platform or default_platform).version
        except (ValueError, PlatformTableError) as err:
            raise TopologyError(f"host {name}: {err}") from None
        if name in (n for n, *_ in out):
            raise TopologyError(f"host {name} is listed twice")
        out.append((name, platform or default_platform, ami))
    if len(out) > STATIC_LAST_OCTET - STATIC_FIRST_OCTET + 1:
        raise TopologyError("too many static hosts")
    return out


def static_specs(cfg: SandboxConfig, hosts: list[tuple[str, ...]], client_public_key: str) -> list[HostSpec]:
    """The HostSpecs of a static topology, addresses in the order given.

    ``hosts`` as ``parse_hosts`` gives them; (name, platform) pairs get the platform's default AMI.
    """
    fpga_hosts = [n for n, *_ in hosts if role_of(n) == "fpga"]
    rhythm_url = f"http://{fpga_hosts[0]}:5001" if fpga_hosts else "http://localhost:5001"
    specs = []
    for index, (name, platform_name, *ami) in enumerate(hosts):
        platform, role = platform_named(platform_name), role_of(name)
        boot, files = {}, ()
        if role == "errgen":
            boot = {"errgen.sh": ERRGEN_BOOT.format(rhythm_url=rhythm_url, port=ERRGEN_PORT)}
            files = (str(ERRGEN_SCRIPT),)
        specs.append(HostSpec(
            name=name,
            address=f"{cfg.subnet_prefix}.{STATIC_FIRST_OCTET + index}",
            role=role,
            login_user=platform.login_user,
            fpga_platform=platform.name if role == "fpga" else None,
            fpga_slots=platform.slots_for(platform.default_instance_type) if role == "fpga" else 0,
            dev_ami=role != "errgen",
            ami=ami[0] if ami else default_ami(platform.name).version,
            authorized_keys=(client_public_key,),
            boot_scripts=boot,
            files=files,
        ))
    return specs
