"""SSH to sandbox hosts from tests the way the toolkit does: key auth, strict host key checking."""

from __future__ import annotations

from pathlib import Path

import paramiko
from fabric import Config, Connection

from fpgaops.sandbox.config import SandboxConfig


def connect(cfg: SandboxConfig, address: str, user: str, known_hosts: Path | None = None) -> Connection:
    """An open fabric Connection refusing any host key not pinned in known_hosts (the sandbox's by default)."""
    conn = Connection(address, user=user, config=Config(overrides={"run": {"in_stream": False, "hide": True}}),
                      connect_kwargs={"key_filename": str(cfg.client_key), "look_for_keys": False,
                                      "allow_agent": False})
    conn.client.load_host_keys(str(known_hosts or cfg.known_hosts))
    conn.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    conn.open()
    return conn
