"""Facts about paths: what is there (type, mode, owner, sha256), whether it exists, a text file's content,
the files of a folder.

All are read as root: the files an operation manages live in root-owned places (/etc, /opt,
/var/lib) and some are private (a 0600 ``.env``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from shlex import quote

from fpgaops.core import Fact


@dataclass(frozen=True)
class PathStat:
    """What is at a path: ``kind`` is "file", "directory", "link" or "other".

    Files and directories carry mode (an int, compare as octal), numeric and named owner and group;
    files their content's sha256; links their target.
    """

    kind: str
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    user: str | None = None
    group: str | None = None
    sha256: str | None = None
    link_target: str | None = None

    def owned_by(self, owner: str, group: str) -> bool:
        """True when owner and group match, given as names or as numeric ids."""
        return owner in (self.user, str(self.uid)) and group in (self.group, str(self.gid))


@dataclass(frozen=True)
class PathState(Fact[PathStat | None]):
    """What is at ``path`` (a PathStat), or None when nothing is.

    Args: path: absolute path on the host.
    Example: ``PathState("/etc/rhythm/rhythm.env")`` ->
    ``PathStat(kind="file", mode=0o600, uid=0, gid=0, user="root", group="root", sha256="9f86...")``
    """

    name = "path_state"
    needs_root = True
    path: str

    def command(self) -> str:
        # sha256sum reads stdin so that odd file names never change its output format
        return (
            f"p={quote(self.path)}\n"
            'if [ -L "$p" ]; then echo link; readlink -- "$p"\n'
            "elif [ -d \"$p\" ]; then stat -c 'directory %a %u %g %U %G' -- \"$p\"\n"
            "elif [ -f \"$p\" ]; then stat -c 'file %a %u %g %U %G' -- \"$p\" && sha256sum < \"$p\"\n"
            'elif [ -e "$p" ]; then echo other\n'
            "else echo absent; fi"
        )

    joint = True

    @classmethod
    def joint_command(cls, facts: Sequence[PathState]) -> str:
        # one stat for every path, one sha256sum for every regular file, readlink for links only:
        # NUL ends each stat field (paths cannot hold one), an empty field ends stat's part
        return (f"set -- {' '.join(quote(fact.path) for fact in facts)}\n"
                "stat --printf '%n\\0%F\\0%a\\0%u\\0%g\\0%U\\0%G\\0' -- \"$@\"; printf '\\0'\n"
                "for p; do [ -f \"$p\" ] && [ ! -L \"$p\" ] && printf '%s\\0' \"$p\"; done | xargs -0 -r sha256sum --\n"
                "printf '\\0'\n"
                "for p; do [ -L \"$p\" ] && { readlink -- \"$p\"; printf '\\0'; }; done; true")

    @classmethod
    def joint_values(cls, facts: Sequence[PathState], output: str) -> list[PathStat | None]:
        fields = output.split("\0")
        found: dict[str, list[str]] = {}
        at = 0
        while fields[at]:  # 7 fields a path that exists: name, type, mode, uid, gid, user, group
            found[fields[at]] = fields[at + 1:at + 7]
            at += 7
        hashes = [line.lstrip("\\").split(" ", 1)[0] for line in fields[at + 1].split("\n") if line]
        targets = iter(target.removesuffix("\n") for target in fields[at + 2:])
        values: list[PathStat | None] = []
        for fact in facts:
            kind, *owner = found.get(fact.path) or ["absent"]
            if kind == "symbolic link":
                values.append(PathStat(kind="link", link_target=next(targets)))
            elif kind == "directory":
                values.append(_owned("directory", owner))
            elif kind in ("regular file", "regular empty file"):
                if not hashes:
                    raise ValueError(f"no sha256 for {fact.path!r} (the file went while it was read?)")
                values.append(_owned("file", owner, hashes.pop(0)))
            else:
                values.append(None if kind == "absent" else PathStat(kind="other"))
        if hashes:
            raise ValueError(f"{len(hashes)} sha256 more than regular files (a file came while it was read?)")
        return values

    def process(self, output: str, status: int) -> PathStat | None:
        first, _, rest = output.partition("\n")
        kind, *fields = first.split(" ")
        if kind == "absent":
            return None
        if kind == "link":
            return PathStat(kind="link", link_target=rest.removesuffix("\n"))
        if kind == "other":
            return PathStat(kind="other")
        if kind not in ("file", "directory"):
            raise ValueError(f"unexpected kind {kind!r}")
        return _owned(kind, fields, rest.split()[0] if kind == "file" else None)


def _owned(kind: str, fields: Sequence[str], sha256: str | None = None) -> PathStat:
    """A file or directory from stat's ``mode uid gid user group`` (mode in octal)."""
    mode, uid, gid, user, group = fields
    return PathStat(kind=kind, mode=int(mode, 8), uid=int(uid), gid=int(gid), user=user, group=group, sha256=sha256)


@dataclass(frozen=True)
class PathExists(Fact[bool]):
    """Whether anything (file, directory, even a dangling symlink) is at ``path``.

    Args: path: absolute path on the host.
    Example: ``PathExists("/opt/aws-fpga/sdk_setup.sh")`` -> True
    """

    name = "path_exists"
    needs_root = True
    path: str

    def command(self) -> str:
        return f"[ -e {quote(self.path)} ] || [ -L {quote(self.path)} ]"

    def process(self, output: str, status: int) -> bool:
        return status == 0


@dataclass(frozen=True)
class FileText(Fact[str | None]):
    """The content of the regular file at ``path``, or None when there is no such file.

    For small text files (templates, managed blocks, markers): the whole content is read.
    Args: path: absolute path on the host.
    Example: ``FileText("/opt/rhythm/venv/.fpgaops-requirements.sha256")`` -> "3a7b... python=python3\\n"
    """

    name = "file_text"
    needs_root = True
    path: str

    def command(self) -> str:
        return f"[ -f {quote(self.path)} ] && cat -- {quote(self.path)}"

    def process(self, output: str, status: int) -> str | None:
        return output if status == 0 else None


@dataclass(frozen=True)
class FolderFiles(Fact[dict[str, int] | None]):
    """The regular files directly in the folder ``path`` (name -> size in bytes), or None when it is not a folder.

    Args: path: absolute path on the host.
    Example: ``FolderFiles("/opt/rhythm/.venv.fpgaops-wheels")`` -> ``{"numpy-1.26.4-...whl": 18261052}``
    """

    name = "folder_files"
    needs_root = True
    path: str

    def command(self) -> str:
        path = quote(self.path)
        return f"[ -d {path} ] && find {path} -mindepth 1 -maxdepth 1 -type f -printf '%s %f\\0'"

    def process(self, output: str, status: int) -> dict[str, int] | None:
        if status != 0:
            return None
        files = {}
        for entry in filter(None, output.split("\0")):
            size, name = entry.split(" ", 1)
            files[name] = int(size)
        return files
