"""Cross-namespace clone authorisation (CDI's datavolume-mutate webhook and its SubjectAccessReview)."""
from __future__ import annotations

import pytest

from tests.cluster.api.errors import ApiError
from tests.cluster.tests.harness import DS, DV, PVC
from tests.cluster.tests.storage_env import datavolume

DVS = "/apis/cdi.kubevirt.io/v1beta1/namespaces/{ns}/datavolumes"


def test_restricted_user_may_not_clone_from_a_namespace_it_cannot_use(env):
    env.namespace("golden")
    env.create(PVC, {"metadata": {"name": "fedora", "namespace": "golden"},
                     "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    env.create(DS, {"metadata": {"name": "fedora", "namespace": "golden"},
                    "spec": {"source": {"pvc": {"name": "fedora", "namespace": "golden"}}}})
    for spec in ({"source": {"pvc": {"namespace": "golden", "name": "fedora"}}},
                 {"source": {"snapshot": {"namespace": "golden", "name": "snap"}}},
                 {"source": None, "sourceRef": {"kind": "DataSource", "namespace": "golden", "name": "fedora"}}):
        dv = datavolume("copy", spec["source"], namespace="demo")
        if "sourceRef" in spec:
            dv["spec"].pop("source")
            dv["spec"]["sourceRef"] = spec["sourceRef"]
        with pytest.raises(ApiError) as denied:
            env.admitted_create(DV, dv, user="restricted")
        assert denied.value.code == 422
        assert denied.value.message == ('admission webhook "datavolume-mutate.cdi.kubevirt.io" denied the request:  '
                                        "User restricted has insufficient permissions in clone source namespace golden")
        assert denied.value.details["causes"][0]["field"] == "spec.source.PVC.namespace"
    assert env.get(DV, "demo", "copy") is None
    env.admitted_create(DV, datavolume("copy", {"pvc": {"namespace": "golden", "name": "fedora"}}), user="admin")
    env.phases(DV, "demo", "copy", "Succeeded")


def test_cross_namespace_clone_over_https(cluster, fresh_namespace):
    mine = cluster.restricted_namespaces[0]
    body = {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "stolen"},
            "spec": {"source": {"pvc": {"namespace": fresh_namespace, "name": "golden"}},
                     "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}
    denied = cluster.http("POST", DVS.format(ns=mine), body, user="restricted")
    assert denied.status == 422, denied
    assert denied.json()["message"].endswith(
        f"User restricted has insufficient permissions in clone source namespace {fresh_namespace}")
    body["metadata"]["name"] = "own"
    body["spec"]["source"]["pvc"]["namespace"] = mine
    allowed = cluster.http("POST", DVS.format(ns=mine), body, user="restricted")
    assert allowed.status == 201, allowed
    assert cluster.http("DELETE", DVS.format(ns=mine) + "/own").status == 200
    copied = dict(body, metadata={"name": "by-admin"})
    copied["spec"] = {"source": {"pvc": {"namespace": mine, "name": "golden"}},
                      "storage": {"resources": {"requests": {"storage": "1Gi"}}}}
    assert cluster.http("POST", DVS.format(ns=fresh_namespace), copied).status == 201
