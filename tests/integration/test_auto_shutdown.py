"""The auto_shutdown role on sandbox hosts: the cron block in root's real crontab, and the installed
idle check script run over SSH with a stand-in ``shutdown`` that records its arguments, through
every branch: load (as numbers), SSH sessions, service activity, N-1 / N idle readings, a busy
reading resetting the count, a count from another boot or too old, the nightly time in a zone,
dry run, a failing shutdown command; idempotence, check mode, and disable.

The variables are given as ``fab -e`` gives them (strings). The load average comes from a file the
test writes (``auto_shutdown_loadavg_file``); the SSH port variable points at a port with no
connection (idle), at 22 (this test's own SSH connection: busy), or at a port where the test holds
a connection open.
"""

from __future__ import annotations

import io
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from fpgaops.connection import ConnectionPool, Result
from fpgaops.inventory import Inventory
from fpgaops.recap import EXIT_OK, RunResult
from fpgaops.runner import RunSettings, run
from roles.auto_shutdown.tasks import disable_role, role
from tests.conftest import running_sandbox

HOSTS = ("as1", "as2")
SCRIPT = "/usr/local/sbin/fpgaops-idle-check"
STATE = "/var/lib/fpgaops/idle-check.state"
LOG = "/var/log/fpgaops-idle-check.log"
WORK = "/var/lib/fpgaops-test"
STAND_IN = f"{WORK}/shutdown"
CALLS = f"{WORK}/shutdown-calls"
LOADAVG = f"{WORK}/loadavg"
ACTIVITY = f"{WORK}/last-request"
FREE_PORT = 40022  # nothing listens or connects there in a sandbox host's own network namespace
HELD_PORT = 40023  # where a test holds a connection open
USER_CRON_LINE = "17 4 * * * /usr/bin/true # a line of root's own"
TEST_VARS = {
    "auto_shutdown_idle_readings": "3",
    "auto_shutdown_load_threshold": "2.5",  # "10.00" < "2.5" as text: only a numeric comparison says busy
    "auto_shutdown_loadavg_file": LOADAVG,
    "auto_shutdown_ssh_port": str(FREE_PORT),
    "auto_shutdown_activity_file": ACTIVITY,
    "auto_shutdown_activity_minutes": "10",
    "auto_shutdown_command": f"{STAND_IN} -h +1",
    "auto_shutdown_nightly_time": "23:00",
    "auto_shutdown_timezone": "UTC",
}
IDLE_LOAD = "0.10 0.20 0.30 1/123 4567\n"
STAND_IN_TEXT = f"""#!/bin/sh
# a stand-in shutdown: records each call's arguments, one call a line, tab-separated
printf '%s\\t' "$@" >> {CALLS}
echo >> {CALLS}
"""


@pytest.fixture(scope="module")
def cfg(new_config):
    yield from running_sandbox(new_config("autoshutdown"), "as1:f1,as2")


@pytest.fixture(scope="module")
def pool(cfg):
    with ConnectionPool(hosts=Inventory.load(cfg.inventory_path).hosts, ssh_config_path=None) as pool:
        yield pool


def apply(cfg, pool, tmp_path, the_role=None, *, check=False, **overrides) -> tuple[RunResult, str]:
    """Run the role (default: install) with the test's variables and ``overrides``, as ``fab -e`` would."""
    inventory = Inventory.load(cfg.inventory_path, extra_vars={**TEST_VARS, **overrides})
    out = io.StringIO()
    result = run(inventory, [the_role or role()], pool.get, RunSettings(check=check, log_dir=tmp_path / "logs"),
                 Console(file=out, width=200, color_system=None))
    assert result.exit_code == EXIT_OK, out.getvalue()
    return result, out.getvalue()


class Host:
    """One sandbox host, reached over the test's SSH connection."""

    def __init__(self, cfg, pool, name: str) -> None:
        self.connection = pool.get(Inventory.load(cfg.inventory_path).host(name))

    def sudo(self, shell: str, stdin: str | None = None, ok: bool = True) -> Result:
        result = self.connection.run(shell, sudo=True, stdin=stdin.encode() if stdin is not None else None)
        assert result.ok or not ok, f"{shell}: exit {result.exit_code}: {result.stderr}"
        return result

    def reading(self, *args: str) -> Result:
        """Run the installed idle check (one reading, or ``--nightly``/``--status``) over SSH, as root."""
        return self.sudo(" ".join([SCRIPT, *args]), ok=False)

    def readings(self, count: int) -> None:
        for _ in range(count):
            assert self.reading().exit_code == 0

    def calls(self) -> list[list[str]]:
        """The stand-in shutdown's calls: each call's arguments."""
        text = self.sudo(f"cat {CALLS} 2>/dev/null || true").stdout
        return [line.rstrip("\t").split("\t") for line in text.splitlines()]

    def log(self) -> str:
        return self.sudo(f"cat {LOG} 2>/dev/null || true").stdout

    def last_log_line(self) -> str:
        return self.log().splitlines()[-1]

    def load(self, text: str) -> None:
        self.sudo(f"cat > {LOADAVG}", stdin=text)

    def crontab(self) -> str:
        return self.sudo("crontab -l").stdout

    def boot_id(self) -> str:
        return self.sudo("cat /proc/sys/kernel/random/boot_id").stdout.strip()


@pytest.fixture
def as1(cfg, pool, tmp_path) -> Host:
    """as1 with the role installed with the test's variables, an idle load and no count, calls or log."""
    host = Host(cfg, pool, "as1")
    host.sudo(f"install -d {WORK} && cat > {STAND_IN} && chmod 755 {STAND_IN} && "
              f"rm -f {CALLS} {ACTIVITY} {STATE} {LOG}", stdin=STAND_IN_TEXT)
    host.load(IDLE_LOAD)
    apply(cfg, pool, tmp_path)
    return host


# --- installing: cron block, script, idempotence, check mode, disable ----------------------------


def test_the_role_installs_the_script_and_one_cron_block_and_a_second_run_changes_nothing(cfg, pool, tmp_path):
    hosts = {name: Host(cfg, pool, name) for name in HOSTS}
    for host in hosts.values():
        host.sudo("crontab -", stdin=USER_CRON_LINE + "\n")
    first, _ = apply(cfg, pool, tmp_path)
    second, shown = apply(cfg, pool, tmp_path)
    assert {name: r.changed for name, r in first.hosts.items()} == {"as1": 3, "as2": 3}
    assert {name: r.changed for name, r in second.hosts.items()} == {"as1": 0, "as2": 0}
    assert "changed" not in shown.split("RECAP")[0]
    for host in hosts.values():
        assert host.crontab() == (f"{USER_CRON_LINE}\n# BEGIN FPGAOPS auto-shutdown\n"
                                  f"*/5 * * * * {SCRIPT}\n0,15,30,45 * * * * {SCRIPT} --nightly\n"
                                  "# END FPGAOPS auto-shutdown\n")
        assert host.sudo(f"stat -c '%U %G %a' {SCRIPT} /var/lib/fpgaops").stdout == "root root 755\nroot root 755\n"
        assert f"SSH_PORT={FREE_PORT}\n" in host.sudo(f"cat {SCRIPT}").stdout


def test_check_mode_shows_the_change_and_changes_nothing(cfg, pool, tmp_path, as1):
    before = as1.sudo(f"sha256sum {SCRIPT}; crontab -l; ls -la /var/lib/fpgaops").stdout
    result, shown = apply(cfg, pool, tmp_path, check=True, auto_shutdown_idle_readings="4",
                          auto_shutdown_check_minutes="10")
    assert result.hosts["as1"].changed == 2  # the script and the cron block
    assert "-*/5 * * * *" in shown and "+*/10 * * * *" in shown and "+IDLE_READINGS=4" in shown
    assert as1.sudo(f"sha256sum {SCRIPT}; crontab -l; ls -la /var/lib/fpgaops").stdout == before


def test_disable_removes_the_cron_block_the_script_and_the_count_and_keeps_other_cron_lines(cfg, pool, tmp_path, as1):
    as1.sudo("crontab -", stdin=USER_CRON_LINE + "\n")
    apply(cfg, pool, tmp_path)
    as1.readings(1)
    assert as1.sudo(f"test -f {STATE}", ok=False).ok
    first, _ = apply(cfg, pool, tmp_path, disable_role())
    again, _ = apply(cfg, pool, tmp_path, disable_role())
    assert (first.hosts["as1"].changed, again.hosts["as1"].changed) == (3, 0)
    assert as1.crontab() == USER_CRON_LINE + "\n"
    assert as1.sudo(f"ls {SCRIPT} {STATE} 2>&1", ok=False).stdout.count("No such file") == 2
    assert "idle readings 1/3" in as1.log()  # the log stays: it tells when and why the host went down


# --- the idle count --------------------------------------------------------------------------------


def test_n_minus_1_idle_readings_do_nothing_and_the_nth_shuts_down_once(as1):
    as1.readings(2)
    assert as1.calls() == []
    assert as1.last_log_line().endswith("idle readings 2/3")
    as1.readings(1)
    assert as1.calls() == [["-h", "+1", "fpgaops: idle for 3 readings 5 min apart"]]
    as1.readings(2)  # the count starts again: no second call before 3 more idle readings
    assert len(as1.calls()) == 1
    assert "shutting down (idle for 3 readings 5 min apart)" in as1.log()


def test_a_busy_reading_resets_the_count(as1):
    as1.readings(2)
    as1.load("2.50 0.1 0.1 1/1 1\n")  # equal to the threshold: not below it
    as1.readings(1)
    assert as1.last_log_line().endswith("busy: load 2.50 >= 2.5; idle readings 0/3")
    as1.load(IDLE_LOAD)
    as1.readings(2)
    assert as1.calls() == []
    as1.readings(1)
    assert len(as1.calls()) == 1


@pytest.mark.parametrize(("load", "idle"), [("2.49", True), ("2.50", False), ("10.00", False), ("0", True)])
def test_the_load_is_compared_as_a_number(as1, load, idle):
    as1.load(f"{load} 0.01 0.01 1/99 1234\n")
    as1.readings(1)
    assert as1.last_log_line().endswith("idle readings 1/3" if idle else f"busy: load {load} >= 2.5; idle readings 0/3")


def test_an_unreadable_load_counts_as_busy_and_says_why(as1):
    as1.readings(2)
    as1.load("garbage\n")
    result = as1.reading()
    assert result.exit_code == 1
    assert "error: no load average in /var/lib/fpgaops-test/loadavg (first field: 'garbage')" in as1.log()
    assert as1.last_log_line().endswith("idle readings 0/3")
    as1.load(IDLE_LOAD)
    as1.readings(2)
    assert as1.calls() == []


def test_this_tests_own_ssh_session_makes_the_host_busy(cfg, pool, tmp_path, as1):
    apply(cfg, pool, tmp_path, auto_shutdown_ssh_port="22")
    as1.readings(3)
    assert as1.calls() == []
    assert "ssh session(s) on port 22; idle readings 0/3" in as1.last_log_line()
    status = as1.reading("--status").stdout
    assert "busy: " in status and "ssh session(s) on port 22" in status and "idle readings so far: 0/3" in status


def test_an_established_connection_is_a_session_and_a_mere_listener_is_not(cfg, pool, tmp_path, as1):
    apply(cfg, pool, tmp_path, auto_shutdown_ssh_port=str(HELD_PORT))
    hold = "import socket, sys, time\n{}\ntime.sleep(120)\n"
    listen = hold.format(f"s = socket.create_server(('127.0.0.1', {HELD_PORT}))")
    connect = hold.format(f"c = socket.create_connection(('127.0.0.1', {HELD_PORT}))")
    start = "code=$(cat); setsid python3 -c \"$code\" </dev/null >/dev/null 2>&1 & echo $!"
    pids = []
    try:
        pids.append(as1.sudo(start, stdin=listen).stdout.strip())
        as1.sudo(f"for i in $(seq 50); do ss -Htln '( sport = :{HELD_PORT} )' | grep -q . && exit 0; sleep 0.1; done; "
                 "exit 1")
        as1.readings(1)
        assert as1.last_log_line().endswith("idle readings 1/3")
        pids.append(as1.sudo(start, stdin=connect).stdout.strip())
        as1.sudo(f"for i in $(seq 50); do ss -Htn state established '( sport = :{HELD_PORT} )' | grep -q . "
                 "&& exit 0; sleep 0.1; done; exit 1")
        as1.readings(1)
        assert f"busy: 1 ssh session(s) on port {HELD_PORT}; idle readings 0/3" in as1.last_log_line()
        as1.sudo(f"kill {pids.pop()}")
        as1.sudo(f"for i in $(seq 50); do ss -Htn state established '( sport = :{HELD_PORT} )' | grep -q . "
                 "|| exit 0; sleep 0.1; done; exit 1")
        as1.readings(1)
        assert as1.last_log_line().endswith("idle readings 1/3")
    finally:
        for pid in pids:
            as1.sudo(f"kill {pid}", ok=False)


def test_a_recent_service_request_makes_the_host_busy(as1):
    as1.readings(2)
    as1.sudo(f"touch {ACTIVITY}")
    as1.readings(1)
    assert "busy: service request " in as1.last_log_line()
    as1.sudo(f"touch -d '9 minutes ago' {ACTIVITY}")
    as1.readings(1)
    assert "busy: service request " in as1.last_log_line()
    as1.sudo(f"touch -d '11 minutes ago' {ACTIVITY}")
    as1.readings(2)
    assert as1.last_log_line().endswith("idle readings 2/3") and "last service request 66" in as1.last_log_line()
    as1.sudo(f"touch -d '1 hour' {ACTIVITY}")  # in the future (the clock stepped back): taken as recent
    as1.readings(1)
    assert as1.last_log_line().endswith("idle readings 0/3")
    assert as1.calls() == []


def test_a_count_from_another_boot_or_from_long_ago_starts_again(as1):
    now = int(time.time())
    for state in (f"2 another-boot {now}", f"2 {as1.boot_id()} {now - 3600}", "two junk words"):
        as1.sudo(f"cat > {STATE}", stdin=state + "\n")
        as1.readings(1)
        assert as1.last_log_line().endswith("idle readings 1/3"), state
    as1.sudo(f"cat > {STATE}", stdin=f"2 {as1.boot_id()} {now - 60}\n")  # the previous reading, this boot
    as1.readings(1)
    assert len(as1.calls()) == 1


# --- actions -----------------------------------------------------------------------------------------


def test_dry_run_logs_what_it_would_do_and_calls_nothing(cfg, pool, tmp_path, as1):
    apply(cfg, pool, tmp_path, auto_shutdown_dry_run="true")
    as1.readings(3)
    assert as1.calls() == []
    assert (f"dry run: would shut down (idle for 3 readings 5 min apart): {STAND_IN} -h +1 "
            r"fpgaops:\ idle\ for\ 3\ readings\ 5\ min\ apart") in as1.log()
    as1.readings(1)
    assert as1.last_log_line().endswith("idle readings 1/3")
    assert "dry run: true" in as1.reading("--status").stdout


def test_a_failing_shutdown_command_is_logged_and_retried_at_the_next_reading(cfg, pool, tmp_path, as1):
    apply(cfg, pool, tmp_path, auto_shutdown_command="/bin/false", auto_shutdown_pass_reason="false")
    as1.readings(2)
    assert as1.reading().exit_code == 1
    assert as1.reading().exit_code == 1
    log = as1.log()
    assert log.count("shutting down (idle for") == 2
    assert log.count("error: the shutdown command exited with status 1") == 2
    assert "shutting down (idle for 4 readings 5 min apart): /bin/false\n" in log


def _zone_time(zone: str, later: timedelta = timedelta()) -> str:
    return (datetime.now(ZoneInfo(zone)) + later).strftime("%H:%M")


def test_the_nightly_shutdown_happens_at_its_time_in_its_zone_only(cfg, pool, tmp_path, as1):
    zone = "Asia/Kolkata"  # UTC+05:30: its minutes are not the host's
    later = _zone_time(zone, timedelta(hours=2))
    apply(cfg, pool, tmp_path, auto_shutdown_timezone=zone, auto_shutdown_nightly_time=later)
    assert as1.reading("--nightly").exit_code == 0
    assert as1.calls() == []
    for _ in range(3):  # the minute may turn between setting the time and reading it: try again then
        nightly = _zone_time(zone)
        apply(cfg, pool, tmp_path, auto_shutdown_timezone=zone, auto_shutdown_nightly_time=nightly)
        assert as1.reading("--nightly").exit_code == 0
        if as1.calls() or _zone_time(zone) == nightly:
            break
    assert as1.calls() == [["-h", "+1", f"fpgaops: nightly shutdown at {nightly} {zone}"]]
    minute = int(nightly[3:]) % 15
    assert f"{minute},{minute + 15},{minute + 30},{minute + 45} * * * * {SCRIPT} --nightly\n" in as1.crontab()


def test_no_nightly_time_means_no_nightly_line(cfg, pool, tmp_path, as1):
    apply(cfg, pool, tmp_path, auto_shutdown_nightly_time="")
    assert "--nightly" not in as1.crontab()
    assert as1.reading("--nightly").exit_code == 0 and as1.calls() == []
