# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Predicates over a VMI's ``status.volumeStatus`` for hot-plugged volumes.

virt-controller and virt-handler move a hot-plugged volume through Pending -> Bound ->
AttachedToNode -> MountedToPod -> Ready (with ``target``, the guest device such as ``sda``),
and on unplug through Detaching (and UnMountedFromPod) until the entry disappears.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import Obj, Predicate, status_of

READY = "Ready"
RUNNING = "Running"


def volume_status(vmi: Obj, name: str) -> Optional[Dict[str, Any]]:
    for entry in status_of(vmi).get("volumeStatus") or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    return None


def vmi_running(vmi: Obj) -> bool:
    """A VMI that can take a hot-plug: KubeVirt's ``vmi.IsRunning()``, and not on its way out."""
    return vmi is not None and status_of(vmi).get("phase") == RUNNING and \
        not (vmi.get("metadata") or {}).get("deletionTimestamp")


def in_vmi_spec(vmi: Obj, name: str) -> bool:
    return any(isinstance(v, dict) and v.get("name") == name for v in ((vmi or {}).get("spec") or {}).get("volumes") or [])


def volume_ready(name: str) -> Predicate:
    """The volume is attached and usable in the guest: phase Ready."""

    def predicate(vmi: Obj) -> bool:
        entry = volume_status(vmi, name)
        return entry is not None and entry.get("phase") == READY

    return predicate


def volume_gone(name: str) -> Predicate:
    """Unplugged: neither in the VMI spec nor in its volumeStatus (or no VMI any more)."""

    def predicate(vmi: Obj) -> bool:
        return vmi is None or (volume_status(vmi, name) is None and not in_vmi_spec(vmi, name))

    return predicate


def summary(entry: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    """The part of a volumeStatus entry a play uses."""
    if entry is None:
        return None
    out = {key: entry.get(key) for key in ("name", "phase", "target", "reason", "message")}
    attach = (entry.get("hotplugVolume") or {}).get("attachPodName")
    if attach:
        out["attach_pod"] = attach
    return out


def describe_volume(vmi: Obj, name: str) -> str:
    """'volume data: phase Bound (PVCNotReady: PVC is in phase Bound)' for timeout messages."""
    if vmi is None:
        return "volume %s: the VMI does not exist" % name
    entry = volume_status(vmi, name)
    if entry is None:
        where = "in the VMI spec" if in_vmi_spec(vmi, name) else "not in the VMI spec"
        return "volume %s: %s, no volumeStatus yet" % (name, where)
    detail = ": ".join(str(entry[key]) for key in ("reason", "message") if entry.get(key))
    return "volume %s: phase %s%s" % (name, entry.get("phase") or "unknown", " (%s)" % detail if detail else "")
