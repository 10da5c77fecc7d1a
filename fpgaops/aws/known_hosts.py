"""Pin the SSH host keys of the project's instances, read from their console output (no trust on first use).

An instance prints its host keys to the console at first boot (``host_keys.host_keys_from_console``);
AWS makes the console output available a few minutes after boot, so reading it is a wait.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from fpgaops.aws.errors import AwsError, translate_errors
from fpgaops.aws.host_keys import host_keys_from_console
from fpgaops.aws.instances import InstanceRecord
from fpgaops.aws.progress import ProgressCallback, WaitTimedOut, format_elapsed, ignore_progress, wait_until


@translate_errors
def instance_host_keys(ec2, instance: InstanceRecord, *, timeout_s: float = 600.0, interval_s: float = 10.0,
                       progress: ProgressCallback = ignore_progress) -> list[str]:
    """The ``type base64`` host keys an instance printed at boot, waiting until its console output has them.

    Example: ``instance_host_keys(ec2, record)`` -> ``["ssh-ed25519 AAAA..."]``
    """
    def read() -> list[str]:
        return host_keys_from_console(ec2.get_console_output(InstanceId=instance.instance_id).get("Output") or "")

    try:
        return wait_until(read, bool, stage="host-keys", timeout_s=timeout_s, interval_s=interval_s,
                          progress=progress, subject=instance.name,
                          describe=lambda keys, t: f"{instance.name}: {len(keys)} host keys after {format_elapsed(t)}")
    except WaitTimedOut:
        raise AwsError(f"{instance.name} ({instance.instance_id}): no SSH host keys in its console output after "
                       f"{format_elapsed(timeout_s)}", code="NoHostKeys",
                       fix="rerun later (the console output appears minutes after boot), or check that the AMI "
                           "runs cloud-init") from None


def known_hosts_lines(ec2, instances: Sequence[InstanceRecord], *, timeout_s: float = 600.0, interval_s: float = 10.0,
                      progress: ProgressCallback = ignore_progress) -> list[str]:
    """``<address> <type> <base64> <instance id>`` lines for each instance's public (else private) address (the
    instance id is the line's comment: ``pinned_instances`` reads it back).

    Example: ``update_known_hosts(Path(".fpgaops/known_hosts"), known_hosts_lines(ec2, result.instances))``
    """
    lines = []
    for instance in instances:
        address = instance.public_ip or instance.private_ip
        if address:
            keys = instance_host_keys(ec2, instance, timeout_s=timeout_s, interval_s=interval_s, progress=progress)
            lines.extend(f"{address} {key} {instance.instance_id}" for key in keys)
    return lines


def unpinned(path: Path, instances: Sequence[InstanceRecord]) -> list[InstanceRecord]:
    """The instances whose host keys ``path`` does not hold yet for their address (a new instance at an address
    pinned for another one included): only theirs are read from the console output."""
    lines = path.read_text().splitlines() if path.exists() else []
    pinned = {(fields[0], fields[3]) for fields in map(str.split, lines) if len(fields) >= 4}
    return [instance for instance in instances
            if (instance.public_ip or instance.private_ip, instance.instance_id) not in pinned]


def update_known_hosts(path: Path, lines: Sequence[str]) -> bool:
    """Replace the lines of the addresses in ``lines`` in the known_hosts file ``path`` (0600); True if it changed.

    Example: ``update_known_hosts(Path(".fpgaops/known_hosts"), ["203.0.113.7 ssh-ed25519 AAAA..."])``
    """
    addresses = {line.split()[0] for line in lines}
    before = path.read_text().splitlines() if path.exists() else []
    after = [line for line in before if not line.split() or line.split()[0] not in addresses] + list(lines)
    if after == before:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text("".join(f"{line}\n" for line in after))
    os.chmod(partial, 0o600)
    os.replace(partial, path)
    return True
