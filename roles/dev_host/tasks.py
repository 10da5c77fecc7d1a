"""dev_host tasks: toolchain, aws-fpga at a pinned ref, the HDK environment check, the hls_model venv."""

from __future__ import annotations

import posixpath
from pathlib import Path
from shlex import quote

from fpgaops.core import Operation
from fpgaops.inventory import Host
from fpgaops.operations.commands import command
from fpgaops.operations.files import directory
from fpgaops.operations.packages import packages_by_manager
from fpgaops.operations.venv import venv
from fpgaops.role_vars import RoleVars, role_vars
from fpgaops.runner import Role
from fpgaops.wheelhouse import DEFAULT_ROOT, ensure_wheelhouse
from roles.dev_host.aws_fpga import HDK_DONE, aws_fpga_checkout, checkout_dir, laptop_path, sourced

DEFAULTS = Path(__file__).with_name("defaults.yml")
WHEELHOUSE_ROOT = DEFAULT_ROOT


def wheelhouse_for(v: RoleVars, requirements: Path) -> Path | None:
    """The laptop wheelhouse the venv installs from: none, the given folder, or one built for the requirements."""
    if not v["wheelhouse"]:
        return None
    if v["hls_model_wheelhouse"]:
        folder = laptop_path(v["hls_model_wheelhouse"])
        if not folder.is_dir():
            raise ValueError(f"hls_model_wheelhouse {folder} is not a folder of wheels")
        return folder
    return ensure_wheelhouse(requirements, WHEELHOUSE_ROOT)


def tasks(host: Host) -> list[Operation]:
    """The build host's steps."""
    v = role_vars(host, DEFAULTS)
    tree = checkout_dir(host, v)
    requirements = laptop_path(v["hls_model_requirements"])
    if not requirements.is_file():
        raise ValueError(f"hls_model_requirements {requirements} does not exist")
    venv_path = v["hls_model_venv"]
    operations = [
        packages_by_manager(v["dev_packages"], cache_valid_time=v["apt_cache_valid_time"], tags=("packages",)),
        *aws_fpga_checkout(host, v, tags=("aws_fpga",)),
    ]
    if v["hdk_check"]:
        done = posixpath.join(tree, HDK_DONE)
        operations.append(command(f"{sourced(tree, 'hdk_setup.sh', login_shell=True)} && touch {quote(done)}",
                                  creates=done, sudo=False, description="HDK environment: source hdk_setup.sh",
                                  tags=("aws_fpga", "hdk")))
    operations += [
        directory(posixpath.dirname(venv_path), tags=("venv",)),
        venv(venv_path, requirements, python=v["hls_model_python"], wheelhouse=wheelhouse_for(v, requirements),
             tags=("venv",)),
    ]
    return operations


def role() -> Role:
    """The dev_host role, for the hosts of group ``dev``."""
    return Role("dev_host", tasks, hosts="dev")
