"""PATCH through HTTP: patch types per resource kind, server-side apply, options and errors."""
from __future__ import annotations

from .apitools import configmap, vm_manifest

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"


def vm_path(ns: str, name: str = "") -> str:
    return f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines" + (f"/{name}" if name else "")


def test_patch_types_on_custom_and_builtin(cluster, fresh_namespace):
    ns = fresh_namespace
    cluster.http("POST", vm_path(ns), vm_manifest("p", ns))
    merged = cluster.http("PATCH", vm_path(ns, "p"), {"metadata": {"labels": {"x": "1"}}}, content_type=MERGE)
    assert merged.status == 200 and merged.json()["metadata"]["labels"]["x"] == "1"
    strategic = cluster.http("PATCH", vm_path(ns, "p"), {"metadata": {"labels": {"x": "2"}}},
                             content_type=STRATEGIC)
    assert strategic.status == 415 and strategic.json()["reason"] == "UnsupportedMediaType"
    assert strategic.json()["message"] == ("the body of the request was in an unknown format - accepted media "
                                           "types include: application/json-patch+json, "
                                           "application/merge-patch+json, application/apply-patch+yaml")
    ops = [{"op": "replace", "path": "/metadata/labels/x", "value": "3"}]
    assert cluster.http("PATCH", vm_path(ns, "p"), ops, content_type=JSON_PATCH).json()["metadata"]["labels"]["x"] \
        == "3"
    cm_path = f"/api/v1/namespaces/{ns}/configmaps"
    cluster.http("POST", cm_path, configmap("s", ns, k="v"))
    smp = cluster.http("PATCH", f"{cm_path}/s", {"data": {"k2": "v2"}}, content_type=STRATEGIC)
    assert smp.status == 200 and smp.json()["data"] == {"k": "v", "k2": "v2"}
    unknown = cluster.http("PATCH", f"{cm_path}/s", {"data": {}}, content_type="text/plain")
    assert unknown.status == 415


def test_noop_patch_keeps_resource_version_and_missing_is_404(cluster, fresh_namespace):
    ns = fresh_namespace
    path = f"/api/v1/namespaces/{ns}/configmaps"
    created = cluster.http("POST", path, configmap("n", ns, k="v")).json()
    same = cluster.http("PATCH", f"{path}/n", {"data": {"k": "v"}}, content_type=MERGE).json()
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    missing = cluster.http("PATCH", f"{path}/absent", {"data": {}}, content_type=MERGE)
    assert missing.status == 404 and missing.json()["message"] == 'configmaps "absent" not found'
    stale = dict(metadata={"resourceVersion": "1"}, data={"k": "w"})
    conflict = cluster.http("PATCH", f"{path}/n", stale, content_type=MERGE)
    assert conflict.status == 409 and conflict.json()["reason"] == "Conflict"


def test_patch_dry_run_and_field_validation(cluster, fresh_namespace):
    ns = fresh_namespace
    cluster.http("POST", vm_path(ns), vm_manifest("d", ns))
    before = cluster.http("GET", vm_path(ns, "d")).json()
    dry = cluster.http("PATCH", vm_path(ns, "d") + "?dryRun=All", {"spec": {"runStrategy": "Manual"}},
                       content_type=MERGE)
    assert dry.status == 200 and dry.json()["spec"]["runStrategy"] == "Manual"
    assert cluster.http("GET", vm_path(ns, "d")).json()["spec"]["runStrategy"] == before["spec"]["runStrategy"]
    strict = cluster.http("PATCH", vm_path(ns, "d") + "?fieldValidation=Strict", {"spec": {"bogus": 1}},
                          content_type=MERGE)
    assert strict.status == 400 and strict.json()["message"] == 'strict decoding error: unknown field "spec.bogus"'
    forced = cluster.http("PATCH", vm_path(ns, "d") + "?force=true", {}, content_type=MERGE)
    assert forced.status == 422
    assert forced.json()["message"] == ('PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be '
                                        'specified for non-apply patch')


def test_server_side_apply(cluster, fresh_namespace):
    ns = fresh_namespace
    path = f"/api/v1/namespaces/{ns}/configmaps/ssa"
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa", "namespace": ns},
              "data": {"owned": "a"}}
    no_manager = cluster.http("PATCH", path, config, content_type=APPLY)
    assert no_manager.status == 422
    assert no_manager.json()["message"] == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                                            'is required for apply patch')
    created = cluster.http("PATCH", path + "?fieldManager=alice", config, content_type=APPLY)
    assert created.status == 201
    managers = {m["manager"]: m for m in created.json()["metadata"]["managedFields"]}
    assert managers["alice"]["operation"] == "Apply"
    again = cluster.http("PATCH", path + "?fieldManager=alice", config, content_type=APPLY)
    assert again.status == 200
    assert again.json()["metadata"]["resourceVersion"] == created.json()["metadata"]["resourceVersion"]
    rival = dict(config, data={"owned": "b"})
    conflict = cluster.http("PATCH", path + "?fieldManager=bob", rival, content_type=APPLY)
    assert conflict.status == 409 and conflict.json()["reason"] == "Conflict"
    assert conflict.json()["message"].startswith("Apply failed with 1 conflict")
    assert conflict.json()["details"]["causes"][0]["reason"] == "FieldManagerConflict"
    forced = cluster.http("PATCH", path + "?fieldManager=bob&force=true", rival, content_type=APPLY)
    assert forced.status == 200 and forced.json()["data"]["owned"] == "b"
    yaml_body = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: {ns}\ndata:\n  extra: x\n"
    from_yaml = cluster.http("PATCH", path + "?fieldManager=carol", yaml_body, content_type=APPLY)
    assert from_yaml.status == 200 and from_yaml.json()["data"]["extra"] == "x"


def test_patch_race_is_retried_by_the_server(cluster, fresh_namespace):
    """Patches that name no resourceVersion never fail with 409 because of concurrent writers."""
    import threading
    ns = fresh_namespace
    path = f"/api/v1/namespaces/{ns}/configmaps"
    cluster.http("POST", path, configmap("race", ns))
    statuses = []

    def worker(i: int) -> None:
        for j in range(5):
            answer = cluster.http("PATCH", f"{path}/race", {"data": {f"k{i}-{j}": "v"}}, content_type=MERGE)
            statuses.append(answer.status)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [200] * 20
    assert len(cluster.http("GET", f"{path}/race").json()["data"]) == 20
