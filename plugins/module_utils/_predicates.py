# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure predicates over API objects (None means "does not exist"), and how to describe them."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

Obj = Optional[Mapping[str, Any]]
Predicate = Callable[[Obj], bool]

# Run strategies under which KubeVirt keeps (or first starts) a VMI.
RUNNING_STRATEGIES = ("Always", "RerunOnFailure")


def status_of(obj: Obj) -> Dict[str, Any]:
    return dict((obj or {}).get("status") or {})


def conditions_of(obj: Obj) -> List[Dict[str, Any]]:
    return [c for c in status_of(obj).get("conditions") or [] if isinstance(c, dict)]


def find_condition(obj: Obj, condition_type: str) -> Optional[Dict[str, Any]]:
    for condition in conditions_of(obj):
        if condition.get("type") == condition_type:
            return condition
    return None


def condition_matches(obj: Obj, condition_type: str, status: str = "True", reason: Optional[str] = None) -> bool:
    condition = find_condition(obj, condition_type)
    if condition is None:
        return False
    if str(condition.get("status")) != status:
        return False
    return reason is None or condition.get("reason") == reason


def is_gone(obj: Obj) -> bool:
    return obj is None


def exists(obj: Obj) -> bool:
    return obj is not None


def vm_ready(vm: Obj) -> bool:
    """A VM whose VMI is up: ``status.ready`` (set by virt-controller) or Ready=True."""
    if vm is None:
        return False
    return status_of(vm).get("ready") is True or condition_matches(vm, "Ready")


def vm_stopped(vm: Obj) -> bool:
    """A VM with no VMI: printableStatus Stopped (Ready=False, reason VMINotExists)."""
    if vm is None:
        return False
    status = status_of(vm)
    return status.get("printableStatus") == "Stopped" and not status.get("ready")


def vm_finished_or_ready(vm: Obj) -> bool:
    """For runStrategy Once: running, or already run to completion."""
    return vm_ready(vm) or vm_stopped(vm)


def vmi_ready(vmi: Obj) -> bool:
    return vmi is not None and status_of(vmi).get("phase") == "Running" and condition_matches(vmi, "Ready")


def vmi_replaced(old_uid: Optional[str]) -> Predicate:
    """A running, ready VMI other than the one with ``old_uid`` (a restart has completed)."""

    def predicate(vmi: Obj) -> bool:
        return vmi_ready(vmi) and ((vmi or {}).get("metadata") or {}).get("uid") != old_uid

    return predicate


def condition_predicate(condition_type: str, status: str = "True", reason: Optional[str] = None) -> Predicate:
    def predicate(obj: Obj) -> bool:
        return condition_matches(obj, condition_type, status, reason)

    return predicate


def vm_target(run_strategy: Optional[str]) -> Optional[Tuple[Predicate, str]]:
    """What ``wait: true`` waits for after applying a VM with this run strategy, and how to say
    it; None when the strategy implies no state (Manual, or unset)."""
    if run_strategy in RUNNING_STRATEGIES:
        return vm_ready, "ready (status.ready)"
    if run_strategy == "Halted":
        return vm_stopped, "stopped (printableStatus Stopped)"
    if run_strategy == "Once":
        return vm_finished_or_ready, "ready, or stopped after its single run"
    return None


def describe_state(obj: Obj) -> str:
    """One line with what a user needs to see why a wait did not finish."""
    if obj is None:
        return "the object does not exist"
    status = status_of(obj)
    parts = []
    for key in ("printableStatus", "phase"):
        if status.get(key):
            parts.append("%s %s" % (key, status[key]))
    metadata = obj.get("metadata") or {}
    if metadata.get("deletionTimestamp"):
        parts.append("being deleted since %s" % metadata["deletionTimestamp"])
    conditions = []
    for condition in conditions_of(obj):
        text = "%s=%s" % (condition.get("type"), condition.get("status"))
        detail = ": ".join(str(v) for v in (condition.get("reason"), condition.get("message")) if v)
        conditions.append("%s (%s)" % (text, detail) if detail else text)
    if conditions:
        parts.append("conditions " + ", ".join(conditions))
    return "; ".join(parts) if parts else "no status reported yet"
