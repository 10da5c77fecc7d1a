"""File facts read for real on this machine, in one batch, on awkward paths (spaces, newlines, fifos, links)."""

from __future__ import annotations

import hashlib
import os

from fpgaops.facts import FileText, FolderFiles, PathExists, PathStat, PathState, UvHost, UvTool
from tests.unit.operations.local_host import read_facts


def test_file_facts_on_awkward_paths(tmp_path):
    odd = tmp_path / "name with spaces\nand a newline"
    odd.write_bytes(b"data\n@@fpgaops-fact not a marker\n")
    odd.chmod(0o4750)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    dangling = tmp_path / "dangling"
    dangling.symlink_to("nowhere")
    facts = [PathState(str(odd)), FileText(str(odd)), PathState(str(fifo)), PathState(str(dangling)),
             PathExists(str(dangling)), PathExists(str(tmp_path / "absent")), FileText(str(tmp_path)),
             PathState(str(tmp_path / "absent"))]
    values = read_facts(facts)
    uid, gid = os.getuid(), os.getgid()
    assert values[facts[0]] == PathStat(kind="file", mode=0o4750, uid=uid, gid=gid, user=values[facts[0]].user,
                                        group=values[facts[0]].group,
                                        sha256=hashlib.sha256(odd.read_bytes()).hexdigest())
    assert values[facts[1]] == "data\n@@fpgaops-fact not a marker\n"
    assert values[facts[2]] == PathStat(kind="other")
    assert values[facts[3]] == PathStat(kind="link", link_target="nowhere")
    assert (values[facts[4]], values[facts[5]]) == (True, False)
    assert values[facts[6]] is None  # a directory has no text
    assert values[facts[7]] is None


def test_paths_read_together_read_as_each_alone(tmp_path):
    odd = tmp_path / "spaces, a newline\nand a form feed\x0c"
    odd.write_bytes(b"x")
    odd.chmod(0o4750)
    (tmp_path / "empty").touch()
    (tmp_path / "dir").mkdir(mode=0o710)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "to-file").symlink_to(odd)
    (tmp_path / "dangling").symlink_to("nowhere\nat all")
    (tmp_path / "to-dir").symlink_to(tmp_path / "dir")
    names = [odd.name, "empty", "dir", "fifo", "to-file", "dangling", "to-dir", "absent", "dir/absent"]
    facts = [PathState(str(tmp_path / name)) for name in names]
    together = read_facts(facts)
    assert together == {fact: read_facts([fact])[fact] for fact in facts}
    assert [value.kind if value else None for value in together.values()] == [
        "file", "file", "directory", "other", "link", "link", "link", None, None]
    assert together[facts[0]].sha256 == hashlib.sha256(b"x").hexdigest() and together[facts[0]].mode == 0o4750
    assert together[facts[5]].link_target == "nowhere\nat all"


def test_file_text_keeps_missing_final_newline_and_non_utf8_bytes(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"no final newline \xff")
    text = read_facts([FileText(str(target))])[FileText(str(target))]
    assert text.encode("utf-8", "surrogateescape") == b"no final newline \xff"


def test_folder_files_lists_regular_files_with_their_sizes(tmp_path):
    folder = tmp_path / "wheels with spaces"
    folder.mkdir()
    (folder / "a-1.0-py3-none-any.whl").write_bytes(b"x" * 10)
    (folder / "odd name\n.whl").write_bytes(b"")
    (folder / "sub").mkdir()
    (folder / "sub" / "deeper.whl").write_bytes(b"y")
    facts = [FolderFiles(str(folder)), FolderFiles(str(tmp_path / "absent")),
             FolderFiles(str(folder / "a-1.0-py3-none-any.whl"))]
    values = read_facts(facts)
    assert values[facts[0]] == {"a-1.0-py3-none-any.whl": 10, "odd name\n.whl": 0}
    assert values[facts[1]] is None and values[facts[2]] is None  # no folder there


def test_uv_tool_reads_this_machine_and_whether_uv_is_installed(tmp_path):
    (tmp_path / "uv").write_text("#!/bin/sh\n")
    (tmp_path / "uv").chmod(0o755)
    (tmp_path / "not-executable").write_text("")
    facts = [UvTool(str(tmp_path / name), "0.13.8") for name in ("uv", "none", "not-executable")]
    values = read_facts(facts)
    glibc = tuple(int(part) for part in os.confstr("CS_GNU_LIBC_VERSION").split()[1].split(".")[:2])
    assert [values[fact] for fact in facts] == [UvHost(os.uname().machine, glibc, "0.13.8"),
                                                UvHost(os.uname().machine, glibc, None),
                                                UvHost(os.uname().machine, glibc, None)]
