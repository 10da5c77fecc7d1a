"""``GetConsoleOutput`` of an instance with a host: a Linux boot log in which cloud-init prints the SSH
host keys, as on EC2, so that a client can learn them from the cloud API before it connects.

The keys sit between ``-----BEGIN SSH HOST KEY KEYS-----`` and ``-----END SSH HOST KEY KEYS-----``
(after the fingerprints block), one ``<type> <base64> root@<hostname>`` line each; ``Output`` is
base64-encoded, as AWS sends it. Instances without a host keep moto's sample output.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from moto.core.responses import ActionResult
from moto.ec2.responses import EC2Response

from fpgaops.sandbox.cloud.instances import host_of

KEY_TYPE_LABELS = {"ssh-ed25519": "ED25519", "ssh-rsa": "RSA", "ecdsa-sha2-nistp256": "ECDSA",
                   "ecdsa-sha2-nistp384": "ECDSA", "ecdsa-sha2-nistp521": "ECDSA"}

_moto_get_console_output = EC2Response.get_console_output


def install_console_output() -> None:
    """Make moto's GetConsoleOutput print the host keys of instances that have a host."""
    EC2Response.get_console_output = get_console_output


def get_console_output(self: EC2Response) -> ActionResult:
    """GetConsoleOutput: the boot log of the instance's host, or moto's sample without a host."""
    instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
    host = host_of(instance)
    if host is None:
        return _moto_get_console_output(self)
    hostname = "ip-" + instance.private_ip.replace(".", "-")
    text = boot_log(hostname, host.host_public_keys)
    return ActionResult({"InstanceId": instance.id, "Timestamp": datetime.now(UTC),
                         "Output": base64.b64encode(text.encode()).decode()})


def boot_log(hostname: str, host_public_keys: tuple[str, ...]) -> str:
    """The console text of a boot in which cloud-init printed these host keys."""
    keys = [" ".join(line.split()[:2]) for line in host_public_keys]
    return "\n".join([
        "[    0.000000] Linux version 6.8.0-1021-aws (buildd@lcy02-amd64-092) (x86_64-linux-gnu-gcc-13) "
        "#23-Ubuntu SMP",
        "[    0.000000] Command line: BOOT_IMAGE=/vmlinuz-6.8.0-1021-aws root=PARTUUID=0 ro console=ttyS0",
        "[   12.201833] cloud-init[612]: Cloud-init v. 24.4 running 'init' . Up 12.10 seconds.",
        "<14>Generating SSH host keys for " + hostname,
        "-----BEGIN SSH HOST KEY FINGERPRINTS-----",
        *(_fingerprint_line(key, hostname) for key in keys),
        "-----END SSH HOST KEY FINGERPRINTS-----",
        "-----BEGIN SSH HOST KEY KEYS-----",
        *(f"{key} root@{hostname}" for key in keys),
        "-----END SSH HOST KEY KEYS-----",
        "[   25.402113] cloud-init[1021]: Cloud-init v. 24.4 finished. Datasource DataSourceEc2Local.",
        "",
    ])


def _fingerprint_line(key: str, hostname: str) -> str:
    key_type, blob = key.split()
    fingerprint = base64.b64encode(hashlib.sha256(base64.b64decode(blob)).digest()).decode().rstrip("=")
    return f"{_key_bits(key)} SHA256:{fingerprint} root@{hostname} ({KEY_TYPE_LABELS.get(key_type, key_type)})"


def _key_bits(key: str) -> int:
    key_type = key.split()[0]
    if key_type == "ssh-ed25519":
        return 256
    if key_type.startswith("ecdsa-sha2-nistp"):
        return int(key_type.removeprefix("ecdsa-sha2-nistp"))
    return serialization.load_ssh_public_key(key.encode()).key_size
