"""Our inventory resolution against Ansible's own: ``ansible-inventory --list`` as the oracle.

Every case folder of ``tests/unit/inventories/`` (and the sandbox's generated inventory) is read
by both; hosts, groups, children, memberships and each host's final variables must be equal.
Limits are compared with Ansible's ``InventoryManager`` (what ``--limit`` runs), all patterns of a
case in one process. Ansible runs isolated from any user configuration, once per case, all cases
at once. Needs ansible-core in the test environment (``pip install ansible-core==2.18.19``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fpgaops.inventory import ALL, Inventory, InventoryError
from fpgaops.sandbox.config import SandboxConfig
from fpgaops.sandbox.inventory_file import write_inventory
from fpgaops.sandbox.topology import parse_hosts, static_specs


def _find_ansible_inventory() -> str | None:
    beside_python = Path(sys.executable).with_name("ansible-inventory")
    return str(beside_python) if beside_python.exists() else shutil.which("ansible-inventory")


ANSIBLE_INVENTORY = _find_ansible_inventory()
pytestmark = pytest.mark.skipif(
    ANSIBLE_INVENTORY is None,
    reason="ansible-inventory not installed: the oracle comes from `pip install ansible-core==2.18.19`",
)

INVENTORIES = Path(__file__).with_name("inventories")
CASES = sorted(path.name for path in INVENTORIES.iterdir() if (path / "inventory.yml").is_file())
BROKEN_CASES = sorted(path.name for path in (INVENTORIES / "broken").iterdir())
ANSIBLE_ONLY_WARNS = {"unknown_key": "Skipping unexpected key (host) in group (f1)"}
EXTRA_VARS = {"extra_var": "from -e", "h": "extra"}

LIMITS = {
    "nested_groups": [
        *["r1", "rack", "region", "r*", "al*", "~s[12]"],  # a host, groups, globs (al* is alpha and all), a regex
        *["fast,slow", "fast:slow", "region:&fast", "all:!region", "!fast", "&fast", "t1:!alpha", "fast:!s*"],
        *["zone[0]", "zone[1:]", "zone[0:1]", "zone[9]"],  # subscripts, the last out of range
        *["nosuch", "r1:nosuch"],  # names that match nothing
    ],
    "ungrouped_toplevel": [
        *["ungrouped", "all:!ungrouped", "web", "empty_group", "vars_only", "lone-*", "both", "!db"],
        *["jobs", "!jobs", "&jobs", "jo*"],  # `jobs` is a host and a group
    ],
}

LIMITS_SCRIPT = """
import json, sys
from ansible.errors import AnsibleError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader

inventory = InventoryManager(loader=DataLoader(), sources=[sys.argv[1]])
selected = {}
for limit in json.loads(sys.argv[2]):
    inventory.subset(limit)
    try:
        selected[limit] = sorted(host.name for host in inventory.get_hosts("all"))
    except AnsibleError:
        selected[limit] = None
print(json.dumps(selected))
"""


def _ansible_env(home: Path) -> dict[str, str]:
    """Ansible reading nothing of the user's: an empty config, home and temp under ``home``."""
    config = home / "ansible.cfg"
    config.write_text("")
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    return env | {
        "ANSIBLE_CONFIG": str(config),
        "ANSIBLE_HOME": str(home / "home"),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_INVENTORY_ENABLED": "yaml",
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
        "ANSIBLE_HOST_PATTERN_MISMATCH": "error",
        "ANSIBLE_NOCOLOR": "1",
    }


def _ansible_python() -> str:
    """The interpreter ansible-inventory runs on (its shebang), to import ansible's library."""
    assert ANSIBLE_INVENTORY is not None
    with open(ANSIBLE_INVENTORY) as script:
        return script.readline().removeprefix("#!").strip()


@pytest.fixture(scope="module")
def sandbox_inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The inventory `fab sandbox.up` writes, for a dev host, two FPGA hosts and errgen."""
    root = tmp_path_factory.mktemp("sandbox")
    cfg = SandboxConfig(state_dir=root / ".sandbox", inventory_path=root / "inventory" / "sandbox.yml")
    specs = static_specs(cfg, parse_hosts("dev,f1-a:f1,f1-b:f1,errgen", "f2"), "ssh-ed25519 AAAAC3Nza test")
    write_inventory(cfg, specs, sdk_archive=root / "aws-fpga.tar.gz")
    return cfg.inventory_path


@pytest.fixture(scope="module")
def inventory_paths(sandbox_inventory: Path) -> dict[str, Path]:
    return {case: INVENTORIES / case / "inventory.yml" for case in CASES} | {"sandbox": sandbox_inventory}


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory, inventory_paths: dict[str, Path]) -> dict[str, Any]:
    """Ansible's answers for every case, its processes run side by side: {name: (rc, out, err)}."""
    home = tmp_path_factory.mktemp("ansible")
    env, cwd = _ansible_env(home), tmp_path_factory.mktemp("cwd")
    commands = {
        f"list:{case}": [ANSIBLE_INVENTORY, "-i", str(path), "--list", "-e", json.dumps(EXTRA_VARS)]
        for case, path in inventory_paths.items()
    }
    commands |= {
        f"limits:{case}": [_ansible_python(), "-c", LIMITS_SCRIPT, str(inventory_paths[case]), json.dumps(limits)]
        for case, limits in LIMITS.items()
    }
    commands |= {
        f"broken:{case}": [ANSIBLE_INVENTORY, "-i", str(INVENTORIES / "broken" / case / "inventory.yml"), "--list"]
        for case in BROKEN_CASES
    }
    processes = {
        name: subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, command in commands.items()
    }
    return {name: (process.wait(timeout=60), *process.communicate()) for name, process in processes.items()}


def _listing(oracle: dict[str, Any], case: str) -> dict[str, Any]:
    returncode, out, err = oracle[f"list:{case}"]
    assert returncode == 0, err
    return json.loads(out)


def _oracle_groups(listing: dict[str, Any]) -> set[str]:
    """Every group: ``--list`` leaves out empty groups but names them as children."""
    named = {key for key in listing if key != "_meta"}
    return named | {child for body in listing.values() for child in body.get("children", [])}


def _oracle_hosts(listing: dict[str, Any]) -> set[str]:
    return {host for key, body in listing.items() if key != "_meta" for host in body.get("hosts", [])}


def _oracle_memberships(listing: dict[str, Any], host: str) -> set[str]:
    """The groups ``host`` belongs to, directly or through children, except ``all``."""

    def contains(group: str) -> bool:
        body = listing.get(group, {})
        return host in body.get("hosts", []) or any(contains(child) for child in body.get("children", []))

    return {group for group in _oracle_groups(listing) if group != ALL and contains(group)}


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


CASES_AND_SANDBOX = [*CASES, "sandbox"]


@pytest.mark.parametrize("case", CASES_AND_SANDBOX)
def test_hosts_groups_and_children_match(case: str, oracle: dict, inventory_paths: dict[str, Path]) -> None:
    listing = _listing(oracle, case)
    inventory = Inventory.load(inventory_paths[case], extra_vars=EXTRA_VARS)

    assert set(inventory.hosts) == _oracle_hosts(listing)
    assert set(inventory.groups) == _oracle_groups(listing)
    for name, group in inventory.groups.items():
        body = listing.get(name, {})
        assert list(group.children) == body.get("children", []), f"children of {name}"
        if name != ALL:  # --list shows no hosts for `all`
            assert list(group.hosts) == body.get("hosts", []), f"hosts of {name}"


@pytest.mark.parametrize("case", CASES_AND_SANDBOX)
def test_host_memberships_and_variables_match(case: str, oracle: dict, inventory_paths: dict[str, Path]) -> None:
    listing = _listing(oracle, case)
    inventory = Inventory.load(inventory_paths[case], extra_vars=EXTRA_VARS)

    for name, host in inventory.hosts.items():
        assert set(host.groups) == _oracle_memberships(listing, name), f"groups of {name}"
        assert _as_json(host.vars) == listing["_meta"]["hostvars"][name], f"vars of {name}"


@pytest.mark.parametrize(("case", "limit"), [(case, limit) for case, limits in LIMITS.items() for limit in limits])
def test_limit_selects_what_ansible_selects(case: str, limit: str, oracle: dict) -> None:
    returncode, out, err = oracle[f"limits:{case}"]
    assert returncode == 0, err
    expected = json.loads(out)[limit]
    inventory = Inventory.load(INVENTORIES / case / "inventory.yml")

    if expected is None:
        with pytest.raises(InventoryError, match="limit pattern"):
            inventory.select(limit)
    else:
        assert sorted(host.name for host in inventory.select(limit)) == expected


@pytest.mark.parametrize("case", BROKEN_CASES)
def test_broken_inventory_is_rejected_by_both(case: str, oracle: dict) -> None:
    returncode, _, err = oracle[f"broken:{case}"]

    with pytest.raises(InventoryError):
        Inventory.load(INVENTORIES / "broken" / case / "inventory.yml")
    if case in ANSIBLE_ONLY_WARNS:
        assert returncode == 0 and ANSIBLE_ONLY_WARNS[case] in err
    else:
        assert returncode != 0, f"ansible-inventory accepted {case}"
