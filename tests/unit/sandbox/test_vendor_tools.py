"""The FPGA Developer AMI's tool stand-ins (vitis-run, vivado_hls, vivado) and the HDK DCP build.

They run as the hosts run them (under /usr/bin/python3, found on PATH) on projects in temporary
directories, with $FPGAOPS_SANDBOX_RUN/host.json asking for tiny timings.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fpgaops.fpga_platform import DEFAULT_AMI, DEFAULT_REF, F1_HLS_VIVADO, developer_ami, shell
from fpgaops.platforms import F2
from fpgaops.sandbox.ami_layer import install_ami
from fpgaops.sandbox.sdk_archive import materialize_tree
from tests.unit.sandbox.hls_fixture import build_options, write_project

AMI = developer_ami(DEFAULT_AMI)  # the AMI the sandbox's dev host runs by default
TAG = "2025_01_02-030405"

pytestmark = pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="the stand-ins run with /usr/bin/python3")


@pytest.fixture(scope="module")
def xilinx(tmp_path_factory) -> Path:
    """/opt/Xilinx of the default AMI (made from the platform table, as on a sandbox host)."""
    return install_ami(tmp_path_factory.mktemp("ami"), AMI) / "opt" / "Xilinx"


def tools_path(xilinx: Path, vivado: str) -> str:
    """PATH with the Vitis and Vivado ``vivado`` of an AMI."""
    return f"{xilinx / 'Vitis' / vivado / 'bin'}:{xilinx / 'Vivado' / vivado / 'bin'}:/usr/local/bin:/usr/bin:/bin"


@pytest.fixture
def env(tmp_path: Path, xilinx: Path) -> dict[str, str]:
    """PATH with the default AMI's tools, host.json with tiny timings."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "host.json").write_text(json.dumps({"timings": {"hls_synth_s": 0.05, "dcp_build_s": 0.1}}))
    return {**os.environ, "FPGAOPS_SANDBOX_RUN": str(run), "PATH": tools_path(xilinx, AMI.vivado)}


def run(command: list[str] | str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a command (a string goes through bash), output captured as text."""
    shell = isinstance(command, str)
    return subprocess.run(
        ["bash", "-c", command] if shell else command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def vitis_build(project: Path, env: dict[str, str], **steps: bool) -> subprocess.CompletedProcess:
    """hls4ml's Vitis build(): write build_opt.tcl, run vitis-run in the project."""
    (project / "build_opt.tcl").write_text(build_options(**steps))
    return run(["vitis-run", "--tcl", "build_prj.tcl", "--mode", "hls"], project, env)


def csynth(solution: Path, top: str = "myproject") -> ET.Element:
    """The csynth.xml root."""
    return ET.parse(solution / "syn" / "report" / f"{top}_csynth.xml").getroot()


# --- HLS -------------------------------------------------------------------------------------------


def test_vitis_run_writes_the_real_layout(tmp_path: Path, env: dict[str, str]) -> None:
    project = write_project(tmp_path / "prj")
    result = vitis_build(project, env, synth=True, export=True, vsynth=True)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == f"****** vitis-run v{AMI.tools['Vitis']} (64-bit)" and "stand-in" in lines[2]
    solution = project / "myproject_prj" / "solution1"
    for path in (
        "myproject_prj/hls.app",
        "vitis_hls.log",
        "vivado_synth.rpt",
        "myproject_prj/solution1/syn/report/myproject_csynth.rpt",
        "myproject_prj/solution1/syn/verilog/myproject.v",
        "myproject_prj/solution1/impl/ip/component.xml",
        "myproject_prj/solution1/impl/ip/hdl/verilog/myproject.v",
    ):
        assert (project / path).is_file(), path
    root = csynth(solution)
    assert root.findtext("UserAssignments/Part") == "xcvu47p-fsvh2892-2-e"
    assert root.findtext("UserAssignments/TargetClockPeriod") == "4.00"
    latency = int(root.findtext("PerformanceEstimates/SummaryOfOverallLatency/Best-caseLatency"))
    assert 5 < latency < 40
    assert root.findtext("PerformanceEstimates/SummaryOfOverallLatency/Interval-min") == "1"
    assert int(root.findtext("AreaEstimates/Resources/DSP")) == 30 * 16 + 16 * 8 + 8  # one per multiplication
    assert float(root.findtext("PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod")) < 4
    ports = {p.findtext("name"): p for p in root.iter("RtlPorts")}
    assert ports["input_1"].findtext("Bits") == "480" and ports["layer7_out_0"].findtext("Dir") == "out"
    assert {
        "ap_clk",
        "ap_rst",
        "ap_start",
        "ap_done",
        "ap_idle",
        "ap_ready",
        "input_1_ap_vld",
        "layer7_out_0_ap_vld",
    } <= set(ports)
    component = (solution / "impl" / "ip" / "component.xml").read_text()
    assert "<spirit:name>layer7_out_0</spirit:name>" in component


def test_vivado_hls_takes_hls4ml_arguments_and_names_ports_with_v(tmp_path: Path, env: dict[str, str],
                                                                  xilinx: Path) -> None:
    project = write_project(tmp_path / "prj", backend="vivado", part="xcvu9p-flgb2104-2-i")
    env = {**env, "PATH": f"{xilinx / 'Vivado' / F1_HLS_VIVADO / 'bin'}:{env['PATH']}"}
    args = "reset=True csim=False synth=True cosim=False validation=False export=True vsynth=False fifo_opt=False"
    result = run(["vivado_hls", "-f", "build_prj.tcl", args], project, env)
    assert result.returncode == 0, result.stdout
    assert f"Vivado(TM) HLS - High-Level Synthesis from C, C++ and SystemC v{F1_HLS_VIVADO} (64-bit)" in result.stdout
    assert (project / "myproject_prj" / "vivado_hls.app").is_file() and (project / "vivado_hls.log").is_file()
    root = csynth(project / "myproject_prj" / "solution1")
    assert root.find("AreaEstimates/Resources/DSP48E") is not None
    assert root.findtext("AreaEstimates/AvailableResources/LUT") == "1182240"
    verilog = (project / "myproject_prj/solution1/impl/ip/hdl/verilog/myproject.v").read_text()
    assert "input_1_V," in verilog and "layer7_out_0_V_ap_vld" in verilog


def test_the_rtl_model_lints_clean(tmp_path: Path, env: dict[str, str]) -> None:
    if shutil.which("verilator") is None:
        pytest.skip("verilator is not installed")
    project = write_project(tmp_path / "prj")
    assert vitis_build(project, env, synth=True).returncode == 0
    verilog = project / "myproject_prj/solution1/syn/verilog/myproject.v"
    lint = subprocess.run(
        ["verilator", "--lint-only", "-Wno-UNUSEDSIGNAL", str(verilog)], capture_output=True, text=True, check=False
    )
    assert lint.returncode == 0, lint.stderr


def test_hls4ml_reads_the_reports(tmp_path: Path, env: dict[str, str]) -> None:
    hls4ml_report = pytest.importorskip("hls4ml.report")
    project = write_project(tmp_path / "prj")
    assert vitis_build(project, env, synth=True, vsynth=True).returncode == 0
    report = hls4ml_report.parse_vivado_report(str(project))
    assert report["CSynthesisReport"]["AvailableDSP"] == "9024"
    assert int(report["CSynthesisReport"]["DSP"]) == 616
    assert set(report["VivadoSynthReport"]) == {"LUT", "FF", "BRAM_18K", "URAM", "DSP48E"}


def _break_part(project: Path) -> None:
    tcl = project / "project.tcl"
    tcl.write_text(tcl.read_text().replace("xcvu47p-fsvh2892-2-e", "vu47p"))


def _rename_top(project: Path) -> None:
    source = project / "firmware" / "myproject.cpp"
    source.write_text(source.read_text().replace("void myproject(", "void other_top("))


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda p: (p / "project.tcl").unlink(), "couldn't read file"),
        (_break_part, "ERROR: [HLS 200-1023] Part 'vu47p' is not installed."),
        (_rename_top, "ERROR: [HLS 200-1703] Cannot find the top function 'myproject' in the design."),
        (lambda p: (p / "firmware" / "myproject.cpp").unlink(), "ERROR: [HLS 200-70] Compilation errors found"),
        (lambda p: (p / "build_prj.tcl").write_text("puts hello\n"), "is not an hls4ml build script"),
        (lambda p: (p / "build_opt.tcl").write_text("array set opt {\n synth maybe\n}\n"), "expected boolean value"),
    ],
)
def test_bad_projects_fail_like_the_tool(tmp_path: Path, env: dict[str, str], breakage, message: str) -> None:
    project = write_project(tmp_path / "prj")
    (project / "build_opt.tcl").write_text(build_options(synth=True))
    breakage(project)
    result = run(["vitis-run", "--tcl", "build_prj.tcl", "--mode", "hls"], project, env)
    assert result.returncode == 1
    assert message in result.stdout
    assert not (project / "myproject_prj/solution1/syn/report/myproject_csynth.xml").exists()


def test_vsynth_without_c_synthesis_fails_like_build_prj(tmp_path: Path, env: dict[str, str]) -> None:
    project = write_project(tmp_path / "prj")
    result = vitis_build(project, env, synth=False, vsynth=True)
    assert result.returncode == 1
    assert "ERROR: Cannot find generated Verilog files. Did you run C synthesis?" in result.stdout


def test_hls4ml_build_runs_csim_synthesis_cosim_and_export(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project written by hls4ml itself (from a Keras JSON + H5, no TensorFlow), built with build()."""
    h5py = pytest.importorskip("h5py")
    numpy = pytest.importorskip("numpy")
    keras_v2 = pytest.importorskip("hls4ml.converters.keras_v2_to_hls")
    if shutil.which("g++") is None:
        pytest.skip("C simulation needs g++")
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 30], "name": "input_1", "dtype": "float32"}}
    ]
    layers += [
        {"class_name": "Dense", "config": {"name": f"dense_{i}", "units": n, "activation": a, "use_bias": True}}
        for i, (n, a) in enumerate(zip((16, 8, 1), ("relu", "relu", "sigmoid"), strict=True), 1)
    ]
    (tmp_path / "model.json").write_text(json.dumps({"class_name": "Sequential", "config": {"layers": layers}}))
    rng = numpy.random.default_rng(0)
    with h5py.File(tmp_path / "model.h5", "w") as weights:
        for i, (n_in, n_out) in enumerate(((30, 16), (16, 8), (8, 1)), 1):
            weights[f"dense_{i}/dense_{i}/kernel:0"] = rng.normal(size=(n_in, n_out)).astype("f4")
            weights[f"dense_{i}/dense_{i}/bias:0"] = rng.normal(size=(n_out,)).astype("f4")
    output = tmp_path / "hls"
    model = keras_v2.keras_v2_to_hls(
        {
            "KerasJson": str(tmp_path / "model.json"),
            "KerasH5": str(tmp_path / "model.h5"),
            "OutputDir": str(output),
            "ProjectName": "myproject",
            "Backend": "Vitis",
            "Part": F2.part,
            "ClockPeriod": 4,
            "IOType": "io_parallel",
            "HLSConfig": {"Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": 1, "Strategy": "Latency"}},
        }
    )
    model.write()
    monkeypatch.setenv("PATH", env["PATH"])
    monkeypatch.setenv("FPGAOPS_SANDBOX_RUN", env["FPGAOPS_SANDBOX_RUN"])
    report = model.build(csim=True, synth=True, cosim=True, validation=True, export=True, log_to_stdout=False)
    assert report["CosimReport"]["Status"] == "Pass"
    assert report["CSimResults"] == report["CosimResults"] and len(report["CSimResults"]) > 0
    assert report["CSynthesisReport"]["BestLatency"] == report["CosimReport"]["LatencyMin"]
    assert "INFO: Test PASSED" in (output / "build_stdout.log").read_text()
    assert (output / "myproject_prj/solution1/impl/ip/component.xml").is_file()


# --- HDK DCP build -----------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The aws-fpga stand-in of the default ref, as a clone has it (release files from the platform table)."""
    return materialize_tree(tmp_path / "aws-fpga", DEFAULT_REF)


def make_cl(repo: Path, env: dict[str, str], tmp_path: Path, name: str = "cl_beat") -> Path:
    """CL_TEMPLATE renamed (as create_new_cl does) with the HLS IP instantiated behind OCL."""
    examples = repo / "hdk" / "cl" / "examples"
    cl = examples / name
    shutil.copytree(examples / "CL_TEMPLATE", cl, symlinks=True)
    for path in sorted(cl.rglob("*"), reverse=True):
        if path.is_file() and not path.is_symlink():
            path.write_text(path.read_text().replace("CL_TEMPLATE", name))
        if "CL_TEMPLATE" in path.name:
            path.rename(path.with_name(path.name.replace("CL_TEMPLATE", name)))
    project = write_project(tmp_path / "hls")
    assert vitis_build(project, env, synth=True, export=True).returncode == 0
    shutil.copy(project / "myproject_prj/solution1/impl/ip/hdl/verilog/myproject.v", cl / "design")
    top = cl / "design" / f"{name}.sv"
    top.write_text(
        top.read_text().replace(
            "endmodule",
            "  logic done, idle, ready, vld;\n  logic [15:0] beat;\n"
            "  myproject HLS (.ap_clk(clk_main_a0), .ap_rst(!rst_main_n), .ap_start(ocl_cl_wvalid), .ap_done(done),\n"
            "                 .ap_idle(idle), .ap_ready(ready), .input_1({15{ocl_cl_wdata}}),\n"
            "                 .input_1_ap_vld(ocl_cl_wvalid),\n"
            "                 .layer7_out_0(beat), .layer7_out_0_ap_vld(vld));\n\nendmodule",
            1,
        )
    )
    return cl


def dcp_build(
    repo: Path, cl: Path, env: dict[str, str], args: str = f"-c cl_beat -t {TAG}"
) -> subprocess.CompletedProcess:
    """source hdk_setup.sh, then aws_build_dcp_from_cl.py from the CL's build/scripts."""
    return run(
        f"export CL_DIR={cl} && source {repo}/hdk_setup.sh && cd $CL_DIR/build/scripts && "
        f"./aws_build_dcp_from_cl.py {args}",
        repo,
        env,
    )


def test_dcp_build_writes_an_ingestible_tarball(repo: Path, tmp_path: Path, env: dict[str, str]) -> None:
    cl = make_cl(repo, env, tmp_path)
    result = dcp_build(repo, cl, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "AWS HDK setup PASSED." in result.stdout and "checked with verilator" in result.stdout
    checkpoints, reports = cl / "build" / "checkpoints", cl / "build" / "reports"
    tarball = checkpoints / f"{TAG}.Developer_CL.tar"
    assert (checkpoints / f"cl_beat.{TAG}.post_route.dcp").is_file()
    assert (reports / f"cl_beat.{TAG}.post_route_timing.rpt").read_text().count("Slack (MET)") == 1
    assert (cl / "build" / "scripts" / f"{TAG}.vivado.log").is_file()
    with tarfile.open(tarball) as tar:
        names = sorted(m.name.removeprefix("./") for m in tar.getmembers() if m.isfile())
        manifest = dict(
            line.split("=", 1)
            for line in tar.extractfile(f"./to_aws/{TAG}.manifest.txt").read().decode().splitlines()
            if line
        )
        dcp_bytes = tar.extractfile(f"./to_aws/{TAG}.SH_CL_routed.dcp").read()
    assert names == [f"to_aws/{TAG}.SH_CL_routed.dcp", f"to_aws/{TAG}.debug_probes.ltx", f"to_aws/{TAG}.manifest.txt"]
    assert manifest["manifest_format_version"] == "2" and manifest["shell_version"] == F2.shell_version
    assert manifest["dcp_file_name"] == f"{TAG}.SH_CL_routed.dcp" and manifest["tool_version"] == f"v{AMI.vivado}"
    assert manifest["hdk_version"] == DEFAULT_REF.removeprefix("v")
    assert manifest["pci_vendor_id"] == "0x1D0F" and manifest["pci_device_id"] == "0xF010"
    assert manifest["dcp_hash"] == __import__("hashlib").sha256(dcp_bytes).hexdigest()
    dcp_tarball = pytest.importorskip("fpgaops.aws.dcp_tarball")
    inspected = dcp_tarball.inspect_dcp_tarball(tarball, F2)
    assert inspected.dcp_sha256 == manifest["dcp_hash"]


def test_the_same_cl_gives_the_same_dcp(repo: Path, tmp_path: Path, env: dict[str, str]) -> None:
    cl = make_cl(repo, env, tmp_path)
    assert dcp_build(repo, cl, env).returncode == 0
    assert dcp_build(repo, cl, env, "-c cl_beat -t 2025_01_02-030406").returncode == 0
    first, second = (cl / "build/checkpoints" / f"cl_beat.{tag}.post_route.dcp" for tag in (TAG, "2025_01_02-030406"))
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(
    ("breakage", "args", "message"),
    [
        (
            lambda cl: (cl / "design/cl_beat.sv").write_text("module cl_beat (input logic a\nendmodule\n"),
            None,
            "ERROR: [Synth 8-2715]",
        ),
        (lambda cl: (cl / "design/myproject.v").unlink(), None, "ERROR: [Synth 8-439] module 'myproject' not found"),
        (lambda cl: (cl / "build/scripts/synth_cl_beat.tcl").unlink(), None, "couldn't read file"),
        (
            lambda cl: (cl / "design/cl_id_defines.vh").unlink(),
            None,
            "ERROR: [Synth 8-1766] cannot open include file cl_id_defines.vh",
        ),
        (lambda cl: None, f"-c other -t {TAG}", "other does not match CL_DIR env variable"),
        (lambda cl: None, f"-c cl_beat --clock_recipe_a A9 -t {TAG}", "Unsupported clk_recipe_a: A9"),
    ],
)
def test_bad_cls_fail_like_the_hdk(repo: Path, tmp_path: Path, env: dict[str, str], breakage, args, message) -> None:
    cl = make_cl(repo, env, tmp_path)
    breakage(cl)
    result = dcp_build(repo, cl, env, args or f"-c cl_beat -t {TAG}")
    assert result.returncode == 1
    assert message in result.stdout
    assert not (cl / "build" / "checkpoints" / f"{TAG}.Developer_CL.tar").exists()


def test_hdk_setup_needs_vivado_and_sourcing(repo: Path, env: dict[str, str]) -> None:
    without = run(f"source {repo}/hdk_setup.sh", repo, {**env, "PATH": "/usr/bin:/bin"})
    assert without.returncode == 1 and "ERROR: Please install/enable Vivado." in without.stderr
    direct = run(f"bash {repo}/hdk_setup.sh", repo, env)
    assert direct.returncode == 2 and direct.stdout == "ERROR: You must source this script\n"
    exported = run(f"source {repo}/hdk_setup.sh >/dev/null && echo $HDK_SHELL_DIR $VIVADO_TOOL_VERSION", repo, env)
    assert exported.stdout.split() == [str(repo / "hdk/common/shell_stable"), f"v{AMI.vivado}"]


def test_the_xdma_shell_builds_with_the_default_ref(repo: Path, tmp_path: Path, env: dict[str, str]) -> None:
    cl = make_cl(repo, env, tmp_path)
    result = dcp_build(repo, cl, env, f"-c cl_beat -t {TAG} --mode xdma_shell")
    assert result.returncode == 0, result.stdout + result.stderr
    tarball = cl / "build" / "checkpoints" / f"{TAG}.Developer_CL.tar"
    dcp_tarball = pytest.importorskip("fpgaops.aws.dcp_tarball")
    assert dcp_tarball.inspect_dcp_tarball(tarball, F2).shell_version == shell("xdma_shell").version


def test_an_older_ref_refuses_the_xdma_shell_and_todays_vivado(tmp_path: Path, env: dict[str, str]) -> None:
    old = materialize_tree(tmp_path / "aws-fpga-v2.0.7", "v2.0.7")
    setup = run(f"source {old}/hdk_setup.sh", old, env)
    assert setup.returncode == 1 and f"vivado v{AMI.vivado} (64-bit) is not supported by this HDK release" \
        in setup.stderr and "vivado v2024.1 (64-bit)" in setup.stderr
    refused = run(f"{old}/hdk/common/shell_stable/build/scripts/aws_build_dcp_from_cl.py -c cl_beat --mode xdma_shell",
                  old, env)
    assert refused.returncode == 1 and "Unsupported mode value: xdma_shell. Build terminated" in refused.stdout
