"""The RTL ports of the HLS top, as the conversion finds them and the CL wrapper connects them.

hls4ml 1.3.0 with ``io_parallel`` writes ``#pragma HLS INTERFACE ap_vld`` on the input and output
arrays, reshapes the input into one port and partitions the output into one port per element;
the block control is ``ap_ctrl_hs`` (``ap_clk ap_rst ap_start ap_done ap_idle ap_ready``). Vitis
HLS names the ports after the arrays (``window``, ``layer11_out_0``); Vivado HLS adds ``_V``.

``input_count`` is the model's flattened window, window_frames x features (the package's manifest
``model`` section says which): the CL wrapper gives the register map that many INPUT registers and
reports it in INPUT_COUNT, and ``ModelPackage.load`` refuses a package whose window disagrees.

Example::

    IpInterface("beat_detector", "window", 48, "ap_fixed<16,6>", "layer11_out_0", "ap_fixed<16,6>")  # 16 x 3
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class IpInterface:
    """The data ports of the HLS top (each with an ``<port>_ap_vld`` beside it) and their formats."""

    top: str  # module name = hls4ml project name
    input_port: str  # the window's inputs reshaped into one port, element k at bits [W*k + W-1 : W*k]
    input_count: int  # window_frames x features
    input_format: str  # ap_fixed<W,I>
    output_port: str  # the single output element
    output_format: str

    def as_dict(self) -> dict:
        """Plain data (for the manifest and ``ip_interface.json``)."""
        return asdict(self)

    def save(self, path: Path) -> None:
        """Write the interface as JSON."""
        path.write_text(json.dumps(self.as_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> IpInterface:
        """Read an interface written by ``save``.

        Example: ``IpInterface.load(Path("artifacts/convert/ip_interface.json")).top``.
        """
        return cls(**json.loads(path.read_text()))
