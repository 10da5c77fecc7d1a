"""Archives: a laptop tarball unpacked on the host, once per archive content."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from pathlib import Path
from shlex import quote

from fpgaops.core import Change, Operation
from fpgaops.facts import FileText
from fpgaops.operations.operation import absolute, as_root, declare
from fpgaops.operations.remote_file import FileContent, octal, parse_mode

__all__ = ["archive"]

MARKER_NAME = ".fpgaops-archive.sha256"


def archive(
    local_path: str | Path,
    dest_dir: str,
    *,
    owner: str = "root",
    group: str = "root",
    mode: int | str = 0o755,
    strip_components: int = 0,
    tags: Iterable[str] = (),
    notify: Iterable[str] = (),
) -> Operation:
    """The content of a tar archive (any compression tar detects) as the directory ``dest_dir``.

    Idempotent by the archive's sha256, recorded (with the unpacking options) in
    ``<dest_dir>/.fpgaops-archive.sha256``.  The archive is uploaded next to ``dest_dir``,
    unpacked into a temporary directory there, owned and marked, then swapped in by renames: a
    half-unpacked tree is never at ``dest_dir`` (it is missing only between two renames).
    Whatever was at ``dest_dir`` is replaced, not merged.  The directory holding it must exist.
    Args:
        local_path: the laptop archive; dest_dir: absolute path of the unpacked tree on the host;
        owner, group: of every unpacked file; mode: of ``dest_dir`` itself;
        strip_components: leading path components to drop (as tar's ``--strip-components``).
        tags, notify: as for ``files.file``.
    Example: ``archive("build/aws-fpga-sdk.tar.gz", "/opt/aws-fpga", strip_components=1)``
    """
    dest = absolute(dest_dir)
    content = FileContent.of_local_file(local_path)
    mode = parse_mode(mode)
    stamp = f"{content.sha256} strip_components={int(strip_components)} owner={owner}:{group} mode={octal(mode)}\n"
    parent, name = posixpath.split(dest)
    uploaded = posixpath.join(parent, f".{name}.fpgaops-archive-{content.sha256[:16]}")
    unpacking = posixpath.join(parent, f".{name}.fpgaops-unpack-{content.sha256[:16]}")
    previous = posixpath.join(parent, f".{name}.fpgaops-previous")
    marker = FileText(posixpath.join(dest, MARKER_NAME))
    strip = f" --strip-components={int(strip_components)}" if strip_components else ""
    d, u, t, p = quote(dest), quote(uploaded), quote(unpacking), quote(previous)

    def plan(values) -> Change | None:
        if values[marker] == stamp:
            return None
        return Change(
            description=f"unpack {Path(local_path).name} to {dest}",
            uploads=(content.upload_to(uploaded),),
            commands=(
                as_root(f"rm -rf {t} && mkdir {t} && tar -xf {u} -C {t} --no-same-owner{strip}"),
                as_root(f"printf %s {quote(stamp)} > {quote(posixpath.join(unpacking, MARKER_NAME))}"
                        f" && chown -R {quote(f'{owner}:{group}')} {t} && chmod {octal(mode)} {t}"),
                as_root(f"rm -rf {p} && {{ [ ! -e {d} ] || mv -T {d} {p}; }}"
                        f" && {{ mv -T {t} {d} || {{ mv -T {p} {d}; exit 1; }}; }} && rm -rf {p} {u}"),
            ),
        )

    return declare(f"archive {Path(local_path).name} -> {dest}", [marker], plan, tags=tags, notify=notify)
