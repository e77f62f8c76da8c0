# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._api import (
    APPLY_PATCH,
    MERGE_PATCH,
    ResourceClient,
    object_label,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    VIRTUAL_MACHINE,
    VIRTUAL_MACHINE_SUBRESOURCES,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._transport import HttpResponse

VM_PATH = "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/vm1"


def _vm(name="vm1", namespace="ns", **spec):
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def test_object_label():
    assert object_label(VIRTUAL_MACHINE, "vm1", "ns") == "VirtualMachine ns/vm1"
    assert object_label(VIRTUAL_MACHINE, None, "ns") == "VirtualMachine in ns"


def test_get_returns_none_for_404(client, api_server):
    assert client.get(VIRTUAL_MACHINE, "vm1", "ns") is None
    assert [(r.method, r.path) for r in api_server.requests] == [("GET", VM_PATH)]


def test_get_other_errors_carry_context(client, api_server, api_error):
    api_server.fail("GET", VM_PATH, api_error(403, "Forbidden", 'virtualmachines.kubevirt.io "vm1" is forbidden'))
    with pytest.raises(KubeApiError) as caught:
        client.get(VIRTUAL_MACHINE, "vm1", "ns")
    assert str(caught.value).startswith("Failed to get VirtualMachine ns/vm1: 403 Forbidden")


def test_get_is_retried_on_503(client, api_server, api_error):
    api_server.put(VM_PATH, _vm())
    api_server.fail("GET", VM_PATH, api_error(503, "ServiceUnavailable", "etcd busy"))
    assert client.get(VIRTUAL_MACHINE, "vm1", "ns")["metadata"]["name"] == "vm1"
    assert client.request_count == 2


def test_list_pages_follows_continue_and_fills_kind(client, api_server):
    api_server.page_size = 2
    for index in range(5):
        api_server.put("/apis/kubevirt.io/v1/namespaces/ns%d/virtualmachines/vm%d" % (index % 2, index), {"metadata": {"name": "vm%d" % index}})
    pages = list(client.list_pages(VIRTUAL_MACHINE, label_selector="app=web", limit=2))
    assert [len(page) for page in pages] == [2, 2, 1]
    assert all(item["kind"] == "VirtualMachine" and item["apiVersion"] == "kubevirt.io/v1" for page in pages for item in page)
    paths = {r.path for r in api_server.requests}
    assert paths == {"/apis/kubevirt.io/v1/virtualmachines"}
    assert [r.query.get("continue") for r in api_server.requests] == [None, "2", "4"]
    assert all(r.query["labelSelector"] == "app=web" and r.query["limit"] == 2 for r in api_server.requests)


def test_apply_sends_server_side_apply_with_strict_validation(client, api_server):
    result = client.apply(VIRTUAL_MACHINE, _vm(runStrategy="Always"), "ns")
    request = api_server.requests[0]
    assert (request.method, request.path, request.content_type) == ("PATCH", VM_PATH, APPLY_PATCH)
    assert request.query == {"fieldManager": "virt.kubevirt", "fieldValidation": "Strict", "force": "true"}
    assert request.body["spec"] == {"runStrategy": "Always"}
    assert result["spec"]["runStrategy"] == "Always"


def test_dry_run_client_marks_every_write(api_server):
    client = ResourceClient(object(), dry_run=True, transport=api_server, sleep=lambda s: None)
    api_server.put(VM_PATH, _vm())
    client.apply(VIRTUAL_MACHINE, _vm(runStrategy="Halted"), "ns")
    client.patch(VIRTUAL_MACHINE, "vm1", {"metadata": {"labels": {"a": "b"}}}, "ns")
    client.delete(VIRTUAL_MACHINE, "vm1", "ns")
    client.subresource(VIRTUAL_MACHINE_SUBRESOURCES, "vm1", "restart", "ns")
    writes = [r for r in api_server.requests if r.write]
    assert len(writes) == 4
    assert all(r.dry_run for r in writes)
    delete = writes[2]
    assert delete.body["dryRun"] == ["All"]  # a DELETE body overrides the query on a real server
    assert writes[3].body == {"dryRun": ["All"]}
    assert api_server.writes == []
    assert api_server.objects[VM_PATH]["spec"] == {}


def test_apply_retries_a_stale_conflict_but_not_a_kubevirt_refusal(client, api_server, api_error):
    api_server.fail("PATCH", VM_PATH, api_error(409, "Conflict", "the object has been modified"))
    client.apply(VIRTUAL_MACHINE, _vm(), "ns")
    assert [r.method for r in api_server.requests] == ["PATCH", "PATCH"]

    api_server.fail("PATCH", VM_PATH, api_error(409, "Conflict", "conflict", causes=[{"reason": "FieldManagerConflict", "field": ".spec.runStrategy"}]))
    with pytest.raises(KubeApiError):
        client.apply(VIRTUAL_MACHINE, _vm(), "ns")


def test_patch_defaults_to_merge_patch(client, api_server):
    api_server.put(VM_PATH, _vm())
    client.patch(VIRTUAL_MACHINE, "vm1", {"spec": {"runStrategy": "Always"}}, "ns")
    assert api_server.requests[-1].content_type == MERGE_PATCH


def test_update_rereads_and_retries_on_conflict(api_error):
    store = {"obj": _vm()}
    store["obj"]["metadata"]["resourceVersion"] = "1"
    calls = []

    def transport(api_client, method, path, query=None, body=None, content_type=None, timeout=None, stream=False):
        calls.append(method)
        if method == "GET":
            return HttpResponse(200, {}, json.dumps(store["obj"]).encode())
        if calls.count("PUT") == 1:
            store["obj"]["metadata"]["resourceVersion"] = "2"  # someone else wrote in between
            raise api_error(409, "Conflict", "the object has been modified")
        assert body["metadata"]["resourceVersion"] == "2"
        return HttpResponse(200, {}, json.dumps(body).encode())

    client = ResourceClient(object(), transport=transport, sleep=lambda s: None)

    def add_label(obj):
        obj["metadata"]["labels"] = {"team": "a"}
        return obj

    before, after = client.update(VIRTUAL_MACHINE, "vm1", add_label, "ns")
    assert calls == ["GET", "PUT", "GET", "PUT"]
    assert after["metadata"]["labels"] == {"team": "a"}
    assert "labels" not in before["metadata"]


def test_update_without_change_sends_no_write(client, api_server):
    api_server.put(VM_PATH, _vm())
    before, after = client.update(VIRTUAL_MACHINE, "vm1", lambda obj: obj, "ns")
    assert before == after
    assert [r.method for r in api_server.requests] == ["GET"]


def test_delete_sends_propagation_policy_and_tolerates_404(client, api_server):
    api_server.put(VM_PATH, _vm())
    assert client.delete(VIRTUAL_MACHINE, "vm1", "ns", propagation_policy="Foreground", grace_period_seconds=0)
    body = api_server.requests[0].body
    assert body == {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground", "gracePeriodSeconds": 0}
    assert client.delete(VIRTUAL_MACHINE, "vm1", "ns") is None


def test_subresource_is_not_retried_after_a_server_error(client, api_server, api_error):
    path = VIRTUAL_MACHINE_SUBRESOURCES.path("ns", "vm1", "restart")
    api_server.fail("PUT", path, api_error(500, "InternalError", "boom"))
    with pytest.raises(KubeApiError) as caught:
        client.subresource(VIRTUAL_MACHINE_SUBRESOURCES, "vm1", "restart", "ns")
    assert str(caught.value).startswith("Restart of VirtualMachine ns/vm1 failed: 500")
    assert client.request_count == 1


def test_subresource_is_retried_on_429(client, api_server, api_error):
    path = VIRTUAL_MACHINE_SUBRESOURCES.path("ns", "vm1", "restart")
    api_server.fail("PUT", path, api_error(429, "TooManyRequests", "slow down"))
    client.subresource(VIRTUAL_MACHINE_SUBRESOURCES, "vm1", "restart", "ns")
    assert client.request_count == 2


class _Stream:
    def __init__(self, chunks):
        self.chunks = chunks
        self.released = False

    def stream(self, amt=None, decode_content=False):
        return iter(self.chunks)

    def release_conn(self):
        self.released = True


def test_watch_parses_events_and_raises_on_error_event():
    lines = [
        json.dumps({"type": "ADDED", "object": {"metadata": {"name": "vm1", "resourceVersion": "5"}}}).encode(),
        b"\n",
        json.dumps({"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}}).encode() + b"\n",
    ]
    raw = _Stream([lines[0][:10], lines[0][10:] + lines[1], lines[2]])
    seen = {}

    def transport(api_client, method, path, query=None, body=None, content_type=None, timeout=None, stream=False):
        seen.update(query=dict(q for q in query if q[1] is not None), stream=stream)
        return HttpResponse(200, {}, raw=raw)

    client = ResourceClient(object(), transport=transport)
    events = client.watch(VIRTUAL_MACHINE, "ns", "vm1", resource_version="4", timeout_seconds=30)
    assert next(events) == ("ADDED", {"metadata": {"name": "vm1", "resourceVersion": "5"}})
    with pytest.raises(KubeApiError) as caught:
        next(events)
    assert caught.value.status == 410
    assert raw.released
    assert seen["stream"] is True
    assert seen["query"]["fieldSelector"] == "metadata.name=vm1"
    assert seen["query"]["resourceVersion"] == "4"
    assert seen["query"]["timeoutSeconds"] == 30


def test_subresource_is_retried_when_the_server_sends_retry_after(client, api_server):
    path = VIRTUAL_MACHINE_SUBRESOURCES.path("ns", "vm1", "restart")
    api_server.fail("PUT", path, KubeApiError("busy", status=503, reason="ServiceUnavailable", retry_after=0.0))
    client.subresource(VIRTUAL_MACHINE_SUBRESOURCES, "vm1", "restart", "ns")
    assert client.request_count == 2


def test_apply_status_tells_create_from_update(client, api_server):
    _body, created = client.apply_status(VIRTUAL_MACHINE, _vm(), "ns")
    assert created
    _body, created = client.apply_status(VIRTUAL_MACHINE, _vm(), "ns")
    assert not created


def test_apply_with_a_resource_version_is_not_resent_on_conflict(client, api_server, api_error):
    api_server.fail("PATCH", VM_PATH, api_error(409, "Conflict", "the object has been modified"))
    body = _vm()
    body["metadata"]["resourceVersion"] = "7"
    with pytest.raises(KubeApiError):
        client.apply(VIRTUAL_MACHINE, body, "ns")
    assert [r.method for r in api_server.requests] == ["PATCH"]


def test_evict_posts_an_eviction_once_and_leaves_a_429_to_the_caller(client, api_server, api_error):
    path = "/api/v1/namespaces/ns/pods/web-1/eviction"
    api_server.fail("POST", path, api_error(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget."))
    with pytest.raises(KubeApiError) as caught:
        client.evict("web-1", "ns")
    assert caught.value.status == 429
    assert str(caught.value).startswith("Eviction of Pod ns/web-1 refused")
    assert client.request_count == 1
    request = api_server.requests[0]
    assert (request.method, request.path, request.body["kind"]) == ("POST", path, "Eviction")


def test_evict_in_dry_run_carries_dry_run_twice(api_server):
    client = ResourceClient(object(), dry_run=True, transport=api_server, sleep=lambda s: None)
    client.evict("web-1", "ns")
    request = api_server.requests[0]
    assert request.dry_run and request.body["deleteOptions"] == {"dryRun": ["All"]}
