# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The drain loop of node_maintenance: cordon, stop or leave what cannot move, evict within the
KubeVirt CR's migration limits, follow the evacuations and wait until the nodes are empty.

Each round reads the whole picture (one pod list and one VMI list per node, one VMIM list) and
decides the evictions it allows; between rounds it watches the nodes' VMIs, so the next round
starts when a migration moves a VM (a slot is free) rather than on a timer, or after at most
MAX_IDLE seconds (plain pods going away, a PodDisruptionBudget retry becoming due).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._node_drain import (
    BUDGET,
    EVACUATING,
    NODE_LABEL,
    NodePlan,
    active_migrations,
    free_slots,
    eviction_answer,
    key_of,
    launcher_vmi,
    plan_node,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._node_maintenance_status import (
    completed_migration_uid,
    last_migration,
    progress_line,
    vm_outcome,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._pdb import budgets_for, disruption_refusal
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import status_of
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    NODE,
    POD,
    POD_DISRUPTION_BUDGET,
    VIRTUAL_MACHINE,
    VIRTUAL_MACHINE_INSTANCE,
    VIRTUAL_MACHINE_INSTANCE_MIGRATION,
)

if TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule

Key = Tuple[str, str]
POLL = 0.25  # between rounds only when the watch cannot be used
MAX_IDLE = 2.0
BUDGET_BACKOFF_MAX = 5.0


def read_node(module: "KubevirtModule", node: str) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """The node's pods and VMIs (field and label selectors: no cluster-wide pod list)."""
    client = module.client
    pods = client.list(POD, field_selector="spec.nodeName=%s" % node)
    vmis = client.list(VIRTUAL_MACHINE_INSTANCE, label_selector="%s=%s" % (NODE_LABEL, node))
    return pods, vmis


def plan_nodes(module: "KubevirtModule", nodes: List[str]) -> Dict[str, NodePlan]:
    plans = {}
    for node in nodes:
        pods, vmis = read_node(module, node)
        plans[node] = plan_node(node, pods, vmis)
    return plans


def cordon(module: "KubevirtModule", node: str, unschedulable: bool) -> None:
    module.client.patch(NODE, node, {"spec": {"unschedulable": unschedulable}})


def stop_vm(module: "KubevirtModule", key: Key) -> None:
    """Stop through the run strategy (the VM keeps its disks and comes back on uncordon when started);
    a VMI without a VM is deleted, as nothing would restart it anyway."""
    namespace, name = key
    client = module.client
    vmi = client.get(VIRTUAL_MACHINE_INSTANCE, name, namespace) or {}
    owned = any(o.get("kind") == "VirtualMachine" for o in (vmi.get("metadata") or {}).get("ownerReferences") or [])
    if owned:
        client.patch(VIRTUAL_MACHINE, name, {"spec": {"runStrategy": "Halted", "running": None}}, namespace)
    else:
        client.delete(VIRTUAL_MACHINE_INSTANCE, name, namespace)


class Drain:
    """One batch of nodes drained together under one pair of migration limits."""

    def __init__(self, module: "KubevirtModule", nodes: List[str], limits: Tuple[int, int], policy: str,
                 deadline: float) -> None:
        self.module = module
        self.nodes = nodes
        self.per_cluster, self.per_node = limits
        self.policy = policy
        self.deadline = deadline
        self.started: Dict[Key, float] = {}  # VMI -> when its eviction was answered "evacuating"
        self.source: Dict[Key, str] = {}
        self.outcomes: Dict[Key, Dict[str, Any]] = {}
        self.left: Dict[Key, str] = {}
        self.evicted_pods: Dict[str, List[str]] = {node: [] for node in nodes}
        self.budget_retry: Dict[Key, Tuple[float, float]] = {}  # pod or VM -> (next attempt, backoff)
        self.budget_held: Dict[Key, str] = {}  # VM to stop -> the budget that holds it
        self.seen: Dict[Any, Any] = {}  # uid -> resourceVersion of the VMIs the last round read

    def handle_stuck(self, plans: Mapping[str, NodePlan], pods: Optional[List[Dict[str, Any]]] = None) -> None:
        for node, plan in plans.items():
            launchers = {(p["metadata"]["namespace"], launcher_vmi(p)): p for p in pods or [] if launcher_vmi(p)}
            for key, reason in sorted(plan.stuck.items()):
                if key in self.outcomes or key in self.left:
                    continue
                if self.policy == "stop":
                    held = self._budget_holds(key, launchers.get(key))
                    if held:
                        self.budget_held[key] = held
                        continue
                    self.budget_held.pop(key, None)
                    stop_vm(self.module, key)
                    self.started[key] = time.monotonic()
                    self.source[key] = node
                    self.outcomes[key] = vm_outcome(key, "stopped", node, None, reason=reason)
                else:
                    self.left[key] = reason
                    self.outcomes[key] = vm_outcome(key, "left", node, None, reason=reason)

    def _budget_holds(self, key: Key, launcher: Optional[Dict[str, Any]]) -> Optional[str]:
        """Why a budget forbids stopping this VM now (a stop is a deletion, which no budget checks
        itself), else None; asked again with the plain pods' backoff, never more often."""
        if launcher is None:
            return None
        now = time.monotonic()
        next_try, backoff = self.budget_retry.get(key, (0.0, 0.5))
        if now < next_try:
            return self.budget_held.get(key)
        pdbs = self.module.client.list(POD_DISRUPTION_BUDGET, key[0])
        held = None
        if budgets_for(pdbs, launcher):
            held = disruption_refusal(pdbs, self.module.client.list(POD, key[0]), launcher)
        if held:
            self.budget_retry[key] = (now + backoff, min(BUDGET_BACKOFF_MAX, backoff * 2))
        else:
            self.budget_retry.pop(key, None)
        return held

    def run(self) -> None:
        client = self.module.client
        progress = self.module.progress
        progress.begin()
        try:
            while True:
                migrations = client.list(VIRTUAL_MACHINE_INSTANCE_MIGRATION)
                remaining = self._round(migrations)
                if remaining is None:
                    return
                if time.monotonic() >= self.deadline:
                    raise KubeApiError("Timed out draining %s: %s" % (", ".join(self.nodes), remaining))
                self._wait_for_change()
        finally:
            progress.finish()

    def _round(self, migrations: List[Dict[str, Any]]) -> Optional[str]:
        """One look and the evictions it allows; None when every node is empty, else what is left."""
        views = {node: read_node(self.module, node) for node in self.nodes}
        self.seen = {(v.get("metadata") or {}).get("uid"): (v.get("metadata") or {}).get("resourceVersion")
                     for _pods, vmis in views.values() for v in vmis}
        vmi_index = {key_of(v): v for _pods, vmis in views.values() for v in vmis}
        by_node = active_migrations(migrations, vmi_index)
        left_parts = []
        for node, (pods, vmis) in views.items():
            plan = plan_node(node, pods, vmis)
            self.handle_stuck({node: plan}, pods)
            self._record_done(node, plan, migrations, vmi_index)
            on_node = set(plan.migrate) | {k for k in plan.stuck if k not in self.left}
            evacuating = {k for k in plan.migrate if status_of(vmi_index.get(k)).get("evacuationNodeName") == node}
            flight = set(by_node.get(node, [])) | evacuating
            by_node[node] = sorted(flight)
            launchers = {(p["metadata"]["namespace"], launcher_vmi(p)): key_of(p) for p in pods if launcher_vmi(p)}
            for key in plan.migrate:
                if key in flight or free_slots(by_node, node, self.per_cluster, self.per_node) <= 0:
                    continue
                pod = launchers.get(key)
                if pod and self._evict(pod) == EVACUATING:
                    self.started.setdefault(key, time.monotonic())
                    self.source[key] = node
                    by_node[node].append(key)
            waits = 0
            for pod in plan.pods:
                if self._evict_plain(node, pod) == BUDGET:
                    waits += 1
            held = {k: v for k, v in self.budget_held.items() if k in plan.stuck}
            line = progress_line(len(on_node), len(by_node[node]), len(plan.pods), waits, len(held))
            self.module.progress.observe("Node %s" % node, line)
            if on_node or plan.pods:
                left_parts.append("%s still holds %s%s" % (node, line, "".join(
                    "; %s/%s is not stopped: %s" % (k[0], k[1], v) for k, v in sorted(held.items()))))
        return "; ".join(left_parts) if left_parts else None

    def _wait_for_change(self) -> None:
        """Until a VMI on the nodes changes, at most MAX_IDLE seconds (or the next PDB retry)."""
        now = time.monotonic()
        due = [next_try for next_try, _backoff in self.budget_retry.values()]
        idle = max(0.0, min([MAX_IDLE, self.deadline - now] + [d - now for d in due]))
        if idle < 1.0:  # the watch's granularity is a second
            time.sleep(idle)
            return
        selector = "%s in (%s)" % (NODE_LABEL, ",".join(self.nodes))
        started = time.monotonic()
        try:
            for kind, obj in self.module.client.watch(VIRTUAL_MACHINE_INSTANCE, label_selector=selector,
                                                      timeout_seconds=int(idle)):
                meta = obj.get("metadata") or {}
                if kind == "BOOKMARK" or (kind == "ADDED" and self.seen.get(meta.get("uid")) == meta.get("resourceVersion")):
                    continue  # the watch's opening list of what the round already saw
                return
        except KubeApiError:
            time.sleep(max(0.0, min(POLL, idle - (time.monotonic() - started))))  # watch refused: poll instead

    def _record_done(self, node: str, plan: NodePlan, migrations: List[Dict[str, Any]],
                     vmi_index: Mapping[Key, Dict[str, Any]]) -> None:
        """VMIs that were evacuated from this node and are gone from it now."""
        still = set(plan.migrate) | set(plan.stuck)
        for key, began in list(self.started.items()):
            if self.source.get(key) != node or key in still:
                continue
            measured = time.monotonic() - began
            if key in self.outcomes and self.outcomes[key]["outcome"] == "stopped":
                self.outcomes[key]["duration"] = round(measured, 1)
            elif key not in self.outcomes:
                vmi = self.module.client.get(VIRTUAL_MACHINE_INSTANCE, key[1], key[0]) or vmi_index.get(key)
                migration = last_migration(migrations, key, vmi)
                uid = completed_migration_uid(vmi)
                if migration is None or (uid and (migration.get("metadata") or {}).get("uid") != uid):
                    # it ended between this round's list of migrations and its look at the VMIs
                    migration = last_migration(self.module.client.list(VIRTUAL_MACHINE_INSTANCE_MIGRATION, key[0]), key, vmi)
                self.outcomes[key] = vm_outcome(key, "migrated", node, measured, migration, vmi)
            del self.started[key]

    def _evict(self, pod: Key) -> str:
        try:
            self.module.client.evict(pod[1], pod[0])
        except KubeApiError as err:
            answer = eviction_answer(err)
            if answer == BUDGET or answer == EVACUATING:
                return answer
            if err.status == 404:
                return "gone"
            raise
        return "evicted"

    def _evict_plain(self, node: str, pod: Key) -> str:
        now = time.monotonic()
        next_try, backoff = self.budget_retry.get(pod, (0.0, 0.5))
        if now < next_try:
            return BUDGET
        answer = self._evict(pod)
        if answer == BUDGET:
            self.budget_retry[pod] = (now + backoff, min(BUDGET_BACKOFF_MAX, backoff * 2))
        elif "%s/%s" % pod not in self.evicted_pods[node]:
            self.evicted_pods[node].append("%s/%s" % pod)
            self.budget_retry.pop(pod, None)
        return answer
