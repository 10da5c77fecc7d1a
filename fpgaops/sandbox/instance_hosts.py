"""The hosts behind instances launched through the local AWS endpoint.

The endpoint process (root) calls this provider from RunInstances, Stop/Start/TerminateInstances:
each instance gets a sandbox host named after its instance id, with an EC2-style hostname
(``ip-10-200-0-101``), an address from the top of the sandbox's /24 that describe_instances then
reports, the key pair's public key authorized for the AMI's login user, and the FPGA Developer
AMI layer.  Stopping keeps the host's disk (its writable layers) and loses /run, so an FPGA
image loaded on it is gone after a start, as on EC2.
"""

from __future__ import annotations

from pathlib import Path

from fpgaops.sandbox.cloud.host_provider import InstanceHostSpec, LaunchedHost
from fpgaops.sandbox.config import SandboxConfig
from fpgaops.sandbox.errors import SandboxError
from fpgaops.sandbox.hosts import HostSpec, SandboxHosts

FIRST_OCTET, LAST_OCTET = 101, 250


class InstanceHosts:
    """An InstanceHostProvider backed by sandbox hosts (see fpgaops.sandbox.cloud.host_provider)."""

    def __init__(self, cfg: SandboxConfig):
        self.hosts = SandboxHosts(cfg)
        self.cfg = cfg

    def _free_address(self) -> str:
        used = self.hosts.used_addresses()
        for octet in range(FIRST_OCTET, LAST_OCTET + 1):
            address = f"{self.cfg.subnet_prefix}.{octet}"
            if address not in used:
                return address
        raise SandboxError(f"no free sandbox address left for an instance ({LAST_OCTET - FIRST_OCTET + 1} max)")

    def _launched(self, instance_id: str) -> LaunchedHost:
        return LaunchedHost(self.hosts.spec(instance_id).address, (self.hosts.host_public_key(instance_id),))

    def launch(self, instance_id: str, spec: InstanceHostSpec) -> LaunchedHost:
        address = self._free_address()
        self.hosts.start([HostSpec(
            name=instance_id,
            hostname="ip-" + address.replace(".", "-"),
            address=address,
            role="instance",
            login_user=spec.login_user,
            fpga_platform=spec.platform,
            fpga_slots=spec.fpga_slots,
            instance_id=instance_id,
            authorized_keys=spec.authorized_keys,
            **({"ami": spec.ami} if spec.ami else {}),
        )])
        return self._launched(instance_id)

    def stop(self, instance_id: str) -> None:
        self.hosts.stop([instance_id])

    def start(self, instance_id: str) -> LaunchedHost:
        self.hosts.start([self.hosts.spec(instance_id)], fresh=False)
        return self._launched(instance_id)

    def terminate(self, instance_id: str) -> None:
        self.hosts.remove([instance_id])


def provider_for_state_dir(state_dir: str | None) -> InstanceHosts:
    """The endpoint's ``--host-provider`` hook: the provider of the sandbox saved in ``state_dir``."""
    if state_dir is None:
        raise SandboxError("instance hosts need the sandbox's --state-dir")
    return InstanceHosts(SandboxConfig.load(Path(state_dir)))
