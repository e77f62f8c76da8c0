"""JSON, merge and strategic merge patches with kube-apiserver's outcomes and errors."""
from __future__ import annotations

import copy

import pytest

from tests.cluster.api.errors import ApiError
from tests.cluster.api.patch import json_patch, merge_patch, strategic_merge_patch

VM = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
      "metadata": {"name": "cirros", "namespace": "demo", "labels": {"app": "cirros"}},
      "spec": {"runStrategy": "Halted", "template": {"spec": {
          "domain": {"devices": {"disks": [{"name": "containerdisk", "disk": {"bus": "virtio"}}]}},
          "volumes": [{"name": "containerdisk", "containerDisk": {"image": "quay.io/kubevirt/cirros"}}]}}}}

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "demo", "finalizers": ["a/b"]},
       "spec": {"containers": [
           {"name": "app", "image": "nginx:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "ports": [{"containerPort": 80, "protocol": "TCP"}]},
           {"name": "sidecar", "image": "envoy:1"}],
           "volumes": [{"name": "data", "emptyDir": {}}],
           "tolerations": [{"key": "a", "operator": "Exists"}]}}


def rejected(fn, *args) -> ApiError:
    with pytest.raises(ApiError) as err:
        fn(*args)
    return err.value


# -- JSON patch --------------------------------------------------------------------------------
def test_json_patch_operations():
    ops = [{"op": "test", "path": "/spec/runStrategy", "value": "Halted"},
           {"op": "replace", "path": "/spec/runStrategy", "value": "Always"},
           {"op": "add", "path": "/metadata/labels/tier", "value": "web"},
           {"op": "add", "path": "/spec/template/spec/volumes/-", "value": {"name": "v2", "emptyDisk": {}}},
           {"op": "copy", "from": "/metadata/labels/app", "path": "/metadata/labels/copy"},
           {"op": "move", "from": "/metadata/labels/copy", "path": "/metadata/labels/moved"},
           {"op": "remove", "path": "/spec/template/spec/volumes/0"},
           {"op": "add", "path": "/metadata/annotations", "value": {"a~b/c": "x"}},
           {"op": "remove", "path": "/metadata/annotations/a~0b~1c"}]
    out = json_patch(VM, ops)
    assert out["spec"]["runStrategy"] == "Always"
    assert out["metadata"]["labels"] == {"app": "cirros", "tier": "web", "moved": "cirros"}
    assert out["spec"]["template"]["spec"]["volumes"] == [{"name": "v2", "emptyDisk": {}}]
    assert out["metadata"]["annotations"] == {}
    assert VM["spec"]["runStrategy"] == "Halted"  # input untouched


def test_json_patch_insert_at_index():
    out = json_patch({"a": [1, 3]}, [{"op": "add", "path": "/a/1", "value": 2}])
    assert out == {"a": [1, 2, 3]}


def test_json_patch_failed_test_is_422_with_library_message():
    err = rejected(json_patch, VM, [{"op": "test", "path": "/spec/runStrategy", "value": "Always"}])
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.message == "the server rejected our request due to an error in our request"
    assert err.details == {"causes": [{"reason": "UnexpectedServerResponse",
                                       "message": "testing value /spec/runStrategy failed: test failed"}]}


@pytest.mark.parametrize("op,message", [
    ({"op": "remove", "path": "/spec/nothere"},
     "error in remove for path: '/spec/nothere': Unable to remove nonexistent key: nothere: missing value"),
    ({"op": "add", "path": "/spec/a/b", "value": 1},
     'add operation does not apply: doc is missing path: "/spec/a/b": missing value'),
    ({"op": "replace", "path": "/spec/template/spec/volumes/5", "value": 1},
     "replace operation does not apply: doc is missing key: /spec/template/spec/volumes/5: missing value"),
    ({"op": "add", "path": "/spec/template/spec/volumes/9", "value": 1},
     "error in add for path: '/spec/template/spec/volumes/9': Unable to access invalid index: 9: "
     "invalid index referenced"),
    ({"op": "frobnicate", "path": "/spec"}, "Unexpected kind: frobnicate"),
])
def test_json_patch_errors(op, message):
    err = rejected(json_patch, VM, [op])
    assert err.code == 422 and err.details["causes"][0]["message"] == message


def test_json_patch_replace_of_missing_key_adds_it_like_apiserver():
    assert json_patch(VM, [{"op": "replace", "path": "/spec/running", "value": False}])["spec"]["running"] is False


def test_json_patch_body_must_be_a_list():
    err = rejected(json_patch, VM, {"spec": {}})
    assert (err.code, err.message) == (400, "json: cannot unmarshal object into Go value of type jsonpatch.Patch")


# -- merge patch -------------------------------------------------------------------------------
def test_merge_patch_rfc7386():
    out = merge_patch(VM, {"metadata": {"labels": {"app": None, "x": "y"}},
                           "spec": {"runStrategy": "Always", "template": {"spec": {"volumes": []}}}})
    assert out["metadata"]["labels"] == {"x": "y"}
    assert out["spec"]["runStrategy"] == "Always" and out["spec"]["template"]["spec"]["volumes"] == []
    assert out["spec"]["template"]["spec"]["domain"] == VM["spec"]["template"]["spec"]["domain"]


def test_merge_patch_must_be_an_object():
    err = rejected(merge_patch, VM, ["x"])
    assert (err.code, err.message) == (400, "Invalid JSON Patch")


# -- strategic merge patch ---------------------------------------------------------------------
def test_smp_refused_on_custom_resources(reg):
    err = rejected(strategic_merge_patch, VM, {"spec": {}}, reg.get(("kubevirt.io", "virtualmachines")))
    assert (err.code, err.reason) == (415, "UnsupportedMediaType")
    assert err.message.startswith("the body of the request was in an unknown format - accepted media types include")


def test_smp_merges_containers_by_name_and_env_by_name(reg):
    patch = {"spec": {"containers": [{"name": "app", "image": "nginx:2", "env": [{"name": "B", "value": "3"},
                                                                                   {"name": "C", "value": "4"}]}]}}
    out = strategic_merge_patch(POD, patch, reg.get(("", "pods")))
    app, sidecar = out["spec"]["containers"]
    assert app["image"] == "nginx:2" and sidecar == POD["spec"]["containers"][1]
    assert app["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]
    assert app["ports"] == [{"containerPort": 80, "protocol": "TCP"}]


def test_smp_atomic_lists_are_replaced(reg):
    out = strategic_merge_patch(POD, {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}},
                                reg.get(("", "pods")))
    assert out["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]


def test_smp_directives(reg):
    pods = reg.get(("", "pods"))
    out = strategic_merge_patch(POD, {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}, pods)
    assert [c["name"] for c in out["spec"]["containers"]] == ["app"]
    out = strategic_merge_patch(POD, {"spec": {"containers": [{"name": "only", "image": "x"}, {"$patch": "replace"}]}},
                                pods)
    assert out["spec"]["containers"] == [{"name": "only", "image": "x"}]
    out = strategic_merge_patch(POD, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a/b"]}}, pods)
    assert out["metadata"]["finalizers"] == []
    out = strategic_merge_patch(POD, {"metadata": {"finalizers": ["c/d"]}}, pods)
    assert out["metadata"]["finalizers"] == ["a/b", "c/d"]
    out = strategic_merge_patch(POD, {"spec": {"$patch": "replace", "containers": [{"name": "z", "image": "z"}]}},
                                pods)
    assert out["spec"] == {"containers": [{"name": "z", "image": "z"}]}
    out = strategic_merge_patch(POD, {"spec": {"volumes": [{"name": "data", "$retainKeys": ["name", "hostPath"],
                                                            "hostPath": {"path": "/x"}}]}}, pods)
    assert out["spec"]["volumes"] == [{"name": "data", "hostPath": {"path": "/x"}}]
    out = strategic_merge_patch(POD, {"spec": {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}]}},
                                pods)
    assert [c["name"] for c in out["spec"]["containers"]] == ["sidecar", "app"]


def test_smp_null_deletes_and_unknown_directive(reg):
    pods = reg.get(("", "pods"))
    out = strategic_merge_patch(POD, {"metadata": {"finalizers": None}}, pods)
    assert "finalizers" not in out["metadata"]
    err = rejected(strategic_merge_patch, POD, {"spec": {"$patch": "explode"}}, pods)
    assert err.code == 400 and 'unknown patch type: "explode"' in err.message


def test_smp_missing_merge_key_is_an_internal_error(reg):
    err = rejected(strategic_merge_patch, POD, {"spec": {"containers": [{"image": "x"}]}}, reg.get(("", "pods")))
    assert err.code == 500
    assert err.message == "Internal error occurred: map: map[image:x] does not contain declared merge key: name"


def test_smp_service_ports_by_port(reg):
    svc = {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 22, "targetPort": 22}, {"port": 80}]}}
    out = strategic_merge_patch(svc, {"spec": {"ports": [{"port": 22, "targetPort": 2222}]}},
                                reg.get(("", "services")))
    assert out["spec"]["ports"] == [{"port": 22, "targetPort": 2222}, {"port": 80}]
    assert copy.deepcopy(svc) == svc
