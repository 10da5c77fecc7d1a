"""Unpacking tarballs that came from elsewhere (a model package from S3, a fetched build) safely.

Python 3.11.2 (Debian 12) has no ``extractall(filter="data")``: ``plain_members`` does its job
here: only files and folders, inside the destination (no absolute names, no ``..``, no links or
devices), owner-readable modes (executable bits kept, no setuid).

Example::

    with tarfile.open("beat-model-74c787079d653580.tar.gz") as archive:
        archive.extractall("build/deploy/packages", members=plain_members(archive))
"""

from __future__ import annotations

import tarfile
from pathlib import PurePosixPath


def plain_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The archive's members if all are plain files and folders inside it; ValueError naming the first that is not."""
    members = archive.getmembers()
    for member in members:
        parts = PurePosixPath(member.name).parts
        if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
            raise ValueError(f"unsafe member in the tarball: {member.name!r} (only plain files and folders inside it)")
        member.mode = 0o755 if member.isdir() or member.mode & 0o100 else 0o644
    return members
