from pathlib import Path

import pytest

from fpgaops.inventory import Host
from fpgaops.role_vars import RoleVarError, role_vars


def defaults(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "myrole" / "defaults.yml"
    path.parent.mkdir()
    path.write_text(text)
    return path


def test_inventory_overrides_defaults_and_defaults_fill_the_rest(tmp_path: Path) -> None:
    v = role_vars(Host("f1-a", ("f1",), {"port": 8000, "extra": 1}), defaults(tmp_path, "port: 5001\nuser: beat\n"))
    assert (v["port"], v["user"], v["extra"]) == (8000, "beat", 1)
    assert set(v) == {"port", "user", "extra"} and len(v) == 3


def test_a_missing_variable_names_the_role_host_and_variable(tmp_path: Path) -> None:
    v = role_vars(Host("f1-a", (), {}), defaults(tmp_path, "port: 5001\n"))
    with pytest.raises(RoleVarError, match=r"myrole: variable 'prot' is not set for host f1-a"):
        v["prot"]


def test_defaults_that_are_not_a_mapping_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must be a mapping"):
        role_vars(Host("h", (), {}), defaults(tmp_path, "- a\n- b\n"))
