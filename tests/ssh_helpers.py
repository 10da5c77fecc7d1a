"""SSH to sandbox hosts from tests the way the toolkit does: key auth, strict host key checking."""

from __future__ import annotations

import paramiko
from fabric import Config, Connection

from fpgaops.sandbox.config import SandboxConfig


def connect(cfg: SandboxConfig, address: str, user: str) -> Connection:
    """An open fabric Connection that refuses any host key not pinned in the sandbox's known_hosts."""
    conn = Connection(address, user=user, config=Config(overrides={"run": {"in_stream": False, "hide": True}}),
                      connect_kwargs={"key_filename": str(cfg.client_key), "look_for_keys": False,
                                      "allow_agent": False})
    conn.client.load_host_keys(str(cfg.known_hosts))
    conn.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    conn.open()
    return conn
