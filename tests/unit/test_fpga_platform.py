"""The platform table: consistent with itself, with the docs and with the role defaults; clear errors."""

from __future__ import annotations

import re

import pytest

from fpgaops import fpga_platform as table
from fpgaops.fpga_platform import PlatformTableError
from fpgaops.platforms import F1, F2, platform_of_shell_version
from fpgaops.sandbox.config import PROJECT_ROOT


def test_the_docs_hold_the_table_as_the_module_renders_it() -> None:
    text = (PROJECT_ROOT / "docs" / "aws-fpga-platform.md").read_text()
    block = re.search(r"<!-- platform-table -->\n(.*?)<!-- /platform-table -->", text, re.S)
    assert block is not None and block.group(1) == table.markdown_tables(), \
        "docs/aws-fpga-platform.md is stale: paste `python -m fpgaops.fpga_platform` between its markers"


def test_the_default_ref_builds_with_the_default_ami_and_the_small_shell() -> None:
    default = table.release(table.DEFAULT_REF)
    assert table.developer_ami(table.DEFAULT_AMI).vivado in default.vivado
    assert table.default_shell("f2").mode in default.shells
    assert table.shell("xdma_shell").mode in default.shells


def test_every_release_names_known_shells_and_every_f2_ami_tool_is_ingestible() -> None:
    for entry in table.RELEASES:
        assert all(table.shell(mode).platform == "f2" for mode in entry.shells)
        assert set(entry.vivado) <= set(table.INGESTION_TOOL_VERSIONS["f2"])
    for ami in table.DEVELOPER_AMIS:
        assert ami.vivado in table.INGESTION_TOOL_VERSIONS[ami.platform]


def test_platforms_take_their_shells_from_the_table() -> None:
    assert F2.shell_version == table.default_shell("f2").version
    assert F1.shell_version == table.default_shell("f1").version
    assert platform_of_shell_version(table.shell("xdma_shell").version) is F2
    assert platform_of_shell_version("0x10052623") is F2 and platform_of_shell_version("0x12345678") is None


def test_supported_vivado_lines_are_what_vivado_version_prints() -> None:
    assert table.release("v2.0.7").supported_vivado_lines() == ["vivado v2024.1 (64-bit)"]
    assert table.release("v2.4.0").release_version == "2.4.0"


@pytest.mark.parametrize("ref", ["v2.4.0", "v1.4.25", "v2.3.2a", "e023d3b", "0" * 40])
def test_tags_and_commits_are_refs(ref: str) -> None:
    assert table.check_ref(ref) == ref


@pytest.mark.parametrize("ref", ["", "2.4.0", "v2.4", "main; rm -rf /", "E023D3B", "v2.4.0 "])
def test_a_malformed_ref_is_refused_with_an_example(ref: str) -> None:
    with pytest.raises(PlatformTableError, match=r"neither a release tag .*v2\.4\.0.* nor a commit id"):
        table.check_ref(ref)


def test_an_unknown_shell_names_the_known_modes() -> None:
    with pytest.raises(PlatformTableError, match=r"unknown F2 shell 'dma_shell' \(known: small_shell, xdma_shell\)"):
        table.shell("dma_shell")


def test_the_xdma_shell_needs_a_ref_that_builds_it() -> None:
    assert table.shell_for_build("xdma_shell", "v2.4.0").version == "0x10052623"
    assert table.shell_for_build("xdma_shell", "0123abc").version == "0x10052623"  # a commit: not known, not refused
    with pytest.raises(PlatformTableError, match=r"aws-fpga v2\.0\.7 cannot build the xdma_shell .*--mode small_shell"):
        table.shell_for_build("xdma_shell", "v2.0.7")


def test_unknown_refs_and_amis_name_the_known_ones() -> None:
    with pytest.raises(PlatformTableError, match=r"'v9.9.9' is not in the platform table \(known: v2.0.7, v2.4.0\)"):
        table.release("v9.9.9")
    with pytest.raises(PlatformTableError,
                       match=r"unknown FPGA Developer AMI '0.1' \(known: 1.19.2, 1.18.0, 1.17.0, 1.16.0, 1.12.2\)"):
        table.developer_ami("0.1")


def test_dcp_regions() -> None:
    table.check_dcp_region("eu-west-2")
    with pytest.raises(PlatformTableError, match="region 'eu-west-3' takes no F2 DCPs: use one of us-east-1"):
        table.check_dcp_region("eu-west-3")
