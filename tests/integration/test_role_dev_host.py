"""The dev_host role on the sandbox's dev host: toolchain, aws-fpga from the sandbox archive, HDK check, venv.

The hls_model venv is built from a small requirements file (one wheel made by the tests, pushed
as a wheelhouse), so the test stays fast and offline; the real TensorFlow venv is measured by hand.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

import roles.dev_host.tasks as dev_host
from fpgaops.connection import ConnectionPool
from fpgaops.fpga_platform import DEFAULT_REF, release
from fpgaops.inventory import Inventory
from fpgaops.recap import EXIT_FAILED
from fpgaops.runner import RunSettings, run
from tests.integration.test_runner import tree_state, upper_dir
from tests.unit.test_wheelhouse import make_wheel

VENV = "/opt/hls_model/venv"


@pytest.fixture(scope="module")
def pool(sandbox):
    inventory = Inventory.load(sandbox.inventory_path)
    with ConnectionPool(hosts=inventory.hosts, ssh_config_path=None) as connections:
        yield connections


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    """A laptop wheelhouse: tinypkg 1.0 and 2.0."""
    folder = tmp_path_factory.mktemp("wheels")
    make_wheel(folder, "tinypkg", "1.0")
    make_wheel(folder, "tinypkg", "2.0")
    return folder


def requirements(folder: Path, version: str) -> Path:
    path = folder / f"requirements-{version}.txt"
    path.write_text(f"tinypkg=={version}\n")
    return path


def apply(sandbox, pool, tmp_path: Path, check: bool = False, **extra_vars):
    """Run dev_host on the dev host: (result, printed output, commands run)."""
    inventory = Inventory.load(sandbox.inventory_path, extra_vars={"wheelhouse": True, **extra_vars})
    before = pool.commands_run().get("dev", 0)
    out = io.StringIO()
    result = run(inventory, [dev_host.role()], pool.get, RunSettings(check=check, log_dir=tmp_path / "logs"),
                 Console(file=out, width=200, color_system=None))
    return result, out.getvalue(), pool.commands_run().get("dev", 0) - before


def on(sandbox, pool, shell: str) -> str:
    result = pool.get(Inventory.load(sandbox.inventory_path).host("dev")).run(shell)
    assert result.ok, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def applied(sandbox, pool, wheels, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("devhost")
    pinned = requirements(tmp_path, "1.0")
    variables = {"hls_model_requirements": str(pinned), "hls_model_wheelhouse": str(wheels)}
    return apply(sandbox, pool, tmp_path, **variables), variables


def test_the_role_unpacks_the_sdk_checks_the_hdk_and_builds_the_venv(sandbox, pool, applied) -> None:
    (result, shown, _), _ = applied
    assert result.hosts["dev"].failed == 0, shown
    assert "HDK environment: source hdk_setup.sh" in shown
    tree = "/home/ubuntu/aws-fpga"
    assert on(sandbox, pool, f"stat -c %U {tree}/hdk_setup.sh {tree}/.fpgaops-hdk-setup.done").split() == [
        "ubuntu", "ubuntu"]
    assert on(sandbox, pool, f"ls {tree}/hdk/common/shell_stable/build/checkpoints/from_aws/").split() == sorted(
        f"cl_bb_routed.{mode}.dcp" for mode in release(DEFAULT_REF).shells)  # hdk_setup.sh put each shell's in place
    assert on(sandbox, pool, f"{VENV}/bin/python -c 'import tinypkg; print(tinypkg.VERSION)'").strip() == "1.0"


def test_a_second_run_changes_nothing_in_one_round_trip(sandbox, pool, applied, tmp_path) -> None:
    _, variables = applied
    result, shown, commands = apply(sandbox, pool, tmp_path, **variables)
    assert (result.hosts["dev"].changed, result.hosts["dev"].failed, commands) == (0, 0, 1), shown


def test_check_mode_shows_a_requirements_change_and_touches_nothing(sandbox, pool, applied, wheels, tmp_path) -> None:
    before = tree_state(upper_dir(sandbox, "dev"))
    result, shown, commands = apply(sandbox, pool, tmp_path, check=True, hls_model_wheelhouse=str(wheels),
                                    hls_model_requirements=str(requirements(tmp_path, "2.0")))
    assert (result.hosts["dev"].changed, commands) == (1, 1) and f"update venv {VENV}" in shown
    assert tree_state(upper_dir(sandbox, "dev")) == before


def test_new_requirements_update_only_the_venv_from_a_wheelhouse_built_on_the_laptop(
        sandbox, pool, applied, wheels, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(dev_host, "WHEELHOUSE_ROOT", tmp_path / "wheelhouse")
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip downloads from the test's wheels only
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    result, shown, _ = apply(sandbox, pool, tmp_path, hls_model_requirements=str(requirements(tmp_path, "2.0")))
    assert (result.hosts["dev"].changed, result.hosts["dev"].failed) == (1, 0), shown
    assert [p.name for p in next((tmp_path / "wheelhouse").iterdir()).iterdir()] == ["tinypkg-2.0-py3-none-any.whl"]
    assert on(sandbox, pool, f"{VENV}/bin/python -c 'import tinypkg; print(tinypkg.VERSION)'").strip() == "2.0"


@pytest.mark.parametrize("variables, message", [
    ({"hls_model_requirements": "/nonexistent/requirements.txt"}, "hls_model_requirements /nonexistent"),
    ({"aws_fpga_sdk_archive": "/nonexistent/aws-fpga.tar.gz"}, "aws_fpga_sdk_archive /nonexistent"),
    ({"aws_fpga_sdk_archive": "", "aws_fpga_repo": ""}, "set aws_fpga_sdk_archive, or aws_fpga_repo and aws_fpga_ref"),
    ({"aws_fpga_sdk_archive": "", "aws_fpga_ref": "f2; rm -rf ~"}, "is neither a release tag (e.g. v2.4.0)"),
    ({"hls_model_wheelhouse": "/nonexistent/wheels"}, "hls_model_wheelhouse /nonexistent/wheels is not a folder"),
])
def test_bad_variables_fail_before_anything_is_touched(sandbox, pool, applied, tmp_path, variables, message) -> None:
    _, good = applied
    result, _, commands = apply(sandbox, pool, tmp_path, **{**good, **variables})
    assert result.exit_code == EXIT_FAILED and commands == 0 and message in result.hosts["dev"].error


def test_from_git_the_pinned_ref_is_cloned_once_and_a_new_ref_checked_out(sandbox, pool, applied, tmp_path) -> None:
    _, good = applied
    source = "/tmp/aws-fpga-origin"  # a repository on the host stands for github's aws-fpga
    git = f"git -C {source} -c user.name=t -c user.email=t@t"
    on(sandbox, pool, f"rm -rf {source} && cp -r /home/ubuntu/aws-fpga {source} && rm -f {source}/.fpgaops-* && "
                      f"git init -q {source} && "
                      f"{git} add -A && {git} commit -qm one && {git} tag v1.0.0 && echo 2 > {source}/NOTE && "
                      f"{git} add -A && {git} commit -qm two && {git} tag v2.0.0")
    variables = {**good, "aws_fpga_sdk_archive": "", "aws_fpga_repo": source,
                 "aws_fpga_dir": "/home/ubuntu/aws-fpga-git"}

    first, shown, _ = apply(sandbox, pool, tmp_path, **variables, aws_fpga_ref="v1.0.0")
    again, _, commands = apply(sandbox, pool, tmp_path, **variables, aws_fpga_ref="v1.0.0")
    newer, shown_newer, _ = apply(sandbox, pool, tmp_path, **variables, aws_fpga_ref="v2.0.0")

    assert first.hosts["dev"].failed == 0 and "clone aws-fpga v1.0.0" in shown and "HDK environment" in shown, shown
    assert (again.hosts["dev"].changed, commands) == (0, 1)
    assert newer.hosts["dev"].changed == 2, shown_newer  # the checkout, and the HDK check again in the new tree
    assert "check out aws-fpga v2.0.0" in shown_newer and "HDK environment" in shown_newer
    assert on(sandbox, pool, "cat /home/ubuntu/aws-fpga-git/NOTE").strip() == "2"
