#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_disk
short_description: Hot-plug and unplug a DataVolume or PVC disk on a KubeVirt VM
version_added: 0.1.0
description:
  - Attach an existing DataVolume or PersistentVolumeClaim to a VirtualMachine as a hot-pluggable
    SCSI disk, or detach it, while the VM runs; then wait until the VMI reports the volume
    C(Ready) in C(status.volumeStatus), with the guest device (RV(target), for example C(sda)).
  - O(method=declarative) adds a C(hotpluggable) volume and its disk to the VM template; KubeVirt
    plugs it into the running VMI when the cluster enables the C(DeclarativeHotplugVolumes)
    feature gate (without it the disk waits for the next start, and O(wait) times out with a
    message saying so).
  - O(method=subresource) calls KubeVirt's C(addvolume) / C(removevolume) subresources, which
    need the C(DeclarativeHotplugVolumes) or C(HotplugVolumes) feature gate. With O(persist) the
    VM's subresource is used (the disk stays in the VM spec), otherwise the VMI's (the disk is
    gone at the next restart; the only way for a VMI that has no VM).
  - An already attached disk (or an absent one for O(state=absent)) is left alone, no write sent.
    A missing DataVolume or PVC, or another disk already using the name or the claim, fails
    before any write.
  - On a stopped VM, O(method=declarative) (and O(method=subresource) with O(persist)) only
    changes the VM spec and says so in RV(msg); the VMI subresource fails with KubeVirt's message.
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
    details: Writes and subresource calls are sent with C(dryRun=All); nothing is waited for after a change.
  diff_mode:
    support: full
    details: Shows the volumes and disks of the VM template (of the VMI spec without O(persist)) before and after.
options:
  vm_name:
    description: Name of the VirtualMachine (or, with O(persist=false), of the VirtualMachineInstance).
    type: str
    required: true
  namespace:
    description: Namespace of the VM and of the claim.
    type: str
    required: true
  name:
    description:
      - Name of the volume and its disk in the VM spec (an RFC 1123 label), for example V(data).
      - With O(state=absent), the volume to unplug.
    type: str
    required: true
  data_volume:
    description: Name of the DataVolume to attach (in O(namespace)). It must exist.
    type: str
  persistent_volume_claim:
    description: Name of the PersistentVolumeClaim to attach (in O(namespace)). It must exist.
    type: str
  bus:
    description:
      - Disk bus. KubeVirt hot-plugs disks only on the SCSI bus, so V(scsi) is the only value it
        accepts; any other fails before any request.
    type: str
    default: scsi
  serial:
    description: Disk serial number seen by the guest (letters, digits, C(_), C(.), C(+), C(-)).
    type: str
  cache:
    description: Disk cache mode.
    type: str
    choices: [none, writethrough, writeback]
  method:
    description:
      - V(declarative) edits the VM spec; V(subresource) calls C(addvolume)/C(removevolume).
    type: str
    choices: [declarative, subresource]
    default: declarative
  persist:
    description:
      - With O(method=subresource), V(true) uses the VM's subresource (kept in the VM spec) and
        V(false) the VMI's (only until the VMI stops; needed for a VMI without a VM).
      - V(false) is refused with O(method=declarative).
      - With O(state=absent) and V(true), a disk that is only in the VMI (plugged with V(false))
        is unplugged through the VMI's subresource.
    type: bool
    default: true
  state:
    description: V(present) attaches the disk, V(absent) detaches it.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - When the VM runs, wait until the VMI reports the volume C(Ready) (V(present)) or no longer
        lists it (V(absent)). Nothing is waited for on a stopped VM or in check mode after a change.
    default: true
notes:
  - A hot-plugged volume needs a claim KubeVirt can attach to the VM's node; with a
    C(WaitForFirstConsumer) storage class the volume stays C(Pending) until the claim binds.
  - The VM module owns the VM spec it declares; keep a disk hot-plugged with this module out of a
    later M(virt.kubevirt.vm) task's O(virt.kubevirt.vm#module:disks), or declare it there.
seealso:
  - module: virt.kubevirt.vm
  - module: virt.kubevirt.vm_info
  - name: KubeVirt hotplug volumes
    description: KubeVirt user guide on hot-plugging volumes.
    link: https://kubevirt.io/user-guide/storage/hotplug_volumes/
"""

EXAMPLES = r"""
- name: Hot-plug a DataVolume into a running VM and show the guest device
  virt.kubevirt.vm_disk:
    vm_name: fedora-1
    namespace: vms
    name: data
    data_volume: fedora-1-data
  register: plugged

- name: Show where the guest sees it
  ansible.builtin.debug:
    msg: "data is /dev/{{ plugged.target }}"

- name: Hot-plug a PVC through the addvolume subresource, with a serial
  virt.kubevirt.vm_disk:
    vm_name: fedora-1
    namespace: vms
    name: scratch
    persistent_volume_claim: scratch-pvc
    serial: SCRATCH01
    method: subresource

- name: Attach a PVC to a VMI only until it stops (a VMI without a VM)
  virt.kubevirt.vm_disk:
    vm_name: bare-vmi
    namespace: vms
    name: scratch
    persistent_volume_claim: scratch-pvc
    method: subresource
    persist: false

- name: Unplug it again
  virt.kubevirt.vm_disk:
    vm_name: fedora-1
    namespace: vms
    name: data
    state: absent
"""

RETURN = r"""
progress:
  description:
    - The states observed while the task waited (O(wait=true)), oldest first; the first and the
      newest 99 are kept. When the task runs in the controller's worker they are also shown in the
      play output while it waits.
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
      description: What was observed (the volume's C(volumeStatus) phase).
      type: str
  sample:
    - {time: "2026-12-03T10:02:11Z", elapsed: 0.4, subject: VirtualMachineInstance web/web01, state: "volume data: phase AttachedToNode"}
    - time: "2026-12-03T10:02:40Z"
      elapsed: 29.1
      subject: VirtualMachineInstance web/web01
      state: "volume data: phase Ready (VolumeReady: Successfully attach hotplugged volume data to VM)"
target:
  description: Guest device of the disk (for example C(sda)) once the VMI reports it C(Ready); null otherwise.
  returned: always
  type: str
  sample: sda
volume:
  description: The hot-plugged volume as it is declared in the spec.
  returned: when O(state=present)
  type: dict
  sample:
    name: data
    dataVolume:
      name: fedora-1-data
      hotpluggable: true
disk:
  description: The disk declared for the volume.
  returned: when O(state=present)
  type: dict
  sample:
    name: data
    disk:
      bus: scsi
volume_status:
  description:
    - The volume's entry in the VMI's C(status.volumeStatus) after the task (after the wait), null
      when the VMI does not list it (not running, unplugged, or not waited for).
  returned: always
  type: dict
  contains:
    name:
      description: Volume name.
      type: str
    phase:
      description: C(Pending), C(Bound), C(AttachedToNode), C(MountedToPod), C(Ready), C(Detaching)...
      type: str
    target:
      description: Guest device, set when C(Ready).
      type: str
    reason:
      description: KubeVirt's reason, for example C(VolumeReady).
      type: str
    message:
      description: KubeVirt's message.
      type: str
    attach_pod:
      description: Name of the C(hp-volume-) attachment pod, when there is one.
      type: str
  sample:
    name: data
    phase: Ready
    target: sda
    reason: VolumeReady
    message: Successfully attach hotplugged volume data to VM
running:
  description: Whether the VM had a VMI the disk could be plugged into (or unplugged from).
  returned: always
  type: bool
  sample: true
msg:
  description: Set when the change only reached the VM spec because the VM is not running.
  returned: when the VM is stopped and the spec changed
  type: str
  sample: VirtualMachine vms/fedora-1 is not running; the disk is in its spec and is attached when it starts
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._disk_apply import attach_to_vm, attach_to_vmi
from ansible_collections.virt.kubevirt.plugins.module_utils._disk_hotplug import CACHE_MODES, HOTPLUG_BUS, validate_disk_params
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule

ARGUMENT_SPEC: Dict[str, Any] = {
    "vm_name": {"type": "str", "required": True},
    "namespace": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "data_volume": {"type": "str"},
    "persistent_volume_claim": {"type": "str"},
    "bus": {"type": "str", "default": HOTPLUG_BUS},
    "serial": {"type": "str"},
    "cache": {"type": "str", "choices": list(CACHE_MODES)},
    "method": {"type": "str", "choices": ["declarative", "subresource"], "default": "declarative"},
    "persist": {"type": "bool", "default": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "wait": {"type": "bool", "default": True},
}


def run(module: KubevirtModule) -> Dict[str, Any]:
    validate_disk_params(module.params)  # before any request
    if module.params["method"] == "subresource" and not module.params["persist"]:
        return attach_to_vmi(module)
    return attach_to_vm(module)


def main() -> None:
    KubevirtModule(
        ARGUMENT_SPEC,
        mutually_exclusive=[["data_volume", "persistent_volume_claim"]],
        required_if=[["state", "present", ["data_volume", "persistent_volume_claim"], True]],
    ).execute(run)


if __name__ == "__main__":
    main()
