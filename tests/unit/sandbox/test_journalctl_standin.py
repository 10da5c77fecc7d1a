"""The sandbox hosts' journalctl stand-in answers -u/-n as the real journalctl does (on a copy reading tmp_path)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fpgaops.sandbox.hosts import JOURNALCTL


@pytest.fixture
def journalctl(tmp_path: Path):
    script = tmp_path / "journalctl"
    script.write_text(JOURNALCTL.read_text().replace("/var/log/journal/", f"{tmp_path}/"))
    (tmp_path / "rhythm.service.log").write_text("".join(f"line {n}\n" for n in range(1, 16)))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["sh", str(script), *args], capture_output=True, text=True)
    return run


def test_without_lines_every_line_is_shown_as_the_real_one(journalctl) -> None:
    assert journalctl("-u", "rhythm", "--no-pager").stdout.splitlines()[0] == "line 1"
    assert len(journalctl("-u", "rhythm.service", "-n", "all").stdout.splitlines()) == 15


@pytest.mark.parametrize("args", [("-n", "3"), ("-n3",), ("--lines=3",)])
def test_lines_limits_to_the_last(journalctl, args) -> None:
    assert journalctl("-u", "rhythm", *args).stdout.splitlines() == ["line 13", "line 14", "line 15"]


def test_an_unknown_unit_has_no_entries_and_a_bad_count_fails(journalctl) -> None:
    assert journalctl("-u", "other").stdout == "-- No entries --\n"
    assert journalctl("-u", "rhythm", "-n", "many").returncode == 1
