"""How the laptop reaches the instances: an SSH key pair, and a security group open only to the caller.

The key pair is the user's public key imported, or a new one whose private key is saved 0600. The
security group allows SSH and the service port from the caller's address (a configured CIDR list,
or the address a checkip-style lookup reports), never from 0.0.0.0/0 unless asked; its ingress
rules are reconciled on every run (missing ones added, others removed). Both are found again by
name; a security group of that name without this project's tag is never touched.
"""

from __future__ import annotations

import ipaddress
import os
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization

from fpgaops.aws.ec2_inventory import PROJECT_TAG
from fpgaops.aws.errors import AwsError, error_code, translate_errors

CHECKIP_URL = "https://checkip.amazonaws.com"
ANYWHERE = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
SSH_PORT = 22


# --- the caller's address --------------------------------------------------------------------


def checkip_address(url: str = CHECKIP_URL, timeout_s: float = 5.0) -> str:
    """The caller's public IP address as ``url`` (AWS's checkip service) sees it: one network call.

    Example: ``caller_cidrs(lookup=checkip_address)``
    """
    with urllib.request.urlopen(url, timeout=timeout_s) as reply:
        return reply.read().decode().strip()


def caller_cidrs(configured: Sequence[str] | None = None, lookup: Callable[[], str] | None = None) -> tuple[str, ...]:
    """The CIDRs SSH is allowed from: ``configured`` ones (normalised), else the ``lookup``'s address as /32 (/128).

    Args:
        configured: e.g. ``["203.0.113.7/32", "198.51.100.0/24"]``; an address alone means itself.
        lookup: returns the caller's public address (``checkip_address`` in real use).

    Example: ``caller_cidrs(["203.0.113.7"])`` -> ``("203.0.113.7/32",)``
    """
    if configured:
        texts = list(configured)
    elif lookup is not None:
        texts = [lookup()]
    else:
        raise AwsError("no address to allow SSH from", code="NoIngressCidr",
                       fix="set ssh_cidrs in the config (e.g. your public IP/32), or let the toolkit look it up")
    cidrs = []
    for text in texts:
        try:
            cidrs.append(str(ipaddress.ip_network(text.strip(), strict=False)))
        except ValueError:
            raise AwsError(f"{text!r} is not an IP address or CIDR", code="InvalidCidr",
                           fix="use the form 203.0.113.7/32") from None
    return tuple(dict.fromkeys(cidrs))


# --- key pair --------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPairConfig:
    """The key pair instances are launched with.

    ``public_key_path``: import this OpenSSH public key. Otherwise ``private_key_path``: the private
    key there (its public part is imported), or a new ed25519 key AWS creates, saved there 0600.
    """

    name: str
    public_key_path: Path | None = None
    private_key_path: Path | None = None


@dataclass(frozen=True)
class KeyPairResult:
    """``action``: ``"found"``, ``"imported"`` or ``"created"``."""

    name: str
    action: str
    private_key_path: Path | None

    @property
    def changed(self) -> bool:
        """True when the key pair was imported or created."""
        return self.action != "found"


@translate_errors
def ensure_key_pair(ec2, config: KeyPairConfig, tags: Mapping[str, str]) -> KeyPairResult:
    """The key pair ``config.name``, imported or created if missing; an existing one must hold the same key.

    Args:
        ec2: an EC2 client.
        config: the key pair's name and the local key files.
        tags: tags of a new key pair (``{"Project": ...}``).

    Example: ``ensure_key_pair(ec2, KeyPairConfig("beats", public_key_path=Path("~/.ssh/id_ed25519.pub").expanduser()),
    {"Project": "beats"})``
    """
    if config.public_key_path is None and config.private_key_path is None:
        raise AwsError(f"key pair {config.name}: neither a public key nor a private key path is set",
                       code="KeyPairConfig", fix="set public_key_path (import) or private_key_path (create)")
    existing = _describe_key_pair(ec2, config.name)
    private = config.private_key_path
    if config.public_key_path is not None:
        local = _key_blob(config.public_key_path.read_text())
    elif private is not None and private.exists():
        local = _public_key_of_private(private)
    else:
        local = None
    if existing is not None:
        if local is None:
            raise AwsError(f"key pair {config.name} exists in AWS but its private key is not at {private}",
                           code="KeyPairPrivateKeyMissing",
                           fix=f"put the private key at {private}, or delete the key pair "
                               f"(`aws ec2 delete-key-pair --key-name {config.name}`) to have a new one made")
        remote = existing.get("PublicKey")
        if remote and _key_blob(remote) != local:
            raise AwsError(f"key pair {config.name} in AWS holds another public key than the local one",
                           code="KeyPairMismatch",
                           fix=f"use another key_name, or delete the key pair (`aws ec2 delete-key-pair --key-name "
                               f"{config.name}`) if no instance needs it")
        return KeyPairResult(config.name, "found", private)
    spec = _tag_specifications("key-pair", tags)
    if local is not None:
        ec2.import_key_pair(KeyName=config.name, PublicKeyMaterial=local.encode(), **spec)
        return KeyPairResult(config.name, "imported", private)
    created = ec2.create_key_pair(KeyName=config.name, KeyType="ed25519", KeyFormat="pem", **spec)
    _write_private_key(private, created["KeyMaterial"])
    return KeyPairResult(config.name, "created", private)


def _describe_key_pair(ec2, name: str) -> dict | None:
    try:
        return ec2.describe_key_pairs(KeyNames=[name], IncludePublicKey=True)["KeyPairs"][0]
    except ClientError as exc:
        if error_code(exc) == "InvalidKeyPair.NotFound":
            return None
        raise


def _key_blob(line: str) -> str:
    """``"ssh-ed25519 AAAA... comment"`` -> ``"ssh-ed25519 AAAA..."``."""
    parts = line.split()
    if len(parts) < 2:
        raise AwsError(f"not an OpenSSH public key: {line[:40]!r}", code="InvalidPublicKey",
                       fix="use the .pub file ssh-keygen wrote")
    return " ".join(parts[:2])


def _public_key_of_private(path: Path) -> str:
    data = path.read_bytes()
    try:
        key = serialization.load_ssh_private_key(data, password=None)
    except ValueError:
        key = serialization.load_pem_private_key(data, password=None)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def _write_private_key(path: Path, material: str) -> None:
    """Write a private key 0600 (never readable by others, even for a moment)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as stream:
        stream.write(material if material.endswith("\n") else material + "\n")
    os.replace(partial, path)


def _tag_specifications(resource_type: str, tags: Mapping[str, str]) -> dict:
    """``{"TagSpecifications": [...]}`` for non-empty ``tags`` (AWS refuses an empty one), else {}."""
    if not tags:
        return {}
    return {"TagSpecifications": [{"ResourceType": resource_type,
                                   "Tags": [{"Key": key, "Value": value} for key, value in tags.items()]}]}


# --- security group --------------------------------------------------------------------------


@dataclass(frozen=True)
class SecurityGroupConfig:
    """A security group allowing TCP ``ports`` from ``ingress_cidrs`` only.

    ``vpc_id``: None for the region's default VPC. ``allow_anywhere``: accept 0.0.0.0/0 or ::/0.
    """

    name: str
    ingress_cidrs: tuple[str, ...]
    ports: tuple[int, ...] = (SSH_PORT,)
    vpc_id: str | None = None
    allow_anywhere: bool = False


@dataclass(frozen=True)
class IngressRule:
    """One TCP port open to one CIDR."""

    port: int
    cidr: str

    def permission(self, description: str | None = None) -> dict:
        """The ``IpPermissions`` item of this rule."""
        version = ipaddress.ip_network(self.cidr).version
        ranges_key, cidr_key = ("IpRanges", "CidrIp") if version == 4 else ("Ipv6Ranges", "CidrIpv6")
        item = {cidr_key: self.cidr, **({"Description": description} if description else {})}
        return {"IpProtocol": "tcp", "FromPort": self.port, "ToPort": self.port, ranges_key: [item]}


@dataclass(frozen=True)
class SecurityGroupResult:
    """The group, whether it was created, and the rules added and removed."""

    group_id: str
    vpc_id: str
    created: bool
    authorized: tuple[IngressRule, ...]
    revoked: tuple[IngressRule | dict, ...]  # a dict: a rule that is not a single TCP port (e.g. all traffic)

    @property
    def changed(self) -> bool:
        """True when the group was created or a rule added or removed."""
        return self.created or bool(self.authorized or self.revoked)


@translate_errors
def ensure_security_group(ec2, config: SecurityGroupConfig, project: str,
                          tags: Mapping[str, str]) -> SecurityGroupResult:
    """The project's security group with exactly the configured ingress rules.

    Args:
        ec2: an EC2 client.
        config: name, CIDRs, ports, VPC.
        project: the ``Project`` tag the group must carry (a group of that name without it is refused).
        tags: tags of a new group.

    Example: ``ensure_security_group(ec2, SecurityGroupConfig("fpgaops-beats", ("203.0.113.7/32",), (22, 5000)),
    "beats", {"Project": "beats"})``
    """
    networks = [ipaddress.ip_network(cidr) for cidr in config.ingress_cidrs]
    if not networks:
        raise AwsError(f"security group {config.name}: no CIDR to allow", code="NoIngressCidr",
                       fix="set ssh_cidrs in the config")
    if not config.allow_anywhere and any(network in ANYWHERE for network in networks):
        raise AwsError(f"security group {config.name}: refusing to open ports {list(config.ports)} to the whole "
                       f"internet ({', '.join(config.ingress_cidrs)})", code="IngressFromAnywhere",
                       fix="allow only your address (e.g. 203.0.113.7/32), or set allow_anywhere explicitly")
    group = None if config.vpc_id else _project_group(ec2, config.name, project)  # found: no VPC lookup
    if group is not None:
        vpc_id, created = group["VpcId"], False
    else:
        vpc_id = config.vpc_id or _default_vpc(ec2)
        group, created = _find_or_create_group(ec2, config.name, vpc_id, project, tags)
    wanted = {IngressRule(port, str(network)) for port in config.ports for network in networks}
    present, others = _ingress_rules(group)
    missing = sorted(wanted - present, key=lambda r: (r.port, r.cidr))
    extra = sorted(present - wanted, key=lambda r: (r.port, r.cidr))
    if missing:
        ec2.authorize_security_group_ingress(
            GroupId=group["GroupId"],
            IpPermissions=[rule.permission(f"fpgaops {project}") for rule in missing])
    if extra or others:
        ec2.revoke_security_group_ingress(GroupId=group["GroupId"],
                                          IpPermissions=[rule.permission() for rule in extra] + others)
    return SecurityGroupResult(group["GroupId"], vpc_id, created, tuple(missing), (*extra, *others))


def _default_vpc(ec2) -> str:
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise AwsError("this region has no default VPC", code="VPCIdNotSpecified",
                       fix="set vpc_id and subnet_ids in the config")
    return vpcs[0]["VpcId"]


def _project_group(ec2, name: str, project: str) -> dict | None:
    """The one group named ``name`` tagged as the project's, in any VPC (None: none, or several to choose from)."""
    filters = [{"Name": "group-name", "Values": [name]}, {"Name": "tag:" + PROJECT_TAG, "Values": [project]}]
    found = ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
    return found[0] if len(found) == 1 else None


def _find_or_create_group(ec2, name: str, vpc_id: str, project: str, tags: Mapping[str, str]) -> tuple[dict, bool]:
    filters = [{"Name": "group-name", "Values": [name]}, {"Name": "vpc-id", "Values": [vpc_id]}]
    found = ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
    if found:
        group = found[0]
        if {t["Key"]: t["Value"] for t in group.get("Tags", [])}.get(PROJECT_TAG) != project:
            raise AwsError(f"security group {name} ({group['GroupId']}) exists but is not tagged "
                           f"{PROJECT_TAG}={project}", code="NotThisProjects",
                           fix="choose another security group name, or tag that group")
        return group, False
    group_id = ec2.create_security_group(
        GroupName=name, Description=f"fpgaops {project}: SSH and service from the operator only", VpcId=vpc_id,
        **_tag_specifications("security-group", tags))["GroupId"]
    return ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0], True


def _ingress_rules(group: dict) -> tuple[set[IngressRule], list[dict]]:
    """The group's single-port TCP rules, and every other permission (to be removed) as IpPermissions."""
    rules: set[IngressRule] = set()
    others: list[dict] = []
    for permission in group.get("IpPermissions", []):
        single_tcp = (permission.get("IpProtocol") == "tcp" and permission.get("FromPort") == permission.get("ToPort")
                      and not permission.get("UserIdGroupPairs") and not permission.get("PrefixListIds"))
        if not single_tcp:
            others.append({key: value for key, value in permission.items()
                           if key in ("IpProtocol", "FromPort", "ToPort", "IpRanges", "Ipv6Ranges",
                                      "UserIdGroupPairs", "PrefixListIds")})
            continue
        for item in permission.get("IpRanges", []):
            rules.add(IngressRule(permission["FromPort"], item["CidrIp"]))
        for item in permission.get("Ipv6Ranges", []):
            rules.add(IngressRule(permission["FromPort"], item["CidrIpv6"]))
    return rules, others
