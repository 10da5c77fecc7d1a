"""The auto_shutdown role's variables, checked and turned into the idle check script's values and cron lines.

Values may come from YAML (numbers, booleans, lists) or from ``-e k=v`` (strings): both are
accepted, and every bad value is a ``SettingError`` naming the variable, the value and what is
expected, raised while the role lists its steps (before any host is touched).
"""

from __future__ import annotations

import re
import shlex
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CHECK_MINUTES = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)  # divisors of 60: readings evenly spaced
ZONE_STEP_MINUTES = 15  # every time zone's offset from any other is a multiple of 15 minutes
_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")  # what the script accepts as a load average, too
_PATH = re.compile(r"/[A-Za-z0-9._+/-]*")  # safe unquoted in a cron line too (cron gives % a meaning)
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


class SettingError(ValueError):
    """A variable of the auto_shutdown role has a value the role cannot use."""


def _number(name: str, value: Any) -> float:
    text = str(value).strip()
    if isinstance(value, bool) or not _NUMBER.fullmatch(text) or float(text) <= 0:
        raise SettingError(f"{name}: expected a number greater than 0 such as 0.5, got {value!r}")
    return float(text)


def _whole(name: str, value: Any, low: int, high: int) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not low <= int(text) <= high:
        raise SettingError(f"{name}: expected a whole number from {low} to {high}, got {value!r}")
    return int(text)


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise SettingError(f"{name}: expected true or false, got {value!r}")


def _path(name: str, value: Any, *, optional: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if optional and not text:
        return ""
    if not _PATH.fullmatch(text) or text == "/":
        raise SettingError(f"{name}: expected an absolute path of letters, digits and . _ - + / only, got {value!r}"
                           + (' (or "" to turn it off)' if optional else ""))
    return text.rstrip("/")


def _command(name: str, value: Any) -> tuple[str, ...]:
    try:
        listed = isinstance(value, list | tuple)
        words = tuple(str(word) for word in value) if listed else tuple(shlex.split(str(value)))
    except ValueError as err:
        raise SettingError(f"{name}: cannot split {value!r} into words: {err}") from None
    if not words or not words[0].startswith("/"):
        raise SettingError(f"{name}: expected a command starting with an absolute path such as "
                           f"/sbin/shutdown -h +1, got {value!r}")
    return words


def _nightly_time(name: str, value: Any) -> str:
    text = "" if value is None else str(value).strip()
    if text and not _TIME.fullmatch(text):
        raise SettingError(f'{name}: expected a 24-hour time HH:MM such as 23:00 (or "" for none), got {value!r}')
    return text


def _timezone(name: str, value: Any) -> str:
    text = str(value).strip()
    try:
        if not text or text.startswith("/") or ".." in text:
            raise ValueError(text)
        zoneinfo.ZoneInfo(text)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise SettingError(f"{name}: expected an IANA time zone name such as UTC or Europe/Paris, "
                           f"got {value!r}") from None
    return text


@dataclass(frozen=True)
class AutoShutdownSettings:
    """Checked values of the auto_shutdown role (see ``roles/auto_shutdown/defaults.yml`` for each one).

    Example: ``AutoShutdownSettings.from_vars(role_vars(host, DEFAULTS)).cron_entries()``
    """

    check_minutes: int
    idle_readings: int
    load_threshold: float
    loadavg_file: str
    ssh_port: int
    activity_file: str
    activity_minutes: int
    nightly_time: str
    timezone: str
    dry_run: bool
    command: tuple[str, ...]
    pass_reason: bool
    script: str
    state_dir: str
    log_file: str

    @classmethod
    def from_vars(cls, v: Mapping[str, Any]) -> AutoShutdownSettings:
        """The settings from the role's variables (``role_vars``); SettingError for the first bad one.

        Args: v: the role's variables (a missing one raises ``RoleVarError``).
        Example: ``AutoShutdownSettings.from_vars({**defaults, "auto_shutdown_dry_run": "true"}).dry_run`` -> True
        """
        check_minutes = v["auto_shutdown_check_minutes"]
        if str(check_minutes).strip() not in map(str, CHECK_MINUTES):
            raise SettingError(f"auto_shutdown_check_minutes: expected one of {', '.join(map(str, CHECK_MINUTES))} "
                               f"(a divisor of 60, so readings are evenly spaced), got {check_minutes!r}")
        return cls(
            check_minutes=int(str(check_minutes).strip()),
            idle_readings=_whole("auto_shutdown_idle_readings", v["auto_shutdown_idle_readings"], 1, 1000),
            load_threshold=_number("auto_shutdown_load_threshold", v["auto_shutdown_load_threshold"]),
            loadavg_file=_path("auto_shutdown_loadavg_file", v["auto_shutdown_loadavg_file"]),
            ssh_port=_whole("auto_shutdown_ssh_port", v["auto_shutdown_ssh_port"], 1, 65535),
            activity_file=_path("auto_shutdown_activity_file", v["auto_shutdown_activity_file"], optional=True),
            activity_minutes=_whole("auto_shutdown_activity_minutes", v["auto_shutdown_activity_minutes"], 1, 10080),
            nightly_time=_nightly_time("auto_shutdown_nightly_time", v["auto_shutdown_nightly_time"]),
            timezone=_timezone("auto_shutdown_timezone", v["auto_shutdown_timezone"]),
            dry_run=_flag("auto_shutdown_dry_run", v["auto_shutdown_dry_run"]),
            command=_command("auto_shutdown_command", v["auto_shutdown_command"]),
            pass_reason=_flag("auto_shutdown_pass_reason", v["auto_shutdown_pass_reason"]),
            script=_path("auto_shutdown_script", v["auto_shutdown_script"]),
            state_dir=_path("auto_shutdown_state_dir", v["auto_shutdown_state_dir"]),
            log_file=_path("auto_shutdown_log_file", v["auto_shutdown_log_file"]),
        )

    @property
    def state_file(self) -> str:
        """Where the script keeps its count of consecutive idle readings."""
        return f"{self.state_dir}/idle-check.state"

    def template_vars(self) -> dict[str, str]:
        """The idle check template's values, each already a shell word (quoted where needed).

        Example: ``render_template("auto_shutdown/idle_check.sh.j2", settings.template_vars())``
        """
        return {
            "check_minutes": str(self.check_minutes),
            "idle_readings": str(self.idle_readings),
            "load_threshold": f"{self.load_threshold:g}",
            "loadavg_file": shlex.quote(self.loadavg_file),
            "ssh_port": str(self.ssh_port),
            "activity_file": shlex.quote(self.activity_file),
            "activity_minutes": str(self.activity_minutes),
            "nightly_time": shlex.quote(self.nightly_time),
            "timezone": shlex.quote(self.timezone),
            "dry_run": "true" if self.dry_run else "false",
            "command_words": " ".join(map(shlex.quote, self.command)),
            "pass_reason": "true" if self.pass_reason else "false",
            "state_file": shlex.quote(self.state_file),
            "lock_file": shlex.quote(f"{self.state_dir}/idle-check.lock"),
            "log_file": shlex.quote(self.log_file),
        }

    def cron_entries(self) -> list[str]:
        """Root's cron lines: the idle reading every ``check_minutes``, the nightly check 4 times an hour.

        The nightly line runs at the four minutes of every hour that can be the nightly minute in
        some time zone (offsets between zones are multiples of 15 minutes), and the script shuts
        down only when the time in ``timezone`` is exactly ``nightly_time``: correct across daylight
        saving changes whatever the host's time zone, with Debian's cron, which has no CRON_TZ.
        Example: nightly 23:10 -> ``["*/5 * * * * /usr/local/sbin/fpgaops-idle-check",
        "10,25,40,55 * * * * /usr/local/sbin/fpgaops-idle-check --nightly"]``
        """
        every = "*" if self.check_minutes == 1 else f"*/{self.check_minutes}"
        entries = [f"{every} * * * * {self.script}"]
        if self.nightly_time:
            minute = int(self.nightly_time[3:]) % ZONE_STEP_MINUTES
            minutes = ",".join(str(minute + step) for step in range(0, 60, ZONE_STEP_MINUTES))
            entries.append(f"{minutes} * * * * {self.script} --nightly")
        return entries
