"""The seed fixtures (tests/cluster/fixtures/*.yaml) apply cleanly through the HTTP API.

Each manifest is created with ``fieldValidation=Strict`` (so a misspelt field would be refused) and
read back unchanged; the VM with an HTTP DataVolume template goes Provisioning -> Running.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MANIFESTS = sorted(FIXTURES.glob("*.yaml"))


def load(name: str) -> dict:
    return yaml.safe_load((FIXTURES / name).read_text())


def contains(actual: Any, expected: Any) -> bool:
    """``expected`` is found in ``actual`` (servers may add defaults, never drop or change fields)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and contains(actual[k], v) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(
            contains(a, e) for a, e in zip(actual, expected))
    return actual == expected


def collection_path(cluster, manifest: dict, namespace: str) -> str:
    """The collection URL of a manifest's kind, found by discovery as kubectl does."""
    api_version = manifest["apiVersion"]
    base = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    resources = cluster.http("GET", base).json()["resources"]
    entry = next(r for r in resources if r["kind"] == manifest["kind"] and "/" not in r["name"])
    return f"{base}/namespaces/{namespace}/{entry['name']}" if entry["namespaced"] else f"{base}/{entry['name']}"


def apply(cluster, manifest: dict, namespace: str) -> dict:
    path = collection_path(cluster, manifest, namespace)
    answer = cluster.http("POST", f"{path}?fieldValidation=Strict", manifest)
    assert answer.status == 201, f"{manifest['kind']} {manifest['metadata']['name']}: {answer}"
    assert not answer.warnings, answer.warnings
    return answer.json()


def test_fixture_set_is_complete():
    kinds = sorted((m["kind"], m["metadata"]["name"]) for m in map(lambda p: yaml.safe_load(p.read_text()), MANIFESTS))
    assert kinds == [("NetworkAttachmentDefinition", "vlan-93"), ("NodeNetworkConfigurationPolicy", "bond0-br1"),
                     ("VirtualMachine", "fedora-ephemeral"), ("VirtualMachine", "fedora-http")]


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.stem for p in MANIFESTS])
def test_manifest_is_accepted_with_strict_validation(cluster, fresh_namespace, path):
    manifest = yaml.safe_load(path.read_text())
    if not manifest.get("metadata", {}).get("namespace"):
        manifest["metadata"]["namespace"] = fresh_namespace
    created = apply(cluster, manifest, fresh_namespace)
    assert created["metadata"]["uid"]
    try:
        assert contains(created["spec"], manifest["spec"]), "fields were dropped or changed on the way in"
        stored = cluster.http("GET", f"{collection_path(cluster, manifest, fresh_namespace)}/"
                                     f"{created['metadata']['name']}").json()
        assert contains(stored["spec"], manifest["spec"])
    finally:
        if created["metadata"].get("namespace") is None:  # cluster-scoped: do not leak into other tests
            cluster.http("DELETE", f"{collection_path(cluster, manifest, fresh_namespace)}/{created['metadata']['name']}")


def test_bond_and_bridge_policy_fields():
    interfaces = {i["name"]: i for i in load("nncp-bond0-br1.yaml")["spec"]["desiredState"]["interfaces"]}
    bond, bridge = interfaces["bond0"], interfaces["br1"]
    assert bond["type"] == "bond" and bond["mtu"] == 1450
    assert bond["link-aggregation"] == {"mode": "balance-alb", "options": {"miimon": "100"}, "port": ["eth2", "eth3"]}
    assert bridge["type"] == "linux-bridge" and bridge["bridge"]["port"] == [{"name": "bond0"}]
    assert bridge["bridge"]["options"]["stp"]["enabled"] is False


def test_vlan_network_attachment_config():
    config = json.loads(load("nad-vlan-93.yaml")["spec"]["config"])
    assert config == {"cniVersion": "0.3.1", "name": "vlan-93", "type": "cnv-bridge", "bridge": "br1",
                      "vlan": 93, "macspoofchk": True}


def _printable_statuses(cluster, namespace: str, name: str, until: str, since: str,
                        timeout: float = 60) -> list[str]:
    """``printableStatus`` values of a VM, watched from resourceVersion ``since`` (no change missed)."""
    from kubernetes import client, watch
    seen: list[str] = []
    with cluster.api_client() as api_client:
        custom = client.CustomObjectsApi(api_client)
        deadline = time.monotonic() + timeout
        stream = watch.Watch()
        while time.monotonic() < deadline and (not seen or seen[-1] != until):
            for event in stream.stream(custom.list_namespaced_custom_object, "kubevirt.io", "v1", namespace,
                                       "virtualmachines", field_selector=f"metadata.name={name}",
                                       resource_version=since,
                                       timeout_seconds=max(1, int(deadline - time.monotonic()))):
                status = (event["object"].get("status") or {}).get("printableStatus")
                if status and (not seen or seen[-1] != status):
                    seen.append(status)
                if status == until:
                    stream.stop()
                    break
    return seen


def test_datavolume_vm_provisions_then_runs(cluster, fresh_namespace):
    manifest = load("vm-fedora-datavolume-http.yaml")
    manifest["metadata"]["namespace"] = fresh_namespace
    created = apply(cluster, manifest, fresh_namespace)
    seen = _printable_statuses(cluster, fresh_namespace, "fedora-http", "Running",
                               created["metadata"]["resourceVersion"])
    assert "Provisioning" in seen and seen[-1] == "Running", seen
    assert seen.index("Provisioning") < seen.index("Running")
    dv: Any = cluster.http("GET", f"/apis/cdi.kubevirt.io/v1beta1/namespaces/{fresh_namespace}/datavolumes/"
                                  "fedora-http-rootdisk").json()
    assert dv["status"]["phase"] == "Succeeded" and dv["status"]["progress"] == "100.0%"
    assert dv["metadata"]["ownerReferences"][0]["kind"] == "VirtualMachine"
    pvc = cluster.http("GET", f"/api/v1/namespaces/{fresh_namespace}/persistentvolumeclaims/fedora-http-rootdisk").json()
    assert pvc["status"]["phase"] == "Bound" and pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pvc["spec"]["volumeMode"] == "Filesystem" and pvc["spec"]["storageClassName"] == "ocs-storagecluster-cephfs"
