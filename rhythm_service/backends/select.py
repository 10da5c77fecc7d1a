"""Choosing the inference backend: the one ``INFERENCE_BACKEND`` names, or for ``auto`` the best that works here.

``auto`` tries, in order: ``fpga`` (when ``USE_FPGA`` is true, the slot's device answers and its
loaded design is the beat accelerator of this package's model), ``csim`` (when the C emulation
compiles and loads: g++ present), then ``cpu`` (always works; fixed point unless the HLS project
cannot be reproduced, then float). The reasons list says why each earlier one was skipped and
which was chosen; the service logs it and shows it in /health.

An explicit choice gives that backend or a ``BackendUnavailable`` error saying why.

Example::

    backend, reasons = select_backend(BackendSettings(choice="auto"), package)
    # reasons: ['fpga skipped: no FPGA (PCI vendor 0x1d0f) under /sys/bus/pci/devices ...',
    #           'csim: hls4ml C emulation .../beat_detector.so']
"""

from __future__ import annotations

import logging
from pathlib import Path

from rhythm_service.backends import BACKEND_CHOICES, Backend, BackendSettings
from rhythm_service.backends.cpu import CpuBackend
from rhythm_service.backends.csim import CsimBackend, CsimError
from rhythm_service.backends.fpga import FpgaBackend, FpgaError
from rhythm_service.backends.hls_firmware import FirmwareError
from rhythm_service.backends.pci_bar import PciError
from rhythm_service.model_package import ModelPackage, ModelPackageError

FPGA_ERRORS = (FpgaError, PciError, OSError, ValueError)
CSIM_ERRORS = (CsimError, ModelPackageError, OSError)


class BackendUnavailable(RuntimeError):
    """The backend ``INFERENCE_BACKEND`` names cannot run here."""


def _fpga(settings: BackendSettings, package: ModelPackage) -> tuple[FpgaBackend, str]:
    backend = FpgaBackend(package, settings)
    return backend, f"fpga: slot {settings.fpga_slot} ({backend.function.dbdf}) runs model 0x{package.model_id:08X}"


def _csim(settings: BackendSettings, package: ModelPackage) -> tuple[CsimBackend, str]:
    backend = CsimBackend(package, build_dir=Path(settings.csim_build_dir) if settings.csim_build_dir else None)
    return backend, f"csim: hls4ml C emulation {backend.library_path}"


def _cpu(package: ModelPackage, arithmetic: str) -> tuple[CpuBackend, str]:
    return CpuBackend(package, arithmetic), f"cpu: numpy, {arithmetic} arithmetic"


def select_backend(
    settings: BackendSettings, package: ModelPackage, log: logging.Logger | None = None
) -> tuple[Backend, list[str]]:
    """The backend to serve with and why (one line per backend tried).

    Args:
        settings: the choice and the backends' settings (``ServiceConfig.backend_settings()``).
        package: the loaded model package.
        log: where to log the reasons (info for the choice, warning for what was skipped).

    Example: ``backend, reasons = select_backend(BackendSettings(choice="cpu"), package)``.
    """
    log = log or logging.getLogger(__name__)
    choice = settings.choice
    if choice not in BACKEND_CHOICES:
        raise BackendUnavailable(f"INFERENCE_BACKEND={choice!r}: choose one of {', '.join(BACKEND_CHOICES)}")
    if choice == "fpga":
        if not settings.use_fpga:
            raise BackendUnavailable("INFERENCE_BACKEND=fpga but USE_FPGA is false")
        try:
            return _chosen(*_fpga(settings, package), [], log)
        except FPGA_ERRORS as error:
            raise BackendUnavailable(f"INFERENCE_BACKEND=fpga: {error}") from error
    if choice == "csim":
        try:
            return _chosen(*_csim(settings, package), [], log)
        except CSIM_ERRORS as error:
            raise BackendUnavailable(f"INFERENCE_BACKEND=csim: {error}") from error
    if choice == "cpu":
        try:
            return _chosen(*_cpu(package, settings.cpu_arithmetic), [], log)
        except (FirmwareError, ValueError) as error:
            raise BackendUnavailable(f"INFERENCE_BACKEND=cpu ({settings.cpu_arithmetic}): {error}") from error

    skipped: list[str] = []
    if not settings.use_fpga:
        skipped.append("fpga skipped: USE_FPGA is false")
    else:
        try:
            return _chosen(*_fpga(settings, package), skipped, log)
        except FPGA_ERRORS as error:
            skipped.append(f"fpga skipped: {error}")
    try:
        return _chosen(*_csim(settings, package), skipped, log)
    except CSIM_ERRORS as error:
        skipped.append(f"csim skipped: {error}")
    try:
        return _chosen(*_cpu(package, settings.cpu_arithmetic), skipped, log)
    except FirmwareError as error:
        skipped.append(f"cpu {settings.cpu_arithmetic} skipped: {error}")
    return _chosen(*_cpu(package, "float"), skipped, log)


def _chosen(backend: Backend, choice: str, skipped: list[str], log: logging.Logger) -> tuple[Backend, list[str]]:
    """Log why each earlier backend was skipped (warning) and the one chosen (info); return both."""
    for reason in skipped:
        log.warning("inference backend: %s", reason)
    log.info("inference backend: %s", choice)
    return backend, [*skipped, choice]
