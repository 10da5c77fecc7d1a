"""Design checkpoints of the stand-in: deterministic zip archives (a real .dcp is a zip too).

The content depends only on the stage, the part, the top module and the bytes of the design
sources, so the same CL built twice gives the same DCP and the same dcp_hash.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path


def sources_digest(sources: list[Path]) -> dict[str, str]:
    """File name -> sha256 of each source, sorted by name."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(sources, key=lambda p: p.name)}


def write_checkpoint(path: Path, stage: str, part: str, top: str, digests: dict[str, str]) -> None:
    """Write one checkpoint archive at ``path``."""
    design = {
        "format": "fpgaops sandbox stand-in design checkpoint",
        "stage": stage,
        "part": part,
        "top": top,
        "sources": digests,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in (
            ("dcp.xml", _dcp_xml(stage, part, top)),
            ("design.json", json.dumps(design, indent=2, sort_keys=True) + "\n"),
        ):
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)


def _dcp_xml(stage: str, part: str, top: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<DCP Version="1.0" Stage="{stage}" Part="{part}" Top="{top}" Generator="fpgaops sandbox stand-in"/>\n'
    )


def slack_ns(digests: dict[str, str]) -> float:
    """A deterministic worst setup slack (met) between 0.05 and 0.95 ns, derived from the sources."""
    seed = int(hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()[:8], 16)
    return 0.05 + (seed % 900) / 1000
