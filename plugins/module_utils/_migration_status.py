# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Predicates and summaries of VirtualMachineInstanceMigrations and a VMI's migrationState.

Names follow kubevirt.io/api core/v1 (VirtualMachineInstanceMigrationPhase,
VirtualMachineInstanceMigrationState, phaseTransitionTimestamps).
"""

from __future__ import annotations

import datetime
from typing import Any, Dict, Iterable, List, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import (
    Obj,
    conditions_of,
    find_condition,
    status_of,
)

FINAL_PHASES = ("Succeeded", "Failed")
PHASES = ("Pending", "Scheduling", "Scheduled", "PreparingTarget", "TargetReady", "Running", "Succeeded", "Failed")

# What to change, per LiveMigratable=False reason (kubevirt.io/api core/v1 VirtualMachineInstanceReason*).
_ADVICE = {
    "DisksNotLiveMigratable": "use ReadWriteMany (shared) claims for every disk, or stop the VM and restart it elsewhere",
    "InterfaceNotLiveMigratable": "connect the pod network with masquerade (or a migratable binding plugin)",
    "HostDeviceNotLiveMigratable": "remove the host devices (hostDevices) from the VM",
    "HotplugNotLiveMigratable": "unplug the hot-plugged disks that are not shared",
    "CPUModeLiveMigratable": "use a CPU model other than host-passthrough, or nodes with identical CPUs",
    "SEVNotLiveMigratable": "SEV guests cannot live-migrate; stop the VM and restart it elsewhere",
    "NoTSCFrequencyNotLiveMigratable": "set an explicit TSC frequency, or do not use HyperV reenlightenment",
    "VirtIOFSNotLiveMigratable": "remove the virtiofs filesystems (or enable their migration feature gate)",
    "PersistentReservationNotLiveMigratable": "remove SCSI persistent reservation (reservation: true) from the disks",
    "HypervPassthroughNotLiveMigratable": "do not use HyperV passthrough",
}


def phase_of(obj: Obj) -> str:
    return str(status_of(obj).get("phase") or "")


def migration_final(obj: Obj) -> bool:
    """A VMIM that will not change again (or is gone)."""
    return obj is None or phase_of(obj) in FINAL_PHASES


def migration_succeeded(obj: Obj) -> bool:
    return phase_of(obj) == "Succeeded"


def migration_vmi(obj: Mapping[str, Any]) -> str:
    return str((obj.get("spec") or {}).get("vmiName") or "")


def in_flight(migrations: Iterable[Mapping[str, Any]], vmi_name: str) -> Optional[Dict[str, Any]]:
    """The unfinished migration of ``vmi_name`` (KubeVirt admits at most one), oldest first."""
    live = [dict(m) for m in migrations if migration_vmi(m) == vmi_name and not migration_final(m)]
    live.sort(key=lambda m: str((m.get("metadata") or {}).get("creationTimestamp") or ""))
    return live[0] if live else None


def migratable_refusal(vmi: Obj) -> Optional[str]:
    """Why KubeVirt would refuse to live-migrate this VMI (LiveMigratable=False), else None."""
    condition = find_condition(vmi, "LiveMigratable")
    if condition is None or str(condition.get("status")) != "False":
        return None
    reason = str(condition.get("reason") or "NotLiveMigratable")
    text = "LiveMigratable is False, reason %s: %s" % (reason, condition.get("message") or "no message")
    advice = _ADVICE.get(reason)
    return text + (". To migrate it, %s" % advice if advice else "")


def parse_time(value: Any) -> Optional[datetime.datetime]:
    """An RFC 3339 timestamp of the API (``2026-12-03T10:00:00Z``, fractions allowed), else None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def seconds_between(start: Any, end: Any) -> Optional[float]:
    """Seconds from ``start`` to ``end`` (timestamps), None when either is missing."""
    first, last = parse_time(start), parse_time(end)
    if first is None or last is None:
        return None
    return round((last - first).total_seconds(), 3)


def phase_timestamps(obj: Obj) -> Dict[str, str]:
    """{phase: when it was entered} from ``status.phaseTransitionTimestamps`` (the last entry wins)."""
    stamps: Dict[str, str] = {}
    for entry in status_of(obj).get("phaseTransitionTimestamps") or []:
        if isinstance(entry, dict) and entry.get("phase"):
            stamps[str(entry["phase"])] = str(entry.get("phaseTransitionTimestamp") or "")
    return stamps


def state_summary(state: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    """The fields of a ``migrationState`` a user reads; None when there is none."""
    if not state:
        return None
    return {
        "migration_uid": state.get("migrationUid"),
        "source_node": state.get("sourceNode"),
        "target_node": state.get("targetNode"),
        "source_pod": state.get("sourcePod"),
        "target_pod": state.get("targetPod"),
        "start_timestamp": state.get("startTimestamp"),
        "end_timestamp": state.get("endTimestamp"),
        "mode": state.get("mode"),
        "completed": bool(state.get("completed")),
        "failed": bool(state.get("failed")),
        "abort_requested": bool(state.get("abortRequested")),
        "abort_status": state.get("abortStatus"),
        "failure_reason": state.get("failureReason"),
    }


def state_for(migration: Obj, vmi: Obj) -> Optional[Dict[str, Any]]:
    """The migrationState of this migration: the VMIM's own copy, else the VMI's when it is about this one."""
    own = status_of(migration).get("migrationState")
    if own:
        return dict(own)
    uid = ((migration or {}).get("metadata") or {}).get("uid")
    theirs = status_of(vmi).get("migrationState") or {}
    return dict(theirs) if uid and theirs.get("migrationUid") == uid else None


def migration_duration(migration: Obj, state: Optional[Mapping[str, Any]] = None) -> Optional[float]:
    """Seconds from creation (or Pending) to the final phase; the transfer time when that is all there is."""
    stamps = phase_timestamps(migration)
    created = ((migration or {}).get("metadata") or {}).get("creationTimestamp")
    begin = stamps.get("Pending") or created
    end = stamps.get("Succeeded") or stamps.get("Failed")
    found = seconds_between(begin, end)
    if found is None and state:
        found = seconds_between(state.get("startTimestamp"), state.get("endTimestamp"))
    return found


def progress_state(obj: Obj) -> str:
    """The progress line of a VMIM: its phase, ``being deleted`` while an abort runs."""
    if obj is None:
        return "absent"
    parts = [phase_of(obj) or "no phase yet"]
    if ((obj.get("metadata") or {}).get("deletionTimestamp")):
        parts.append("being deleted")
    return " ".join(parts)


def migration_summary(migration: Mapping[str, Any], vmi: Obj = None) -> Dict[str, Any]:
    """One migration for results and listings: where from, where to, phases and timings."""
    metadata = migration.get("metadata") or {}
    state = state_for(migration, vmi)
    summary = state_summary(state) or {}
    return {
        "name": metadata.get("name"),
        "namespace": metadata.get("namespace"),
        "vmi": migration_vmi(migration),
        "phase": phase_of(migration) or None,
        "source_node": summary.get("source_node"),
        "target_node": summary.get("target_node"),
        "added_node_selector": dict((migration.get("spec") or {}).get("addedNodeSelector") or {}),
        "created": metadata.get("creationTimestamp"),
        "phase_timestamps": phase_timestamps(migration),
        "duration": migration_duration(migration, state),
        "migration_state": state_summary(state),
    }


def failure_detail(migration: Obj, vmi: Obj) -> str:
    """Why a migration did not succeed: failure reason, abort status and the VMIM's conditions."""
    parts: List[str] = []
    state = state_for(migration, vmi) or {}
    if state.get("failureReason"):
        parts.append("failure reason: %s" % state["failureReason"])
    if state.get("abortStatus"):
        parts.append("abort status: %s" % state["abortStatus"])
    for condition in conditions_of(migration):
        detail = ": ".join(str(v) for v in (condition.get("reason"), condition.get("message")) if v)
        parts.append("condition %s=%s%s" % (condition.get("type"), condition.get("status"), " (%s)" % detail if detail else ""))
    return "; ".join(parts) if parts else "no failure reason reported"
