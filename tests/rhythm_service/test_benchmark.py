"""``python -m rhythm_service.benchmark``: what `fab benchmark` runs on each FPGA host."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fpgaops.sandbox.config import PROJECT_ROOT
from rhythm_service.benchmark import sample_windows
from tests.window_package import window_package_folder


def run_benchmark(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rhythm_service.benchmark", "--count", "200", "--batch", "2000"],
                          cwd=PROJECT_ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)


def test_every_backend_that_runs_here_is_measured_and_the_others_say_why(model_package: Path, tmp_path: Path) -> None:
    done = run_benchmark({"MODEL_DIR": str(model_package), "CSIM_BUILD_DIR": str(tmp_path / "csim"),
                          "FPGA_PCI_ROOT": str(tmp_path / "no-pci")})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    backends = report["backends"]
    for label in ("cpu fixed", "cpu float", "csim"):
        assert 0 < backends[label]["p50_us"] <= backends[label]["p99_us"]
        assert backends[label]["windows_per_s"] > 0 and backends[label]["calls"] == 200
    assert "skipped" in backends["fpga"] and "no-pci" in backends["fpga"]["skipped"]
    assert report["model"] == model_package.name.removeprefix("beat-model-")


def test_a_model_with_another_window_is_measured_with_windows_of_its_shape(tmp_path: Path) -> None:
    folder = window_package_folder(16)
    assert sample_windows(5, (16, 3)).shape == (5, 16, 3)
    done = run_benchmark({"MODEL_DIR": str(folder), "CSIM_BUILD_DIR": str(tmp_path / "csim"),
                          "FPGA_PCI_ROOT": str(tmp_path / "no-pci")})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["window"] == "16 frames x 3 features (48 inputs)"
    assert all(report["backends"][label]["calls"] == 200 for label in ("cpu fixed", "cpu float", "csim"))


def test_a_bad_setting_is_named_and_nothing_is_measured() -> None:
    done = run_benchmark({"FPGA_SLOT": "nine"})
    assert done.returncode == 1 and done.stdout == ""
    assert "FPGA_SLOT" in done.stderr
