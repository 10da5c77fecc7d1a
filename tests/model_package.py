"""The beat model package the service, the sandbox card and the roles are tested with.

Built once by the real pipeline (``python -m hls_model --ci all``: generate, train, evaluate,
convert, package; about 45 s on 2 cores) into ``build/test-model`` and brought up to date by every
test session: the pipeline skips each step whose code and inputs did not change (a few seconds). A file lock keeps
concurrent test runs from building it twice at once.

Example::

    from tests.model_package import model_package_folder
    folder = model_package_folder()          # build/test-model/package/beat-model-<release>/
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "test-model"


def model_package_folder() -> Path:
    """The packaged release folder of the CI model (built the first time, then reused)."""
    WORK.mkdir(parents=True, exist_ok=True)
    with open(WORK / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        release = WORK / "package" / "release.json"
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}  # every step reruns only if its code or inputs changed
        subprocess.run([sys.executable, "-m", "hls_model", "--ci", "--work", str(WORK), "all"], cwd=ROOT,
                       env=env, check=True, stdout=subprocess.DEVNULL)
        return WORK / "package" / json.loads(release.read_text())["folder"]


def model_package_tarball() -> Path:
    """The release tarball beside the folder (``beat-model-<release>.tar.gz``)."""
    folder = model_package_folder()
    return folder.parent / f"{folder.name}.tar.gz"
