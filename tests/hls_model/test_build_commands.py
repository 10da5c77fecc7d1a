"""The build scripts name no tool version or shell: the synth role exports them; without them a script stops."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from hls_model.build_commands import write_build_scripts
from hls_model.config import PipelineConfig


def test_the_scripts_take_tool_versions_and_shell_from_the_environment(tmp_path: Path, interface) -> None:
    steps = write_build_scripts(tmp_path, PipelineConfig(), interface)
    text = "\n".join(line for commands in steps.values() for line in commands)
    assert not re.search(r"\b20\d\d\.\d\b", text), "a Xilinx version is written into the build scripts"
    assert 'source_checked /opt/Xilinx/Vitis/"${XILINX_HLS_VERSION:?' in steps["hls"][0]
    assert any(line.startswith('source_checked /opt/Xilinx/Vivado/"${XILINX_VIVADO_VERSION:?') for line in steps["dcp"])
    assert steps["dcp"][-2] == './aws_build_dcp_from_cl.py -c cl_beat -t "$TAG" --mode "$AWS_FPGA_SHELL_MODE"'


def test_a_script_run_without_the_versions_stops_naming_the_variable(tmp_path: Path, interface) -> None:
    write_build_scripts(tmp_path / "build", PipelineConfig(), interface)
    done = subprocess.run([str(tmp_path / "build" / "hls_build.sh")], capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode != 0 and "XILINX_HLS_VERSION: set by the synth role" in done.stderr
    done = subprocess.run([str(tmp_path / "build" / "dcp_build.sh")], capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin", "AWS_FPGA_REPO_DIR": str(tmp_path)})
    assert done.returncode != 0 and "AWS_FPGA_SHELL_MODE: set AWS_FPGA_SHELL_MODE" in done.stderr
