# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What virt.kubevirt.vm_restore does: check the snapshot and target, stop the VM if allowed,
create the VirtualMachineRestore, wait for it to complete, start the VM again if asked."""

from __future__ import annotations

from typing import Any, Dict, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._events import describe_events, recent_events
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import is_gone, status_of, vm_ready
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    VIRTUAL_MACHINE,
    VIRTUAL_MACHINE_INSTANCE,
    VIRTUAL_MACHINE_RESTORE as VMRESTORE,
    VIRTUAL_MACHINE_SNAPSHOT,
    VIRTUAL_MACHINE_SUBRESOURCES,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._restore_spec import build_restore, spec_differences
from ansible_collections.virt.kubevirt.plugins.module_utils._restore_status import (
    progress_state,
    restore_complete,
    restore_failed,
    restore_final,
    restore_reason,
    restore_summary,
    vm_volumes,
)

# KubeVirt's own message when the target is another, existing VM (pkg/storage/snapshot/restore.go).
EXISTING_TARGET = "restore source and restore target are different but restore target already exists"
# Policies under which KubeVirt itself deals with a running target.
HANDLES_RUNNING = ("StopTarget", "WaitEventually")


def _fail(message: str, reason: str = "InvalidArgument", **details: Any) -> KubeApiError:
    return KubeApiError(message, reason=reason, details=details or None)


def _snapshot(module: KubevirtModule) -> Dict[str, Any]:
    params = module.params
    where = "%s/%s" % (params["namespace"], params["snapshot"])
    snap = module.client.get(VIRTUAL_MACHINE_SNAPSHOT, params["snapshot"], params["namespace"])
    if snap is None:
        raise _fail("snapshot: VirtualMachineSnapshot %s not found" % where, "NotFound")
    status = status_of(snap)
    if status.get("readyToUse") is not True:
        raise _fail("snapshot: VirtualMachineSnapshot %s is not ready to use (phase %s): only a ready snapshot can be "
                    "restored" % (where, status.get("phase") or "unknown"), "SnapshotNotReady")
    return snap


def _wait_complete(module: KubevirtModule, restore: Dict[str, Any]) -> Dict[str, Any]:
    """Wait for complete; a failed (or deleted) restore raises with its reason and events."""
    params = module.params
    name = restore["metadata"]["name"]
    final = module.waiter().wait(VMRESTORE, name, params["namespace"], restore_final, params["wait_timeout"],
                                 "complete", event_kinds=(VMRESTORE.kind,), initial=restore, deleted_is_final=True,
                                 summary=progress_state)
    if final is not None and restore_complete(final):
        return final
    raise _failure(module, final, name)


def _failure(module: KubevirtModule, restore: Optional[Dict[str, Any]], name: str) -> KubeApiError:
    namespace = module.params["namespace"]
    events = recent_events(module.client, namespace, name, kinds=(VMRESTORE.kind,))
    state = "was deleted" if restore is None else "failed: %s" % restore_reason(restore)
    return _fail("VirtualMachineRestore %s/%s %s. Recent events: %s" % (namespace, name, state, describe_events(events)),
                 "RestoreFailed", restore=restore, events=events)


def _stop(module: KubevirtModule, name: str) -> None:
    """Stop the target through virt-api and wait until its VMI is gone (skipped in check mode)."""
    namespace = module.params["namespace"]
    module.client.subresource(VIRTUAL_MACHINE_SUBRESOURCES, name, "stop", namespace)
    if not module.check_mode:
        module.waiter().wait(VIRTUAL_MACHINE_INSTANCE, name, namespace, is_gone, module.params["wait_timeout"],
                             "stopped", event_kinds=(VIRTUAL_MACHINE_INSTANCE.kind, VIRTUAL_MACHINE.kind))


def _start(module: KubevirtModule, name: str) -> Optional[Dict[str, Any]]:
    namespace = module.params["namespace"]
    module.client.subresource(VIRTUAL_MACHINE_SUBRESOURCES, name, "start", namespace)
    if module.check_mode:
        return None
    return module.waiter().wait(VIRTUAL_MACHINE, name, namespace, vm_ready, module.params["wait_timeout"], "running",
                                event_kinds=(VIRTUAL_MACHINE.kind, VIRTUAL_MACHINE_INSTANCE.kind))


def _result(changed: bool, restore: Optional[Dict[str, Any]], vm: Optional[Dict[str, Any]], target: str,
            stopped: bool = False, started: bool = False) -> Dict[str, Any]:
    return {
        "changed": changed,
        "restore": restore or {},
        "status": restore_summary(restore),
        "target_vm": target,
        "volumes": vm_volumes(vm),
        "stopped": stopped,
        "started": started,
    }


def _existing(module: KubevirtModule, live: Dict[str, Any], body: Dict[str, Any]) -> Dict[str, Any]:
    """A restore of this name exists: never repeated; followed when it still runs."""
    params = module.params
    where = "%s/%s" % (params["namespace"], params["name"])
    differs = spec_differences(live, body)
    if differs:
        raise _fail("name: VirtualMachineRestore %s exists with another %s; a restore runs once and cannot be changed, "
                    "choose another name" % (where, " and ".join(differs)), "AlreadyExists")
    if restore_failed(live):
        raise _failure(module, live, params["name"])
    if not restore_complete(live) and params["wait"] and not module.check_mode:
        live = _wait_complete(module, live)
    target = live["spec"]["target"]["name"]
    vm = module.client.get(VIRTUAL_MACHINE, target, params["namespace"])
    return _result(False, live, vm, target)


def run_restore(module: KubevirtModule) -> Dict[str, Any]:
    params = module.params
    namespace = params["namespace"]
    live = module.client.get(VMRESTORE, params["name"], namespace)
    if live is not None:
        target = params.get("target_vm") or live["spec"]["target"]["name"]
        return _existing(module, live, build_restore(params, target))
    snap = _snapshot(module)
    target = params.get("target_vm") or ((snap.get("spec") or {}).get("source") or {}).get("name")
    vm = module.client.get(VIRTUAL_MACHINE, target, namespace)
    source_uid = status_of(snap).get("sourceUID")
    if vm is not None and source_uid and vm["metadata"].get("uid") != source_uid:
        raise _fail("target_vm: VirtualMachine %s/%s exists and is not the VM snapshot %s was taken of (KubeVirt: %s); "
                    "name a new VM or restore onto the snapshot's own VM" % (namespace, target, params["snapshot"],
                                                                             EXISTING_TARGET), "AlreadyExists")
    running = vm is not None and module.client.get(VIRTUAL_MACHINE_INSTANCE, target, namespace) is not None
    policy = params.get("target_readiness_policy") or "WaitGracePeriod"
    if running and not params["stop_target"] and policy not in HANDLES_RUNNING:
        raise _fail("stop_target: VirtualMachine %s/%s is running (%s) and a restore needs it stopped; set "
                    "stop_target=true to stop it first, or target_readiness_policy=StopTarget to let KubeVirt stop it"
                    % (namespace, target, status_of(vm).get("printableStatus") or "has an instance"), "TargetRunning")
    if running and policy == "WaitEventually" and not params["stop_target"]:
        module.warn("VirtualMachine %s/%s is running: the restore waits (WaitEventually) until it is stopped"
                    % (namespace, target))
    body = build_restore(params, target)
    stopped = False
    if running and params["stop_target"]:
        _stop(module, target)
        stopped = True
    created = module.client.create(VMRESTORE, body, namespace)
    started = False
    if params["wait"] and not module.check_mode:
        created = _wait_complete(module, created)
        if running and params["start_after"]:
            _start(module, target)
            started = True
    elif running and params["start_after"] and module.check_mode:
        started = True
    vm_after = module.client.get(VIRTUAL_MACHINE, target, namespace) if not module.check_mode else vm
    result = _result(True, created, vm_after, target, stopped, started)
    before = {"restore": None, "vm": {"name": target, "running": running, "volumes": vm_volumes(vm)}}
    after = {"restore": body, "vm": {"name": target, "running": running and (started or not stopped),
                                     "volumes": result["volumes"]}}
    return module.add_diff(result, before, after)
