"""What `fab provision` launches, read from inventory variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from fpgaops.aws.provision_settings import provision_config


def test_defaults_are_one_f2_host_one_dev_host_and_the_callers_address(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    key.with_suffix(".pub").write_text("ssh-ed25519 AAAA test\n")
    config = provision_config({"ansible_ssh_private_key_file": str(key)})
    assert config.project == "fpgaops" and config.platform.name == "f2"
    assert [(g.role, g.count, g.instance_type) for g in config.groups] == [("dev", 1, "z1d.2xlarge"),
                                                                          ("f1", 1, "f2.6xlarge")]
    assert config.key_pair.public_key_path == key.with_suffix(".pub")  # the inventory's key, imported
    assert config.ssh_cidrs == () and not config.allow_anywhere  # () = the caller's address, looked up
    assert config.service_ports == (5001,) and config.budget.max_hourly_usd is None and config.idle_alarm is None


def test_every_setting_is_read(tmp_path: Path) -> None:
    config = provision_config({
        "project": "beats", "platform": "F1", "fpga_count": "2", "fpga_market": "spot", "spot_max_price_usd": "0.9",
        "dev_count": 0, "ssh_cidrs": "203.0.113.7/32", "service_port": 8080, "max_hourly_usd": "5",
        "budget_override": True, "fpgaops_known_hosts": str(tmp_path / "kh"), "idle_alarm_minutes": 45,
        "ssh_private_key_path": str(tmp_path / "beats.pem"), "launch_poll_s": 0.5})
    assert config.project == "beats" and config.platform.name == "f1"
    fpga = next(g for g in config.groups if g.role == "f1")
    assert (fpga.count, fpga.instance_type, fpga.market, fpga.spot_max_price_usd) == (2, "f1.2xlarge", "spot", 0.9)
    assert config.ssh_cidrs == ("203.0.113.7/32",) and config.service_ports == (8080,)
    assert (config.budget.max_hourly_usd, config.budget.override) == (5.0, True)
    assert config.known_hosts_path == tmp_path / "kh" and config.idle_alarm.idle_minutes == 45
    assert config.key_pair.private_key_path == tmp_path / "beats.pem" and config.launch.poll_interval_s == 0.5


def test_an_unknown_platform_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown FPGA platform 'f3': expected one of f1, f2"):
        provision_config({"platform": "f3"})
