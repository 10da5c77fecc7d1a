"""The FPGA card stand-in end to end: an AFI built with its model package, loaded with the fpga-* tools,
driven over SSH by an unprivileged user through /sys/bus/pci/devices/<DBDF>/resource0. The design takes
the window of the package it was built from: the CI model's, or another one (16 frames x 3 features)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import boto3
import numpy as np
import pytest

from fpgaops.aws.afi import PACKAGE_TAG, AfiConfig, ensure_afi
from fpgaops.fpga_platform import DEFAULT_REF
from fpgaops.platforms import F2
from fpgaops.sandbox.hosts import SandboxHosts
from rhythm_service import register_map as rm
from rhythm_service.backends.csim import CsimBackend
from rhythm_service.model_package import ModelPackage
from tests.conftest import running_sandbox
from tests.model_package import model_package_tarball
from tests.ssh_helpers import connect
from tests.unit.aws.dcp_fixtures import dcp_tarball
from tests.window_package import window_package_folder, window_package_tarball

HOSTS = ("card-a", "card-b")
DBDF = "0000:00:1e.0"  # f2.6xlarge slot 0, as fpga-describe-local-image prints it

# Runs on the host with the system python3 as the login user (no sudo): the register protocol on the
# mmap of resource0, as the service's fpga backend does it. argv: DBDF, JSON list of windows (raw words).
# The inputs read back are INPUT[0..INPUT_COUNT-1], the count the design reports.
CLIENT = r'''
import json, mmap, os, struct, sys, time
dbdf, windows = sys.argv[1], json.loads(sys.argv[2])
base = "/sys/bus/pci/devices/" + dbdf
fd = os.open(base + "/resource0", os.O_RDWR | os.O_SYNC)
bar = mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
peek = lambda off: struct.unpack_from("<I", bar, off)[0]
def poke(off, value): struct.pack_into("<I", bar, off, value)
out = {"vendor": open(base + "/vendor").read().strip(), "device": open(base + "/device").read().strip(),
       "ids": [peek(off) for off in (0x000, 0x004, 0x014, 0x018)]}
poke(0x020, 0x5A5AA5A5)
time.sleep(0.1)  # the card undoes writes a block does not store within MAINTAIN_S
out["scratch"] = peek(0x020)
results, inputs_back = [], []
for window in windows:
    for k, word in enumerate(window):
        poke(0x100 + 4 * k, word)
    poke(0x008, 1)
    deadline = time.monotonic() + 5
    while not (peek(0x008) == 0 and peek(0x00C) & 1):
        if time.monotonic() > deadline:
            raise SystemExit("timeout: STATUS %#x CONTROL %#x" % (peek(0x00C), peek(0x008)))
    results.append([peek(0x010), peek(0x00C), peek(0x01C)])
    inputs_back.append([peek(0x100 + 4 * k) for k in range(out["ids"][3])])
out["results"], out["inputs_back"] = results, inputs_back
print(json.dumps(out))
'''


def aws(cfg, service):
    return boto3.client(service, endpoint_url=cfg.endpoint_url, region_name=cfg.region,
                        aws_access_key_id="sandbox", aws_secret_access_key="sandbox")


@pytest.fixture(scope="module")
def card_sandbox(new_config, model_package):
    yield from running_sandbox(new_config("card"), ",".join(f"{h}:f2" for h in HOSTS), cloud=True)


@pytest.fixture(scope="module")
def afis(card_sandbox, tmp_path_factory) -> dict[str, str]:
    """agfi ids: ``model`` (tagged with the CI model package), ``wide`` (a package with a window of 16 frames)
    and ``bare`` (no package tag)."""
    path = tmp_path_factory.mktemp("dcp") / "24_05_01-120000.Developer_CL.tar"
    path.write_bytes(dcp_tarball(F2))
    ec2, s3 = aws(card_sandbox, "ec2"), aws(card_sandbox, "s3")
    config = AfiConfig("card", f"fpgaops-card-{card_sandbox.region}", poll_interval_s=0.1, timeout_s=30)
    model = ensure_afi(ec2, s3, path, "a" * 64, config, package_tarball=model_package_tarball())
    wide = ensure_afi(ec2, s3, path, "c" * 64, config, package_tarball=window_package_tarball(16))
    bare = ensure_afi(ec2, s3, path, "b" * 64, config)
    assert model.afi.tags[PACKAGE_TAG].startswith(f"s3://{config.bucket}/model-packages/card/")
    assert PACKAGE_TAG not in bare.afi.tags
    return {"model": model.afi.agfi_id, "wide": wide.afi.agfi_id, "bare": bare.afi.agfi_id}


def login(cfg, host):
    spec = SandboxHosts(cfg).spec(host)
    return connect(cfg, spec.address, spec.login_user)


@pytest.fixture(scope="module")
def sdk_hosts(card_sandbox):
    """The SDK installed on every host as the roles do, with non-root access for the login user."""
    for host in HOSTS:
        with login(card_sandbox, host) as conn:
            conn.put(str(card_sandbox.artifacts_dir / f"aws-fpga-{DEFAULT_REF}.tar.gz"), "aws-fpga.tar.gz")
            conn.run("tar xzf aws-fpga.tar.gz && AWS_FPGA_ALLOW_NON_ROOT=y source aws-fpga/sdk_setup.sh >/dev/null")
    return card_sandbox


def run_client(cfg, host, windows, user_prefix=""):
    with login(cfg, host) as conn:  # a new session: the group membership added by sdk_setup.sh counts
        conn.put(_client_file(), "/tmp/card_client.py")
        command = f"{user_prefix}/usr/bin/python3 /tmp/card_client.py {DBDF} {shlex.quote(json.dumps(windows))}"
        result = conn.run(command, warn=True)
    return result


def _client_file() -> str:
    path = Path("/tmp/fpgaops-card-client.py")
    path.write_text(CLIENT)
    return str(path)


def test_a_loaded_afi_answers_as_its_model_to_an_unprivileged_user(sdk_hosts, afis, model_package):
    package = ModelPackage.load(model_package)
    rng = np.random.default_rng(7)
    shape = package.window.dims
    windows = np.concatenate([rng.normal(0, 1.5, (6, *shape)), np.full((1, *shape), 40.0), np.zeros((1, *shape))])
    words = [[w for _, w in rm.input_writes(window, package.input_format, package.window.inputs)] for window in windows]
    with login(sdk_hosts, HOSTS[0]) as conn:
        loaded = conn.run(f"sudo fpga-load-local-image -S 0 -I {afis['model']}", warn=True)
        assert loaded.exited == 0, loaded.stdout
        assert loaded.stdout.splitlines()[1].split()[2:] == ["0x1d0f", "0xf000", DBDF]
        listing = conn.run(f"ls -l /sys/bus/pci/devices/{DBDF}/resource0").stdout.split()
        assert (listing[0], listing[2], listing[3]) == ("-rw-rw----", "root", "fpgauser")

    result = run_client(sdk_hosts, HOSTS[0], words)

    assert result.exited == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["vendor"], answer["device"]) == ("0x1d0f", "0xf000")
    ids = [rm.DESIGN_ID, rm.model_id(package.weights_sha256), package.format_word, package.window.inputs]
    assert answer["ids"] == ids
    assert answer["scratch"] == 0x5A5AA5A5
    expected = CsimBackend(package).predict(windows)
    outputs = [rm.decode_output(word, package.output_format) for word, _, _ in answer["results"]]
    assert outputs == list(expected)
    assert all(status == rm.STATUS_DONE | rm.STATUS_IDLE and cycles > 0 for _, status, cycles in answer["results"])
    assert answer["inputs_back"][-2][0] == rm.to_fixed(40.0, package.input_format) & 0xFFFFFFFF
    negative = next(w for w in words[0] if w >> 15)
    assert negative | 0xFFFF0000 in answer["inputs_back"][0]  # inputs read back sign-extended


def test_a_design_takes_the_window_of_the_package_it_was_built_from(sdk_hosts, afis):
    package = ModelPackage.load(window_package_folder(16))
    windows = np.random.default_rng(16).normal(0, 1.5, (5, 16, 3))
    words = [[w for _, w in rm.input_writes(window, package.input_format, 48)] for window in windows]
    with login(sdk_hosts, HOSTS[0]) as conn:
        assert conn.run(f"sudo fpga-load-local-image -S 0 -I {afis['wide']}", warn=True).exited == 0

    result = run_client(sdk_hosts, HOSTS[0], words)

    assert result.exited == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["ids"] == [rm.DESIGN_ID, package.model_id, package.format_word, 48]
    outputs = [rm.decode_output(word, package.output_format) for word, _, _ in answer["results"]]
    assert outputs == list(CsimBackend(package).predict(windows))
    assert [back[47] & 0xFFFF for back in answer["inputs_back"]] == [w[47] for w in words]  # INPUT[47] decoded


def test_someone_outside_the_group_cannot_open_the_bar(sdk_hosts, afis):
    result = run_client(sdk_hosts, HOSTS[0], [], user_prefix="sudo -n setpriv --reuid=nobody --regid=nogroup "
                                                               "--clear-groups ")

    assert result.exited != 0 and "PermissionError" in result.stderr


def test_an_afi_without_its_model_package_reads_all_ones(sdk_hosts, afis):
    with login(sdk_hosts, HOSTS[1]) as conn:
        assert conn.run(f"sudo fpga-load-local-image -S 0 -I {afis['bare']}", warn=True).exited == 0

    result = run_client(sdk_hosts, HOSTS[1], [])

    answer = json.loads(result.stdout)
    assert answer["ids"] == [0xFFFFFFFF] * 4 and answer["scratch"] == 0xFFFFFFFF


def test_clear_removes_the_device_and_a_stop_clears_the_slot(sdk_hosts, afis):
    hosts = SandboxHosts(sdk_hosts)
    with login(sdk_hosts, HOSTS[1]) as conn:
        conn.run("sudo fpga-clear-local-image -S 0")
        assert conn.run(f"test -e /sys/bus/pci/devices/{DBDF}", warn=True).exited == 1
        assert conn.run(f"sudo fpga-load-local-image -S 0 -I {afis['model']}", warn=True).exited == 0
        assert conn.run(f"test -e /sys/bus/pci/devices/{DBDF}/resource0", warn=True).exited == 0

    hosts.stop([HOSTS[1]])
    hosts.start([hosts.spec(HOSTS[1])], fresh=False)

    with login(sdk_hosts, HOSTS[1]) as conn:
        assert conn.run("ls /sys/bus/pci/devices").stdout.strip() == ""
        described = conn.run("sudo fpga-describe-local-image -S 0").stdout.split()
        assert described[2:4] == ["No", "AFI"]
