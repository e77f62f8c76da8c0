# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What virt.kubevirt.vm_snapshot does: check the VM, create (or find) the snapshot, wait, prune.

A snapshot is immutable, so one that exists under the requested name is the answer (changed
false). Before creating one the VM's ``status.volumeSnapshotStatuses`` is read: KubeVirt silently
leaves out a disk whose StorageClass has no VolumeSnapshotClass, so such a disk fails the task
before any write unless ``allow_partial``. Retention (``keep``) only ever deletes snapshots that
carry this module's retention label for the same VM.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._events import describe_events, recent_events
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import is_gone, status_of
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    VIRTUAL_MACHINE,
    VIRTUAL_MACHINE_SNAPSHOT as VMSNAPSHOT,
    VIRTUAL_MACHINE_SNAPSHOT_CONTENT as CONTENT,
    VOLUME_SNAPSHOT,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._snapshot_spec import (
    RETENTION_LABEL,
    build_snapshot,
    generated_name,
    source_vm,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._snapshot_status import (
    READY_DESCRIPTION,
    failure_detail,
    progress_state,
    snapshot_failed,
    snapshot_settled,
    snapshot_summary,
    unsnapshottable_disks,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import invalid

EVENT_KINDS = (VMSNAPSHOT.kind, CONTENT.kind)
SOURCE_VM_LABEL = "snapshot.kubevirt.io/source-vm-name"


def _where(namespace: str, name: str) -> str:
    return "VirtualMachineSnapshot %s/%s" % (namespace, name)


def optional_list(client: Any, ref: Any, namespace: Optional[str], selector: Optional[str]) -> List[Dict[str, Any]]:
    """A list that may be forbidden or not served (no CSI snapshot CRDs): empty then."""
    try:
        return client.list(ref, namespace=namespace, label_selector=selector)
    except KubeApiError as err:
        if err.status in (403, 404):
            return []
        raise


def related(client: Any, snapshot: Mapping[str, Any]) -> Tuple[Optional[Dict[str, Any]], Dict[str, Dict[str, Any]]]:
    """The snapshot's content (one GET) and its VM's VolumeSnapshots by name (one list)."""
    content_name = status_of(snapshot).get("virtualMachineSnapshotContentName")
    namespace = snapshot["metadata"].get("namespace")
    if not content_name:
        return None, {}
    content = client.get(CONTENT, content_name, namespace)
    selector = "%s=%s" % (SOURCE_VM_LABEL, source_vm(snapshot))
    volume_snapshots = {vs["metadata"]["name"]: vs for vs in optional_list(client, VOLUME_SNAPSHOT, namespace, selector)}
    return content, volume_snapshots


def _check_vm(module: Any, params: Mapping[str, Any]) -> None:
    """The VM exists and every disk of it can be snapshotted (or allow_partial): before any write."""
    vm = module.client.get(VIRTUAL_MACHINE, params["vm"], params["namespace"])
    where = "VirtualMachine %s/%s" % (params["namespace"], params["vm"])
    if vm is None:
        raise KubeApiError("vm: %s not found" % where, reason="NotFound")
    bad = unsnapshottable_disks(vm)
    if not bad:
        return
    listed = "; ".join("%s (%s)" % (d["name"], d["reason"]) for d in bad)
    if not params["allow_partial"]:
        raise invalid("vm", "%s has disks that cannot be snapshotted: %s. KubeVirt would leave them out of the snapshot; "
                      "give their StorageClass a VolumeSnapshotClass, or set allow_partial: true to snapshot the other "
                      "disks only" % (where, listed))
    module.warn("%s: these disks are left out of the snapshot: %s" % (where, listed))


def _wait(module: Any, snapshot: Dict[str, Any]) -> Dict[str, Any]:
    namespace, name = snapshot["metadata"]["namespace"], snapshot["metadata"]["name"]
    final = module.waiter().wait(VMSNAPSHOT, name, namespace, snapshot_settled, module.params["wait_timeout"],
                                 READY_DESCRIPTION, event_kinds=EVENT_KINDS, initial=snapshot, deleted_is_final=True,
                                 summary=progress_state)
    if final is not None and not snapshot_failed(final):
        return final
    events = recent_events(module.client, namespace, name, kinds=EVENT_KINDS)
    state = "was deleted while the task waited" if final is None else "failed"
    message = "%s %s: %s. Recent events: %s" % (
        _where(namespace, name), state, failure_detail(final), describe_events(events))
    raise KubeApiError(message, reason="SnapshotFailed", details={"snapshot": final, "events": events})


def _prune(module: Any, params: Mapping[str, Any], newest: Dict[str, Any]) -> Tuple[List[str], List[str]]:
    """Delete this module's snapshots of the VM beyond the newest ``keep`` (newest counts first).
    Returns (kept, deleted) names."""
    namespace, vm = params["namespace"], params["vm"]
    managed = module.client.list(VMSNAPSHOT, namespace=namespace, label_selector="%s=%s" % (RETENTION_LABEL, vm))
    newest_name = newest["metadata"]["name"]
    others = [s for s in managed if s["metadata"]["name"] != newest_name and source_vm(s) == vm
              and not s["metadata"].get("deletionTimestamp")]
    others.sort(key=lambda s: (s["metadata"].get("creationTimestamp") or "", s["metadata"]["name"]), reverse=True)
    ordered = [newest] + others
    kept = [s["metadata"]["name"] for s in ordered[:params["keep"]]]
    deleted = []
    for old in ordered[params["keep"]:]:
        module.client.delete(VMSNAPSHOT, old["metadata"]["name"], namespace)
        deleted.append(old["metadata"]["name"])
    return kept, deleted


def _result(module: Any, changed: bool, method: str, snapshot: Optional[Dict[str, Any]],
            deleted: Optional[List[str]] = None) -> Dict[str, Any]:
    content, volume_snapshots = (None, {})
    if snapshot and not (module.check_mode and method == "create"):
        content, volume_snapshots = related(module.client, snapshot)
    summary = snapshot_summary(snapshot, content, volume_snapshots)
    return {
        "changed": changed, "method": method, "snapshot": snapshot or {},
        "phase": summary.get("phase"), "ready": bool(summary.get("ready")),
        "indications": summary.get("indications") or [], "consistency": summary.get("consistency") or "unknown",
        "content_name": summary.get("content_name"), "volumes": summary.get("volumes") or [],
        "excluded_volumes": summary.get("excluded_volumes") or [], "deleted": deleted or [],
    }


def present(module: Any) -> Dict[str, Any]:
    params = module.params
    client = module.client
    name = params.get("name") or generated_name(params["vm"])
    live = client.get(VMSNAPSHOT, name, params["namespace"]) if params.get("name") else None
    if live is not None and source_vm(live) != params["vm"]:
        raise invalid("name", "%s already exists for VirtualMachine %s, not %s; a snapshot cannot change its source: "
                      "choose another name" % (_where(params["namespace"], name), source_vm(live), params["vm"]))
    if live is not None and live["metadata"].get("deletionTimestamp"):
        raise KubeApiError("name: %s is being deleted; run the task again once it is gone to take a new snapshot"
                           % _where(params["namespace"], name), reason="Conflict")
    before: Dict[str, Any] = {"snapshot": live}
    if live is None:
        _check_vm(module, params)
        body = build_snapshot(name, params)
        snapshot = client.create(VMSNAPSHOT, body, params["namespace"])
        changed, method = True, "create"
    else:
        snapshot, changed, method = live, False, "none"
    if params["wait"] and not module.check_mode and not snapshot_settled(snapshot):
        snapshot = _wait(module, snapshot)
    elif snapshot_failed(snapshot):
        module.warn("%s failed: %s" % (_where(params["namespace"], name), failure_detail(snapshot)))
    deleted: List[str] = []
    kept: List[str] = []
    if params.get("keep") is not None:
        managed_before = client.list(VMSNAPSHOT, namespace=params["namespace"],
                                     label_selector="%s=%s" % (RETENTION_LABEL, params["vm"]))
        before["retained"] = sorted(s["metadata"]["name"] for s in managed_before if source_vm(s) == params["vm"])
        kept, deleted = _prune(module, params, snapshot)
        changed = changed or bool(deleted)
    result = _result(module, changed, method, snapshot, deleted)
    if changed:
        after: Dict[str, Any] = {"snapshot": snapshot}
        if params.get("keep") is not None:
            after["retained"] = sorted(kept)
        module.add_diff(result, before, after)
    return result


def absent(module: Any) -> Dict[str, Any]:
    params = module.params
    client = module.client
    live = client.get(VMSNAPSHOT, params["name"], params["namespace"])
    if live is None:
        return _result(module, False, "none", None)
    result = _result(module, False, "none", live)
    if not live["metadata"].get("deletionTimestamp"):
        client.delete(VMSNAPSHOT, params["name"], params["namespace"])
        result.update(changed=True, method="delete")
        module.add_diff(result, {"snapshot": live}, {"snapshot": None})
    if params["wait"] and not module.check_mode:
        module.waiter().wait(VMSNAPSHOT, params["name"], params["namespace"], is_gone, params["wait_timeout"],
                             "deleted (with its content unless deletionPolicy is Retain)", event_kinds=EVENT_KINDS,
                             initial=False, summary=progress_state)
    return result
