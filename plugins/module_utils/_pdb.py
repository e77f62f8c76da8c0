# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PodDisruptionBudgets for disruptions that do not go through the eviction API.

node_maintenance stops a VM that cannot live-migrate by its run strategy: a deletion, which no
budget checks. So it asks the budget itself, with the disruption controller's arithmetic
(pkg/controller/disruption): healthy = selected pods Running with Ready True and not being
deleted; desired from minAvailable (a number or a percentage of the selected pods, rounded up) or
selected minus maxUnavailable; the disruption is allowed while healthy - 1 >= desired.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, List, Mapping, Optional, Tuple


def selects(selector: Optional[Mapping[str, Any]], labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector: an empty selector selects every pod (policy/v1), a missing one none."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, operator, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if (operator == "Exists" and not present) or (operator == "DoesNotExist" and present):
            return False
    return True


def _healthy(pod: Mapping[str, Any]) -> bool:
    status = pod.get("status") or {}
    ready = any(c.get("type") == "Ready" and str(c.get("status")) == "True" for c in status.get("conditions") or [])
    return status.get("phase") == "Running" and ready and not (pod.get("metadata") or {}).get("deletionTimestamp")


def _scaled(value: Any, total: int) -> int:
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


def budget_numbers(pdb: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> Tuple[int, int]:
    """(desired healthy, currently healthy) of the pods the budget selects."""
    spec = pdb.get("spec") or {}
    selected = [p for p in pods if selects(spec.get("selector"), (p.get("metadata") or {}).get("labels") or {})]
    healthy = sum(1 for p in selected if _healthy(p))
    if spec.get("minAvailable") is not None:
        desired = _scaled(spec["minAvailable"], len(selected))
    else:
        desired = max(0, len(selected) - _scaled(spec.get("maxUnavailable", 0), len(selected)))
    return desired, healthy


def budgets_for(pdbs: Iterable[Mapping[str, Any]], pod: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return [pdb for pdb in pdbs if selects((pdb.get("spec") or {}).get("selector"), labels)]


def disruption_refusal(pdbs: Iterable[Mapping[str, Any]], pods: List[Mapping[str, Any]],
                       pod: Mapping[str, Any]) -> Optional[str]:
    """Why taking ``pod`` down now would break a budget (the eviction API's wording), else None."""
    if not _healthy(pod):
        return None  # a pod that is not healthy does not count against any budget
    for pdb in budgets_for(pdbs, pod):
        desired, healthy = budget_numbers(pdb, pods)
        if healthy - 1 < desired:
            return ("the disruption budget %s needs %d healthy pods and has %d currently"
                    % ((pdb.get("metadata") or {}).get("name"), desired, healthy))
    return None
