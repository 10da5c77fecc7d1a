"""The f1_host role on the sandbox's FPGA hosts (f1-a: F2, one slot; f1-b: F1), with AFIs made by its endpoint.

The role installs the SDK runtime tools from the sandbox's aws-fpga archive, loads an AGFI through
the load script and the tool stand-ins, and installs the boot unit; reruns change nothing, a new
AGFI reloads, bad AGFIs fail clearly, check mode touches nothing.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from fpgaops.aws.afi import AfiConfig, ensure_afi
from fpgaops.aws.session import AwsClients, AwsSettings
from fpgaops.connection import ConnectionPool
from fpgaops.fpga_slots import parse_describe
from fpgaops.inventory import Inventory
from fpgaops.platforms import F1, F2
from fpgaops.recap import EXIT_FAILED
from fpgaops.role_vars import role_vars
from fpgaops.runner import RunSettings, run
from fpgaops.templates import render_template
from roles.f1_host.status import fpga_status, status_rows
from roles.f1_host.tasks import DEFAULTS, role, template_vars
from tests.integration.test_runner import tree_state, upper_dir
from tests.unit.aws.dcp_fixtures import dcp_tarball

UNKNOWN_AGFI = "agfi-0bbbbbbbbbbbbbbb3"


def make_afi(sandbox, tmp_path: Path, platform, name: str) -> str:
    """An available AFI of the sandbox's endpoint for ``platform``: its agfi."""
    aws = AwsClients(AwsSettings.sandbox(sandbox.endpoint_url, sandbox.region))
    tarball = tmp_path / f"{name}.Developer_CL.tar"
    tarball.write_bytes(dcp_tarball(platform, dcp=name.encode() * 64))
    config = AfiConfig(f"f1host-{name}", f"fpgaops-f1host-{name}-{sandbox.region}", platform=platform,
                       poll_interval_s=0.1, timeout_s=30)
    result = ensure_afi(aws.client("ec2"), aws.client("s3"), tarball, name.encode().hex().ljust(64, "0")[:64], config)
    return result.afi.agfi_id


@pytest.fixture(scope="module")
def agfis(sandbox, tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("afis")
    return {"f2-a": make_afi(sandbox, folder, F2, "f2a"), "f2-b": make_afi(sandbox, folder, F2, "f2b"),
            "f1-a": make_afi(sandbox, folder, F1, "f1a")}


@pytest.fixture(scope="module")
def pool(sandbox):
    inventory = Inventory.load(sandbox.inventory_path)
    with ConnectionPool(hosts=inventory.hosts, ssh_config_path=None) as connections:
        yield connections


def apply(sandbox, pool, tmp_path: Path, check: bool = False, limit: str = "f1-a", **extra_vars):
    """Run the f1_host role on ``limit`` with these variables: (result, printed output, commands run per host)."""
    inventory = Inventory.load(sandbox.inventory_path, extra_vars={"afi_poll_interval_s": 0.2, **extra_vars})
    before = pool.commands_run()
    out = io.StringIO()
    result = run(inventory, [role()], pool.get, RunSettings(check=check, limit=limit, log_dir=tmp_path / "logs"),
                 Console(file=out, width=200, color_system=None))
    after = pool.commands_run()
    return result, out.getvalue(), {name: after.get(name, 0) - before.get(name, 0) for name in ("f1-a", "f1-b")}


def on(sandbox, pool, host: str, shell: str, sudo: bool = False) -> str:
    inventory = Inventory.load(sandbox.inventory_path)
    result = pool.get(inventory.host(host)).run(shell, sudo=sudo)
    assert result.ok, result.stderr
    return result.stdout


def slot0(sandbox, pool, host: str):
    return parse_describe(on(sandbox, pool, host, "fpga-describe-local-image -S 0 -H", sudo=True))[0]


@pytest.fixture(scope="module")
def loaded(sandbox, pool, agfis, tmp_path_factory):
    """The role applied once with the first AGFIs (f1-b: the F1 one, on slot [0])."""
    tmp_path = tmp_path_factory.mktemp("f1host")
    inventory_vars = {"afi_agfi": agfis["f2-a"]}
    first = apply(sandbox, pool, tmp_path, limit="f1", **inventory_vars, afi_slots="all")
    return first, inventory_vars


def test_the_role_installs_the_tools_and_loads_the_agfi(sandbox, pool, agfis, loaded) -> None:
    (result, shown, _), _ = loaded
    assert result.hosts["f1-a"].failed == 0, shown
    assert slot0(sandbox, pool, "f1-a").holds(agfis["f2-a"])
    assert on(sandbox, pool, "f1-a", "cat /etc/fpgaops/afi.env").splitlines()[-2:] == [
        f"AFI_AGFI={agfis['f2-a']}", "AFI_SLOTS=all"]
    assert on(sandbox, pool, "f1-a", "stat -c '%a %U' /etc/fpgaops/afi.env /usr/local/sbin/fpgaops-load-afi") == (
        "644 root\n755 root\n")
    assert on(sandbox, pool, "f1-a", "getent group fpgauser").startswith("fpgauser:")
    assert on(sandbox, pool, "f1-a", "systemctl is-enabled fpgaops-afi.service", sudo=True).strip() == "enabled"
    # f1-b is an F1 host: the F2 AGFI is for another shell, the tools say invalid-afi-id
    assert result.hosts["f1-b"].failed == 1 and "invalid-afi-id (5)" in shown


def test_a_second_run_changes_nothing_and_runs_only_the_fact_reading(sandbox, pool, agfis, loaded, tmp_path) -> None:
    _, inventory_vars = loaded
    result, shown, commands = apply(sandbox, pool, tmp_path, **inventory_vars)
    assert result.hosts["f1-a"].changed == 0 and result.hosts["f1-a"].failed == 0, shown
    assert commands["f1-a"] == 1  # the facts, in one round trip: nothing else


def test_an_explicit_slot_list_on_an_f1_host_loads_its_agfi_and_reruns_clean(sandbox, pool, agfis, tmp_path) -> None:
    first, shown, _ = apply(sandbox, pool, tmp_path, limit="f1-b", afi_agfi=agfis["f1-a"], afi_slots=[0])
    again, _, commands = apply(sandbox, pool, tmp_path, limit="f1-b", afi_agfi=agfis["f1-a"], afi_slots=[0])
    assert first.hosts["f1-b"].failed == 0, shown
    assert slot0(sandbox, pool, "f1-b").holds(agfis["f1-a"])
    assert again.hosts["f1-b"].changed == 0 and commands["f1-b"] == 1


def test_a_different_agfi_is_loaded_in_place_of_the_old_one(sandbox, pool, agfis, loaded, tmp_path) -> None:
    result, shown, _ = apply(sandbox, pool, tmp_path, afi_agfi=agfis["f2-b"])
    assert result.hosts["f1-a"].failed == 0, shown
    assert f"slot 0: loaded {agfis['f2-a']} -> load {agfis['f2-b']}" in shown
    assert slot0(sandbox, pool, "f1-a").holds(agfis["f2-b"])
    assert f"AFI_AGFI={agfis['f2-b']}" in on(sandbox, pool, "f1-a", "cat /etc/fpgaops/afi.env")
    apply(sandbox, pool, tmp_path, afi_agfi=agfis["f2-a"])  # back as the other tests expect


def test_a_malformed_agfi_is_refused_before_anything_is_touched(sandbox, pool, agfis, loaded, tmp_path) -> None:
    before = tree_state(upper_dir(sandbox, "f1-a"))
    result, _, commands = apply(sandbox, pool, tmp_path, limit="f1", afi_agfi="afi-0123456789abcdef0")
    assert result.exit_code == EXIT_FAILED and commands == {"f1-a": 0, "f1-b": 0}
    assert "afi_agfi: 'afi-0123456789abcdef0' is not an AFI global id (it is a regional afi- id" in \
        result.hosts["f1-a"].error
    assert tree_state(upper_dir(sandbox, "f1-a")) == before
    assert slot0(sandbox, pool, "f1-a").holds(agfis["f2-a"])


def test_an_unknown_agfi_fails_with_the_tools_error_5_explained_and_keeps_the_loaded_one(
        sandbox, pool, agfis, loaded, tmp_path) -> None:
    result, shown, _ = apply(sandbox, pool, tmp_path, afi_agfi=UNKNOWN_AGFI)
    assert result.hosts["f1-a"].failed == 1 and "exited with status 5" in result.hosts["f1-a"].error
    assert "invalid-afi-id (5): the AGFI is unknown, not available yet" in shown
    assert slot0(sandbox, pool, "f1-a").holds(agfis["f2-a"])  # the prefetch failed: the slot was not cleared
    assert f"AFI_AGFI={agfis['f2-a']}" in on(sandbox, pool, "f1-a", "cat /etc/fpgaops/afi.env")


def test_check_mode_shows_the_reload_and_touches_nothing(sandbox, pool, agfis, loaded, tmp_path) -> None:
    before = tree_state(upper_dir(sandbox, "f1-a"))
    result, shown, commands = apply(sandbox, pool, tmp_path, check=True, afi_agfi=agfis["f2-b"])
    assert result.hosts["f1-a"].changed == 2 and commands["f1-a"] == 1, shown  # the load and the env file
    assert f"-> load {agfis['f2-b']}" in shown
    assert tree_state(upper_dir(sandbox, "f1-a")) == before
    assert slot0(sandbox, pool, "f1-a").holds(agfis["f2-a"])


def test_the_boot_unit_reloads_the_afi_a_stopped_instance_lost(sandbox, pool, agfis, loaded) -> None:
    on(sandbox, pool, "f1-a", "fpga-clear-local-image -S 0", sudo=True)  # what a stop/start does to the card
    assert slot0(sandbox, pool, "f1-a").agfi is None
    on(sandbox, pool, "f1-a", "systemctl start fpgaops-afi.service", sudo=True)
    assert slot0(sandbox, pool, "f1-a").holds(agfis["f2-a"])


def test_fpga_status_reads_every_slot(sandbox, pool, agfis, loaded) -> None:
    inventory = Inventory.load(sandbox.inventory_path)
    rows = status_rows("f1-a", fpga_status(pool.get(inventory.host("f1-a"))))
    assert [(row["slot"], row["agfi"], row["status"]) for row in rows] == [("0", agfis["f2-a"], "loaded")]


def test_the_rendered_boot_unit_passes_systemd_analyze_verify(tmp_path) -> None:
    inventory = Inventory.from_dict({"all": {"hosts": {"f": {}}}})
    values = template_vars(role_vars(inventory.host("f"), DEFAULTS))
    script = tmp_path / "fpgaops-load-afi"  # verify checks that ExecStart exists: the rendered script, here
    script.write_text(render_template("f1_host/load_afi.sh.j2", values))
    script.chmod(0o755)
    unit = tmp_path / "fpgaops-afi.service"
    unit.write_text(render_template("f1_host/fpgaops-afi.service.j2", {**values, "script_path": str(script)}))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
    text = unit.read_text()
    assert "Before=rhythm.service" in text and "WantedBy=multi-user.target" in text and "Type=oneshot" in text
