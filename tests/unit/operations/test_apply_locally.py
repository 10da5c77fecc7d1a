"""Operations applied for real on this machine, in a temporary directory, with ``sh`` standing in for SSH:
facts read in one batch, uploads written, commands run, and a second planning must find nothing to do.

Never touches this machine's crontab, services, packages or users: cron runs against a stand-in
``crontab`` on PATH that keeps crontabs in the temporary directory, and the venv against a stand-in
python; jobs keep their state in the temporary directory.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import socket
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest

from fpgaops.core import Change, Operation
from fpgaops.facts import JobStatus, PathState
from fpgaops.operations import archives, commands, cron, files, jobs, venv, waits
from fpgaops.wheelhouse import uv_wheel
from tests.unit.operations.case_format import LOCAL_FILES
from tests.unit.operations.local_host import apply, read_facts
from tests.unit.test_wheelhouse import make_wheel

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chown to root:root needs root")

FAKE_CRONTAB = """#!/bin/sh
# crontab -u USER -l | crontab -u USER -   (stand-in keeping crontabs in $FAKE_CRON_DIR)
user=$2; file="$FAKE_CRON_DIR/$user"
case "$3" in
  -l) [ -f "$file" ] || { echo "no crontab for $user" >&2; exit 1; }; cat "$file";;
  -) cat > "$file";;
esac
"""

FAKE_PYTHON = """#!/bin/sh
# python3 -m venv PATH  |  PATH/bin/python -m pip install ... --requirement FILE   (stand-in, no network)
if [ "$2" = venv ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python"
else
  for last; do :; done
  cp "$last" "$(dirname "$0")/../installed-requirements.txt"
fi
"""


@pytest.fixture
def host(tmp_path, monkeypatch):
    """An environment for sh with the crontab stand-in first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "crontab").write_text(FAKE_CRONTAB)
    (bin_dir / "crontab").chmod(0o755)
    (tmp_path / "crontabs").mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_CRON_DIR", str(tmp_path / "crontabs"))
    return tmp_path


def converge(operation: Operation) -> Change | None:
    """Plan on real facts and apply; then a rerun must plan nothing.  The applied Change, or None."""
    change = operation.plan(read_facts(operation.facts))
    if change is not None:
        apply(change)
    assert operation.plan(read_facts(operation.facts)) is None, f"{operation.description}: not idempotent"
    return change


def leftovers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if ".fpgaops-" in path.name)


def mode_of(path: Path) -> int:
    return path.stat().st_mode & 0o7777


def test_file_created_updated_and_mode_fixed_atomically(host):
    target = host / "etc" / "rhythm.conf"
    target.parent.mkdir()
    assert converge(files.file(str(target), "port=8080\n", mode="0640")) is not None
    assert (target.read_text(), mode_of(target)) == ("port=8080\n", 0o640)
    assert converge(files.file(str(target), "port=8080\n", mode="0640")) is None
    assert converge(files.file(str(target), "port=9090\n", mode="0640")).uploads
    assert converge(files.file(str(target), "port=9090\n", mode="0600")).uploads == ()
    assert (target.read_text(), mode_of(target)) == ("port=9090\n", 0o600)
    assert converge(files.file(str(host / "etc" / "weights.bin"), local_path=LOCAL_FILES / "payload.bin")).uploads
    assert leftovers(target.parent) == []


def test_a_failed_install_leaves_the_file_and_no_temporary(host):
    target = host / "motd"
    target.write_text("old\n")
    change = files.file(str(target), "new\n", owner="no-such-user-fpgaops").plan(
        read_facts((PathState(str(target)),)))
    with pytest.raises(subprocess.CalledProcessError):
        apply(change)
    assert target.read_text() == "old\n"
    assert leftovers(host) == []


def test_template_rendered_with_owner_and_mode(host):
    target = host / "rhythm.env"
    variables = {"port": 8080, "backend": "fpga", "api_token": "tok", "s3_key": "key"}
    change = converge(files.template(str(target), "rhythm.env.j2", variables, mode="0600",
                                     templates_dir=LOCAL_FILES / "templates"))
    assert "RHYTHM_API_TOKEN=tok\n" in target.read_text() and mode_of(target) == 0o600
    assert "tok" not in change.diff and "RHYTHM_API_TOKEN=********" in change.diff


def test_directory_with_parents(host):
    target = host / "opt" / "rhythm" / "data"
    converge(files.directory(str(target), mode="0750"))
    assert target.is_dir() and mode_of(target) == 0o750
    assert converge(files.directory(str(target), mode="0700")).commands
    assert mode_of(target) == 0o700


def test_block_and_line_edit_only_their_lines(host):
    target = host / "hosts"
    target.write_text("127.0.0.1 localhost\n# mine\n")
    target.chmod(0o640)
    converge(files.block(str(target), "sandbox", ["10.200.0.11 f1"]))
    converge(files.block(str(target), "sandbox", ["10.200.0.11 f1", "10.200.0.12 f2"]))
    converge(files.line(str(target), r"^127\.0\.0\.1 ", "127.0.0.1 localhost sandbox"))
    assert target.read_text() == ("127.0.0.1 localhost sandbox\n# mine\n# BEGIN FPGAOPS sandbox\n10.200.0.11 f1\n"
                                  "10.200.0.12 f2\n# END FPGAOPS sandbox\n")
    assert mode_of(target) == 0o640
    converge(files.block(str(target), "sandbox", absent=True))
    assert target.read_text() == "127.0.0.1 localhost sandbox\n# mine\n"


def test_block_in_a_file_that_is_not_utf8_keeps_its_bytes(host):
    target = host / "latin1.conf"
    target.write_bytes(b"caf\xe9=1\n")
    converge(files.block(str(target), "x", ["y=2"]))
    assert target.read_bytes() == b"caf\xe9=1\n# BEGIN FPGAOPS x\ny=2\n# END FPGAOPS x\n"


def test_block_refuses_to_write_over_a_file_changed_since_it_was_read(host):
    target = host / "hosts"
    target.write_text("a\n")
    operation = files.block(str(target), "x", ["b"])
    change = operation.plan(read_facts(operation.facts))
    target.write_text("a\nedited meanwhile\n")
    with pytest.raises(subprocess.CalledProcessError) as failure:
        apply(change)
    assert b"changed since it was read" in failure.value.stderr
    assert target.read_text() == "a\nedited meanwhile\n" and leftovers(host) == []


def test_symlink_and_absent(host):
    (host / "releases" / "v1").mkdir(parents=True)
    (host / "releases" / "v2").mkdir()
    link = host / "current"
    converge(files.symlink(str(link), "releases/v1"))
    converge(files.symlink(str(link), "releases/v2"))
    assert os.readlink(link) == "releases/v2" and leftovers(host) == []
    converge(files.absent(str(link)))
    converge(files.absent(str(host / "releases")))
    assert not link.is_symlink() and not (host / "releases").exists()


def test_cron_block_keeps_the_users_lines(host):
    (host / "crontabs" / "centos").write_text("MAILTO=\"\"\n15 * * * * backup\n")
    converge(cron.cron_block("centos", "shutdown", ["0 23 * * * stop-instance"], env=["CRON_TZ=UTC"]))
    converge(cron.cron_block("nobody-yet", "shutdown", ["0 23 * * * stop-instance"]))
    assert (host / "crontabs" / "centos").read_text() == (
        "MAILTO=\"\"\n15 * * * * backup\n# BEGIN FPGAOPS shutdown\nCRON_TZ=UTC\n0 23 * * * stop-instance\n"
        "# END FPGAOPS shutdown\n")
    converge(cron.cron_block("centos", "shutdown", absent=True))
    assert (host / "crontabs" / "centos").read_text() == "MAILTO=\"\"\n15 * * * * backup\n"


def test_guarded_command(host):
    marker = host / "built"
    converge(commands.command(f"touch {marker}", creates=str(marker)))
    assert marker.exists()
    assert converge(commands.command("exit 1", unless=f"test -e {marker}")) is None


def test_archive_unpacked_then_swapped_in(host):
    dest = host / "opt" / "aws-fpga"
    dest.parent.mkdir()
    converge(archives.archive(LOCAL_FILES / "sdk-v1.tar.gz", str(dest), strip_components=1))
    assert (dest / "VERSION").read_text() == "1.0\n" and os.access(dest / "sdk_setup.sh", os.X_OK)
    assert (dest / "VERSION").stat().st_uid == 0  # not the archive's uid 1234
    (dest / "stale-file").write_text("from v1")
    converge(archives.archive(LOCAL_FILES / "sdk-v2.tar.gz", str(dest), strip_components=1))
    assert (dest / "VERSION").read_text() == "2.0\n" and not (dest / "stale-file").exists()
    assert leftovers(dest.parent) == []
    with tarfile.open(LOCAL_FILES / "sdk-v2.tar.gz") as archive:
        assert {member.name.split("/", 1)[-1] for member in archive.getmembers() if member.isfile()} <= \
            {path.name for path in dest.iterdir()}


def test_venv_falls_back_to_pip_where_uv_cannot_run_and_writes_its_marker_after_install(host, monkeypatch):
    monkeypatch.setattr(venv, "UV_PLATFORMS", {})  # this machine as a host uv has no build for
    fake_python = host / "python3"
    fake_python.write_text(FAKE_PYTHON)
    fake_python.chmod(0o755)
    (host / "opt").mkdir()
    target = host / "opt" / "venv"
    operation = venv.venv(str(target), LOCAL_FILES / "requirements.txt", python=str(fake_python),
                          wheelhouse=LOCAL_FILES / "wheelhouse", uv_dir=str(host / "uv"))
    assert f"(pip: no uv for {os.uname().machine} hosts)" in converge(operation).description
    assert (target / "installed-requirements.txt").read_bytes() == (LOCAL_FILES / "requirements.txt").read_bytes()
    requirements_sha256 = hashlib.sha256((LOCAL_FILES / "requirements.txt").read_bytes()).hexdigest()
    assert (target / venv.MARKER_NAME).read_text() == f"{requirements_sha256} python={fake_python}\n"
    assert leftovers(host / "opt") == [".venv.fpgaops-wheels"] and not (host / "uv").exists()


def pushed_wheels(change: Change) -> list[str]:
    return [Path(upload.local_path).name for upload in change.uploads if str(upload.local_path).endswith(".whl")]


def test_venv_by_uv_uploads_only_the_wheels_the_host_lacks(host):
    (host / "opt").mkdir()
    wheels = host / "wheels"
    make_wheel(wheels, "tinypkg", "1.0")
    make_wheel(wheels, "otherpkg", "1.0")
    requirements = host / "requirements.txt"
    requirements.write_text("tinypkg==1.0\notherpkg==1.0\n")
    target = host / "opt" / "venv"

    def version(package: str) -> str:
        return subprocess.run([target / "bin" / "python", "-c", f"import {package}; print({package}.VERSION)"],
                              capture_output=True, text=True, check=True).stdout.strip()

    def build() -> Change:
        return converge(venv.venv(str(target), requirements, wheelhouse=wheels, uv_dir=str(host / "uv")))

    first = build()
    assert first.description == f"create venv {target} (uv)" and version("tinypkg") == "1.0"
    assert sorted(pushed_wheels(first)) == [
        "otherpkg-1.0-py3-none-any.whl", "tinypkg-1.0-py3-none-any.whl", uv_wheel(os.uname().machine).name]
    assert not (target / "bin" / "pip").exists()  # made by uv: no pip inside
    assert list(target.rglob("tinypkg*.pyc"))  # bytecode compiled, as pip does

    (wheels / "tinypkg-1.0-py3-none-any.whl").unlink()
    make_wheel(wheels, "tinypkg", "2.0", body="# a longer module than 1.0's (its .pyc is not taken for 2.0's)\n")
    requirements.write_text("tinypkg==2.0\notherpkg==1.0\n")
    second = build()
    assert second.description == f"update venv {target} (uv)" and version("tinypkg") == "2.0"
    assert pushed_wheels(second) == [
        "tinypkg-2.0-py3-none-any.whl"]  # neither the other wheel nor uv again
    assert sorted(path.name for path in (host / "opt" / ".venv.fpgaops-wheels").iterdir()) == [
        "otherpkg-1.0-py3-none-any.whl", "tinypkg-2.0-py3-none-any.whl"]  # the old one removed
    assert leftovers(host / "opt") == [".venv.fpgaops-wheels"]


def wait_for_job(status: JobStatus, state: str) -> object:
    deadline = time.monotonic() + 5
    while (job := read_facts((status,))[status]).state != state:
        assert time.monotonic() < deadline, f"job still {job.state}"
        time.sleep(0.05)
    return job


def test_job_runs_detached_to_its_exit_code(host):
    state_dir = str(host / "jobs")
    operation = jobs.job_started("build", "echo building; exit 3", str(host), state_dir=state_dir)
    change = operation.plan(read_facts(operation.facts))
    apply(change)
    job = wait_for_job(JobStatus("build", state_dir), "finished")
    assert (job.exit_code, job.log_tail) == (3, "building\n")
    assert operation.plan(read_facts(operation.facts)) is None


def test_a_running_job_is_not_started_twice_and_a_killed_one_is_lost(host):
    state_dir = str(host / "jobs")
    operation = jobs.job_started("sleeper", "sleep 30", str(host), state_dir=state_dir)
    apply(operation.plan(read_facts(operation.facts)))
    job = wait_for_job(JobStatus("sleeper", state_dir), "running")
    assert operation.plan(read_facts(operation.facts)) is None
    os.killpg(job.pid, 9)  # the job's own session (setsid): run.sh and its sleep
    wait_for_job(JobStatus("sleeper", state_dir), "lost")
    assert operation.plan(read_facts(operation.facts)) is not None


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_waits_against_local_listeners(host):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        assert converge(waits.port_open("127.0.0.1", port)) is None
        assert converge(waits.http_status(f"http://127.0.0.1:{port}/health")) is None
        busy = waits.http_status(f"http://127.0.0.1:{port}/busy", timeout_s=0)
        change = busy.plan(read_facts(busy.facts))
        with pytest.raises(subprocess.CalledProcessError) as failure:
            apply(change)
        assert b"answered 503, not 200" in failure.value.stderr
    finally:
        server.shutdown()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
    wait = waits.port_open("127.0.0.1", closed_port, timeout_s=0)
    assert not wait.plan(read_facts(wait.facts)).commands[0].mutating
