# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Drain planning for node_maintenance: which pods of a node to evict, which VMs to move, stop or
leave, how many evacuations may start now, and what an eviction's answer means.

kubectl drain's filters decide what is skipped (mirror pods, DaemonSet pods, finished pods);
KubeVirt's eviction admission (pod-eviction-admitter.go) answers 429 for a launcher pod whose VMI
it evacuates, and the eviction REST answers 429 with a DisruptionBudget cause for a budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._migration_status import (
    migratable_refusal,
    migration_final,
    migration_vmi,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import find_condition, status_of

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
LAUNCHER_LABEL = "kubevirt.io"
DOMAIN_ANNOTATION = "kubevirt.io/domain"
NODE_LABEL = "kubevirt.io/nodeName"
# KubeVirt's defaults (pkg/virt-config): used when the KubeVirt CR leaves them unset.
DEFAULT_PER_CLUSTER = 5
DEFAULT_PER_NODE = 2
POLICIES = ("fail", "stop", "leave")


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def pod_skip_reason(pod: Mapping[str, Any]) -> Optional[str]:
    """Why kubectl drain leaves this pod alone (mirror, DaemonSet, finished), else None."""
    if MIRROR_ANNOTATION in (_meta(pod).get("annotations") or {}):
        return "mirror pod"
    for owner in _meta(pod).get("ownerReferences") or []:
        if owner.get("controller") and owner.get("kind") == "DaemonSet":
            return "DaemonSet pod"
    if status_of(pod).get("phase") in ("Succeeded", "Failed"):
        return "finished"
    if _meta(pod).get("deletionTimestamp"):
        return "being deleted"
    return None


def launcher_vmi(pod: Mapping[str, Any]) -> Optional[str]:
    """The VMI a virt-launcher pod runs, else None (a plain pod)."""
    if (_meta(pod).get("labels") or {}).get(LAUNCHER_LABEL) != "virt-launcher":
        return None
    return (_meta(pod).get("annotations") or {}).get(DOMAIN_ANNOTATION) or None


def key_of(obj: Mapping[str, Any]) -> Tuple[str, str]:
    return (str(_meta(obj).get("namespace") or ""), str(_meta(obj).get("name") or ""))


def vmi_migratable(vmi: Mapping[str, Any]) -> bool:
    condition = find_condition(vmi, "LiveMigratable")
    return bool(condition) and str(condition.get("status")) == "True"


def vmi_on_node(vmi: Mapping[str, Any], node: str) -> bool:
    status = status_of(vmi)
    return status.get("nodeName") == node and status.get("phase") not in ("Succeeded", "Failed")


@dataclass
class NodePlan:
    """What a drain of one node has to do, from one look at its pods and VMIs."""

    node: str
    migrate: List[Tuple[str, str]] = field(default_factory=list)
    stuck: Dict[Tuple[str, str], str] = field(default_factory=dict)  # non-migratable VMI -> refusal
    pods: List[Tuple[str, str]] = field(default_factory=list)  # plain pods to evict
    skipped: List[Dict[str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.migrate or self.stuck or self.pods)


def plan_node(node: str, pods: Iterable[Mapping[str, Any]], vmis: Iterable[Mapping[str, Any]]) -> NodePlan:
    """Sort the node's workload: VMIs that live-migrate, VMIs that cannot, plain pods, skipped pods."""
    plan = NodePlan(node)
    vmi_keys = set()
    for vmi in vmis:
        if not vmi_on_node(vmi, node) or _meta(vmi).get("deletionTimestamp"):
            continue
        key = key_of(vmi)
        vmi_keys.add(key)
        if vmi_migratable(vmi):
            plan.migrate.append(key)
        else:
            plan.stuck[key] = migratable_refusal(vmi) or "LiveMigratable is not True yet"
    for pod in pods:
        if (pod.get("spec") or {}).get("nodeName") != node:
            continue
        reason = pod_skip_reason(pod)
        namespace, name = key_of(pod)
        if reason:
            plan.skipped.append({"namespace": namespace, "name": name, "reason": reason})
            continue
        vmi_name = launcher_vmi(pod)
        if vmi_name is None:
            plan.pods.append((namespace, name))
        elif (namespace, vmi_name) not in vmi_keys:
            plan.pods.append((namespace, name))  # a launcher whose VMI left already (a migration source)
    plan.migrate.sort()
    plan.pods.sort()
    return plan


def refusal_message(plans: Iterable[NodePlan]) -> Optional[str]:
    """The non_migratable=fail refusal naming every VM that cannot live-migrate, else None."""
    lines = ["%s/%s on %s (%s)" % (ns, name, plan.node, reason)
             for plan in plans for (ns, name), reason in sorted(plan.stuck.items())]
    if not lines:
        return None
    return ("non_migratable=fail: %d VM(s) cannot live-migrate, nothing was changed: %s. Set non_migratable "
            "to stop or leave to go on." % (len(lines), "; ".join(lines)))


def migration_limits(kubevirts: Iterable[Mapping[str, Any]]) -> Tuple[int, int]:
    """(parallelMigrationsPerCluster, parallelOutboundMigrationsPerNode) of the KubeVirt CR."""
    for kubevirt in kubevirts:
        migrations = ((kubevirt.get("spec") or {}).get("configuration") or {}).get("migrations") or {}
        return (int(migrations.get("parallelMigrationsPerCluster") or DEFAULT_PER_CLUSTER),
                int(migrations.get("parallelOutboundMigrationsPerNode") or DEFAULT_PER_NODE))
    return DEFAULT_PER_CLUSTER, DEFAULT_PER_NODE


def active_migrations(migrations: Iterable[Mapping[str, Any]], vmis: Mapping[Tuple[str, str], Mapping[str, Any]]
                      ) -> Dict[str, List[Tuple[str, str]]]:
    """Unfinished migrations by source node ("" when the VMI is unknown), as VMI keys."""
    by_node: Dict[str, List[Tuple[str, str]]] = {}
    for migration in migrations:
        if migration_final(migration):
            continue
        key = (str(_meta(migration).get("namespace") or ""), migration_vmi(migration))
        vmi = vmis.get(key) or {}
        source = str(((status_of(vmi).get("migrationState") or {}).get("sourceNode")) or status_of(vmi).get("nodeName") or "")
        by_node.setdefault(source, []).append(key)
    return by_node


def free_slots(by_node: Mapping[str, List[Any]], node: str, per_cluster: int, per_node: int) -> int:
    """How many more evacuations may start from ``node`` without passing either limit."""
    total = sum(len(keys) for keys in by_node.values())
    return max(0, min(per_cluster - total, per_node - len(by_node.get(node, []))))


EVACUATING = "evacuating"
BUDGET = "budget"
REFUSED = "refused"


def eviction_answer(err: KubeApiError) -> str:
    """What an eviction's error means: KubeVirt started (or runs) an evacuation, a disruption
    budget says not yet, or a refusal the drain cannot get past by waiting."""
    text = str(err)
    if err.status == 429 and ("triggered evacuation" in text or "Evacuation in progress" in text):
        return EVACUATING
    if err.status == 429:
        return BUDGET
    return REFUSED
