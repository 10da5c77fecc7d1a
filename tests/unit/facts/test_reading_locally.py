"""File facts read for real on this machine, in one batch, on awkward paths (spaces, newlines, fifos, links)."""

from __future__ import annotations

import hashlib
import os

from fpgaops.facts import FileText, PathExists, PathStat, PathState
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


def test_file_text_keeps_missing_final_newline_and_non_utf8_bytes(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"no final newline \xff")
    text = read_facts([FileText(str(target))])[FileText(str(target))]
    assert text.encode("utf-8", "surrogateescape") == b"no final newline \xff"
