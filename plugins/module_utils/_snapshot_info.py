# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.vm_snapshot_info: VirtualMachineSnapshots with their content and VolumeSnapshots.

Per scope (a namespace, or the cluster), one list of snapshots, and, only when some were found,
one list of contents and one of the VolumeSnapshots KubeVirt labels with their source VM: the
cost never grows with the number of snapshots.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._listing import read_objects, read_scopes
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    VIRTUAL_MACHINE_SNAPSHOT,
    VIRTUAL_MACHINE_SNAPSHOT_CONTENT,
    VOLUME_SNAPSHOT,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._snapshot_flow import SOURCE_VM_LABEL, optional_list
from ansible_collections.virt.kubevirt.plugins.module_utils._snapshot_spec import source_vm
from ansible_collections.virt.kubevirt.plugins.module_utils._snapshot_status import snapshot_summary
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import check_read_scope, check_resource_name, check_text
from ansible_collections.virt.kubevirt.plugins.module_utils._validate_selector import check_label_selector

Key = Tuple[Optional[str], str]


def validate_snapshot_info_params(params: Mapping[str, Any]) -> None:
    check_read_scope(params)
    if params.get("vm") is not None:
        check_resource_name("vm", params["vm"])
    for index, selector in enumerate(params.get("label_selectors") or []):
        check_label_selector("label_selectors[%d]" % index, check_text("label_selectors[%d]" % index, selector))


def _index(items: List[Dict[str, Any]]) -> Dict[Key, Dict[str, Any]]:
    return {((i.get("metadata") or {}).get("namespace"), i["metadata"]["name"]): i for i in items}


def read_snapshots(module: Any) -> List[Dict[str, Any]]:
    params = module.params
    client = module.client
    scopes = read_scopes(params)
    found = read_objects(client, VIRTUAL_MACHINE_SNAPSHOT, params, scopes)
    if params.get("vm"):
        found = [s for s in found if source_vm(s) == params["vm"]]
    if params.get("ready") is not None:
        found = [s for s in found if ((s.get("status") or {}).get("readyToUse") is True) is params["ready"]]
    if not found:
        return []
    if scopes != [None]:  # only the namespaces that hold a snapshot
        scopes = sorted({s["metadata"].get("namespace") for s in found})
    contents: Dict[Key, Dict[str, Any]] = {}
    volume_snapshots: Dict[Key, Dict[str, Any]] = {}
    selector = "%s=%s" % (SOURCE_VM_LABEL, params["vm"]) if params.get("vm") else SOURCE_VM_LABEL
    for scope in scopes:
        contents.update(_index(client.list(VIRTUAL_MACHINE_SNAPSHOT_CONTENT, namespace=scope)))
        volume_snapshots.update(_index(optional_list(client, VOLUME_SNAPSHOT, scope, selector)))
    out = []
    for snap in sorted(found, key=lambda s: (s["metadata"].get("namespace") or "",
                                             s["metadata"].get("creationTimestamp") or "", s["metadata"]["name"])):
        namespace = snap["metadata"].get("namespace")
        content = contents.get((namespace, (snap.get("status") or {}).get("virtualMachineSnapshotContentName") or ""))
        by_name = {name: vs for (ns, name), vs in volume_snapshots.items() if ns == namespace}
        out.append(dict(snapshot_summary(snap, content, by_name), snapshot=snap))
    return out
