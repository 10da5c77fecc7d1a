"""Shared by all tests: each sandbox a test starts gets a network index no other run is using."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

from fpgaops.sandbox.network import link_exists
from fpgaops.sandbox.processes import listening

ENDPOINT_PORT_BASE = 45000


def endpoint_port(index: int) -> int:
    """The local AWS endpoint's port for a test sandbox on 10.200.<index>.0/24."""
    return ENDPOINT_PORT_BASE + index

LOCK_DIR = Path("/run/lock") if Path("/run/lock").is_dir() else Path("/tmp")
_held_locks: list = []  # flocks live as long as this test process: a crashed run frees them


def claim_network_index() -> int:
    """A free 10.200.N.0/24 for a test sandbox, locked against concurrent test runs and helpers."""
    for index in range(100, 250):
        lock = open(LOCK_DIR / f"fpgaops-test-net{index}.lock", "w")  # noqa: SIM115 (held for the session)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        if link_exists(f"fpgaops{index}") or listening("127.0.0.1", endpoint_port(index)):  # taken by a crashed run
            lock.close()
            continue
        _held_locks.append(lock)
        return index
    raise RuntimeError("no free sandbox network index for tests")


@pytest.fixture(scope="session")
def network_index_factory():
    return claim_network_index
