# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vm_disk's body: compare, write (a guarded VM patch or an add/removevolume call), wait.

Reads come first and decide everything: an attached disk (or an absent one) costs a GET of
the VM and one of its VMI and sends nothing else. The claim is looked up only when a write is
due, so a missing DataVolume or PVC fails before the write, not as a Pending volume later.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._api import ResourceClient, object_label
from ansible_collections.virt.kubevirt.plugins.module_utils._disk_hotplug import (
    add_volume_options,
    attached,
    detachable,
    hotplug_disk,
    hotplug_volume,
    missing_source,
    pending_request,
    remove_volume_options,
    source_of,
    storage_view,
    template_patch,
    template_spec,
    with_disk,
    without_disk,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._disk_status import (
    READY,
    describe_volume,
    in_vmi_spec,
    summary,
    volume_gone,
    volume_ready,
    volume_status,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    VIRTUAL_MACHINE,
    VIRTUAL_MACHINE_INSTANCE,
    VIRTUAL_MACHINE_INSTANCE_SUBRESOURCES,
    VIRTUAL_MACHINE_SUBRESOURCES,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._retry import retry_on_conflict

FINAL_PHASES = ("Succeeded", "Failed")
DECLARATIVE_HINT = ("a declarative hot-plug reaches a running VM only with KubeVirt's DeclarativeHotplugVolumes "
                    "feature gate; on a cluster with HotplugVolumes use method: subresource")


def _check_source(client: ResourceClient, params: Mapping[str, Any]) -> None:
    ref, name, option = source_of(params)
    if client.get(ref, name, params["namespace"]) is None:
        raise missing_source(ref, name, params["namespace"], option)


def _live_vmi(vmi: Optional[Dict[str, Any]]) -> bool:
    """A VMI a volume can be plugged into or out of (possibly still starting)."""
    return vmi is not None and ((vmi.get("status") or {}).get("phase") not in FINAL_PHASES) and \
        not (vmi.get("metadata") or {}).get("deletionTimestamp")


def _patch_template(client: ResourceClient, params: Mapping[str, Any], vm: Dict[str, Any]) -> Dict[str, Any]:
    """Write the template's volumes/disks; a 409 (someone wrote in between) re-reads and rebuilds."""
    name, namespace, present = params["vm_name"], params["namespace"], params["state"] == "present"
    first = [vm]

    def attempt() -> Dict[str, Any]:
        current = first.pop() if first else client.get(VIRTUAL_MACHINE, name, namespace)
        if current is None:
            raise KubeApiError("%s was deleted meanwhile" % object_label(VIRTUAL_MACHINE, name, namespace),
                               status=404, reason="NotFound")
        spec = template_spec(current)
        label = object_label(VIRTUAL_MACHINE, name, namespace)
        if present:
            if attached(spec, params, label):
                return current
            view = with_disk(spec, params)
        else:
            if not detachable(spec, params["name"], label):
                return current
            view = without_disk(spec, params["name"])
        return client.patch(VIRTUAL_MACHINE, name, template_patch(current, view), namespace)

    return retry_on_conflict(attempt)


def _wait(module: KubevirtModule, vmi: Optional[Dict[str, Any]], changed: bool, declarative: bool,
          fresh: bool) -> Optional[Dict[str, Any]]:
    """The VMI once the volume is Ready (present) or gone (absent); ``vmi`` as read when there is
    nothing to wait for. ``fresh``: nothing was written since ``vmi`` was read, so the wait starts from it."""
    params = module.params
    if not params["wait"] or not _live_vmi(vmi) or (changed and module.check_mode):
        return vmi
    name, present = params["name"], params["state"] == "present"
    predicate = volume_ready(name) if present else volume_gone(name)
    description = ("showing volume %s Ready in status.volumeStatus" if present else
                   "without volume %s in its spec and status.volumeStatus") % name
    try:
        return module.waiter().wait(
            VIRTUAL_MACHINE_INSTANCE, params["vm_name"], params["namespace"], predicate, params["wait_timeout"],
            description, event_kinds=(VIRTUAL_MACHINE_INSTANCE.kind, VIRTUAL_MACHINE.kind),
            initial=vmi if fresh or not changed else False, deleted_is_final=present,
            summary=lambda observed: describe_volume(observed, name),  # progress shows the volume, not the VMI
        )
    except KubeApiError as err:
        if err.reason != "Timeout":
            raise
        last = err.details.get("last_state")
        hint = DECLARATIVE_HINT if declarative and present and not in_vmi_spec(last, name) else ""
        message = "%s. Now: %s%s" % (err.message.rstrip("."), describe_volume(last, name), "; " + hint if hint else "")
        raise KubeApiError(message, reason="Timeout", details=err.details)


def _result(module: KubevirtModule, changed: bool, before: Mapping[str, Any], after: Mapping[str, Any],
            vmi: Optional[Dict[str, Any]], spec_only: Optional[str]) -> Dict[str, Any]:
    params = module.params
    entry = summary(volume_status(vmi, params["name"]))
    ready = entry is not None and entry.get("phase") == READY
    result: Dict[str, Any] = {
        "changed": changed,
        "running": _live_vmi(vmi),
        "volume_status": entry,
        "target": (entry or {}).get("target") or None if ready else None,
    }
    if params["state"] == "present":
        result["volume"] = hotplug_volume(params)
        result["disk"] = hotplug_disk(params)
    if spec_only and changed:
        result["msg"] = spec_only
    return module.add_diff(result, dict(before), dict(after))


def attach_to_vm(module: KubevirtModule) -> Dict[str, Any]:
    """Through the VM: its template (declarative), or its add/removevolume subresource (persist)."""
    params = module.params
    client = module.client
    name, namespace, volume = params["vm_name"], params["namespace"], params["name"]
    present, declarative = params["state"] == "present", params["method"] == "declarative"
    label = object_label(VIRTUAL_MACHINE, name, namespace)
    vm = client.get(VIRTUAL_MACHINE, name, namespace)
    if vm is None:
        raise KubeApiError("vm_name: %s does not exist (for a VMI without a VM use method: subresource with "
                           "persist: false)" % label, reason="NotFound")
    vmi = client.get(VIRTUAL_MACHINE_INSTANCE, name, namespace)
    spec = template_spec(vm)
    pending = pending_request(vm, volume)
    ephemeral = False
    if present:
        needed = not attached(spec, params, label) and pending != "add"
    else:
        needed = detachable(spec, volume, label) and pending != "remove"
        if not needed and not declarative and _live_vmi(vmi):
            # Plugged earlier with persist: false, so only in the VMI: the VM's removevolume
            # would answer "does not exist", the VMI's unplugs it.
            ephemeral = detachable((vmi or {}).get("spec") or {}, volume,
                                   object_label(VIRTUAL_MACHINE_INSTANCE, name, namespace))
            needed = ephemeral
    before = storage_view(spec)
    after = before
    if needed:
        if present:
            _check_source(client, params)
        if declarative:
            after = storage_view(template_spec(_patch_template(client, params, vm)))
        elif ephemeral:
            client.subresource(VIRTUAL_MACHINE_INSTANCE_SUBRESOURCES, name, "removevolume", namespace,
                               remove_volume_options(volume))
        else:
            call = "addvolume" if present else "removevolume"
            body = add_volume_options(params) if present else remove_volume_options(volume)
            client.subresource(VIRTUAL_MACHINE_SUBRESOURCES, name, call, namespace, body)
            after = with_disk(spec, params) if present else without_disk(spec, volume)
    spec_only = None
    if not _live_vmi(vmi):
        spec_only = "%s is not running; the disk is %s its spec%s" % (
            label, "in" if present else "removed from", " and is attached when it starts" if present else "")
    vmi = _wait(module, vmi, needed, declarative, fresh=not needed)
    return _result(module, needed, before, after, vmi, spec_only)


def attach_to_vmi(module: KubevirtModule) -> Dict[str, Any]:
    """Through the VMI's add/removevolume subresource only (persist: false): gone on restart."""
    params = module.params
    client = module.client
    name, namespace, volume = params["vm_name"], params["namespace"], params["name"]
    present = params["state"] == "present"
    label = object_label(VIRTUAL_MACHINE_INSTANCE, name, namespace)
    vmi = client.get(VIRTUAL_MACHINE_INSTANCE, name, namespace)
    spec = dict((vmi or {}).get("spec") or {})
    if present:
        needed = vmi is None or not attached(spec, params, label)
    else:
        needed = vmi is not None and detachable(spec, volume, label)
    before = storage_view(spec)
    after = before
    if needed:
        if present:
            _check_source(client, params)
        # No VMI (a stopped VM): the call is still sent, so KubeVirt says why it refuses.
        call, body = _vmi_call(params)
        client.subresource(VIRTUAL_MACHINE_INSTANCE_SUBRESOURCES, name, call, namespace, body)
        after = with_disk(spec, params) if present else without_disk(spec, volume)
    vmi = _wait(module, vmi, needed, False, fresh=False)
    return _result(module, needed, before, after, vmi, None)


def _vmi_call(params: Mapping[str, Any]) -> Tuple[str, Dict[str, Any]]:
    if params["state"] == "present":
        return "addvolume", add_volume_options(params)
    return "removevolume", remove_volume_options(params["name"])
