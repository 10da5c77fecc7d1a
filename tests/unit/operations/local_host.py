"""This machine as a stand-in host for unit tests: ``sh`` instead of SSH, doing what the runner does."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from fpgaops.core import Change, Fact, batch_script, parse_batch


def read_facts(facts: tuple[Fact, ...] | list[Fact]) -> dict:
    """The facts' values, read in one batch as the runner reads them (output decoded with surrogateescape)."""
    output = subprocess.run(["sh", "-c", batch_script(facts, "n0nce")], capture_output=True, check=True).stdout
    return parse_batch(facts, output.decode("utf-8", "surrogateescape"), "n0nce")


def apply(change: Change) -> None:
    """Uploads (created private, 0600), then the commands in order, stopping at the first failure."""
    for upload in change.uploads:
        data = upload.content if upload.content is not None else Path(upload.local_path).read_bytes()
        descriptor = os.open(upload.remote_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
    for command in change.commands:
        subprocess.run(["sh", "-c", command.shell], input=command.stdin, capture_output=True, check=True)
