"""The FPGA tools' outputs parsed (AWS's recorded samples), and the AFI load script run against the tool stand-ins.

The parsers are checked on the verbatim outputs of shared/research/aws-fpga-tools.md; the load
script (templates/f1_host/load_afi.sh.j2, rendered as the role renders it) runs locally against
the sandbox's fpga-* stand-ins with their own state directory and a local image endpoint.
"""

# ruff: noqa: F811 (the tool stand-ins' fixtures are imported from their own tests and used as parameters)
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from fpgaops.facts.fpga import FpgaSlots, describe_command
from fpgaops.fpga_slots import (
    ERROR_CODES,
    FpgaToolsError,
    ToolError,
    check_agfi,
    check_slot,
    error_message,
    parse_describe,
    parse_error,
)
from fpgaops.inventory import Inventory
from fpgaops.role_vars import role_vars
from fpgaops.templates import render_template
from roles.f1_host.status import status_rows
from roles.f1_host.tasks import DEFAULTS, slots_of, template_vars
from tests.unit.sandbox.test_fpga_tools import (  # noqa: F401 (fixtures)
    BUSY_ERROR,
    F1_AGFI,
    F1_CLEARED_HEADERS,
    F1_SYNC_LOAD,
    F2_AGFI,
    F2_CLEARED,
    INVALID_AFI,
    NOT_ROOT,
    PENDING_AGFI,
    UNKNOWN_AGFI,
    Host,
    bin_dir,
    endpoint_url,
    make_host,
)

SLOT_MISSING = "Error: (-2) No such file or directory\n"


# --- parsers on AWS's recorded outputs ----------------------------------------------------------


def test_a_cleared_f1_slot_with_headers_is_empty_and_cleared() -> None:
    image = parse_describe(F1_CLEARED_HEADERS)[0]
    assert (image.agfi, image.status, image.status_code, image.error_code, image.shell_version) == (
        None, "cleared", 1, 0, "0x04261818")
    assert (image.vendor_id, image.device_id, image.dbdf) == ("0x1d0f", "0x1042", "0000:00:0f.0")
    assert image.summary == "cleared" and not image.holds(F1_AGFI)


def test_a_synchronous_load_shows_the_agfi_loaded() -> None:
    image = parse_describe(F1_SYNC_LOAD)[0]
    assert (image.agfi, image.status, image.device_id) == (F1_AGFI, "loaded", "0xf000")
    assert image.holds(F1_AGFI) and not image.holds(F2_AGFI)
    assert image.summary == f"loaded {F1_AGFI}"


def test_an_empty_f2_slot_reads_no_afi_although_its_label_has_a_space() -> None:
    image = parse_describe(F2_CLEARED)[0]
    assert (image.agfi, image.status, image.shell_version, image.dbdf) == (
        None, "cleared", "0x10212415", "0000:00:1e.0")


def test_a_slot_in_error_does_not_hold_its_agfi() -> None:
    text = F1_SYNC_LOAD.replace("ok               0", "cl-ddr-calib-failed 13")
    image = parse_describe(text)[0]
    assert (image.error, image.error_code) == ("cl-ddr-calib-failed", 13)
    assert not image.holds(F1_AGFI) and image.summary.endswith("error cl-ddr-calib-failed (13)")


def test_several_slots_are_read_from_one_output() -> None:
    second = F2_CLEARED.replace("AFI          0", "AFI          1").replace("AFIDEVICE    0", "AFIDEVICE    1")
    images = parse_describe(F2_CLEARED + second)
    assert sorted(images) == [0, 1] and images[1].slot == 1


@pytest.mark.parametrize("output, code", [(INVALID_AFI, 5), (BUSY_ERROR, 3), (NOT_ROOT, -13), (SLOT_MISSING, -2)])
def test_a_tool_error_is_named_and_explained(output: str, code: int) -> None:
    assert parse_error(output).code == code
    with pytest.raises(FpgaToolsError, match=ERROR_CODES[code].name):
        parse_describe(output)


def test_output_without_an_afi_line_is_an_error_not_an_empty_slot() -> None:
    with pytest.raises(FpgaToolsError, match="no AFI line"):
        parse_describe("AFIDEVICE    0       0x1d0f      0x9048      0000:00:1e.0\n")


def test_every_error_code_of_the_research_notes_has_advice() -> None:
    codes = {0, 3, 5, 6, 12, 13, 14, 16, 17, 19, 20, 21, 24, 25, -2, -13, -22, -110}
    assert set(ERROR_CODES) == codes
    assert error_message(5).startswith("invalid-afi-id (5): the AGFI is unknown")
    assert error_message(99) == "error 99: see the tool's output"
    assert ToolError(3, "busy").message.startswith("busy (3)")


@pytest.mark.parametrize("bad, why", [
    ("afi-0123456789abcdef0", "regional afi- id"),
    ("agfi-0123456789ABCDEF0", "17 lower-case hex"),
    ("agfi-0123", "17 lower-case hex"),
    ("", "17 lower-case hex"),
    (None, "17 lower-case hex"),
])
def test_a_malformed_agfi_is_refused_with_the_reason(bad, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        check_agfi(bad)


def test_slots_are_numbers_below_eight_or_all() -> None:
    assert check_agfi(f" {F2_AGFI} ") == F2_AGFI and check_slot("7") == 7
    assert slots_of("all") == () and slots_of([0, 1, 1]) == (0, 1) and slots_of("0,2") == (0, 2)


@pytest.mark.parametrize("bad", [[8], [-1], ["x"], [True], [], 0, "any", None])
def test_bad_slot_lists_are_refused(bad) -> None:
    with pytest.raises(ValueError, match="slot"):
        slots_of(bad)


def test_the_fact_reads_tools_missing_errors_and_images() -> None:
    fact = FpgaSlots((0,))
    assert fact.process("", 127).tools_missing
    failed = fact.process(SLOT_MISSING, 254)
    assert failed.tool_error.code == -2 and "no such FPGA slot" in failed.error
    assert fact.process(F1_CLEARED_HEADERS, 0).images[0].status == "cleared"
    assert FpgaSlots(()).process("", 0).images == {}  # no FPGA: nothing listed
    assert "fpga-describe-local-image-slots" in describe_command(()) and '-S "$s" -R -H' in describe_command((0,))


def test_status_rows_are_text_for_a_table() -> None:
    rows = status_rows("f1-a", list(parse_describe(F1_SYNC_LOAD).values()))
    assert rows == [{"host": "f1-a", "slot": "0", "agfi": F1_AGFI, "status": "loaded", "error": "",
                     "device": "0x1d0f:0xf000", "dbdf": "0000:00:1d.0"}]


# --- the load script against the tool stand-ins -------------------------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the tool stand-ins need root, as the real tools")


@pytest.fixture
def load_script(tmp_path: Path) -> Path:
    """The load script as the role renders it (defaults, 0.1 s polls)."""
    inventory = Inventory.from_dict({"all": {"hosts": {"f": {"afi_poll_interval_s": 0.1}}}})
    path = tmp_path / "fpgaops-load-afi"
    path.write_text(render_template("f1_host/load_afi.sh.j2", template_vars(role_vars(inventory.host("f"), DEFAULTS))))
    path.chmod(0o755)
    return path


def load(host: Host, script: Path, *args: str, timeout_s: int = 20, path: str | None = None,
         **env: str) -> subprocess.CompletedProcess:
    environment = {"PATH": path or f"{host.bin_dir}:/usr/bin:/bin", "FPGAOPS_SANDBOX_RUN": str(host.run_dir),
                   "LC_ALL": "C", "AFI_TIMEOUT_S": str(timeout_s), **env}
    return subprocess.run([str(script), *args], env=environment, capture_output=True, text=True, timeout=60)


def slot_image(host: Host, slot: int = 0):
    return parse_describe(host.run("fpga-describe-local-image", "-S", str(slot)).stdout)[slot]


@needs_root
def test_the_script_loads_a_cleared_slot_then_finds_it_loaded(make_host, load_script: Path) -> None:
    host = make_host("f2", slots=1)
    first = load(host, load_script, F2_AGFI, "0")
    again = load(host, load_script, F2_AGFI, "0")

    assert first.returncode == 0, first.stderr
    assert "slot 0: loading " + F2_AGFI in first.stdout and f"slot 0: {F2_AGFI} loaded in" in first.stdout
    assert "clearing" not in first.stdout  # a cleared slot is not cleared again
    assert slot_image(host).holds(F2_AGFI)
    assert (again.returncode, again.stdout.strip()) == (0, f"fpgaops-load-afi: slot 0: {F2_AGFI} already loaded")


@needs_root
def test_the_script_replaces_another_afi_clearing_first(make_host, load_script: Path) -> None:
    host = make_host("f1", slots=2)
    assert load(host, load_script, F1_AGFI, "all").returncode == 0
    other = "agfi-0ccccccccccccccc4"
    from tests.unit.sandbox.test_fpga_tools import IMAGES, image
    IMAGES[other] = image(other, "available", "0x04261818", "0xf001")
    try:
        done = load(host, load_script, other, "1")
    finally:
        del IMAGES[other]
    assert done.returncode == 0, done.stderr
    assert f"slot 1: clearing (loaded {F1_AGFI})" in done.stdout
    assert slot_image(host, 1).holds(other) and slot_image(host, 0).holds(F1_AGFI)


@needs_root
@pytest.mark.parametrize("agfi", [UNKNOWN_AGFI, PENDING_AGFI])
def test_an_agfi_the_host_cannot_load_fails_with_error_5_explained_and_the_slot_untouched(
        make_host, load_script: Path, agfi: str) -> None:
    host = make_host("f1", slots=1)
    assert load(host, load_script, F1_AGFI, "0").returncode == 0

    failed = load(host, load_script, agfi, "0")

    assert failed.returncode == 5
    assert "invalid-afi-id (5): the AGFI is unknown, not available yet" in failed.stderr
    assert f"-I {agfi} -P" in failed.stderr  # the prefetch failed: no clear was started
    assert slot_image(host).holds(F1_AGFI)


@needs_root
def test_a_slot_that_stays_busy_times_out_with_a_clear_message(make_host, load_script: Path) -> None:
    host = make_host("f2", slots=1, busy_s=30)
    host.run("fpga-load-local-image", "-S", "0", "-I", F2_AGFI, "-A")  # busy for 30 s

    failed = load(host, load_script, F2_AGFI, "0", timeout_s=1)

    assert failed.returncode == 124
    assert "slot 0: waiting while busy: still busy" in failed.stderr and "raise AFI_TIMEOUT_S" in failed.stderr


@needs_root
def test_all_slots_of_an_eight_fpga_host_are_loaded(make_host, load_script: Path) -> None:
    host = make_host("f2", slots=8, busy_s=0.05)
    done = load(host, load_script, timeout_s=20, AFI_AGFI=F2_AGFI, AFI_SLOTS="all")  # as the boot unit runs it
    assert done.returncode == 0, done.stderr
    assert all(slot_image(host, slot).holds(F2_AGFI) for slot in range(8))


@needs_root
@pytest.mark.parametrize("args, status, message", [
    (["afi-0123456789abcdef0", "0"], 2, "is not an AFI global id"),
    ([F2_AGFI, "9"], 2, "slot '9' is not a slot number"),
    ([F2_AGFI, "1"], 254, "this instance has no such FPGA slot"),
])
def test_bad_arguments_and_missing_slots_are_refused_clearly(make_host, load_script: Path, args, status: int,
                                                           message: str) -> None:
    failed = load(make_host("f2", slots=1), load_script, *args)
    assert (failed.returncode, message in failed.stderr) == (status, True), failed.stderr


@needs_root
def test_without_the_tools_the_script_says_to_run_the_role(make_host, load_script: Path) -> None:
    failed = load(make_host("f2", slots=1), load_script, F2_AGFI, "0", path="/usr/bin:/bin")
    assert failed.returncode == 127 and "is not installed: run the f1_host role" in failed.stderr


@needs_root
def test_a_host_without_fpga_has_no_slot_to_load(make_host, load_script: Path) -> None:
    failed = load(make_host(None, slots=0), load_script, F2_AGFI, "all")
    assert failed.returncode == 2 and "lists no FPGA slot" in failed.stderr
