"""The inventory: parsing, Ansible's variable precedence, limits and clear errors.

The fixture inventories live in ``tests/unit/inventories/<case>/``; the same cases are compared
with ``ansible-inventory`` in ``test_inventory_oracle.py``. Here the expected results are written
out, so each rule reads as a sentence.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fpgaops.inventory import (
    Host,
    Inventory,
    InventoryError,
    expand_host_range,
    parse_address,
    split_limit,
)
from fpgaops.sandbox.config import SandboxConfig
from fpgaops.sandbox.inventory_file import write_inventory
from fpgaops.sandbox.topology import parse_hosts, static_specs

INVENTORIES = Path(__file__).with_name("inventories")


def load(case: str, **kwargs: object) -> Inventory:
    return Inventory.load(INVENTORIES / case / "inventory.yml", **kwargs)  # type: ignore[arg-type]


def names(hosts: list[Host]) -> list[str]:
    return [host.name for host in hosts]


# --- the sandbox's inventory -------------------------------------------------------------------


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[SandboxConfig, Inventory]:
    cfg = SandboxConfig(state_dir=tmp_path / ".sandbox", inventory_path=tmp_path / "inventory" / "sandbox.yml")
    specs = static_specs(cfg, parse_hosts("dev,f1-a:f1,f1-b:f1,errgen", "f2"), "ssh-ed25519 AAAAC3Nza test")
    write_inventory(cfg, specs, sdk_archive=None)
    return cfg, Inventory.load(cfg.inventory_path)


def test_sandbox_inventory_has_its_hosts_in_role_groups(sandbox: tuple[SandboxConfig, Inventory]) -> None:
    _, inventory = sandbox

    assert list(inventory.hosts) == ["dev", "f1-a", "f1-b", "errgen"]
    assert inventory.groups["all"].children == ("ungrouped", "dev", "f1", "errgen")
    assert names(inventory.group_hosts("f1")) == ["f1-a", "f1-b"]
    assert inventory.host("f1-a").groups == ("f1",)
    assert inventory.warnings == []


def test_sandbox_hosts_carry_connection_and_platform_variables(sandbox: tuple[SandboxConfig, Inventory]) -> None:
    cfg, inventory = sandbox
    f1_a, dev = inventory.host("f1-a"), inventory.host("dev")

    assert (f1_a.address, f1_a.user, f1_a.port) == (f"{cfg.subnet_prefix}.12", "centos", None)
    assert (dev.address, dev.user) == (f"{cfg.subnet_prefix}.11", "ubuntu")
    assert f1_a.vars["fpga_platform"] == "f1" and f1_a.vars["fpga_slots"] == 1
    assert "fpga_platform" not in dev.vars
    assert f1_a.vars["ansible_ssh_private_key_file"] == str(cfg.client_key)
    assert f1_a.vars["ansible_ssh_common_args"].startswith(f"-o UserKnownHostsFile={cfg.known_hosts}")
    assert f1_a.vars["fpgaops_sandbox"] is True


def test_sandbox_limits_pick_role_groups_and_globs(sandbox: tuple[SandboxConfig, Inventory]) -> None:
    _, inventory = sandbox

    assert names(inventory.select("f1")) == ["f1-a", "f1-b"]
    assert names(inventory.select("f1-*:!f1-b")) == ["f1-a"]
    assert names(inventory.select("errgen,dev")) == ["dev", "errgen"]
    assert names(inventory.select(None)) == names(inventory.select("all")) == list(inventory.hosts)


# --- precedence ----------------------------------------------------------------------------------


def test_deeper_group_beats_shallower_one() -> None:
    inventory = load("nested_groups")

    assert inventory.host("r2").vars["level"] == "rack"
    assert [inventory.groups[g].depth for g in ("region", "zone", "rack")] == [1, 2, 3]


def test_group_under_two_parents_takes_the_deeper_depth() -> None:
    shared = load("nested_groups").groups["shared"]

    assert shared.parents == ("zone", "all") and shared.depth == 3


def test_same_depth_orders_by_priority_then_by_name() -> None:
    inventory = load("nested_groups")

    assert inventory.host("s1").vars["color"] == "fast"  # fast has ansible_group_priority 10, slow 1
    assert inventory.host("t1").vars["tie"] == "beta"  # alpha < beta
    assert inventory.host("r1").vars["color"] == "shared"  # rack < shared, both at depth 3
    assert inventory.host("r1").groups == ("region", "zone", "rack", "shared")


def test_priority_is_not_a_variable_and_orders_groups() -> None:
    inventory = load("nested_groups")

    assert inventory.groups["fast"].priority == 10
    assert "ansible_group_priority" not in inventory.host("s1").vars
    assert inventory.host("s1").groups == ("slow", "fast")


def test_host_vars_beat_groups_and_a_later_definition_wins() -> None:
    inventory = load("nested_groups")

    assert inventory.host("r1").vars["level"] == "host-r1"
    assert inventory.host("r2").vars["hostvar"] == "fast"  # `fast:` comes after `region:` in the file


def test_values_keep_their_yaml_types_and_templates_stay_unrendered() -> None:
    host_vars = load("nested_groups").host("s1").vars

    assert host_vars["fqdn"] == "{{ inventory_hostname }}.example.com"
    assert host_vars["numbers"] == [1, 2, 3] and host_vars["enabled"] is True and host_vars["ratio"] == 0.5
    assert "nothing" in host_vars and host_vars["nothing"] is None
    assert host_vars["settings"] == {"b": 3}  # replaced, not merged with all's {a: 1, b: {c: 2}}
    assert (host_vars["ansible_host"], host_vars["ansible_port"]) == ("10.0.0.9", 2200)


def test_hosts_get_their_own_copies_of_values() -> None:
    inventory = load("nested_groups")
    inventory.host("r1").vars["numbers"].append(4)

    assert inventory.host("r2").vars["numbers"] == [1, 2, 3]


def test_group_vars_files_beat_every_inline_group_var() -> None:
    inventory = load("vars_dirs")
    eu_2 = inventory.host("app-eu-2").vars

    assert eu_2["layer"] == "all_file"  # group_vars/all.yml beats app_eu's inline vars
    assert eu_2["tier"] == "app_file"  # group_vars/app/ beats app_eu's inline vars
    assert eu_2["who"] == "app_eu_dir"  # but deeper group files beat shallower ones


def test_host_vars_files_beat_inline_host_vars_and_extra_vars_beat_all() -> None:
    plain, with_extra = load("vars_dirs"), load("vars_dirs", extra_vars={"h": "extra"})

    assert plain.host("app-eu-1").vars["who"] == "host_file_b"  # b.yml after a.yml
    assert plain.host("app-eu-1").vars["h"] == "file"
    assert with_extra.host("app-eu-1").vars["h"] == "extra"


def test_vars_directories_are_read_as_ansible_reads_them() -> None:
    inventory = load("vars_dirs")
    app = inventory.groups["app"].file_vars

    assert app["items"] == ["b"] and app["nested"] is True and app["noext"] == 1
    assert "hidden" not in app and app["who"] == "app_nested"  # hidden, ~ and .txt files skipped
    assert inventory.groups["db"].file_vars == {"db_bare": 1}  # `db` shadows `db.yml`
    assert inventory.host("db-1").vars["ansible_user"] == "admin"  # an empty host_vars file adds nothing


def test_vars_files_for_unknown_hosts_are_reported_as_warnings() -> None:
    inventory = load("vars_dirs")

    assert len(inventory.warnings) == 1
    assert re.search(r"host_vars/ghost\.yml: no host named 'ghost'", inventory.warnings[0])


# --- structure -----------------------------------------------------------------------------------


def test_ungrouped_holds_the_hosts_in_no_other_group() -> None:
    inventory = load("ungrouped_toplevel")

    assert inventory.groups["ungrouped"].hosts == ("explicit-lone", "lone-1", "lone-2")
    assert inventory.host("both").groups == ("db",)
    assert inventory.host("front-1").groups == ("jobs", "web")


def test_top_level_groups_join_all_unless_they_have_a_parent() -> None:
    groups = load("ungrouped_toplevel").groups

    assert groups["all"].children == ("ungrouped", "empty_group", "vars_only", "db", "jobs")
    assert groups["web"].parents == ("jobs",)
    assert groups["vars_only"].vars == {"only": "vars"} and groups["empty_group"].hosts == ()


def test_group_defined_twice_gathers_both_definitions() -> None:
    inventory = load("multi_defined")

    assert inventory.groups["shared"].parents == ("eu", "us")
    assert inventory.groups["shared"].hosts == ("h1", "h2")
    assert inventory.host("h2").vars == {"v": "from_eu", "conf": {"b": 2}}
    assert inventory.host("h1").vars["hv"] == "late" and inventory.host("h1").vars["conf"] == {"b": 2}


def test_host_keys_expand_ranges_and_ports() -> None:
    inventory = load("ranges_ports")

    assert list(inventory.hosts)[:8] == ["web01", "web02", "web03", "web8", "web10", "web12", "db-a", "db-b"]
    assert inventory.host("db-c").port == 2222
    assert inventory.host("2001:db8::1").port == 2222
    assert inventory.host("plain").port == 2022  # inline ansible_port beats the key's port
    assert inventory.host("web01").port is None  # a port on a later mention is ignored
    assert {"nodea1", "nodeb2", "10.1.0.2", "fe80::1"} <= set(inventory.hosts)


@pytest.mark.parametrize(
    ("pattern", "expanded"),
    [
        ("web[1:3]", ["web1", "web2", "web3"]),
        ("web[01:03]", ["web01", "web02", "web03"]),
        ("n[0:6:3]", ["n0", "n3", "n6"]),
        ("db-[a:c]", ["db-a", "db-b", "db-c"]),
        ("x[:1]", ["x0", "x1"]),
        ("r[1:2]-[a:b]", ["r1-a", "r1-b", "r2-a", "r2-b"]),
        ("plain", ["plain"]),
    ],
)
def test_expand_host_range(pattern: str, expanded: list[str]) -> None:
    assert expand_host_range(pattern) == expanded


@pytest.mark.parametrize("pattern", ["web[01:3]", "web[c:a]", "web[1]", "web[1:]"])
def test_expand_host_range_rejects_bad_ranges(pattern: str) -> None:
    with pytest.raises(ValueError, match="range"):
        expand_host_range(pattern)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("web1", ("web1", None)),
        ("web1:2222", ("web1", 2222)),
        ("db-[a:c]:22", ("db-[a:c]", 22)),
        ("[2001:db8::1]:22", ("2001:db8::1", 22)),
        ("fe80::1", ("fe80::1", None)),
        ("dev:f1", None),
        ("f1-*", None),
    ],
)
def test_parse_address(text: str, address: tuple[str, int | None] | None) -> None:
    assert parse_address(text) == address


def test_from_dict_builds_the_same_inventory_and_reads_a_vars_dir() -> None:
    data = {"all": {"children": {"app_eu": {"hosts": {"app-eu-2": None}}}}}
    inventory = Inventory.from_dict(data, vars_dir=INVENTORIES / "vars_dirs")

    assert inventory.host("app-eu-2").vars["who"] == "app_eu_dir"
    assert data == {"all": {"children": {"app_eu": {"hosts": {"app-eu-2": None}}}}}


def test_unsafe_tag_reads_as_a_plain_string(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text("all:\n  hosts:\n    h:\n      raw: !unsafe '{{ not_a_template }}'\n")

    assert Inventory.load(path).host("h").vars["raw"] == "{{ not_a_template }}"


# --- limits ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "patterns"),
    [
        ("dev", ["dev"]),
        ("dev,f1", ["dev", "f1"]),
        ("dev:f1-*:!f1-b", ["dev", "f1-*", "!f1-b"]),
        (" f1 , &spot ", ["f1", "&spot"]),
        ("web[01:03]", ["web[01:03]"]),
        ("zone[0:1]:!r1", ["zone[0:1]", "!r1"]),
    ],
)
def test_split_limit(limit: str, patterns: list[str]) -> None:
    assert split_limit(limit) == patterns


def test_limit_combines_union_intersection_and_exclusion() -> None:
    inventory = load("nested_groups")

    assert names(inventory.select("fast:slow")) == ["r2", "s1", "s2"]
    assert names(inventory.select("region:&fast")) == ["r2"]
    assert names(inventory.select("!fast")) == ["r1", "s2", "t1"]
    assert names(inventory.select("~s[12]")) == ["s1", "s2"]
    assert names(inventory.select("zone[0]")) == ["r1"]


def test_limit_on_a_name_of_both_a_host_and_a_group() -> None:
    inventory = load("ungrouped_toplevel")

    assert names(inventory.select("jobs")) == ["jobs"]  # a plain name: the host
    assert names(inventory.select("&jobs")) == ["front-1"]  # with & or !: the group
    assert "jobs" in names(inventory.select("!jobs")) and "front-1" not in names(inventory.select("!jobs"))


def test_limit_matching_an_empty_group_selects_nothing() -> None:
    assert load("ungrouped_toplevel").select("empty_group") == []


@pytest.mark.parametrize("limit", ["nosuch", "r1:nosuch", "f2-*", "!nosuch"])
def test_limit_naming_nothing_is_an_error_naming_it(limit: str) -> None:
    with pytest.raises(InventoryError, match=r"limit pattern '(nosuch|f2-\*)' matches no host or group"):
        load("nested_groups").select(limit)


def test_unknown_host_and_group_are_errors() -> None:
    inventory = load("nested_groups")

    with pytest.raises(InventoryError, match="no host named 'nope'"):
        inventory.host("nope")
    with pytest.raises(InventoryError, match="no group named 'nope'"):
        inventory.group_hosts("nope")


def test_port_that_is_not_a_number_is_an_error() -> None:
    host = Host("h", (), {"ansible_port": "{{ port }}", "ansible_host": "10.0.0.1"})

    assert host.address == "10.0.0.1" and host.user is None
    with pytest.raises(InventoryError, match=r"host h: ansible_port '\{\{ port \}\}' is not a port number"):
        _ = host.port


# --- broken inventories ------------------------------------------------------------------------

BROKEN = {
    "bad_yaml": r"bad_yaml/inventory.yml:5:1: invalid YAML: expected ',' or '}'",
    "top_level_list": r"top_level_list/inventory.yml:1:1: the top level must be a mapping of group names, got a list",
    "hosts_list": r"hosts_list/inventory.yml:5:9: group 'f1': 'hosts' must be a mapping, got a list \(write each",
    "host_value_string": r"inventory.yml:5:9: group 'dev': host 'dev' must map to its variables .*, got a string",
    "cycle": r"cycle/inventory.yml: group 'outer' is its own ancestor: outer -> middle -> outer",
    "group_vars_list": r"group_vars/all.yml:1:1: variables file must be a mapping of names to values, got a list",
    "unknown_key": r"inventory.yml:4:7: group 'f1': unexpected key 'host', expected hosts, children or vars",
    "bad_range": r"inventory.yml:3:5: group 'all': host 'web\[01:3\]': range \[01:3\] must have begin and end of the",
    "bad_priority": r"inventory.yml:5:9: group 'f1': ansible_group_priority must be an integer, got 'high'",
    "host_key_number": r"inventory.yml:3:5: group 'all': host name 10 must be a non-empty string \(quote it\)",
    "plugin_config": r"inventory.yml:1:1: this is an inventory plugin configuration, not a YAML inventory",
    "empty_file": r"empty_file/inventory.yml: the inventory is empty",
    "group_not_mapping": r"inventory.yml:3:5: group 'f1' must be a mapping \(hosts/children/vars\), got a string",
}


def test_every_broken_fixture_has_an_expected_error() -> None:
    assert set(BROKEN) == {path.name for path in (INVENTORIES / "broken").iterdir()}


@pytest.mark.parametrize(("case", "message"), BROKEN.items())
def test_broken_inventory_error_names_file_place_and_problem(case: str, message: str) -> None:
    with pytest.raises(InventoryError, match=message):
        Inventory.load(INVENTORIES / "broken" / case / "inventory.yml")


def test_missing_file_and_directory_are_errors(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match=r"missing.yml: cannot read: No such file"):
        Inventory.load(tmp_path / "missing.yml")
    with pytest.raises(InventoryError, match="is a directory, expected an inventory file"):
        Inventory.load(tmp_path)


def test_group_that_lists_itself_is_a_cycle() -> None:
    with pytest.raises(InventoryError, match="group 'a' is its own ancestor: a -> a"):
        Inventory.from_dict({"all": {"children": {"a": {"children": {"a": None}}}}})


def test_extra_vars_added_later_win_over_every_host_variable_and_leave_the_inventory_alone():
    inventory = Inventory.from_dict({"all": {"vars": {"a": 1}, "hosts": {"h": {"a": 2, "b": 3}}}}, extra_vars={"b": 4})
    with_more = inventory.with_extra_vars({"a": 5})
    assert with_more.host("h").vars == {"a": 5, "b": 4}
    assert inventory.host("h").vars == {"a": 2, "b": 4}
