"""What ``up`` writes for the toolkit and for people: an Ansible inventory, known_hosts, ssh_config.

The inventory is Ansible's YAML format, so ``ansible-inventory -i inventory/sandbox.yml --list``
reads it as our engine does.  Host keys are pinned in the sandbox's own known_hosts file and
checked strictly: a sandbox host is trusted because the sandbox made its key, not on first use.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from fpgaops.sandbox.config import SandboxConfig
from fpgaops.sandbox.hosts import HostSpec

GROUP_OF_ROLE = {"dev": "dev", "fpga": "f1", "errgen": "errgen"}
HEADER = """\
# Written by `fab sandbox.up` (fpgaops sandbox: a local stand-in for AWS, not AWS). Do not edit:
# it is rewritten on every `up` and removed by `down`.
"""


def _atomic_write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def deployment_vars(cfg: SandboxConfig) -> dict:
    """What ``fab provision deploy`` needs to run against the sandbox's cloud instead of AWS: the project's
    instances join the inventory, SSH and the service open to the sandbox's gateway only, the small
    model configuration, offline venvs from laptop wheels, quick polls."""
    return {
        "ec2_hosts": True,
        "project": "sandbox",
        "ssh_cidrs": [f"{cfg.gateway}/32"],
        "fpga_count": 1,
        "model_ci": True,
        "wheelhouse": True,
        "launch_poll_s": 0.5,
        "afi_poll_s": 1,
        "synth_poll_s": 1,
    }


def inventory_data(cfg: SandboxConfig, specs: list[HostSpec], sdk_archive: Path | None, cloud: bool = True) -> dict:
    """The inventory as a dict: groups by role, connection variables, the sandbox's endpoint."""
    all_vars = {
        "ansible_ssh_private_key_file": str(cfg.client_key),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={cfg.known_hosts} -o StrictHostKeyChecking=yes",
        "fpgaops_known_hosts": str(cfg.known_hosts),
        "fpgaops_sandbox": True,
        "aws_endpoint_url": cfg.endpoint_url,
        "aws_region": cfg.region,
        **(deployment_vars(cfg) if cloud else {}),
    }
    if sdk_archive is not None:
        all_vars["aws_fpga_sdk_archive"] = str(sdk_archive)
    children: dict[str, dict] = {}
    for spec in specs:
        host_vars = {"ansible_host": spec.address, "ansible_user": spec.login_user}
        if spec.fpga_platform:
            host_vars |= {"fpga_platform": spec.fpga_platform, "fpga_slots": spec.fpga_slots}
        group = children.setdefault(GROUP_OF_ROLE[spec.role], {"hosts": {}})
        group["hosts"][spec.name] = host_vars
    return {"all": {"vars": all_vars, "children": children}}


def write_inventory(cfg: SandboxConfig, specs: list[HostSpec], sdk_archive: Path | None, cloud: bool = True) -> None:
    data = inventory_data(cfg, specs, sdk_archive, cloud)
    _atomic_write(cfg.inventory_path, HEADER + yaml.safe_dump(data, sort_keys=False))


def write_known_hosts(cfg: SandboxConfig, keys: dict[str, str]) -> None:
    """Pin each static host's key (address -> "ssh-ed25519 AAAA... comment")."""
    lines = [f"{address} {' '.join(key.split()[:2])}\n" for address, key in sorted(keys.items())]
    _atomic_write(cfg.known_hosts, "".join(lines))


def write_ssh_config(cfg: SandboxConfig, specs: list[HostSpec]) -> None:
    """``ssh -F .sandbox/ssh_config dev`` for a person troubleshooting by hand."""
    blocks = [
        f"Host {s.name}\n  HostName {s.address}\n  User {s.login_user}\n  IdentityFile {cfg.client_key}\n"
        f"  IdentitiesOnly yes\n  UserKnownHostsFile {cfg.known_hosts}\n  StrictHostKeyChecking yes\n"
        for s in specs
    ]
    _atomic_write(cfg.ssh_config, "\n".join(blocks))


def remove_written_files(cfg: SandboxConfig) -> None:
    for path in (cfg.inventory_path, cfg.known_hosts, cfg.ssh_config):
        path.unlink(missing_ok=True)
