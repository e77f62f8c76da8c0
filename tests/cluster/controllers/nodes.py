"""Worker nodes and a kube-scheduler stand-in.

``NodeController`` creates the schedulable workers at start (``options["nodes"]``, default 3:
node01..node03) with the labels KubeVirt's virt-handler and node-labeller set, and keeps the
``node.kubernetes.io/unschedulable`` taint in step with ``spec.unschedulable`` (cordon), as the
node lifecycle controller does. ``schedule`` picks a node for a pod the way the default scheduler's
filters do (NodeUnschedulable, TaintToleration, NodeAffinity/nodeSelector, NodeResourcesFit, pod
anti-affinity to given nodes) and, when nothing fits, returns the scheduler's FitError message
(``0/3 nodes are available: 3 Insufficient memory. preemption: ...``). Choice is deterministic:
fewest running pods, then least requested memory, then name.
"""
from __future__ import annotations

import functools
import ipaddress
import logging
from collections import Counter
from typing import Iterable, Iterator, Optional

from ..api.objects import now_rfc3339
from ..api.store import Event
from .keys import NODE, POD
from .runtime import Controller, ObjKey, Runtime
from .virtcommon import flavor, format_bytes, parse_quantity

log = logging.getLogger("cluster.nodes")

UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
DEFAULT_CPU = "16"
DEFAULT_MEMORY = "64Gi"
MAX_PODS = 250
# What the kubelet reserves (system-reserved + eviction threshold) between capacity and allocatable.
RESERVED_CPU = 0.5
RESERVED_MEMORY = 1536 * 2 ** 20


def node_name(index: int) -> str:
    return f"node{index:02d}"


def pod_cidr(index: int, flavor_name: str) -> str:
    """OpenShift's OVN hands each node a /23 of 10.128.0.0/14; kubeadm clusters a /24 of 10.244/16."""
    if flavor_name == "openshift":
        return str(ipaddress.ip_network(f"10.128.{(2 * index) % 256}.0/23"))
    return f"10.244.{index % 256}.0/24"


@functools.lru_cache(maxsize=4096)
def _network_base(cidr: str) -> ipaddress.IPv4Address:
    return ipaddress.ip_network(cidr).network_address


def pod_ip(node: dict, n: int) -> str:
    """The n-th (0-based) pod address of a node's podCIDR (skipping the network and gateway)."""
    return str(_network_base(node["spec"]["podCIDR"]) + 3 + n)


def build_node(index: int, options: dict) -> dict:
    """A Ready, schedulable worker as KubeVirt shows it (virt-handler/node-labeller labels)."""
    name = node_name(index)
    flv = flavor(options)
    cpu = float(parse_quantity(options.get("node_cpu", DEFAULT_CPU)))
    memory = parse_quantity(options.get("node_memory", DEFAULT_MEMORY))
    stamp = now_rfc3339()
    zone = f"zone-{'abc'[(index - 1) % 3]}"
    labels = {
        "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
        "node-role.kubernetes.io/worker": "", "topology.kubernetes.io/region": "local",
        "topology.kubernetes.io/zone": zone,
        "kubevirt.io/schedulable": "true", "cpumanager": "false",
        "cpu-model.node.kubevirt.io/Cascadelake-Server": "true",
        "cpu-vendor.node.kubevirt.io/Intel": "true",
        "host-model-cpu.node.kubevirt.io/Cascadelake-Server": "true",
        "kubevirt.io/ksm-enabled": "false",
        "scheduling.node.kubevirt.io/tsc-frequency-2294608000": "true",
        "machine-type.node.kubevirt.io/q35": "true",
    }
    if flv == "openshift":
        labels["node.openshift.io/os_id"] = "rhel"
        labels["machine-type.node.kubevirt.io/pc-q35-rhel9.6.0"] = "true"
    capacity = {"cpu": f"{int(cpu)}", "memory": format_bytes(memory), "pods": str(MAX_PODS),
                "ephemeral-storage": "104322028Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                "devices.kubevirt.io/kvm": "1k", "devices.kubevirt.io/tun": "1k",
                "devices.kubevirt.io/vhost-net": "1k"}
    allocatable = dict(capacity, cpu=f"{int((cpu - RESERVED_CPU) * 1000)}m",
                       memory=format_bytes(memory - RESERVED_MEMORY), **{"ephemeral-storage": "96143180846"})

    def cond(ctype: str, status: str, reason: str, message: str) -> dict:
        return {"type": ctype, "status": status, "reason": reason, "message": message,
                "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}

    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {
            "kubevirt.io/heartbeat": stamp, "node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
        "spec": {"podCIDR": pod_cidr(index, flv), "podCIDRs": [pod_cidr(index, flv)],
                 "providerID": f"local://{name}"},
        "status": {
            "addresses": [{"type": "InternalIP", "address": f"192.168.66.{100 + index}"},
                          {"type": "Hostname", "address": name}],
            "allocatable": allocatable, "capacity": capacity,
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
                     "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64", "bootID": f"00000000-0000-4000-8000-0000000000{index:02d}",
                "containerRuntimeVersion": "cri-o://1.33.2" if flv == "openshift" else "containerd://2.1.3",
                "kernelVersion": "5.14.0-570.25.1.el9_6.x86_64" if flv == "openshift" else "6.8.0-71-generic",
                "kubeProxyVersion": "", "kubeletVersion": "v1.35.2", "machineID": f"{index:032x}",
                "operatingSystem": "linux",
                "osImage": "Red Hat Enterprise Linux CoreOS 9.6" if flv == "openshift" else "Ubuntu 24.04.2 LTS",
                "systemUUID": f"00000000-0000-4000-8000-{index:012x}",
            },
        },
    }


class NodeController(Controller):
    name = "nodes"
    watches = (NODE,)

    def start(self, rt: Runtime) -> None:
        for index in range(1, int(rt.options.get("nodes", 3)) + 1):
            if rt.store.get(NODE, None, node_name(index)) is None:
                rt.service.create(NODE, build_node(index, rt.options), keep_status=True)

    def reconcile(self, rt: Runtime, gr, namespace: str, name: str) -> None:
        def sync_taint(node: dict) -> None:
            taints = [t for t in node["spec"].get("taints") or [] if t.get("key") != UNSCHEDULABLE_TAINT]
            if node["spec"].get("unschedulable"):
                old = next((t for t in node["spec"].get("taints") or [] if t.get("key") == UNSCHEDULABLE_TAINT), None)
                taints.append(old or {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule", "timeAdded": now_rfc3339()})
            if taints:
                node["spec"]["taints"] = taints
            else:
                node["spec"].pop("taints", None)
        rt.service.mutate(NODE, None, name, sync_taint)

    def keys_for(self, event: Event) -> Iterator[ObjKey]:
        if event.gr == NODE and event.type != "DELETED":
            spec, old_spec = event.obj.get("spec", {}), (event.old or {}).get("spec", {})
            if bool(spec.get("unschedulable")) != bool(old_spec.get("unschedulable")) or event.type == "ADDED":
                yield (NODE, "", event.obj["metadata"]["name"])


# -- scheduling ---------------------------------------------------------------------------------
def pod_requests(pod: dict) -> tuple[float, float]:
    """(cpu cores, memory bytes) the scheduler counts for a pod."""
    cpu = memory = 0.0
    for container in pod.get("spec", {}).get("containers") or ():
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += parse_quantity(requests.get("cpu"))
        memory += parse_quantity(requests.get("memory"))
    return cpu, memory


def is_active_pod(pod: dict) -> bool:
    return pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")


def node_usage(pods: Iterable[dict]) -> dict[str, list[float]]:
    """node name -> [cpu, memory, pod count] requested by the pods bound to it."""
    usage: dict[str, list[float]] = {}
    for pod in pods:
        node = pod.get("spec", {}).get("nodeName")
        if not node or not is_active_pod(pod):
            continue
        cpu, memory = pod_requests(pod)
        entry = usage.setdefault(node, [0.0, 0.0, 0])
        entry[0] += cpu
        entry[1] += memory
        entry[2] += 1
    return usage


def _tolerates(tolerations: list[dict], taint: dict) -> bool:
    for tol in tolerations:
        if tol.get("effect") and tol["effect"] != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists":
            if not tol.get("key") or tol["key"] == taint.get("key"):
                return True
        elif tol.get("key") == taint.get("key") and (tol.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _match_expression(labels: dict, expr: dict) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and key in labels:
        try:
            return int(labels[key]) > int(values[0]) if op == "Gt" else int(labels[key]) < int(values[0])
        except (ValueError, IndexError):
            return False
    return False


def _affinity_matches(pod: dict, node: dict) -> bool:
    spec = pod.get("spec", {})
    labels = node["metadata"].get("labels") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    fields = {"metadata.name": node["metadata"]["name"]}
    for term in terms:  # terms are ORed, expressions ANDed
        exprs = term.get("matchExpressions") or []
        field_exprs = term.get("matchFields") or []
        if not exprs and not field_exprs:
            continue
        if all(_match_expression(labels, e) for e in exprs) and \
                all(_match_expression(fields, e) for e in field_exprs):
            return True
    return False


def filter_node(pod: dict, node: dict, used: list[float], anti_affinity: Iterable[str] = ()) -> list[str]:
    """The reasons the first failing filter gives for ``node`` (empty when the pod fits)."""
    spec = pod.get("spec", {})
    tolerations = spec.get("tolerations") or []
    taints = node.get("spec", {}).get("taints") or []
    if node.get("spec", {}).get("unschedulable") and not _tolerates(
            tolerations, {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}):
        return ["node(s) were unschedulable"]
    for taint in taints:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerates(tolerations, taint):
            return [f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"]
    if not _affinity_matches(pod, node):
        return ["node(s) didn't match Pod's node affinity/selector"]
    allocatable = node.get("status", {}).get("allocatable") or {}
    cpu, memory = pod_requests(pod)
    reasons = []
    if used[2] + 1 > parse_quantity(allocatable.get("pods", MAX_PODS)):
        reasons.append("Too many pods")
    if cpu and used[0] + cpu > parse_quantity(allocatable.get("cpu")) + 1e-9:
        reasons.append("Insufficient cpu")
    if memory and used[1] + memory > parse_quantity(allocatable.get("memory")):
        reasons.append("Insufficient memory")
    if reasons:
        return reasons
    if node["metadata"]["name"] in anti_affinity:
        return ["node(s) didn't match pod anti-affinity rules"]
    return []


_RESOLVABLE = ("Insufficient cpu", "Insufficient memory", "Too many pods")


def fit_error(total: int, reasons_by_node: dict[str, list[str]]) -> str:
    """kube-scheduler's FitError.Error() including the preemption PostFilter message."""
    counts = Counter(reason for reasons in reasons_by_node.values() for reason in reasons)
    parts = sorted(f"{n} {reason}" for reason, n in counts.items())
    message = f"0/{total} nodes are available: {', '.join(parts)}."
    victims = sum(1 for reasons in reasons_by_node.values() if all(r in _RESOLVABLE for r in reasons))
    post = []
    if victims:
        post.append(f"{victims} No preemption victims found for incoming pod")
    if total - victims:
        post.append(f"{total - victims} Preemption is not helpful for scheduling")
    return f"{message} preemption: 0/{total} nodes are available: {', '.join(sorted(post))}."


def schedule(store, pod: dict, *, anti_affinity: Iterable[str] = (),
             usage: Optional[dict[str, list[float]]] = None) -> tuple[Optional[str], str]:
    """(node name, "") for the best node, or (None, FitError message)."""
    nodes = store.list(NODE)[0]
    if not nodes:
        return None, "no nodes available to schedule pods"
    if usage is None:
        usage = node_usage(store.list(POD)[0])
    anti = set(anti_affinity)
    candidates = []
    reasons_by_node: dict[str, list[str]] = {}
    for node in nodes:
        name = node["metadata"]["name"]
        used = usage.get(name, [0.0, 0.0, 0])
        reasons = filter_node(pod, node, used, anti)
        if reasons:
            reasons_by_node[name] = reasons
        else:
            memory = parse_quantity((node.get("status", {}).get("allocatable") or {}).get("memory")) or 1
            candidates.append((used[2], used[1] / memory, name))
    if candidates:
        return min(candidates)[2], ""
    return None, fit_error(len(nodes), reasons_by_node)


def allocate_pod_ip(store, node_name_: str) -> str:
    """The lowest free address of the node's pod CIDR (deterministic for a request sequence)."""
    node = store.get(NODE, None, node_name_)
    if node is None:
        return ""
    used = {p.get("status", {}).get("podIP") for p in store.list(POD)[0]
            if p.get("spec", {}).get("nodeName") == node_name_ and is_active_pod(p)}
    n = 0
    while pod_ip(node, n) in used:
        n += 1
    return pod_ip(node, n)
