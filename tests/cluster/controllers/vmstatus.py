"""VirtualMachine status as virt-controller computes it (updateStatus / setPrintableStatus in
pkg/virt-controller/watch/vm/vm.go): printableStatus with KubeVirt's precedence, conditions mirrored
from the VMI, the Ready condition without a VMI (VMINotExists), Failure, and the trimming of
stateChangeRequests and volumeRequests once they have been acted upon. Pure functions.
"""
from __future__ import annotations

from typing import Optional

from ..api.objects import now_rfc3339, set_condition
from .keys import DV, PVC
from .virtcommon import (get_condition, has_condition, remove_condition, run_strategy, vmi_is_final, vmi_phase,
                         volume_claim_name)

RESTART_REQUIRED_MESSAGE = "a non-live-updatable field was changed in the template spec"


def dv_ready(dv: Optional[dict]) -> bool:
    return (dv or {}).get("status", {}).get("phase") in ("Succeeded", "WaitForFirstConsumer", "PendingPopulation")


def dv_provisioning(dv: Optional[dict]) -> bool:
    """storagetypes.HasDataVolumeProvisioning for one DataVolume."""
    if dv is None:
        return False
    phase = (dv.get("status") or {}).get("phase")
    if phase in ("Succeeded", "PendingPopulation"):
        return False
    bound = has_condition(dv, "Bound", "True")
    return bound or phase != "WaitForFirstConsumer"


def dv_error(dv: Optional[dict]) -> bool:
    if dv is None:
        return False
    if (dv.get("status") or {}).get("phase") == "Failed":
        return True
    running = get_condition(dv, "Running")
    return running is not None and running.get("status") == "False" and running.get("reason") in ("Error",
                                                                                                   "ImagePullFailed")


def trim_state_change_requests(status: dict, vmi: Optional[dict]) -> None:
    """isTrimFirstChangeRequestNeeded: drop the first request once it has been acted upon."""
    requests = status.get("stateChangeRequests") or []
    if not requests:
        status.pop("stateChangeRequests", None)
        return
    first = requests[0]
    trim = False
    if first.get("action") == "Stop":
        trim = vmi is None or not first.get("uid") or first.get("uid") != vmi["metadata"]["uid"]
    elif first.get("action") == "Start":
        trim = vmi is not None and not vmi["metadata"].get("deletionTimestamp") and not vmi_is_final(vmi)
    if trim:
        requests = requests[1:]
    if requests:
        status["stateChangeRequests"] = requests
    else:
        status.pop("stateChangeRequests", None)


def trim_volume_requests(vm: dict, status: dict) -> None:
    """trimDoneVolumeRequests: drop hot-plug requests the VM template already reflects."""
    requests = status.get("volumeRequests")
    if not requests:
        status.pop("volumeRequests", None)
        return
    tspec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
    volumes = {v.get("name") for v in tspec.get("volumes") or ()}
    disks = {d.get("name") for d in (tspec.get("domain") or {}).get("devices", {}).get("disks") or ()}
    kept = []
    for request in requests:
        add, rem = request.get("addVolumeOptions"), request.get("removeVolumeOptions")
        name = (add or rem or {}).get("name")
        done = (add and name in volumes and name in disks) or (rem and name not in volumes and name not in disks)
        if not done:
            kept.append(request)
    if kept:
        status["volumeRequests"] = kept
    else:
        status.pop("volumeRequests", None)


def vm_conditions(current: list[dict], vmi: Optional[dict], failure: Optional[tuple[str, str]]) -> list[dict]:
    """syncConditions: Ready from the VMI (VMINotExists without one), Failure from the sync error,
    the VMI's other conditions mirrored."""
    ignore = ("Ready", "Failure", "RestartRequired")
    # Without a VMI virt-controller leaves the mirrored conditions as they were (syncConditions).
    kept = ("Failure", "RestartRequired") if vmi is not None else None
    conditions = [c for c in current if c.get("type") != "Ready" and (kept is None or c.get("type") in kept)]
    if vmi is None:
        ready = {"type": "Ready", "status": "False", "reason": "VMINotExists", "message": "VMI does not exist",
                 "lastProbeTime": None, "lastTransitionTime": now_rfc3339()}
    else:
        vmi_ready = get_condition(vmi, "Ready")
        if vmi_ready is None:
            ready = {"type": "Ready", "status": "False", "reason": "VMIConditionMissing",
                     "message": "VMI is missing the Ready condition", "lastProbeTime": None,
                     "lastTransitionTime": now_rfc3339()}
        else:
            ready = dict(vmi_ready)
    conditions = set_condition([c for c in current if c.get("type") == "Ready"], ready) + conditions
    if failure is None:
        conditions = remove_condition(conditions, "Failure")
    else:
        old = get_condition({"status": {"conditions": conditions}}, "Failure")
        if old is None or old.get("reason") != failure[0] or old.get("message") != failure[1]:
            conditions = remove_condition(conditions, "Failure") + [{
                "type": "Failure", "status": "True", "reason": failure[0], "message": failure[1],
                "lastProbeTime": None, "lastTransitionTime": now_rfc3339()}]
    if vmi is not None:
        for cond in (vmi.get("status") or {}).get("conditions") or ():
            if cond.get("type") not in ignore:
                conditions.append(dict(cond))
    return conditions


def printable_status(store, vm: dict, vmi: Optional[dict]) -> str:
    """setPrintableStatus: the first matching status in KubeVirt's precedence order."""
    ns = vm["metadata"]["namespace"]
    tspec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
    volumes = tspec.get("volumes") or []
    dvs = [store.get(DV, ns, v["dataVolume"]["name"]) for v in volumes if v.get("dataVolume")]
    final = vmi_is_final(vmi)
    phase = vmi_phase(vmi)
    paused = has_condition(vmi, "Paused", "True")
    migration = ((vmi or {}).get("status") or {}).get("migrationState") or {}
    if vm["metadata"].get("deletionTimestamp"):
        return "Terminating"
    if vmi is not None and not final and vmi["metadata"].get("deletionTimestamp"):
        return "Stopping"
    if vmi is not None and migration.get("startTimestamp") and not migration.get("endTimestamp"):
        return "Migrating"
    if phase == "Running":
        return "Paused" if paused else "Running"
    if has_condition(vmi, "Synchronized", "False", "FailedPvcNotFound"):
        return "ErrorPvcNotFound"
    if any(dv_error(dv) for dv in dvs):
        return "DataVolumeError"
    if has_condition(vmi, "PodScheduled", "False", "Unschedulable"):
        return "ErrorUnschedulable"
    if any(dv_provisioning(dv) for dv in dvs):
        return "Provisioning"
    if set_to_start(vm, vmi) and any(
            (store.get(PVC, ns, volume_claim_name(v)) or {"status": {"phase": "Bound"}})
            .get("status", {}).get("phase") != "Bound" for v in volumes if volume_claim_name(v)):
        return "WaitingForVolumeBinding"
    if vmi is not None and phase in ("", "Pending", "Scheduling", "Scheduled"):
        return "Starting"
    if vmi is None or final:
        return "Stopped"
    return "Unknown"


def set_to_start(vm: dict, vmi: Optional[dict]) -> bool:
    """isSetToStart: whether the run strategy wants a VMI now."""
    strategy = run_strategy(vm)
    requests = (vm.get("status") or {}).get("stateChangeRequests") or []
    first = requests[0] if requests else {}
    if strategy == "Always":
        return True
    if strategy == "Manual":
        if vmi is not None:
            return not (first.get("action") == "Stop" and first.get("uid") == vmi["metadata"]["uid"])
        return first.get("action") == "Start"
    if strategy == "RerunOnFailure":
        if vmi is not None:
            return vmi_phase(vmi) != "Succeeded"
        return first.get("action") == "Start" or (vm.get("status") or {}).get("runStrategy") != strategy
    if strategy == "Once":
        return vmi is None
    return False


