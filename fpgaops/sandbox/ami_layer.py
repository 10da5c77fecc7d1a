"""The FPGA Developer AMI of a sandbox host, made from the platform table: one layer per AMI version.

A host's root directories are overlays; above this machine's own lie, top first, the layer made
here for the host's AMI and ``ami/`` beside this module. The made layer holds what differs
between AMIs: ``/opt/Xilinx/<product>/<version>/settings64.sh`` and ``bin/`` links to the tool
stand-ins for each tool of the AMI (``fpgaops.fpga_platform.DEVELOPER_AMIS``) plus the F1-era Vivado
HLS, and ``/etc/profile.d/default_module.sh``, which puts the AMI's Vitis (and so Vivado) on a
login shell's PATH. ``ami/`` holds what every AMI shares: the stand-ins' code under
``/opt/fpgaops-standin``.

Example::

    layers = ami_layers(state_dir / "ami", developer_ami("1.18.0"))   # [<state>/ami/1.18.0, .../sandbox/ami]
    install_ami(tmp_path, developer_ami("1.19.2"))                     # both layers merged into one tree (tests)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from fpgaops.fpga_platform import F1_HLS_VIVADO, DeveloperAmi

STATIC_LAYER = Path(__file__).with_name("ami")
STANDIN_LINK = "../../../../fpgaops-standin/bin/xilinx-tool"  # from /opt/Xilinx/<product>/<version>/bin/
TOOLS = {"Vivado": ("vivado",), "Vitis": ("vitis-run",)}
F1_HLS_TOOLS = ("vivado", "vivado_hls")
STAMP = ".fpgaops-ami-layer.json"
HEADER = "(fpgaops sandbox stand-in of the FPGA Developer AMI)"


def _path_line(variable: str) -> str:
    return f'case ":$PATH:" in *":${variable}/bin:"*) ;; *) export PATH="${variable}/bin:$PATH" ;; esac\n'


def _vivado_settings(version: str) -> str:
    return (f"# Vivado {version} environment {HEADER}: source me.\n"
            f"export XILINX_VIVADO=/opt/Xilinx/Vivado/{version}\n" + _path_line("XILINX_VIVADO"))


def _vitis_settings(version: str) -> str:
    return (f"# Vitis {version} environment {HEADER}: source me.\n"
            f"# Brings vitis-run (the HLS front end hls4ml's Vitis backend calls) and Vivado {version}.\n"
            f"export XILINX_VITIS=/opt/Xilinx/Vitis/{version}\n"
            f"export XILINX_HLS=/opt/Xilinx/Vitis/{version}\n"
            f". /opt/Xilinx/Vivado/{version}/settings64.sh\n" + _path_line("XILINX_VITIS"))


def _f1_hls_settings(version: str) -> str:
    return (f"# Vivado {version} environment, the last release with Vivado HLS (vivado_hls), as on F1-era\n"
            f"# FPGA Developer AMIs {HEADER}. Not on the default PATH: source me explicitly.\n"
            f"export XILINX_VIVADO=/opt/Xilinx/Vivado/{version}\n"
            f"export XILINX_HLS=/opt/Xilinx/Vivado/{version}\n" + _path_line("XILINX_VIVADO"))


def _login_profile(ami: DeveloperAmi) -> str:
    product = "Vitis" if "Vitis" in ami.tools else "Vivado"
    settings = f"/opt/Xilinx/{product}/{ami.tools[product]}/settings64.sh"
    return (f"# {ami.description}: tool environment for login shells\n"
            "# (fpgaops sandbox stand-in; the real AMI loads it through environment modules).\n"
            "# Non-login shells (ssh host 'command', Fabric's run) must source it themselves.\n"
            f"if [ -r {settings} ]; then\n    . {settings}\nfi\n")


def layer_contents(ami: DeveloperAmi) -> tuple[dict[str, str], dict[str, str]]:
    """The AMI's own files (path -> text) and tool links (path -> target), paths relative to ``/``."""
    files = {"etc/profile.d/default_module.sh": _login_profile(ami)}
    links: dict[str, str] = {}
    installed = [(product, version, TOOLS[product]) for product, version in ami.tools.items() if product in TOOLS]
    if ("Vivado", F1_HLS_VIVADO) not in {(p, v) for p, v, _ in installed}:
        installed.append(("Vivado", F1_HLS_VIVADO, F1_HLS_TOOLS))
    for product, version, tools in installed:
        folder = f"opt/Xilinx/{product}/{version}"
        if version == F1_HLS_VIVADO and tools == F1_HLS_TOOLS:
            files[f"{folder}/settings64.sh"] = _f1_hls_settings(version)
        else:
            files[f"{folder}/settings64.sh"] = (_vitis_settings if product == "Vitis" else _vivado_settings)(version)
        links.update({f"{folder}/bin/{tool}": STANDIN_LINK for tool in tools})
    return files, links


def write_layer(dest: Path, ami: DeveloperAmi) -> Path:
    """Write the AMI's own layer into ``dest`` (left alone when it already holds exactly that); returns ``dest``.

    A layer in use as a host's overlay is never changed in place: a different one is built beside it
    and swapped in (hosts started later see it).
    """
    files, links = layer_contents(ami)
    stamp = json.dumps({"files": files, "links": links}, sort_keys=True)
    digest = hashlib.sha256(stamp.encode()).hexdigest()
    if (dest / STAMP).is_file() and json.loads((dest / STAMP).read_text()).get("sha256") == digest:
        return dest
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    _materialize(partial, files, links)
    (partial / STAMP).write_text(json.dumps({"ami": ami.version, "sha256": digest}) + "\n")
    if dest.exists():
        old = dest.with_name(dest.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        dest.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    partial.rename(dest)
    return dest


def _materialize(root: Path, files: dict[str, str], links: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o644)
    for relative, target in links.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.exists():
            path.unlink()
        os.symlink(target, path)


def ami_layers(layers_dir: Path, ami: DeveloperAmi) -> list[Path]:
    """A host's overlay layers for ``ami``, top first: its own (written under ``layers_dir``), the shared one."""
    return [write_layer(layers_dir / ami.version, ami), STATIC_LAYER]


def install_ami(root: Path, ami: DeveloperAmi) -> Path:
    """Both layers of ``ami`` merged into one tree at ``root`` (``root/opt``, ``root/etc``), for tests."""
    shutil.copytree(STATIC_LAYER, root, symlinks=True, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _materialize(root, *layer_contents(ami))
    return root
