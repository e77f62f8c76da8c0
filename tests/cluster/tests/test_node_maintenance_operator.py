"""The Node Maintenance Operator (node_maintenance_operator.py): its webhook's refusals, a drain of VMs
and a plain pod through the eviction path, a budget that holds a pod past the drain's 30 s round,
a missing node, and the deletion that gives the node back (in-process)."""
from __future__ import annotations

import pytest

from tests.cluster.api.catalog import build_registry
from tests.cluster.controllers.migration import MigrationController
from tests.cluster.controllers.node_maintenance_operator import NodeMaintenanceController
from tests.cluster.controllers.nodes import NodeController
from tests.cluster.controllers.virt import VirtualMachineController
from tests.cluster.controllers.virtapi import VirtApi
from tests.cluster.controllers.vmi import VirtualMachineInstanceController
from tests.cluster.tests.harness import EVENT, NODE, NS, POD, VM, VMI, InProcessCluster
from tests.cluster.tests.virt_harness import Sim, api_error, vm_manifest

NM = ("nodemaintenance.medik8s.io", "nodemaintenances")
PDB = ("policy", "poddisruptionbudgets")
WEBHOOK = 'admission webhook "vnodemaintenance.kb.io" denied the request: '


class NmoSim(Sim):
    """Nodes, KubeVirt and the Node Maintenance Operator on the openshift flavour."""

    def __init__(self) -> None:  # pylint: disable=super-init-not-called
        InProcessCluster.__init__(self, [NodeController(), VirtApi(), VirtualMachineController(),
                                         VirtualMachineInstanceController(), MigrationController(),
                                         NodeMaintenanceController()],
                                  flavor="openshift", time_scale=0.01, options={"flavor": "openshift"})
        for name in ("demo", "default"):
            self.service.create(NS, {"metadata": {"name": name}})
        self.rt.start()


@pytest.fixture
def sim():
    with NmoSim() as simulation:
        yield simulation


def maintenance(node: str, name: str = "") -> dict:
    return {"apiVersion": "nodemaintenance.medik8s.io/v1beta1", "kind": "NodeMaintenance",
            "metadata": {"name": name or "nm-" + node}, "spec": {"nodeName": node, "reason": "kernel update"}}


def plain_pod(sim: Sim, name: str, node: str, labels: dict) -> None:
    sim.service.create(POD, {"metadata": {"name": name, "namespace": "demo", "labels": labels},
                             "spec": {"nodeName": node, "containers": [{"name": "c", "image": "pause"}]},
                             "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}},
                       keep_status=True)


def on_node(sim: Sim, count: int, node: str = "node01") -> None:
    """``count`` live-migratable VMs started while only ``node`` is schedulable."""
    others = [n for n in ("node01", "node02", "node03") if n != node]
    for other in others:
        sim.update(NODE, None, other, lambda n: n["spec"].__setitem__("unschedulable", True))
    for index in range(count):
        sim.create(VM, vm_manifest("vm%d" % index, memory="128Mi", evictionStrategy="LiveMigrate"))
    for index in range(count):
        sim.wait_printable("vm%d" % index, "Running", timeout=10)
    sim.wait(lambda: all(any(c.get("type") == "LiveMigratable" for c in (v.get("status") or {}).get("conditions") or [])
                         for v in sim.store.list(VMI, "demo")[0]), 10, "LiveMigratable")
    for other in others:
        sim.update(NODE, None, other, lambda n: n["spec"].__setitem__("unschedulable", False))


def nm_status(sim: Sim, name: str) -> dict:
    return (sim.get(NM, name, None) or {}).get("status") or {}


def reasons(sim: Sim, kind: str) -> list[str]:
    events = sorted(sim.store.list(EVENT)[0], key=lambda e: int(e["metadata"]["resourceVersion"]))
    return [e["reason"] for e in events if e["involvedObject"]["kind"] == kind]


def test_served_on_openshift_only_cluster_scoped_with_status():
    assert build_registry("kubernetes").find(NM[0], "v1beta1", NM[1]) is None
    served = build_registry("openshift").find(NM[0], "v1beta1", NM[1])
    assert served is not None and not served.namespaced and served.short_names == ("nm",)
    assert "status" in served.subresources


def test_webhook_refuses_a_missing_node_a_second_maintenance_and_a_node_name_change(sim):
    err = api_error(lambda: sim.create(NM, maintenance("node09")))
    assert err.code == 403 and err.message == WEBHOOK + "invalid nodeName, no node with name node09 found"
    sim.create(NM, maintenance("node02"))
    err = api_error(lambda: sim.create(NM, maintenance("node02", "second")))
    assert err.message == WEBHOOK + "invalid nodeName, a NodeMaintenance for node node02 already exists"
    err = api_error(lambda: sim.update(NM, None, "nm-node02", lambda o: o["spec"].__setitem__("nodeName", "node03")))
    assert err.message == WEBHOOK + "updating spec.NodeName isn't allowed"
    # A control-plane node with no etcd guard budget to consult is refused on OpenShift.
    sim.update(NODE, None, "node03", lambda n: n["metadata"]["labels"].__setitem__(
        "node-role.kubernetes.io/control-plane", ""))
    err = api_error(lambda: sim.create(NM, maintenance("node03")))
    assert err.message == WEBHOOK + ("can not put master/control-plane node into maintenance at this moment, "
                                     "disrupting node node03 will violate etcd quorum")


def test_drain_evacuates_the_vms_then_deletion_gives_the_node_back(sim):
    on_node(sim, 2)
    plain_pod(sim, "web-1", "node01", {"app": "web"})
    sim.create(NM, maintenance("node01"))
    running = sim.wait(lambda: nm_status(sim, "nm-node01").get("phase") == "Running" and nm_status(sim, "nm-node01"))
    assert running["evictionPods"] == 3 and running["totalpods"] == 3
    assert sorted(running["pendingPods"])[-1] == "web-1" and len(running["pendingPodsRefs"]) == 3
    done = sim.wait(lambda: nm_status(sim, "nm-node01").get("phase") == "Succeeded" and nm_status(sim, "nm-node01"),
                    20, "Succeeded")
    assert done["drainProgress"] == 100 and "pendingPods" not in done
    assert {v["status"]["nodeName"] for v in sim.store.list(VMI, "demo")[0]} <= {"node02", "node03"}
    assert all(m["metadata"]["name"].startswith("kubevirt-evacuation-")
               for m in sim.store.list(("kubevirt.io", "virtualmachineinstancemigrations"), "demo")[0])
    assert sim.get(POD, "web-1") is None
    node = sim.get(NODE, "node01", None)
    assert node["spec"]["unschedulable"] is True
    assert {"medik8s.io/drain", "node.kubernetes.io/unschedulable"} <= {t["key"] for t in node["spec"]["taints"]}
    assert node["metadata"]["labels"]["remediation.medik8s.io/exclude-from-remediation"] == "true"
    nm = sim.get(NM, "nm-node01", None)
    assert nm["metadata"]["finalizers"] == ["foregroundDeleteNodeMaintenance"]
    assert nm["metadata"]["ownerReferences"][0]["kind"] == "Node"
    assert reasons(sim, "NodeMaintenance") == ["BeginMaintenance", "SucceedMaintenance"]

    sim.delete(NM, None, "nm-node01")
    sim.wait(lambda: sim.get(NM, "nm-node01", None) is None, 5, "NodeMaintenance gone")
    node = sim.get(NODE, "node01", None)
    assert not node["spec"].get("unschedulable") and not node["spec"].get("taints")
    assert "remediation.medik8s.io/exclude-from-remediation" not in node["metadata"]["labels"]
    assert reasons(sim, "Node") == ["UncordonNode"] and reasons(sim, "NodeMaintenance")[-1] == "RemovedMaintenance"


def test_a_budget_keeps_the_pod_past_the_drain_timeout_with_last_error_and_pending_pods(sim):
    plain_pod(sim, "db-1", "node02", {"app": "db"})
    plain_pod(sim, "tmp-1", "node02", {"app": "tmp"})
    sim.service.create(PDB, {"metadata": {"name": "db", "namespace": "demo"},
                             "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}}})
    sim.create(NM, maintenance("node02"))
    status = sim.wait(lambda: nm_status(sim, "nm-node02").get("lastError") and nm_status(sim, "nm-node02"), 10)
    assert status["phase"] == "Running" and status["pendingPods"] == ["db-1"] and status["drainProgress"] == 50
    assert status["lastError"] == 'error when evicting pods/"db-1" -n "demo": global timeout reached: 30s'
    plain_pod(sim, "db-2", "node03", {"app": "db"})  # a second replica elsewhere lets the budget allow it
    sim.wait(lambda: nm_status(sim, "nm-node02").get("phase") == "Succeeded", 10, "Succeeded")


def test_a_node_that_does_not_exist_fails_the_maintenance(sim):
    sim.service.create(NM, maintenance("ghost"))  # past the webhook, as when the node went after admission
    status = sim.wait(lambda: nm_status(sim, "nm-ghost").get("phase") == "Failed" and nm_status(sim, "nm-ghost"))
    assert status["lastError"] == 'nodes "ghost" not found'
    assert reasons(sim, "NodeMaintenance")[-1] == "FailedMaintenance"
