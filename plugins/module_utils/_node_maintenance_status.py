# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What node_maintenance reports: a node's cordon state, each VM's outcome, the progress line."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._migration_status import (
    migration_duration,
    migration_final,
    migration_succeeded,
    migration_vmi,
    state_for,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import status_of


def cordoned(node: Optional[Mapping[str, Any]]) -> bool:
    return bool(((node or {}).get("spec") or {}).get("unschedulable"))


def cordon_view(nodes: Mapping[str, Optional[Mapping[str, Any]]], unschedulable: Optional[bool] = None) -> Dict[str, Any]:
    """The part of the Nodes the module changes, for diff mode: {node: {unschedulable}}."""
    return {name: {"unschedulable": cordoned(node) if unschedulable is None else unschedulable}
            for name, node in nodes.items()}


def completed_migration_uid(vmi: Optional[Mapping[str, Any]]) -> Optional[str]:
    """The uid of the migration the VMI's migrationState reports completed (and not failed)."""
    state = status_of(vmi).get("migrationState") or {}
    if state.get("completed") and not state.get("failed") and state.get("migrationUid"):
        return str(state["migrationUid"])
    return None


def last_migration(migrations: Iterable[Mapping[str, Any]], key: Tuple[str, str],
                   vmi: Optional[Mapping[str, Any]] = None) -> Optional[Dict[str, Any]]:
    """The migration the VMI's migrationState reports completed (virt-handler moves the VMI before
    the migration controller marks its VMIM Succeeded), else the VMI's newest succeeded one."""
    migrations = list(migrations)
    uid = completed_migration_uid(vmi)
    named = [dict(m) for m in migrations if uid and (m.get("metadata") or {}).get("uid") == uid]
    if named:
        return named[0]
    found = [dict(m) for m in migrations if ((m.get("metadata") or {}).get("namespace"), migration_vmi(m)) == key
             and migration_succeeded(m)]
    found.sort(key=lambda m: str((m.get("metadata") or {}).get("creationTimestamp") or ""))
    return found[-1] if found else None


def vm_outcome(key: Tuple[str, str], outcome: str, source: str, measured: Optional[float],
               migration: Optional[Mapping[str, Any]] = None, vmi: Optional[Mapping[str, Any]] = None,
               reason: Optional[str] = None) -> Dict[str, Any]:
    """One VM's line of the result: where it went and how long it took."""
    state = state_for(migration, vmi) if migration else None
    # A VMIM not yet marked final has no end of its own: the module's measurement stands in.
    duration = migration_duration(migration, state) if migration and migration_final(migration) else None
    entry: Dict[str, Any] = {
        "namespace": key[0],
        "name": key[1],
        "outcome": outcome,
        "source_node": source,
        "target_node": (state or {}).get("targetNode") or (status_of(vmi).get("nodeName") if outcome == "migrated" else None),
        "migration": ((migration or {}).get("metadata") or {}).get("name"),
        "duration": duration if duration is not None else (round(measured, 1) if measured is not None else None),
    }
    if reason:
        entry["reason"] = reason
    return entry


def progress_line(vms_left: int, in_flight: int, pods_left: int, budget_waits: int, vm_budget_waits: int = 0) -> str:
    """``5 VMs left, 2 migrations in flight, 1 pod left (1 waiting on a disruption budget)``; VMs to
    stop that a budget holds are counted the same way after the VMs."""
    line = "%d VM%s left" % (vms_left, "" if vms_left == 1 else "s")
    if vm_budget_waits:
        line += " (%d waiting on a disruption budget)" % vm_budget_waits
    line += ", %d migration%s in flight" % (in_flight, "" if in_flight == 1 else "s")
    if pods_left:
        line += ", %d pod%s left" % (pods_left, "" if pods_left == 1 else "s")
        if budget_waits:
            line += " (%d waiting on a disruption budget)" % budget_waits
    return line
