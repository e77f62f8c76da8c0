"""Schemas from the installed OpenShift schema package attached to the served types."""
from __future__ import annotations

import time

import pytest

from tests.cluster.api import schemas
from tests.cluster.api.catalog import build_registry


def _at(schema: dict, *path: str) -> dict:
    for part in path:
        schema = schema["items"] if part == "[]" else schema["properties"][part]
    return schema


def test_every_served_type_and_version_has_an_object_schema(reg):
    for rtype in reg.types():
        assert rtype.schema and rtype.schema["type"] == "object", rtype.kind
        assert rtype.schema["x-kubernetes-group-version-kind"] == [
            {"group": rtype.group, "kind": rtype.kind, "version": rtype.version}]
        for version in rtype.served_versions:
            assert "metadata" in schemas.schema_for(rtype, version)["properties"]


def test_vm_schema_is_kubevirts_with_quantity_pattern(reg):
    vm = reg.get(("kubevirt.io", "virtualmachines")).schema
    guest = _at(vm, "spec", "template", "spec", "domain", "memory", "guest")
    assert guest["x-kubernetes-int-or-string"] is True
    assert guest["pattern"].startswith("^(\\+|-)?(([0-9]+")
    assert _at(vm, "spec", "running") == {**_at(vm, "spec", "running"), "type": "boolean"}
    assert "dataVolumeTemplates" in vm["properties"]["spec"]["properties"]


def test_object_meta_ref_is_resolved(reg):
    for gr in [("kubevirt.io", "virtualmachines"), ("", "pods"), ("cdi.kubevirt.io", "datavolumes")]:
        meta = reg.get(gr).schema["properties"]["metadata"]
        assert "$ref" not in meta and "allOf" not in meta
        assert meta["properties"]["labels"]["additionalProperties"]["type"] == "string"


def test_core_types_link_flattened_definitions(reg):
    pod = reg.get(("", "pods")).schema
    containers = _at(pod, "spec", "containers")
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert "image" in containers["items"]["properties"]
    env = _at(pod, "spec", "containers", "[]", "env", "[]")
    assert set(env["properties"]) == {"name", "value", "valueFrom"}


def test_upload_token_request_is_a_reported_gap(reg):
    utr = reg.get(("upload.cdi.kubevirt.io", "uploadtokenrequests")).schema
    assert _at(utr, "spec")["required"] == ["pvcName"]
    assert "upload.cdi.kubevirt.io/v1beta1/UploadTokenRequest" in schemas.GAPS


def test_printer_columns_match_real_crds(reg):
    vm = reg.get(("kubevirt.io", "virtualmachines")).printer_columns
    assert [c["name"] for c in vm] == ["Age", "Status", "Ready"]
    vmi = reg.get(("kubevirt.io", "virtualmachineinstances")).printer_columns
    assert [(c["name"], c.get("priority", 0)) for c in vmi] == [
        ("Age", 0), ("Phase", 0), ("IP", 0), ("NodeName", 0), ("Ready", 0), ("Live-Migratable", 1), ("Paused", 1)]
    assert [c["name"] for c in reg.get(("cdi.kubevirt.io", "datavolumes")).printer_columns] == [
        "Phase", "Progress", "Restarts", "Age"]
    assert [c["name"] for c in reg.get(("nmstate.io", "nodenetworkconfigurationpolicies")).printer_columns] == [
        "Status", "Reason"]
    assert [c["name"] for c in reg.get(
        ("kubevirt.io", "virtualmachineinstancemigrations")).printer_columns] == ["Phase", "VMI"]


def test_openshift_discovery_lists_other_package_types(reg):
    found = {(t.group, t.version, t.plural): t for t in reg.discovery_only}
    assert ("apps", "v1", "deployments") in found and found[("apps", "v1", "deployments")].namespaced
    assert ("config.openshift.io", "v1", "clusterversions") in found
    assert not found[("config.openshift.io", "v1", "clusterversions")].namespaced
    assert ("cdi.kubevirt.io", "v1beta1", "objecttransfers") in found
    served = {t.gr for t in reg.types()}
    assert not any((g, p) in served for g, _, p in found)
    assert not any(t.kind.endswith("List") for t in reg.discovery_only)
    assert not any(t.group == "" and t.kind in ("Build", "Route", "Status") for t in reg.discovery_only)
    assert len(found) > 500


def test_kubernetes_flavor_has_no_discovery_only_types():
    reg = build_registry("kubernetes")
    schemas.attach_schemas(reg, "kubernetes")
    assert reg.discovery_only == []


@pytest.mark.parametrize("kind,plural", [
    ("VirtualMachine", "virtualmachines"), ("DNS", "dnses"), ("Ingress", "ingresses"), ("Policy", "policies"),
    ("Gateway", "gateways"), ("Mesh", "meshes"), ("Box", "boxes")])
def test_plural_derivation(kind, plural):
    assert schemas.plural_of(kind) == plural


def test_disk_cache_makes_a_second_start_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_CLUSTER_SCHEMA_CACHE", str(tmp_path))
    schemas.attach_schemas(build_registry("openshift"), "openshift")  # writes the cache
    assert list(tmp_path.glob("test-cluster-schemas-*.json"))
    cached = schemas._read_cache()
    assert cached and "kubevirt.io/v1/VirtualMachine" in cached["resolved"]
    started = time.perf_counter()
    reg = build_registry("openshift")
    schemas.attach_schemas(reg, "openshift")
    assert time.perf_counter() - started < 2.0
    assert len(reg.discovery_only) > 500
