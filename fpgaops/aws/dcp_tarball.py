"""Whether a DCP tarball is one AWS will ingest: the checks of ``create-fpga-image``, done locally.

This is the one implementation of those checks: the toolkit's preflight runs it before the upload,
and the sandbox's AFI ingestion runs it on the uploaded object. A failure carries the error code
AWS puts in ``State.Message`` of a failed AFI (``hdk/docs/create_fpga_image_error_codes.md``).

The tarball (what ``aws_build_dcp_from_cl`` writes): a plain tar holding
``to_aws/<ts>.SH_CL_routed.dcp`` and ``to_aws/<ts>.manifest.txt``, the manifest being ``key=value``
lines (``hdk/docs/AFI_Manifest.md``, format version 2). Mandatory keys (the F1 spec marks them;
the F2 spec marks none and calls the clock recipes deprecated): manifest_format_version, the four
pci_* ids, dcp_hash, shell_version, dcp_file_name, tool_version, and on F1 clock_recipe_a.
hdk_version and date are written by AWS's scripts but not required.

Not checked (AWS needs Vivado for them): DCP_CORRUPT, DCP_NOT_ENCRYPTED, UNSUPPORTED_DESIGN_LOGIC.
"""

from __future__ import annotations

import hashlib
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from fpgaops.fpga_platform import INGESTION_TOOL_VERSIONS, shells_of
from fpgaops.platforms import PLATFORMS, Platform, platform_of_shell_version

# code -> AWS's description of it (create_fpga_image_error_codes.md; TOOL_VERSION_INVALID from a real
# failed AFI's State.Message)
ERROR_DESCRIPTIONS = {
    "INACCESSIBLE_INPUT": "Error accessing resource in S3. Check permissions, naming, and ensure the "
                          "bucket is within the same region as the API endpoint.",
    "INPUT_SIZE_ILLEGAL": "Input file size is not valid",
    "DCP_INTEGRITY_UNVERIFIED": "The DCP integrity SHA-256 hash does not match the provided DCP",
    "MANIFEST_NOT_FOUND": "No manifest file was found. See AWS FPGA HDK documentation for valid input "
                          "format. We recommend using the scripts provided with AWS FPGA HDK",
    "MANIFEST_PARSE_FAILED": "Parsing the manifest file failed. We recommend using the scripts provided "
                             "with AWS FPGA HDK",
    "SHELL_VERSION_INVALID": "The Shell Version provided is invalid",
    "SHELL_VERSION_DEPRECATED": "The Shell Version provided is deprecated",
    "TOOL_VERSION_INVALID": "The Tool Version provided is invalid",
    "PCIID_SYNTAX_INVALID": "PCI ID is not provided, wrongly formatted, or value is out of range valid "
                            "range 1-65535 or 0x0001-0xFFFF",
    "PCIID_FORBIDDEN": "PCI ID value used is reserved. See AWS FPGA HDK documentation for reserved PCI",
    "CLK_ILLEGAL": "Provided clocks configuration is illegal. See AWS FPGA HDK documentation for "
                   "supported clocks configuration",
    "CORRUPT_ARCHIVE": "Failed to parse the input tarball archive",
    "DCP_NOT_FOUND": "No DCP file was found with the supplied filename. See AWS FPGA HDK documentation "
                     "for valid input format. We recommend using the scripts provided with AWS FPGA HDK",
}

MANIFEST_FORMAT_VERSION = "2"
REQUIRED_KEYS = ("manifest_format_version", "dcp_hash", "shell_version", "dcp_file_name", "tool_version")
PCI_ID_KEYS = ("pci_vendor_id", "pci_device_id", "pci_subsystem_id", "pci_subsystem_vendor_id")
REQUIRED_KEYS_BY_PLATFORM = {"f1": ("clock_recipe_a",), "f2": ()}
# Earlier F1 shells, seen in AWS's own examples, that AWS no longer builds against.
DEPRECATED_SHELL_VERSIONS = {0x04151701, 0x071417d3}
# hdk/docs/clock_recipes.csv (F1) and the F2 clock recipe tables
CLOCK_RECIPES = {
    "clock_recipe_a": ("A0", "A1", "A2"),
    "clock_recipe_b": ("B0", "B1", "B2", "B3", "B4", "B5"),
    "clock_recipe_c": ("C0", "C1", "C2", "C3"),
    "clock_recipe_hbm": ("H0", "H1", "H2", "H3", "H4"),
}
CLOCK_KEYS_BY_PLATFORM = {
    "f1": ("clock_recipe_a", "clock_recipe_b", "clock_recipe_c"),
    "f2": ("clock_recipe_a", "clock_recipe_b", "clock_recipe_c", "clock_recipe_hbm"),
}
AMAZON_VENDOR_ID = 0x1D0F
AMAZON_DEVICE_IDS = range(0xF000, 0x10000)  # the device ids AWS lets designs use with its vendor id
HASH_CHUNK = 1 << 20
PCI_ID = re.compile(r"0[xX][0-9a-fA-F]{1,4}|[0-9]{1,5}")
HEX_WORD = re.compile(r"0[xX][0-9a-fA-F]{1,8}")
TOOL_VERSION = re.compile(r"v?(\d{4}\.\d)")


class DcpTarballError(Exception):
    """The tarball would fail AWS's ingestion with this error ``code`` (e.g. ``MANIFEST_NOT_FOUND``)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DcpTarball:
    """A tarball that passed every check: what its manifest says and which DCP it holds."""

    manifest: dict[str, str]
    dcp_member: str  # e.g. "to_aws/24_05_01-120000.SH_CL_routed.dcp"
    dcp_sha256: str
    shell_version: str  # normalised, e.g. "0x10212415"
    platform: Platform

    @property
    def pci_id(self) -> dict[str, str]:
        """The PCI ids as ``describe-fpga-images`` reports them (``{"VendorId": "0x1d0f", ...}``)."""
        names = {"pci_vendor_id": "VendorId", "pci_device_id": "DeviceId",
                 "pci_subsystem_id": "SubsystemId", "pci_subsystem_vendor_id": "SubsystemVendorId"}
        return {name: f"0x{_pci_id_value(self.manifest[key]):04x}" for key, name in names.items()}


def inspect_dcp_tarball(source: Path | BinaryIO, platform: Platform | None = None) -> DcpTarball:
    """Check a DCP tarball as AWS ingestion does; return what it holds or raise ``DcpTarballError``.

    ``source`` is a path or a seekable binary file. ``platform`` is the platform the AFI is meant for:
    given, a manifest for another platform's shell fails with SHELL_VERSION_INVALID; omitted, the
    platform is the one of the manifest's shell.

    Example: ``inspect_dcp_tarball(Path("build/24_05_01-120000.Developer_CL.tar"), F2).dcp_sha256``
    """
    if isinstance(source, Path):
        with source.open("rb") as stream:
            return _inspect(stream, platform)
    return _inspect(source, platform)


def _inspect(stream: BinaryIO, platform: Platform | None) -> DcpTarball:
    size = stream.seek(0, 2)
    if size == 0:
        raise _error("INPUT_SIZE_ILLEGAL", "The input file is empty")
    if size % tarfile.BLOCKSIZE:
        raise _error("CORRUPT_ARCHIVE", f"A tar archive is made of 512-byte blocks; this one has {size} bytes "
                     f"(truncated?)")
    stream.seek(0)
    try:
        with tarfile.open(fileobj=stream, mode="r:") as archive:
            files = {_member_path(m.name): m for m in archive.getmembers() if m.isfile()}
            manifest_name = _manifest_member(files)
            manifest = _parse_manifest(_read_text(archive, files[manifest_name]))
            chosen = _check_manifest(manifest, platform)
            dcp_member = f"to_aws/{manifest['dcp_file_name']}"
            if dcp_member not in files:
                raise _error("DCP_NOT_FOUND", f"The tarball has no {dcp_member}")
            digest = _sha256(archive, files[dcp_member])
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise _error("CORRUPT_ARCHIVE", f"Not a readable tar archive ({exc})") from None
    if digest != manifest["dcp_hash"].strip().lower():
        raise _error("DCP_INTEGRITY_UNVERIFIED",
                     f"The manifest's dcp_hash is {manifest['dcp_hash']} but {dcp_member} has SHA-256 {digest}")
    return DcpTarball(manifest, dcp_member, digest, _shell_version_text(manifest["shell_version"]), chosen)


def _error(code: str, detail: str) -> DcpTarballError:
    return DcpTarballError(code, f"{ERROR_DESCRIPTIONS[code]}. {detail}")


def _member_path(name: str) -> str:
    return name[2:] if name.startswith("./") else name


def _manifest_member(files: dict[str, tarfile.TarInfo]) -> str:
    manifests = sorted(name for name in files
                       if name.startswith("to_aws/") and name.count("/") == 1 and name.endswith("manifest.txt"))
    if not manifests:
        raise _error("MANIFEST_NOT_FOUND", "The tarball has no to_aws/*.manifest.txt")
    if len(manifests) > 1:
        raise _error("MANIFEST_PARSE_FAILED", f"The tarball has more than one manifest: {', '.join(manifests)}")
    return manifests[0]


def _read_text(archive: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    data = archive.extractfile(member).read()
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise _error("MANIFEST_PARSE_FAILED", f"The manifest {member.name} is not ASCII text") from None


def _parse_manifest(text: str) -> dict[str, str]:
    manifest: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise _error("MANIFEST_PARSE_FAILED", f"Line {number} is not key=value: {line.strip()!r}")
        if key in manifest:
            raise _error("MANIFEST_PARSE_FAILED", f"The key {key} is given twice")
        manifest[key] = value.strip()
    return manifest


def _check_manifest(manifest: dict[str, str], platform: Platform | None) -> Platform:
    """Check the manifest's keys and values; return the platform it is for."""
    _require_keys(manifest, REQUIRED_KEYS)
    if manifest["manifest_format_version"] != MANIFEST_FORMAT_VERSION:
        raise _error("MANIFEST_PARSE_FAILED", f"The manifest_format_version is "
                     f"{manifest['manifest_format_version']!r}, expected {MANIFEST_FORMAT_VERSION}")
    _check_pci_ids(manifest)
    chosen = _check_shell_version(manifest["shell_version"], platform)
    _require_keys(manifest, REQUIRED_KEYS_BY_PLATFORM[chosen.name])
    _check_tool_version(manifest["tool_version"], chosen)
    _check_clock_recipes(manifest, chosen)
    return chosen


def _require_keys(manifest: dict[str, str], keys: tuple[str, ...]) -> None:
    missing = [key for key in keys if not manifest.get(key)]
    if missing:
        raise _error("MANIFEST_PARSE_FAILED", f"Mandatory keys missing: {', '.join(missing)}")


def _pci_id_value(text: str) -> int:
    return int(text, 16) if text.lower().startswith("0x") else int(text)


def _check_pci_ids(manifest: dict[str, str]) -> None:
    for key in PCI_ID_KEYS:
        text = manifest.get(key, "")
        if not PCI_ID.fullmatch(text) or not 1 <= _pci_id_value(text) <= 0xFFFF:
            raise _error("PCIID_SYNTAX_INVALID", f"The manifest's {key} is {text!r}")
    vendor, device = (_pci_id_value(manifest[key]) for key in ("pci_vendor_id", "pci_device_id"))
    if vendor == AMAZON_VENDOR_ID and device not in AMAZON_DEVICE_IDS:
        raise _error("PCIID_FORBIDDEN", f"With vendor 0x{vendor:04x}, pci_device_id must be within "
                     f"0xf000-0xffff, not 0x{device:04x}")


def _shell_version_text(text: str) -> str:
    return f"0x{int(text, 16):08x}"


def _check_shell_version(text: str, platform: Platform | None) -> Platform:
    if not HEX_WORD.fullmatch(text):
        raise _error("SHELL_VERSION_INVALID", f"Shell version {text!r} is not a 32-bit hex number")
    if int(text, 16) in DEPRECATED_SHELL_VERSIONS:
        raise _error("SHELL_VERSION_DEPRECATED", f"Shell version {text} is deprecated")
    shell_platform = platform_of_shell_version(text)
    if shell_platform is None:
        known = "; ".join(f"{p.upper()} {', '.join(s.version for s in shells_of(p))}" for p in PLATFORMS)
        raise _error("SHELL_VERSION_INVALID", f"Shell version {text} is no AWS shell ({known})")
    if platform is not None and shell_platform is not platform:
        shells = ", ".join(s.version for s in shells_of(platform.name))
        raise _error("SHELL_VERSION_INVALID", f"Shell version {text} is an {shell_platform.name.upper()} "
                     f"shell, not an {platform.name.upper()} shell ({shells})")
    return shell_platform


def _check_tool_version(text: str, platform: Platform) -> None:
    allowed = INGESTION_TOOL_VERSIONS[platform.name]
    match = TOOL_VERSION.fullmatch(text)
    if match is None or match.group(1) not in allowed:
        versions = ", ".join(f"v{version}" for version in allowed)
        raise _error("TOOL_VERSION_INVALID", f"Invalid tool version {text!r} (allowed versions: {versions})")


def _check_clock_recipes(manifest: dict[str, str], platform: Platform) -> None:
    for key in CLOCK_KEYS_BY_PLATFORM[platform.name]:
        value = manifest.get(key)
        if value is not None and value not in CLOCK_RECIPES[key]:
            raise _error("CLK_ILLEGAL", f"The manifest's {key}={value} is not one of {', '.join(CLOCK_RECIPES[key])}")


def _sha256(archive: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    digest = hashlib.sha256()
    with archive.extractfile(member) as data:
        while chunk := data.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
