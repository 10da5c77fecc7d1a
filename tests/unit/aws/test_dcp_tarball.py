"""The DCP tarball checks: what AWS ingests, and the error code of what it rejects."""

from __future__ import annotations

import io
import tarfile

import pytest

from fpgaops.aws.dcp_tarball import DcpTarballError, inspect_dcp_tarball
from fpgaops.platforms import F1, F2
from tests.unit.aws.dcp_fixtures import (
    DCP_CONTENT,
    DCP_MEMBER,
    MANIFEST_MEMBER,
    bad_tarballs,
    dcp_tarball,
    manifest_text,
    tar_bytes,
    valid_manifest,
)


@pytest.mark.parametrize("platform", [F1, F2], ids=["f1", "f2"])
def test_a_valid_tarball_is_described(platform):
    tarball = inspect_dcp_tarball(io.BytesIO(dcp_tarball(platform)), platform)
    assert tarball.platform is platform
    assert tarball.shell_version == platform.shell_version
    assert tarball.dcp_member == DCP_MEMBER
    assert tarball.manifest["clock_recipe_a"] == "A1"
    assert tarball.pci_id == {"VendorId": "0x1d0f", "DeviceId": "0xf000",
                              "SubsystemId": "0x1d51", "SubsystemVendorId": "0xfedd"}


def test_a_path_is_read_and_the_platform_comes_from_the_shell(tmp_path):
    path = tmp_path / "24_05_01-120000.Developer_CL.tar"
    path.write_bytes(dcp_tarball(F1))
    assert inspect_dcp_tarball(path).platform is F1


@pytest.mark.parametrize("code", sorted(bad_tarballs()))
def test_each_bad_tarball_fails_with_its_aws_code(code):
    with pytest.raises(DcpTarballError) as failure:
        inspect_dcp_tarball(io.BytesIO(bad_tarballs(F2)[code]), F2)
    assert failure.value.code == code
    assert str(failure.value).startswith(f"{code}: ")


def test_the_message_starts_with_aws_wording():
    with pytest.raises(DcpTarballError) as failure:
        inspect_dcp_tarball(io.BytesIO(bad_tarballs()["DCP_INTEGRITY_UNVERIFIED"]))
    assert failure.value.message.startswith("The DCP integrity SHA-256 hash does not match the provided DCP. ")


def test_a_missing_pci_id_is_a_pci_syntax_error():
    with pytest.raises(DcpTarballError, match="PCIID_SYNTAX_INVALID"):
        inspect_dcp_tarball(io.BytesIO(dcp_tarball(F2, changes={"pci_vendor_id": None})))


@pytest.mark.parametrize("key", ["dcp_hash", "shell_version", "dcp_file_name", "tool_version"])
def test_a_missing_mandatory_key_fails_parsing(key):
    with pytest.raises(DcpTarballError) as failure:
        inspect_dcp_tarball(io.BytesIO(dcp_tarball(F2, changes={key: None})))
    assert failure.value.code == "MANIFEST_PARSE_FAILED"
    assert key in failure.value.message


def test_f1_needs_clock_recipe_a_and_f2_does_not():
    with pytest.raises(DcpTarballError, match="MANIFEST_PARSE_FAILED"):
        inspect_dcp_tarball(io.BytesIO(dcp_tarball(F1, changes={"clock_recipe_a": None})))
    assert inspect_dcp_tarball(io.BytesIO(dcp_tarball(F2, changes={"clock_recipe_a": None}))).platform is F2


def test_hdk_version_and_date_are_optional():
    tarball = dcp_tarball(F2, changes={"hdk_version": None, "date": None})
    assert inspect_dcp_tarball(io.BytesIO(tarball)).platform is F2


def test_a_line_without_equals_fails_parsing_but_blank_lines_and_crlf_pass():
    text = manifest_text(valid_manifest(F1)).replace("\n", "\r\n\r\n")
    ok = tar_bytes({MANIFEST_MEMBER: text.encode(), DCP_MEMBER: DCP_CONTENT})
    assert inspect_dcp_tarball(io.BytesIO(ok)).platform is F1
    bad = tar_bytes({MANIFEST_MEMBER: (text + "clock_recipe_b B0\n").encode(), DCP_MEMBER: DCP_CONTENT})
    with pytest.raises(DcpTarballError, match="MANIFEST_PARSE_FAILED"):
        inspect_dcp_tarball(io.BytesIO(bad))


def test_members_written_with_a_dot_prefix_are_found():
    text = manifest_text(valid_manifest(F2)).encode()
    tarball = tar_bytes({f"./{MANIFEST_MEMBER}": text, f"./{DCP_MEMBER}": DCP_CONTENT})
    assert inspect_dcp_tarball(io.BytesIO(tarball)).dcp_member == DCP_MEMBER


def test_a_truncated_archive_is_corrupt():
    whole = dcp_tarball(F2)
    with pytest.raises(DcpTarballError, match="CORRUPT_ARCHIVE"):
        inspect_dcp_tarball(io.BytesIO(whole[:1500]))


def test_a_gzipped_tarball_is_corrupt():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(MANIFEST_MEMBER)
        info.size = 1
        archive.addfile(info, io.BytesIO(b"\n"))
    with pytest.raises(DcpTarballError, match="CORRUPT_ARCHIVE"):
        inspect_dcp_tarball(io.BytesIO(buffer.getvalue()))


def test_a_shell_for_the_other_platform_is_invalid():
    with pytest.raises(DcpTarballError) as failure:
        inspect_dcp_tarball(io.BytesIO(dcp_tarball(F1)), F2)
    assert failure.value.code == "SHELL_VERSION_INVALID"
    assert "F1 shell" in failure.value.message
