"""The sandbox's aws-fpga archive, and its sdk_setup.sh sourced in a throwaway mount namespace."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fpgaops.fpga_platform import DEFAULT_REF, PlatformTableError, release, shell
from fpgaops.sandbox.sdk_archive import TREE, archive_bytes, build_sdk_archive, release_files

TOOLS = ("fpga-clear-local-image", "fpga-describe-local-image", "fpga-describe-local-image-slots",
         "fpga-load-local-image", "fpga-local-cmd")
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mount namespace, setpriv)")


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    """The archive's entries by name."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


# --------------------------------------------------------------------------- the archive


def test_archive_is_deterministic_and_idempotent(tmp_path: Path) -> None:
    first = build_sdk_archive(tmp_path / "a")
    assert first == tmp_path / "a" / f"aws-fpga-{DEFAULT_REF}.tar.gz"
    stamp = first.stat().st_mtime_ns
    assert build_sdk_archive(tmp_path / "a") == first
    assert first.stat().st_mtime_ns == stamp  # same content: left untouched
    assert build_sdk_archive(tmp_path / "b").read_bytes() == first.read_bytes()
    other = build_sdk_archive(tmp_path / "b", ref="v2.0.7")
    assert other.name == "aws-fpga-v2.0.7.tar.gz" and other.read_bytes() != first.read_bytes()
    assert not list((tmp_path / "a").glob("*.part"))


def test_a_ref_the_platform_table_does_not_know_has_no_archive(tmp_path: Path) -> None:
    with pytest.raises(PlatformTableError, match="not in the platform table"):
        build_sdk_archive(tmp_path, ref="v9.9.9")


@pytest.mark.parametrize("ref", ["v2.0.7", "v2.4.0"])
def test_the_release_files_are_the_tables_row(tmp_path: Path, ref: str) -> None:
    entry = release(ref)
    with tarfile.open(build_sdk_archive(tmp_path, ref)) as tar:
        def text(name: str) -> str:
            return tar.extractfile(f"aws-fpga/{name}").read().decode()

        assert text("supported_vivado_versions.txt").splitlines() == entry.supported_vivado_lines()
        assert text("release_version.txt") == f"RELEASE_VERSION={entry.release_version}\n"
        assert text("hdk/common/shell_stable/shell_version.txt").splitlines() == [
            f"{mode}={shell(mode).version}" for mode in entry.shells]
        for mode in entry.shells:
            assert text(f"hdk/common/shell_stable/build/constraints/{mode}_level_1_fp_cl.xdc")


def test_archive_holds_the_tree_under_aws_fpga(tmp_path: Path) -> None:
    entries = members(build_sdk_archive(tmp_path).read_bytes())
    expected = {"aws-fpga"} | {
        f"aws-fpga/{p.relative_to(TREE).as_posix()}" for p in TREE.rglob("*")
        if "__pycache__" not in p.parts and p.suffix != ".pyc"
    } | {f"aws-fpga/{name}" for name in release_files(DEFAULT_REF)}
    assert set(entries) == expected
    assert {"aws-fpga/sdk_setup.sh", "aws-fpga/sdk/userspace/fpga_mgmt_tools/src/fpga_local_cmd.py"} <= expected
    for name, info in entries.items():
        assert (info.mtime, info.uid, info.gid) == (entries["aws-fpga"].mtime, 0, 0), name
    modes = {name: info.mode for name, info in entries.items()}
    assert modes["aws-fpga/sdk/userspace/fpga_mgmt_tools/src/fpga-load-local-image"] == 0o755
    assert modes["aws-fpga/sdk/userspace/install_fpga_mgmt_tools.sh"] == 0o755
    assert modes["aws-fpga/sdk_setup.sh"] == 0o644
    assert modes["aws-fpga/sdk"] == 0o755


def test_archive_keeps_symlinks_and_skips_build_leftovers(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "hdk" / "common" / "shell_v1").mkdir(parents=True)
    (tree / "hdk" / "common" / "shell_stable").symlink_to("shell_v1")
    (tree / "tool.py").write_text("print()\n")
    (tree / "__pycache__").mkdir()
    (tree / "__pycache__" / "tool.cpython-311.pyc").write_bytes(b"\0")
    entries = members(archive_bytes(tree))
    assert sorted(entries) == ["aws-fpga", "aws-fpga/hdk", "aws-fpga/hdk/common",
                               "aws-fpga/hdk/common/shell_stable", "aws-fpga/hdk/common/shell_v1",
                               "aws-fpga/tool.py"]
    link = entries["aws-fpga/hdk/common/shell_stable"]
    assert link.issym() and link.linkname == "shell_v1"


# --------------------------------------------------------------------------- sdk_setup.sh


@pytest.fixture
def extracted() -> Iterator[Path]:
    """The archive extracted in a directory everyone may read: its aws-fpga/ folder."""
    top = Path(tempfile.mkdtemp(prefix="fpgaops-sdk-"))
    try:
        top.chmod(0o755)
        subprocess.run(["tar", "-xzf", str(build_sdk_archive(top / "dist")), "-C", str(top)], check=True)
        (top / "run").mkdir()
        facts = {"platform": "f1", "fpga_slots": 8, "endpoint_url": None, "region": "us-east-1",
                 "timings": {"fpga_busy_s": 0.1}}
        (top / "run" / "host.json").write_text(json.dumps(facts))
        yield top / "aws-fpga"
    finally:
        shutil.rmtree(top)


def in_private_mounts(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a bash script with a fresh tmpfs over /usr/local/bin: the machine's stays untouched."""
    wrapper = "mount -t tmpfs tmpfs /usr/local/bin || exit 99\n" + script
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", wrapper, "bash", *args],
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def test_sdk_setup_run_directly_says_it_must_be_sourced(extracted: Path) -> None:
    result = subprocess.run(["bash", str(extracted / "sdk_setup.sh")], capture_output=True, text=True, check=False)
    assert (result.stdout, result.returncode) == ("ERROR: You must source this script\n", 2)


@root_only
def test_sdk_setup_installs_the_tools_once(extracted: Path) -> None:
    script = """
cd /tmp
source "$1/sdk_setup.sh" > "$2/first.log" 2>&1; echo "first=$?"
ls -l --time-style=+%s.%N /usr/local/bin > "$2/ls1"
source "$1/sdk_setup.sh" > "$2/second.log" 2>&1; echo "second=$?"
ls -l --time-style=+%s.%N /usr/local/bin > "$2/ls2"
echo "repo=$AWS_FPGA_REPO_DIR sdk=$SDK_DIR hdk=$HDK_DIR"
echo "tool=$(command -v fpga-load-local-image)"
fpga-describe-local-image -S 0 -H
"""
    logs = extracted.parent
    machine_tools = sorted(tool for tool in TOOLS if Path("/usr/local/bin", tool).exists())
    env = {"PATH": SYSTEM_PATH, "FPGAOPS_SANDBOX_RUN": str(logs / "run"), "HOME": "/root"}
    result = in_private_mounts(script, str(extracted), str(logs), env=env)
    lines = result.stdout.splitlines()
    assert lines[:2] == ["first=0", "second=0"], (logs / "first.log").read_text()
    assert lines[2] == f"repo={extracted} sdk={extracted}/sdk hdk={extracted}/hdk"
    assert lines[3] == "tool=/usr/local/bin/fpga-load-local-image"
    assert lines[5].startswith("AFI          0       none                    cleared           1")
    first_log = (logs / "first.log").read_text()
    assert "AWS FPGA: Copying Amazon FPGA Image (AFI) Management Tools to /usr/local/bin" in first_log
    assert first_log.rstrip().endswith("INFO: sdk_setup.sh PASSED")
    listing = (logs / "ls1").read_text()
    assert all(f" {tool}\n" in listing for tool in TOOLS)
    assert (logs / "ls2").read_text() == listing  # the second source changed nothing
    assert sorted(tool for tool in TOOLS if Path("/usr/local/bin", tool).exists()) == machine_tools


@root_only
def test_sdk_setup_installs_with_passwordless_sudo(extracted: Path) -> None:
    for path in [extracted, *extracted.rglob("*")]:
        os.lchown(path, 65534, 65534)
    script = """
mount -t tmpfs -o mode=0755 tmpfs /etc/sudoers.d || exit 98
echo "nobody ALL=(ALL) NOPASSWD: ALL" > /etc/sudoers.d/fpgaops-test && chmod 0440 /etc/sudoers.d/fpgaops-test
cd /tmp && setpriv --reuid=65534 --regid=65534 --clear-groups bash -c 'source "$0/sdk_setup.sh"' "$1" || exit
stat -c '%U %a %n' /usr/local/bin/fpga-local-cmd
"""
    result = in_private_mounts(script, str(extracted), env={"PATH": SYSTEM_PATH, "HOME": "/tmp"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Root privileges are required to install. You may be asked for your password..." in result.stdout
    assert result.stdout.endswith("INFO: sdk_setup.sh PASSED\nroot 755 /usr/local/bin/fpga-local-cmd\n")


@root_only
def test_sdk_setup_uses_usr_bin_when_usr_local_bin_is_not_on_path(extracted: Path) -> None:
    script = """
mount -t tmpfs tmpfs "$2" && mkdir "$2/up" "$2/wk" || exit 98
mount -t overlay overlay -o "lowerdir=/usr/bin,upperdir=$2/up,workdir=$2/wk" /usr/bin || exit 97
cd /tmp && source "$1/sdk_setup.sh" || exit
ls "$2/up"
"""
    with tempfile.TemporaryDirectory() as scratch:
        result = in_private_mounts(script, str(extracted), scratch, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "AWS FPGA: Copying Amazon FPGA Image (AFI) Management Tools to /usr/bin" in result.stdout
    assert result.stdout.endswith("INFO: sdk_setup.sh PASSED\n" + "".join(f"{tool}\n" for tool in TOOLS))


@root_only
def test_sdk_setup_fails_clearly_without_passwordless_sudo(extracted: Path) -> None:
    for path in [extracted, *extracted.rglob("*")]:
        os.lchown(path, 65534, 65534)
    script = 'cd /tmp && setpriv --reuid=65534 --regid=65534 --clear-groups bash -c \'source "$0/sdk_setup.sh"\' "$1"'
    result = in_private_mounts(script, str(extracted), env={"PATH": SYSTEM_PATH, "HOME": "/tmp"})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Root privileges are required to install." in result.stdout
    assert "Error: sudo" in result.stdout
    assert result.stdout.rstrip().endswith("Error: AWS SDK install was unsuccessful, sdk_install.sh returned 1")
