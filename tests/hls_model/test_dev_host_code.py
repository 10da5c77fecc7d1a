"""The code the synth role pushes to the dev host is enough to run the pipeline's command line.

The laptop's venv has the whole project installed (editable), so an import of a module the dev
host does not get would pass every other test and fail only in a deployment: here the CLI runs
from a copy holding only ``roles.synth.tasks.SOURCE_FILES``, with no site processing (so the
editable install's path hook is not there) and the venv's packages on ``PYTHONPATH``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from roles.synth.tasks import SOURCE_FILES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", [["--help"], ["generate", "--help"], ["evaluate", "--help"]])
def test_the_pipeline_cli_runs_from_the_pushed_files_alone(tmp_path: Path, command: list[str]) -> None:
    for pattern in SOURCE_FILES:
        for path in ROOT.glob(pattern):
            target = tmp_path / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    env = {"PYTHONPATH": f"{tmp_path}:{sysconfig.get_paths()['purelib']}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-S", "-m", "hls_model", *command], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Usage:" in result.stdout
