"""The sandbox's aws-fpga archive: ``aws-fpga-<ref>.tar.gz`` built from ``aws_fpga/``.

The toolkit installs the AWS FPGA SDK on hosts from an archive of the aws-fpga repository.  In
the sandbox that archive holds the stand-in tree next to this module (``sdk_setup.sh``, the
AFI Management Tools, the HDK parts), under a top folder ``aws-fpga/`` as in a clone.

The archive is deterministic: entries sorted, fixed mtime/owner, modes normalised to 0755
(directories, executables) or 0644, no gzip timestamp.  Same tree, same bytes.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

TREE = Path(__file__).resolve().parent / "aws_fpga"
TOP_FOLDER = "aws-fpga"
FIXED_MTIME = 1_700_000_000  # 2023-11-14: any constant does
SKIPPED_NAMES = {"__pycache__", ".pytest_cache"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")


def build_sdk_archive(dest_dir: Path, ref: str = "sandbox") -> Path:
    """Write ``dest_dir/aws-fpga-<ref>.tar.gz`` from the stand-in tree and return its path.

    An archive already holding the same bytes is left untouched.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / f"aws-fpga-{ref}.tar.gz"
    data = archive_bytes(TREE)
    if not (target.is_file() and target.read_bytes() == data):
        partial = target.with_name(target.name + ".part")
        partial.write_bytes(data)
        partial.replace(target)
    return target


def archive_bytes(tree: Path) -> bytes:
    """The gzip-compressed tar of ``tree`` under ``aws-fpga/``."""
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_entry(TOP_FOLDER, tree))
        for path in _walk(tree):
            info = _entry(f"{TOP_FOLDER}/{path.relative_to(tree).as_posix()}", path)
            if info.isreg():
                with path.open("rb") as content:
                    tar.addfile(info, content)
            else:
                tar.addfile(info)
    gz_buffer = io.BytesIO()
    with gzip.GzipFile(filename="", fileobj=gz_buffer, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(tar_buffer.getvalue())
    return gz_buffer.getvalue()


def _walk(tree: Path) -> list[Path]:
    """Every path under ``tree`` (not following symlinks), sorted, build leftovers skipped."""
    found = []
    for root, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_NAMES)
        base = Path(root)
        found += [base / d for d in dirs]
        found += [base / f for f in files if not f.endswith(SKIPPED_SUFFIXES)]
    return sorted(found, key=lambda p: p.relative_to(tree).as_posix())


def _entry(name: str, path: Path) -> tarfile.TarInfo:
    """A tar header for ``path`` with everything but name, type, size and mode fixed."""
    info = tarfile.TarInfo(name)
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    if path.is_symlink():
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(path)
        info.mode = 0o777
    elif path.is_dir():
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.size = path.stat().st_size
        info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
    return info
