# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The VirtualMachineSnapshot (snapshot.kubevirt.io/v1beta1) a task asks for: options, checks, body.

A snapshot's spec is immutable (KubeVirt's vmsnapshot-validator), so a snapshot is identified by
its name alone. Snapshots this collection keeps under a retention policy (``keep``) carry the
label RETENTION_LABEL with the VM's name; only those are ever pruned.
"""

from __future__ import annotations

import datetime
from typing import Any, Dict, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._kubevirt_config import duration_seconds
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import VIRTUAL_MACHINE_SNAPSHOT
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import (
    check_dns_label,
    check_int_range,
    check_label_value,
    check_labels,
    check_resource_name,
    invalid,
)

RETENTION_LABEL = "virt.kubevirt.io/managed-by-retention"
SNAPSHOT_ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str"},
    "namespace": {"type": "str", "required": True},
    "vm": {"type": "str"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "labels": {"type": "dict"},
    "failure_deadline": {"type": "str"},
    "deletion_policy": {"type": "str", "choices": ["Delete", "Retain"]},
    "keep": {"type": "int"},
    "allow_partial": {"type": "bool", "default": False},
    "wait": {"type": "bool", "default": True},
}


def validate_snapshot_params(params: Mapping[str, Any]) -> None:
    """Every option checked before any request."""
    check_dns_label("namespace", params["namespace"])
    if params.get("name") is not None:
        check_resource_name("name", params["name"])
    if params.get("vm") is not None:
        check_resource_name("vm", params["vm"])
    check_labels("labels", params.get("labels"))
    if RETENTION_LABEL in (params.get("labels") or {}):
        raise invalid("labels", "%s is set by the module for keep; do not set it yourself" % RETENTION_LABEL)
    deadline = params.get("failure_deadline")
    if deadline is not None and duration_seconds(deadline) is None:
        raise invalid("failure_deadline", "must be a duration such as 5m, 90s or 1h30m (0s: no deadline), got %r" % deadline)
    if params["state"] == "absent":
        if not params.get("name"):
            raise invalid("name", "is required with state=absent")
        if params.get("keep") is not None:
            raise invalid("keep", "only applies to state=present")
        return
    if not params.get("vm"):
        raise invalid("vm", "is required with state=present: name the VirtualMachine to snapshot")
    if params.get("keep") is not None:
        check_int_range("keep", params["keep"], 1)
        check_label_value("vm (the %s label value keep sets)" % RETENTION_LABEL, params["vm"])
    elif not params.get("name"):
        raise invalid("name", "is required unless keep is set (then the module names each snapshot <vm>-<UTC time>)")


def generated_name(vm: str, now: Optional[datetime.datetime] = None) -> str:
    """``<vm>-YYYYMMDD-HHMMSS`` (UTC), at most 253 characters."""
    stamp = (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y%m%d-%H%M%S")
    return "%s-%s" % (vm[:253 - len(stamp) - 1], stamp)


def build_snapshot(name: str, params: Mapping[str, Any]) -> Dict[str, Any]:
    labels = dict(params.get("labels") or {})
    if params.get("keep") is not None:
        labels[RETENTION_LABEL] = params["vm"]
    metadata: Dict[str, Any] = {"name": name, "namespace": params["namespace"]}
    if labels:
        metadata["labels"] = labels
    spec: Dict[str, Any] = {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": params["vm"]}}
    if params.get("failure_deadline") is not None:
        spec["failureDeadline"] = params["failure_deadline"]
    if params.get("deletion_policy"):
        spec["deletionPolicy"] = params["deletion_policy"]
    return {"apiVersion": VIRTUAL_MACHINE_SNAPSHOT.api_version, "kind": VIRTUAL_MACHINE_SNAPSHOT.kind,
            "metadata": metadata, "spec": spec}


def source_vm(snapshot: Optional[Mapping[str, Any]]) -> str:
    return (((snapshot or {}).get("spec") or {}).get("source") or {}).get("name") or ""
