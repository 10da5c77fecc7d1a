"""The synth role's shell option (aws_fpga_shell): checked against the platform table before anything runs."""

from __future__ import annotations

import pytest

from roles.synth.tasks import build_key, build_shell


def variables(**changes: str) -> dict[str, str]:
    return {"aws_fpga_ref": "", "aws_fpga_shell": "small_shell", "model_ci": "", "model_platform": "f2",
            "model_precision": "", "model_reuse_factor": "0", **changes}


def test_the_default_is_the_small_shell_and_xdma_is_an_option_of_the_default_ref() -> None:
    assert build_shell(variables()).version == "0x10212415"
    assert build_shell(variables(aws_fpga_shell="xdma_shell")).version == "0x10052623"


def test_the_shell_is_part_of_the_build_key() -> None:
    assert build_key("src", variables()) != build_key("src", variables(aws_fpga_shell="xdma_shell"))


@pytest.mark.parametrize("changes, message", [
    ({"aws_fpga_shell": "xdma"}, "aws_fpga_shell: unknown F2 shell 'xdma' (known: small_shell, xdma_shell)"),
    ({"aws_fpga_shell": "xdma_shell", "aws_fpga_ref": "v2.0.7"},
     "aws_fpga_shell: aws-fpga v2.0.7 cannot build the xdma_shell (0x10052623)"),
    ({"aws_fpga_ref": "latest"}, "aws_fpga_ref 'latest' is neither a release tag"),
])
def test_bad_values_are_refused_naming_what_would_do(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        build_shell(variables(**changes))
    assert message in str(raised.value)
