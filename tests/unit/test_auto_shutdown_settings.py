"""The auto_shutdown role's variables: checked with clear errors, cron lines, and the steps it declares."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fpgaops.inventory import Host
from fpgaops.role_vars import RoleVarError, load_defaults, role_vars
from roles.auto_shutdown.settings import AutoShutdownSettings, SettingError
from roles.auto_shutdown.tasks import DEFAULTS, disable_role, disable_tasks, role, tasks

SCRIPT = "/usr/local/sbin/fpgaops-idle-check"


def settings(**overrides) -> AutoShutdownSettings:
    return AutoShutdownSettings.from_vars({**load_defaults(DEFAULTS), **overrides})


def test_the_defaults_are_a_30_minute_idle_window_and_a_nightly_stop_at_23_utc() -> None:
    s = settings()
    assert (s.check_minutes, s.idle_readings, s.load_threshold, s.ssh_port) == (5, 6, 0.5, 22)
    assert (s.nightly_time, s.timezone, s.dry_run, s.command) == ("23:00", "UTC", False, ("/sbin/shutdown", "-h", "+1"))
    assert s.state_file == "/var/lib/fpgaops/idle-check.state"


def test_strings_from_extra_vars_are_read_as_numbers_and_flags() -> None:
    s = settings(auto_shutdown_load_threshold="0.25", auto_shutdown_idle_readings="4", auto_shutdown_dry_run="yes",
                 auto_shutdown_ssh_port="2222", auto_shutdown_check_minutes="10", auto_shutdown_pass_reason="False")
    assert (s.load_threshold, s.idle_readings, s.dry_run, s.ssh_port, s.check_minutes, s.pass_reason) == \
        (0.25, 4, True, 2222, 10, False)


BAD = {
    "auto_shutdown_load_threshold": ("abc", "expected a number greater than 0"),
    "auto_shutdown_idle_readings": (0, "expected a whole number from 1 to 1000"),
    "auto_shutdown_check_minutes": (7, "expected one of 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30"),
    "auto_shutdown_ssh_port": (70000, "expected a whole number from 1 to 65535"),
    "auto_shutdown_activity_minutes": ("-5", "expected a whole number from 1 to 10080"),
    "auto_shutdown_nightly_time": ("25:00", "expected a 24-hour time HH:MM"),
    "auto_shutdown_timezone": ("Mars/Olympus_Mons", "expected an IANA time zone name"),
    "auto_shutdown_dry_run": ("maybe", "expected true or false"),
    "auto_shutdown_command": ("shutdown -h now", "expected a command starting with an absolute path"),
    "auto_shutdown_script": ("/usr/local/sbin/idle check", "expected an absolute path of letters"),
    "auto_shutdown_loadavg_file": ("proc/loadavg", "expected an absolute path"),
    "auto_shutdown_log_file": ("/var/log/idle%s.log", "expected an absolute path"),
}


@pytest.mark.parametrize(("name", "value", "message"), [(n, v, m) for n, (v, m) in BAD.items()], ids=BAD.keys())
def test_every_bad_value_is_an_error_naming_the_variable_and_the_value(name, value, message) -> None:
    with pytest.raises(SettingError, match=rf"^{re.escape(f'{name}: {message}')}.*{re.escape(repr(value))}"):
        settings(**{name: value})


def test_a_threshold_given_as_a_boolean_is_refused() -> None:
    with pytest.raises(SettingError, match="auto_shutdown_load_threshold"):
        settings(auto_shutdown_load_threshold=True)


def test_cron_lines_every_5_minutes_and_the_nightly_check_at_the_4_minutes_it_can_fall_on() -> None:
    assert settings().cron_entries() == [f"*/5 * * * * {SCRIPT}", f"0,15,30,45 * * * * {SCRIPT} --nightly"]
    assert settings(auto_shutdown_nightly_time="23:10", auto_shutdown_timezone="Asia/Kathmandu").cron_entries()[1] == \
        f"10,25,40,55 * * * * {SCRIPT} --nightly"
    assert settings(auto_shutdown_nightly_time="", auto_shutdown_check_minutes=1).cron_entries() == \
        [f"* * * * * {SCRIPT}"]


def test_install_declares_the_directory_the_script_and_the_cron_block() -> None:
    host = Host("f1-a", ("f1",), {"auto_shutdown_dry_run": "true"})
    assert [op.description for op in tasks(host)] == [
        "directory /var/lib/fpgaops", f"template auto_shutdown/idle_check.sh.j2 -> {SCRIPT}",
        "cron block auto-shutdown of root"]
    assert [op.description for op in disable_tasks(host)] == [
        "cron block auto-shutdown of root", f"absent {SCRIPT}", "absent /var/lib/fpgaops/idle-check.state"]
    assert (role().name, role().hosts, disable_role().hosts) == ("auto_shutdown", "f1", "f1")


def test_a_bad_inventory_value_stops_the_role_before_any_host_is_touched() -> None:
    with pytest.raises(SettingError, match=r"auto_shutdown_timezone: .*'Paris'"):
        tasks(Host("f1-a", ("f1",), {"auto_shutdown_timezone": "Paris"}))


def test_a_variable_missing_everywhere_names_the_role_host_and_variable(tmp_path: Path) -> None:
    defaults = tmp_path / "auto_shutdown" / "defaults.yml"
    defaults.parent.mkdir()
    defaults.write_text(DEFAULTS.read_text().replace("auto_shutdown_ssh_port:", "ssh_port:"))
    with pytest.raises(RoleVarError, match="auto_shutdown: variable 'auto_shutdown_ssh_port' is not set for host f1-a"):
        AutoShutdownSettings.from_vars(role_vars(Host("f1-a", ("f1",), {}), defaults))
