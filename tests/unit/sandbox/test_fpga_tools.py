"""The AFI Management Tools stand-ins, run through their bash wrappers, against AWS's samples.

Each test writes a host.json into a temporary $FPGAOPS_SANDBOX_RUN and serves AGFIs from a tiny
local HTTP endpoint, as the sandbox's AWS endpoint does on hosts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

import fpgaops.sandbox
from fpgaops.fpga_platform import shell, shells_of
from fpgaops.platforms import F1, F2

SRC = Path(fpgaops.sandbox.__file__).parent / "aws_fpga" / "sdk" / "userspace" / "fpga_mgmt_tools" / "src"
SYSTEM_PYTHON = Path("/usr/bin/python3")
TOOLS = ("fpga-load-local-image", "fpga-clear-local-image", "fpga-describe-local-image",
         "fpga-describe-local-image-slots")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
BUSY_S = 0.4

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="the tools need root, as the real ones"),
    pytest.mark.skipif(not SYSTEM_PYTHON.exists(), reason="the tools run with /usr/bin/python3"),
]

F1_AGFI = "agfi-0fcf87119b8e97bf3"  # AWS's cl_hello_world example, as in AWS's sample output
F2_AGFI = "agfi-0123456789abcdef0"
PENDING_AGFI = "agfi-0aaaaaaaaaaaaaaa1"
FAILED_AGFI = "agfi-0aaaaaaaaaaaaaaa2"
UNKNOWN_AGFI = "agfi-0bbbbbbbbbbbbbbb3"
XDMA_AGFI = "agfi-0ccccccccccccccc4"  # built on the F2 XDMA shell

# Verbatim from AWS (sdk/tests/test_fpga_tools.py, user logs), see shared/research/aws-fpga-tools.md
F1_CLEARED_HEADERS = (
    "Type  FpgaImageSlot  FpgaImageId             StatusName    StatusCode   ErrorName    ErrorCode   ShVersion\n"
    "AFI          0       none                    cleared           1        ok               0       0x04261818\n"
    "Type  FpgaImageSlot  VendorId    DeviceId    DBDF\n"
    "AFIDEVICE    0       0x1d0f      0x1042      0000:00:0f.0\n"
)
F1_SYNC_LOAD = (
    "AFI          0       agfi-0fcf87119b8e97bf3  loaded            0        ok               0       0x04261818\n"
    "AFIDEVICE    0       0x1d0f      0xf000      0000:00:1d.0\n"
)
F2_CLEARED = (
    "AFI          0       No AFI                  cleared           1        ok               0       0x10212415\n"
    "AFIDEVICE    0       0x1d0f      0x9048      0000:00:1e.0\n"
)
BUSY_ERROR = "Error: (3) busy\nThe FPGA is busy with an operation such as a load or a clear.\n"
INVALID_AFI = (
    "Error: (5) invalid-afi-id\n"
    "The agfi id passed is invalid or you do not have permission to load\nthe AFI.\n"
)
NOT_ROOT = "Error: Please prefix the command with 'sudo' or login as root\nError: (-13) Permission denied\n"
EINVAL = "Error: (-22) Invalid argument\n"


def image(agfi: str, state: str, shell_version: str, device_id: str) -> dict:
    """An FPGA image as the sandbox endpoint describes it."""
    return {
        "FpgaImageId": "afi-" + agfi[5:],
        "FpgaImageGlobalId": agfi,
        "State": {"Code": state},
        "ShellVersion": shell_version,
        "PciId": {"DeviceId": device_id, "VendorId": "0x1d0f", "SubsystemId": "0x1d51", "SubsystemVendorId": "0xfedd"},
    }


IMAGES = {
    F1_AGFI: image(F1_AGFI, "available", F1.shell_version, "0xf000"),
    F2_AGFI: image(F2_AGFI, "available", F2.shell_version, "0xf010"),
    PENDING_AGFI: image(PENDING_AGFI, "pending", F1.shell_version, "0xf000"),
    FAILED_AGFI: image(FAILED_AGFI, "failed", F1.shell_version, "0xf000"),
    XDMA_AGFI: image(XDMA_AGFI, "available", shell("xdma_shell").version, "0xf011"),
}


def tool_module():
    """fpga_local_cmd.py imported from the tree (its usage texts and platform table)."""
    spec = importlib.util.spec_from_file_location("fpga_local_cmd", SRC / "fpga_local_cmd.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CMD = tool_module()


def usage(text: tuple[str, ...]) -> str:
    """A usage text as printed."""
    return "".join(line + "\n" for line in text)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def bin_dir() -> Iterator[Path]:
    """The wrappers and fpga-local-cmd as installed, in a directory everyone may read."""
    top = Path(tempfile.mkdtemp(prefix="fpgaops-tools-"))
    try:
        top.chmod(0o755)
        for tool in TOOLS:
            shutil.copy2(SRC / tool, top / tool)
        shutil.copyfile(SRC / "fpga_local_cmd.py", top / "fpga-local-cmd")
        (top / "fpga-local-cmd").chmod(0o755)
        yield top
    finally:
        shutil.rmtree(top)


class EndpointHandler(BaseHTTPRequestHandler):
    """GET /_sandbox/fpga-images/<agfi>?region=us-east-1: the image or 404."""

    def do_GET(self) -> None:
        """Answer one image lookup."""
        url = urlparse(self.path)
        agfi = url.path.removeprefix("/_sandbox/fpga-images/")
        found = IMAGES.get(agfi) if parse_qs(url.query).get("region") == ["us-east-1"] else None
        body = json.dumps(found).encode() if found else b'{"message": "not found"}'
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """No access log on the test output."""


@pytest.fixture(scope="module")
def endpoint_url() -> Iterator[str]:
    """A local stand-in for the sandbox endpoint's FPGA image route."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), EndpointHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@dataclass
class Host:
    """A sandbox host's run directory and a way to run the tools on it."""

    run_dir: Path
    bin_dir: Path

    def run(self, tool: str, *args: str, as_nobody: bool = False) -> subprocess.CompletedProcess:
        """Run a tool wrapper (as root, or as nobody)."""
        env = {"PATH": f"{self.bin_dir}:/usr/bin:/bin", "FPGAOPS_SANDBOX_RUN": str(self.run_dir), "LC_ALL": "C"}
        cmd = [*NOBODY, str(self.bin_dir / tool), *args] if as_nobody else [tool, *args]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30, check=False)

    def start(self, tool: str, *args: str) -> subprocess.Popen:
        """Start a tool without waiting for it."""
        env = {"PATH": f"{self.bin_dir}:/usr/bin:/bin", "FPGAOPS_SANDBOX_RUN": str(self.run_dir)}
        return subprocess.Popen([tool, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


HostFactory = Callable[..., Host]


@pytest.fixture
def make_host(tmp_path: Path, bin_dir: Path, endpoint_url: str) -> HostFactory:
    """Write host.json for a host with ``slots`` FPGAs of ``platform`` (None: no FPGA)."""

    def make(platform: str | None = "f1", slots: int = 1, endpoint: str | None = endpoint_url,
             busy_s: float = BUSY_S) -> Host:
        run_dir = tmp_path / "run"
        run_dir.mkdir(exist_ok=True)
        facts = {"name": "fpga-a", "platform": platform, "fpga_slots": slots, "endpoint_url": endpoint,
                 "shells": [s.version for s in shells_of(platform)] if platform else [],
                 "region": "us-east-1", "instance_id": "i-0123456789abcdef0", "timings": {"fpga_busy_s": busy_s}}
        (run_dir / "host.json").write_text(json.dumps(facts))
        return Host(run_dir, bin_dir)

    return make


def closed_port_url() -> str:
    """An endpoint URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def assert_result(result: subprocess.CompletedProcess, stdout: str, status: int, stderr: str = "") -> None:
    """Exact stdout, stderr and exit status."""
    assert (result.stdout, result.stderr, result.returncode) == (stdout, stderr, status)


# --------------------------------------------------------------------------- describe


def test_describe_cleared_f1_slot_matches_aws_sample(make_host: HostFactory) -> None:
    host = make_host("f1", slots=8)  # f1.16xlarge: slot 0 is 0000:00:0f.0
    assert_result(host.run("fpga-describe-local-image", "-S", "0", "-H"), F1_CLEARED_HEADERS, 0)
    without_headers = "".join(F1_CLEARED_HEADERS.splitlines(keepends=True)[1::2])
    assert_result(host.run("fpga-describe-local-image", "-S", "0"), without_headers, 0)


def test_describe_cleared_f2_slot_matches_aws_sample(make_host: HostFactory) -> None:
    host = make_host("f2", slots=1)
    assert_result(host.run("fpga-describe-local-image", "-S", "0"), F2_CLEARED, 0)


@pytest.mark.parametrize(
    "args",
    [["-HS0"], ["-S0", "-H"], ["-S", "0", "--headers"], ["--fpga-image-slot=0", "-H"],
     ["--fpga-image-slot", "0", "-H"], ["--fpga-image-s=0", "--head"], ["-H", "stray", "-S", "0"]],
)
def test_getopt_long_spellings(make_host: HostFactory, args: list[str]) -> None:
    assert_result(make_host("f1", slots=8).run("fpga-describe-local-image", *args), F1_CLEARED_HEADERS, 0)


def test_state_directory_is_root_only(make_host: HostFactory) -> None:
    host = make_host("f1")
    host.run("fpga-describe-local-image", "-S", "0")
    assert stat.S_IMODE((host.run_dir / "fpga").stat().st_mode) == 0o700


# --------------------------------------------------------------------------- load and clear


def test_sync_load_matches_aws_sample_then_clear(make_host: HostFactory) -> None:
    host = make_host("f1", slots=1)  # f1.2xlarge: slot 0 is 0000:00:1d.0
    assert_result(host.run("fpga-load-local-image", "-S", "0", "-I", F1_AGFI), F1_SYNC_LOAD, 0)
    assert_result(host.run("fpga-describe-local-image", "-S", "0"), F1_SYNC_LOAD, 0)
    cleared = (
        "AFI          0       none                    cleared           1        ok               0       0x04261818\n"
        "AFIDEVICE    0       0x1d0f      0x1042      0000:00:1d.0\n"
    )
    assert_result(host.run("fpga-clear-local-image", "-S", "0"), cleared, 0)
    assert_result(host.run("fpga-clear-local-image", "-S", "0"), cleared, 0)  # clearing a cleared slot


def test_sync_load_with_headers_and_reload_of_the_same_agfi(make_host: HostFactory) -> None:
    host = make_host("f1")
    lines = F1_SYNC_LOAD.splitlines(keepends=True)
    with_headers = CMD.AFI_HEADER + "\n" + lines[0] + CMD.DEVICE_HEADER + "\n" + lines[1]
    assert_result(host.run("fpga-load-local-image", "-H", "-S", "0", "-I", F1_AGFI), with_headers, 0)
    assert_result(host.run("fpga-load-local-image", "-F", "-S", "0", "-I", F1_AGFI), F1_SYNC_LOAD, 0)


def test_f2_load_shows_the_afi_pci_ids(make_host: HostFactory) -> None:
    host = make_host("f2")
    loaded = (
        "AFI          0       agfi-0123456789abcdef0  loaded            0        ok               0       0x10212415\n"
        "AFIDEVICE    0       0x1d0f      0xf010      0000:00:1e.0\n"
    )
    assert_result(host.run("fpga-load-local-image", "-S", "0", "-I", F2_AGFI), loaded, 0)


def test_an_xdma_shell_afi_loads_on_f2_and_shows_its_shell_until_cleared(make_host: HostFactory) -> None:
    host = make_host("f2")
    xdma, small = shell("xdma_shell").version, F2.shell_version
    loaded = (
        f"AFI          0       {XDMA_AGFI}  loaded            0        ok               0       {xdma}\n"
        "AFIDEVICE    0       0x1d0f      0xf011      0000:00:1e.0\n"
    )
    assert_result(host.run("fpga-load-local-image", "-S", "0", "-I", XDMA_AGFI), loaded, 0)
    cleared = host.run("fpga-clear-local-image", "-S", "0")
    assert cleared.returncode == 0 and f"No AFI                  cleared           1        ok               0       " \
        f"{small}" in cleared.stdout


def test_an_xdma_shell_afi_does_not_load_on_f1(make_host: HostFactory) -> None:
    host = make_host("f1")
    result = host.run("fpga-load-local-image", "-S", "0", "-I", XDMA_AGFI)
    assert result.returncode == 5 and result.stdout.startswith("Error: (5) invalid-afi-id")


def describe_when_settled(host: Host, slot: str = "0", timeout_s: float = 10.0) -> subprocess.CompletedProcess:
    """Poll the slot, as users of -A do, until it is no longer busy."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = host.run("fpga-describe-local-image", "-S", slot, "-R")
        if " busy " not in result.stdout or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def test_async_load_is_busy_then_loaded(make_host: HostFactory) -> None:
    host = make_host("f1", busy_s=BUSY_S)
    assert_result(host.run("fpga-load-local-image", "-S", "0", "-I", F1_AGFI, "-A"), "", 0)
    assert_result(describe_when_settled(host), F1_SYNC_LOAD, 0)


def test_while_busy_describe_says_busy_and_load_or_clear_fail(make_host: HostFactory) -> None:
    host = make_host("f1", busy_s=60)  # long enough for any machine load: we never wait it out
    assert_result(host.run("fpga-load-local-image", "-S", "0", "-I", F1_AGFI, "-A"), "", 0)
    busy = (
        "AFI          0       agfi-0fcf87119b8e97bf3  busy              2        ok               0       0x04261818\n"
        "AFIDEVICE    0       0x1d0f      0x1042      0000:00:1d.0\n"
    )
    assert_result(host.run("fpga-describe-local-image", "-S", "0"), busy, 0)
    assert_result(host.run("fpga-load-local-image", "-S", "0", "-I", F1_AGFI), BUSY_ERROR, 3)
    assert_result(host.run("fpga-clear-local-image", "-S", "0", "-A"), BUSY_ERROR, 3)


def test_async_clear_then_clear_again_is_busy(make_host: HostFactory) -> None:
    make_host("f1").run("fpga-load-local-image", "-S", "0", "-I", F1_AGFI)  # a sync load waits busy_s
    host = make_host("f1", busy_s=60)  # same slots, now slow to clear
    assert_result(host.run("fpga-clear-local-image", "-S", "0", "-A"), "", 0)
    assert_result(host.run("fpga-clear-local-image", "-S", "0", "-A"), BUSY_ERROR, 3)
    assert "busy              2" in host.run("fpga-describe-local-image", "-S", "0").stdout


def test_async_clear_ends_cleared(make_host: HostFactory) -> None:
    host = make_host("f1")
    host.run("fpga-load-local-image", "-S", "0", "-I", F1_AGFI)
    assert_result(host.run("fpga-clear-local-image", "-S", "0", "-A"), "", 0)
    assert " cleared " in describe_when_settled(host).stdout


def test_concurrent_loads_on_one_slot_let_one_win(make_host: HostFactory) -> None:
    host = make_host("f1")
    runs = [host.start("fpga-load-local-image", "-S", "0", "-I", F1_AGFI, "-A") for _ in range(4)]
    outputs = [proc.communicate(timeout=30)[0] for proc in runs]
    results = sorted(zip((proc.returncode for proc in runs), outputs, strict=True))
    assert results == [(0, ""), (3, BUSY_ERROR), (3, BUSY_ERROR), (3, BUSY_ERROR)]


def test_prefetch_caches_the_afi_without_loading_it(make_host: HostFactory) -> None:
    host = make_host("f2")
    assert_result(host.run("fpga-load-local-image", "-S", "0", "-I", F2_AGFI, "-P"), "", 0)
    described = host.run("fpga-describe-local-image", "-S", "0", "-M").stdout.splitlines()
    assert described[0] == F2_CLEARED.splitlines()[0]
    assert described[-2:] == ["Cached agfis:", f"   {F2_AGFI}"]


@pytest.mark.parametrize(
    "agfi",
    [PENDING_AGFI, FAILED_AGFI, UNKNOWN_AGFI, F2_AGFI, "afi-0fcf87119b8e97bf3", "agfi-xyz", F1_AGFI.upper()],
    ids=["pending", "failed", "unknown", "other-platform", "regional-afi-id", "malformed", "uppercase"],
)
def test_unloadable_agfi_is_invalid_afi_id(make_host: HostFactory, agfi: str) -> None:
    host = make_host("f1")
    for extra in ([], ["-A"]):
        assert_result(host.run("fpga-load-local-image", "-S", "0", "-I", agfi, *extra), INVALID_AFI, 5)
    assert " cleared " in host.run("fpga-describe-local-image", "-S", "0").stdout


def test_unreachable_endpoint_is_invalid_afi_id(make_host: HostFactory) -> None:
    host = make_host("f1", endpoint=closed_port_url())
    assert_result(host.run("fpga-load-local-image", "-S", "0", "-I", F1_AGFI), INVALID_AFI, 5)


# --------------------------------------------------------------------------- slots


def test_slots_listing_f1_4xlarge(make_host: HostFactory) -> None:
    host = make_host("f1", slots=2)
    slot0 = "AFIDEVICE    0       0x1d0f      0x1042      0000:00:1b.0\n"
    slot1 = "AFIDEVICE    1       0x1d0f      0x1042      0000:00:1d.0\n"
    header = CMD.DEVICE_HEADER + "\n"
    assert_result(host.run("fpga-describe-local-image-slots"), slot0 + slot1, 0)
    assert_result(host.run("fpga-describe-local-image-slots", "-H"), header + slot0 + header + slot1, 0)
    mbox0 = "AFIDEVICE    0       0x1d0f      0x1041      0000:00:1c.0\n"
    mbox1 = "AFIDEVICE    1       0x1d0f      0x1041      0000:00:1e.0\n"
    with_mbox = header + slot0 + mbox0 + header + slot1 + mbox1
    assert_result(host.run("fpga-describe-local-image-slots", "-HM"), with_mbox, 0)


def test_slots_listing_f2_with_headers_shows_loaded_afis(make_host: HostFactory) -> None:
    host = make_host("f2", slots=2)
    host.run("fpga-load-local-image", "-S", "1", "-I", F2_AGFI)
    header = CMD.DEVICE_HEADER + "\n"
    expected = (
        header + "AFIDEVICE    0       0x1d0f      0x9048      0000:00:1c.0\n"
        + header + "AFIDEVICE    1       0x1d0f      0xf010      0000:00:1e.0\n"
    )
    assert_result(host.run("fpga-describe-local-image-slots", "-H"), expected, 0)


def test_slot_beyond_the_host_fpgas(make_host: HostFactory) -> None:
    host = make_host("f1", slots=2)
    enoent = "Error: (-2) No such file or directory\n"
    assert_result(host.run("fpga-describe-local-image", "-S", "2"), enoent, 254)
    assert_result(host.run("fpga-load-local-image", "-S", "7", "-I", F1_AGFI), enoent, 254)
    assert_result(host.run("fpga-clear-local-image", "-S", "3"), enoent, 254)


@pytest.mark.parametrize("platform", [None, "f1"])
def test_host_without_fpga(make_host: HostFactory, platform: str | None) -> None:
    host = make_host(platform, slots=0)
    missing = (
        "Error: (20) pci-device-missing\n"
        "The FPGA PCI device could not be found. Check that the instance type has\n"
        "FPGAs, and use fpga-describe-local-image-slots to list the FPGA slots.\n"
    )
    assert_result(host.run("fpga-describe-local-image", "-S", "0"), missing, 20)
    assert_result(host.run("fpga-load-local-image", "-S", "0", "-I", F1_AGFI), missing, 20)
    assert_result(host.run("fpga-clear-local-image", "-S", "0"), missing, 20)
    assert_result(host.run("fpga-describe-local-image-slots", "-H"), "", 0)


def test_missing_host_json_means_no_fpga(make_host: HostFactory) -> None:
    host = make_host()
    (host.run_dir / "host.json").unlink()
    assert host.run("fpga-describe-local-image", "-S", "0").returncode == 20


# --------------------------------------------------------------------------- metrics


def test_f1_metrics_block(make_host: HostFactory) -> None:
    host = make_host("f1")
    lines = host.run("fpga-describe-local-image", "-S", "0", "-M").stdout.splitlines()
    assert len(lines) == 58
    assert lines[2] == "sdacl-slave-timeout=0"
    clock_c = lines.index("Clock Group C Frequency (Mhz)")
    assert lines[clock_c + 1] == "0  0  "
    assert lines[-1] == "Cached agfis:"
    host.run("fpga-load-local-image", "-S", "0", "-I", F1_AGFI)
    lines = host.run("fpga-describe-local-image", "-S", "0", "-M", "-H").stdout.splitlines()
    assert lines[4] == "Metrics"
    assert lines[-2:] == ["Cached agfis:", f"   {F1_AGFI}"]


def test_f2_metrics_and_clear_cache(make_host: HostFactory) -> None:
    host = make_host("f2")
    host.run("fpga-load-local-image", "-S", "0", "-I", F2_AGFI)
    lines = host.run("fpga-describe-local-image", "-S", "0", "-L").stdout.splitlines()
    assert len(lines) == 43
    assert lines[2] == "virtual-jtag-slave-timeout=0"
    assert lines[-2:] == ["Cached agfis:", f"   {F2_AGFI}"]
    assert host.run("fpga-describe-local-image", "-S", "0", "-M").stdout.splitlines()[-1] == "Cached agfis:"


# --------------------------------------------------------------------------- usage


def test_not_root_is_refused_before_parsing(make_host: HostFactory) -> None:
    host = make_host("f1")
    for args in (["-S", "0"], ["-h"], ["--bogus"]):
        assert_result(host.run("fpga-describe-local-image", *args, as_nobody=True), NOT_ROOT, 243)
    assert_result(host.run("fpga-describe-local-image-slots", as_nobody=True), NOT_ROOT, 243)


@pytest.mark.parametrize(
    ("platform", "version"), [("f1", F1.tools_version), ("f2", F2.tools_version), (None, F2.tools_version)]
)
def test_version(make_host: HostFactory, platform: str | None, version: str) -> None:
    host = make_host(platform)
    expected = f"AFI Management Tools Version: {version}\n(fpgaops sandbox stand-in: no FPGA hardware here)\n"
    assert_result(host.run("fpga-load-local-image", "-V"), expected, 234)
    assert_result(host.run("fpga-describe-local-image-slots", "--version"), expected, 234)


def test_help_prints_the_usage_without_error_line(make_host: HostFactory) -> None:
    host = make_host("f1")
    result = host.run("fpga-describe-local-image-slots", "-h")
    assert_result(result, usage(CMD.SLOTS_USAGE), 234)
    assert result.stdout.startswith("  SYNOPSIS\n      fpga-describe-local-image-slots [GENERAL OPTIONS] [-h]\n")
    assert_result(host.run("fpga-clear-local-image", "--help"), usage(CMD.CLEAR_USAGE), 234)


def test_usage_errors(make_host: HostFactory) -> None:
    host = make_host("f1")
    f1 = CMD.PLATFORMS["f1"]
    describe = usage(CMD.describe_usage(f1)) + EINVAL
    load = usage(CMD.load_usage(f1)) + EINVAL
    assert_result(host.run("fpga-describe-local-image"), describe, 234)
    assert_result(host.run("fpga-describe-local-image", "-S", "8"), "fpga-image-slot must be less than 8\n" + describe,
                  234)
    assert_result(host.run("fpga-load-local-image", "-S", "0"), load, 234)
    assert_result(host.run("fpga-load-local-image", "-I", F1_AGFI), load, 234)
    assert_result(host.run("fpga-describe-local-image", "-S", "0", "-x"), describe, 234,
                  "fpga-local-cmd: invalid option -- 'x'\n")
    assert_result(host.run("fpga-describe-local-image", "-S"), describe, 234,
                  "fpga-local-cmd: option requires an argument -- 'S'\n")
    assert_result(host.run("fpga-describe-local-image", "--bogus=1"), describe, 234,
                  "fpga-local-cmd: unrecognized option '--bogus=1'\n")
    assert_result(host.run("fpga-describe-local-image", "-S0", "--headers=yes"), describe, 234,
                  "fpga-local-cmd: option '--headers' doesn't allow an argument\n")
    assert_result(host.run("fpga-load-local-image", "-S0", "--fpga-image"), load, 234,
                  "fpga-local-cmd: option '--fpga-image' is ambiguous; possibilities:"
                  " '--fpga-image-slot' '--fpga-image-id'\n")
    timeout = "Error: The timeout must be between 10 and 858993459 seconds\n"
    short_timeout = host.run("fpga-load-local-image", "-S0", "-I", F1_AGFI, "--request-timeout", "5")
    assert_result(short_timeout, timeout + load, 234)


def test_platform_specific_options(make_host: HostFactory) -> None:
    f1_host = make_host("f1")
    assert_result(f1_host.run("fpga-load-local-image", "-S0", "-I", F1_AGFI, "-D", "-a", "125"), F1_SYNC_LOAD, 0)
    f1_describe = usage(CMD.describe_usage(CMD.PLATFORMS["f1"])) + EINVAL
    assert_result(f1_host.run("fpga-describe-local-image", "-S0", "-L"), f1_describe, 234,
                  "fpga-local-cmd: invalid option -- 'L'\n")
    f2_host = make_host("f2")
    f2_load = usage(CMD.load_usage(CMD.PLATFORMS["f2"])) + EINVAL
    assert_result(f2_host.run("fpga-load-local-image", "-S0", "-I", F2_AGFI, "-D"), f2_load, 234)
    assert_result(f2_host.run("fpga-load-local-image", "-S0", "-I", F2_AGFI, "-a", "125"), f2_load, 234,
                  "fpga-local-cmd: invalid option -- 'a'\n")


def test_unknown_opcode(bin_dir: Path, make_host: HostFactory) -> None:
    host = make_host("f1")
    assert_result(host.run("fpga-local-cmd", "Frobnicate"), usage(CMD.OPCODE_USAGE) + EINVAL, 234)


def test_platform_facts_match_fpgaops_platforms() -> None:
    for platform in (F1, F2):
        tool = CMD.PLATFORMS[platform.name]
        assert not hasattr(tool, "shell_version")  # shell ids come from host.json (the platform table)
        assert tool.cleared_device_id == int(platform.cleared_device_id, 16)
        assert (tool.empty_slot_label, tool.tools_version) == (platform.empty_slot_label, platform.tools_version)
        assert max(platform.slots_by_instance_type.values()) <= CMD.FPGA_SLOT_MAX
