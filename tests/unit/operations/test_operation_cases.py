"""Every JSON case under cases/ is one test: declare the operation, plan it on the recorded facts,
compare with the expected commands, uploads and diff (format and fact keying: see case_format.py)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from tests.unit.operations.case_format import (
    CASES_DIR,
    all_cases,
    decode_fact_value,
    encode_change,
    load_case,
    resolve_args,
)

OPERATION_MODULES = ("files", "packages", "users", "venv", "systemd", "cron", "commands", "archives", "jobs", "waits",
                     "releases")


def operation_named(directory: str):
    module_name, operation_name = directory.split(".")
    return getattr(importlib.import_module(f"fpgaops.operations.{module_name}"), operation_name)


def plan_case(case: dict, operation_function):
    """The declared operation and its planned Change (None for a noop) on the case's facts."""
    operation = operation_function(**resolve_args(case["args"]))
    declared = {repr(fact): fact for fact in operation.facts}
    assert set(case["facts"]) == set(declared), "the case's facts must be exactly the operation's facts"
    values = {fact: decode_fact_value(fact, case["facts"][key]) for key, fact in declared.items()}
    return operation, operation.plan(values)


@pytest.mark.parametrize("path", all_cases(), ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_operation_case(path: Path):
    case = load_case(path)
    operation_function = operation_named(path.parent.name)
    if "raises" in case:
        with pytest.raises(Exception, match=re.escape(case["raises"])):
            plan_case(case, operation_function)
        return
    operation, change = plan_case(case, operation_function)
    expected = {key: case[key] for key in ("noop", "commands", "uploads", "diff", "notify", "satisfies") if key in case}
    assert encode_change(change) == expected
    assert operation.tags == tuple(case["args"].get("tags", ()))
    assert operation.notify == tuple(case["args"].get("notify", ()))


ACTIONS = {"releases.rolled_back"}  # an action, like a restart: no host state makes it do nothing


def test_every_operation_has_cases_and_a_noop_case():
    for module_name in OPERATION_MODULES:
        module = importlib.import_module(f"fpgaops.operations.{module_name}")
        for name in getattr(module, "__all__", ()):
            directory = CASES_DIR / f"{module_name}.{name}"
            cases = [load_case(path) for path in directory.glob("*.json")]
            assert cases, f"{directory.name}: no cases"
            assert directory.name in ACTIONS or any(case.get("noop") for case in cases), f"{directory.name}: no noop"
    assert len(all_cases()) > 60
