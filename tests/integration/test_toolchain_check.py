"""Before a build, the dev host's Vivado is checked against its aws-fpga checkout: both ways, on three AMIs.

A sandbox of its own runs three FPGA Developer AMIs of the platform table (1.18.0: Vivado 2025.1,
the default 1.19.2: 2025.2, the F1-era 1.12.2: 2021.2). Each gets aws-fpga checkouts of the
table's releases (the sandbox's archives), and the synth role's check (``SynthPlan.check_toolchain``,
over SSH) must agree with what ``hdk_setup.sh`` of that checkout says in a login shell.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fpgaops.connection import ConnectionPool
from fpgaops.fpga_platform import DEFAULT_AMI, RELEASES, developer_ami
from fpgaops.inventory import Inventory
from fpgaops.sandbox.sdk_archive import build_sdk_archive
from roles.flow import FlowStopped
from roles.synth.tasks import SynthPlan
from tests.conftest import running_sandbox

HOSTS = {"dev": "1.18.0", "new": DEFAULT_AMI, "old": "1.12.2"}


@pytest.fixture(scope="module")
def amis(new_config):
    yield from running_sandbox(new_config("amis"), ",".join(f"{name}@{ami}" for name, ami in HOSTS.items()))


@pytest.fixture(scope="module")
def pool(amis):
    with ConnectionPool(hosts=Inventory.load(amis.inventory_path).hosts, ssh_config_path=None) as connections:
        yield connections


@pytest.fixture(scope="module")
def checkouts(amis, pool, tmp_path_factory) -> dict[str, str]:
    """Every release of the table unpacked on every host, as ~/aws-fpga-<ref>: ref -> path."""
    archives = tmp_path_factory.mktemp("archives")
    inventory = Inventory.load(amis.inventory_path)
    trees = {}
    for entry in RELEASES:
        data = build_sdk_archive(archives, entry.ref).read_bytes()
        tree = f"/home/ubuntu/aws-fpga-{entry.ref}"
        for name in HOSTS:
            done = pool.get(inventory.host(name)).run(
                f"rm -rf {tree} && mkdir -p {tree} && tar -xzf - -C {tree} --strip-components=1", stdin=data)
            assert done.ok, done.stderr
        trees[entry.ref] = tree
    return trees


class ConnectionOnlyFlow:
    """What ``SynthPlan.check_toolchain`` needs of a flow: a connection to the host."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def connection(self, host):
        return self.pool.get(host)


def plan(amis, name: str, tree: str, ref: str) -> SynthPlan:
    inventory = Inventory.load(amis.inventory_path, extra_vars={"aws_fpga_dir": tree, "aws_fpga_ref": ref})
    return SynthPlan(inventory.host(name), (Path("unused.tar.gz"), "source-id"))


def hdk_setup_passes(amis, pool, name: str, tree: str) -> bool:
    """Whether the checkout's own hdk_setup.sh takes the host's Vivado (in a login shell, as the build runs it)."""
    host = Inventory.load(amis.inventory_path).host(name)
    return pool.get(host).run(f"bash -lc 'cd {tree} && source ./hdk_setup.sh' >/dev/null 2>&1").ok


@pytest.mark.parametrize("name", ["dev", "new"])
def test_todays_amis_pass_with_the_default_ref_and_the_job_gets_their_version(amis, pool, checkouts, name) -> None:
    chosen = plan(amis, name, checkouts["v2.4.0"], "v2.4.0")
    version = chosen.check_toolchain(ConnectionOnlyFlow(pool))
    assert version == developer_ami(HOSTS[name]).vivado
    assert f"XILINX_HLS_VERSION={version} XILINX_VIVADO_VERSION={version} AWS_FPGA_SHELL_MODE=small_shell" \
        in chosen.script()
    assert hdk_setup_passes(amis, pool, name, checkouts["v2.4.0"])


def test_todays_ami_with_the_old_ref_stops_before_building_naming_both(amis, pool, checkouts) -> None:
    chosen = plan(amis, "dev", checkouts["v2.0.7"], "v2.0.7")
    with pytest.raises(FlowStopped) as stopped:
        chosen.check_toolchain(ConnectionOnlyFlow(pool))
    message = str(stopped.value)
    assert message.startswith("synth: dev: Vivado 2025.1 is installed ('vivado v2025.1 (64-bit)'), but aws-fpga "
                              "v2.0.7 (release_version.txt 2.0.7) supports only 2024.1"), message
    assert "set aws_fpga_ref to a release that supports it (v2.4.0)" in message
    with pytest.raises(RuntimeError, match="before check_toolchain"):
        chosen.script()  # no job script without a checked toolchain
    assert not hdk_setup_passes(amis, pool, "dev", checkouts["v2.0.7"])  # the HDK agrees, hours later


def test_an_old_ami_stops_even_with_the_default_ref(amis, pool, checkouts) -> None:
    with pytest.raises(FlowStopped, match=r"old: Vivado 2021\.2 is installed .* supports only 2024\.1, 2024\.2, "
                                          r"2025\.1, 2025\.2 .*no aws-fpga release in the platform table"):
        plan(amis, "old", checkouts["v2.4.0"], "v2.4.0").check_toolchain(ConnectionOnlyFlow(pool))
    assert not hdk_setup_passes(amis, pool, "old", checkouts["v2.4.0"])
