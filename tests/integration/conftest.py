"""Integration tests share one sandbox per session (static hosts and the local endpoint)."""

from __future__ import annotations

import os

import pytest

from tests.conftest import running_sandbox


def pytest_collection_modifyitems(items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="sandbox hosts need root (namespaces, mounts)")
        for item in items:
            if "integration" in item.path.parts:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def sandbox(new_config):
    """Static hosts dev, f1-a (F2, ubuntu), f1-b (F1, centos), errgen and the local endpoint."""
    yield from running_sandbox(new_config("sandbox"), "dev,f1-a,f1-b:f1,errgen", cloud=True)


