"""Versioned releases on a sandbox host: unpack, switch ``current`` atomically, keep ``previous``, roll back, prune."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from rich.console import Console

from fpgaops.connection import ConnectionPool
from fpgaops.inventory import Inventory
from fpgaops.operations.archives import archive
from fpgaops.operations.files import directory
from fpgaops.operations.releases import release_current, releases_pruned, rolled_back
from fpgaops.recap import EXIT_FAILED, EXIT_OK
from fpgaops.runner import Role, RunSettings, run
from tests.conftest import running_sandbox

ROOT = "/opt/releases-test"


def release_tarball(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.tar.gz"
    if path.exists():  # the same release again: the same bytes
        return path
    with tarfile.open(path, "w:gz") as tar:
        data = f"release {name}\n".encode()
        info = tarfile.TarInfo(f"{name}/VERSION")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def deploy_role(tmp_path: Path, name: str) -> Role:
    tarball = release_tarball(tmp_path, name)
    return Role("release", lambda host: [
        directory(ROOT), directory(f"{ROOT}/releases"),
        archive(tarball, f"{ROOT}/releases/{name}", strip_components=1),
        release_current(ROOT, name), releases_pruned(ROOT, keep=2)], hosts="dev")


@pytest.fixture(scope="module")
def cfg(new_config):
    yield from running_sandbox(new_config("releases"), "dev", cloud=False)


@pytest.fixture
def apply(cfg, tmp_path):
    inventory = Inventory.load(cfg.inventory_path)
    with ConnectionPool() as pool:
        def go(role: Role) -> tuple[int, str, int]:
            out = io.StringIO()
            result = run(inventory, [role], pool.get, RunSettings(log_dir=tmp_path / "logs"),
                         Console(file=out, width=200))
            return result.exit_code, out.getvalue(), result.hosts["dev"].changed

        def on_host(shell: str) -> str:
            return pool.get(inventory.host("dev")).run(shell, sudo=True).stdout

        yield go, on_host
        on_host(f"rm -rf {ROOT}")


def test_releases_switch_keep_the_previous_roll_back_and_prune(apply, tmp_path) -> None:
    go, on_host = apply
    for name in ("r1", "r2"):
        code, _, _ = go(deploy_role(tmp_path, name))
        assert code == EXIT_OK
    assert on_host(f"cat {ROOT}/current/VERSION; readlink {ROOT}/current {ROOT}/previous").split("\n")[:3] == [
        "release r2", "releases/r2", "releases/r1"]
    code, _, changed = go(deploy_role(tmp_path, "r2"))
    assert (code, changed) == (EXIT_OK, 0)  # a rerun changes nothing

    code, _, _ = go(Role("rollback", lambda host: [rolled_back(ROOT)], hosts="dev"))
    assert code == EXIT_OK
    assert on_host(f"cat {ROOT}/current/VERSION; readlink {ROOT}/previous").split("\n")[:2] == [
        "release r1", "releases/r2"]

    go(deploy_role(tmp_path, "r3"))  # current r3, previous r1; r2 is beyond keep=2 and not linked
    assert on_host(f"ls {ROOT}/releases").split() == ["r1", "r3"]


def test_rollback_without_a_previous_release_is_a_clear_error(apply, tmp_path) -> None:
    go, on_host = apply
    go(deploy_role(tmp_path, "only"))
    code, output, _ = go(Role("rollback", lambda host: [rolled_back(ROOT)], hosts="dev"))
    assert code == EXIT_FAILED
    assert f"{ROOT}/previous: no previous release to roll back to" in output
    assert on_host(f"readlink {ROOT}/current").strip() == "releases/only"
