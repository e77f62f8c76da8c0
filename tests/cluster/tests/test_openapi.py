"""/openapi/v3 documents shaped like kube-apiserver's (what kubectl's validation probing reads)."""
from __future__ import annotations

import json

from tests.cluster.api import openapi


def patch_op_for(doc: dict, gvk: dict) -> dict:
    """What kubectl's queryParamVerifierV3 does: the PATCH operation tagged with this GVK."""
    for item in doc["paths"].values():
        op = item.get("patch")
        if op and op["x-kubernetes-group-version-kind"] == gvk:
            return op
    raise AssertionError(f"no PATCH for {gvk}")


def test_index_lists_every_served_group_version_with_a_hash(reg):
    index = openapi.v3_index(reg)["paths"]
    assert {"api/v1", "apis/kubevirt.io/v1", "apis/kubevirt.io/v1alpha3", "apis/cdi.kubevirt.io/v1beta1",
            "apis/nmstate.io/v1", "apis/route.openshift.io/v1"} <= set(index)
    url = index["apis/kubevirt.io/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/kubevirt.io/v1?hash=") and len(url.split("=")[1]) == 128
    assert openapi.v3_index(reg) == openapi.v3_index(reg)


def test_namespace_patch_supports_field_validation(reg):
    doc = openapi.v3_document(reg, "api/v1")
    op = patch_op_for(doc, {"group": "", "version": "v1", "kind": "Namespace"})
    assert {"name": "fieldValidation", "in": "query"}.items() <= next(
        p for p in op["parameters"] if p["name"] == "fieldValidation").items()
    assert "application/strategic-merge-patch+json" in op["requestBody"]["content"]
    assert doc["openapi"] == "3.0.0" and "/api/v1/namespaces/{name}" in doc["paths"]


def test_kubevirt_document_describes_vm_paths_and_schema(reg):
    doc = openapi.v3_document(reg, "/apis/kubevirt.io/v1")
    gvk = {"group": "kubevirt.io", "version": "v1", "kind": "VirtualMachine"}
    op = patch_op_for(doc, gvk)
    assert [p["name"] for p in op["parameters"]] == ["dryRun", "fieldManager", "fieldValidation", "force"]
    assert "application/strategic-merge-patch+json" not in op["requestBody"]["content"]
    item = doc["paths"]["/apis/kubevirt.io/v1/namespaces/{namespace}/virtualmachines/{name}"]
    assert {"get", "put", "patch", "delete"} <= set(item)
    assert "/apis/kubevirt.io/v1/namespaces/{namespace}/virtualmachines/{name}/status" in doc["paths"]
    assert "/apis/kubevirt.io/v1/namespaces/{namespace}/virtualmachineinstances/{name}/status" not in doc["paths"]
    schema = doc["components"]["schemas"]["io.kubevirt.v1.VirtualMachine"]
    assert schema["x-kubernetes-group-version-kind"] == [gvk]
    assert schema["properties"]["metadata"]["allOf"] == [{"$ref": openapi.OBJECT_META_REF}]
    assert "runStrategy" in schema["properties"]["spec"]["properties"]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in doc["components"]["schemas"]
    assert "x-cluster-quantity" not in json.dumps(doc)


def test_cluster_scoped_paths_have_no_namespace(reg):
    doc = openapi.v3_document(reg, "apis/nmstate.io/v1")
    assert "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies/{name}" in doc["paths"]
    assert not any("{namespace}" in p for p in doc["paths"])


def test_unknown_document_and_v2(reg):
    assert openapi.v3_document(reg, "apis/nope.io/v1") is None
    assert openapi.v2_document(reg) is None


def test_documents_are_json_serialisable_and_cached(reg):
    doc = openapi.v3_document(reg, "apis/kubevirt.io/v1")
    assert json.loads(json.dumps(doc)) == doc
    assert openapi.v3_document(reg, "apis/kubevirt.io/v1") is doc
