"""The dev host's Vivado against its aws-fpga checkout: the fact's parser and the check, both ways."""

from __future__ import annotations

import subprocess

import pytest

from fpgaops.facts.xilinx import ToolchainState, XilinxToolchain
from fpgaops.fpga_platform import developer_ami, release
from fpgaops.toolchain import ToolchainMismatch, check_toolchain

READING = """\
--- vivado
vivado v2025.2 (64-bit)
--- supported
vivado v2024.1 (64-bit)
vivado v2025.2 (64-bit)
--- release
2.4.0
"""


def state(vivado: str, ref: str) -> ToolchainState:
    """What the fact reads on a host with ``vivado`` installed and a checkout of ``ref`` (from the table)."""
    entry = release(ref)
    return ToolchainState(f"vivado v{vivado} (64-bit)", tuple(entry.supported_vivado_lines()), entry.release_version)


def test_the_reading_is_parsed_into_the_line_the_list_and_the_release() -> None:
    parsed = XilinxToolchain("/home/ubuntu/aws-fpga").process(READING, 0)
    assert parsed == ToolchainState("vivado v2025.2 (64-bit)", ("vivado v2024.1 (64-bit)", "vivado v2025.2 (64-bit)"),
                                    "2.4.0")
    assert (parsed.vivado_version, parsed.supported_versions, parsed.supported) == ("2025.2", ("2024.1", "2025.2"),
                                                                                     True)


def test_a_host_without_vivado_or_checkout_reads_as_empty() -> None:
    parsed = XilinxToolchain("/nowhere").process("--- vivado\n--- supported\n--- release\n", 0)
    assert parsed == ToolchainState("", (), "") and parsed.vivado_version is None and not parsed.supported


def test_the_command_reads_a_checkout_on_this_machine(tmp_path) -> None:
    (tmp_path / "supported_vivado_versions.txt").write_text("vivado v2025.1 (64-bit)\n")
    (tmp_path / "release_version.txt").write_text("RELEASE_VERSION=2.4.0\n")
    fact = XilinxToolchain(str(tmp_path))
    done = subprocess.run(["sh", "-c", fact.command()], capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    parsed = fact.process(done.stdout, done.returncode)
    assert (parsed.supported_lines, parsed.release_version) == (("vivado v2025.1 (64-bit)",), "2.4.0")


@pytest.mark.parametrize("ami", ["1.19.2", "1.18.0"])
def test_todays_amis_build_with_the_default_ref(ami: str) -> None:
    vivado = developer_ami(ami).vivado
    assert check_toolchain(state(vivado, "v2.4.0"), "v2.4.0", "dev") == vivado


def test_todays_ami_with_the_old_ref_stops_naming_both_and_the_ref_that_would_do() -> None:
    with pytest.raises(ToolchainMismatch) as raised:
        check_toolchain(state(developer_ami("1.19.2").vivado, "v2.0.7"), "v2.0.7", "dev")
    message = str(raised.value)
    assert message.startswith("dev: Vivado 2025.2 is installed ('vivado v2025.2 (64-bit)'), but aws-fpga v2.0.7 "
                              "(release_version.txt 2.0.7) supports only 2024.1")
    assert "nothing was built" in message and "set aws_fpga_ref to a release that supports it (v2.4.0)" in message


def test_ami_1_17_with_v2_0_7_stops_as_hdk_setup_did_in_aws_fpga_issue_692() -> None:
    """AMI 1.17.0 brought Vivado 2024.2 while v2.0.x supported only 2024.1 (aws-fpga issue #692)."""
    with pytest.raises(ToolchainMismatch, match=r"Vivado 2024\.2 is installed .* supports only 2024\.1 .*\(v2\.4\.0\)"):
        check_toolchain(state(developer_ami("1.17.0").vivado, "v2.0.7"), "v2.0.7", "dev")
    assert check_toolchain(state(developer_ami("1.16.0").vivado, "v2.0.7"), "v2.0.7") == "2024.1"


def test_an_old_ami_with_the_default_ref_stops_and_no_release_takes_it() -> None:
    with pytest.raises(ToolchainMismatch, match=r"Vivado 2021\.2 is installed .* supports only 2024\.1, 2024\.2, "
                                                r"2025\.1, 2025\.2 .*no aws-fpga release in the platform table"):
        check_toolchain(state(developer_ami("1.12.2").vivado, "v2.4.0"), "v2.4.0", "dev")


def test_no_vivado_and_no_checkout_say_what_to_do() -> None:
    with pytest.raises(ToolchainMismatch, match="no Vivado in a login shell"):
        check_toolchain(ToolchainState("", ("vivado v2024.1 (64-bit)",), "2.4.0"), "v2.4.0")
    with pytest.raises(ToolchainMismatch, match=r"has no supported_vivado_versions\.txt: run the dev_host role"):
        check_toolchain(ToolchainState("vivado v2025.2 (64-bit)", (), ""), "v2.4.0")


def test_the_line_must_match_exactly_as_hdk_setup_compares_it() -> None:
    near = ToolchainState("Vivado v2025.2 (64-bit)", ("vivado v2025.2 (64-bit)",), "2.4.0")
    with pytest.raises(ToolchainMismatch):
        check_toolchain(near, "v2.4.0")
