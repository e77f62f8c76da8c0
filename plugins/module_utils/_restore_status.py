# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a VirtualMachineRestore's status says: complete, failed, waiting on its target, and why."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import find_condition, status_of

Obj = Optional[Mapping[str, Any]]


def restore_complete(restore: Obj) -> bool:
    return status_of(restore).get("complete") is True


def restore_failed(restore: Obj) -> bool:
    """KubeVirt's vmRestoreFailed: a Failure condition that is True."""
    return (find_condition(restore, "Failure") or {}).get("status") == "True"


def restore_final(restore: Obj) -> bool:
    return restore_complete(restore) or restore_failed(restore)


def restore_reason(restore: Obj) -> str:
    """The Progressing condition's reason: what the controller does or waits for."""
    condition = find_condition(restore, "Failure") if restore_failed(restore) else find_condition(restore, "Progressing")
    return str((condition or {}).get("reason") or "")


def progress_state(restore: Obj) -> str:
    """One progress line: complete / failed / the Progressing reason."""
    if restore is None:
        return "absent"
    if restore_complete(restore):
        return "complete"
    if restore_failed(restore):
        return "failed: %s" % restore_reason(restore)
    return restore_reason(restore) or "no status yet"


def restore_summary(restore: Obj) -> Dict[str, Any]:
    """The result's ``status``: KubeVirt's fields in snake_case."""
    status = status_of(restore)
    restores: List[Dict[str, Any]] = [
        {"volume_name": r.get("volumeName"), "claim_name": r.get("persistentVolumeClaim"),
         "volume_snapshot_name": r.get("volumeSnapshotName"), "data_volume_name": r.get("dataVolumeName")}
        for r in status.get("restores") or []
    ]
    return {
        "complete": bool(status.get("complete")),
        "failed": restore_failed(restore),
        "reason": restore_reason(restore),
        "restore_time": status.get("restoreTime"),
        "restores": restores,
        "deleted_data_volumes": list(status.get("deletedDataVolumes") or []),
        "conditions": list(status.get("conditions") or []),
    }


def vm_volumes(vm: Obj) -> List[Dict[str, Any]]:
    """The VM's volumes and the claim (or DataVolume) behind each: what the restored VM boots from."""
    spec = ((((vm or {}).get("spec") or {}).get("template") or {}).get("spec")) or {}
    out = []
    for volume in spec.get("volumes") or []:
        claim = (volume.get("dataVolume") or {}).get("name") or (volume.get("persistentVolumeClaim") or {}).get("claimName")
        source = next((key for key in volume if key != "name"), "")
        kind = "dataVolume" if volume.get("dataVolume") else ("persistentVolumeClaim" if claim else source)
        out.append({"name": volume.get("name"), "type": kind, "claim_name": claim})
    return out
