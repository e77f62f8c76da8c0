"""Eviction honours PodDisruptionBudgets (over HTTP, as kubectl drain sees it)."""
from __future__ import annotations

import json

from tests.cluster.api.disruption import budget_numbers, selects


def _pod(name, labels, phase="Running", ready="True"):
    return {"metadata": {"name": name, "labels": labels},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": ready}]}}


def test_selector_semantics():
    assert selects({}, {"a": "1"}) and not selects(None, {"a": "1"})
    assert selects({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"})
    assert not selects({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"})
    assert selects({"matchExpressions": [{"key": "c", "operator": "DoesNotExist"}]}, {"a": "1"})


def test_budget_numbers_from_min_available_and_max_unavailable():
    pods = [_pod("a", {"app": "w"}), _pod("b", {"app": "w"}), _pod("c", {"app": "w"}, ready="False")]
    assert budget_numbers({"spec": {"selector": {"matchLabels": {"app": "w"}}, "minAvailable": 2}}, pods) == (2, 2)
    assert budget_numbers({"spec": {"selector": {"matchLabels": {"app": "w"}}, "minAvailable": "50%"}}, pods) == (2, 2)
    assert budget_numbers({"spec": {"selector": {"matchLabels": {"app": "w"}}, "maxUnavailable": 1}}, pods) == (2, 2)


def _running_pod(cluster, ns, name, labels):
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"nodeName": "node01", "containers": [{"name": "c", "image": "busybox"}]}}
    assert cluster.http("POST", f"/api/v1/namespaces/{ns}/pods", body).status == 201
    status = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    answer = cluster.http("PATCH", f"/api/v1/namespaces/{ns}/pods/{name}/status", status,
                          content_type="application/merge-patch+json")
    assert answer.status == 200, answer.body


def _evict(cluster, ns, name):
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": ns}}
    return cluster.http("POST", f"/api/v1/namespaces/{ns}/pods/{name}/eviction", body)


def test_eviction_past_the_budget_is_429_with_the_disruption_budget_cause(cluster, fresh_namespace):
    ns = fresh_namespace
    for name in ("web-1", "web-2"):
        _running_pod(cluster, ns, name, {"app": "web"})
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": ns},
           "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}
    assert cluster.http("POST", f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets", pdb).status == 201
    assert _evict(cluster, ns, "web-1").status == 201
    refused = _evict(cluster, ns, "web-2")
    status = json.loads(refused.body)
    assert refused.status == 429
    assert status["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert status["details"]["causes"] == [{"reason": "DisruptionBudget", "message":
                                            "The disruption budget web needs 1 healthy pods and has 1 currently"}]
    assert cluster.http("GET", f"/api/v1/namespaces/{ns}/pods/web-2").status == 200
