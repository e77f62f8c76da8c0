#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_snapshot
short_description: Snapshot a KubeVirt VM, keep the newest N, or delete a snapshot
version_added: 0.1.0
description:
  - Creates a C(VirtualMachineSnapshot) (C(snapshot.kubevirt.io/v1beta1)) of a VM and by default
    waits until KubeVirt reports it C(readyToUse), showing its phase live. KubeVirt cuts one CSI
    C(VolumeSnapshot) per PVC or DataVolume disk; the result lists them with their readiness.
  - A running VM is snapshotted online. With the QEMU guest agent connected KubeVirt freezes the
    guest's file systems first (indication C(GuestAgent)); without it the snapshot is only
    crash-consistent (C(NoGuestAgent)), as it is when the freeze fails (C(QuiesceFailed)). The
    result's RV(consistency) says which in plain words.
  - Idempotent by name. A snapshot's spec cannot change, so one that exists under O(name) for the
    same VM is the answer (changed V(false)); one of another VM fails the task.
  - Before any write the VM's C(status.volumeSnapshotStatuses) are read. KubeVirt leaves out of a
    snapshot every disk whose StorageClass has no C(VolumeSnapshotClass); such disks fail the task,
    naming them and KubeVirt's reason, unless O(allow_partial).
  - With O(keep), the snapshot is labelled C(virt.kubevirt.io/managed-by-retention=<vm>) and the
    module deletes the oldest snapshots of the VM carrying that label beyond the newest O(keep).
    Snapshots without the label (made by hand, by other tools, or by this module without O(keep))
    are never deleted. Without O(name) each run creates a new snapshot named C(<vm>-YYYYMMDD-HHMMSS) (UTC).
  - V(state=absent) deletes the snapshot; KubeVirt deletes its content and VolumeSnapshots unless
    its C(deletionPolicy) is V(Retain).
author:
  - virt.kubevirt maintainers (@virt-kubevirt)
extends_documentation_fragment:
  - virt.kubevirt.auth
  - virt.kubevirt.wait
  - virt.kubevirt.attributes
  - virt.kubevirt.attributes.action_group
attributes:
  check_mode:
    support: full
    details: The snapshot is created (and old ones are deleted) as server dry runs; nothing is cut.
  diff_mode:
    support: full
options:
  name:
    description:
      - Name of the VirtualMachineSnapshot. Required unless O(keep) is set, then it defaults to
        C(<vm>-YYYYMMDD-HHMMSS) (UTC, a new snapshot at every run).
    type: str
  namespace:
    description: Namespace of the VM and its snapshots.
    type: str
    required: true
  vm:
    description: Name of the VirtualMachine to snapshot. Required with V(state=present).
    type: str
  state:
    description:
      - V(present) creates the snapshot unless it exists; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  labels:
    description: Labels of the snapshot.
    type: dict
  failure_deadline:
    description:
      - How long KubeVirt may take before it marks the snapshot V(Failed) (C(spec.failureDeadline)),
        a duration such as V(5m) or V(1h30m); V(0s) means no deadline. KubeVirt's default is V(5m).
    type: str
  deletion_policy:
    description:
      - What happens to the snapshot's content (and its VolumeSnapshots) when the snapshot is
        deleted (C(spec.deletionPolicy)); KubeVirt's default is V(Delete).
    type: str
    choices: [Delete, Retain]
  keep:
    description:
      - Keep the newest O(keep) snapshots of the VM that this module made with O(keep), the new one
        included, and delete the older ones. Snapshots without the retention label are never touched.
      - With O(wait=false) the older snapshots are deleted before the new one is ready.
    type: int
  allow_partial:
    description:
      - Snapshot a VM even though some of its disks cannot be snapshotted (no VolumeSnapshotClass
        for their StorageClass); those disks are left out, with a warning.
    type: bool
    default: false
  wait:
    description:
      - Wait until the snapshot is C(readyToUse) (with V(state=absent), until it is gone). A
        V(Failed) snapshot fails the task with KubeVirt's error and reasons.
    default: true
seealso:
  - module: virt.kubevirt.vm_snapshot_info
"""

EXAMPLES = r"""
- name: Snapshot a VM before patching it
  virt.kubevirt.vm_snapshot:
    name: web-1-before-patch
    namespace: vms
    vm: web-1
  register: snap

- name: Tell whether the guest was quiesced
  ansible.builtin.debug:
    msg: "{{ snap.consistency }} ({{ snap.indications | join(', ') }})"

- name: Nightly snapshot, keeping the newest seven
  virt.kubevirt.vm_snapshot:
    namespace: vms
    vm: db-1
    keep: 7
    failure_deadline: 10m

- name: Snapshot the disks that can be, leaving out the others
  virt.kubevirt.vm_snapshot:
    name: mixed-1
    namespace: vms
    vm: mixed
    allow_partial: true

- name: Delete a snapshot
  virt.kubevirt.vm_snapshot:
    name: web-1-before-patch
    namespace: vms
    state: absent
"""

RETURN = r"""
progress:
  description:
    - The snapshot's phase and C(Progressing) reason observed while the task waited, oldest first;
      the first and the newest 99 are kept. When the task runs in the controller's worker they are
      also shown in the play output while it waits.
  returned: when the task waited
  type: list
  elements: dict
  contains:
    time:
      description: When the state was observed (UTC, ISO 8601).
      type: str
    elapsed:
      description: Seconds since the task started.
      type: float
    subject:
      description: The object, as C(Kind namespace/name).
      type: str
    state:
      description: The phase, with the C(Progressing) reason or C(readyToUse).
      type: str
  sample:
    - {time: "2026-12-03T10:02:11Z", elapsed: 0.2, subject: VirtualMachineSnapshot vms/web-1-before-patch,
       state: "InProgress: Source locked and operation in progress"}
    - {time: "2026-12-03T10:02:14Z", elapsed: 3.1, subject: VirtualMachineSnapshot vms/web-1-before-patch,
       state: "Succeeded, readyToUse"}
snapshot:
  description: The VirtualMachineSnapshot as returned by the API server (in check mode, the dry-run result); empty when there is none.
  returned: always
  type: dict
  sample:
    apiVersion: snapshot.kubevirt.io/v1beta1
    kind: VirtualMachineSnapshot
    metadata: {name: web-1-before-patch, namespace: vms}
    spec:
      source: {apiGroup: kubevirt.io, kind: VirtualMachine, name: web-1}
    status: {phase: Succeeded, readyToUse: true, indications: [GuestAgent, Online]}
method:
  description: V(create), V(delete) or V(none).
  returned: always
  type: str
  sample: create
phase:
  description: The snapshot's C(status.phase) (V(InProgress), V(Succeeded), V(Failed)); null when it has none.
  returned: always
  type: str
  sample: Succeeded
ready:
  description: Whether the snapshot is C(readyToUse).
  returned: always
  type: bool
  sample: true
indications:
  description: KubeVirt's C(status.indications) (V(Online), V(GuestAgent), V(NoGuestAgent), V(QuiesceFailed), V(Paused), V(PartialSnapshot)...).
  returned: always
  type: list
  elements: str
  sample: [GuestAgent, Online]
consistency:
  description:
    - V(offline) (the VM was stopped), V(application-consistent) (the guest agent froze the file
      systems), V(crash-consistent) (running, without a successful freeze) or V(unknown) (not finished).
  returned: always
  type: str
  sample: application-consistent
content_name:
  description: Name of the C(VirtualMachineSnapshotContent); null until KubeVirt created it.
  returned: always
  type: str
  sample: vmsnapshot-content-1b2c3d4e-0000-4000-8000-000000000000
volumes:
  description: One entry per disk in the snapshot's content, with its VolumeSnapshot's readiness.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: The VM's volume name., type: str}
    claim: {description: The PVC that was snapshotted., type: str}
    volume_snapshot: {description: Name of the CSI VolumeSnapshot., type: str}
    ready: {description: Whether the VolumeSnapshot is C(readyToUse)., type: bool}
    restore_size: {description: Size a restore needs (C(status.restoreSize))., type: str}
    creation_time: {description: When the storage cut it., type: str}
    error: {description: The VolumeSnapshot's error message; null when none., type: str}
  sample:
    - {name: rootdisk, claim: web-1-root, volume_snapshot: vmsnapshot-1b2c3d4e-volume-rootdisk, ready: true,
       restore_size: 30Gi, creation_time: "2026-12-03T10:02:13Z", error: null}
excluded_volumes:
  description: Volumes of the VM the snapshot left out (C(status.snapshotVolumes.excludedVolumes)), such as cloud-init disks.
  returned: always
  type: list
  elements: str
  sample: [cloudinitdisk]
deleted:
  description: Snapshots deleted by the retention policy (O(keep)), oldest last.
  returned: always
  type: list
  elements: str
  sample: [db-1-20261126-020000]
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule
from ansible_collections.virt.kubevirt.plugins.module_utils._snapshot_flow import absent, present
from ansible_collections.virt.kubevirt.plugins.module_utils._snapshot_spec import SNAPSHOT_ARGUMENT_SPEC, validate_snapshot_params


def run(module: KubevirtModule) -> Dict[str, Any]:
    validate_snapshot_params(module.params)  # every option checked before any request
    return present(module) if module.params["state"] == "present" else absent(module)


def main() -> None:
    KubevirtModule(SNAPSHOT_ARGUMENT_SPEC).execute(run)


if __name__ == "__main__":
    main()
