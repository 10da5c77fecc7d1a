"""The pure helpers under the operations: managed blocks and lines, secret masking, strict templates."""

from __future__ import annotations

import pytest

from fpgaops.operations import commands, cron, files, waits
from fpgaops.operations.masking import masked_diff, secret_values
from fpgaops.operations.text_blocks import with_block, with_line
from fpgaops.templates import TemplateError, render_template


def test_block_edits_keep_every_other_byte():
    text = "a\r\nb\n# BEGIN FPGAOPS x\nold\n# END FPGAOPS x\nc"
    assert with_block(text, "x", ["new"]) == "a\r\nb\n# BEGIN FPGAOPS x\nnew\n# END FPGAOPS x\nc"
    assert with_block(text, "x", ["old"]) is text
    assert with_block(text, "x", None) == "a\r\nb\nc"
    assert with_block("", "y", []) == "# BEGIN FPGAOPS y\n# END FPGAOPS y\n"
    assert with_block("a", "y", None) == "a"


def test_block_names_are_one_line():
    with pytest.raises(ValueError, match="one non-empty line"):
        with_block("", "two\nlines", ["x"])


def test_line_edits():
    assert with_line("x=1\ny=2\nx=3", r"^x=", "x=9") == "x=9\ny=2\n"
    assert with_line("x=1\ny=2\nx=3", r"^x=", "x=9").count("x=") == 1
    assert with_line("y=2", r"^x=", "x=9") == "y=2\nx=9\n"
    assert with_line("x=1\ny=2\n", r"^x=", None) == "y=2\n"


def test_secret_values_by_name_nested_and_listed():
    variables = {"port": 8080, "db": {"password": "pw1"}, "API_Token": "t0k", "keys": {"s3": ["k1", "k2"]},
                 "enabled": True, "empty_secret": ""}
    assert secret_values(variables) == ("pw1", "t0k")
    assert secret_values(variables, ["keys"]) == ("pw1", "t0k", "k1", "k2")


def test_masked_diff_never_shows_old_or_new_secret_values():
    old = "TOKEN=old-value\nSAME=s3cret\nPORT=1\n"
    new = "TOKEN=new-value\nSAME=s3cret\nPORT=2\n"
    diff = masked_diff("/etc/x", old, new, ("new-value", "s3cret"))
    assert "old-value" not in diff and "new-value" not in diff and "s3cret" not in diff
    assert "-TOKEN=********(previous)\n+TOKEN=********\n" in diff
    assert " SAME=********\n" in diff  # an unchanged secret line is context, not a change


def test_a_multi_line_secret_is_masked_whole():
    key = "-----BEGIN KEY-----\nabc\n-----END KEY-----"
    diff = masked_diff("/etc/key.pem", "", f"{key}\n", (key,))
    assert "abc" not in diff and "+********\n" in diff


def test_templates_are_strict_and_keep_their_final_newline(tmp_path):
    (tmp_path / "a.j2").write_text("port={{ port }}\nhost={{ cfg.host }}\n")
    (tmp_path / "bad.j2").write_text("{% if %}\n")
    assert render_template("a.j2", {"port": 1, "cfg": {"host": "h"}}, tmp_path) == "port=1\nhost=h\n"
    with pytest.raises(TemplateError, match=r"template 'a.j2', line 1: port=\{\{ port \}\}: 'port' is undefined"):
        render_template("a.j2", {}, tmp_path)
    with pytest.raises(TemplateError, match=r"template 'a.j2', line 2: .*has no attribute 'host'"):
        render_template("a.j2", {"port": 1, "cfg": {}}, tmp_path)
    with pytest.raises(TemplateError, match=r"template 'bad.j2', line 1"):
        render_template("bad.j2", {}, tmp_path)


def test_steps_depending_on_earlier_steps_read_their_facts_again():
    assert cron.cron_block("centos", "a", ["0 1 * * * x"]).reread
    assert files.block("/etc/hosts", "a", ["x"]).reread and files.line("/etc/hosts", "^x", "x").reread
    assert waits.port_open("127.0.0.1", 80).reread and waits.http_status("http://127.0.0.1/").reread
    assert commands.command("x", creates="/x").reread and not commands.command("x").reread
    assert not files.file("/etc/x", "x").reread
