"""The aws-fpga checkout (SDK and HDK) at a pinned ref, in the login user's home: shared by dev_host and f1_host.

Two sources, chosen by the variables:

- ``aws_fpga_sdk_archive`` (a laptop tarball, as the sandbox sets): unpacked by the ``archive``
  operation, idempotent by the archive's sha256; its top folder is stripped (``aws-fpga/``).
- otherwise ``aws_fpga_repo`` at ``aws_fpga_ref`` (a tag or a commit): ``git clone`` guarded by
  ``creates``, then a checkout of the ref unless HEAD already is that commit (real AWS).

The tree belongs to the login user (``sdk_setup.sh`` builds the tools inside it, ``hdk_setup.sh``
puts the shell checkpoint there).  Scripts that must be sourced run through ``sourced``; a step
that ran one leaves a marker file in the tree, so a new tree (new archive or ref) runs it again.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from pathlib import Path
from shlex import quote
from typing import Any

from fpgaops.core import Operation
from fpgaops.fpga_platform import DEFAULT_REF, check_ref
from fpgaops.inventory import Host
from fpgaops.operations.archives import archive
from fpgaops.operations.commands import command
from fpgaops.sandbox.config import PROJECT_ROOT

SDK_DONE = ".fpgaops-sdk-setup.done"  # sdk_setup.sh succeeded in this tree
HDK_DONE = ".fpgaops-hdk-setup.done"  # hdk_setup.sh succeeded in this tree


def login_user(host: Host) -> str:
    """The host's login user (``ansible_user``); ValueError when the inventory does not say."""
    if not host.user:
        raise ValueError(f"host {host.name}: ansible_user is not set: the aws-fpga checkout goes in the login "
                         "user's home (set ansible_user, or aws_fpga_dir and aws_fpga_owner)")
    return host.user


def home_of(user: str) -> str:
    """The home directory of a login user on the FPGA AMIs (``/home/<user>``, ``/root`` for root)."""
    return "/root" if user == "root" else f"/home/{user}"


def checkout_dir(host: Host, v: Mapping[str, Any]) -> str:
    """``aws_fpga_dir``, or ``~/aws-fpga`` of the login user when it is empty."""
    return v["aws_fpga_dir"] or posixpath.join(home_of(login_user(host)), "aws-fpga")


def tree_owner(host: Host, v: Mapping[str, Any]) -> tuple[str, str]:
    """(owner, group) of the checkout: ``aws_fpga_owner`` or the login user, in its own group."""
    owner = v["aws_fpga_owner"] or login_user(host)
    return owner, owner


def laptop_path(value: str | Path) -> Path:
    """A laptop path from a variable: absolute, or relative to the project's root."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def aws_fpga_checkout(host: Host, v: Mapping[str, Any], tags: Iterable[str] = ()) -> list[Operation]:
    """The operations putting aws-fpga at ``checkout_dir`` (from the archive, or git at the pinned ref).

    Example: ``aws_fpga_checkout(host, role_vars(host, DEFAULTS), tags=["sdk"])``
    """
    dest = checkout_dir(host, v)
    owner, group = tree_owner(host, v)
    tags = tuple(tags)
    if v["aws_fpga_sdk_archive"]:
        source = laptop_path(v["aws_fpga_sdk_archive"])
        if not source.is_file():
            raise ValueError(f"aws_fpga_sdk_archive {source} does not exist "
                             "(the sandbox writes it on `fab sandbox.up`)")
        return [archive(source, dest, owner=owner, group=group, strip_components=int(v["aws_fpga_archive_strip"]),
                        tags=tags)]
    repo, ref = v["aws_fpga_repo"], pinned_ref(v)
    if not repo:
        raise ValueError("aws-fpga: set aws_fpga_sdk_archive, or aws_fpga_repo and aws_fpga_ref (a tag or commit)")
    git = f"git -c safe.directory={quote(dest)} -C {quote(dest)}"  # guards are read as root
    at_ref = f'[ "$({git} rev-parse HEAD)" = "$({git} rev-parse --verify -q {quote(ref + "^{commit}")})" ]'
    markers = " ".join(quote(posixpath.join(dest, marker)) for marker in (SDK_DONE, HDK_DONE))
    return [
        command(f"git clone --quiet --no-checkout {quote(repo)} {quote(dest)}"
                f" && git -C {quote(dest)} checkout --quiet --detach {quote(ref)}",
                creates=posixpath.join(dest, ".git"), sudo=False, description=f"clone aws-fpga {ref} to {dest}",
                tags=tags),
        command(f"git -C {quote(dest)} fetch --quiet --tags origin && git -C {quote(dest)} checkout --quiet --detach"
                f" {quote(ref)} && rm -f {markers}",
                unless=at_ref, sudo=False, description=f"check out aws-fpga {ref} in {dest}", tags=tags),
    ]


def pinned_ref(v: Mapping[str, Any]) -> str:
    """``aws_fpga_ref``, or the platform table's default ref when it is empty; ValueError when it is malformed.

    Example: ``pinned_ref({"aws_fpga_ref": ""})`` -> ``"v2.4.0"``
    """
    return check_ref(str(v.get("aws_fpga_ref") or DEFAULT_REF))


def sourced(tree: str, script: str, env: Mapping[str, str] | None = None, login_shell: bool = False) -> str:
    """A sh command sourcing ``script`` of the aws-fpga tree in bash (as AWS's setup scripts require).

    ``env`` is exported first; ``login_shell`` reads the profile (the AMI's tool environment, e.g. Vivado).
    Example: ``sourced("/home/ubuntu/aws-fpga", "sdk_setup.sh", {"AWS_FPGA_ALLOW_NON_ROOT": "y"})``
    """
    exports = "".join(f"export {name}={quote(str(value))}; " for name, value in (env or {}).items())
    inner = f"{exports}cd {quote(tree)} && source ./{script}"
    return f"bash {'-l ' if login_shell else ''}-c {quote(inner)}"
