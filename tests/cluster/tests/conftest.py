"""Fixtures of the in-process controller tests (the HTTP cluster's come from tests.cluster.pytest_plugin)."""
from __future__ import annotations

import pytest

from tests.cluster.tests.storage_env import StorageEnv
from tests.cluster.tests.virt_harness import Sim


@pytest.fixture
def env():
    """Storage, GC, CDI and upload controllers in-process (StorageEnv), stopped after the test."""
    with StorageEnv() as environment:
        yield environment


@pytest.fixture
def sim():
    """Nodes and the KubeVirt controllers in-process (Sim); teardown fails on controller errors."""
    with Sim(time_scale=0.005) as simulation:
        yield simulation
