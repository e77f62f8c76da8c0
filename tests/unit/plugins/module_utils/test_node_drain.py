# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""node_maintenance's planning: what a drain skips, moves, stops, and how many evacuations may start."""

from __future__ import annotations

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._node_drain import (
    BUDGET,
    EVACUATING,
    REFUSED,
    active_migrations,
    eviction_answer,
    free_slots,
    migration_limits,
    plan_node,
    pod_skip_reason,
    refusal_message,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._node_maintenance_status import (
    cordon_view,
    last_migration,
    progress_line,
    vm_outcome,
)


def pod(name, node="n1", ns="ns", labels=None, annotations=None, owner=None, phase="Running"):
    meta = {"name": name, "namespace": ns, "labels": labels or {}, "annotations": annotations or {}}
    if owner:
        meta["ownerReferences"] = [{"kind": owner, "name": "x", "controller": True}]
    return {"metadata": meta, "spec": {"nodeName": node}, "status": {"phase": phase}}


def launcher(vmi_name, node="n1"):
    return pod("virt-launcher-%s-abcde" % vmi_name, node, labels={"kubevirt.io": "virt-launcher"},
               annotations={"kubevirt.io/domain": vmi_name})


def vmi(name, node="n1", migratable=True, reason="DisksNotLiveMigratable", evacuation=None):
    condition = {"type": "LiveMigratable", "status": "True"} if migratable else \
        {"type": "LiveMigratable", "status": "False", "reason": reason, "message": "PVC root is not shared"}
    status = {"phase": "Running", "nodeName": node, "conditions": [condition]}
    if evacuation:
        status["evacuationNodeName"] = evacuation
    return {"metadata": {"name": name, "namespace": "ns"}, "status": status}


def vmim(vmi_name, phase="Running", ns="ns"):
    return {"metadata": {"name": "kubevirt-evacuation-" + vmi_name, "namespace": ns},
            "spec": {"vmiName": vmi_name}, "status": {"phase": phase}}


def test_kubectl_drain_skips_mirror_daemonset_and_finished_pods():
    assert pod_skip_reason(pod("a", annotations={"kubernetes.io/config.mirror": "x"})) == "mirror pod"
    assert pod_skip_reason(pod("b", owner="DaemonSet")) == "DaemonSet pod"
    assert pod_skip_reason(pod("c", phase="Succeeded")) == "finished"
    assert pod_skip_reason(pod("d", owner="ReplicaSet")) is None


def test_plan_sorts_vms_and_pods_of_the_node_only():
    pods = [launcher("a"), launcher("b"), pod("web"), pod("agent", owner="DaemonSet"), pod("far", node="n2"),
            launcher("gone")]
    plan = plan_node("n1", pods, [vmi("a"), vmi("b", migratable=False), vmi("c", node="n2")])
    assert plan.migrate == [("ns", "a")]
    assert list(plan.stuck) == [("ns", "b")] and "DisksNotLiveMigratable" in plan.stuck[("ns", "b")]
    # web is a plain pod; the launcher of a VMI no longer on the node is a plain pod too.
    assert plan.pods == [("ns", "virt-launcher-gone-abcde"), ("ns", "web")]
    assert plan.skipped == [{"namespace": "ns", "name": "agent", "reason": "DaemonSet pod"}]
    assert not plan.empty and plan_node("n3", pods, []).empty


def test_fail_refusal_names_each_vm_its_node_and_reason():
    plan = plan_node("n1", [], [vmi("b", migratable=False), vmi("a", migratable=False, reason="InterfaceNotLiveMigratable")])
    message = refusal_message([plan])
    assert message.startswith("non_migratable=fail: 2 VM(s) cannot live-migrate, nothing was changed: ns/a on n1")
    assert "reason InterfaceNotLiveMigratable" in message and "ns/b on n1" in message
    assert refusal_message([plan_node("n1", [], [vmi("a")])]) is None


def test_limits_from_the_kubevirt_cr_or_kubevirts_defaults():
    cr = {"spec": {"configuration": {"migrations": {"parallelMigrationsPerCluster": 3,
                                                    "parallelOutboundMigrationsPerNode": 1}}}}
    assert migration_limits([cr]) == (3, 1)
    assert migration_limits([{"spec": {}}]) == (5, 2) and migration_limits([]) == (5, 2)


def test_free_slots_respects_both_limits():
    vmis = {("ns", "a"): vmi("a"), ("ns", "b"): vmi("b"), ("ns", "c"): vmi("c", node="n2")}
    by_node = active_migrations([vmim("a"), vmim("b", phase="Succeeded"), vmim("c")], vmis)
    assert by_node == {"n1": [("ns", "a")], "n2": [("ns", "c")]}
    assert free_slots(by_node, "n1", 5, 2) == 1
    assert free_slots(by_node, "n1", 2, 2) == 0  # the cluster limit counts n2's migration too
    assert free_slots({"n1": [1, 2, 3]}, "n1", 5, 2) == 0


def test_eviction_answers():
    kubevirt = KubeApiError('admission webhook "virt-launcher-eviction-interceptor.kubevirt.io" denied the request: '
                            'Eviction triggered evacuation of VMI "ns/a"', status=429)
    budget = KubeApiError("Cannot evict pod as it would violate the pod's disruption budget.", status=429)
    assert eviction_answer(kubevirt) == EVACUATING
    assert eviction_answer(budget) == BUDGET
    assert eviction_answer(KubeApiError("forbidden", status=403)) == REFUSED


def test_outcome_reads_the_migration_and_the_progress_line_counts():
    migration = {"metadata": {"name": "kubevirt-evacuation-x", "uid": "u1", "creationTimestamp": "2026-12-03T10:00:00Z"},
                 "status": {"phase": "Succeeded", "phaseTransitionTimestamps": [
                     {"phase": "Pending", "phaseTransitionTimestamp": "2026-12-03T10:00:00Z"},
                     {"phase": "Succeeded", "phaseTransitionTimestamp": "2026-12-03T10:00:31Z"}],
                     "migrationState": {"sourceNode": "n1", "targetNode": "n2", "migrationUid": "u1"}}}
    entry = vm_outcome(("ns", "a"), "migrated", "n1", 40.0, migration, vmi("a", node="n2"))
    assert (entry["target_node"], entry["duration"], entry["migration"]) == ("n2", 31.0, "kubevirt-evacuation-x")
    stopped = vm_outcome(("ns", "b"), "stopped", "n1", None, reason="LiveMigratable is False")
    assert stopped["target_node"] is None and stopped["reason"] == "LiveMigratable is False"
    assert progress_line(1, 2, 0, 0) == "1 VM left, 2 migrations in flight"
    assert progress_line(3, 1, 2, 1) == "3 VMs left, 1 migration in flight, 2 pods left (1 waiting on a disruption budget)"
    assert progress_line(2, 0, 0, 0, 1) == "2 VMs left (1 waiting on a disruption budget), 0 migrations in flight"
    views = cordon_view({"n1": {"spec": {"unschedulable": True}}, "n2": {}})
    assert views == {"n1": {"unschedulable": True}, "n2": {"unschedulable": False}}


def test_last_migration_is_the_one_the_vmi_reports_completed_before_its_vmim_says_succeeded():
    running = {"metadata": {"name": "kubevirt-evacuation-y", "namespace": "ns", "uid": "u2"},
               "spec": {"vmiName": "a"}, "status": {"phase": "Running"}}
    old = {"metadata": {"name": "kubevirt-evacuation-x", "namespace": "ns", "uid": "u1"},
           "spec": {"vmiName": "a"}, "status": {"phase": "Succeeded"}}
    moved = {"status": {"nodeName": "n2", "migrationState": {"migrationUid": "u2", "completed": True}}}
    assert last_migration([running], ("ns", "a")) is None
    assert last_migration([running], ("ns", "a"), moved)["metadata"]["name"] == "kubevirt-evacuation-y"
    entry = vm_outcome(("ns", "a"), "migrated", "n1", 12.34, running, moved)
    assert (entry["migration"], entry["duration"], entry["target_node"]) == ("kubevirt-evacuation-y", 12.3, "n2")
    assert last_migration([old, running], ("ns", "a"), moved)["metadata"]["name"] == "kubevirt-evacuation-y"
    assert last_migration([old, running], ("ns", "a"))["metadata"]["name"] == "kubevirt-evacuation-x"
    failed = {"status": {"migrationState": {"migrationUid": "u2", "completed": True, "failed": True}}}
    assert last_migration([running], ("ns", "a"), failed) is None
