"""Batched fact reading: one script, every fact's output and exit status, robust to hostile content."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

import pytest

from fpgaops.core import FACT_MARK, Fact, FactError, batch_script, parse_batch


@dataclass(frozen=True)
class Echo(Fact[tuple[str, int]]):
    name = "echo"
    text: str
    status: int = 0

    def command(self) -> str:
        return f"printf '%s' '{self.text}'; exit {self.status}"

    def process(self, output: str, status: int) -> tuple[str, int]:
        return output, status


@dataclass(frozen=True)
class Number(Fact[int]):
    name = "number"
    text: str

    def command(self) -> str:
        return f"echo {self.text}"

    def process(self, output: str, status: int) -> int:
        return int(output)


def run_batch(facts, nonce="n0nce"):
    out = subprocess.run(["sh", "-c", batch_script(facts, nonce)], capture_output=True, text=True).stdout
    return parse_batch(facts, out, nonce)


def test_every_fact_gets_its_own_output_and_exit_status():
    facts = [Echo("first line\nsecond"), Echo("", 3), Echo(f"{FACT_MARK} other 0 0")]
    assert run_batch(facts) == {facts[0]: ("first line\nsecond", 0), facts[1]: ("", 3),
                                facts[2]: (f"{FACT_MARK} other 0 0", 0)}


@dataclass(frozen=True)
class Late(Fact[str]):
    """A reading that answers after ``delay_s`` (the batch's readings run at once)."""

    name = "late"
    text: str
    delay_s: float

    def command(self) -> str:
        return f"sleep {self.delay_s}; printf '%s' '{self.text}'; exit 2"

    def process(self, output: str, status: int) -> str:
        return f"{output}:{status}"


@pytest.mark.parametrize("tmpdir", [None, "/nonexistent/tmp"])  # the second: no temporary folder, one by one
def test_readings_finishing_in_any_order_come_back_in_order_with_their_status(tmpdir, monkeypatch, tmp_path):
    if tmpdir:
        monkeypatch.setenv("TMPDIR", tmpdir)
    else:
        monkeypatch.setenv("TMPDIR", str(tmp_path))
    facts = [Late("slow", 0.3), Late("quick", 0), Late("middle", 0.1), Echo("plain")]
    assert run_batch(facts) == {facts[0]: "slow:2", facts[1]: "quick:2", facts[2]: "middle:2", facts[3]: ("plain", 0)}
    assert list(tmp_path.iterdir()) == []  # the readings' folder is removed


def test_an_unparsable_output_names_the_fact():
    with pytest.raises(FactError, match=r"Number\(text='abc'\).*cannot parse"):
        run_batch([Number("abc")])


def test_a_truncated_batch_is_an_error_not_a_wrong_value():
    facts = [Echo("a"), Echo("b")]
    out = subprocess.run(["sh", "-c", batch_script(facts[:1], "x")], capture_output=True, text=True).stdout
    with pytest.raises(FactError, match="stopped early"):
        parse_batch(facts, out, "x")


def test_moving_a_staged_upload_removes_copies_an_interrupted_run_left(tmp_path) -> None:
    import subprocess

    from fpgaops.connection import move_into_place

    stage = tmp_path / ".fpgaops-stage"
    stage.mkdir()
    (stage / "0123456789abcdef-.env.fpgaops-tmp-1a2b").write_text("left by a killed run\n")
    (stage / "fedcba9876543210-.other.fpgaops-tmp-9f9f").write_text("another upload in flight\n")
    staged = stage / "aaaaaaaaaaaaaaaa-.env.fpgaops-tmp-1a2b"
    staged.write_text("new\n")
    subprocess.run(["sh", "-c", move_into_place(str(staged), str(tmp_path / "env"))], check=True)
    assert (tmp_path / "env").read_text() == "new\n"
    assert [p.name for p in stage.iterdir()] == ["fedcba9876543210-.other.fpgaops-tmp-9f9f"]
