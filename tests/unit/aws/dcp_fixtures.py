"""DCP tarballs for tests: a valid one per platform, and one per AWS ingestion error code."""

from __future__ import annotations

import hashlib
import io
import tarfile

from fpgaops.fpga_platform import DEFAULT_REF, developer_ami, release
from fpgaops.platforms import F1, F2, Platform

TIMESTAMP = "24_05_01-120000"
DCP_MEMBER = f"to_aws/{TIMESTAMP}.SH_CL_routed.dcp"
MANIFEST_MEMBER = f"to_aws/{TIMESTAMP}.manifest.txt"
DCP_CONTENT = b"PK\x03\x04 stand-in for an encrypted routed design checkpoint\n" * 64


def valid_manifest(platform: Platform = F2, dcp: bytes = DCP_CONTENT) -> dict[str, str]:
    """The manifest AWS's build scripts write for ``dcp`` on ``platform``."""
    manifest = {
        "manifest_format_version": "2",
        "pci_vendor_id": "0x1D0F",
        "pci_device_id": "0xF000",
        "pci_subsystem_id": "0x1D51",
        "pci_subsystem_vendor_id": "0xFEDD",
        "dcp_hash": hashlib.sha256(dcp).hexdigest(),
        "shell_version": platform.shell_version,
        "dcp_file_name": DCP_MEMBER.removeprefix("to_aws/"),
        "hdk_version": "1.4.25" if platform is F1 else release(DEFAULT_REF).release_version,
        "tool_version": f"v{developer_ami('1.12.2' if platform is F1 else '1.19.2').vivado}",
        "date": TIMESTAMP,
        "clock_recipe_a": "A1",
        "clock_recipe_b": "B0",
        "clock_recipe_c": "C0",
    }
    if platform is F2:
        manifest["clock_recipe_hbm"] = "H2"
    return manifest


def manifest_text(manifest: dict[str, str]) -> str:
    """``key=value`` lines, as in ``to_aws/<ts>.manifest.txt``."""
    return "".join(f"{key}={value}\n" for key, value in manifest.items())


def tar_bytes(members: dict[str, bytes]) -> bytes:
    """A plain tar archive holding ``members`` (name -> content)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def dcp_tarball(platform: Platform = F2, *, changes: dict[str, str | None] | None = None,
                dcp: bytes = DCP_CONTENT, with_dcp: bool = True) -> bytes:
    """A DCP tarball for ``platform``; ``changes`` sets manifest keys (None removes one)."""
    manifest = valid_manifest(platform, dcp)
    for key, value in (changes or {}).items():
        if value is None:
            manifest.pop(key, None)
        else:
            manifest[key] = value
    members = {MANIFEST_MEMBER: manifest_text(manifest).encode()}
    if with_dcp:
        members[DCP_MEMBER] = dcp
    return tar_bytes(members)


def bad_tarballs(platform: Platform = F2) -> dict[str, bytes]:
    """One tarball per ingestion error: expected error code -> tarball."""
    return {
        "INPUT_SIZE_ILLEGAL": b"",
        "CORRUPT_ARCHIVE": b"this is an HLS project export, not a tar archive\n" * 20,
        "MANIFEST_NOT_FOUND": tar_bytes({DCP_MEMBER: DCP_CONTENT, "manifest.txt": b"manifest_format_version=2\n"}),
        "MANIFEST_PARSE_FAILED": dcp_tarball(platform, changes={"manifest_format_version": "1"}),
        "PCIID_SYNTAX_INVALID": dcp_tarball(platform, changes={"pci_subsystem_id": "0x0"}),
        "PCIID_FORBIDDEN": dcp_tarball(platform, changes={"pci_device_id": "0x1042"}),
        "SHELL_VERSION_INVALID": dcp_tarball(platform, changes={"shell_version": "0x12345678"}),
        "SHELL_VERSION_DEPRECATED": dcp_tarball(platform, changes={"shell_version": "0x071417d3"}),
        "TOOL_VERSION_INVALID": dcp_tarball(platform, changes={"tool_version": "v2017.4"}),
        "CLK_ILLEGAL": dcp_tarball(platform, changes={"clock_recipe_a": "A7"}),
        "DCP_NOT_FOUND": dcp_tarball(platform, with_dcp=False),
        "DCP_INTEGRITY_UNVERIFIED": dcp_tarball(platform, changes={"dcp_hash": "0" * 64}),
    }
