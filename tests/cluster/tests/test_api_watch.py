"""Watch semantics through real HTTP streams and the kubernetes client's Watch."""
from __future__ import annotations

import threading
import time

import pytest

from .apitools import RawWatch, configmap, update, vm_manifest


def cm_path(ns: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{ns}/configmaps" + (f"/{name}" if name else "")


def test_list_then_watch_sees_changes_in_order(cluster, fresh_namespace):
    ns = fresh_namespace
    cluster.http("POST", cm_path(ns), configmap("before", ns))
    rv = cluster.http("GET", cm_path(ns)).json()["metadata"]["resourceVersion"]
    with RawWatch(cluster, f"{cm_path(ns)}?watch=true&resourceVersion={rv}&timeoutSeconds=10") as stream:
        assert stream.status == 200
        assert stream.response.getheader("Transfer-Encoding") == "chunked"
        cluster.http("POST", cm_path(ns), configmap("w", ns))
        update(cluster, cm_path(ns, "w"), lambda o: o.update(data={"k": "v"}))
        cluster.http("DELETE", cm_path(ns, "w"))
        events = stream.take(3)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]
    assert events[0]["object"]["kind"] == "ConfigMap"  # watch events carry TypeMeta
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)


def test_watch_from_zero_sends_synthetic_added(cluster, fresh_namespace):
    ns = fresh_namespace
    for name in ("s1", "s2"):
        cluster.http("POST", cm_path(ns), configmap(name, ns))
    with RawWatch(cluster, f"{cm_path(ns)}?watch=1&resourceVersion=0&timeoutSeconds=5") as stream:
        events = stream.take(2)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "s1"), ("ADDED", "s2")]


def test_selector_transitions(cluster, fresh_namespace):
    ns = fresh_namespace
    cluster.http("POST", cm_path(ns), configmap("t", ns, {"app": "web"}))
    with RawWatch(cluster, f"{cm_path(ns)}?watch=true&labelSelector=app%3Dweb&timeoutSeconds=10") as stream:
        assert stream.take(1)[0]["type"] == "ADDED"
        update(cluster, cm_path(ns, "t"), lambda o: o["metadata"]["labels"].update(app="db"))
        update(cluster, cm_path(ns, "t"), lambda o: o["metadata"]["labels"].update(app="web"))
        events = stream.take(2)
    assert [e["type"] for e in events] == ["DELETED", "ADDED"]
    assert events[0]["object"]["metadata"]["labels"]["app"] == "db"


def test_too_old_resource_version_is_an_expired_error_event(cluster, fresh_namespace):
    ns = fresh_namespace
    cluster.http("POST", cm_path(ns), configmap("old", ns))
    rv = cluster.http("GET", cm_path(ns)).json()["metadata"]["resourceVersion"]
    cluster.compact()
    with RawWatch(cluster, f"{cm_path(ns)}?watch=true&resourceVersion={rv}") as stream:
        assert stream.status == 200
        events = list(stream.events())
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert status["kind"] == "Status" and status["code"] == 410 and status["reason"] == "Expired"
    assert status["message"].startswith(f"too old resource version: {rv} (")


def test_send_initial_events_ends_with_annotated_bookmark(cluster, fresh_namespace):
    ns = fresh_namespace
    cluster.http("POST", cm_path(ns), configmap("i1", ns))
    path = (f"{cm_path(ns)}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
            f"&allowWatchBookmarks=true&timeoutSeconds=10")
    with RawWatch(cluster, path) as stream:
        added, bookmark = stream.take(2)
        cluster.http("POST", cm_path(ns), configmap("i2", ns))
        later = stream.take(1)[0]
    assert added["type"] == "ADDED" and added["object"]["metadata"]["name"] == "i1"
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert bookmark["object"]["kind"] == "ConfigMap"
    assert later["type"] == "ADDED" and later["object"]["metadata"]["name"] == "i2"
    invalid = cluster.http("GET", f"{cm_path(ns)}?watch=true&resourceVersionMatch=NotOlderThan")
    assert invalid.status == 422 and "resourceVersionMatch is forbidden for watch unless sendInitialEvents" \
        in invalid.json()["message"]


def test_periodic_bookmarks_and_timeout(cluster, fresh_namespace):
    ns = fresh_namespace
    started = time.monotonic()
    # bookmarks come every 60 transitions (3 s at the tests' time scale of 0.05)
    with RawWatch(cluster, f"{cm_path(ns)}?watch=true&allowWatchBookmarks=true&timeoutSeconds=4") as stream:
        events = list(stream.events())  # ends by itself when timeoutSeconds pass
    elapsed = time.monotonic() - started
    assert 3.5 < elapsed < 8
    assert all(e["type"] == "BOOKMARK" for e in events) and events, "bookmarks arrive while nothing changes"
    assert int(events[-1]["object"]["metadata"]["resourceVersion"]) > 0


def test_many_concurrent_watches(cluster, fresh_namespace):
    ns = fresh_namespace
    streams = [RawWatch(cluster, f"{cm_path(ns)}?watch=true&timeoutSeconds=15") for _ in range(40)]
    try:
        cluster.http("POST", cm_path(ns), configmap("fanout", ns))
        results = []

        def read(stream: RawWatch) -> None:
            results.append(stream.take(1)[0]["object"]["metadata"]["name"])
        threads = [threading.Thread(target=read, args=(s,)) for s in streams]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert results == ["fanout"] * 40
    finally:
        for stream in streams:
            stream.close()


def test_table_watch_for_kubectl(cluster, fresh_namespace):
    ns = fresh_namespace
    cluster.http("POST", f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines", vm_manifest("tw", ns))
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    with RawWatch(cluster, f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines?watch=true&resourceVersion=0"
                           f"&timeoutSeconds=3", accept=accept) as stream:
        first = stream.take(1)[0]
    assert first["type"] == "ADDED" and first["object"]["kind"] == "Table"
    assert first["object"]["rows"][0]["cells"][0] == "tw" and first["object"]["columnDefinitions"]


def test_kubernetes_client_watch(cluster, fresh_namespace):
    from kubernetes import client, watch
    ns = fresh_namespace
    api = client.CustomObjectsApi(cluster.api_client())
    api.create_namespaced_custom_object("kubevirt.io", "v1", ns, "virtualmachines", vm_manifest("kw", ns))
    seen = []
    w = watch.Watch()
    for event in w.stream(api.list_namespaced_custom_object, "kubevirt.io", "v1", ns, "virtualmachines",
                          timeout_seconds=5):
        seen.append(event["type"])
        if event["type"] == "ADDED":
            api.delete_namespaced_custom_object("kubevirt.io", "v1", ns, "virtualmachines", "kw")
        if event["type"] == "DELETED":
            w.stop()
    assert seen[0] == "ADDED" and seen[-1] == "DELETED"
    core = client.CoreV1Api(cluster.api_client())
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    cluster.compact()
    with pytest.raises(client.ApiException) as info:
        for _ in watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=3):
            pass
    assert info.value.status == 410
