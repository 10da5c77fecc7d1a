"""The rhythm service's settings, read from the environment and validated once at start-up.

systemd loads the rendered ``.env`` (EnvironmentFile) and the service reads it here; ``python -m
rhythm_service`` and gunicorn (``rhythm_service.wsgi``) read the same variables. A bad value stops
the start with a ``ConfigError`` that names the variable, what it holds and what is expected.

=========================  ===========================  ==================================================
variable                   default                      meaning
=========================  ===========================  ==================================================
HOST                       0.0.0.0                      address to listen on (dev server and gunicorn)
PORT                       5001                         TCP port
ERROR_GENERATOR_URL        http://localhost:9090        where triggers go (``/api/rhythm-trigger``)
USE_FPGA                   false                        ``true`` (any case) allows the fpga backend
FPGA_DEVICE                auto                         the application PF's PCI address or ``auto``
FPGA_SLOT                  0                            FPGA slot (0-7)
FPGA_AGFI                  (none)                       the AFI expected on the slot (``agfi-`` + 17 hex)
FPGA_PCI_ROOT              /sys/bus/pci/devices         where the PCI devices are listed
FPGA_TIMEOUT_MS            50                           wait for the accelerator's DONE per window
INFERENCE_BACKEND          auto                         auto | fpga | csim | cpu
CPU_ARITHMETIC             fixed                        fixed (= the C emulation) | float (= Keras)
CSIM_BUILD_DIR             $XDG_CACHE_HOME/...          where the emulation library is compiled (rhythm_service/csim)
MODEL_DIR                  /srv/rhythm/current/model    the model package folder (manifest.json, model/...)
LOG_LEVEL                  INFO                         DEBUG | INFO | WARNING | ERROR | CRITICAL
MAX_UPLOAD_MB              20                           largest request body (413 above)
MAX_AUDIO_SECONDS          600                          longest audio /api/detect-beats analyses (413)
MAX_WINDOWS                10000                        windows in one /api/predict request
MAX_RHYTHM_SECONDS         3600                         longest rhythm mode (``duration``)
TRIGGER_QUEUE_SIZE         64                           triggers waiting for the error generator
ERRGEN_TIMEOUT_S           2                            one request to the error generator
ERRGEN_RETRIES             2                            retries of a failed trigger
ERRGEN_BACKOFF_S           0.05                         first retry delay (doubles per retry)
ERRGEN_COOLDOWN_S          1                            after a trigger failed: drop new ones this long
RHYTHM_ACTIVITY_FILE       (none)                       touched on /api/* requests (the idle check reads it)
=========================  ===========================  ==================================================

Example::

    from rhythm_service.config import ServiceConfig
    config = ServiceConfig.from_environ()                 # or from_environ({"PORT": "5002"})
    settings = config.backend_settings()                  # rhythm_service.backends.BackendSettings
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from rhythm_service.backends import BACKEND_CHOICES, BackendSettings

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
CPU_ARITHMETICS = ("fixed", "float")
PCI_ADDRESS = re.compile(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]")
AGFI_ID = re.compile(r"agfi-[0-9a-f]{17}")
MAX_FPGA_SLOT = 7


class ConfigError(ValueError):
    """A setting is missing its form: the message starts with the variable's name."""


@dataclass(frozen=True)
class ServiceConfig:
    """Every setting of the service (see the module's table); build it with ``from_environ``."""

    host: str = "0.0.0.0"
    port: int = 5001
    error_generator_url: str = "http://localhost:9090"
    use_fpga: bool = False
    fpga_device: str = "auto"
    fpga_slot: int = 0
    fpga_agfi: str = ""
    fpga_pci_root: str = "/sys/bus/pci/devices"
    fpga_timeout_ms: float = 50.0
    inference_backend: str = "auto"
    cpu_arithmetic: str = "fixed"
    csim_build_dir: str = ""
    model_dir: str = "/srv/rhythm/current/model"
    log_level: str = "INFO"
    max_upload_mb: float = 20.0
    max_audio_seconds: float = 600.0
    max_windows: int = 10000
    max_rhythm_seconds: float = 3600.0
    trigger_queue_size: int = 64
    errgen_timeout_s: float = 2.0
    errgen_retries: int = 2
    errgen_backoff_s: float = 0.05
    errgen_cooldown_s: float = 1.0
    activity_file: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ServiceConfig:
        """The settings in ``environ`` (default ``os.environ``), validated; unset or empty means the default.

        Raises ``ConfigError`` naming the first bad variable.
        Example: ``ServiceConfig.from_environ({"PORT": "8080", "INFERENCE_BACKEND": "cpu"}).port`` -> ``8080``.
        """
        env = _Environment(os.environ if environ is None else environ)
        defaults = cls()
        return cls(
            host=env.text("HOST", defaults.host),
            port=env.integer("PORT", defaults.port, 1, 65535),
            error_generator_url=env.url("ERROR_GENERATOR_URL", defaults.error_generator_url),
            use_fpga=env.text("USE_FPGA", "false").lower() == "true",
            fpga_device=env.fpga_device("FPGA_DEVICE", defaults.fpga_device),
            fpga_slot=env.integer("FPGA_SLOT", defaults.fpga_slot, 0, MAX_FPGA_SLOT),
            fpga_agfi=env.agfi("FPGA_AGFI"),
            fpga_pci_root=env.text("FPGA_PCI_ROOT", defaults.fpga_pci_root),
            fpga_timeout_ms=env.number("FPGA_TIMEOUT_MS", defaults.fpga_timeout_ms, 0.001, 60_000),
            inference_backend=env.choice("INFERENCE_BACKEND", defaults.inference_backend, BACKEND_CHOICES),
            cpu_arithmetic=env.choice("CPU_ARITHMETIC", defaults.cpu_arithmetic, CPU_ARITHMETICS),
            csim_build_dir=env.text("CSIM_BUILD_DIR", defaults.csim_build_dir),
            model_dir=env.text("MODEL_DIR", defaults.model_dir),
            log_level=env.choice("LOG_LEVEL", defaults.log_level, LOG_LEVELS, fold=str.upper),
            max_upload_mb=env.number("MAX_UPLOAD_MB", defaults.max_upload_mb, 0.001, 4096),
            max_audio_seconds=env.number("MAX_AUDIO_SECONDS", defaults.max_audio_seconds, 1, 86_400),
            max_windows=env.integer("MAX_WINDOWS", defaults.max_windows, 1, 10_000_000),
            max_rhythm_seconds=env.number("MAX_RHYTHM_SECONDS", defaults.max_rhythm_seconds, 1, 7 * 86_400),
            trigger_queue_size=env.integer("TRIGGER_QUEUE_SIZE", defaults.trigger_queue_size, 1, 100_000),
            errgen_timeout_s=env.number("ERRGEN_TIMEOUT_S", defaults.errgen_timeout_s, 0.001, 600),
            errgen_retries=env.integer("ERRGEN_RETRIES", defaults.errgen_retries, 0, 10),
            errgen_backoff_s=env.number("ERRGEN_BACKOFF_S", defaults.errgen_backoff_s, 0, 60),
            errgen_cooldown_s=env.number("ERRGEN_COOLDOWN_S", defaults.errgen_cooldown_s, 0, 3600),
            activity_file=env.text("RHYTHM_ACTIVITY_FILE", defaults.activity_file),
        )

    @property
    def max_upload_bytes(self) -> int:
        """``MAX_UPLOAD_MB`` in bytes (Flask's ``MAX_CONTENT_LENGTH``)."""
        return int(self.max_upload_mb * 1024 * 1024)

    def backend_settings(self) -> BackendSettings:
        """The inference backend's part of the settings.

        Example: ``select_backend(config.backend_settings(), package)``.
        """
        return BackendSettings(
            choice=self.inference_backend,
            use_fpga=self.use_fpga,
            fpga_device=self.fpga_device,
            fpga_slot=self.fpga_slot,
            pci_root=self.fpga_pci_root,
            fpga_timeout_s=self.fpga_timeout_ms / 1000.0,
            fpga_agfi=self.fpga_agfi,
            cpu_arithmetic=self.cpu_arithmetic,
            csim_build_dir=self.csim_build_dir,
        )


class _Environment:
    """Typed reads of environment variables, each failure a ``ConfigError`` naming the variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def text(self, name: str, default: str) -> str:
        value = self.environ.get(name, "").strip()
        return value or default

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        return self._parsed(name, default, int, f"a whole number from {low} to {high}", low, high)

    def number(self, name: str, default: float, low: float, high: float) -> float:
        return self._parsed(name, default, float, f"a number from {low:g} to {high:g}", low, high)

    def _parsed(self, name: str, default, parse, expected: str, low, high):
        """``parse(value)`` in [low, high] (NaN is refused), or ``default`` when unset or empty."""
        raw = self.text(name, "")
        if not raw:
            return default
        try:
            value = parse(raw)
        except ValueError:
            value = math.nan
        if not low <= value <= high:  # NaN fails this too
            raise ConfigError(f"{name}: expected {expected}, got {raw!r}")
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...], fold=str.lower) -> str:
        raw = self.text(name, default)
        if fold(raw) not in choices:
            raise ConfigError(f"{name}: expected one of {', '.join(choices)}, got {raw!r}")
        return fold(raw)

    def url(self, name: str, default: str) -> str:
        raw = self.text(name, default)
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ConfigError(f"{name}: expected an http(s) URL such as http://errgen:9090, got {raw!r}")
        try:
            parts.port  # noqa: B018 (raises on a bad port)
        except ValueError:
            raise ConfigError(f"{name}: bad port in {raw!r}") from None
        return raw.rstrip("/")

    def fpga_device(self, name: str, default: str) -> str:
        raw = self.text(name, default)
        if raw.lower() == "auto" or PCI_ADDRESS.fullmatch(raw.lower()):
            return raw.lower()
        hint = " (a device node, as in the deployment guide's .env)" if raw.startswith("/dev/") else ""
        raise ConfigError(
            f"{name}: expected the FPGA's application PF as a PCI address such as 0000:00:1d.0, or auto; "
            f"got {raw!r}{hint}"
        )

    def agfi(self, name: str) -> str:
        raw = self.text(name, "")
        if raw and not AGFI_ID.fullmatch(raw):
            hint = " (an afi- id: the load tools take the global agfi- id)" if raw.startswith("afi-") else ""
            raise ConfigError(f"{name}: expected a global AFI id such as agfi-0123456789abcdef0, got {raw!r}{hint}")
        return raw
