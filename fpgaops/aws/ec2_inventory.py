"""An inventory of a project's running EC2 instances, found by tags and grouped by role.

The instances the toolkit launches carry ``Project=<project>``, ``Role=<group>`` (``dev``,
``f1``...), ``Name=<host name>`` and optionally ``LoginUser=<user>``. This module turns them into
the same ``Inventory`` a YAML file gives, with the variables a role needs to reach and know a host.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from fpgaops.inventory import ALL, Inventory, InventoryError, Vars
from fpgaops.platforms import platform_of_instance_type

PROJECT_TAG = "Project"
ROLE_TAG = "Role"
NAME_TAG = "Name"
LOGIN_USER_TAG = "LoginUser"
INVENTORY_STATES = ("running",)  # pending instances have no address to reach yet

ADDRESS_FIELDS = {"public_ip": "PublicIpAddress", "private_ip": "PrivateIpAddress", "dns_name": "PublicDnsName"}
DEFAULT_ADDRESS_PREFERENCE = ("public_ip", "private_ip", "dns_name")


def ec2_inventory(
    aws: Any,
    project: str,
    address_preference: Sequence[str] = DEFAULT_ADDRESS_PREFERENCE,
    extra_vars: Vars | None = None,
    vars_dir: Path | None = None,
) -> Inventory:
    """The running instances tagged ``Project=<project>``, one group per ``Role`` tag value.

    Host name: the ``Name`` tag, else the instance id (also used, with a warning, when two
    instances share a name). Host vars: ``ansible_host`` (the first non-empty address in
    ``address_preference``), ``ansible_user`` (``LoginUser`` tag), ``ec2_instance_id``,
    ``ec2_instance_type``, ``ec2_region``, ``ec2_lifecycle`` (``spot``/``on-demand``), and for
    FPGA instance types ``fpga_platform`` and ``fpga_slots``. Instances without a ``Role`` tag
    are ``ungrouped``.

    Args:
        aws: a boto3 ``Session`` or an EC2 client.
        project: the ``Project`` tag value.
        address_preference: order among ``public_ip``, ``private_ip``, ``dns_name``.
        extra_vars: variables that override every other.
        vars_dir: a folder whose ``group_vars/`` and ``host_vars/`` apply (e.g. ``inventory/``).

    Example: ``ec2_inventory(boto3.Session(region_name="us-east-1"), "beats").select("f1")``
    """
    data, warnings = ec2_inventory_data(aws, project, address_preference)
    inventory = Inventory.from_dict(data, extra_vars=extra_vars, vars_dir=vars_dir)
    inventory.warnings[:0] = warnings
    return inventory


def ec2_inventory_data(aws: Any, project: str, address_preference: Sequence[str] = DEFAULT_ADDRESS_PREFERENCE
                       ) -> tuple[dict[str, Any], list[str]]:
    """The project's running instances as YAML-shaped inventory data (``ec2_inventory``'s), and warnings."""
    unknown = [kind for kind in address_preference if kind not in ADDRESS_FIELDS]
    if unknown:
        raise ValueError(f"unknown address kinds {unknown}: expected some of {', '.join(ADDRESS_FIELDS)}")
    client = aws if hasattr(aws, "describe_instances") else aws.client("ec2")
    region = client.meta.region_name
    instances = sorted(_project_instances(client, project), key=lambda i: (_tags(i).get(NAME_TAG, ""), i["InstanceId"]))
    return _inventory_data(instances, region, address_preference)


def with_project_instances(path: Path, extra_vars: Vars | None = None) -> Inventory:
    """The inventory file at ``path`` plus the project's running instances, when its ``all`` vars say
    ``ec2_hosts: true`` (instances join the groups named by their Role tag, ungrouped without one; a
    static host of the same name wins). Settings: ``project``, ``aws_*`` (``session.settings_from_vars``),
    ``ec2_address_preference`` (list of public_ip, private_ip, dns_name).

    Example: ``with_project_instances(Path("inventory/aws.yml")).group_hosts("f1")``
    """
    import yaml

    from fpgaops.aws.errors import AwsError, translate_errors
    from fpgaops.aws.session import AwsClients, project_of, settings_from_vars

    static = Inventory.load(path, extra_vars=extra_vars)
    settings = static.groups[ALL].vars
    if not settings.get("ec2_hosts"):
        return static
    preference = tuple(settings.get("ec2_address_preference") or DEFAULT_ADDRESS_PREFERENCE)
    try:
        aws = AwsClients.shared(settings_from_vars(settings))
        project = project_of(settings)
        found, warnings = translate_errors(ec2_inventory_data)(aws.client("ec2"), project, preference)
    except AwsError as err:
        raise InventoryError(f"{path}: cannot list the project's instances (ec2_hosts: true): {err}") from None
    data = yaml.safe_load(Path(path).read_text()) or {}
    body = _section(data, ALL)
    merged = [(body, found[ALL]["hosts"])]  # instances without a Role tag: ungrouped, as in ec2_inventory
    merged += [(_section(_section(body, "children"), group), content["hosts"])
               for group, content in found[ALL]["children"].items()]
    for target, instances in merged:
        new = {name: host_vars for name, host_vars in instances.items() if name not in static.hosts}
        if new:
            _section(target, "hosts").update(new)
    inventory = Inventory.from_dict(data, extra_vars=extra_vars, vars_dir=Path(path).parent)
    inventory.warnings[:0] = [*static.warnings, *warnings]
    return inventory


def _section(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    """``mapping[key]``, set to a new dict when missing or empty (YAML's ``key:`` alone loads as None)."""
    if not mapping.get(key):
        mapping[key] = {}
    return mapping[key]


def _project_instances(client: Any, project: str) -> Iterator[Mapping[str, Any]]:
    filters = [
        {"Name": f"tag:{PROJECT_TAG}", "Values": [project]},
        {"Name": "instance-state-name", "Values": list(INVENTORY_STATES)},
    ]
    for page in client.get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page["Reservations"]:
            yield from reservation["Instances"]


def _tags(instance: Mapping[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in instance.get("Tags", [])}


def _inventory_data(
    instances: list[Mapping[str, Any]], region: str, address_preference: Sequence[str]
) -> tuple[dict[str, Any], list[str]]:
    """The instances as YAML-shaped inventory data, and warnings about what could not be used."""
    names = [_tags(i).get(NAME_TAG) or i["InstanceId"] for i in instances]
    name_counts = Counter(names)
    children: dict[str, dict[str, Any]] = {}
    ungrouped: dict[str, Vars] = {}
    warnings: list[str] = []
    for instance, name in zip(instances, names, strict=True):
        instance_id = instance["InstanceId"]
        if name_counts[name] > 1:
            warnings.append(f"{name_counts[name]} instances are named {name!r}: {instance_id} is listed by its id")
            name = instance_id
        host_vars = _host_vars(instance, region, address_preference)
        if "ansible_host" not in host_vars:
            warnings.append(f"instance {instance_id} ({name}) has none of the addresses {list(address_preference)}")
        role = _tags(instance).get(ROLE_TAG)
        hosts = children.setdefault(role, {"hosts": {}})["hosts"] if role else ungrouped
        hosts[name] = host_vars
    return {ALL: {"hosts": ungrouped, "children": children}}, warnings


def _preferred_address(instance: Mapping[str, Any], address_preference: Sequence[str]) -> str | None:
    """The first non-empty address of the kinds in ``address_preference``."""
    addresses = (instance.get(ADDRESS_FIELDS[kind]) for kind in address_preference)
    return next((address for address in addresses if address), None)


def _host_vars(instance: Mapping[str, Any], region: str, address_preference: Sequence[str]) -> Vars:
    tags = _tags(instance)
    instance_type = instance["InstanceType"]
    host_vars: Vars = {}
    address = _preferred_address(instance, address_preference)
    if address:
        host_vars["ansible_host"] = address
    if tags.get(LOGIN_USER_TAG):
        host_vars["ansible_user"] = tags[LOGIN_USER_TAG]
    host_vars |= {
        "ec2_instance_id": instance["InstanceId"],
        "ec2_instance_type": instance_type,
        "ec2_region": region,
        "ec2_lifecycle": instance.get("InstanceLifecycle") or "on-demand",
    }
    platform = platform_of_instance_type(instance_type)
    if platform:
        host_vars |= {"fpga_platform": platform.name, "fpga_slots": platform.slots_for(instance_type)}
    return host_vars
