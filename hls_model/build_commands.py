"""The exact shell commands the dev host runs to synthesize the IP and build the DCP tarball.

Written into the package as ``build/hls_build.sh`` and ``build/dcp_build.sh`` (and listed in
the manifest), so the synth role only runs them, detached, from the unpacked artifact folder:

- ``hls_build.sh``: hls4ml's own build of the project (what ``ModelGraph.build(csim=True,
  synth=True, export=True)`` runs): F2 ``vitis-run --tcl build_prj.tcl --mode hls``, F1
  ``vivado_hls -f build_prj.tcl "..."``, with the tools of ``$XILINX_HLS_VERSION`` (Vitis, or for
  F1 Vivado HLS). The exported IP's Verilog lands in ``hls/hls_project/<top>_prj/solution1/impl/ip/hdl/verilog/``.
- ``dcp_build.sh`` (F2): with ``AWS_FPGA_REPO_DIR`` pointing at an aws-fpga checkout, copy
  ``hdk/cl/examples/CL_TEMPLATE`` to ``hdk/cl/examples/<cl>`` renaming CL_TEMPLATE in names and
  contents, put the generated CL top, the accelerator and the IP's Verilog into its ``design/``,
  make its synthesis script read ``.v`` files too (the template's ``*.?v`` glob only matches
  ``.sv``), then, with Vivado ``$XILINX_VIVADO_VERSION``, ``source hdk_setup.sh`` and run
  ``aws_build_dcp_from_cl.py -c <cl> -t <tag> --mode $AWS_FPGA_SHELL_MODE`` from
  ``$CL_DIR/build/scripts``. The tag is the script's first argument (default: a ``YYYY_MM_DD-HHMMSS``
  timestamp, the HDK's own format); the last line printed is ``DCP_TARBALL=<path of <tag>.Developer_CL.tar>``.

No tool version or shell is written here: the synth role exports ``XILINX_HLS_VERSION``,
``XILINX_VIVADO_VERSION`` (the Vivado it found on the dev host and checked against the aws-fpga
checkout) and ``AWS_FPGA_SHELL_MODE`` (checked against the platform table); a script run without
them stops at once, naming the missing variable.

Example::

    from hls_model.build_commands import write_build_scripts
    write_build_scripts(Path("artifact/build"), config, interface)
"""

from __future__ import annotations

import shlex
from pathlib import Path

from hls_model.config import PipelineConfig
from hls_model.ip_interface import IpInterface
from hls_model.platform_parts import PARTS

HLS_PROJECT = "hls/hls_project"  # inside the artifact folder
CL_SOURCES = "cl"  # inside the artifact folder
VERSION_HINT = "set by the synth role: the Xilinx tools version of the dev host"
HLS_STEPS = {"reset": False, "csim": True, "synth": True, "cosim": False, "validation": False, "export": True,
             "vsynth": False, "fifo_opt": False}


def _settings_script(config: PipelineConfig, product: str, version_variable: str) -> str:
    """``source_checked <xilinx_root>/<product>/$<version_variable>/settings64.sh``, stopping when it is unset."""
    root = shlex.quote(f"{config.hardware.xilinx_root}/{product}/")
    return f'source_checked {root}"${{{version_variable}:?{VERSION_HINT}}}/settings64.sh"'


def ip_verilog_dir(config: PipelineConfig) -> str:
    """Where the HLS build exports the IP's Verilog, relative to the artifact folder."""
    return f"{HLS_PROJECT}/{config.convert.project_name}_prj/solution1/impl/ip/hdl/verilog"


def hls_build_commands(config: PipelineConfig) -> list[str]:
    """Commands, run from the artifact folder, that synthesize and export the HLS IP.

    Example: ``hls_build_commands(PipelineConfig())[-2]`` -> ``'vitis-run --tcl build_prj.tcl --mode hls'``
    """
    parts = PARTS[config.convert.platform]
    product = "Vitis" if parts.hls_tool == "vitis-run" else "Vivado"
    commands = [_settings_script(config, product, "XILINX_HLS_VERSION"), f"cd {HLS_PROJECT}"]
    if parts.hls_tool == "vitis-run":
        options = "".join(f"    {name:<10} {int(value)}\n" for name, value in HLS_STEPS.items())
        commands += [
            f"printf %s {shlex.quote('array set opt {' + chr(10) + options + '}' + chr(10))} > build_opt.tcl",
            "vitis-run --tcl build_prj.tcl --mode hls",
        ]
    else:
        arguments = " ".join(f"{name}={value}" for name, value in HLS_STEPS.items())
        commands.append(f"vivado_hls -f build_prj.tcl {shlex.quote(arguments)}")
    top = config.convert.project_name
    commands.append(f"test -s {top}_prj/solution1/impl/ip/hdl/verilog/{top}.v")
    return commands


def dcp_build_commands(config: PipelineConfig, ip: IpInterface) -> list[str]:
    """Commands, run from the artifact folder, that build the CL into a DCP tarball (F2 HDK).

    Example: ``dcp_build_commands(PipelineConfig(), interface)[-2]``
    -> ``'./aws_build_dcp_from_cl.py -c cl_beat -t "$TAG" --mode "$AWS_FPGA_SHELL_MODE"'``.
    """
    if config.convert.platform != "f2":
        raise ValueError("the CL wrapper and DCP build are written for the F2 HDK (small shell); F1 was retired")
    cl = config.hardware.cl_name
    return [
        ': "${AWS_FPGA_REPO_DIR:?set AWS_FPGA_REPO_DIR to the aws-fpga checkout}"',
        ': "${AWS_FPGA_SHELL_MODE:?set AWS_FPGA_SHELL_MODE to the shell to build for (small_shell, xdma_shell)}"',
        'TAG="${1:-$(date +%Y_%m_%d-%H%M%S)}"',
        'ARTIFACT="$PWD"',
        _settings_script(config, "Vivado", "XILINX_VIVADO_VERSION"),
        'cd "$AWS_FPGA_REPO_DIR"',
        "source_checked ./hdk_setup.sh",
        f'export CL_DIR="$HDK_DIR/cl/examples/{cl}"',
        'rm -rf "$CL_DIR"',
        'cp -r "$HDK_DIR/cl/examples/CL_TEMPLATE" "$CL_DIR"',
        f"find \"$CL_DIR\" -depth -name '*CL_TEMPLATE*' "
        f"-execdir bash -c 'mv \"$1\" \"${{1//CL_TEMPLATE/{cl}}}\"' _ {{}} \\;",
        f"grep -rlZ CL_TEMPLATE \"$CL_DIR\" | xargs -0 -r sed -i 's/CL_TEMPLATE/{cl}/g'",
        f'cp "$ARTIFACT"/{CL_SOURCES}/*.sv "$CL_DIR/design/"',
        f'cp "$ARTIFACT"/{ip_verilog_dir(config)}/*.v "$CL_DIR/design/"',
        f'cp "$ARTIFACT"/{ip_verilog_dir(config)}/*.dat "$CL_DIR/design/" 2>/dev/null || true',
        f"sed -i 's#/\\*\\.?v\\]#/*.{{v,sv}}]#' \"$CL_DIR/build/scripts/synth_{cl}.tcl\"",
        f"grep -q '/\\*\\.{{v,sv}}\\]' \"$CL_DIR/build/scripts/synth_{cl}.tcl\"",
        f"test -s \"$CL_DIR/design/{ip.top}.v\"",
        'cd "$CL_DIR/build/scripts"',
        f'./aws_build_dcp_from_cl.py -c {cl} -t "$TAG" --mode "$AWS_FPGA_SHELL_MODE"',
        'echo "DCP_TARBALL=$CL_DIR/build/checkpoints/$TAG.Developer_CL.tar"',
    ]


def render_script(purpose: str, commands: list[str]) -> str:
    """A bash script running ``commands`` from the artifact folder (the script's parent's parent), stopping at an error.

    Example: ``render_script("HLS build", hls_build_commands(config))``.
    """
    header = [
        "#!/usr/bin/env bash",
        f"# {purpose} (generated by hls_model.build_commands; run it from anywhere).",
        "set -eo pipefail",
        "# Vendor setup scripts are sourced with errexit off (they run commands that may fail harmlessly);",
        "# their own exit status is checked.",
        'source_checked() { local script=$1; shift; set +e; source "$script"; local status=$?; set -e; '
        '[ "$status" = 0 ] || { echo "$script failed with status $status" >&2; exit "$status"; }; }',
        'cd "$(dirname "$(readlink -f "$0")")/.."',
    ]
    return "\n".join([*header, *commands]) + "\n"


def write_build_scripts(out_dir: Path, config: PipelineConfig, ip: IpInterface) -> dict[str, list[str]]:
    """Write ``hls_build.sh`` (and, for F2, ``dcp_build.sh``) into ``out_dir``; returns the commands by step.

    Example: ``write_build_scripts(Path("artifact/build"), config, interface)["hls"]``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    steps = {"hls": hls_build_commands(config)}
    if config.convert.platform == "f2":
        steps["dcp"] = dcp_build_commands(config, ip)
    purposes = {
        "hls": "HLS synthesis and IP export of the beat network",
        "dcp": "F2 HDK build of the CL into a DCP tarball",
    }
    for step, commands in steps.items():
        script = out_dir / f"{step}_build.sh"
        script.write_text(render_script(purposes[step], commands))
        script.chmod(0o755)
    return steps
