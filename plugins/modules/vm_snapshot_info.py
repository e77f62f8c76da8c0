#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_snapshot_info
short_description: List KubeVirt VM snapshots with their consistency, volumes and readiness
version_added: 0.1.0
description:
  - Read C(VirtualMachineSnapshot) objects (C(snapshot.kubevirt.io/v1beta1)) by name, by VM, by
    label selector, in one or more namespaces or across the cluster, each summarised with its
    phase, readiness, indications and consistency, and the disks of its
    C(VirtualMachineSnapshotContent) with the readiness of their CSI C(VolumeSnapshot).
  - Per namespace read (or once cluster-wide), one paginated list of snapshots and, when any are
    found, one list of contents and one of VolumeSnapshots, whatever the number of snapshots. A
    O(name) in given namespaces is read with one GET per namespace instead.
author:
  - virt.kubevirt maintainers (@virt-kubevirt)
extends_documentation_fragment:
  - virt.kubevirt.auth
  - virt.kubevirt.attributes
  - virt.kubevirt.attributes.action_group
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: N/A
    details: The module only reads.
options:
  name:
    description:
      - Name of the snapshot. Without O(namespace) or O(namespaces), snapshots of that name in every namespace are returned.
    type: str
  namespace:
    description:
      - Namespace to read. Omit it (and O(namespaces)) to read all namespaces; an empty string fails.
    type: str
  namespaces:
    description: Several namespaces to read.
    type: list
    elements: str
  vm:
    description: Only snapshots of this VirtualMachine (C(spec.source.name)).
    type: str
  label_selectors:
    description:
      - Label selectors the snapshots must match, for example V(virt.kubevirt.io/managed-by-retention=db-1)
        for the snapshots M(virt.kubevirt.vm_snapshot) keeps for VM C(db-1).
    type: list
    elements: str
    default: []
  ready:
    description: Only snapshots that are C(readyToUse) (V(true)) or not (V(false)).
    type: bool
seealso:
  - module: virt.kubevirt.vm_snapshot
"""

EXAMPLES = r"""
- name: Snapshots of a VM
  virt.kubevirt.vm_snapshot_info:
    namespace: vms
    vm: db-1
  register: snaps

- name: Newest ready one
  ansible.builtin.debug:
    msg: "{{ (snaps.snapshots | selectattr('ready') | list | last).name }}"

- name: Every snapshot in the cluster that is not ready
  virt.kubevirt.vm_snapshot_info:
    ready: false

- name: The snapshots a retention policy keeps
  virt.kubevirt.vm_snapshot_info:
    namespace: vms
    label_selectors:
      - virt.kubevirt.io/managed-by-retention=db-1
"""

RETURN = r"""
snapshots:
  description: The matched snapshots, by namespace and then oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Name of the snapshot., type: str}
    namespace: {description: Its namespace., type: str}
    vm: {description: The source VirtualMachine., type: str}
    phase: {description: "V(InProgress), V(Succeeded) or V(Failed).", type: str}
    ready: {description: Whether it is C(readyToUse)., type: bool}
    creation_time: {description: When its content was cut., type: str}
    indications:
      description: KubeVirt's indications (V(Online), V(GuestAgent), V(NoGuestAgent), V(QuiesceFailed), V(PartialSnapshot)...).
      type: list
      elements: str
    consistency:
      description: V(offline), V(application-consistent), V(crash-consistent) or V(unknown), from the indications.
      type: str
    content_name: {description: Its VirtualMachineSnapshotContent., type: str}
    content_ready: {description: Whether the content is C(readyToUse)., type: bool}
    included_volumes: {description: Volumes in the snapshot., type: list, elements: str}
    excluded_volumes: {description: Volumes left out., type: list, elements: str}
    volumes:
      description: One entry per disk of the content (name, claim, volume_snapshot, ready, restore_size, creation_time, error).
      type: list
      elements: dict
    error: {description: KubeVirt's error message; null when none., type: str}
    labels: {description: The snapshot's labels., type: dict}
    snapshot: {description: The VirtualMachineSnapshot as read., type: dict}
  sample:
    - name: db-1-20261203-020000
      namespace: vms
      vm: db-1
      phase: Succeeded
      ready: true
      creation_time: "2026-12-03T02:00:04Z"
      indications: [GuestAgent, Online]
      consistency: application-consistent
      content_name: vmsnapshot-content-1b2c3d4e-0000-4000-8000-000000000000
      content_ready: true
      included_volumes: [rootdisk]
      excluded_volumes: [cloudinitdisk]
      volumes:
        - {name: rootdisk, claim: db-1-root, volume_snapshot: vmsnapshot-1b2c3d4e-volume-rootdisk, ready: true,
           restore_size: 30Gi, creation_time: "2026-12-03T02:00:03Z", error: null}
      error: null
      labels: {virt.kubevirt.io/managed-by-retention: db-1}
      snapshot: {}
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule
from ansible_collections.virt.kubevirt.plugins.module_utils._snapshot_info import read_snapshots, validate_snapshot_info_params

ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str"},
    "namespace": {"type": "str"},
    "namespaces": {"type": "list", "elements": "str"},
    "vm": {"type": "str"},
    "label_selectors": {"type": "list", "elements": "str", "default": []},
    "ready": {"type": "bool"},
}


def run(module: KubevirtModule) -> Dict[str, Any]:
    validate_snapshot_info_params(module.params)  # before any request
    return {"changed": False, "snapshots": read_snapshots(module)}


def main() -> None:
    KubevirtModule(ARGUMENT_SPEC, wait=False, mutually_exclusive=[["namespace", "namespaces"]]).execute(run)


if __name__ == "__main__":
    main()
