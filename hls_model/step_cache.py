"""Skip a step whose inputs did not change: a fingerprint of its inputs is stored beside its outputs.

A step's folder holds ``step.json`` (``{"fingerprint": ..., "inputs": ...}``), written last, after
every output: an interrupted step has none and runs again. The fingerprint is the sha256 of the
canonical JSON of what the step reads: its configuration, the sha256 of its input files, and
the sha256 of the code (``code_sha256``).

Example::

    inputs = {"config": config.section("train"), "data": file_sha256(data / "train.npz")}
    if not is_current(out_dir, inputs):
        ...  # do the work, write the outputs
        mark_done(out_dir, inputs)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CODE_GLOBS = ("hls_model/*.py", "rhythm_service/features.py", "rhythm_service/spectrum.py",
              "rhythm_service/register_map.py", "rhythm_service/beat_tracking.py", "templates/hls_model/*")
RECORD = "step.json"


def file_sha256(path: str | Path) -> str:
    """The sha256 (hex) of a file's bytes.

    Example: ``file_sha256("model/weights.npz")``.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_files(root: Path, exclude: tuple[str, ...] = ()) -> list[Path]:
    """Every file under ``root`` (sorted by relative path) whose name matches none of the ``exclude`` globs."""
    return sorted(
        (p for p in root.rglob("*") if p.is_file() and not any(p.match(pattern) for pattern in exclude)),
        key=lambda p: p.relative_to(root).as_posix(),
    )


def code_sha256() -> str:
    """The sha256 of the code the steps run (hls_model, the shared rhythm_service modules, templates)."""
    files = sorted({p for pattern in CODE_GLOBS for p in REPO.glob(pattern) if p.is_file()})
    lines = "".join(f"{file_sha256(p)}  {p.relative_to(REPO).as_posix()}\n" for p in files)
    return hashlib.sha256(lines.encode()).hexdigest()


def fingerprint(inputs: dict[str, Any]) -> str:
    """The sha256 of the canonical JSON of ``inputs``."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def is_current(step_dir: Path, inputs: dict[str, Any]) -> bool:
    """Whether ``step_dir`` holds the outputs of a completed run on exactly these inputs."""
    record = step_dir / RECORD
    if not record.is_file():
        return False
    try:
        return json.loads(record.read_text()).get("fingerprint") == fingerprint(inputs)
    except json.JSONDecodeError:
        return False


def mark_done(step_dir: Path, inputs: dict[str, Any]) -> None:
    """Record that the step's outputs in ``step_dir`` are complete for ``inputs`` (call last)."""
    record = {"fingerprint": fingerprint(inputs), "inputs": inputs}
    (step_dir / RECORD).write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")


def invalidate(step_dir: Path) -> None:
    """Forget a step's completion (before rewriting its outputs)."""
    (step_dir / RECORD).unlink(missing_ok=True)
