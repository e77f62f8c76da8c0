"""List semantics: label/field selectors, pagination with continue tokens, 410, resourceVersion."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from .apitools import configmap, vm_manifest


def names(answer) -> list[str]:
    assert answer.status == 200, answer.body
    return [i["metadata"]["name"] for i in answer.json()["items"]]


@pytest.fixture
def labelled(cluster, fresh_namespace):
    ns = fresh_namespace
    labels = {"a": {"app": "web", "tier": "front"}, "b": {"app": "db", "tier": "back"}, "c": {"app": "web"},
              "d": {}}
    for name, lab in labels.items():
        assert cluster.http("POST", f"/api/v1/namespaces/{ns}/configmaps", configmap(name, ns, lab)).status == 201
    return ns


@pytest.mark.parametrize("selector, expected", [
    ("app=web", ["a", "c"]),
    ("app==web", ["a", "c"]),
    ("app!=web", ["b", "d"]),
    ("app in (web,db)", ["a", "b", "c"]),
    ("app notin (web)", ["b", "d"]),
    ("tier", ["a", "b"]),
    ("!tier", ["c", "d"]),
    ("app=web,tier=front", ["a"]),
    ("app=web,!tier", ["c"]),
])
def test_label_selectors(cluster, labelled, selector, expected):
    answer = cluster.http("GET", f"/api/v1/namespaces/{labelled}/configmaps?labelSelector={quote(selector)}")
    assert names(answer) == expected


def test_invalid_label_selector(cluster, labelled):
    answer = cluster.http("GET", f"/api/v1/namespaces/{labelled}/configmaps?labelSelector={quote('app in web')}")
    assert answer.status == 400 and answer.json()["reason"] == "BadRequest"
    assert "expected: '('" in answer.json()["message"]


def test_field_selectors(cluster, labelled):
    base = f"/api/v1/namespaces/{labelled}/configmaps"
    assert names(cluster.http("GET", f"{base}?fieldSelector=metadata.name%3Db")) == ["b"]
    assert names(cluster.http("GET", f"{base}?fieldSelector=metadata.name!%3Db")) == ["a", "c", "d"]
    everywhere = cluster.http("GET", f"/api/v1/configmaps?fieldSelector=metadata.namespace%3D{labelled}")
    assert names(everywhere) == ["a", "b", "c", "d"]
    unsupported = cluster.http("GET", f"{base}?fieldSelector=data.x%3D1")
    assert unsupported.status == 400 and unsupported.json()["message"] == "field label not supported: data.x"


def test_field_selectors_custom_and_core(cluster, fresh_namespace):
    ns = fresh_namespace
    cluster.http("POST", f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines", vm_manifest("fs", ns))
    custom = cluster.http("GET", f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines"
                                 f"?fieldSelector=spec.runStrategy%3DHalted")
    assert custom.status == 400
    assert custom.json()["message"] == "field label not supported: spec.runStrategy"
    assert names(cluster.http("GET", f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines"
                                     f"?fieldSelector=metadata.name%3Dfs")) == ["fs"]
    pods = cluster.http("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode01,status.phase!%3DSucceeded")
    assert pods.status == 200
    assert all(p["spec"].get("nodeName") == "node01" for p in pods.json()["items"])
    events = cluster.http("GET", "/api/v1/events?fieldSelector=involvedObject.kind%3DVirtualMachine")
    assert events.status == 200


def test_pagination_is_consistent_and_counts_remaining(cluster, fresh_namespace):
    ns = fresh_namespace
    for i in range(25):
        cluster.http("POST", f"/api/v1/namespaces/{ns}/configmaps", configmap(f"cm-{i:02d}", ns))
    base = f"/api/v1/namespaces/{ns}/configmaps?limit=10"
    first = cluster.http("GET", base).json()
    assert len(first["items"]) == 10 and first["metadata"]["remainingItemCount"] == 15
    token = first["metadata"]["continue"]
    # changes after the first page do not show up in later pages (snapshot at the first page's RV)
    cluster.http("POST", f"/api/v1/namespaces/{ns}/configmaps", configmap("cm-99", ns))
    cluster.http("DELETE", f"/api/v1/namespaces/{ns}/configmaps/cm-24")
    second = cluster.http("GET", f"{base}&continue={token}").json()
    assert second["metadata"]["remainingItemCount"] == 5
    third = cluster.http("GET", f"{base}&continue={second['metadata']['continue']}").json()
    assert "continue" not in third["metadata"] and "remainingItemCount" not in third["metadata"]
    pages = first["items"] + second["items"] + third["items"]
    assert [i["metadata"]["name"] for i in pages] == [f"cm-{i:02d}" for i in range(25)]
    assert first["metadata"]["resourceVersion"] == third["metadata"]["resourceVersion"]
    fresh = names(cluster.http("GET", f"/api/v1/namespaces/{ns}/configmaps"))
    assert "cm-99" in fresh and "cm-24" not in fresh


def test_expired_continue_token_is_410(cluster, fresh_namespace):
    ns = fresh_namespace
    for i in range(5):
        cluster.http("POST", f"/api/v1/namespaces/{ns}/configmaps", configmap(f"x{i}", ns))
    first = cluster.http("GET", f"/api/v1/namespaces/{ns}/configmaps?limit=2").json()
    cluster.compact()
    expired = cluster.http("GET", f"/api/v1/namespaces/{ns}/configmaps?limit=2&continue="
                                  f"{first['metadata']['continue']}")
    assert expired.status == 410
    body = expired.json()
    assert body["reason"] == "Expired" and body["code"] == 410
    assert body["message"].startswith("The provided continue parameter is too old to display a consistent "
                                      "list result.")
    # the token in the Status continues inconsistently, as apiserver's does
    rest = cluster.http("GET", f"/api/v1/namespaces/{ns}/configmaps?limit=10&continue="
                               f"{body['metadata']['continue']}")
    assert names(rest) == ["x2", "x3", "x4"]
    garbage = cluster.http("GET", f"/api/v1/namespaces/{ns}/configmaps?limit=2&continue=garbage")
    assert garbage.status == 400 and garbage.json()["message"].startswith("invalid continue token")


def test_resource_version_options(cluster, fresh_namespace):
    ns = fresh_namespace
    cluster.http("POST", f"/api/v1/namespaces/{ns}/configmaps", configmap("rv1", ns))
    listed = cluster.http("GET", f"/api/v1/namespaces/{ns}/configmaps").json()
    rv = listed["metadata"]["resourceVersion"]
    cluster.http("POST", f"/api/v1/namespaces/{ns}/configmaps", configmap("rv2", ns))
    exact = cluster.http("GET", f"/api/v1/namespaces/{ns}/configmaps?resourceVersion={rv}"
                                f"&resourceVersionMatch=Exact")
    assert names(exact) == ["rv1"] and exact.json()["metadata"]["resourceVersion"] == rv
    newer = cluster.http("GET", f"/api/v1/namespaces/{ns}/configmaps?resourceVersion={rv}"
                                f"&resourceVersionMatch=NotOlderThan")
    assert names(newer) == ["rv1", "rv2"]
    invalid = cluster.http("GET", f"/api/v1/namespaces/{ns}/configmaps?resourceVersionMatch=Exact")
    assert invalid.status == 422
    assert invalid.json()["message"] == ('ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
                                         'resourceVersionMatch is forbidden unless resourceVersion is provided')
    with_token = cluster.http("GET", f"/api/v1/namespaces/{ns}/configmaps?limit=1").json()["metadata"]["continue"]
    both = cluster.http("GET", f"/api/v1/namespaces/{ns}/configmaps?limit=1&continue={with_token}"
                               f"&resourceVersion={rv}")
    assert both.status == 400
    assert both.json()["message"] == "specifying resource version is not allowed when using continue"


def test_table_output(cluster, fresh_namespace):
    ns = fresh_namespace
    cluster.http("POST", f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines", vm_manifest("tbl", ns))
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io," \
             "application/json"
    table = cluster.http("GET", f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines?limit=500",
                         headers={"Accept": accept}).json()
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert columns[:2] == ["Name", "Age"] and "Status" in columns
    assert table["rows"][0]["cells"][0] == "tbl"
    assert table["metadata"]["resourceVersion"]
    partial = cluster.http("GET", f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines",
                           headers={"Accept": "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"})
    assert partial.json()["kind"] == "PartialObjectMetadataList"
    assert set(partial.json()["items"][0]) == {"kind", "apiVersion", "metadata"}
