"""Versioned releases: ``<root>/releases/<id>/`` trees with ``current`` and ``previous`` symlinks.

Like Capistrano's layout: each release is unpacked into its own directory named by its content
hash (``archives.archive``), ``current`` is switched to it atomically and ``previous`` keeps the
release it replaced, so ``rolled_back`` can switch back in one rename.  Old releases beyond
``keep`` are pruned; ``current`` and ``previous`` are never pruned.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from shlex import quote

from fpgaops.core import Change, Operation
from fpgaops.facts import PathState
from fpgaops.facts.commands import CommandStatus
from fpgaops.operations.operation import PlanError, absolute, as_root, declare

__all__ = ["release_current", "releases_pruned", "rolled_back"]


def _switch(link: str, target: str) -> str:
    """Shell replacing the symlink ``link`` by one to ``target`` atomically (temp link + ``mv -T``)."""
    temp = f"{link}.fpgaops-new"
    return f"ln -sfn {quote(target)} {quote(temp)} && mv -Tf {quote(temp)} {quote(link)}"


def release_current(root: str, release_id: str, *, tags: Iterable[str] = (), notify: Iterable[str] = ()) -> Operation:
    """``<root>/current`` points at ``releases/<release_id>``; the release it pointed at becomes ``previous``.

    The release directory must exist (unpack it first with ``archives.archive``); the links are
    relative, so the tree can be moved.
    Args: root: absolute path holding ``releases/``; release_id: the release's directory name; tags, notify.
    Example: ``release_current("/opt/rhythm", "3f9a1c2e4b5d6f70", notify=["restart rhythm"])``
    """
    root = absolute(root)
    current, previous = posixpath.join(root, "current"), posixpath.join(root, "previous")
    target = f"releases/{release_id}"
    state = PathState(current)

    def plan(values) -> Change | None:
        now = values[state]
        if now is not None and now.kind != "link":
            raise PlanError(f"{current} is a {now.kind}, not a symlink: move it away first")
        if now is not None and now.link_target == target:
            return None
        commands = [as_root(f"test -d {quote(posixpath.join(root, target))}")]
        if now is not None:
            commands.append(as_root(_switch(previous, now.link_target or "")))
        commands.append(as_root(_switch(current, target)))
        before = f" (previous: {now.link_target})" if now is not None else ""
        return Change(description=f"switch {current} -> {target}{before}", commands=tuple(commands))

    return declare(f"release {release_id} current in {root}", [state], plan, tags=tags, notify=notify)


def rolled_back(root: str, *, tags: Iterable[str] = (), notify: Iterable[str] = ()) -> Operation:
    """``current`` and ``previous`` swapped: the release before the last switch serves again.

    A second rollback rolls forward.  Without a ``previous`` release: an error saying so.
    Args: root: absolute path holding ``releases/``; tags, notify.
    Example: ``rolled_back("/opt/rhythm", notify=["restart rhythm"])``
    """
    root = absolute(root)
    current, previous = posixpath.join(root, "current"), posixpath.join(root, "previous")
    now, before = PathState(current), PathState(previous)

    def plan(values) -> Change | None:
        if values[before] is None or values[before].kind != "link":
            raise PlanError(f"{previous}: no previous release to roll back to")
        if values[now] is None or values[now].kind != "link":
            raise PlanError(f"{current}: no current release")
        old, new = values[now].link_target or "", values[before].link_target or ""
        return Change(description=f"roll back {current}: {old} -> {new}",
                      commands=(as_root(f"{_switch(current, new)} && {_switch(previous, old)}"),))

    return declare(f"roll back the release in {root}", [now, before], plan, tags=tags, notify=notify)


def releases_pruned(root: str, keep: int = 3, *, tags: Iterable[str] = ()) -> Operation:
    """At most ``keep`` releases in ``<root>/releases`` (the oldest removed), never ``current`` or ``previous``.

    Args: root: absolute path holding ``releases/``; keep: how many to keep (at least 2); tags.
    Example: ``releases_pruned("/opt/rhythm", keep=3)``
    """
    if keep < 2:
        raise ValueError("releases_pruned: keep at least 2 releases (current and previous)")
    root = absolute(root)
    releases = posixpath.join(root, "releases")
    # the releases to remove: past the newest `keep` (by time), counting current and previous first; never those
    links = " ".join(f"{quote(root)}/{name}" for name in ("current", "previous"))
    select = (f"cd {quote(releases)} 2>/dev/null || exit 0; linked=; n=0; "
              f"for l in {links}; do [ -L \"$l\" ] && linked=\"$linked $(readlink \"$l\")\" && n=$((n + 1)); done; "
              "ls -1t | while read -r r; do "
              'case "$linked " in *" releases/$r "*) continue;; esac; '
              f'n=$((n + 1)); [ "$n" -gt {keep} ] && printf "%s\\n" "$r"; done; true')
    extra = CommandStatus(f"test -z \"$({select})\"")

    def plan(values) -> Change | None:
        if values[extra] == 0:
            return None
        return Change(description=f"prune old releases in {releases} (keep {keep})",
                      commands=(as_root(f"({select}) | while read -r r; do rm -rf -- {quote(releases)}/\"$r\"; done"),))

    return declare(f"at most {keep} releases in {releases}", [extra], plan, tags=tags, reread=True)
