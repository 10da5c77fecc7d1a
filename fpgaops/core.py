"""The engine's vocabulary as types: Fact, Command, Upload, Change, Operation.

- A **Fact** is a named, typed reading of a host's current state: the shell command that reads
  it and the parser of that command's output.  Facts are frozen dataclasses (their fields are
  the fact's arguments), so equal facts collapse into one reading, and every fact an operation
  list needs is read in one batched round trip (``batch_script`` / ``parse_batch``); facts of
  a class that knows how (``joint_command``) are read by one command for all of them.
- An **Operation** says what a host should be.  Given the values of the facts it declared, its
  ``plan`` returns the Change that closes the gap, or None when there is nothing to do.  It
  never runs anything itself.
- A **Change** is what the runner will do for one operation: uploads, then commands, with a
  diff where text is edited (secrets masked) and the handlers it notifies.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

T = TypeVar("T")

FACT_MARK = "@@fpgaops-fact"  # separates facts in a batched reading


class FactError(RuntimeError):
    """A fact's output could not be understood (the message names the fact and shows the output)."""


@dataclass(frozen=True)
class Fact(Generic[T]):
    """Base of all facts: subclasses are frozen dataclasses whose fields are the fact's arguments.

    Subclasses set ``name`` and implement ``command`` and ``process``; ``needs_root`` marks facts
    that can only be read as root (the batch then runs under sudo).
    """

    name: ClassVar[str] = ""
    needs_root: ClassVar[bool] = False

    def command(self) -> str:
        """The POSIX sh command whose stdout (and exit status) tells the state."""
        raise NotImplementedError

    def process(self, output: str, status: int) -> T:
        """Turn the command's output and exit status into the fact's value."""
        raise NotImplementedError

    # A class that can read many of its facts with one command sets ``joint`` and implements both:
    joint: ClassVar[bool] = False

    @classmethod
    def joint_command(cls, facts: Sequence[Any]) -> str:
        """One command reading all of ``facts`` (facts of this class)."""
        raise NotImplementedError

    @classmethod
    def joint_values(cls, facts: Sequence[Any], output: str) -> list[Any]:
        """Each fact's value, in order, from ``joint_command``'s output; ValueError when it does not fit."""
        raise NotImplementedError


def _sections(facts: Sequence[Fact]) -> list[list[Fact]]:
    """The batch's readings, in first-seen order: one fact, or every fact of a ``joint`` class (two or more)."""
    groups: dict[Any, list[Fact]] = {}
    for fact in facts:
        if fact.joint:
            groups.setdefault(type(fact), []).append(fact)
        else:
            groups.setdefault(fact, [fact])
    return list(groups.values())


def batch_script(facts: Sequence[Fact], nonce: str | None = None) -> str:
    """One sh script reading every fact; each reading is framed by a marker line with a nonce.

    The readings run at once (each in the background, its output kept in a private temporary
    folder, then all printed in order), so a batch takes about as long as its slowest reading;
    where no temporary folder can be made they run one after the other.  The nonce keeps a file's
    content that happens to contain the marker from being misread.
    """
    nonce = nonce or secrets.token_hex(8)
    readings = []
    for index, section in enumerate(_sections(facts)):
        command = type(section[0]).joint_command(section) if len(section) > 1 else section[0].command()
        readings.append(f"r{index}() {{ ( {command}\n) 2>/dev/null; }}")
    numbers = " ".join(map(str, range(len(readings))))
    read = f"r$i; printf '\\n{FACT_MARK} {nonce} %s %d\\n' \"$i\" $?"
    one_by_one = f"for i in {numbers}; do {read}; done"
    if len(readings) == 1:
        return f"{readings[0]}\n{one_by_one}\n"
    return "\n".join(readings) + f"""
if d=$(mktemp -d 2>/dev/null); then
  for i in {numbers}; do {{ {read}; }} >"$d/$i" & done
  wait
  (cd "$d" && cat {numbers})
  rm -rf "$d"
else
  {one_by_one}
fi
"""


def parse_batch(facts: Sequence[Fact], output: str, nonce: str,
                optional: Collection[Fact] = frozenset()) -> dict[Fact, Any]:
    """The value of every fact, from the output of ``batch_script(facts, nonce)``.

    A reading of ``optional`` facts only (facts read ahead) whose output does not parse is left out.
    """
    values: dict[Fact, Any] = {}
    rest = output
    for index, section in enumerate(_sections(facts)):
        marker = f"\n{FACT_MARK} {nonce} {index} "
        head, found, tail = rest.partition(marker)
        if not found:
            raise FactError(f"fact {section[0]!r}: no output (the batched reading stopped early)")
        status_text, _, rest = tail.partition("\n")
        what = f"{len(section)} {type(section[0]).__name__} facts read together" if len(section) > 1 else \
            f"fact {section[0]!r}"
        try:
            if len(section) > 1:
                values.update(zip(section, type(section[0]).joint_values(section, head), strict=True))
            else:
                values[section[0]] = section[0].process(head, int(status_text))
        except (FactError, ValueError, KeyError, IndexError) as err:
            if all(fact in optional for fact in section):
                continue
            if isinstance(err, FactError):
                raise
            raise FactError(f"{what}: cannot parse the output ({err}): {head[:500]!r}") from err
    return values


@dataclass(frozen=True)
class Command:
    """A shell command to run on the host (POSIX sh), as root when ``sudo``."""

    shell: str
    sudo: bool = False
    stdin: bytes | None = None
    mutating: bool = True  # False for reads (job status, log tail): check mode may run them


@dataclass(frozen=True)
class Upload:
    """Content to put on the host at ``remote_path`` (a temporary name; commands then move it).

    ``content`` is bytes, or ``local_path`` names a laptop file (large artifacts stream from disk).
    """

    remote_path: str
    content: bytes | None = None
    local_path: str | None = None


@dataclass(frozen=True)
class Change:
    """What one operation will do: uploads first, then commands, in order."""

    description: str
    commands: tuple[Command, ...] = ()
    uploads: tuple[Upload, ...] = ()
    diff: str | None = None  # unified diff of edited text, secret values masked
    notify: tuple[str, ...] = ()  # handler names to run at the end of the role
    satisfies: tuple[str, ...] = ()  # handlers notified before this change that it makes needless (a fresh start)


FactValues = Mapping[Fact, Any]


@dataclass(frozen=True)
class Operation:
    """A desired state: the facts it reads and how it plans the Change from their values.

    ``tags`` select steps with ``--tags``; ``notify`` names handlers run once at the end of the
    role when this operation changed something; ``reread`` asks the runner to read this
    operation's facts again (not from the role's batch) when an earlier operation of the same
    role changed something, for the rare step whose state depends on an earlier step.
    """

    description: str
    facts: tuple[Fact, ...]
    plan: Callable[[FactValues], Change | None] = field(compare=False)
    notify: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    reread: bool = False
