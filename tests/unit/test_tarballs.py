import io
import tarfile

import pytest

from fpgaops.tarballs import plain_members


def archive_with(*members: tarfile.TarInfo) -> tarfile.TarFile:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for member in members:
            tar.addfile(member, io.BytesIO(b"x" * member.size) if member.isfile() else None)
    buffer.seek(0)
    return tarfile.open(fileobj=buffer)


def entry(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode = kind, mode
    info.size = 1 if kind == tarfile.REGTYPE else 0
    if kind == tarfile.SYMTYPE:
        info.linkname = "/etc/passwd"
    return info


def test_plain_files_and_folders_pass_with_safe_modes(tmp_path) -> None:
    with archive_with(entry("pkg", tarfile.DIRTYPE, 0o777), entry("pkg/run.sh", mode=0o4755), entry("pkg/a")) as tar:
        members = plain_members(tar)
        tar.extractall(tmp_path, members=members)
    assert [(m.name, oct(m.mode)) for m in members] == [("pkg", "0o755"), ("pkg/run.sh", "0o755"), ("pkg/a", "0o644")]
    assert (tmp_path / "pkg" / "a").read_bytes() == b"x"


@pytest.mark.parametrize("bad", [entry("/etc/cron.d/x"), entry("pkg/../../x"), entry("pkg/link", tarfile.SYMTYPE)])
def test_names_outside_links_and_devices_are_refused(bad) -> None:
    with archive_with(bad) as tar, pytest.raises(ValueError, match="unsafe member"):
        plain_members(tar)
