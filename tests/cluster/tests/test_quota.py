"""ResourceQuota on claims: the apiserver's refusal, the quota's status, and CDI's event."""
from __future__ import annotations

import pytest

from tests.cluster.api.errors import ApiError
from tests.cluster.controllers.quota import QUOTA, QuotaController
from tests.cluster.tests.harness import DV, PVC
from tests.cluster.tests.storage_env import StorageEnv, datavolume


@pytest.fixture
def quota_env():
    with StorageEnv(extra=(QuotaController(),)) as environment:
        environment.create(QUOTA, {"metadata": {"name": "storage", "namespace": "demo"},
                                   "spec": {"hard": {"requests.storage": "2Gi", "persistentvolumeclaims": "5"}}})
        yield environment


def _claim(name: str, size: str) -> dict:
    return {"metadata": {"name": name, "namespace": "demo"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}}


def test_claim_beyond_the_quota_is_forbidden_with_the_apiserver_message(quota_env):
    quota_env.create(PVC, _claim("small", "1Gi"))
    with pytest.raises(ApiError) as err:
        quota_env.create(PVC, _claim("big", "5Gi"))
    assert err.value.code == 403
    assert err.value.message == ('persistentvolumeclaims "big" is forbidden: exceeded quota: storage, requested: '
                                 'requests.storage=5Gi, used: requests.storage=1Gi, limited: requests.storage=2Gi')
    used = {"requests.storage": "1Gi", "persistentvolumeclaims": "1"}
    quota_env.wait(lambda: (quota_env.get(QUOTA, "demo", "storage") or {}).get("status", {}).get("used") == used,
                   what="quota status")


def test_datavolume_beyond_the_quota_gets_cdis_event(quota_env):
    quota_env.create(DV, datavolume("disk", {"blank": {}}, size="5Gi"))
    quota_env.wait(lambda: "ErrExceededQuota" in quota_env.reasons("demo", "disk"), what="ErrExceededQuota event")
    assert quota_env.get(PVC, "demo", "disk") is None
