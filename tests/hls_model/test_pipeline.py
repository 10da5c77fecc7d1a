"""The whole pipeline on the small (CI) configuration, through the CLI, then the package's build scripts
run against the sandbox's vendor-tool stand-ins (vitis-run, the F2 HDK DCP build).

Measured on 2 cores: about 35 s for the pipeline (beat F-measure 0.78 on 16 held-out songs, 12 of them SoundFont
arrangements; emulation agreement 99.9 %).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fpgaops.fpga_platform import DEFAULT_AMI, DEFAULT_REF, default_shell, developer_ami
from fpgaops.sandbox.ami_layer import install_ami
from fpgaops.sandbox.sdk_archive import materialize_tree
from hls_model import package
from hls_model.__main__ import cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work folder where `python -m hls_model --ci all` ran as on the dev host: its own process, a fresh numba
    cache (librosa's numba code once crashed compiling in the process that had just trained)."""
    folder = tmp_path_factory.mktemp("hls_model")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path_factory.mktemp("numba-cache")), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-m", "hls_model", "--ci", "--work", str(folder), "all"],
                            env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


@pytest.fixture(scope="module")
def release(work: Path) -> Path:
    """The packaged artifact folder."""
    return work / "package" / json.loads((work / "package" / "release.json").read_text())["folder"]


def test_the_model_detects_beats_on_held_out_songs(work: Path) -> None:
    metrics = json.loads((work / "evaluate" / "metrics.json").read_text())
    assert metrics["songs"] == 16
    assert metrics["beat_f_measure"] >= 0.7  # 0.78 measured
    assert set(metrics["by_generator"]) == {"arranged", "synth"}
    assert metrics["tempo_accuracy_octave"] >= 0.8
    assert metrics["roc_auc"] >= 0.9
    # the example FLAC (test song 0, 16-bit) read back through soundfile scores as the song did in memory
    assert metrics["recordings"][0]["beat_f_measure"] == pytest.approx(metrics["per_song"][0]["f_measure"], abs=0.02)


def test_the_c_emulation_agrees_with_keras(work: Path) -> None:
    emulation = json.loads((work / "convert" / "emulation.json").read_text())
    assert emulation["agreement"] >= 0.995 and emulation["windows"] > 5000
    assert emulation["max_abs_diff"] < 0.05
    assert emulation["beat_f_measure"] >= 0.7


def test_the_numpy_forward_pass_equals_keras(work: Path) -> None:
    from hls_model import model, numpy_model

    keras_model = model.load_model(work / "train" / "model.h5")
    windows = np.random.default_rng(0).normal(size=(500, *keras_model.input_shape[1:])).astype(np.float32)
    expected = model.predict(keras_model, windows)
    actual = numpy_model.forward(numpy_model.load_weights(work / "train" / "weights.npz"), windows)
    np.testing.assert_allclose(actual, expected, atol=1e-5)


def test_the_manifest_describes_and_hashes_every_file(release: Path) -> None:
    manifest = json.loads((release / "manifest.json").read_text())
    assert not package.verify(release)
    assert release.name == f"beat-model-{manifest['content_sha256'][:16]}"
    assert manifest["platform"] == "f2" and manifest["part"] == "xcvu47p-fsvh2892-2-e"
    assert manifest["precision"] == "ap_fixed<16,6>" and manifest["reuse_factor"] == 1
    assert manifest["metrics"]["emulation"]["agreement"] >= 0.995
    assert manifest["register_map"]["model_id"] == "0x" + manifest["model"]["weights_sha256"][:8].upper()
    assert {"tensorflow-cpu", "QKeras", "hls4ml", "numpy", "librosa"} <= set(manifest["versions"])
    files = set(manifest["files"])
    assert {"model/model.h5", "model/weights.npz", "model/normalisation.json", "cl/cl_beat.sv",
            "cl/beat_ocl_accelerator.sv", "build/hls_build.sh", "build/dcp_build.sh",
            "hls/hls_project/build_prj.tcl", "hls/ip_interface.json"} <= files
    assert not any(name.endswith(".so") or "keras_model" in name for name in files)


def test_the_tarball_is_reproducible_and_holds_the_folder(work: Path, release: Path, tmp_path: Path) -> None:
    summary = json.loads((work / "package" / "release.json").read_text())
    tarball = work / "package" / summary["tarball"]
    assert package.tarball(release, tmp_path / "again.tar.gz") == summary["tarball_sha256"]
    shutil.unpack_archive(tarball, tmp_path / "unpacked")
    assert not package.verify(tmp_path / "unpacked" / release.name)


def test_a_rerun_skips_every_step_and_gives_the_same_release(work: Path) -> None:
    result = CliRunner().invoke(cli, ["--ci", "--work", str(work), "all"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.count("up to date, skipped") == 5


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="the vendor stand-ins run with /usr/bin/python3")
def test_the_build_scripts_run_on_the_dev_host_tools(release: Path, tmp_path: Path) -> None:
    """hls_build.sh then dcp_build.sh, as the synth role runs them, with the FPGA Developer AMI stand-ins."""
    artifact = tmp_path / release.name
    shutil.copytree(release, artifact)
    repo = materialize_tree(tmp_path / "aws-fpga", DEFAULT_REF)
    run = tmp_path / "run"
    run.mkdir()
    (run / "host.json").write_text(json.dumps({"timings": {"hls_synth_s": 0.05, "dcp_build_s": 0.1}}))
    install_ami(tmp_path, developer_ami(DEFAULT_AMI))
    xilinx = tmp_path / "opt" / "Xilinx"  # the AMI's /opt/Xilinx, moved: its settings and our scripts follow
    for path in [*xilinx.rglob("settings64.sh"), *(artifact / "build").glob("*.sh")]:
        path.write_text(path.read_text().replace("/opt/Xilinx", str(xilinx)))
    vivado = developer_ami(DEFAULT_AMI).vivado  # what the synth role finds on the dev host (and checks)
    env = {**os.environ, "FPGAOPS_SANDBOX_RUN": str(run), "AWS_FPGA_REPO_DIR": str(repo), "PATH": "/usr/bin:/bin",
           "XILINX_HLS_VERSION": vivado, "XILINX_VIVADO_VERSION": vivado,
           "AWS_FPGA_SHELL_MODE": default_shell("f2").mode}
    hls = subprocess.run([str(artifact / "build" / "hls_build.sh")], env=env, capture_output=True, text=True,
                         check=False, timeout=300)
    assert hls.returncode == 0, hls.stdout[-3000:] + hls.stderr[-3000:]
    dcp = subprocess.run([str(artifact / "build" / "dcp_build.sh"), "2025_01_02-030405"], env=env,
                         capture_output=True, text=True, check=False, timeout=300)
    assert dcp.returncode == 0, dcp.stdout[-3000:] + dcp.stderr[-3000:]
    assert "checked with verilator" in dcp.stdout
    tarball = Path(dcp.stdout.strip().splitlines()[-1].removeprefix("DCP_TARBALL="))
    assert tarball.is_file() and tarball.name == "2025_01_02-030405.Developer_CL.tar"
