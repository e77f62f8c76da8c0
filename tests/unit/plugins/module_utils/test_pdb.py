"""The disruption arithmetic node_maintenance applies before it stops a VM."""
from __future__ import annotations

from ansible_collections.virt.kubevirt.plugins.module_utils._pdb import (
    budget_numbers,
    budgets_for,
    disruption_refusal,
    selects,
)


def _pod(name, labels, ready=True, phase="Running", deleting=False):
    meta = {"name": name, "labels": labels}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-03T10:00:00Z"
    return {"metadata": meta, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def _pdb(name, selector, **spec):
    return {"metadata": {"name": name}, "spec": dict(spec, selector=selector)}


def test_selects_match_labels_and_expressions():
    assert selects({}, {"a": "1"}) and not selects(None, {"a": "1"})
    assert selects({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"})
    assert not selects({"matchLabels": {"a": "1"}}, {"a": "2"})
    expr = {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "db"]},
                                 {"key": "canary", "operator": "DoesNotExist"}]}
    assert selects(expr, {"tier": "db"}) and not selects(expr, {"tier": "db", "canary": "y"})
    assert not selects({"matchExpressions": [{"key": "t", "operator": "NotIn", "values": ["x"]}]}, {"t": "x"})
    assert not selects({"matchExpressions": [{"key": "t", "operator": "Exists"}]}, {})


def test_budget_numbers_count_only_healthy_selected_pods():
    pods = [_pod("a", {"app": "w"}), _pod("b", {"app": "w"}, ready=False), _pod("c", {"app": "w"}, deleting=True),
            _pod("d", {"app": "other"})]
    assert budget_numbers(_pdb("w", {"matchLabels": {"app": "w"}}, minAvailable=1), pods) == (1, 1)
    assert budget_numbers(_pdb("w", {"matchLabels": {"app": "w"}}, minAvailable="50%"), pods) == (2, 1)
    assert budget_numbers(_pdb("w", {"matchLabels": {"app": "w"}}, maxUnavailable=1), pods) == (2, 1)


def test_refusal_names_the_budget_and_lets_unhealthy_pods_go():
    guard = _pdb("rwo2-guard", {"matchLabels": {"vm.kubevirt.io/name": "rwo2"}}, minAvailable=1)
    launcher = _pod("virt-launcher-rwo2-x", {"vm.kubevirt.io/name": "rwo2"})
    assert budgets_for([guard], launcher) == [guard]
    assert disruption_refusal([guard], [launcher], launcher) == \
        "the disruption budget rwo2-guard needs 1 healthy pods and has 1 currently"
    relaxed = _pdb("rwo2-guard", guard["spec"]["selector"], minAvailable=0)
    assert disruption_refusal([relaxed], [launcher], launcher) is None
    sick = _pod("virt-launcher-rwo2-x", {"vm.kubevirt.io/name": "rwo2"}, ready=False)
    assert disruption_refusal([guard], [sick], sick) is None
    assert disruption_refusal([], [launcher], launcher) is None
