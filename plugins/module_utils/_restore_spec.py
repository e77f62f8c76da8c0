# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""VirtualMachineRestore manifests (snapshot.kubevirt.io/v1beta1) and the checks of vm_restore's options."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._resources import VIRTUAL_MACHINE_RESTORE, ResourceRef
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import (
    check_annotations,
    check_dns_label,
    check_labels,
    check_resource_name,
    invalid,
)

# KubeVirt's TargetReadinessPolicy and VolumeRestorePolicy values (api/snapshot/v1beta1/types.go).
READINESS_POLICIES = ("WaitGracePeriod", "StopTarget", "FailImmediate", "WaitEventually")
VOLUME_POLICIES = ("RandomizeNames", "InPlace", "PrefixTargetName")


def check_json_patches(option: str, patches: Optional[List[Any]]) -> List[str]:
    """Each patch one JSON Patch operation (object with op and path), as KubeVirt applies them in order."""
    out: List[str] = []
    for index, patch in enumerate(patches or []):
        where = "%s[%d]" % (option, index)
        if isinstance(patch, Mapping):
            operation: Any = dict(patch)
        else:
            try:
                operation = json.loads(str(patch))
            except ValueError as exc:
                raise invalid(where, "is not valid JSON (%s)" % exc)
        if not isinstance(operation, dict) or not isinstance(operation.get("path"), str):
            raise invalid(where, "must be one JSON Patch operation with op and path, got %r" % (patch,))
        if operation.get("op") not in ("add", "remove", "replace", "move", "copy", "test"):
            raise invalid(where, "op must be add, remove, replace, move, copy or test, got %r" % operation.get("op"))
        out.append(json.dumps(operation, separators=(",", ":"), sort_keys=True))
    return out


def validate_restore_params(params: Mapping[str, Any]) -> None:
    """Every option checked before any request."""
    check_resource_name("name", params["name"], max_length=63)
    check_dns_label("namespace", params["namespace"])
    check_resource_name("snapshot", params["snapshot"])
    if params.get("target_vm") is not None:
        check_resource_name("target_vm", params["target_vm"], max_length=63)
    for index, override in enumerate(params.get("volume_restore_overrides") or []):
        where = "volume_restore_overrides[%d]" % index
        check_resource_name(where + ".volume_name", override.get("volume_name"))
        if override.get("restore_name") is not None:
            check_resource_name(where + ".restore_name", override["restore_name"])
        check_labels(where + ".labels", override.get("labels"))
        check_annotations(where + ".annotations", override.get("annotations"))
        if not (override.get("restore_name") or override.get("labels") or override.get("annotations")):
            raise invalid(where, "must set at least one of restore_name, labels or annotations")
    check_json_patches("patches", params.get("patches"))
    if params.get("start_after") and not params.get("wait"):
        raise invalid("start_after", "needs wait=true: the VM can only start once the restore is complete")


def build_restore(params: Mapping[str, Any], target: str) -> Dict[str, Any]:
    """The VirtualMachineRestore the task creates; defaults left to KubeVirt are not written."""
    spec: Dict[str, Any] = {
        "target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": target},
        "virtualMachineSnapshotName": params["snapshot"],
    }
    if params.get("target_readiness_policy"):
        spec["targetReadinessPolicy"] = params["target_readiness_policy"]
    if params.get("volume_restore_policy"):
        spec["volumeRestorePolicy"] = params["volume_restore_policy"]
    overrides = []
    for override in params.get("volume_restore_overrides") or []:
        item = {"volumeName": override["volume_name"]}
        for option, field in (("restore_name", "restoreName"), ("labels", "labels"), ("annotations", "annotations")):
            if override.get(option):
                item[field] = override[option]
        overrides.append(item)
    if overrides:
        spec["volumeRestoreOverrides"] = overrides
    return manifest_with_patches(VIRTUAL_MACHINE_RESTORE, params, spec)


def manifest_with_patches(ref: ResourceRef, params: Mapping[str, Any], spec: Dict[str, Any]) -> Dict[str, Any]:
    """The named object with ``spec`` and, when the task gives any, ``spec.patches`` (restores and clones)."""
    patches = check_json_patches("patches", params.get("patches"))
    if patches:
        spec["patches"] = patches
    return {
        "apiVersion": ref.api_version,
        "kind": ref.kind,
        "metadata": {"name": params["name"], "namespace": params["namespace"]},
        "spec": spec,
    }


def spec_differences(live: Mapping[str, Any], wanted: Mapping[str, Any]) -> List[str]:
    """Fields of an existing restore that differ from what the task asks (a restore is immutable)."""
    have, want = live.get("spec") or {}, wanted.get("spec") or {}
    return [key for key in ("virtualMachineSnapshotName", "target") if have.get(key) != want.get(key)]
