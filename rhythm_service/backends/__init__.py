"""Inference backends of the rhythm service: one interface, three implementations, one selection.

- ``cpu``: a numpy forward pass from the package's ``model/weights.npz`` (float, or fixed point
  reproducing the hls4ml arithmetic bit for bit);
- ``csim``: the hls4ml C emulation library of the package's HLS project, through ctypes;
- ``fpga``: the accelerator's register protocol (``rhythm_service.register_map``) on the card's
  OCL BAR, for the slot and device configured.

``select_backend`` picks one for ``INFERENCE_BACKEND`` (``auto``: fpga when the device answers and
its loaded design implements this model, else csim, else cpu) and says why.

Every backend takes the window's shape from its model package (``package.window.dims``: frames x
features, ``package.window.inputs`` values flattened frame-major): nothing here assumes a size.

Example::

    package = ModelPackage.load("/srv/rhythm/current/model")
    backend, reasons = select_backend(BackendSettings(choice="auto"), package)
    probabilities = backend.predict(windows)          # (N, frames, features) normalised -> (N,)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

BACKEND_CHOICES = ("auto", "fpga", "csim", "cpu")


class Backend(Protocol):
    """What the service needs of an inference backend."""

    name: str  # "fpga" | "csim" | "cpu"

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """Beat probabilities of normalised feature windows: (N, frames, features) or (N, inputs) -> float64 (N,)."""
        ...

    def predict_one(self, window: np.ndarray) -> float:
        """The beat probability of one normalised window (frames, features) or (inputs,): the lean one-window path."""
        ...

    def health(self) -> dict[str, Any]:
        """JSON-able details for /health (fpga: device, slot, design and model ids, expected AFI)."""
        ...

    def close(self) -> None:
        """Release what the backend holds (the fpga backend: the mapped BAR and its lock); idempotent."""
        ...


@dataclass(frozen=True)
class BackendSettings:
    """How to choose and configure the backend (from the service's configuration).

    choice: ``auto`` | ``fpga`` | ``csim`` | ``cpu``; ``use_fpga`` False rules the fpga backend out
    of ``auto`` (the original service's USE_FPGA); ``fpga_device``: the application PF's PCI address
    (``0000:00:1d.0``) or ``auto`` (found from the slot); ``pci_root``: where sysfs lists PCI devices;
    ``fpga_agfi``: the AFI expected on the slot (reported in /health); ``cpu_arithmetic``: ``fixed``
    (equal to the C emulation) or ``float`` (equal to Keras).
    """

    choice: str = "auto"
    use_fpga: bool = True
    fpga_device: str = "auto"
    fpga_slot: int = 0
    pci_root: str = "/sys/bus/pci/devices"
    fpga_timeout_s: float = 0.05
    fpga_agfi: str = ""
    cpu_arithmetic: str = "fixed"
    csim_build_dir: str = ""  # where the emulation library is compiled (default: csim.default_build_dir(),
    # $XDG_CACHE_HOME/rhythm_service/csim or ~/.cache/...: the release folder may be read-only, and a
    # file added inside it would fail the package's verification)
