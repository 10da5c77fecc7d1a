"""Learn an instance's SSH host keys from the cloud, not from the network (no trust on first use).

EC2 Linux AMIs print their host keys to the console at first boot, between
``-----BEGIN SSH HOST KEY KEYS-----`` and ``-----END SSH HOST KEY KEYS-----``; GetConsoleOutput
returns that log over the authenticated AWS API, so keys read there can be pinned in known_hosts
before the first SSH connection.
"""

from __future__ import annotations

BEGIN = "-----BEGIN SSH HOST KEY KEYS-----"
END = "-----END SSH HOST KEY KEYS-----"


def host_keys_from_console(output: str) -> list[str]:
    """The ``type base64`` host keys of a console log (empty when the block is not there yet).

    >>> host_keys_from_console("x\\n-----BEGIN SSH HOST KEY KEYS-----\\nssh-ed25519 AAAA root@h\\n"
    ...                        "-----END SSH HOST KEY KEYS-----\\n")
    ['ssh-ed25519 AAAA']
    """
    keys, inside = [], False
    for raw in output.splitlines():
        line = raw.split(": ", 1)[1] if raw.startswith("ec2: ") else raw  # some AMIs prefix "ec2: "
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif inside and line.strip():
            keys.append(" ".join(line.split()[:2]))
    return keys
