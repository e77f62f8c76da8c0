# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What virt.kubevirt.vm_clone does: check source and target, create the VirtualMachineClone, wait."""

from __future__ import annotations

from typing import Any, Dict, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._clone_spec import build_clone, spec_differences
from ansible_collections.virt.kubevirt.plugins.module_utils._clone_status import (
    clone_final,
    clone_succeeded,
    clone_summary,
    phase_of,
    progress_state,
    ready_reason,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._events import describe_events, recent_events
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    VIRTUAL_MACHINE,
    VIRTUAL_MACHINE_CLONE as VMCLONE,
    VIRTUAL_MACHINE_RESTORE,
    VIRTUAL_MACHINE_SNAPSHOT,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._restore_flow import EXISTING_TARGET
from ansible_collections.virt.kubevirt.plugins.module_utils._restore_status import vm_volumes

SOURCES = {"VirtualMachine": VIRTUAL_MACHINE, "VirtualMachineSnapshot": VIRTUAL_MACHINE_SNAPSHOT}


def _fail(message: str, reason: str = "InvalidArgument", **details: Any) -> KubeApiError:
    return KubeApiError(message, reason=reason, details=details or None)


def _events(module: KubevirtModule, clone: Optional[Dict[str, Any]]) -> list:
    """The clone's events, and those of its temporary restore (where a refused target shows)."""
    namespace = module.params["namespace"]
    events = recent_events(module.client, namespace, module.params["name"], kinds=(VMCLONE.kind,))
    restore = clone_summary(clone)["restore_name"]
    if restore:
        events += recent_events(module.client, namespace, restore, kinds=(VIRTUAL_MACHINE_RESTORE.kind,))
    return events


def _wait_succeeded(module: KubevirtModule, clone: Dict[str, Any]) -> Dict[str, Any]:
    params = module.params
    try:
        final = module.waiter().wait(VMCLONE, params["name"], params["namespace"], clone_final, params["wait_timeout"],
                                     "Succeeded", event_kinds=(VMCLONE.kind,), initial=clone, deleted_is_final=True,
                                     summary=progress_state)
    except KubeApiError as err:
        if err.reason != "Timeout":
            raise
        live = module.client.get(VMCLONE, params["name"], params["namespace"])
        raise _fail("%s Clone phase %s (%s). Recent events: %s" % (err.message, phase_of(live) or "Pending",
                                                                   ready_reason(live) or "no reason",
                                                                   describe_events(_events(module, live))),
                    "Timeout", clone=live)
    if final is not None and clone_succeeded(final):
        return final
    raise _failure(module, final)


def _failure(module: KubevirtModule, clone: Optional[Dict[str, Any]]) -> KubeApiError:
    where = "%s/%s" % (module.params["namespace"], module.params["name"])
    state = "was deleted" if clone is None else "failed: %s" % (ready_reason(clone) or "no reason given")
    events = _events(module, clone)
    return _fail("VirtualMachineClone %s %s. Recent events: %s" % (where, state, describe_events(events)),
                 "CloneFailed", clone=clone, events=events)


def _result(module: KubevirtModule, changed: bool, clone: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    target = None
    if clone is not None and clone_succeeded(clone) and not module.check_mode:
        target = module.client.get(VIRTUAL_MACHINE, module.params["target"], module.params["namespace"])
    return {"changed": changed, "clone": clone or {}, "status": clone_summary(clone),
            "target_vm": module.params["target"], "volumes": vm_volumes(target)}


def run_clone(module: KubevirtModule) -> Dict[str, Any]:
    params = module.params
    namespace, source = params["namespace"], params["source"]
    body = build_clone(params)
    live = module.client.get(VMCLONE, params["name"], namespace)
    if live is not None:  # a clone runs once: report or follow it
        differs = spec_differences(live, body)
        if differs:
            raise _fail("name: VirtualMachineClone %s/%s exists with another %s; choose another name"
                        % (namespace, params["name"], " and ".join(differs)), "AlreadyExists")
        if phase_of(live) == "Failed":
            raise _failure(module, live)
        if not clone_final(live) and params["wait"] and not module.check_mode:
            live = _wait_succeeded(module, live)
        return _result(module, False, live)
    found = module.client.get(SOURCES[source["kind"]], source["name"], namespace)
    if found is None:
        raise _fail("source: %s %s/%s not found" % (source["kind"], namespace, source["name"]), "NotFound")
    if module.client.get(VIRTUAL_MACHINE, params["target"], namespace) is not None:
        raise _fail("target: VirtualMachine %s/%s already exists; a clone never overwrites a VM (KubeVirt's restore "
                    "would stop with: %s). Choose another target name" % (namespace, params["target"], EXISTING_TARGET),
                    "AlreadyExists")
    created = module.client.create(VMCLONE, body, namespace)
    if params["wait"] and not module.check_mode:
        created = _wait_succeeded(module, created)
    result = _result(module, True, created)
    return module.add_diff(result, {"clone": None, "target_vm": None},
                           {"clone": body, "target_vm": params["target"]})
