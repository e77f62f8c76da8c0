#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_clone
short_description: Clone a KubeVirt VM, or a VirtualMachineSnapshot, into a new VM
version_added: 0.1.0
description:
  - Creates a C(VirtualMachineClone) (C(clone.kubevirt.io/v1beta1)) and optionally waits until
    KubeVirt reports it V(Succeeded), showing its phases live (V(SnapshotInProgress),
    V(RestoreInProgress), V(CreatingTargetVM), V(Succeeded)).
  - From a VM, KubeVirt takes a temporary snapshot (online, so the source may keep running),
    restores it into the new VM and deletes the temporary objects; from a snapshot it restores that
    snapshot. The new VM's disks are new claims restored from the snapshot's VolumeSnapshots; the
    new VM is created stopped.
  - Labels and annotations of the VM (and of its template) are kept only when a filter matches
    (O(label_filters) and friends); without filters all are kept. MAC addresses are cleared unless
    O(new_mac_addresses) sets them; the firmware serial and UUID are regenerated.
  - A target VM that already exists is refused before any write. Idempotent, a clone of the same
    name that V(Succeeded) is reported with C(changed=false); one still running is followed.
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
    details: The clone is created as a server dry run; KubeVirt's webhooks check it, nothing is copied.
  diff_mode:
    support: full
options:
  name:
    description: Name of the C(VirtualMachineClone).
    type: str
    required: true
  namespace:
    description: Namespace of the source, the clone and the new VM.
    type: str
    required: true
  source:
    description: What to clone.
    type: dict
    required: true
    suboptions:
      kind:
        description: V(VirtualMachine) (cloned through a temporary snapshot) or V(VirtualMachineSnapshot).
        type: str
        choices: [VirtualMachine, VirtualMachineSnapshot]
        default: VirtualMachine
      name:
        description: Name of the source VM or snapshot.
        type: str
        required: true
  target:
    description: Name of the new VM. It must not exist yet, and differ from a source VM's name.
    type: str
    required: true
  label_filters:
    description:
      - Which of the VM's labels the new VM keeps (C(spec.labelFilters)). Each filter is a regular
        expression matched against the key; V(*) alone keeps all; a leading V(!) excludes keys.
        V(*) may only end a filter and V(!) only start one. Unset keeps every label.
    type: list
    elements: str
  annotation_filters:
    description: The same for the VM's annotations (C(spec.annotationFilters)).
    type: list
    elements: str
  template_label_filters:
    description: The same for the labels of the VM's template (C(spec.template.labelFilters)).
    type: list
    elements: str
  template_annotation_filters:
    description: The same for the annotations of the VM's template (C(spec.template.annotationFilters)).
    type: list
    elements: str
  new_mac_addresses:
    description:
      - MAC address per interface name of the new VM (C(spec.newMacAddresses)). Interfaces not
        listed get no fixed MAC address (KubeVirt or its MAC pool assigns one).
    type: dict
  new_smbios_serial:
    description:
      - SMBIOS serial of the new VM (C(spec.newSMBiosSerial)); by default the serial is cleared.
      - As in KubeVirt, the serial (and the firmware UUID, which is regenerated) is only touched when
        the source VM's template has a C(spec.domain.firmware) section.
    type: str
  patches:
    description:
      - JSON Patch operations applied to the new VM after the filters (C(spec.patches)), each a dict
        or a JSON string, for example a dict with V(op=add), V(path=/metadata/labels/env) and V(value=test).
    type: list
    elements: raw
  wait:
    description:
      - Wait until the clone V(Succeeded). A V(Failed) clone, or one that does not finish in
        O(wait_timeout), fails the task with its phase, reason and events (those of its temporary
        restore included).
"""

EXAMPLES = r"""
- name: Clone a running VM for a test environment
  virt.kubevirt.vm_clone:
    name: web-1-to-test
    namespace: vms
    source:
      name: web-1
    target: web-1-test
    label_filters: ["*", "!app.kubernetes.io/instance"]
    new_mac_addresses:
      default: "02:00:00:00:10:01"
    patches:
      - {op: add, path: /metadata/labels/env, value: test}
    wait: true

- name: Create a VM from a snapshot
  virt.kubevirt.vm_clone:
    name: db-1-from-nightly
    namespace: vms
    source:
      kind: VirtualMachineSnapshot
      name: db-1-nightly
    target: db-1-investigation
    new_smbios_serial: db-1-investigation
    wait: true
"""

RETURN = r"""
progress:
  description:
    - The phases of the clone observed while the task waited (O(wait=true)), oldest first; the first
      and the newest 99 are kept. When the task runs in the controller's worker they are also shown
      in the play output while it waits.
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
      description: The clone's C(status.phase), with the C(Ready) reason while it is pending or failing.
      type: str
  sample:
    - {time: "2026-12-03T10:02:11Z", elapsed: 0.3, subject: VirtualMachineClone vms/web-1-to-test, state: SnapshotInProgress}
    - {time: "2026-12-03T10:02:15Z", elapsed: 4.1, subject: VirtualMachineClone vms/web-1-to-test, state: RestoreInProgress}
    - {time: "2026-12-03T10:02:19Z", elapsed: 8.2, subject: VirtualMachineClone vms/web-1-to-test, state: Succeeded}
clone:
  description: The C(VirtualMachineClone) as returned by the API server (in check mode, the dry-run result).
  returned: always
  type: dict
  sample:
    apiVersion: clone.kubevirt.io/v1beta1
    kind: VirtualMachineClone
    metadata: {name: web-1-to-test, namespace: vms}
    spec: {source: {apiGroup: kubevirt.io, kind: VirtualMachine, name: web-1}, target: {apiGroup: kubevirt.io, kind: VirtualMachine, name: web-1-test}}
    status: {phase: Succeeded, targetName: web-1-test}
status:
  description: The clone's status in short.
  returned: always
  type: dict
  contains:
    phase: {description: C(status.phase)., type: str}
    target_name: {description: The VM KubeVirt created (C(status.targetName))., type: str}
    snapshot_name: {description: The temporary snapshot while it exists., type: str}
    restore_name: {description: The temporary restore while it exists., type: str}
    creation_time: {description: When the clone was created., type: str}
    reason: {description: Reason of the C(Ready) condition., type: str}
    conditions: {description: The clone's conditions., type: list, elements: dict}
  sample: {phase: Succeeded, target_name: web-1-test, reason: Ready}
target_vm:
  description: Name of the new VM.
  returned: always
  type: str
  sample: web-1-test
volumes:
  description: The new VM's volumes and the claim behind each, once the clone V(Succeeded) (empty before).
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Volume name., type: str}
    type: {description: "Volume source type: V(dataVolume), V(persistentVolumeClaim), ...", type: str}
    claim_name: {description: The claim or DataVolume name; null for other sources., type: str}
  sample: [{name: rootdisk, type: dataVolume, claim_name: restore-4b7d-rootdisk}]
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._clone_flow import run_clone
from ansible_collections.virt.kubevirt.plugins.module_utils._clone_spec import SOURCE_KINDS, validate_clone_params
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule

ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "namespace": {"type": "str", "required": True},
    "source": {"type": "dict", "required": True, "options": {
        "kind": {"type": "str", "choices": list(SOURCE_KINDS), "default": "VirtualMachine"},
        "name": {"type": "str", "required": True},
    }},
    "target": {"type": "str", "required": True},
    "label_filters": {"type": "list", "elements": "str"},
    "annotation_filters": {"type": "list", "elements": "str"},
    "template_label_filters": {"type": "list", "elements": "str"},
    "template_annotation_filters": {"type": "list", "elements": "str"},
    "new_mac_addresses": {"type": "dict"},
    "new_smbios_serial": {"type": "str"},
    "patches": {"type": "list", "elements": "raw"},
}


def run(module: KubevirtModule) -> Dict[str, Any]:
    validate_clone_params(module.params)  # every option checked before any request
    return run_clone(module)


def main() -> None:
    KubevirtModule(ARGUMENT_SPEC).execute(run)


if __name__ == "__main__":
    main()
