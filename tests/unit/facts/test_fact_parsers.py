"""Fact parsers on recorded outputs: debian12/ was recorded on a Debian 12 machine by running each
fact's command as the batched reading does (stderr dropped); the other systems' files are samples
of the exact formats (os-release, dpkg-query -W, rpm -qa --qf, crontab -l, systemctl, getent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fpgaops.core import FACT_MARK, FactError, parse_batch
from fpgaops.facts import (
    Account,
    AptListsAge,
    CommandStatus,
    Crontab,
    DpkgPackages,
    GroupId,
    HttpStatus,
    JobState,
    JobStatus,
    PackageManager,
    PathStat,
    PathState,
    PortOpen,
    RpmPackages,
    ServiceState,
    ServiceStatus,
    UserAccount,
    UvHost,
    UvTool,
)
from fpgaops.facts.packages import parse_os_release

OUTPUTS = Path(__file__).parent / "outputs"


def recorded(name: str) -> str:
    return (OUTPUTS / name).read_text()


@pytest.mark.parametrize(("system", "binaries", "manager", "os_id", "version"), [
    ("debian12", ["apt-get"], "apt", "debian", "12"),
    ("ubuntu2204", ["apt-get"], "apt", "ubuntu", "22.04"),
    ("ubuntu2404", ["apt-get"], "apt", "ubuntu", "24.04"),
    ("amzn2", ["yum"], "yum", "amzn", "2"),
    ("amzn2023", ["dnf", "yum"], "dnf", "amzn", "2023"),
    ("rhel8", ["dnf", "yum"], "dnf", "rhel", "8.9"),
    ("rhel9", ["dnf", "yum"], "dnf", "rhel", "9.4"),
    ("centos7", ["yum"], "yum", "centos", "7"),
])
def test_package_manager_from_os_release_and_binaries(system, binaries, manager, os_id, version):
    release = recorded(f"{system}/os-release.txt")
    output = release + "".join(f"#binary {binary}\n" for binary in binaries)
    assert PackageManager().process(output, 0) == manager
    assert parse_os_release(release)["ID"] == os_id
    assert parse_os_release(release)["VERSION_ID"] == version


def test_package_manager_output_format_is_the_recorded_one():
    assert recorded("debian12/package_manager.txt") == recorded("debian12/os-release.txt") + "#binary apt-get\n"


def test_package_manager_without_any_known_tool_is_none():
    assert PackageManager().process(recorded("rhel9/os-release.txt"), 0) is None


def test_a_debian_host_with_rpm_and_yum_installed_still_uses_apt():
    assert PackageManager().process(recorded("debian12/os-release.txt") + "#binary yum\n#binary apt-get\n", 0) == "apt"


def test_dpkg_packages_recorded_on_debian():
    installed = DpkgPackages().process(recorded("debian12/dpkg_packages.txt"), 0)
    assert installed["openssh-server"] == "1:9.2p1-2+deb12u10"
    assert installed["python3-venv"] == "3.11.2-1+b1"
    assert len(installed) == len(recorded("debian12/dpkg_packages.txt").splitlines())


def test_dpkg_packages_only_counts_installed_ones():
    installed = DpkgPackages().process(recorded("ubuntu2204/dpkg_packages.txt"), 0)
    assert installed["python3-venv"] == "3.10.6-1~22.04.1"
    assert "linux-image-5.15.0-1063-aws" not in installed  # removed, config files left
    assert "libfoo-doc" not in installed  # known, never installed
    assert DpkgPackages().process(recorded("ubuntu2404/dpkg_packages.txt"), 0)["python3.12-venv"] == "3.12.3-1ubuntu0.1"


def test_no_dpkg_is_no_packages():
    assert DpkgPackages().process("", 0) == {}


@pytest.mark.parametrize(("system", "package", "version"), [
    ("rhel9", "openssh-server", "8.7p1-38.el9"),
    ("rhel9", "kernel", "5.14.0-427.13.1.el9_4"),
    ("rhel8", "python36", "3.6.8-39.module+el8.9.0+19977+e1c3d8a6"),
    ("amzn2", "python3", "3.7.16-1.amzn2.0.4"),
])
def test_rpm_packages(system, package, version):
    assert RpmPackages().process(recorded(f"{system}/rpm_packages.txt"), 0)[package] == version


def test_apt_lists_age():
    assert AptListsAge().process("5400\n", 0) == 5400
    assert AptListsAge().process("", 1) is None


@pytest.mark.parametrize(("name", "value"), [
    ("path_state-file", PathStat(kind="file", mode=0o644, uid=0, gid=0, user="root", group="root",
                                 sha256="287be5a63f182f1ed8af4c972537429999bbf6a193646dc85b4da233157b90e5")),
    ("path_state-directory", PathStat(kind="directory", mode=0o755, uid=0, gid=0, user="root", group="root")),
    ("path_state-link", PathStat(kind="link", link_target="../usr/lib/os-release")),
    ("path_state-absent", None),
])
def test_path_state_recorded_on_debian(name, value):
    assert PathState("/x").process(recorded(f"debian12/{name}.txt"), 0) == value


def test_path_state_modes_are_octal_and_owners_match_by_name_or_id():
    stat = PathState("/x").process("file 4750 0 998 root rhythm\n" + "0" * 64 + "  -\n", 0)
    assert stat.mode == 0o4750
    assert stat.owned_by("root", "rhythm") and stat.owned_by("0", "998") and not stat.owned_by("rhythm", "rhythm")


@pytest.mark.parametrize(("name", "text"), [
    ("debian12/crontab-no-crontab.txt", ""),
    ("debian12/crontab-unknown-user.txt", ""),
    ("rhel9/crontab-no-crontab.txt", ""),
    ("rhel9/crontab-unknown-user.txt", ""),
])
def test_a_missing_crontab_or_user_is_an_empty_crontab(name, text):
    assert Crontab("centos").process(recorded(name), 1) == text


def test_any_other_crontab_failure_is_an_error_not_an_empty_crontab():
    with pytest.raises(FactError, match="must be privileged"):
        Crontab("centos").process(recorded("rhel9/crontab-not-root.txt"), 1)


def test_a_crontab_is_its_exact_text():
    assert Crontab("centos").process("MAILTO=\"\"\n0 1 * * * x\n", 0) == "MAILTO=\"\"\n0 1 * * * x\n"


@pytest.mark.parametrize(("name", "status", "running", "enabled"), [
    ("debian12/service_state-systemd-not-pid1.txt", ServiceStatus("unknown", "enabled"), False, True),
    ("debian12/service_state-unknown-unit-systemd-not-pid1.txt", ServiceStatus("unknown", ""), False, False),
    ("debian12/service_state-replacement-enabled-inactive.txt", ServiceStatus("inactive", "enabled"), False, True),
    ("debian12/service_state-replacement-static.txt", ServiceStatus("inactive", "static"), False, True),
    ("debian12/service_state-replacement-unknown-unit.txt", ServiceStatus("inactive", ""), False, False),
    ("ubuntu2204/service_state-active.txt", ServiceStatus("active", "enabled"), True, True),
    ("rhel9/service_state-failed.txt", ServiceStatus("failed", "disabled"), False, False),
])
def test_service_state(name, status, running, enabled):
    value = ServiceState("x.service").process(recorded(name), 0)
    assert (value, value.running, value.is_enabled) == (status, running, enabled)


def test_user_account_and_group_id():
    assert UserAccount("nobody").process(recorded("debian12/user_account-nobody.txt"), 0) == \
        Account("nobody", 65534, 65534, "/nonexistent", "/usr/sbin/nologin")
    assert UserAccount("rhythm").process(recorded("rhel9/user_account-rhythm.txt"), 0) == \
        Account("rhythm", 993, 990, "/var/lib/rhythm", "/sbin/nologin")
    assert UserAccount("nosuchuser").process(recorded("debian12/user_account-absent.txt"), 2) is None
    assert GroupId("root").process(recorded("debian12/group_id-root.txt"), 0) == 0
    assert GroupId("nosuch").process("", 2) is None


def test_job_status_states():
    job = JobStatus("build")
    assert job.process("state=not-started\n", 0) == JobState(state="not-started")
    running = "command_sha256=abc\npid=4242\nalive=yes\n--- log\nPhase 2\n"
    assert job.process(running, 0) == JobState("running", None, 4242, "abc", "Phase 2\n")
    finished = "command_sha256=abc\nexit_code=2\npid=4242\n--- log\nERROR\n"
    assert job.process(finished, 0) == JobState("finished", 2, 4242, "abc", "ERROR\n")
    assert job.process("command_sha256=abc\npid=4242\n--- log\n", 0).state == "lost"
    assert job.process("command_sha256=\npid=\n--- log\n", 0) == JobState("lost")


def test_guard_and_probe_facts_report_status():
    assert CommandStatus("true").process("", 0) == 0
    assert CommandStatus("grep -q x /y").process("", 2) == 2
    assert CommandStatus("x").needs_root and not CommandStatus("x", sudo=False).needs_root
    assert PortOpen("127.0.0.1", 22).process("", 0) is True
    assert PortOpen("127.0.0.1", 22).process("", 124) is False
    assert HttpStatus("http://x/").process("503\n", 1) == 503
    assert HttpStatus("http://x/").process("no answer (<urlopen error [Errno 111] Connection refused>)\n", 1) is None


def test_paths_read_together_with_an_output_that_does_not_fit_are_a_clear_error():
    facts = [PathState("/etc/a"), PathState("/etc/b")]
    stat = "\x00".join(["/etc/a", "regular file", "644", "0", "0", "root", "root", "", ""])  # no sha256 after it
    with pytest.raises(FactError, match=r"2 PathState facts read together.*no sha256 for '/etc/a'"):
        parse_batch(facts, f"{stat}\n{FACT_MARK} n 0 0\n", "n")


@pytest.mark.parametrize(("output", "expected"), [
    ("x86_64\nglibc 2.36\ninstalled\n", UvHost("x86_64", (2, 36), "0.13.8")),
    ("x86_64\nglibc 2.17\n", UvHost("x86_64", (2, 17), None)),  # CentOS 7: no uv pushed yet
    ("aarch64\nglibc 2.34\n", UvHost("aarch64", (2, 34), None)),
    ("x86_64\n\n", UvHost("x86_64", None, None)),  # musl (Alpine): getconf knows no GNU_LIBC_VERSION
])
def test_uv_tool_parses_machine_libc_and_whether_uv_is_installed(output, expected):
    assert UvTool("/var/lib/fpgaops/uv/uv-0.13.8/uv", "0.13.8").process(output, 0) == expected
