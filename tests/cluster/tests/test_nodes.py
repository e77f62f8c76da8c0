"""Simulated nodes and the scheduler stand-in (in-process)."""
from __future__ import annotations

import pytest

from tests.cluster.controllers.nodes import (build_node, filter_node, fit_error, node_usage, pod_ip, schedule)
from tests.cluster.tests.harness import NODE, POD, VM, VMI
from tests.cluster.tests.virt_harness import Sim, vm_manifest


def pod(cpu: str = "100m", memory: str = "1Gi", **spec) -> dict:
    return {"metadata": {"name": "p", "namespace": "demo"},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": memory}}}], **spec},
            "status": {"phase": "Pending"}}


def test_three_schedulable_workers_with_kubevirt_labels(sim):
    nodes = sim.store.list(NODE)[0]
    assert [n["metadata"]["name"] for n in nodes] == ["node01", "node02", "node03"]
    labels = nodes[0]["metadata"]["labels"]
    for key, value in {"kubevirt.io/schedulable": "true", "kubernetes.io/hostname": "node01",
                       "kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux",
                       "node-role.kubernetes.io/worker": "", "cpumanager": "false"}.items():
        assert labels[key] == value
    assert "topology.kubernetes.io/zone" in labels
    status = nodes[0]["status"]
    assert status["capacity"]["cpu"] == "16" and status["capacity"]["memory"] == "64Gi"
    assert status["allocatable"]["cpu"] == "15500m" and status["allocatable"]["memory"] == "64000Mi"
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True" and ready["reason"] == "KubeletReady"
    assert {a["type"] for a in status["addresses"]} == {"InternalIP", "Hostname"}
    assert status["nodeInfo"]["kubeletVersion"].startswith("v1.")


def test_node_count_and_size_come_from_options():
    with Sim(time_scale=0.005, nodes=5, node_cpu="8", node_memory="32Gi") as s:
        nodes = s.store.list(NODE)[0]
        assert len(nodes) == 5 and nodes[-1]["metadata"]["name"] == "node05"
        assert nodes[0]["status"]["capacity"] == dict(nodes[0]["status"]["capacity"], cpu="8", memory="32Gi")


def test_cordon_adds_and_uncordon_removes_the_unschedulable_taint(sim):
    sim.update(NODE, None, "node02", lambda n: n["spec"].update(unschedulable=True))
    sim.wait(lambda: sim.get(NODE, "node02")["spec"].get("taints"), what="taint")
    taint = sim.get(NODE, "node02")["spec"]["taints"][0]
    assert taint["key"] == "node.kubernetes.io/unschedulable" and taint["effect"] == "NoSchedule"
    sim.update(NODE, None, "node02", lambda n: n["spec"].pop("unschedulable"))
    sim.wait(lambda: not sim.get(NODE, "node02")["spec"].get("taints"), what="no taint")


def test_schedule_spreads_over_least_loaded_nodes(sim):
    usage = {"node01": [1.0, 2.0 * 2 ** 30, 2], "node02": [0.5, 2 ** 30, 1], "node03": [0.5, 2 ** 30, 1]}
    assert schedule(sim.store, pod(), usage=usage) == ("node02", "")
    usage["node02"][2] = 2
    assert schedule(sim.store, pod(), usage=usage) == ("node03", "")


def test_fit_error_for_insufficient_memory_matches_kube_scheduler(sim):
    assert schedule(sim.store, pod(memory="100Gi")) == (None, (
        "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: "
        "3 No preemption victims found for incoming pod."))


def test_fit_error_mixes_reasons_sorted(sim):
    sim.update(NODE, None, "node01", lambda n: n["spec"].update(unschedulable=True))
    node_selected = pod(memory="100Gi", nodeSelector={"kubernetes.io/hostname": "node02"})
    _, message = schedule(sim.store, node_selected)
    assert message == ("0/3 nodes are available: 1 Insufficient memory, 1 node(s) didn't match Pod's node "
                       "affinity/selector, 1 node(s) were unschedulable. preemption: 0/3 nodes are available: "
                       "1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.")


def test_taints_need_tolerations():
    node = build_node(1, {"flavor": "kubernetes"})
    node["spec"]["taints"] = [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]
    used = [0.0, 0.0, 0]
    assert filter_node(pod(), node, used) == ["node(s) had untolerated taint {dedicated: db}"]
    tolerant = pod(tolerations=[{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}])
    assert filter_node(tolerant, node, used) == []
    assert filter_node(pod(tolerations=[{"operator": "Exists"}]), node, used) == []
    node["spec"]["taints"][0]["effect"] = "PreferNoSchedule"
    assert filter_node(pod(), node, used) == []


@pytest.mark.parametrize("expr, fits", [
    ({"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["zone-a"]}, True),
    ({"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["zone-b"]}, False),
    ({"key": "topology.kubernetes.io/zone", "operator": "NotIn", "values": ["zone-a"]}, False),
    ({"key": "gpu", "operator": "NotIn", "values": ["true"]}, True),
    ({"key": "kubevirt.io/schedulable", "operator": "Exists"}, True),
    ({"key": "gpu", "operator": "Exists"}, False),
    ({"key": "gpu", "operator": "DoesNotExist"}, True),
    ({"key": "kubernetes.io/hostname", "operator": "DoesNotExist"}, False),
])
def test_required_node_affinity_operators(expr, fits):
    node = build_node(1, {"flavor": "kubernetes"})
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [expr]}]}}}
    reasons = filter_node(pod(affinity=affinity), node, [0.0, 0.0, 0])
    assert reasons == ([] if fits else ["node(s) didn't match Pod's node affinity/selector"])


def test_cpu_and_pod_count_limits():
    node = build_node(1, {"flavor": "kubernetes"})
    assert filter_node(pod(cpu="16"), node, [0.0, 0.0, 0]) == ["Insufficient cpu"]
    assert filter_node(pod(cpu="15500m"), node, [0.0, 0.0, 0]) == []
    assert filter_node(pod(), node, [0.0, 0.0, 250]) == ["Too many pods"]


def test_fit_error_counts_each_node_once_per_reason():
    assert fit_error(2, {"a": ["Insufficient cpu", "Insufficient memory"], "b": ["Insufficient memory"]}) == (
        "0/2 nodes are available: 1 Insufficient cpu, 2 Insufficient memory. preemption: 0/2 nodes are "
        "available: 2 No preemption victims found for incoming pod.")


def test_usage_ignores_finished_pods():
    running = pod()
    running["spec"]["nodeName"] = "node01"
    done = pod()
    done["spec"]["nodeName"] = "node01"
    done["status"]["phase"] = "Succeeded"
    assert node_usage([running, done]) == {"node01": [0.1, 2 ** 30, 1]}


def test_pod_addresses_come_from_the_node_cidr():
    assert pod_ip(build_node(2, {"flavor": "kubernetes"}), 0) == "10.244.2.3"
    assert pod_ip(build_node(2, {"flavor": "openshift"}), 1) == "10.128.4.4"


def test_launcher_pods_get_distinct_ips_and_are_spread(sim):
    for name in ("a", "b", "c", "d"):
        sim.create(VM, vm_manifest(name))
    for name in ("a", "b", "c", "d"):
        sim.wait_printable(name, "Running")
    pods = sim.store.list(POD)[0]
    assert len({p["status"]["podIP"] for p in pods}) == 4
    nodes = sorted(sim.get(VMI, n)["status"]["nodeName"] for n in ("a", "b", "c", "d"))
    assert nodes == ["node01", "node01", "node02", "node03"]
