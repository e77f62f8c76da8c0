# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a VirtualMachineClone's status says: its phase, the temporary snapshot and restore, why it waits."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import find_condition, status_of

Obj = Optional[Mapping[str, Any]]
# clone.kubevirt.io/v1beta1 VirtualMachineClonePhase, in order.
PHASES = ("SnapshotInProgress", "RestoreInProgress", "CreatingTargetVM", "Succeeded", "Failed")


def phase_of(clone: Obj) -> str:
    return str(status_of(clone).get("phase") or "")


def clone_succeeded(clone: Obj) -> bool:
    return phase_of(clone) == "Succeeded"


def clone_final(clone: Obj) -> bool:
    return phase_of(clone) in ("Succeeded", "Failed")


def ready_reason(clone: Obj) -> str:
    return str((find_condition(clone, "Ready") or {}).get("reason") or "")


def progress_state(clone: Obj) -> str:
    """The phase, and the Ready reason while the clone is pending or failing."""
    if clone is None:
        return "absent"
    phase = phase_of(clone) or "Pending"
    reason = ready_reason(clone)
    return "%s (%s)" % (phase, reason) if reason and reason not in ("Still processing", "Ready") else phase


def clone_summary(clone: Obj) -> Dict[str, Any]:
    status = status_of(clone)
    return {
        "phase": phase_of(clone),
        "target_name": status.get("targetName"),
        "snapshot_name": status.get("snapshotName"),
        "restore_name": status.get("restoreName"),
        "creation_time": status.get("creationTime"),
        "reason": ready_reason(clone),
        "conditions": list(status.get("conditions") or []),
    }
