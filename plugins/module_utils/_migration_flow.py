# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What virt.kubevirt.vm_migration does: check, create (or reuse) a VMIM, wait; or cancel one."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._events import describe_events, recent_events
from ansible_collections.virt.kubevirt.plugins.module_utils._migration_spec import (
    VMI_NAME_LABEL,
    build_migration,
    migration_name,
    node_matches,
    requested_selector,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._migration_status import (
    in_flight,
    migratable_refusal,
    migration_final,
    migration_summary,
    migration_succeeded,
    phase_of,
    progress_state,
    failure_detail,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import is_gone, status_of
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    NODE,
    VIRTUAL_MACHINE,
    VIRTUAL_MACHINE_INSTANCE,
    VIRTUAL_MACHINE_INSTANCE_MIGRATION as VMIM,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import (
    check_dns_label,
    check_labels,
    check_resource_name,
    invalid,
)

EVENT_KINDS = (VMIM.kind, VIRTUAL_MACHINE_INSTANCE.kind)


def validate_migration_params(params: Dict[str, Any]) -> None:
    """Every option checked before any request."""
    check_resource_name("name", params["name"])
    check_dns_label("namespace", params["namespace"])
    if params.get("migration_name") is not None:
        check_resource_name("migration_name", params["migration_name"], max_length=63)
    if params.get("target_node") is not None:
        check_resource_name("target_node", params["target_node"])
    check_labels("added_node_selector", params.get("added_node_selector"))
    if params["state"] == "absent" and (params.get("target_node") or params.get("added_node_selector")):
        raise invalid("target_node", "and added_node_selector only apply to state=present")


def _fail(message: str, reason: str = "InvalidArgument") -> KubeApiError:
    return KubeApiError(message, reason=reason)


def _running_vmi(module: KubevirtModule) -> Dict[str, Any]:
    name, namespace = module.params["name"], module.params["namespace"]
    where = "%s/%s" % (namespace, name)
    vmi = module.client.get(VIRTUAL_MACHINE_INSTANCE, name, namespace)
    if vmi is None:
        vm = module.client.get(VIRTUAL_MACHINE, name, namespace)
        if vm is None:
            raise _fail("name: VirtualMachine %s not found" % where, "NotFound")
        raise _fail("name: VirtualMachine %s is not running (%s): only a running VM can be migrated; start it first"
                    % (where, status_of(vm).get("printableStatus") or "no instance"))
    if phase_of(vmi) != "Running":
        raise _fail("name: VirtualMachineInstance %s is %s, not Running: only a running VM can be migrated"
                    % (where, phase_of(vmi) or "not started"))
    refusal = migratable_refusal(vmi)
    if refusal:
        raise _fail("name: VirtualMachineInstance %s cannot be live-migrated: %s" % (where, refusal), "NotLiveMigratable")
    return vmi


def _migrations(module: KubevirtModule) -> List[Dict[str, Any]]:
    """The VMIMs of this VM (virt-api labels each with its VMI's name): one list request."""
    return module.client.list(VMIM, namespace=module.params["namespace"],
                              label_selector="%s=%s" % (VMI_NAME_LABEL, module.params["name"]))


def _check_target(module: KubevirtModule, selector: Dict[str, str], source: Optional[str]) -> None:
    """An unknown target node, or no other node matching the selector, fails before any write."""
    target = module.params.get("target_node")
    if target:
        node = module.client.get(NODE, target)
        if node is None:
            raise _fail("target_node: node %s does not exist" % target, "NotFound")
        if not node_matches(node, selector):
            raise _fail("target_node: node %s does not carry the labels of added_node_selector %s" % (target, selector))
        return
    if selector:
        nodes = module.client.list(NODE, label_selector=",".join("%s=%s" % kv for kv in sorted(selector.items())))
        if not [n for n in nodes if (n.get("metadata") or {}).get("name") != source]:
            raise _fail("added_node_selector: no node other than the current one (%s) has the labels %s" % (source, selector))


def _result(module: KubevirtModule, changed: bool, method: str, migration: Optional[Dict[str, Any]],
            vmi: Optional[Dict[str, Any]], source: Optional[str]) -> Dict[str, Any]:
    summary = migration_summary(migration, vmi) if migration else None
    # A failed migration moved nothing: no target to report.
    target = summary.get("target_node") if summary and summary.get("phase") != "Failed" else None
    return {
        "changed": changed,
        "method": method,
        "migration": migration or {},
        "source_node": (summary or {}).get("source_node") or source,
        "target_node": target,
        "duration": (summary or {}).get("duration"),
        "migration_state": (summary or {}).get("migration_state"),
        "phase_timestamps": (summary or {}).get("phase_timestamps") or {},
        "node": status_of(vmi).get("nodeName"),
    }


def _wait_final(module: KubevirtModule, migration: Dict[str, Any]) -> Dict[str, Any]:
    """Wait for Succeeded/Failed; a failed (or vanished) migration raises with its reasons and events."""
    namespace, name = module.params["namespace"], migration["metadata"]["name"]
    final = module.waiter().wait(
        VMIM, name, namespace, migration_final, module.params["wait_timeout"], "Succeeded or Failed",
        event_kinds=EVENT_KINDS, initial=migration, deleted_is_final=True, summary=progress_state,
    )
    if final is not None and migration_succeeded(final):
        return final
    vmi = module.client.get(VIRTUAL_MACHINE_INSTANCE, module.params["name"], namespace)
    events = recent_events(module.client, namespace, name, kinds=(VMIM.kind,))
    events += recent_events(module.client, namespace, module.params["name"], kinds=(VIRTUAL_MACHINE_INSTANCE.kind,))
    state = "was deleted" if final is None else "failed"
    message = "VirtualMachineInstanceMigration %s/%s %s: %s. VM %s stays on node %s. Recent events: %s" % (
        namespace, name, state, failure_detail(final, vmi), module.params["name"],
        status_of(vmi).get("nodeName") or "unknown", describe_events(events))
    raise KubeApiError(message, reason="MigrationFailed", details={"migration": final, "events": events})


def present(module: KubevirtModule) -> Dict[str, Any]:
    params = module.params
    vmi = _running_vmi(module)
    source = status_of(vmi).get("nodeName")
    selector = requested_selector(params.get("target_node"), params.get("added_node_selector"))
    name = params.get("migration_name") or migration_name(params["name"], vmi["metadata"].get("uid"), None, selector)
    migrations = _migrations(module)
    flight = in_flight(migrations, params["name"])
    if flight is not None:  # never a second VMIM: follow the one KubeVirt is running
        if params["wait"]:
            flight = _wait_final(module, flight)
            vmi = module.client.get(VIRTUAL_MACHINE_INSTANCE, params["name"], params["namespace"])
        return _result(module, False, "reuse", flight, vmi, source)
    ours = next((m for m in migrations if m["metadata"]["name"] == name), None)
    moved_by_us = ours is not None and migration_succeeded(ours) and \
        (migration_summary(ours, vmi).get("target_node") in (None, source))
    if selector:
        source_node = module.client.get(NODE, source) if source else None
        if node_matches(source_node, selector):  # already where the task wants it: nothing to move
            return _result(module, False, "none", ours, vmi, source)
    elif moved_by_us:
        return _result(module, False, "none", ours, vmi, source)
    _check_target(module, selector, source)
    body = build_migration(name, params["namespace"], params["name"], selector)
    if ours is not None:  # a finished migration of the same name (the VM moved back since): replace it
        module.client.delete(VMIM, name, params["namespace"])
        if not module.check_mode:
            module.waiter().wait(VMIM, name, params["namespace"], is_gone, params["wait_timeout"], "deleted",
                                 event_kinds=EVENT_KINDS)
    created = body if module.check_mode and ours is not None else module.client.create(VMIM, body, params["namespace"])
    if params["wait"] and not module.check_mode:
        created = _wait_final(module, created)
        vmi = module.client.get(VIRTUAL_MACHINE_INSTANCE, params["name"], params["namespace"])
    result = _result(module, True, "create", created, vmi, source)
    before = {"node": source, "migration": None}
    after = {"node": result["target_node"] or params.get("target_node") or selector or "another node", "migration": body}
    return module.add_diff(result, before, after)


def absent(module: KubevirtModule) -> Dict[str, Any]:
    """Cancel the unfinished migration (delete the VMIM: KubeVirt aborts it); none → unchanged."""
    params = module.params
    migrations = _migrations(module)
    if params.get("migration_name"):
        migrations = [m for m in migrations if m["metadata"]["name"] == params["migration_name"]]
    flight = in_flight(migrations, params["name"])
    if flight is None:
        return _result(module, False, "none", None, None, None)
    name = flight["metadata"]["name"]
    module.client.delete(VMIM, name, params["namespace"])
    vmi = None
    if params["wait"] and not module.check_mode:
        module.waiter().wait(VMIM, name, params["namespace"], is_gone, params["wait_timeout"], "aborted and deleted",
                             event_kinds=EVENT_KINDS, initial=flight, summary=progress_state)
        vmi = module.client.get(VIRTUAL_MACHINE_INSTANCE, params["name"], params["namespace"])
    result = _result(module, True, "delete", flight, vmi, None)
    result["target_node"] = None
    return module.add_diff(result, {"migration": flight}, {"migration": None})
