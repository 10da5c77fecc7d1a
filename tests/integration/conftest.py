"""A sandbox per test session, on its own /24 and state directory, always brought down."""

from __future__ import annotations

import os

import pytest

from fpgaops.sandbox import lifecycle
from fpgaops.sandbox.config import SandboxConfig, Timings
from fpgaops.sandbox.topology import parse_hosts
from tests.conftest import endpoint_port

FAST_TIMINGS = Timings(fpga_busy_s=0.5, hls_synth_s=0.3, dcp_build_s=0.5, afi_pending_s=0.5)


def pytest_collection_modifyitems(items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="sandbox hosts need root (namespaces, mounts)")
        for item in items:
            if "integration" in item.path.parts:
                item.add_marker(skip)


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
def sandbox(new_config):
    """Static hosts dev, f1-a (F2, ubuntu), f1-b (F1, centos), errgen and the local endpoint."""
    yield from running_sandbox(new_config("sandbox"), "dev,f1-a,f1-b:f1,errgen", cloud=True)


