# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Predicates and summaries of VirtualMachineSnapshots, their contents and VolumeSnapshots.

KubeVirt's snapshot controller reports ``status.phase`` (InProgress, Succeeded, Failed),
``readyToUse``, conditions Progressing / Ready (/ Failure "snapshot deadline exceeded"), the
source ``indications`` (Online, GuestAgent, NoGuestAgent, Paused, QuiesceFailed, QuiesceTimeout,
PartialSnapshot) and ``snapshotVolumes``. The content lists one volumeBackup per snapshotted claim
with the VolumeSnapshot cut for it.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import find_condition, status_of

READY_DESCRIPTION = "readyToUse (phase Succeeded) or Failed"
# Indications that make an online snapshot crash-consistent only.
_CRASH = ("NoGuestAgent", "QuiesceFailed", "QuiesceTimeout", "Paused")
CLAIM_VOLUME_KEYS = ("persistentVolumeClaim", "dataVolume")


def snapshot_ready(snapshot: Any) -> bool:
    return bool(snapshot) and status_of(snapshot).get("readyToUse") is True


def snapshot_failed(snapshot: Any) -> bool:
    return bool(snapshot) and status_of(snapshot).get("phase") == "Failed"


def snapshot_settled(snapshot: Any) -> bool:
    return snapshot_ready(snapshot) or snapshot_failed(snapshot)


def progress_state(snapshot: Optional[Mapping[str, Any]]) -> str:
    """Phase and the Progressing reason, for progress lines ("InProgress: Source locked ...")."""
    if snapshot is None:
        return "absent"
    status = status_of(snapshot)
    if not status:
        return "no status yet"
    reason = (find_condition(snapshot, "Progressing") or {}).get("reason")
    phase = status.get("phase") or "no phase yet"
    if status.get("readyToUse"):
        return "%s, readyToUse" % phase
    return "%s: %s" % (phase, reason) if reason else phase


def consistency(snapshot: Optional[Mapping[str, Any]]) -> str:
    """What the indications say about the disks' consistency.

    ``offline`` (the VM was stopped), ``application-consistent`` (the guest agent froze the file
    systems), ``crash-consistent`` (running without a successful freeze) or ``unknown`` (not
    finished yet)."""
    status = status_of(snapshot)
    if status.get("phase") != "Succeeded":
        return "unknown"
    indications = status.get("indications") or []
    if "Online" not in indications:
        return "offline"
    if any(i in indications for i in _CRASH):
        return "crash-consistent"
    return "application-consistent" if "GuestAgent" in indications else "unknown"


def failure_detail(snapshot: Optional[Mapping[str, Any]]) -> str:
    """Why a snapshot failed or is stuck: the error, the Failure and Progressing reasons."""
    status = status_of(snapshot)
    parts = []
    error = (status.get("error") or {}).get("message")
    if error:
        parts.append(error)
    for ctype in ("Failure", "Progressing"):
        condition = find_condition(snapshot, ctype) if snapshot else None
        if condition and condition.get("reason") and condition.get("status") in ("True", "False"):
            if ctype == "Failure" and condition.get("status") != "True":
                continue
            parts.append("%s: %s" % (ctype, condition["reason"]))
    return "; ".join(parts) or "no status reported"


def unsnapshottable_disks(vm: Mapping[str, Any]) -> List[Dict[str, str]]:
    """PVC/DataVolume volumes the VM's volumeSnapshotStatuses report disabled, with KubeVirt's reason."""
    volumes = (((vm.get("spec") or {}).get("template") or {}).get("spec") or {}).get("volumes") or []
    claim_backed = {v.get("name") for v in volumes if any(v.get(k) for k in CLAIM_VOLUME_KEYS)}
    out = []
    for entry in status_of(vm).get("volumeSnapshotStatuses") or []:
        if entry.get("name") in claim_backed and entry.get("enabled") is False:
            out.append({"name": entry["name"], "reason": entry.get("reason") or "no reason given"})
    return out


def volume_summaries(content: Optional[Mapping[str, Any]], volume_snapshots: Mapping[str, Mapping[str, Any]]
                     ) -> List[Dict[str, Any]]:
    """One entry per volumeBackup: the volume, its claim and its VolumeSnapshot's readiness."""
    if not content:
        return []
    out = []
    for backup in (content.get("spec") or {}).get("volumeBackups") or []:
        vs_name = backup.get("volumeSnapshotName")
        vs_status = status_of(volume_snapshots.get(vs_name or "")) if vs_name else {}
        out.append({
            "name": backup.get("volumeName"),
            "claim": ((backup.get("persistentVolumeClaim") or {}).get("metadata") or {}).get("name"),
            "volume_snapshot": vs_name,
            "ready": vs_status.get("readyToUse") is True,
            "restore_size": vs_status.get("restoreSize"),
            "creation_time": vs_status.get("creationTime"),
            "error": (vs_status.get("error") or {}).get("message"),
        })
    return out


def snapshot_summary(snapshot: Optional[Mapping[str, Any]], content: Optional[Mapping[str, Any]],
                     volume_snapshots: Mapping[str, Mapping[str, Any]]) -> Dict[str, Any]:
    """The fields results and loops need, flat."""
    if not snapshot:
        return {}
    status = status_of(snapshot)
    lists = status.get("snapshotVolumes") or {}
    return {
        "name": snapshot["metadata"]["name"],
        "namespace": snapshot["metadata"].get("namespace"),
        "vm": (((snapshot.get("spec") or {}).get("source") or {}).get("name")),
        "phase": status.get("phase"),
        "ready": status.get("readyToUse") is True,
        "creation_time": status.get("creationTime"),
        "indications": list(status.get("indications") or []),
        "consistency": consistency(snapshot),
        "content_name": status.get("virtualMachineSnapshotContentName"),
        "content_ready": status_of(content).get("readyToUse") is True,
        "included_volumes": list(lists.get("includedVolumes") or []),
        "excluded_volumes": list(lists.get("excludedVolumes") or []),
        "volumes": volume_summaries(content, volume_snapshots),
        "error": (status.get("error") or {}).get("message"),
        "labels": dict((snapshot.get("metadata") or {}).get("labels") or {}),
    }
