"""REST verbs through real HTTP: create/get/update/delete semantics, errors and dry run."""
from __future__ import annotations

from .apitools import configmap, update, vm_manifest


def cm_path(ns: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{ns}/configmaps" + (f"/{name}" if name else "")


def vm_path(ns: str, name: str = "", version: str = "v1") -> str:
    return f"/apis/kubevirt.io/{version}/namespaces/{ns}/virtualmachines" + (f"/{name}" if name else "")


def test_create_get_and_server_fields(cluster, fresh_namespace):
    created = cluster.http("POST", cm_path(fresh_namespace), configmap("one", fresh_namespace, a="1"))
    assert created.status == 201
    obj = created.json()
    meta = obj["metadata"]
    assert obj["kind"] == "ConfigMap" and obj["apiVersion"] == "v1"
    assert meta["uid"] and meta["resourceVersion"].isdigit() and meta["creationTimestamp"].endswith("Z")
    got = cluster.http("GET", cm_path(fresh_namespace, "one")).json()
    assert got["data"] == {"a": "1"} and got["metadata"]["resourceVersion"] == meta["resourceVersion"]


def test_already_exists_conflict_and_noop_update(cluster, fresh_namespace):
    ns = fresh_namespace
    first = cluster.http("POST", cm_path(ns), configmap("dup", ns)).json()
    again = cluster.http("POST", cm_path(ns), configmap("dup", ns))
    assert again.status == 409 and again.content_type == "application/json"
    assert again.json()["reason"] == "AlreadyExists"
    assert again.json()["message"] == 'configmaps "dup" already exists'
    # a no-op update keeps resourceVersion
    same = cluster.http("PUT", cm_path(ns, "dup"), first)
    assert same.status == 200 and same.json()["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    changed = dict(first, data={"k": "v"})
    updated = cluster.http("PUT", cm_path(ns, "dup"), changed).json()
    assert updated["metadata"]["resourceVersion"] != first["metadata"]["resourceVersion"]
    stale = cluster.http("PUT", cm_path(ns, "dup"), dict(first, data={"k": "other"}))
    assert stale.status == 409 and stale.json()["reason"] == "Conflict"
    assert stale.json()["message"] == ('Operation cannot be fulfilled on configmaps "dup": the object has been '
                                       'modified; please apply your changes to the latest version and try again')


def test_request_errors(cluster, fresh_namespace):
    ns = fresh_namespace
    missing_ns = cluster.http("POST", cm_path("no-such-ns"), configmap("x", "no-such-ns"))
    assert missing_ns.status == 404 and missing_ns.json()["message"] == 'namespaces "no-such-ns" not found'
    other_ns = cluster.http("POST", cm_path(ns), configmap("x", "default"))
    assert other_ns.status == 400
    assert other_ns.json()["message"] == ("the namespace of the provided object does not match the namespace "
                                          "sent on the request")
    bad_name = cluster.http("POST", cm_path(ns), configmap("Bad_Name", ns))
    assert bad_name.status == 422 and bad_name.json()["reason"] == "Invalid"
    assert bad_name.json()["details"]["causes"][0]["field"] == "metadata.name"
    assert 'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain' in bad_name.json()["message"]
    cluster.http("POST", cm_path(ns), configmap("named", ns))
    renamed = cluster.http("PUT", cm_path(ns, "named"), configmap("other", ns))
    assert renamed.status == 400
    assert renamed.json()["message"] == "the name of the object (other) does not match the name on the URL (named)"
    with_rv = cluster.http("POST", cm_path(ns), dict(configmap("rv", ns), metadata={
        "name": "rv", "namespace": ns, "resourceVersion": "12"}))
    assert with_rv.status == 500 and with_rv.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "resourceVersion should not be set on objects to be created", "code": 500}
    not_json = cluster.http("POST", cm_path(ns), "{not json")
    assert not_json.status == 400 and not_json.json()["kind"] == "Status"
    wrong_version = cluster.http("POST", vm_path(ns), dict(vm_manifest("v", ns), apiVersion="kubevirt.io/v9"))
    assert wrong_version.status == 400 and "does not match the expected API version" in wrong_version.json()["message"]


def test_custom_resource_update_requires_resource_version(cluster, fresh_namespace):
    ns = fresh_namespace
    created = cluster.http("POST", vm_path(ns), vm_manifest("rv", ns)).json()
    del created["metadata"]["resourceVersion"]
    answer = cluster.http("PUT", vm_path(ns, "rv"), created)
    assert answer.status == 422
    assert answer.json()["message"] == ('VirtualMachine.kubevirt.io "rv" is invalid: metadata.resourceVersion: '
                                        'Invalid value: 0x0: must be specified for an update')
    missing = cluster.http("PUT", vm_path(ns, "ghost"), dict(vm_manifest("ghost", ns), metadata={
        "name": "ghost", "namespace": ns, "resourceVersion": "1"}))
    assert missing.status == 404
    assert missing.json()["message"] == 'virtualmachines.kubevirt.io "ghost" not found'


def test_dry_run_stores_nothing(cluster, fresh_namespace):
    ns = fresh_namespace
    mark = cluster.mark()
    dry = cluster.http("POST", cm_path(ns) + "?dryRun=All", configmap("dry", ns))
    assert dry.status == 201 and dry.json()["metadata"]["name"] == "dry"
    assert cluster.http("GET", cm_path(ns, "dry")).status == 404
    entry = [e for e in cluster.requests(since=mark) if e["method"] == "POST"][0]
    assert entry["write"] is True and entry["dry_run"] is True and entry["verb"] == "create"
    invalid = cluster.http("POST", cm_path(ns) + "?dryRun=Yes", configmap("dry", ns))
    assert invalid.status == 422
    assert invalid.json()["message"] == ('CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: '
                                         '[]string{"Yes"}: supported values: "All"')
    cluster.http("POST", cm_path(ns), configmap("keep", ns))
    deleted = cluster.http("DELETE", cm_path(ns, "keep") + "?dryRun=All")
    assert deleted.status == 200 and cluster.http("GET", cm_path(ns, "keep")).status == 200


def test_field_validation_modes(cluster, fresh_namespace):
    ns = fresh_namespace
    manifest = vm_manifest("fv", ns)
    manifest["spec"]["foo"] = "bar"
    strict = cluster.http("POST", vm_path(ns) + "?fieldValidation=Strict", manifest)
    assert strict.status == 400 and strict.json()["reason"] == "BadRequest"
    assert strict.json()["message"] == ('VirtualMachine in version "v1" cannot be handled as a VirtualMachine: '
                                        'strict decoding error: unknown field "spec.foo"')
    warn = cluster.http("POST", vm_path(ns), manifest)
    assert warn.status == 201 and warn.warnings == ['unknown field "spec.foo"']
    assert "foo" not in warn.json()["spec"]  # pruned
    manifest["metadata"]["name"] = "fv2"
    ignore = cluster.http("POST", vm_path(ns) + "?fieldValidation=Ignore", manifest)
    assert ignore.status == 201 and ignore.warnings == []


def test_status_subresource_separation_and_generation(cluster, fresh_namespace):
    ns = fresh_namespace
    path = vm_path(ns, "gen")
    vm = cluster.http("POST", vm_path(ns), vm_manifest("gen", ns)).json()
    assert vm["metadata"]["generation"] == 1
    relabeled = update(cluster, path, lambda o: o["metadata"].setdefault("labels", {}).update(touched="yes")).json()
    assert relabeled["metadata"]["generation"] == 1, "metadata changes do not bump generation"
    respec = update(cluster, path, lambda o: o["spec"].update(runStrategy="Manual")).json()
    assert respec["metadata"]["generation"] == 2

    def hack_status(obj: dict) -> None:
        obj["status"] = dict(obj.get("status") or {}, printableStatus="Hacked")
    main = update(cluster, path, hack_status).json()
    assert (main.get("status") or {}).get("printableStatus") != "Hacked", "the main endpoint ignores status"

    def hack_both(obj: dict) -> None:
        hack_status(obj)
        obj["spec"]["runStrategy"] = "Always"
    status = update(cluster, path, hack_both, subresource="status").json()
    assert status["status"]["printableStatus"] == "Hacked" and status["spec"]["runStrategy"] == "Manual"
    vmi = cluster.http("GET", f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachineinstances/gen/status")
    assert vmi.status == 404


def test_delete_responses_and_finalizers(cluster, fresh_namespace):
    ns = fresh_namespace
    cm = cluster.http("POST", cm_path(ns), configmap("gone", ns)).json()
    answer = cluster.http("DELETE", cm_path(ns, "gone"), {"propagationPolicy": "Background"})
    assert answer.status == 200
    assert answer.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                             "details": {"name": "gone", "kind": "configmaps", "uid": cm["metadata"]["uid"]}}
    assert cluster.http("DELETE", cm_path(ns, "gone")).status == 404
    held = configmap("held", ns)
    held["metadata"]["finalizers"] = ["example.com/hold"]
    created = cluster.http("POST", cm_path(ns), held).json()
    pending = cluster.http("DELETE", cm_path(ns, "held"))
    assert pending.status == 200 and pending.json()["metadata"]["deletionTimestamp"]
    current = cluster.http("GET", cm_path(ns, "held")).json()
    current["metadata"]["finalizers"] = []
    assert cluster.http("PUT", cm_path(ns, "held"), current).status == 200
    assert cluster.http("GET", cm_path(ns, "held")).status == 404
    assert created["metadata"]["uid"]
    vm = cluster.http("POST", vm_path(ns), vm_manifest("del", ns)).json()
    wrong_uid = cluster.http("DELETE", vm_path(ns, "del"), {"preconditions": {"uid": "nope"}})
    assert wrong_uid.status == 409 and "Precondition failed: UID in precondition: nope" in wrong_uid.json()["message"]
    bad_policy = cluster.http("DELETE", vm_path(ns, "del") + "?propagationPolicy=Sometimes")
    assert bad_policy.status == 422
    removed = cluster.http("DELETE", vm_path(ns, "del"))
    assert removed.status == 200 and removed.json()["kind"] == "VirtualMachine"
    assert removed.json()["metadata"]["uid"] == vm["metadata"]["uid"]


def test_deletecollection_with_selector(cluster, fresh_namespace):
    ns = fresh_namespace
    for i in range(4):
        cluster.http("POST", cm_path(ns), configmap(f"c{i}", ns, {"group": "a" if i < 3 else "b"}))
    answer = cluster.http("DELETE", cm_path(ns) + "?labelSelector=group%3Da")
    assert answer.status == 200 and answer.json()["kind"] == "ConfigMapList"
    assert sorted(i["metadata"]["name"] for i in answer.json()["items"]) == ["c0", "c1", "c2"]
    left = cluster.http("GET", cm_path(ns)).json()["items"]
    assert [i["metadata"]["name"] for i in left] == ["c3"]


def test_eviction_deletes_a_plain_pod(cluster, fresh_namespace):
    ns = fresh_namespace
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1", "namespace": ns},
           "spec": {"containers": [{"name": "c", "image": "registry.example/app:1"}]}}
    assert cluster.http("POST", f"/api/v1/namespaces/{ns}/pods", pod).status == 201
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p1", "namespace": ns}}
    answer = cluster.http("POST", f"/api/v1/namespaces/{ns}/pods/p1/eviction", eviction)
    assert answer.status == 201
    assert answer.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
    pod_now = cluster.http("GET", f"/api/v1/namespaces/{ns}/pods/p1")
    assert pod_now.status == 404 or pod_now.json()["metadata"].get("deletionTimestamp")
    missing = cluster.http("POST", f"/api/v1/namespaces/{ns}/pods/nope/eviction",
                           dict(eviction, metadata={"name": "nope", "namespace": ns}))
    assert missing.status == 404 and missing.json()["message"] == 'pods "nope" not found'


def test_list_items_type_meta(cluster, fresh_namespace):
    ns = fresh_namespace
    cluster.http("POST", cm_path(ns), configmap("tm", ns))
    cluster.http("POST", vm_path(ns), vm_manifest("tm", ns))
    cms = cluster.http("GET", cm_path(ns)).json()
    assert cms["kind"] == "ConfigMapList" and "kind" not in cms["items"][0]  # typed Go lists omit it
    vms = cluster.http("GET", vm_path(ns)).json()
    assert vms["kind"] == "VirtualMachineList" and vms["items"][0]["kind"] == "VirtualMachine"
