"""f1_host tasks: the card's group, the SDK runtime tools (sdk_setup.sh), the AFI on its slots, the boot unit."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from pathlib import Path
from shlex import quote
from typing import Any

from fpgaops.core import Change, Operation
from fpgaops.facts.fpga import FpgaSlots
from fpgaops.fpga_slots import ERROR_CODES, SLOT_MAX, check_agfi, check_slot
from fpgaops.inventory import Host
from fpgaops.operations.commands import command
from fpgaops.operations.files import directory, template
from fpgaops.operations.operation import PlanError, as_root, declare
from fpgaops.operations.systemd import service, unit
from fpgaops.role_vars import RoleVars, role_vars
from fpgaops.runner import Role
from roles.dev_host.aws_fpga import SDK_DONE, aws_fpga_checkout, checkout_dir, sourced

DEFAULTS = Path(__file__).with_name("defaults.yml")
ALL_SLOTS = "all"
UNIT_TIMEOUT_MARGIN_S = 60  # the boot unit's start timeout beyond the script's waits


def slots_of(value: Any) -> tuple[int, ...]:
    """``afi_slots`` as slot numbers, or () for "all"; ValueError for anything else.

    Example: ``slots_of([0, 1])`` -> (0, 1); ``slots_of("all")`` -> (); ``slots_of("0,1")`` -> (0, 1)
    """
    if isinstance(value, str) and value.strip() == ALL_SLOTS:
        return ()
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if isinstance(items, int) or not isinstance(items, list | tuple) or not items:
        raise ValueError(f"afi_slots {value!r}: give a list of slot numbers (e.g. [0, 1]) or \"all\"")
    slots = tuple(dict.fromkeys(check_slot(item) for item in items))
    return slots


def group_present(name: str, tags: Iterable[str] = ()) -> Operation:
    """A system group (for the card's users), created when missing."""
    return command(f"groupadd --system {quote(name)}", unless=f"getent group {quote(name)}",
                   description=f"system group {name}", tags=tags)


def sdk_tools(tree: str, group: str, tags: Iterable[str] = ()) -> Operation:
    """The AFI Management Tools, installed by sourcing ``sdk_setup.sh`` as the login user (``group`` may use them).

    Skipped while the tools are on root's PATH and this tree's setup has run (a new tree runs it again).
    """
    done = posixpath.join(tree, SDK_DONE)
    env = {"AWS_FPGA_ALLOW_NON_ROOT": "y", "AWS_FPGA_SDK_GROUP": group, "AWS_FPGA_SDK_OVERRIDE_GROUP": "y"}
    return command(f"{sourced(tree, 'sdk_setup.sh', env)} && touch {quote(done)}",
                   unless=f"command -v fpga-describe-local-image >/dev/null && [ -e {quote(done)} ]",
                   sudo=False, description="SDK runtime tools: source sdk_setup.sh", tags=tags)


def afi_loaded(agfi: str, slots: tuple[int, ...], script: str, tags: Iterable[str] = ()) -> Operation:
    """``agfi`` loaded on ``slots`` (every slot of the host when empty), by the load script, only where it is not.

    The fact is ``fpga-describe-local-image -S n -R -H`` per slot; read again when an earlier step
    of the role changed something (the tools may just have been installed).
    Example: ``afi_loaded("agfi-0fcf87119b8e97bf3", (0,), "/usr/local/sbin/fpgaops-load-afi")``
    """
    reading = FpgaSlots(slots)
    where = f"slot {slots[0]}" if len(slots) == 1 else (f"slots {' '.join(map(str, slots))}" if slots else "every slot")

    def plan(values) -> Change | None:
        state = values[reading]
        if state.tools_missing:
            todo = [str(slot) for slot in slots] or [ALL_SLOTS]
            description = f"load {agfi} on {where} (the FPGA tools are not installed yet)"
        elif state.error:
            raise PlanError(state.error)
        else:
            chosen = slots or tuple(sorted(state.images))
            if not chosen:
                raise PlanError("fpga-describe-local-image-slots lists no FPGA slot: is this an F1/F2 instance?")
            missing = [slot for slot in chosen if slot not in state.images]
            if missing:
                raise PlanError(f"fpga-describe-local-image did not describe slot {missing[0]}")
            todo = [str(slot) for slot in chosen if not state.images[slot].holds(agfi)]
            description = "; ".join(f"slot {slot}: {state.images[int(slot)].summary} -> load {agfi}" for slot in todo)
        if not todo:
            return None
        return Change(description=description, commands=(as_root(f"{quote(script)} {agfi} {' '.join(todo)}"),))

    return declare(f"AFI {agfi} on {where}", [reading], plan, tags=tags, reread=True)


def template_vars(v: RoleVars) -> dict[str, Any]:
    """The values of the f1_host templates (load script, env file, boot unit)."""
    timeout_s = int(v["afi_load_timeout_s"])
    return {
        "script_path": v["afi_load_script"],
        "env_file": v["afi_env_file"],
        "unit_name": v["afi_unit"],
        "before_units": list(v["afi_unit_before"]),
        "timeout_s": timeout_s,
        "poll_s": v["afi_poll_interval_s"],
        # per slot: a wait while busy, the prefetch, the clear and the load, each up to timeout_s
        "unit_timeout_s": 4 * timeout_s * (len(slots_of(v["afi_slots"])) or SLOT_MAX) + UNIT_TIMEOUT_MARGIN_S,
        "errors": [(code, error.name, quote(f"{error.name} ({code}): {error.message}"))
                   for code, error in ERROR_CODES.items() if code != 0],
    }


def tasks(host: Host) -> list[Operation]:
    """The FPGA host's steps: SDK runtime tools always; the AFI and its env file when ``afi_agfi`` is set."""
    v = role_vars(host, DEFAULTS)
    agfi = None
    if v["afi_agfi"]:
        try:
            agfi = check_agfi(v["afi_agfi"])
        except ValueError as err:
            raise ValueError(f"afi_agfi: {err}: nothing was changed") from None
    slots = slots_of(v["afi_slots"])
    tree, group = checkout_dir(host, v), v["fpga_group"]
    script, env_file, unit_name = v["afi_load_script"], v["afi_env_file"], v["afi_unit"]
    values = template_vars(v)
    operations = [
        group_present(group, tags=("sdk",)),
        *aws_fpga_checkout(host, v, tags=("sdk",)),
        sdk_tools(tree, group, tags=("sdk",)),
        directory(posixpath.dirname(script), tags=("afi",)),
        template(script, "f1_host/load_afi.sh.j2", values, mode="0755", tags=("afi",)),
    ]
    if agfi:
        operations += [
            afi_loaded(agfi, slots, script, tags=("afi",)),
            directory(posixpath.dirname(env_file), tags=("afi",)),
            template(env_file, "f1_host/afi.env.j2",
                     {**values, "afi_agfi": agfi, "afi_slots": " ".join(map(str, slots)) or ALL_SLOTS},
                     mode="0644", tags=("afi",)),
        ]
    operations += [
        unit(unit_name, template_name="f1_host/fpgaops-afi.service.j2", variables=values, tags=("afi",)),
        service(unit_name, enabled=True, running=None, tags=("afi",)),
    ]
    return operations


def role() -> Role:
    """The f1_host role, for the hosts of group ``f1`` (every FPGA host, F1 or F2)."""
    return Role("f1_host", tasks, hosts="f1")
