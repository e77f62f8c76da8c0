"""Garbage collection and namespace teardown: in-process, then through the HTTP API."""
from __future__ import annotations

import time

from tests.cluster.api.objects import owner_reference
from tests.cluster.tests.harness import CONFIGMAPS, DV, NS, POD, PV, PVC, SECRETS, wait_for
from tests.cluster.tests.storage_env import consumer_pod, datavolume


def cm(env, name: str, *owners: dict, block: bool = True, namespace: str = "demo", **meta) -> dict:
    refs = [owner_reference(o, controller=False, block_owner_deletion=block) for o in owners]
    body = {"metadata": {"name": name, "namespace": namespace, **meta}, "data": {"k": name}}
    if refs:
        body["metadata"]["ownerReferences"] = refs
    return env.create(CONFIGMAPS, body)


def gone(env, name: str, namespace: str = "demo") -> bool:
    return env.get(CONFIGMAPS, namespace, name) is None


def test_background_deletes_dependents_transitively(env):
    owner = cm(env, "owner")
    child = cm(env, "child", owner)
    cm(env, "grandchild", child)
    env.service.delete(CONFIGMAPS, "demo", "owner", propagation="Background")
    assert gone(env, "owner")
    env.wait(lambda: gone(env, "child") and gone(env, "grandchild"))


def test_dependent_with_another_live_owner_survives(env):
    first, second = cm(env, "first"), cm(env, "second")
    cm(env, "shared", first, second)
    env.service.delete(CONFIGMAPS, "demo", "first")
    env.wait(lambda: len(env.get(CONFIGMAPS, "demo", "shared")["metadata"]["ownerReferences"]) == 1)
    assert env.get(CONFIGMAPS, "demo", "shared")["metadata"]["ownerReferences"][0]["name"] == "second"


def test_foreground_waits_for_blocking_dependents(env):
    owner = cm(env, "owner")
    cm(env, "blocker", owner, finalizers=["example.com/hold"])
    cm(env, "loose", owner, block=False)
    env.service.delete(CONFIGMAPS, "demo", "owner", propagation="Foreground")
    held = env.get(CONFIGMAPS, "demo", "owner")
    assert held["metadata"]["deletionTimestamp"] and "foregroundDeletion" in held["metadata"]["finalizers"]
    env.wait(lambda: gone(env, "loose"))
    env.wait(lambda: env.get(CONFIGMAPS, "demo", "blocker")["metadata"].get("deletionTimestamp"))
    time.sleep(0.1)
    assert not gone(env, "owner"), "a blocking dependent still exists"
    env.service.remove_finalizer(CONFIGMAPS, "demo", "blocker", "example.com/hold")
    env.wait(lambda: gone(env, "owner"))


def test_foreground_propagates_down_the_tree(env):
    owner = cm(env, "root")
    middle = cm(env, "middle", owner)
    cm(env, "leaf", middle, finalizers=["example.com/hold"])
    env.service.delete(CONFIGMAPS, "demo", "root", propagation="Foreground")
    env.wait(lambda: "foregroundDeletion" in (env.get(CONFIGMAPS, "demo", "middle")["metadata"].get("finalizers") or []))
    env.service.remove_finalizer(CONFIGMAPS, "demo", "leaf", "example.com/hold")
    env.wait(lambda: gone(env, "root") and gone(env, "middle") and gone(env, "leaf"))


def test_orphan_keeps_dependents(env):
    owner = cm(env, "owner")
    cm(env, "kept", owner)
    env.service.delete(CONFIGMAPS, "demo", "owner", propagation="Orphan")
    time.sleep(0.1)
    kept = env.get(CONFIGMAPS, "demo", "kept")
    assert kept is not None and "ownerReferences" not in kept["metadata"]


def test_objects_created_with_absent_owners_are_collected(env):
    ghost = {"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost", "uid": "0e4f3f4e-0000-4000-8000-000000000000"}
    env.create(CONFIGMAPS, {"metadata": {"name": "dangling", "namespace": "demo", "ownerReferences": [ghost]}})
    env.wait(lambda: gone(env, "dangling"))
    real = cm(env, "real")
    stale = dict(owner_reference(real), uid="0e4f3f4e-1111-4000-8000-000000000000")
    env.create(CONFIGMAPS, {"metadata": {"name": "stale", "namespace": "demo", "ownerReferences": [stale]}})
    env.wait(lambda: gone(env, "stale"))
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "name": "w", "uid": "1"}
    env.create(CONFIGMAPS, {"metadata": {"name": "unresolvable", "namespace": "demo", "ownerReferences": [unknown]}})
    time.sleep(0.1)
    assert not gone(env, "unresolvable")


def test_datavolume_owner_chain(env):
    env.create(DV, datavolume("disk", {"blank": {}}))
    env.phases(DV, "demo", "disk", "Succeeded")
    pv = env.get(PVC, "demo", "disk")["spec"]["volumeName"]
    env.service.delete(DV, "demo", "disk", propagation="Foreground")
    env.wait(lambda: env.get(DV, "demo", "disk") is None and env.get(PVC, "demo", "disk") is None)
    env.wait(lambda: env.get(PV, None, pv) is None)


def test_namespace_teardown_reports_and_waits_for_finalizers(env):
    env.namespace("doomed")
    cm(env, "plain", namespace="doomed")
    cm(env, "held", namespace="doomed", finalizers=["example.com/hold"])
    env.create(SECRETS, {"metadata": {"name": "s", "namespace": "doomed"}, "data": {}})
    env.service.delete(NS, None, "doomed")
    env.wait(lambda: (env.get(NS, None, "doomed").get("status") or {}).get("conditions"))
    ns = env.get(NS, None, "doomed")
    assert ns["status"]["phase"] == "Terminating" and ns["spec"]["finalizers"] == ["kubernetes"]
    conditions = {c["type"]: c for c in ns["status"]["conditions"]}
    assert conditions["NamespaceContentRemaining"]["status"] == "True"
    assert conditions["NamespaceContentRemaining"]["message"] == \
        "Some resources are remaining: configmaps. has 1 resource instances"
    assert conditions["NamespaceFinalizersRemaining"]["message"] == \
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
    assert conditions["NamespaceDeletionContentFailure"]["reason"] == "ContentDeleted"
    assert gone(env, "plain", "doomed") and env.get(SECRETS, "doomed", "s") is None
    env.service.remove_finalizer(CONFIGMAPS, "doomed", "held", "example.com/hold")
    env.wait(lambda: env.get(NS, None, "doomed") is None)


def test_namespace_with_storage_is_emptied(env):
    env.namespace("vmns")
    env.create(DV, datavolume("disk", {"blank": {}}, namespace="vmns"))
    env.phases(DV, "vmns", "disk", "Succeeded")
    env.create(POD, consumer_pod("launcher", "disk", namespace="vmns"))
    pv = env.get(PVC, "vmns", "disk")["spec"]["volumeName"]
    env.service.delete(NS, None, "vmns")
    env.wait(lambda: env.get(NS, None, "vmns") is None, what="namespace removed")
    assert env.get(PV, None, pv) is None or env.wait(lambda: env.get(PV, None, pv) is None)
    assert not env.rt.errors


# -- over HTTP -------------------------------------------------------------------------------------
def _configmap(name: str, owner: dict | None = None, **meta) -> dict:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}, "data": {"a": "b"}}
    if owner is not None:
        body["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
                                                "uid": owner["metadata"]["uid"], "blockOwnerDeletion": True}]
    return body


def test_propagation_policies_over_http(cluster, fresh_namespace):
    from kubernetes import client
    with cluster.api_client() as api_client:
        core = client.CoreV1Api(api_client)
        ns = fresh_namespace

        def exists(name: str) -> bool:
            try:
                core.read_namespaced_config_map(name, ns)
                return True
            except client.ApiException as exc:
                assert exc.status == 404
                return False

        for policy in ("Background", "Foreground", "Orphan"):
            owner = core.create_namespaced_config_map(ns, _configmap(f"owner-{policy.lower()}")).to_dict()
            owner["metadata"] = {"name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]}
            core.create_namespaced_config_map(ns, _configmap(f"dep-{policy.lower()}", owner))
            core.delete_namespaced_config_map(owner["metadata"]["name"], ns,
                                              body=client.V1DeleteOptions(propagation_policy=policy))
            wait_for(lambda: not exists(owner["metadata"]["name"]))
            if policy == "Orphan":
                kept = core.read_namespaced_config_map(f"dep-{policy.lower()}", ns)
                assert not kept.metadata.owner_references
            else:
                wait_for(lambda: not exists(f"dep-{policy.lower()}"))


def test_namespace_deletion_over_http(cluster):
    from kubernetes import client
    with cluster.api_client() as api_client:
        core = client.CoreV1Api(api_client)
        core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gc-teardown"}})
        core.create_namespaced_config_map("gc-teardown", _configmap("held", finalizers=["example.com/hold"]))
        core.create_namespaced_persistent_volume_claim("gc-teardown", {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
        core.delete_namespace("gc-teardown")
        terminating = wait_for(lambda: (core.read_namespace("gc-teardown").status.conditions or None)
                               and core.read_namespace("gc-teardown"))
        assert terminating.status.phase == "Terminating"
        remaining = next(c for c in terminating.status.conditions if c.type == "NamespaceFinalizersRemaining")
        assert remaining.status == "True" and "example.com/hold in 1 resource instances" in remaining.message
        core.patch_namespaced_config_map("held", "gc-teardown", {"metadata": {"finalizers": None}})

        def deleted() -> bool:
            try:
                core.read_namespace("gc-teardown")
                return False
            except client.ApiException as exc:
                return exc.status == 404
        wait_for(deleted)
