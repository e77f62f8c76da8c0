# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a DataVolume's status says: done, failed for good, and the claim CDI made for it.

Kept apart from the modules so that other waits (upload, clone, live progress) reuse the same
reading of CDI's phases and conditions.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import Obj, Predicate, find_condition, status_of
from ansible_collections.virt.kubevirt.plugins.module_utils._quantity import quantity_value

# Phases where CDI has nothing more to do before a consumer appears: a claim on a
# WaitForFirstConsumer class is only populated once a VM (a pod) uses it.
RESTING_PHASES = ("Succeeded", "WaitForFirstConsumer", "PendingPopulation")
# An upload DataVolume is ready for its data at UploadReady; the transfer is a separate step.
UPLOAD_PHASES = RESTING_PHASES + ("UploadReady",)
# Bound-condition reasons that CDI never recovers from without a change to the cluster or spec.
_CLAIM_FAILURES = ("ErrClaimNotValid", "CloneValidationFailed", "ErrExceededQuota")
# Running-condition reasons of a worker pod that ended in error (the importer's termination).
_WORKER_FAILURES = ("Error",)


def dv_failure(dv: Obj) -> Optional[str]:
    """CDI's own words when the DataVolume cannot succeed as it is; None while it still may."""
    if dv is None:
        return None
    status = status_of(dv)
    if status.get("phase") == "Failed":
        ready = find_condition(dv, "Ready") or {}
        return "phase Failed%s" % (": %s" % ready["message"] if ready.get("message") else "")
    running = find_condition(dv, "Running") or {}
    if str(running.get("status")) == "False" and running.get("reason") in _WORKER_FAILURES:
        restarts = status.get("restartCount")
        return "%s (Running=False, reason %s%s)" % (
            running.get("message") or "the worker pod failed", running["reason"],
            ", %s restarts" % restarts if restarts else "",
        )
    bound = find_condition(dv, "Bound") or {}
    if str(bound.get("status")) == "False" and bound.get("reason") in _CLAIM_FAILURES:
        return "%s (Bound=False, reason %s)" % (bound.get("message") or "the claim is not valid", bound["reason"])
    return None


def dv_target(upload: bool) -> Tuple[Predicate, str]:
    """What ``wait`` waits for, and how to say it. A failure ends the wait too (see dv_failure)."""
    phases = UPLOAD_PHASES if upload else RESTING_PHASES

    def predicate(dv: Obj) -> bool:
        return status_of(dv).get("phase") in phases or dv_failure(dv) is not None

    text = "ready for its upload (phase UploadReady)" if upload else "populated (phase Succeeded)"
    return predicate, text


def claim_capacity_at_least(size: Any) -> Predicate:
    """A claim whose reported capacity reached ``size`` (an expansion has completed)."""
    wanted = quantity_value(size) or 0

    def predicate(pvc: Obj) -> bool:
        capacity = ((status_of(pvc).get("capacity") or {}).get("storage"))
        return (quantity_value(capacity) or 0) >= wanted

    return predicate


def claim_summary(pvc: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    """What CDI chose for the claim (StorageProfile defaults included) and what it got."""
    if not pvc:
        return None
    spec = pvc.get("spec") or {}
    status = pvc.get("status") or {}
    return {
        "name": (pvc.get("metadata") or {}).get("name"),
        "phase": status.get("phase"),
        "storage_class": spec.get("storageClassName"),
        "access_modes": list(spec.get("accessModes") or []),
        "volume_mode": spec.get("volumeMode") or "Filesystem",
        "requested": ((spec.get("resources") or {}).get("requests") or {}).get("storage"),
        "capacity": (status.get("capacity") or {}).get("storage"),
        "volume_name": spec.get("volumeName"),
    }


def claim_name(dv: Mapping[str, Any]) -> str:
    """The claim CDI made for the DataVolume: status.claimName, else (not reported yet) its name."""
    return status_of(dv).get("claimName") or dv["metadata"]["name"]
