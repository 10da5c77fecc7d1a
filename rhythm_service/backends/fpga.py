"""The ``fpga`` backend: the beat accelerator's register protocol (``register_map``) on the slot's OCL BAR.

At start: find the slot's application PF (``FPGA_DEVICE``/``FPGA_SLOT``), map its BAR0, and check
that the loaded design is the beat accelerator (DESIGN_ID) for this package's model (MODEL_ID,
FORMAT, and INPUT_COUNT = the package's window, ``package.window.inputs``), and that the BAR path works
(SCRATCH write/read-back). Any mismatch is an ``FpgaError`` that says what is loaded and what was
expected.

One inference: write INPUT[0..n-1] (the window in the input format, saturated; n is the
package's ``window.inputs``), write CONTROL = 1, poll until CONTROL reads 0 **and** STATUS has DONE
(timeout ``fpga_timeout_s``), read OUTPUT. Waiting for CONTROL to read 0 as well as for DONE is
what makes the protocol safe on a shared-memory stand-in of the card (the sandbox's, or a
test's), where the host's start write sits in memory until the emulating thread takes it and the
previous DONE is still visible until then; on the hardware CONTROL always reads 0, so the extra
condition costs one read. A batch is a loop of inferences. The poll loop yields the CPU between
reads (``os.sched_yield``), so a card emulated in the same process still gets to run.

The card has one register block: inferences are serialised by a thread lock and an ``flock`` on
the device file, so several threads or worker processes can share it.

Example::

    backend = FpgaBackend(package, BackendSettings(choice="fpga", fpga_slot=0))
    backend.predict(windows)            # (N, frames, features) -> (N,) float64
    backend.health()["model_id_matches"]
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from typing import Any

import numpy as np

from rhythm_service import register_map as rm
from rhythm_service.backends import BackendSettings
from rhythm_service.backends.cpu import check_windows
from rhythm_service.backends.pci_bar import PciBar, PciFunction, find_app_pf
from rhythm_service.model_package import ModelPackage

NO_DESIGN_WORD = 0xFFFFFFFF
CONTROL_WORD, STATUS_WORD, OUTPUT_WORD = rm.CONTROL // 4, rm.STATUS // 4, rm.OUTPUT // 4


class FpgaError(RuntimeError):
    """The slot does not run this package's accelerator, or it does not answer."""


class FpgaTimeout(FpgaError):
    """An inference that did not finish within the timeout."""


class FpgaBackend:
    """Inference on the beat accelerator of an FPGA slot through its register map.

    Example: ``FpgaBackend(package, BackendSettings(fpga_device="0000:00:1e.0")).predict(x)``.
    """

    name = "fpga"

    def __init__(self, package: ModelPackage, settings: BackendSettings) -> None:
        self.package = package
        self.settings = settings
        self.function: PciFunction = find_app_pf(settings.pci_root, settings.fpga_slot, settings.fpga_device)
        self.bar = PciBar.open(settings.pci_root, self.function.dbdf)
        self._words = self.bar.words
        self._exclusive = _Exclusive(self.bar.path)
        fmt = package.input_format
        self._scale = float(1 << fmt.fraction_bits)
        self._low, self._high, self._mask = fmt.minimum, fmt.maximum, (1 << fmt.total) - 1
        self._input_words = range(rm.INPUT_BASE // 4, rm.INPUT_BASE // 4 + package.window.inputs)
        try:
            self.check_design()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ identity

    def identity(self) -> dict[str, int]:
        """The identity registers as read now (DESIGN_ID, MODEL_ID, FORMAT, INPUT_COUNT)."""
        return {name: self.bar.peek(offset) for name, offset in (
            ("DESIGN_ID", rm.DESIGN_ID_OFFSET), ("MODEL_ID", rm.MODEL_ID), ("FORMAT", rm.FORMAT),
            ("INPUT_COUNT", rm.INPUT_COUNT))}

    def check_design(self) -> None:
        """Raise ``FpgaError`` unless the slot runs the beat accelerator of this package's model."""
        where = f"FPGA slot {self.settings.fpga_slot} ({self.function.dbdf}, device 1d0f:{self.function.device_id:04x})"
        found = self.identity()
        expected_agfi = f" (expected AFI {self.settings.fpga_agfi})" if self.settings.fpga_agfi else ""
        if found["DESIGN_ID"] != rm.DESIGN_ID:
            loaded = "no design answers (reads 0xFFFFFFFF)" if found["DESIGN_ID"] == NO_DESIGN_WORD else (
                f"DESIGN_ID reads 0x{found['DESIGN_ID']:08X}")
            raise FpgaError(f"{where} does not run the beat accelerator: {loaded}, expected "
                            f"0x{rm.DESIGN_ID:08X}{expected_agfi}")
        if found["MODEL_ID"] != self.package.model_id:
            raise FpgaError(f"{where} runs model 0x{found['MODEL_ID']:08X}, the package "
                            f"{self.package.release} is model 0x{self.package.model_id:08X}: load the AFI "
                            f"built from this package{expected_agfi}")
        if found["INPUT_COUNT"] != self.package.window.inputs:
            raise FpgaError(f"{where}: the loaded design takes {found['INPUT_COUNT']} inputs (INPUT_COUNT), the "
                            f"package {self.package.release}'s window is {self.package.window}: load "
                            f"the AFI built from this package{expected_agfi}")
        if found["FORMAT"] != self.package.format_word:
            raise FpgaError(f"{where}: FORMAT 0x{found['FORMAT']:08X}, expected 0x{self.package.format_word:08X}")
        probe = 0x5A5A_0000 | (os.getpid() & 0xFFFF)
        with self._exclusive:
            self.bar.poke(rm.SCRATCH, probe)
            echoed = self.bar.peek(rm.SCRATCH)
        if echoed != probe:
            raise FpgaError(f"{where}: SCRATCH reads 0x{echoed:08X} after writing 0x{probe:08X}: BAR access is broken")

    # ------------------------------------------------------------------ inference

    def _encode(self, x: np.ndarray) -> list[list[int]]:
        raw = np.clip(np.floor(x * self._scale), self._low, self._high).astype(np.int64) & self._mask
        return raw.tolist()

    def _infer(self, words: list[int]) -> float:
        registers = self._words
        for index, word in zip(self._input_words, words, strict=True):
            registers[index] = word
        registers[CONTROL_WORD] = rm.CONTROL_START
        deadline = time.perf_counter() + self.settings.fpga_timeout_s
        while registers[CONTROL_WORD] & rm.CONTROL_START or not registers[STATUS_WORD] & rm.STATUS_DONE:
            if time.perf_counter() > deadline:
                raise FpgaTimeout(
                    f"FPGA slot {self.settings.fpga_slot} ({self.function.dbdf}) did not finish an inference in "
                    f"{self.settings.fpga_timeout_s * 1e3:.1f} ms (CONTROL 0x{int(registers[CONTROL_WORD]):08X}, "
                    f"STATUS 0x{int(registers[STATUS_WORD]):08X})")
            os.sched_yield()
        return rm.decode_output(int(registers[OUTPUT_WORD]), self.package.output_format)

    def predict(self, windows: Any) -> np.ndarray:
        """Beat probabilities (N,) of normalised windows (N, frames, features) or (N, inputs), one inference each.

        Example: ``backend.predict(np.zeros((2, *package.window.dims)))``.
        """
        encoded = self._encode(check_windows(windows, self.package.window.dims))
        with self._exclusive:
            return np.array([self._infer(words) for words in encoded], dtype=np.float64)

    def predict_one(self, window: Any) -> float:
        """The beat probability of one normalised window (frames, features) or (inputs,).

        Example: ``backend.predict_one(np.zeros(package.window.dims))``.
        """
        (words,) = self._encode(check_windows(window, self.package.window.dims))
        with self._exclusive:
            return self._infer(words)

    # ------------------------------------------------------------------ reporting

    def health(self) -> dict[str, Any]:
        """Device, slot, design and model ids (and whether they match), input count, expected AFI, last CYCLES."""
        found = self.identity()
        return {
            "backend": self.name,
            "device": self.function.dbdf,
            "slot": self.settings.fpga_slot,
            "pci_id": f"1d0f:{self.function.device_id:04x}",
            "design_id": f"0x{found['DESIGN_ID']:08X}",
            "model_id": f"0x{found['MODEL_ID']:08X}",
            "expected_model_id": f"0x{self.package.model_id:08X}",
            "model_id_matches": found["DESIGN_ID"] == rm.DESIGN_ID and found["MODEL_ID"] == self.package.model_id,
            "input_count": found["INPUT_COUNT"],
            "expected_agfi": self.settings.fpga_agfi or None,
            "last_cycles": self.bar.peek(rm.CYCLES),
            "model": self.package.describe(),
        }

    def close(self) -> None:
        """Unmap the BAR and release the lock file descriptor."""
        self._exclusive.close()
        self._words = None
        self.bar.close()


class _Exclusive:
    """Thread lock + ``flock`` on the device file: one inference at a time on the card (one per backend)."""

    def __init__(self, path: os.PathLike) -> None:
        self.lock, self.fd = threading.Lock(), os.open(path, os.O_RDONLY)

    def __enter__(self) -> None:
        self.lock.acquire()
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            self.lock.release()
            raise

    def __exit__(self, *exc) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.lock.release()

    def close(self) -> None:
        """Release the file descriptor (idempotent)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
