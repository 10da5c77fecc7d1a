"""The sandbox's FPGA Developer AMIs: layers made from the platform table, chosen per host."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from fpgaops.fpga_platform import DEFAULT_AMI, DEVELOPER_AMIS, F1_HLS_VIVADO, developer_ami
from fpgaops.sandbox.ami_layer import STATIC_LAYER, ami_layers, install_ami, layer_contents, write_layer
from fpgaops.sandbox.config import SandboxConfig
from fpgaops.sandbox.topology import TopologyError, parse_hosts, static_specs


@pytest.mark.parametrize("ami", DEVELOPER_AMIS, ids=lambda ami: ami.version)
def test_each_ami_has_its_tools_and_the_f1_hls_under_their_versions(ami) -> None:
    files, links = layer_contents(ami)
    for product, version in ami.tools.items():
        assert f"opt/Xilinx/{product}/{version}/settings64.sh" in files
    assert links[f"opt/Xilinx/Vivado/{ami.vivado}/bin/vivado"].endswith("fpgaops-standin/bin/xilinx-tool")
    assert f"opt/Xilinx/Vivado/{F1_HLS_VIVADO}/bin/vivado_hls" in links
    assert f"/opt/Xilinx/Vitis/{ami.tools['Vitis']}/settings64.sh" in files["etc/profile.d/default_module.sh"]
    assert not any(path.startswith("opt/Xilinx") for path in map(str, STATIC_LAYER.rglob("*")))


def test_a_login_shell_of_the_layer_runs_the_amis_vivado(tmp_path: Path) -> None:
    ami = developer_ami("1.18.0")
    root = install_ami(tmp_path / "root", ami)
    profile = (root / "etc/profile.d/default_module.sh").read_text().replace("/opt/Xilinx", str(root / "opt/Xilinx"))
    settings = root / "opt/Xilinx"
    for path in settings.rglob("settings64.sh"):
        path.write_text(path.read_text().replace("/opt/Xilinx", str(settings)))
    if not Path("/usr/bin/python3").exists():
        pytest.skip("the stand-ins run with /usr/bin/python3")
    done = subprocess.run(["bash", "-c", profile + "vivado -version | head -n 1"], capture_output=True, text=True,
                          check=False, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.stdout.strip() == f"vivado v{ami.vivado} (64-bit)", done.stderr


def test_a_layer_is_written_once_and_rewritten_when_the_table_changes(tmp_path: Path) -> None:
    ami = developer_ami(DEFAULT_AMI)
    layers = ami_layers(tmp_path, ami)
    assert layers == [tmp_path / ami.version, STATIC_LAYER]
    stamp = (layers[0] / ".fpgaops-ami-layer.json").stat().st_mtime_ns
    assert write_layer(tmp_path / ami.version, ami) == layers[0]
    assert (layers[0] / ".fpgaops-ami-layer.json").stat().st_mtime_ns == stamp
    older = developer_ami("1.18.0")
    write_layer(tmp_path / ami.version, older)  # same folder, other tools: replaced, nothing of the old left
    assert not (layers[0] / "opt/Xilinx/Vivado" / ami.vivado).exists()
    assert os.readlink(layers[0] / f"opt/Xilinx/Vivado/{older.vivado}/bin/vivado").endswith("xilinx-tool")


def test_hosts_pick_an_ami_of_the_table() -> None:
    hosts = parse_hosts("dev@1.18.0,old@1.12.2,f1-a,f1-b:f1", "f2")
    assert hosts == [("dev", "f2", "1.18.0"), ("old", "f2", "1.12.2"), ("f1-a", "f2", DEFAULT_AMI),
                     ("f1-b", "f1", "1.12.2")]
    specs = static_specs(SandboxConfig(state_dir=Path("/nonexistent")), hosts, "ssh-ed25519 AAAA test")
    assert [spec.ami for spec in specs] == ["1.18.0", "1.12.2", DEFAULT_AMI, "1.12.2"]
    with pytest.raises(TopologyError, match=r"host dev: unknown FPGA Developer AMI '9\.9' \(known: 1\.19\.2"):
        parse_hosts("dev@9.9", "f2")
