"""The build host's Vivado against its aws-fpga checkout, checked before any build starts.

``hdk_setup.sh`` refuses a Vivado its release does not list in ``supported_vivado_versions.txt``,
but only in the DCP step, after hours of training and HLS. :func:`check_toolchain` makes the same
comparison on the host's reading (:class:`fpgaops.facts.xilinx.XilinxToolchain`) first, and says
which releases of the platform table would take the installed version.

Example::

    state = XilinxToolchain("/home/ubuntu/aws-fpga") read on the dev host
    version = check_toolchain(state, "v2.4.0", host="dev")   # '2025.2', or ToolchainMismatch
"""

from __future__ import annotations

from fpgaops.facts.xilinx import ToolchainState
from fpgaops.fpga_platform import RELEASES


class ToolchainMismatch(ValueError):
    """The host's Vivado cannot build with its aws-fpga checkout (the message says both and what to do)."""


def check_toolchain(state: ToolchainState, ref: str, host: str = "the dev host") -> str:
    """The installed Vivado version when the checkout of ``ref`` supports it; ``ToolchainMismatch`` otherwise.

    Args:
        state: the host's reading.
        ref: the aws-fpga ref the checkout was made from (``aws_fpga_ref``), for the message.
        host: the host's name, for the message.
    Example: ``check_toolchain(ToolchainState("vivado v2025.2 (64-bit)", ("vivado v2024.1 (64-bit)",), "2.0.7"),
    "v2.0.7")`` -> ToolchainMismatch("... Vivado 2025.2 ... supports only 2024.1 ...").
    """
    checkout = f"aws-fpga {ref}" + (f" (release_version.txt {state.release_version})" if state.release_version else "")
    if not state.vivado_line or state.vivado_version is None:
        raise ToolchainMismatch(f"{host}: no Vivado in a login shell (`vivado -version` printed no version): "
                                "use an FPGA Developer AMI, or put Vivado on the login PATH")
    if not state.supported_lines:
        raise ToolchainMismatch(f"{host}: the {checkout} checkout has no supported_vivado_versions.txt: "
                                "run the dev_host role first (it checks aws-fpga out)")
    if state.supported:
        return state.vivado_version
    takers = [r.ref for r in RELEASES if state.vivado_version in r.vivado]
    hint = (f"set aws_fpga_ref to a release that supports it ({', '.join(takers)})" if takers
            else "no aws-fpga release in the platform table supports it")
    raise ToolchainMismatch(
        f"{host}: Vivado {state.vivado_version} is installed ({state.vivado_line!r}), but {checkout} supports only "
        f"{', '.join(state.supported_versions) or ', '.join(state.supported_lines)} (its "
        f"supported_vivado_versions.txt): nothing was built. Use an FPGA Developer AMI with one of those, or {hint}")
