"""A node full of VMs and pods for node_maintenance tests and the evacuation benchmark.

Everything is created over the API as a user would (VMs, claims, a DaemonSet, plain pods and their
kubelet-reported status); VMs land on the chosen node because the other nodes are cordoned while
they start.
"""
from __future__ import annotations

import json
import time
from typing import Any, Dict, Iterable, List, Optional

NODES = ("node01", "node02", "node03")


def call(cluster: Any, method: str, path: str, body: Any = None, content_type: Optional[str] = None,
         ok: Iterable[int] = (200, 201)) -> Dict[str, Any]:
    answer = cluster.http(method, path, body, content_type=content_type)
    assert answer.status in ok, (method, path, answer.status, answer.body[:400])
    return json.loads(answer.body or b"{}")


def set_cordon(cluster: Any, node: str, on: bool) -> None:
    call(cluster, "PATCH", "/api/v1/nodes/%s" % node, {"spec": {"unschedulable": on}},
         content_type="application/merge-patch+json")


def namespace(cluster: Any, name: str) -> str:
    call(cluster, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def rwo_claim(cluster: Any, ns: str, name: str) -> None:
    call(cluster, "POST", "/api/v1/namespaces/%s/persistentvolumeclaims" % ns, {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})


def vm(cluster: Any, ns: str, name: str, memory: str = "128Mi", claim: Optional[str] = None) -> None:
    volume = {"name": "root", "persistentVolumeClaim": {"claimName": claim}} if claim else \
        {"name": "root", "containerDisk": {"image": "quay.io/containerdisks/fedora:41"}}
    call(cluster, "POST", "/apis/kubevirt.io/v1/namespaces/%s/virtualmachines" % ns, {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name},
        "spec": {"runStrategy": "Always", "template": {"metadata": {"labels": {"kubevirt.io/domain": name}}, "spec": {
            "evictionStrategy": "LiveMigrate",
            "domain": {"devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}]}, "memory": {"guest": memory}},
            "volumes": [volume]}}}})


def pod(cluster: Any, ns: str, name: str, node: str, labels: Optional[Dict[str, str]] = None,
        owner: Optional[Dict[str, Any]] = None) -> None:
    metadata: Dict[str, Any] = {"name": name, "labels": labels or {}}
    if owner:
        metadata["ownerReferences"] = [owner]
    call(cluster, "POST", "/api/v1/namespaces/%s/pods" % ns, {
        "apiVersion": "v1", "kind": "Pod", "metadata": metadata,
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}})
    call(cluster, "PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (ns, name),
         {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}},
         content_type="application/merge-patch+json")


def daemonset_pod(cluster: Any, ns: str, node: str) -> None:
    """A pod a DaemonSet controls (the local cluster serves no apps/v1: the owner is a reference only)."""
    pod(cluster, ns, "agent-%s" % node, node, {"app": "agent"}, {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": "6f1c0d1e-agent-daemonset",
        "controller": True, "blockOwnerDeletion": True})


def vmis(cluster: Any, ns: str) -> List[Dict[str, Any]]:
    return call(cluster, "GET", "/apis/kubevirt.io/v1/namespaces/%s/virtualmachineinstances" % ns)["items"]


def migrations(cluster: Any, ns: str) -> List[Dict[str, Any]]:
    return call(cluster, "GET", "/apis/kubevirt.io/v1/namespaces/%s/virtualmachineinstancemigrations" % ns)["items"]


def wait_running(cluster: Any, ns: str, count: int, timeout: float = 60) -> List[Dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        running = [v for v in vmis(cluster, ns) if (v.get("status") or {}).get("phase") == "Running"
                   and any(c.get("type") == "LiveMigratable" for c in v["status"].get("conditions") or [])]
        if len(running) == count:
            return running
        assert time.monotonic() < deadline, "only %d of %d VMIs running" % (len(running), count)
        time.sleep(0.1)


def fill_node(cluster: Any, ns: str, node: str, migratable: List[str], rwo: Iterable[str] = (),
              memory: str = "128Mi") -> List[Dict[str, Any]]:
    """Start the VMs with only ``node`` schedulable, then open the other nodes again."""
    others = [n for n in NODES if n != node]
    for other in others:
        set_cordon(cluster, other, True)
    try:
        for name in migratable:
            vm(cluster, ns, name, memory)
        for name in rwo:
            rwo_claim(cluster, ns, name + "-root")
            vm(cluster, ns, name, memory, claim=name + "-root")
        started = wait_running(cluster, ns, len(migratable) + len(list(rwo)))
    finally:
        for other in others:
            set_cordon(cluster, other, False)
    assert {v["status"]["nodeName"] for v in started} == {node}
    return started


def stamp(value: str) -> float:
    from datetime import datetime
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def max_concurrent(items: List[Dict[str, Any]]) -> int:
    """Most VMIMs active at once, from creation to the Succeeded/Failed phaseTransitionTimestamp."""
    spans = []
    for mig in items:
        stamps = {e["phase"]: e["phaseTransitionTimestamp"] for e in mig["status"].get("phaseTransitionTimestamps") or []}
        end = stamps.get("Succeeded") or stamps.get("Failed")
        assert end, mig["metadata"]["name"]
        spans.append((stamp(mig["metadata"]["creationTimestamp"]), stamp(end)))
    # Timestamps are whole seconds: at the same second an end counts before a start.
    points = sorted([(start, 1) for start, _end in spans] + [(end, -1) for _start, end in spans], key=lambda p: (p[0], p[1]))
    best = current = 0
    for _t, delta in points:
        current += delta
        best = max(best, current)
    return best
