"""The kubernetes Python client 37 against the cluster, used the way modules and kubernetes.core use it."""
from __future__ import annotations

import json

import pytest
from kubernetes import client, dynamic

from .apitools import vm_manifest
from .harness import wait_for


@pytest.fixture
def api(cluster):
    api_client = cluster.api_client()
    yield api_client
    api_client.close()


def test_custom_objects_crud(api, fresh_namespace):
    ns = fresh_namespace
    objects = client.CustomObjectsApi(api)
    created = objects.create_namespaced_custom_object("kubevirt.io", "v1", ns, "virtualmachines",
                                                      vm_manifest("co", ns, {"app": "demo"}))
    assert created["metadata"]["generation"] == 1
    got = objects.get_namespaced_custom_object("kubevirt.io", "v1", ns, "virtualmachines", "co")
    assert got["metadata"]["uid"] == created["metadata"]["uid"]
    patched = objects.patch_namespaced_custom_object("kubevirt.io", "v1", ns, "virtualmachines", "co",
                                                     {"metadata": {"labels": {"tier": "gold"}}})
    assert patched["metadata"]["labels"] == {"app": "demo", "tier": "gold"}
    listed = objects.list_cluster_custom_object("kubevirt.io", "v1", "virtualmachines", label_selector="tier=gold")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["co"]
    with pytest.raises(client.ApiException) as info:
        objects.create_namespaced_custom_object("kubevirt.io", "v1", ns, "virtualmachines", vm_manifest("co", ns))
    assert info.value.status == 409
    assert json.loads(info.value.body)["reason"] == "AlreadyExists"
    assert info.value.headers["Content-Type"] == "application/json"
    objects.delete_namespaced_custom_object("kubevirt.io", "v1", ns, "virtualmachines", "co")

    def gone() -> bool:  # the VM controller's finalizer goes first, as in KubeVirt
        try:
            objects.get_namespaced_custom_object("kubevirt.io", "v1", ns, "virtualmachines", "co")
        except client.ApiException as exc:
            return exc.status == 404
        return False
    wait_for(gone, message="VM deletion")


def test_dynamic_client_get_patch_and_fallback_to_merge(api, fresh_namespace):
    ns = fresh_namespace
    dyn = dynamic.DynamicClient(api)
    vms = dyn.resources.get(api_version="kubevirt.io/v1", kind="VirtualMachine")
    vms.create(body=vm_manifest("dyn", ns), namespace=ns)
    got = vms.get(name="dyn", namespace=ns)
    assert got.metadata.name == "dyn" and got.kind == "VirtualMachine"
    # DynamicClient.patch defaults to strategic merge: a real server refuses it for custom resources
    with pytest.raises(dynamic.exceptions.DynamicApiError) as info:
        vms.patch(body={"metadata": {"labels": {"a": "b"}}}, name="dyn", namespace=ns)
    assert info.value.status == 415
    patched = vms.patch(body={"metadata": {"labels": {"a": "b"}}}, name="dyn", namespace=ns,
                        content_type="application/merge-patch+json")
    assert patched.metadata.labels.a == "b"
    listed = vms.get(namespace=ns, label_selector="a=b")
    assert [i.metadata.name for i in listed.items] == ["dyn"]
    pods = dyn.resources.get(api_version="v1", kind="Pod")
    assert pods.get(namespace=ns).kind == "PodList"


def test_server_side_apply_and_check_mode_dry_run(cluster, api, fresh_namespace):
    ns = fresh_namespace
    dyn = dynamic.DynamicClient(api)
    vms = dyn.resources.get(api_version="kubevirt.io/v1", kind="VirtualMachine")
    mark = cluster.mark()
    dry = vms.create(body=vm_manifest("ssa", ns), namespace=ns, query_params=[("dryRun", "All")])
    assert dry.metadata.name == "ssa"
    writes = [e for e in cluster.requests(since=mark) if e["write"]]
    assert len(writes) == 1 and writes[0]["dry_run"] is True
    with pytest.raises(dynamic.exceptions.NotFoundError):
        vms.get(name="ssa", namespace=ns)
    applied = vms.server_side_apply(body=vm_manifest("ssa", ns, {"via": "ssa"}), name="ssa", namespace=ns,
                                    field_manager="virt.kubevirt", force=True)
    assert applied.metadata.labels.via == "ssa"
    entries = [m for m in applied.metadata.managedFields if m.manager == "virt.kubevirt"]
    assert entries and entries[0].operation == "Apply"


def test_typed_core_api_and_errors(api, fresh_namespace):
    core = client.CoreV1Api(api)
    nodes = core.list_node()
    assert len(nodes.items) >= 3 and all(n.metadata.name.startswith("node") for n in nodes.items)
    ns = core.read_namespace(fresh_namespace)
    assert ns.status.phase == "Active"
    assert ns.metadata.labels["kubernetes.io/metadata.name"] == fresh_namespace
    with pytest.raises(client.ApiException) as info:
        core.create_namespaced_config_map(fresh_namespace, {"metadata": {"name": "UPPER"}})
    body = json.loads(info.value.body)
    assert info.value.status == 422 and body["details"]["causes"][0]["field"] == "metadata.name"
    page = core.list_namespace(limit=2)
    assert len(page.items) == 2 and page.metadata._continue and page.metadata.remaining_item_count >= 1
    rest = core.list_namespace(limit=500, _continue=page.metadata._continue)
    assert len(page.items) + len(rest.items) == len(core.list_namespace().items)
