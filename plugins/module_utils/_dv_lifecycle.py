# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.datavolume: create (server-side apply), label, grow, wait for and delete a DataVolume.

An existing DataVolume's spec is never sent back changed: CDI's webhook refuses any spec update,
so a changed field fails before any write naming the option (_dv_spec.check_unchanged). Only
metadata is applied to it, and a larger size grows the claim itself where the StorageClass
allows expansion, as CDI expects users to do.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._apply import ensure_applied
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_spec import SIZE_PATH, build_dv, build_metadata, check_unchanged, get_path
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_status import (
    claim_capacity_at_least,
    claim_name,
    claim_summary,
    dv_failure,
    dv_target,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_usage import describe_users
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._events import describe_events, recent_events
from ansible_collections.virt.kubevirt.plugins.module_utils._merge import Declared
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import is_gone
from ansible_collections.virt.kubevirt.plugins.module_utils._quantity import quantity_value
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    DATA_VOLUME,
    PERSISTENT_VOLUME_CLAIM,
    STORAGE_CLASS,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import invalid

EVENT_KINDS = (DATA_VOLUME.kind, PERSISTENT_VOLUME_CLAIM.kind)
CLONE_RBAC = (
    "CDI lets a clone read another namespace only when the requesting user may create datavolumes/source "
    "(API group cdi.kubevirt.io) in the source namespace %s; grant it with a Role and RoleBinding there"
)


def _where(params: Dict[str, Any]) -> str:
    return "DataVolume %s/%s" % (params["namespace"], params["name"])


def _check_class(client: Any, params: Dict[str, Any]) -> None:
    """A named StorageClass must exist: CDI would otherwise leave the claim Pending for ever."""
    name = (params.get("storage") or {}).get("class")
    if not name:
        return
    try:
        if client.get(STORAGE_CLASS, name) is not None:
            return
        names = sorted(item["metadata"]["name"] for item in client.list(STORAGE_CLASS))
    except KubeApiError as err:
        if err.status == 403:
            return  # may not read classes: CDI will say so on the DataVolume
        raise
    raise invalid("storage.class", "StorageClass %r does not exist (CDI would leave the claim Pending); the cluster "
                  "has %s" % (name, ", ".join(names) or "none"))


def _clone_source_namespace(params: Dict[str, Any]) -> Optional[str]:
    for option in ("clone_pvc", "snapshot", "source_ref"):
        if params.get(option):
            return params[option].get("namespace") or params["namespace"]
    return None


def _with_clone_hint(err: KubeApiError, params: Dict[str, Any]) -> KubeApiError:
    source_ns = _clone_source_namespace(params)
    denied = err.status == 403 or "insufficient permissions" in (err.message or "")
    if source_ns and source_ns != params["namespace"] and denied:
        err.message = "%s; %s" % (err.message, CLONE_RBAC % source_ns)
    return err


def _grow(module: Any, params: Dict[str, Any], dv: Dict[str, Any], size: str, result: Dict[str, Any]) -> None:
    """Expand the claim to at least ``size`` (the DataVolume itself keeps its creation size)."""
    client = module.client
    name = claim_name(dv)
    pvc = client.get(PERSISTENT_VOLUME_CLAIM, name, params["namespace"])
    if pvc is None:
        raise invalid("storage.size", "%s has no claim yet to grow; run again once CDI created it" % _where(params))
    requested = ((pvc.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage")
    if (quantity_value(requested) or 0) >= (quantity_value(size) or 0):
        return  # already at least that large (grown before, or CDI's file system overhead)
    class_name = (pvc.get("spec") or {}).get("storageClassName")
    created = get_path(dv, SIZE_PATH) or requested
    storage_class = client.get(STORAGE_CLASS, class_name) if class_name else None
    if not (storage_class or {}).get("allowVolumeExpansion"):
        raise invalid("storage.size", "%s has %s and the task asks for %s, but its StorageClass %s does not allow "
                      "volume expansion (allowVolumeExpansion is not true); the spec cannot change either, so the "
                      "volume keeps its size" % (_where(params), created, size, class_name or "(none)"))
    after = client.patch(PERSISTENT_VOLUME_CLAIM, name, {"spec": {"resources": {"requests": {"storage": size}}}},
                         params["namespace"])
    result.update(changed=True, method="expand" if result["method"] == "none" else result["method"], expanded=True)
    module.add_diff(result, pvc, after)
    if params["wait"] and not module.check_mode:
        module.waiter().wait(PERSISTENT_VOLUME_CLAIM, name, params["namespace"], claim_capacity_at_least(size),
                             params["wait_timeout"], "expanded to %s (status.capacity)" % size,
                             event_kinds=EVENT_KINDS, initial=after)


def _wait(module: Any, params: Dict[str, Any], dv: Dict[str, Any], timeout: float) -> Dict[str, Any]:
    predicate, description = dv_target(bool(params.get("upload")))
    dv = module.waiter().wait(DATA_VOLUME, params["name"], params["namespace"], predicate, timeout, description,
                              event_kinds=EVENT_KINDS, initial=dv, deleted_is_final=True)
    failure = dv_failure(dv)
    if failure:
        events = recent_events(module.client, params["namespace"], params["name"], kinds=EVENT_KINDS)
        raise KubeApiError("%s cannot become %s: %s. Recent events: %s" % (
            _where(params), description, failure, describe_events(events)),
            reason="DataVolumeFailed", details={"last_state": dv, "events": events})
    return dv


def present(module: Any) -> Dict[str, Any]:
    params = module.params
    client = module.client
    name, namespace = params["name"], params["namespace"]
    started = time.monotonic()
    live = client.get(DATA_VOLUME, name, namespace)
    grow = check_unchanged(params, live) if live is not None else None  # before any write
    declared = Declared(tuple(("metadata", key) for key in ("labels", "annotations") if params.get(key) is not None))

    def check_class(_live: Any, _body: Any) -> None:
        _check_class(client, params)

    before: Optional[Callable[[Any, Any], None]] = None
    if live is None:
        desired = build_dv(params)
        before = check_class
    else:
        # Metadata only: applying a spec again could only be refused; what we own is carried.
        desired = {"apiVersion": DATA_VOLUME.api_version, "kind": DATA_VOLUME.kind, "metadata": build_metadata(params)}
    try:
        outcome = ensure_applied(client, DATA_VOLUME, desired, namespace,
                                 declared=declared if live is not None else None, before_write=before, live=live)
    except KubeApiError as err:
        raise _with_clone_hint(err, params) from None
    dv = outcome.after or live or {}
    result: Dict[str, Any] = {"changed": outcome.changed, "method": outcome.method, "expanded": False}
    if outcome.changed:
        module.add_diff(result, outcome.before, outcome.after)
    if grow is not None:
        _grow(module, params, dv, grow, result)
    if params["wait"] and not module.check_mode:
        dv = _wait(module, params, dv, max(0.0, params["wait_timeout"] - (time.monotonic() - started)))
    exists = not (module.check_mode and live is None)
    pvc = client.get(PERSISTENT_VOLUME_CLAIM, claim_name(dv), namespace) if exists else None
    result.update(result=dv, pvc=claim_summary(pvc))
    return result


def absent(module: Any) -> Dict[str, Any]:
    params = module.params
    client = module.client
    name, namespace = params["name"], params["namespace"]
    live = client.get(DATA_VOLUME, name, namespace)
    if live is None:
        return {"changed": False, "method": "none", "result": {}}
    claim = claim_name(live)
    result: Dict[str, Any] = {"changed": False, "method": "none", "result": live}
    if not (live.get("metadata") or {}).get("deletionTimestamp"):
        users = describe_users(client, namespace, {name, claim})
        if users and not params["force"]:
            raise invalid("force", "%s (or its claim %s) is used by VirtualMachine %s; deleting it takes the disk away "
                          "from the VM (and a VM's dataVolumeTemplates would re-create it). Remove it from the VM, or "
                          "set force: true" % (_where(params), claim, "; ".join(users)))
        client.delete(DATA_VOLUME, name, namespace)
        result.update(changed=True, method="delete")
        module.add_diff(result, live, None)
    if params["wait"] and not module.check_mode:
        started = time.monotonic()
        module.waiter().wait(DATA_VOLUME, name, namespace, is_gone, params["wait_timeout"], "deleted",
                             event_kinds=EVENT_KINDS, initial=False)
        # The claim goes with it (owner reference, garbage collection): the storage is free then.
        module.waiter().wait(PERSISTENT_VOLUME_CLAIM, claim, namespace, is_gone,
                             max(0.0, params["wait_timeout"] - (time.monotonic() - started)), "deleted",
                             event_kinds=EVENT_KINDS)
    return result
