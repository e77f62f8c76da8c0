"""PodDisruptionBudgets as the eviction REST (pkg/registry/core/pod/storage/eviction.go) applies them.

The disruption controller's arithmetic is done at eviction time from the pods in the store:
healthy = Running pods with Ready True that the budget selects; desired from minAvailable (a number
or a percentage of the selected pods, rounded up) or from maxUnavailable. An eviction that would
take healthy below desired answers 429 with the DisruptionBudget cause, a pod with two budgets 500,
and a pod that is not Running is always evictable (kube lets those through).
"""
from __future__ import annotations

import math
from typing import Any, Optional

from . import errors

PDB = ("policy", "poddisruptionbudgets")
POD = ("", "pods")
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."


def selects(selector: Optional[dict], labels: dict) -> bool:
    """metav1.LabelSelector: an empty selector selects every pod (policy/v1), a missing one none."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and present and labels[key] in values) \
                or (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True


def _healthy(pod: dict) -> bool:
    status = pod.get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    return status.get("phase") == "Running" and ready and not pod["metadata"].get("deletionTimestamp")


def _scaled(value: Any, total: int) -> int:
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


def budget_numbers(pdb: dict, pods: list[dict]) -> tuple[int, int]:
    """(desired healthy, currently healthy) for the pods the budget selects."""
    spec = pdb.get("spec") or {}
    selected = [p for p in pods if selects(spec.get("selector"), p["metadata"].get("labels") or {})]
    healthy = sum(1 for p in selected if _healthy(p))
    if spec.get("minAvailable") is not None:
        desired = _scaled(spec["minAvailable"], len(selected))
    else:
        desired = max(0, len(selected) - _scaled(spec.get("maxUnavailable", 0), len(selected)))
    return desired, healthy


def check_eviction(store, namespace: str, pod: dict) -> None:
    """Raise the eviction REST's answer when the pod's budget forbids the disruption."""
    if (pod.get("status") or {}).get("phase") != "Running":
        return
    labels = pod["metadata"].get("labels") or {}
    budgets = [b for b in store.list(PDB, namespace)[0] if selects((b.get("spec") or {}).get("selector"), labels)]
    if not budgets:
        return
    if len(budgets) > 1:
        raise errors.internal("This pod has more than one PodDisruptionBudget, which the eviction subresource "
                              "does not support.")
    pdb = budgets[0]
    desired, healthy = budget_numbers(pdb, store.list(POD, namespace)[0])
    if healthy - 1 >= desired:
        return
    cause = {"reason": "DisruptionBudget", "message": "The disruption budget %s needs %d healthy pods and has %d "
             "currently" % (pdb["metadata"]["name"], desired, healthy)}
    raise errors.ApiError(429, "TooManyRequests", VIOLATION, {"causes": [cause]})
