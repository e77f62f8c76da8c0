# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""node_maintenance through the NodeMaintenance CR (medik8s Node Maintenance Operator,
nodemaintenance.medik8s.io/v1beta1): the operator cordons, taints (``medik8s.io/drain``) and drains
the node with kubectl's drain helper; this module creates the CR, follows ``status.phase``
(Running -> Succeeded, or Failed), ``drainProgress`` and ``pendingPods``, and deletes it to end the
maintenance (the operator's finalizer uncordons the node and removes its taints).

NMO evicts every pod but DaemonSet and mirror pods, so a VM that cannot live-migrate is either
refused before any write (non_migratable=fail) or stopped first (stop); it cannot be left.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._node_drain import NodePlan
from ansible_collections.virt.kubevirt.plugins.module_utils._node_drain_flow import Drain, read_node
from ansible_collections.virt.kubevirt.plugins.module_utils._node_maintenance_status import (
    cordoned,
    last_migration,
    vm_outcome,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import status_of
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    NODE,
    NODE_MAINTENANCE,
    VIRTUAL_MACHINE_INSTANCE,
    VIRTUAL_MACHINE_INSTANCE_MIGRATION,
)

if TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule

Key = Tuple[str, str]
DRAIN_TAINT = "medik8s.io/drain"
STOP_RETRY = 0.5  # between looks while a disruption budget holds a VM to stop
NOT_SERVED = ("method=node_maintenance_cr: the cluster does not serve %s/%s (the Node Maintenance Operator is "
              "not installed); use method=drain")


def existing(module: "KubevirtModule") -> Dict[str, Dict[str, Any]]:
    """The NodeMaintenances by spec.nodeName (one per node: NMO's webhook refuses a second)."""
    try:
        items = module.client.list(NODE_MAINTENANCE)
    except KubeApiError as err:
        if err.status == 404:
            raise KubeApiError(NOT_SERVED % (NODE_MAINTENANCE.display, NODE_MAINTENANCE.version), reason="NotFound")
        raise
    return {str((cr.get("spec") or {}).get("nodeName") or ""): cr for cr in items}


def phase_of(cr: Optional[Mapping[str, Any]]) -> str:
    return str(status_of(cr).get("phase") or "")


def cr_name(cr: Optional[Mapping[str, Any]]) -> Optional[str]:
    return (cr or {}).get("metadata", {}).get("name") if cr else None


def body(node: str, reason: Optional[str]) -> Dict[str, Any]:
    spec: Dict[str, Any] = {"nodeName": node}
    if reason:
        spec["reason"] = reason
    return {"apiVersion": NODE_MAINTENANCE.api_version, "kind": NODE_MAINTENANCE.kind,
            "metadata": {"name": node}, "spec": spec}


def _pending(status: Mapping[str, Any]) -> List[str]:
    refs = status.get("pendingPodsRefs") or []
    if refs:
        return ["%s/%s" % (r.get("namespace"), r.get("name")) for r in refs]
    return [str(p) for p in status.get("pendingPods") or []]


def summary(cr: Optional[Mapping[str, Any]]) -> str:
    """``Running, drain 50%, 1 pod pending (demo/db-1)``: the progress line of one CR."""
    if cr is None:
        return "absent"
    status = status_of(cr)
    parts = [phase_of(cr) or "no status yet"]
    if "drainProgress" in status or phase_of(cr) == "Running":
        parts.append("drain %d%%" % int(status.get("drainProgress") or 0))
    pending = _pending(status)
    if pending:
        parts.append("%d pod%s pending (%s)" % (len(pending), "" if len(pending) == 1 else "s", ", ".join(pending[:5])))
    if (cr.get("metadata") or {}).get("deletionTimestamp"):
        parts.append("being deleted")
    return ", ".join(parts)


def failure(cr: Optional[Mapping[str, Any]], why: str, reason: str) -> KubeApiError:
    """The task's failure: the CR's phase, drain progress, pending pods and NMO's lastError."""
    status = status_of(cr)
    message = "NodeMaintenance %s %s: %s" % (cr_name(cr), why, summary(cr))
    if status.get("lastError"):
        message += "; lastError: %s" % status["lastError"]
    return KubeApiError(message, reason=reason, details={"last_state": cr})


def stop_stuck(module: "KubevirtModule", batch: List[str], plans: Mapping[str, NodePlan],
               deadline: float) -> Dict[Key, Dict[str, Any]]:
    """non_migratable=stop: stop the VMs NMO could not evict before it starts, honouring the
    disruption budgets of their launcher pods the way the drain method does."""
    drain = Drain(module, batch, (1, 1), "stop", deadline)
    while True:
        for node in batch:
            pods, _vmis = read_node(module, node)
            drain.handle_stuck({node: plans[node]}, pods)
        if not drain.budget_held:
            return drain.outcomes
        if time.monotonic() >= deadline:
            raise KubeApiError("Timed out stopping VMs that cannot live-migrate: %s" % "; ".join(
                "%s/%s: %s" % (k[0], k[1], v) for k, v in sorted(drain.budget_held.items())), reason="Timeout")
        time.sleep(STOP_RETRY)


def wait_succeeded(module: "KubevirtModule", cr: Dict[str, Any], deadline: float) -> Dict[str, Any]:
    name = str(cr_name(cr))
    try:
        done = module.waiter().wait(NODE_MAINTENANCE, name, None, lambda c: phase_of(c) in ("Succeeded", "Failed"),
                                    max(0.0, deadline - time.monotonic()), "Succeeded", initial=cr,
                                    deleted_is_final=True, summary=summary)
    except KubeApiError as err:
        if err.reason == "Timeout":
            raise failure(module.client.get(NODE_MAINTENANCE, name) or err.details.get("last_state"),
                          "did not succeed within wait_timeout", "Timeout")
        raise
    if phase_of(done) == "Failed":
        raise failure(done, "failed", "Failed")
    return done or {}


def outcomes(module: "KubevirtModule", node: str, plan: NodePlan) -> List[Dict[str, Any]]:
    """Where each VM that was on the node went: its newest succeeded migration, else evicted."""
    migrations = module.client.list(VIRTUAL_MACHINE_INSTANCE_MIGRATION) if plan.migrate else []
    found = []
    for key in plan.migrate:
        vmi = module.client.get(VIRTUAL_MACHINE_INSTANCE, key[1], key[0])
        migration = last_migration(migrations, key)
        moved = migration is not None and status_of(vmi).get("nodeName") not in (None, node)
        found.append(vm_outcome(key, "migrated" if moved else "evicted", node, None, migration if moved else None, vmi))
    return found


def maintain(module: "KubevirtModule", names: List[str], plans: Mapping[str, NodePlan],
             crs: Dict[str, Dict[str, Any]], started: float) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Create the missing CRs a batch at a time and wait for each to succeed: (nodes, vms)."""
    params = module.params
    deadline = started + params["wait_timeout"]
    report: List[Dict[str, Any]] = []
    vms: List[Dict[str, Any]] = []
    size = params["batch_size"]
    for first in range(0, len(names), size):
        batch = names[first:first + size]
        stopped = stop_stuck(module, batch, plans, deadline) if params["non_migratable"] == "stop" else {}
        for node in batch:
            if node not in crs:
                crs[node] = module.client.create(NODE_MAINTENANCE, body(node, params["reason"]))
        for node in batch:
            done = wait_succeeded(module, crs[node], deadline)
            crs[node] = done
            vms.extend(outcomes(module, node, plans[node]))
            report.append({"name": node, "cordoned": True, "node_maintenance": cr_name(done),
                           "evicted_pods": [], "skipped_pods": plans[node].skipped})
        vms.extend(stopped[key] for key in sorted(stopped))
    return report, vms


def end(module: "KubevirtModule", names: List[str], crs: Mapping[str, Dict[str, Any]],
        started: float) -> List[str]:
    """Delete the nodes' CRs and wait until NMO has uncordoned each node; the nodes it ended."""
    ended = [n for n in names if n in crs]
    for node in ended:
        module.client.delete(NODE_MAINTENANCE, str(cr_name(crs[node])))
    if module.check_mode:
        return ended
    deadline = started + module.params["wait_timeout"]
    for node in ended:
        module.waiter().wait(NODE_MAINTENANCE, str(cr_name(crs[node])), None, lambda c: c is None,
                             max(0.0, deadline - time.monotonic()), "deleted", summary=summary)
        module.waiter().wait(NODE, node, None, schedulable, max(0.0, deadline - time.monotonic()),
                             "schedulable (uncordoned, no %s taint)" % DRAIN_TAINT, summary=node_summary)
    return ended


def schedulable(node: Optional[Mapping[str, Any]]) -> bool:
    taints = ((node or {}).get("spec") or {}).get("taints") or []
    return node is not None and not cordoned(node) and not any(t.get("key") == DRAIN_TAINT for t in taints)


def node_summary(node: Optional[Mapping[str, Any]]) -> str:
    if node is None:
        return "absent"
    return "schedulable" if schedulable(node) else "cordoned"
