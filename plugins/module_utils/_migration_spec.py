# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""VirtualMachineInstanceMigration (kubevirt.io/v1) bodies, their names, and node matching."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Dict, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._resources import VIRTUAL_MACHINE_INSTANCE_MIGRATION

HOSTNAME_LABEL = "kubernetes.io/hostname"
# virt-api labels every VMIM with its VMI's name (MigrationCreateAdmitter's mutator).
VMI_NAME_LABEL = "kubevirt.io/vmi-name"
MAX_NAME = 63


def requested_selector(target_node: Optional[str], added_node_selector: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """The VMIM's ``spec.addedNodeSelector``: the given labels plus the hostname of ``target_node``."""
    selector = {str(k): str(v) for k, v in (added_node_selector or {}).items()}
    if target_node:
        selector[HOSTNAME_LABEL] = target_node
    return selector


def node_matches(node: Optional[Mapping[str, Any]], selector: Mapping[str, str]) -> bool:
    """Whether a Node's labels satisfy every key of ``selector`` (an empty one matches any node)."""
    if node is None:
        return False
    labels = (node.get("metadata") or {}).get("labels") or {}
    return all(labels.get(key) == value for key, value in selector.items())


def migration_name(vm_name: str, vmi_uid: Optional[str], source_node: Optional[str], selector: Mapping[str, str]) -> str:
    """``<vm>-migration-<hash>``: the same VMI, source node and request give the same name, so a
    re-run (or a second task for the same move) finds the migration instead of queueing another."""
    digest = hashlib.sha256(
        json.dumps([vmi_uid or "", source_node or "", sorted(selector.items())]).encode("utf-8")
    ).hexdigest()[:8]
    suffix = "-migration-" + digest
    return vm_name[: MAX_NAME - len(suffix)].rstrip("-.") + suffix


def build_migration(name: str, namespace: str, vmi_name: str, selector: Mapping[str, str]) -> Dict[str, Any]:
    """The VMIM body; ``addedNodeSelector`` only when the task asks for a place."""
    spec: Dict[str, Any] = {"vmiName": vmi_name}
    if selector:
        spec["addedNodeSelector"] = dict(selector)
    return {
        "apiVersion": VIRTUAL_MACHINE_INSTANCE_MIGRATION.api_version,
        "kind": VIRTUAL_MACHINE_INSTANCE_MIGRATION.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
