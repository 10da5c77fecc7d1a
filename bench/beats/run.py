"""Benchmark: beat tracking on real recordings, the packaged model beside two baselines.

    .venv/bin/python bench/beats/run.py [--recordings DIR] [--package PATH] [--work DIR]

Runs ``python -m hls_model evaluate --recordings`` (``hls_model.recordings_report``) on the
real-music development set, /work/shared/data/realmusic-dev/ (7 recordings with reference beats;
skipped with a message when the folder is not there): the model package's cpu backend as the
service runs it, the same beat tracker on the plain onset envelope, and librosa's beat tracker,
scored with mir_eval on the beats after 5 s. The package is ``--package``, else the one
``python -m hls_model all`` built under ``--work`` (default build/hls_model), else the CI model the
tests use (tests/model_package.py, built if needed: a much smaller model, the run says so).

Prints a table per recording and the means, writes ``bench/results/beats.json`` and a chart of a
20 s excerpt of each recording, ``bench/results/beats.png``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402

from hls_model import recordings_report  # noqa: E402
from rhythm_service.model_package import ModelPackageError  # noqa: E402
from tests.model_package import model_package_folder  # noqa: E402

RESULTS = ROOT / "bench" / "results"
REALMUSIC = Path("/work/shared/data/realmusic-dev")


def package_path(package: Path | None, work: Path, console: Console) -> Path:
    """``package`` if given, else the pipeline's package under ``work``, else the CI model of the tests."""
    if package is not None:
        return package
    try:
        return recordings_report.built_package(work)
    except recordings_report.RecordingsError:
        console.print(f"no package under {work / 'package'} (`python -m hls_model all`): using the tests' CI model, "
                      "a much smaller one")
        return model_package_folder()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=Path, default=REALMUSIC,
                        help=f"audio files with .beats beside them (default {REALMUSIC})")
    parser.add_argument("--package", type=Path, default=None, help="a beat-model-<release>/ folder")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "hls_model",
                        help="the pipeline's work folder whose package is used (default build/hls_model)")
    args = parser.parse_args()
    console = Console()
    if not args.recordings.is_dir():
        console.print(f"skipped: {args.recordings} is not there (pass --recordings DIR)")
        return
    try:
        recordings_report.run(args.recordings, package_path(args.package, args.work, console), RESULTS / "beats.json",
                              RESULTS / "beats.png", console)
    except (recordings_report.RecordingsError, ModelPackageError) as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
