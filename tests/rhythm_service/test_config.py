"""The service's settings from the environment: defaults, parsing, and an error naming each bad variable."""

from __future__ import annotations

import pytest

from rhythm_service.backends import BackendSettings
from rhythm_service.config import ConfigError, ServiceConfig


def test_an_empty_environment_gives_the_original_defaults() -> None:
    config = ServiceConfig.from_environ({})
    assert config.port == 5001
    assert config.error_generator_url == "http://localhost:9090"
    assert config.use_fpga is False and config.inference_backend == "auto" and config.log_level == "INFO"


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("TRUE", True), (" True ", True), ("1", False),
                                                 ("yes", False), ("false", False), ("", False)])
def test_use_fpga_is_true_only_for_true_in_any_case(value: str, expected: bool) -> None:
    assert ServiceConfig.from_environ({"USE_FPGA": value}).use_fpga is expected


def test_every_variable_is_read() -> None:
    config = ServiceConfig.from_environ({
        "HOST": "127.0.0.1", "PORT": "8080", "ERROR_GENERATOR_URL": "http://10.200.0.5:9090/",
        "USE_FPGA": "true", "FPGA_DEVICE": "0000:00:1D.0", "FPGA_SLOT": "2", "FPGA_AGFI": "agfi-0123456789abcdef0",
        "FPGA_PCI_ROOT": "/tmp/pci", "FPGA_TIMEOUT_MS": "20", "INFERENCE_BACKEND": "CPU", "CPU_ARITHMETIC": "float",
        "CSIM_BUILD_DIR": "/var/cache/csim", "MODEL_DIR": "/srv/model", "LOG_LEVEL": "debug", "MAX_UPLOAD_MB": "0.5",
        "MAX_AUDIO_SECONDS": "30", "MAX_WINDOWS": "100", "MAX_RHYTHM_SECONDS": "60", "TRIGGER_QUEUE_SIZE": "4",
        "ERRGEN_TIMEOUT_S": "0.5", "ERRGEN_RETRIES": "0", "ERRGEN_BACKOFF_S": "0", "ERRGEN_COOLDOWN_S": "3",
    })
    assert (config.host, config.port, config.error_generator_url) == ("127.0.0.1", 8080, "http://10.200.0.5:9090")
    assert (config.fpga_device, config.fpga_slot, config.fpga_agfi) == ("0000:00:1d.0", 2, "agfi-0123456789abcdef0")
    assert (config.inference_backend, config.cpu_arithmetic, config.log_level) == ("cpu", "float", "DEBUG")
    assert config.max_upload_bytes == 512 * 1024 and config.max_windows == 100 and config.trigger_queue_size == 4
    assert (config.errgen_timeout_s, config.errgen_retries, config.errgen_cooldown_s) == (0.5, 0, 3.0)
    assert config.backend_settings() == BackendSettings(
        choice="cpu", use_fpga=True, fpga_device="0000:00:1d.0", fpga_slot=2, pci_root="/tmp/pci",
        fpga_timeout_s=0.02, fpga_agfi="agfi-0123456789abcdef0", cpu_arithmetic="float",
        csim_build_dir="/var/cache/csim",
    )


@pytest.mark.parametrize(("name", "value", "says"), [
    ("PORT", "abc", "whole number from 1 to 65535"),
    ("PORT", "0", "whole number from 1 to 65535"),
    ("PORT", "70000", "whole number"),
    ("ERROR_GENERATOR_URL", "localhost:9090", "http(s) URL"),
    ("ERROR_GENERATOR_URL", "ftp://errgen", "http(s) URL"),
    ("ERROR_GENERATOR_URL", "http://errgen:99999", "bad port"),
    ("FPGA_DEVICE", "/dev/xdma0", "device node"),
    ("FPGA_DEVICE", "slot0", "PCI address"),
    ("FPGA_SLOT", "8", "0 to 7"),
    ("FPGA_AGFI", "afi-0123456789abcdef0", "global agfi- id"),
    ("FPGA_AGFI", "agfi-123", "global AFI id"),
    ("INFERENCE_BACKEND", "gpu", "auto, fpga, csim, cpu"),
    ("CPU_ARITHMETIC", "double", "fixed, float"),
    ("LOG_LEVEL", "LOUD", "DEBUG, INFO"),
    ("MAX_UPLOAD_MB", "nan", "number from"),
    ("MAX_UPLOAD_MB", "-1", "number from"),
    ("MAX_WINDOWS", "1.5", "whole number"),
    ("TRIGGER_QUEUE_SIZE", "0", "whole number from 1"),
    ("ERRGEN_TIMEOUT_S", "inf", "number from"),
    ("ERRGEN_RETRIES", "11", "0 to 10"),
])
def test_a_bad_value_is_an_error_naming_the_variable(name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as error:
        ServiceConfig.from_environ({name: value})
    assert str(error.value).startswith(f"{name}: ") and says in str(error.value) and value.strip() in str(error.value)
