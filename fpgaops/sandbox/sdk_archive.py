"""The sandbox's aws-fpga archive: ``aws-fpga-<ref>.tar.gz`` built from ``aws_fpga/`` and the platform table.

The toolkit installs the AWS FPGA SDK on hosts from an archive of the aws-fpga repository.  In
the sandbox that archive holds the stand-in tree next to this module (``sdk_setup.sh``, the
AFI Management Tools, the HDK parts), under a top folder ``aws-fpga/`` as in a clone, plus the
files that differ between releases, written from the release's row of the platform table
(``fpgaops.fpga_platform``): ``supported_vivado_versions.txt``, ``release_version.txt``, the
shell's ``shell_version.txt`` (one ``<mode>=<id>`` line per shell the release builds) and each
shell's floorplan constraints.

The archive is deterministic: entries sorted, fixed mtime/owner, modes normalised to 0755
(directories, executables) or 0644, no gzip timestamp.  Same tree, same bytes.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
from pathlib import Path

from fpgaops.fpga_platform import DEFAULT_REF, release, shell

TREE = Path(__file__).resolve().parent / "aws_fpga"
TOP_FOLDER = "aws-fpga"
FIXED_MTIME = 1_700_000_000  # 2023-11-14: any constant does
SKIPPED_NAMES = {"__pycache__", ".pytest_cache"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")


SHELL_DIR = "hdk/common/shell_stable"
TEMPLATE_CONSTRAINTS = "hdk/cl/examples/CL_TEMPLATE/build/constraints"


def release_files(ref: str) -> dict[str, str]:
    """The files of aws-fpga ``ref`` that the platform table says (path in the tree -> text).

    Example: ``release_files("v2.4.0")["supported_vivado_versions.txt"]`` -> ``"vivado v2024.1 (64-bit)\n..."``
    """
    entry = release(ref)
    files = {
        "supported_vivado_versions.txt": "".join(f"{line}\n" for line in entry.supported_vivado_lines()),
        "release_version.txt": f"RELEASE_VERSION={entry.release_version}\n",
        f"{SHELL_DIR}/shell_version.txt": "".join(f"{mode}={shell(mode).version}\n" for mode in entry.shells),
    }
    for mode in entry.shells:
        files[f"{SHELL_DIR}/build/constraints/{mode}_level_1_fp_cl.xdc"] = (
            f"# Floorplan of the CL partition for the {mode} (fpgaops sandbox stand-in).\n")
        files[f"{TEMPLATE_CONSTRAINTS}/{mode}_cl_pnr_user.xdc"] = (
            f"# Floorplan of the CL for the {mode} (pblocks in SLR0/SLR1/SLR2; fpgaops sandbox stand-in).\n")
    return files


def materialize_tree(dest: Path, ref: str = DEFAULT_REF) -> Path:
    """The stand-in tree of aws-fpga ``ref`` written out at ``dest`` (as a clone would be), for tests."""
    shutil.copytree(TREE, dest, symlinks=True, ignore=shutil.ignore_patterns(*SKIPPED_NAMES, "*.pyc", "*.pyo"))
    for relative, text in release_files(ref).items():
        (dest / relative).write_text(text)
    return dest


def build_sdk_archive(dest_dir: Path, ref: str = DEFAULT_REF) -> Path:
    """Write ``dest_dir/aws-fpga-<ref>.tar.gz`` from the stand-in tree and the table's ``ref`` row; returns its path.

    An archive already holding the same bytes is left untouched; a ref the table does not know is a
    ``PlatformTableError``.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / f"aws-fpga-{ref}.tar.gz"
    data = archive_bytes(TREE, release_files(ref))
    if not (target.is_file() and target.read_bytes() == data):
        partial = target.with_name(target.name + ".part")
        partial.write_bytes(data)
        partial.replace(target)
    return target


def archive_bytes(tree: Path, extra: dict[str, str] | None = None) -> bytes:
    """The gzip-compressed tar of ``tree`` under ``aws-fpga/``, with the ``extra`` files (path -> text) added."""
    extra = extra or {}
    paths = {path.relative_to(tree).as_posix(): path for path in _walk(tree)}
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_entry(TOP_FOLDER, tree))
        for relative in sorted(paths.keys() | extra.keys()):
            if relative in extra:
                data = extra[relative].encode()
                info = _fixed(tarfile.TarInfo(f"{TOP_FOLDER}/{relative}"))
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
                continue
            path = paths[relative]
            info = _entry(f"{TOP_FOLDER}/{relative}", path)
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
    info = _fixed(tarfile.TarInfo(name))
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


def _fixed(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """``info`` with mtime and owner fixed (every entry of the archive has the same)."""
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info
