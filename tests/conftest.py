"""Shared by all tests: sandboxes for tests, each on a network index and port no other run is using."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

from fpgaops.sandbox import lifecycle
from fpgaops.sandbox.config import SandboxConfig, Timings
from fpgaops.sandbox.network import link_exists
from fpgaops.sandbox.processes import listening
from fpgaops.sandbox.topology import parse_hosts

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


FAST_TIMINGS = Timings(fpga_busy_s=0.5, hls_synth_s=0.3, dcp_build_s=0.5, afi_pending_s=0.5)


@pytest.fixture(scope="session")
def new_config(tmp_path_factory, network_index_factory):
    """Make the config of a new sandbox: own state directory, /24, bridge and endpoint port."""

    def make(name: str) -> SandboxConfig:
        state = tmp_path_factory.mktemp(name)
        index = network_index_factory()
        return SandboxConfig(state_dir=state, inventory_path=state / "inventory.yml", network_index=index,
                             endpoint_port=endpoint_port(index), timings=FAST_TIMINGS)

    return make


def running_sandbox(cfg: SandboxConfig, hosts: str, *, cloud: bool = False):
    """Yield ``cfg`` with its sandbox up (hosts as ``--hosts`` takes them); down afterwards, whatever happened.

    Example: ``yield from running_sandbox(new_config("runner"), "r1,r2:f1")`` in a fixture.
    """
    try:
        lifecycle.up(cfg, parse_hosts(hosts, "f2"), cloud=cloud)
        yield cfg
    finally:
        lifecycle.down(cfg)


@pytest.fixture(scope="session")
def model_package() -> Path:
    """The packaged CI beat model (``build/test-model/package/beat-model-<release>/``), built once."""
    from tests.model_package import model_package_folder

    return model_package_folder()
