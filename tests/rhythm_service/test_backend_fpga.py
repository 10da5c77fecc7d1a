"""The fpga backend and its BAR access, against a test card serving the register map on a sysfs-like resource0."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from rhythm_service import register_map as rm
from rhythm_service.backends import BackendSettings
from rhythm_service.backends.fpga import FpgaBackend, FpgaError, FpgaTimeout
from rhythm_service.backends.pci_bar import PciBar, PciError, app_functions, find_app_pf
from tests.rhythm_service.backend_helpers import (
    TestCard,
    add_pci_function,
    cpu_fixture,  # noqa: F401 (fixture)
    held_out_windows,
    package_fixture,  # noqa: F401 (fixture)
)


def settings(root, **changes) -> BackendSettings:
    return BackendSettings(**{"choice": "fpga", "pci_root": str(root), "fpga_timeout_s": 2.0, **changes})


def test_inference_on_the_card_equals_the_emulation(package, cpu, tmp_path):
    x = held_out_windows(package)[::40]
    with TestCard(tmp_path, package, cpu.predict_one) as card:
        backend = FpgaBackend(package, settings(tmp_path))
        try:
            assert np.array_equal(backend.predict(x), cpu.predict(x))
            assert backend.predict_one(x[3]) == cpu.predict_one(x[3])
            assert card.starts == len(x) + 1
            health = backend.health()
        finally:
            backend.close()
    assert health["device"] == "0000:00:1e.0" and health["slot"] == 0 and health["model_id_matches"] is True
    assert health["model_id"] == health["expected_model_id"] == f"0x{package.model_id:08X}"
    assert health["design_id"] == "0xBEA70001" and health["pci_id"] == "1d0f:f000"


def test_out_of_range_inputs_saturate_like_the_other_backends(package, cpu, tmp_path):
    window = np.full((1, *package.window.dims), 50.0)
    window[0, 2] = -np.inf
    with TestCard(tmp_path, package, cpu.predict_one):
        backend = FpgaBackend(package, settings(tmp_path))
        try:
            assert backend.predict(window)[0] == cpu.predict(window)[0]
            with pytest.raises(ValueError, match="NaN"):
                backend.predict(np.full(window.shape, np.nan))
        finally:
            backend.close()


def test_slots_are_found_by_address_among_amazon_functions(package, cpu, tmp_path):
    add_pci_function(tmp_path, "0000:00:1b.0", device_id=0x9048)        # slot 0: empty
    add_pci_function(tmp_path, "0000:00:1c.0", device_id=0x9148)        # its mailbox PF
    add_pci_function(tmp_path, "0000:00:03.0", vendor_id=0x8086, device_id=0x1234)  # not an FPGA
    (tmp_path / "not-a-device").mkdir()
    assert [f.dbdf for f in app_functions(tmp_path)] == ["0000:00:1b.0"]
    with TestCard(tmp_path, package, cpu.predict_one):                   # slot 1 at 0000:00:1e.0
        assert [f.dbdf for f in app_functions(tmp_path)] == ["0000:00:1b.0", "0000:00:1e.0"]
        assert find_app_pf(tmp_path, 0).empty_slot
        backend = FpgaBackend(package, settings(tmp_path, fpga_slot=1))
        backend.close()
        with pytest.raises(PciError, match=r"slot 2 does not exist: 2 slot\(s\)"):
            find_app_pf(tmp_path, 2)
        with pytest.raises(FpgaError, match="no design answers"):  # the empty slot has no register block
            add_pci_function(tmp_path, "0000:00:1b.0", rm.ADDRESS_SPAN, device_id=0x9048)
            (tmp_path / "0000:00:1b.0" / "resource0").write_bytes(b"\xff" * rm.ADDRESS_SPAN)
            FpgaBackend(package, settings(tmp_path, fpga_slot=0))


def test_no_fpga_and_bad_device_names(package, tmp_path):
    with pytest.raises(PciError, match="no FPGA"):
        find_app_pf(tmp_path, 0)
    with pytest.raises(PciError, match="does not exist"):
        find_app_pf(tmp_path / "missing", 0)
    with pytest.raises(PciError, match="not a PCI address"):
        find_app_pf(tmp_path, 0, "slot0")
    with pytest.raises(PciError, match=r"no PCI device 0000:00:1e\.0"):
        FpgaBackend(package, settings(tmp_path, fpga_device="0000:00:1e.0"))
    add_pci_function(tmp_path, "0000:00:1e.0", device_id=0xF000)
    with pytest.raises(PciError, match="resource0 does not exist"):
        FpgaBackend(package, settings(tmp_path, fpga_device="0000:00:1e.0"))


def test_a_card_running_another_model_is_refused(package, cpu, tmp_path):
    with (TestCard(tmp_path, package, cpu.predict_one, model_id=0x12345678),
          pytest.raises(FpgaError, match=rf"runs model 0x12345678.*is model 0x{package.model_id:08X}.*agfi-0123")):
        FpgaBackend(package, settings(tmp_path, fpga_agfi="agfi-0123456789abcdef0"))


def test_another_design_is_refused(package, cpu, tmp_path):
    with (TestCard(tmp_path, package, cpu.predict_one, design_id=0xCAFE0001),
          pytest.raises(FpgaError, match="DESIGN_ID reads 0xCAFE0001, expected 0xBEA70001")):
        FpgaBackend(package, settings(tmp_path))


def test_a_card_that_never_finishes_times_out(package, cpu, tmp_path):
    with TestCard(tmp_path, package, cpu.predict_one, answers=False):
        backend = FpgaBackend(package, settings(tmp_path, fpga_timeout_s=0.05))
        try:
            with pytest.raises(FpgaTimeout, match=r"did not finish an inference in 50.0 ms \(CONTROL 0x00000001"):
                backend.predict_one(np.zeros(package.window.dims))
        finally:
            backend.close()


def test_previous_done_is_not_taken_for_the_new_result(package, cpu, tmp_path):
    """DONE still set from the last inference: the backend waits for the card to take the start (CONTROL 0)."""
    x = held_out_windows(package)[:40]
    with TestCard(tmp_path, package, cpu.predict_one) as card:
        backend = FpgaBackend(package, settings(tmp_path))
        try:
            card.words[rm.STATUS // 4] = rm.STATUS_DONE | rm.STATUS_IDLE
            assert np.array_equal(backend.predict(x), cpu.predict(x))  # each one its own output
        finally:
            backend.close()


def test_bar_access_is_aligned_and_bounded(tmp_path):
    add_pci_function(tmp_path, "0000:00:1e.0", rm.ADDRESS_SPAN, device_id=0xF000)
    with PciBar.open(tmp_path, "0000:00:1e.0") as bar:
        bar.poke(rm.SCRATCH, 0xDEADBEEF)
        assert bar.peek(rm.SCRATCH) == 0xDEADBEEF
        raw = (tmp_path / "0000:00:1e.0" / "resource0").read_bytes()
        assert raw[rm.SCRATCH : rm.SCRATCH + 4] == (0xDEADBEEF).to_bytes(4, "little")
        for bad in (0x022, rm.ADDRESS_SPAN, -4):
            with pytest.raises(ValueError, match="aligned"):
                bar.peek(bad)
        with pytest.raises(ValueError, match="32-bit"):
            bar.poke(0, 1 << 32)
    (tmp_path / "small").mkdir()
    (tmp_path / "small" / "resource0").write_bytes(bytes(64))
    with pytest.raises(PciError, match="is 64 bytes"):
        PciBar.open(tmp_path, "small")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_permission_denied_names_the_non_root_setup(tmp_path):
    add_pci_function(tmp_path, "0000:00:1e.0", rm.ADDRESS_SPAN, device_id=0xF000)
    os.chmod(tmp_path / "0000:00:1e.0" / "resource0", 0o600)
    os.chmod(tmp_path, 0o755)
    code = ("import sys; from rhythm_service.backends.pci_bar import PciBar, PciError\n"
            "try:\n    PciBar.open(sys.argv[1], '0000:00:1e.0')\nexcept PciError as e:\n    print(e)\n")
    result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                             code, str(tmp_path)], capture_output=True, text=True, cwd=os.getcwd(), check=False,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
    if "Permission denied" in result.stderr and "PciError" not in result.stderr:
        pytest.skip(f"the unprivileged user cannot run the venv's python here: {result.stderr[-200:]}")
    assert "permission denied" in result.stdout and "AWS_FPGA_ALLOW_NON_ROOT" in result.stdout, result.stderr
