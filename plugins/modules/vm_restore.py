#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_restore
short_description: Restore a KubeVirt VM from a VirtualMachineSnapshot, in place or to a new VM
version_added: 0.1.0
description:
  - Creates a C(VirtualMachineRestore) (C(snapshot.kubevirt.io/v1beta1)) that brings a VM back to the
    state of a C(VirtualMachineSnapshot). KubeVirt creates new claims from the snapshot's
    VolumeSnapshots (named by O(volume_restore_policy)), points the VM at them and deletes the
    DataVolumes the VM no longer uses.
  - The target is the snapshot's own VM by default (in place), or a new VM named by O(target_vm).
    Restoring onto another VM that exists is refused before any write, with KubeVirt's reason.
  - KubeVirt only restores a stopped VM. A running target fails the task before any write unless
    O(stop_target=true) (the task stops the VM and waits until it is down) or
    O(target_readiness_policy) lets KubeVirt deal with it (V(StopTarget), V(WaitEventually)).
    O(start_after=true) starts the VM again once the restore is complete if it was running.
  - Idempotent. A restore of the same name is never repeated; when it is complete the task reports
    it with C(changed=false); when it is still running the task follows it.
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
    details: The stop, the restore and the start are sent as server dry runs; nothing changes.
  diff_mode:
    support: full
options:
  name:
    description: Name of the C(VirtualMachineRestore).
    type: str
    required: true
  namespace:
    description: Namespace of the snapshot, the restore and the target VM.
    type: str
    required: true
  snapshot:
    description: Name of the C(VirtualMachineSnapshot) to restore; it must be ready to use.
    type: str
    required: true
  target_vm:
    description:
      - Name of the VM to restore into. Defaults to the VM the snapshot was taken of (in place).
      - A name no VM has creates a new, stopped VM from the snapshot.
    type: str
  target_readiness_policy:
    description:
      - What KubeVirt does when the target VM runs (C(spec.targetReadinessPolicy)). Unset leaves
        KubeVirt's default, V(WaitGracePeriod) (wait 5 minutes for it to be stopped, then fail).
      - V(StopTarget) stops the VM, V(FailImmediate) fails at once, V(WaitEventually) waits as long as it takes.
    type: str
    choices: [WaitGracePeriod, StopTarget, FailImmediate, WaitEventually]
  volume_restore_policy:
    description:
      - How the restored claims are named (C(spec.volumeRestorePolicy)). Unset leaves KubeVirt's
        default, V(RandomizeNames) (C(restore-<restore uid>-<volume>)).
      - V(InPlace) deletes each original claim and restores under its name; V(PrefixTargetName)
        names them C(<target vm>-<volume>).
    type: str
    choices: [RandomizeNames, InPlace, PrefixTargetName]
  volume_restore_overrides:
    description: Per-volume name, labels and annotations of the restored claim (C(spec.volumeRestoreOverrides)).
    type: list
    elements: dict
    suboptions:
      volume_name:
        description: The VM volume this applies to.
        type: str
        required: true
      restore_name:
        description: Name of the restored claim.
        type: str
      labels:
        description: Labels added to the restored claim.
        type: dict
      annotations:
        description: Annotations added to the restored claim.
        type: dict
  patches:
    description:
      - JSON Patch operations KubeVirt applies to a new target VM (C(spec.patches)), each a dict or a
        JSON string, for example a dict with V(op=replace), V(path=/metadata/labels/app) and V(value=copy).
    type: list
    elements: raw
  stop_target:
    description:
      - Stop the target VM first when it runs, and wait until it is stopped. Without it a running
        target fails the task before any write (unless O(target_readiness_policy) handles it).
    type: bool
    default: false
  start_after:
    description: Start the VM again once the restore is complete, if it was running. Needs O(wait=true).
    type: bool
    default: false
  wait:
    description:
      - Wait until the restore is C(complete). A failed restore fails the task with KubeVirt's
        reason and the restore's events.
"""

EXAMPLES = r"""
- name: Roll a VM back to a snapshot, stopping it first and starting it again
  virt.kubevirt.vm_restore:
    name: db-1-before-upgrade
    namespace: vms
    snapshot: db-1-before-upgrade
    stop_target: true
    start_after: true
    wait: true

- name: Restore a snapshot into a new VM with predictable claim names
  virt.kubevirt.vm_restore:
    name: db-1-copy
    namespace: vms
    snapshot: db-1-nightly
    target_vm: db-1-copy
    volume_restore_policy: PrefixTargetName
    patches:
      - {op: replace, path: /metadata/labels/app, value: db-copy}
    wait: true

- name: Let KubeVirt stop the VM itself
  virt.kubevirt.vm_restore:
    name: web-1-restore
    namespace: vms
    snapshot: web-1-snap
    target_readiness_policy: StopTarget
    wait: true
"""

RETURN = r"""
progress:
  description:
    - The states of the restore observed while the task waited (O(wait=true)), oldest first; the
      first and the newest 99 are kept. When the task runs in the controller's worker they are
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
      description: V(complete), V(failed) with the reason, or the reason of the C(Progressing) condition.
      type: str
  sample:
    - {time: "2026-12-03T10:02:11Z", elapsed: 0.3, subject: VirtualMachineRestore vms/db-1-r, state: Creating new PVCs}
    - {time: "2026-12-03T10:02:19Z", elapsed: 8.2, subject: VirtualMachineRestore vms/db-1-r, state: complete}
restore:
  description: The C(VirtualMachineRestore) as returned by the API server (in check mode, the dry-run result).
  returned: always
  type: dict
  sample:
    apiVersion: snapshot.kubevirt.io/v1beta1
    kind: VirtualMachineRestore
    metadata: {name: db-1-r, namespace: vms}
    spec: {target: {apiGroup: kubevirt.io, kind: VirtualMachine, name: db-1}, virtualMachineSnapshotName: db-1-snap}
status:
  description: The restore's status in short.
  returned: always
  type: dict
  contains:
    complete: {description: Whether the restore is complete (C(status.complete))., type: bool}
    failed: {description: Whether it failed (condition C(Failure))., type: bool}
    reason: {description: Reason of the C(Progressing) (or C(Failure)) condition., type: str}
    restore_time: {description: When it completed (C(status.restoreTime))., type: str}
    restores:
      description: One entry per restored volume (C(status.restores)).
      type: list
      elements: dict
      contains:
        volume_name: {description: The VM volume., type: str}
        claim_name: {description: The restored claim., type: str}
        volume_snapshot_name: {description: The VolumeSnapshot it was restored from., type: str}
        data_volume_name: {description: "The DataVolume that owns the claim, if any.", type: str}
    deleted_data_volumes: {description: DataVolumes the restore deleted (C(status.deletedDataVolumes))., type: list, elements: str}
    conditions: {description: The restore's conditions., type: list, elements: dict}
  sample:
    complete: true
    failed: false
    reason: Operation complete
    restores: [{volume_name: rootdisk, claim_name: restore-5f1c-rootdisk, volume_snapshot_name: vmsnapshot-9a2e-volume-rootdisk}]
    deleted_data_volumes: [db-1-root]
target_vm:
  description: The VM restored into.
  returned: always
  type: str
  sample: db-1
volumes:
  description: The target VM's volumes after the restore and the claim behind each (before, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Volume name., type: str}
    type: {description: "Volume source type: V(dataVolume), V(persistentVolumeClaim), ...", type: str}
    claim_name: {description: The claim or DataVolume name; null for other sources., type: str}
  sample: [{name: rootdisk, type: dataVolume, claim_name: restore-5f1c-rootdisk}]
stopped:
  description: Whether the task stopped the VM before the restore (O(stop_target)).
  returned: always
  type: bool
started:
  description: Whether the task started the VM again afterwards (O(start_after)).
  returned: always
  type: bool
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule
from ansible_collections.virt.kubevirt.plugins.module_utils._restore_flow import run_restore
from ansible_collections.virt.kubevirt.plugins.module_utils._restore_spec import (
    READINESS_POLICIES,
    VOLUME_POLICIES,
    validate_restore_params,
)

ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "namespace": {"type": "str", "required": True},
    "snapshot": {"type": "str", "required": True},
    "target_vm": {"type": "str"},
    "target_readiness_policy": {"type": "str", "choices": list(READINESS_POLICIES)},
    "volume_restore_policy": {"type": "str", "choices": list(VOLUME_POLICIES)},
    "volume_restore_overrides": {"type": "list", "elements": "dict", "options": {
        "volume_name": {"type": "str", "required": True},
        "restore_name": {"type": "str"},
        "labels": {"type": "dict"},
        "annotations": {"type": "dict"},
    }},
    "patches": {"type": "list", "elements": "raw"},
    "stop_target": {"type": "bool", "default": False},
    "start_after": {"type": "bool", "default": False},
}


def run(module: KubevirtModule) -> Dict[str, Any]:
    validate_restore_params(module.params)  # every option checked before any request
    return run_restore(module)


def main() -> None:
    KubevirtModule(ARGUMENT_SPEC).execute(run)


if __name__ == "__main__":
    main()
