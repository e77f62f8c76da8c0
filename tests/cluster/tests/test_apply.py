"""Server-side apply and managedFields as kube-apiserver records them."""
from __future__ import annotations

import copy

import pytest

from tests.cluster.api.apply import apply, decode_fields, encode_fields, path_string, track_update
from tests.cluster.api.errors import ApiError

VM = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
      "metadata": {"name": "cirros", "namespace": "demo", "labels": {"app": "cirros"}},
      "spec": {"runStrategy": "Halted", "template": {"spec": {
          "domain": {"devices": {"disks": [{"name": "containerdisk", "disk": {"bus": "virtio"}}]}},
          "volumes": [{"name": "containerdisk", "containerDisk": {"image": "quay.io/kubevirt/cirros"}}]}}}}
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "demo"},
       "spec": {"containers": [{"name": "app", "image": "nginx:1", "ports": [{"containerPort": 80}]}]}}


@pytest.fixture
def vm_type(reg):
    return reg.get(("kubevirt.io", "virtualmachines"))


def created_by_update(rtype, obj, manager="kubectl-client-side-apply"):
    new = copy.deepcopy(obj)
    track_update(rtype, None, new, manager=manager)
    return new


def entry(obj, manager):
    return next(e for e in obj["metadata"]["managedFields"] if e["manager"] == manager)


def test_create_records_update_entry_in_fieldsv1(vm_type):
    obj = created_by_update(vm_type, VM)
    (mf,) = obj["metadata"]["managedFields"]
    assert {k: mf[k] for k in ("manager", "operation", "apiVersion", "fieldsType")} == {
        "manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "kubevirt.io/v1",
        "fieldsType": "FieldsV1"}
    assert mf["time"].endswith("Z")
    fields = mf["fieldsV1"]
    assert fields["f:metadata"] == {"f:labels": {".": {}, "f:app": {}}}
    assert fields["f:spec"]["f:runStrategy"] == {}
    assert fields["f:spec"]["f:template"]["f:spec"]["f:volumes"] == {}  # KubeVirt lists are atomic
    assert "f:name" not in fields["f:metadata"] and "f:apiVersion" not in fields


def test_noop_update_changes_nothing(vm_type):
    obj = created_by_update(vm_type, VM)
    again = copy.deepcopy(obj)
    track_update(vm_type, obj, again, manager="someone-else")
    assert again["metadata"]["managedFields"] == obj["metadata"]["managedFields"]


def test_update_takes_ownership_from_others(vm_type):
    obj = created_by_update(vm_type, VM)
    new = copy.deepcopy(obj)
    new["spec"]["runStrategy"] = "Always"
    track_update(vm_type, obj, new, manager="virtctl")
    assert entry(new, "virtctl")["fieldsV1"] == {"f:spec": {"f:runStrategy": {}}}
    assert "f:runStrategy" not in entry(new, "kubectl-client-side-apply")["fieldsV1"]["f:spec"]


def test_apply_conflict_message_and_causes(vm_type):
    live = created_by_update(vm_type, VM)
    config = copy.deepcopy(VM)
    config["spec"]["runStrategy"] = "Always"
    with pytest.raises(ApiError) as err:
        apply(vm_type, live, config, manager="kubectl", force=False, version="v1")
    assert (err.value.code, err.value.reason) == (409, "Conflict")
    assert err.value.message == ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using '
                                 'kubevirt.io/v1: .spec.runStrategy')
    assert err.value.details == {"causes": [{
        "reason": "FieldManagerConflict", "field": ".spec.runStrategy",
        "message": 'conflict with "kubectl-client-side-apply" using kubevirt.io/v1'}]}


def test_apply_same_values_shares_ownership_without_conflict(vm_type):
    live = created_by_update(vm_type, VM)
    out = apply(vm_type, live, copy.deepcopy(VM), manager="kubectl", force=False, version="v1")
    assert entry(out, "kubectl")["operation"] == "Apply"
    assert entry(out, "kubectl")["fieldsV1"]["f:spec"]["f:runStrategy"] == {}
    assert entry(out, "kubectl-client-side-apply")["fieldsV1"]["f:spec"]["f:runStrategy"] == {}


def test_force_takes_ownership(vm_type):
    live = created_by_update(vm_type, VM)
    config = copy.deepcopy(VM)
    config["spec"]["runStrategy"] = "Always"
    out = apply(vm_type, live, config, manager="kubectl", force=True, version="v1")
    assert out["spec"]["runStrategy"] == "Always"
    assert "f:runStrategy" not in entry(out, "kubectl-client-side-apply")["fieldsV1"]["f:spec"]
    assert [e["operation"] for e in out["metadata"]["managedFields"]] == ["Apply", "Update"]


def test_noop_apply_keeps_managed_fields_and_time(vm_type):
    first = apply(vm_type, None, copy.deepcopy(VM), manager="kubectl", force=False, version="v1")
    first["metadata"]["managedFields"][0]["time"] = "2020-01-01T00:00:00Z"
    again = apply(vm_type, first, copy.deepcopy(VM), manager="kubectl", force=False, version="v1")
    assert again == first


def test_fields_no_longer_applied_are_removed_unless_owned(vm_type):
    first = apply(vm_type, None, copy.deepcopy(VM), manager="kubectl", force=False, version="v1")
    config = copy.deepcopy(VM)
    del config["metadata"]["labels"]
    out = apply(vm_type, first, config, manager="kubectl", force=False, version="v1")
    assert "labels" not in out["metadata"]
    shared = created_by_update(vm_type, VM)
    out = apply(vm_type, apply(vm_type, shared, copy.deepcopy(VM), manager="kubectl", force=False, version="v1"),
                config, manager="kubectl", force=False, version="v1")
    assert out["metadata"]["labels"] == {"app": "cirros"}  # kubectl-client-side-apply still owns it


def test_apply_to_missing_object_creates_it(vm_type):
    out = apply(vm_type, None, copy.deepcopy(VM), manager="kubectl", force=False, version="v1")
    assert out["spec"] == VM["spec"]
    assert [e["manager"] for e in out["metadata"]["managedFields"]] == ["kubectl"]


def test_apply_requires_a_field_manager_and_no_managed_fields(vm_type):
    with pytest.raises(ApiError) as err:
        apply(vm_type, None, copy.deepcopy(VM), manager="", force=False, version="v1")
    assert err.value.code == 400
    bad = copy.deepcopy(VM)
    bad["metadata"]["managedFields"] = [{"manager": "x"}]
    with pytest.raises(ApiError) as err:
        apply(vm_type, None, bad, manager="kubectl", force=False, version="v1")
    assert err.value.message == "metadata.managedFields must be nil"


def test_list_map_keys_for_builtin_containers(reg):
    pods = reg.get(("", "pods"))
    live = apply(pods, None, copy.deepcopy(POD), manager="mgr", force=False, version="v1")
    spec_fields = entry(live, "mgr")["fieldsV1"]["f:spec"]["f:containers"]
    assert spec_fields == {'k:{"name":"app"}': {
        ".": {}, "f:image": {}, "f:name": {},
        "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}}}
    config = copy.deepcopy(POD)
    config["spec"]["containers"][0]["image"] = "nginx:2"
    with pytest.raises(ApiError) as err:
        apply(pods, live, config, manager="other", force=False, version="v1")
    assert err.value.details["causes"][0]["field"] == '.spec.containers[name="app"].image'
    sidecar = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "demo"},
               "spec": {"containers": [{"name": "sidecar", "image": "envoy"}]}}
    merged = apply(pods, live, sidecar, manager="other", force=False, version="v1")
    assert [c["name"] for c in merged["spec"]["containers"]] == ["app", "sidecar"]


def test_status_subresource_fields_are_not_owned_by_main_writers(vm_type):
    obj = copy.deepcopy(VM)
    obj["status"] = {"printableStatus": "Stopped"}
    track_update(vm_type, None, obj, manager="m")
    assert "f:status" not in obj["metadata"]["managedFields"][0]["fieldsV1"]
    new = copy.deepcopy(obj)
    new["status"] = {"printableStatus": "Running"}
    track_update(vm_type, obj, new, manager="virt-controller", subresource="status")
    status_entry = entry(new, "virt-controller")
    assert status_entry["subresource"] == "status"
    assert status_entry["fieldsV1"] == {"f:status": {"f:printableStatus": {}}}


def test_fields_v1_round_trip_and_path_strings():
    paths = {("f:spec", "f:runStrategy"), ("f:spec", 'k:{"name":"a"}'), ("f:spec", 'k:{"name":"a"}', "f:image"),
             ("f:metadata", "f:finalizers", 'v:"x/y"')}
    encoded = encode_fields(paths)
    assert encoded["f:spec"]['k:{"name":"a"}'] == {".": {}, "f:image": {}}
    assert decode_fields(encoded) == paths
    assert path_string(("f:spec", 'k:{"name":"a"}', "f:image")) == '.spec[name="a"].image'
    assert path_string(("f:metadata", "f:finalizers", 'v:"x/y"')) == '.metadata.finalizers[="x/y"]'


def test_unknown_fields_in_applied_configuration_are_refused(vm_type):
    config = copy.deepcopy(VM)
    config["spec"]["template"]["spec"]["bogus"] = 1
    with pytest.raises(ApiError) as err:
        apply(vm_type, None, config, manager="kubectl", force=False, version="v1")
    assert err.value.code == 500
    assert err.value.message == ("failed to create typed patch object (demo/cirros; kubevirt.io/v1, "
                                 "Kind=VirtualMachine): .spec.template.spec.bogus: field not declared in schema")
