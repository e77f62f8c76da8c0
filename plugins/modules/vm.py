#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vm
short_description: Manage KubeVirt VirtualMachines declaratively
version_added: 0.1.0
description:
  - Create, update, power and delete KubeVirt C(VirtualMachine) objects.
  - The VM is built from high-level options (compute, disks, networks, cloud-init, SSH keys,
    scheduling) deep-merged over the raw O(spec), then server-side applied with the field
    manager C(virt.kubevirt). Fields set by other tools or by KubeVirt's defaults are left alone.
    When another manager owns a field the playbook sets, the playbook wins (C(force=true)).
  - Options a task omits keep their current values on an existing VM, so a task can change one
    thing, for example only O(run_strategy). An option a task gives is authoritative for what it
    covers, see the notes.
  - The module first compares the wanted object with the live one, so an unchanged re-run sends
    no write at all (one GET of the VM and one of its VMI) and reports RV(ignore:changed=false).
  - A change is first sent as a server-side dry run, so the API server and KubeVirt's webhooks
    validate it (strict field validation, quantities, devices) before anything is written; a
    rejected change writes nothing.
  - A new or changed O(instancetype) or O(preference) is looked up first; one that does not exist
    fails the task before any write, with close names as suggestions. (KubeVirt 1.6 and later
    store such a VM and only mark it with a C(FailedFindInstancetype) condition; it never starts.)
  - KubeVirt refusals (for example a C(409) from the restart endpoint, or an admission webhook
    rejecting a spec) fail the task with KubeVirt's own message.
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
  diff_mode:
    support: full
options:
  name:
    description:
      - Name of the VirtualMachine, a lowercase RFC 1123 name of at most 63 characters (KubeVirt
        also uses it as the value of the label C(kubevirt.io/domain)).
    type: str
    required: true
  namespace:
    description: Namespace of the VirtualMachine (an RFC 1123 label).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the VM; V(absent) deletes it.
      - With O(wait), V(present) waits for the state O(run_strategy) asks for (see O(wait)) and
        V(absent) waits until the VM is gone.
    type: str
    choices: [present, absent]
    default: present
  labels:
    description:
      - Labels of the VirtualMachine object. Keys and values must be valid Kubernetes label keys
        and values; values are strings (quote numbers and booleans in YAML).
      - The labels this module manages become exactly these; labels it set before and no longer
        listed are removed (V({}) removes them all). Labels set by other tools stay.
      - When omitted, the labels stay as they are.
    type: dict
  annotations:
    description:
      - Annotations of the VirtualMachine object.
      - Like O(labels), the annotations this module manages become exactly these; when omitted, they stay as they are.
    type: dict
  template_labels:
    description:
      - Labels of the VMI template (C(spec.template.metadata.labels)); Services select VMs by these.
      - The label C(kubevirt.io/domain=<name>) is always added.
      - Like O(labels), the template labels this module manages become exactly these; when omitted, they stay as they are.
    type: dict
  template_annotations:
    description:
      - Annotations of the VMI template (C(spec.template.metadata.annotations)).
      - Like O(labels), the template annotations this module manages become exactly these; when omitted, they stay as they are.
    type: dict
  run_strategy:
    description:
      - The declarative power state (C(spec.runStrategy)).
      - V(Always) keeps the VM running, V(Halted) keeps it stopped, V(RerunOnFailure) restarts it only
        after a failure, V(Once) runs it a single time, V(Manual) leaves starting and stopping to
        the start/stop endpoints.
      - When omitted, an existing VM keeps its run strategy and a new VM gets KubeVirt's default (V(Halted)).
    type: str
    choices: [Always, RerunOnFailure, Manual, Halted, Once]
  restart:
    description:
      - Restart the VM through the C(subresources.kubevirt.io) C(restart) endpoint (like
        C(virtctl restart)), for example to apply changes that need a reboot.
      - Always reports a change. Skipped when this task created the VM or started it by changing
        O(run_strategy), since its VMI is then new anyway.
      - A VM whose run strategy (given in O(run_strategy), else its current one) is V(Halted) or V(Once)
        cannot be restarted (KubeVirt refuses it, C(virtctl restart) too), so the task fails before
        anything is written. For other VMs that are not running, for example a stopped V(Manual) one,
        KubeVirt refuses the restart and the task fails with KubeVirt's message.
      - With O(wait), waits for a new VMI to be running and ready.
    type: bool
    default: false
  instancetype:
    description:
      - Instance type giving CPU and memory (C(spec.instancetype)). Conflicts with O(cpu) and O(memory).
      - Giving it removes the CPU topology and guest memory this module set earlier through O(cpu)
        and O(memory); giving O(cpu) or O(memory) removes an instance type it set earlier.
    type: dict
    suboptions:
      name:
        description: Name of the instance type, for example V(u1.medium).
        type: str
      kind:
        description: Cluster-wide or namespaced instance type.
        type: str
        choices: [VirtualMachineClusterInstancetype, VirtualMachineInstancetype]
        default: VirtualMachineClusterInstancetype
      infer_from_volume:
        description: Take the instance type from the labels of this volume's PVC, DataVolume or DataSource.
        type: str
      infer_from_volume_failure_policy:
        description: What to do when inference fails.
        type: str
        choices: [Reject, Ignore, RejectInferFromVolumeFailure, IgnoreInferFromVolumeFailure]
  preference:
    description: Preference giving device and firmware defaults (C(spec.preference)).
    type: dict
    suboptions:
      name:
        description: Name of the preference, for example V(fedora).
        type: str
      kind:
        description: Cluster-wide or namespaced preference.
        type: str
        choices: [VirtualMachineClusterPreference, VirtualMachinePreference]
        default: VirtualMachineClusterPreference
      infer_from_volume:
        description: Take the preference from the labels of this volume's PVC, DataVolume or DataSource.
        type: str
      infer_from_volume_failure_policy:
        description: What to do when inference fails.
        type: str
        choices: [Reject, Ignore, RejectInferFromVolumeFailure, IgnoreInferFromVolumeFailure]
  cpu:
    description:
      - CPU topology (C(spec.template.spec.domain.cpu)). Suboptions left out are not set.
      - Each count is from 1 to 4294967295.
      - When omitted, the CPU topology stays as it is.
    type: dict
    suboptions:
      cores:
        description: Cores per socket.
        type: int
      sockets:
        description: Number of sockets.
        type: int
      threads:
        description: Threads per core.
        type: int
  memory:
    description:
      - Guest memory as a Kubernetes quantity more than zero, for example V(2Gi) (C(spec.template.spec.domain.memory.guest)).
      - When omitted, the memory stays as it is.
    type: str
  disks:
    description:
      - Disks of the VM, in order. Each disk gets a volume of the same name.
      - When given, the VM's disks, volumes and C(dataVolumeTemplates) are exactly these, apart
        from the cloud-init disk, which O(cloud_init) manages; a disk left out of the list is
        removed. Disks defined in O(spec) are merged into this list by name.
      - Hot-plugged disks (a C(hotpluggable) volume, as M(virt.kubevirt.vm_disk) or
        C(virtctl addvolume --persist) make them) that the list does not name are kept.
      - When omitted, the disks stay as they are.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Disk and volume name, an RFC 1123 label unique among the disks. C(cloudinitdisk) is
            reserved for O(cloud_init).
        type: str
        required: true
      type:
        description: Device type.
        type: str
        choices: [disk, cdrom, lun]
        default: disk
      bus:
        description:
          - Bus, one of V(virtio), V(sata), V(scsi) or V(usb) (not V(virtio) for a V(cdrom)).
            KubeVirt picks one when omitted.
        type: str
      boot_order:
        description: Boot order (1 boots first); each disk needs a different one.
        type: int
      container_disk:
        description:
          - Container image holding the disk (ephemeral C(containerDisk) volume), without a scheme,
            for example V(quay.io/containerdisks/fedora:41).
        type: str
      pvc:
        description: Name of an existing PersistentVolumeClaim in the VM's namespace.
        type: str
      existing_data_volume:
        description:
          - Name of an existing DataVolume in the VM's namespace (for example one made by
            M(virt.kubevirt.datavolume) from a golden image). The VM uses it and does not own it;
            deleting the VM keeps it.
          - A new or changed name is looked up before the VM is written; a missing DataVolume
            fails the task, because KubeVirt would store the VM and wait for the disk forever.
        type: str
      data_volume:
        description:
          - Create a DataVolume with the VM (C(spec.dataVolumeTemplates)). It belongs to the VM and
            is deleted with it unless deleted with C(propagationPolicy=Orphan).
        type: dict
        suboptions:
          name:
            description: DataVolume name, unique among the disks. Defaults to C(<vm name>-<disk name>).
            type: str
          url:
            description: Import from this C(http://) or C(https://) URL.
            type: str
          registry:
            description:
              - Import from a container registry; the image starts with C(docker://) (or
                C(oci-archive://)), for example V(docker://quay.io/containerdisks/fedora:41).
            type: str
          clone_pvc:
            description: Clone an existing PVC.
            type: dict
            suboptions:
              name:
                description: PVC name.
                type: str
                required: true
              namespace:
                description: PVC namespace. Defaults to the VM's namespace.
                type: str
          data_source:
            description: Use a CDI DataSource (C(sourceRef)), for example a golden image.
            type: dict
            suboptions:
              name:
                description: DataSource name.
                type: str
                required: true
              namespace:
                description: DataSource namespace. Defaults to the VM's namespace.
                type: str
          blank:
            description: Create an empty disk.
            type: bool
            default: false
          size:
            description: Requested size, more than zero, for example V(30Gi). Required unless cloning a PVC or using a DataSource.
            type: str
          storage_class:
            description: Storage class. The cluster default when omitted.
            type: str
          access_modes:
            description: Access modes, for example V(ReadWriteMany) for live migration. CDI's storage profile decides when omitted.
            type: list
            elements: str
            choices: [ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod]
          volume_mode:
            description: Volume mode. CDI's storage profile decides when omitted.
            type: str
            choices: [Filesystem, Block]
  networks:
    description:
      - Network interfaces, in order. An entry without O(networks[].network_name) is the pod network;
        a VM has at most one.
      - When given, the VM's interfaces and networks are exactly these (V([]) removes them all).
      - When omitted, the networks stay as they are (on a new VM, KubeVirt attaches the pod network by default).
    type: list
    elements: dict
    suboptions:
      name:
        description: Interface and network name (letters, digits, C(-) and C(_)), unique among the networks.
        type: str
        required: true
      network_name:
        description: Multus NetworkAttachmentDefinition, as V(name) or V(namespace/name).
        type: str
      binding:
        description: Binding method. Defaults to V(masquerade) on the pod network and V(bridge) on Multus networks.
        type: str
        choices: [masquerade, bridge, sriov]
      mac_address:
        description: Fixed unicast MAC address, for example V(02:00:00:00:00:01); unique among the networks.
        type: str
      model:
        description: NIC model, one of V(e1000), V(e1000e), V(igb), V(ne2k_pci), V(pcnet), V(rtl8139) or V(virtio).
        type: str
      ports:
        description: Ports forwarded on a V(masquerade) interface.
        type: list
        elements: dict
        suboptions:
          port:
            description: Port number, from 1 to 65535.
            type: int
            required: true
          protocol:
            description: Protocol.
            type: str
            choices: [TCP, UDP]
          name:
            description: Port name, an IANA service name such as V(ssh) (at most 15 characters).
            type: str
  cloud_init:
    description:
      - cloud-init NoCloud data, attached as the disk C(cloudinitdisk).
      - When given, the disk and volume C(cloudinitdisk) are exactly what it describes.
      - When omitted, the VM's cloud-init disk stays as it is.
    type: dict
    suboptions:
      user_data:
        description:
          - Inline user data, usually a C(#cloud-config) document, which must then be a YAML mapping.
          - It is stored in the VM object; put passwords and other secrets in O(cloud_init.user_data_secret) instead.
        type: str
      user_data_secret:
        description: Name of a Secret holding the user data (key C(userdata)).
        type: str
      network_data:
        description: Inline network data (netplan v2 / network-config), a YAML mapping.
        type: str
      network_data_secret:
        description: Name of a Secret holding the network data (key C(networkdata)).
        type: str
      ssh_authorized_keys:
        description:
          - SSH public keys added to the C(ssh_authorized_keys) of the user data (a new C(#cloud-config)
            document when O(cloud_init.user_data) is omitted).
          - Each is one public key line (C(ssh-rsa), C(ssh-ed25519), C(ecdsa-sha2-*), C(sk-*));
            a private key fails the task without being shown.
        type: list
        elements: str
  ssh_key_secrets:
    description:
      - SSH public keys injected from Secrets through C(spec.template.spec.accessCredentials).
      - V(no_cloud) propagation adds a cloud-init disk when there is none.
      - When given, the VM's access credentials are exactly these; when omitted, they stay as they are.
    type: list
    elements: dict
    suboptions:
      secret:
        description: Secret whose values are public keys.
        type: str
        required: true
      propagation_method:
        description: V(no_cloud) writes the keys at first boot; V(qemu_guest_agent) updates them live through the guest agent.
        type: str
        choices: [no_cloud, qemu_guest_agent]
        default: no_cloud
      users:
        description: Guest users receiving the keys (required for V(qemu_guest_agent)).
        type: list
        elements: str
  node_selector:
    description:
      - Node labels the VM must run on (C(spec.template.spec.nodeSelector)).
      - When given, exactly these (V({}) removes the ones this module set); when omitted, they stay as they are.
    type: dict
  tolerations:
    description:
      - Kubernetes tolerations (C(spec.template.spec.tolerations)).
      - When given, exactly these (V([]) removes them); when omitted, they stay as they are.
    type: list
    elements: dict
  affinity:
    description:
      - Kubernetes affinity (C(spec.template.spec.affinity)).
      - When given, exactly this (V({}) removes what this module set); when omitted, it stays as it is.
    type: dict
  eviction_strategy:
    description: What happens on node drain (C(spec.template.spec.evictionStrategy)).
    type: str
    choices: [None, LiveMigrate, LiveMigrateIfPossible, External]
  termination_grace_period:
    description: Seconds (0 or more) the guest gets to shut down (C(spec.template.spec.terminationGracePeriodSeconds)).
    type: int
  spec:
    description:
      - Raw C(VirtualMachine) spec for anything not modelled by the other options.
      - The high-level options are deep-merged over it, so they win; lists of named items (disks,
        volumes, interfaces, networks) merge by name.
      - It declares only the fields it sets, down to single values (an item of a list of named
        items by its name, any other list as a whole); everything else stays as it is. Set a field
        to V(null) to remove what this module set there earlier.
      - Unknown fields fail the task (strict field validation), naming the field.
    type: dict
  delete_options:
    description: Options for O(state=absent), named as in M(kubernetes.core.k8s).
    type: dict
    suboptions:
      propagationPolicy:
        description: V(Background) deletes the VM's DataVolumes after it, V(Foreground) before it, V(Orphan) keeps them.
        type: str
        choices: [Background, Foreground, Orphan]
        default: Background
      gracePeriodSeconds:
        description: Override of the termination grace period for the deletion, 0 or more seconds.
        type: int
  force:
    description:
      - Allow O(state=absent) to delete a VM that owns DataVolumes (from C(dataVolumeTemplates)),
        which deletes their data too. Without it such a deletion fails and nothing is deleted.
      - Not needed with O(delete_options.propagationPolicy=Orphan).
    type: bool
    default: false
notes:
  - Every option is checked before any request, so a mistake fails the task with one line naming
    the option (for example C(disks[1] (data).bus)) and what it expects, and nothing is written.
  - A task changes only what its options cover. On an existing VM, every option the task omits
    keeps its current value, whatever earlier tasks set; an option the task gives is
    authoritative for the fields it builds, and what this module set there earlier but the
    task no longer lists is removed. For example a task with only O(name), O(namespace) and
    O(run_strategy) changes the power state and nothing else, and a task giving only the label
    V(app=web) in O(labels) makes it the only label this module manages, without touching labels
    set by other tools.
  - To remove something entirely, give its option with the items to keep, for example the
    remaining O(disks), V({}) for O(labels), or V(null) for a field set through O(spec).
  - O(wait) with O(state=present) waits for C(status.ready) (O(run_strategy) V(Always) or
    V(RerunOnFailure)), C(printableStatus=Stopped) (V(Halted)), either of them (V(Once)), and
    does not wait for V(Manual). When O(run_strategy) is omitted, the VM's current run strategy is used.
  - In check mode nothing is waited for and restarts are sent as dry runs.
seealso:
  - module: virt.kubevirt.vm_info
  - name: KubeVirt user guide
    description: Virtual machine run strategies.
    link: https://kubevirt.io/user-guide/compute/run_strategies/
"""

EXAMPLES = r"""
- name: Run a Fedora VM from a container disk with cloud-init and an SSH key
  virt.kubevirt.vm:
    name: fedora-1
    namespace: vms
    run_strategy: Always
    cpu:
      cores: 2
    memory: 2Gi
    disks:
      - name: root
        container_disk: quay.io/containerdisks/fedora:41
        bus: virtio
    networks:
      - name: default
        ports:
          - port: 22
    cloud_init:
      user_data: |
        #cloud-config
        user: fedora
      ssh_authorized_keys:
        - "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"
    wait: true

- name: A VM from a golden image with an instance type, on a bridged VLAN, migratable
  virt.kubevirt.vm:
    name: db-1
    namespace: prod
    run_strategy: Always
    instancetype:
      name: u1.large
    preference:
      name: rhel.9
    disks:
      - name: root
        data_volume:
          data_source:
            name: rhel9
            namespace: openshift-virtualization-os-images
          size: 40Gi
          access_modes: [ReadWriteMany]
    networks:
      - name: default
      - name: vlan20
        network_name: prod/vlan20
        mac_address: "02:00:00:00:20:01"
    ssh_key_secrets:
      - secret: ops-keys
    eviction_strategy: LiveMigrate
    node_selector:
      node-role.kubernetes.io/worker: ""

- name: Stop the VM (declarative power state; everything else stays as it is)
  virt.kubevirt.vm:
    name: fedora-1
    namespace: vms
    run_strategy: Halted
    wait: true

- name: Start it again
  virt.kubevirt.vm:
    name: fedora-1
    namespace: vms
    run_strategy: Always
    wait: true

- name: Give it more memory and restart it to pick up the change
  virt.kubevirt.vm:
    name: fedora-1
    namespace: vms
    memory: 4Gi
    restart: true
    wait: true

- name: Set the labels this module manages to exactly these (other tools' labels stay)
  virt.kubevirt.vm:
    name: fedora-1
    namespace: vms
    labels:
      app: web
      env: prod

- name: Add a data disk; the disk list is given in full, the cloud-init disk stays
  virt.kubevirt.vm:
    name: fedora-1
    namespace: vms
    disks:
      - name: root
        container_disk: quay.io/containerdisks/fedora:41
        bus: virtio
      - name: data
        data_volume:
          blank: true
          size: 20Gi

- name: Anything not modelled goes into spec
  virt.kubevirt.vm:
    name: fedora-1
    namespace: vms
    spec:
      template:
        spec:
          domain:
            firmware:
              bootloader:
                efi:
                  secureBoot: false

- name: Stop managing a field set earlier through spec
  virt.kubevirt.vm:
    name: fedora-1
    namespace: vms
    spec:
      template:
        spec:
          domain:
            firmware: null

- name: Delete a VM together with its DataVolumes
  virt.kubevirt.vm:
    name: db-1
    namespace: prod
    state: absent
    force: true
    wait: true
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
      description: Its C(printableStatus) or C(phase), and C(progress) when CDI reports one.
      type: str
  sample:
    - {time: "2026-12-03T10:02:11Z", elapsed: 0.1, subject: VirtualMachine web/web01, state: Stopped}
    - {time: "2026-12-03T10:02:13Z", elapsed: 2.3, subject: VirtualMachine web/web01, state: Running}
result:
  description:
    - The VirtualMachine as returned by the API server (in check mode, the dry-run result).
    - Empty when the VM does not exist.
  returned: always
  type: dict
  sample:
    apiVersion: kubevirt.io/v1
    kind: VirtualMachine
    metadata:
      name: fedora-1
      namespace: vms
    spec:
      runStrategy: Always
    status:
      printableStatus: Running
      ready: true
vmi:
  description: Summary of the VM's VirtualMachineInstance; null when the VM is not running.
  returned: when O(state=present)
  type: dict
  contains:
    name:
      description: VMI name (same as the VM).
      type: str
    namespace:
      description: VMI namespace.
      type: str
    uid:
      description: VMI uid; changes on every restart.
      type: str
    phase:
      description: VMI phase, for example V(Scheduling) or V(Running).
      type: str
    ready:
      description: Whether the VMI's Ready condition is true.
      type: bool
    node:
      description: Node the VMI runs on.
      type: str
    ip_address:
      description: First IP address reported by the VMI.
      type: str
    ip_addresses:
      description: All IP addresses of all interfaces.
      type: list
      elements: str
    interfaces:
      description: Interfaces with C(name), C(ip_address), C(ip_addresses), C(mac) and C(interface_name).
      type: list
      elements: dict
    guest_os:
      description: Guest OS reported by the guest agent (C(id), C(name), C(pretty_name), C(version), C(kernel_release)).
      type: dict
    live_migratable:
      description: Whether the LiveMigratable condition is true.
      type: bool
    agent_connected:
      description: Whether the guest agent is connected.
      type: bool
  sample:
    name: fedora-1
    phase: Running
    ready: true
    node: node01
    ip_address: 10.244.0.15
method:
  description: What the module did, V(create), V(update), V(delete) or V(none).
  returned: always
  type: str
  sample: update
restarted:
  description: Whether a restart was requested from KubeVirt.
  returned: when O(state=present)
  type: bool
  sample: false
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._apply import ensure_applied
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import (
    is_gone,
    vm_target,
    vmi_replaced,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    VIRTUAL_MACHINE,
    VIRTUAL_MACHINE_INSTANCE,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._validate_vm import check_restart, validate_vm_params
from ansible_collections.virt.kubevirt.plugins.module_utils._vm_hotplug import keep_hotplugged
from ansible_collections.virt.kubevirt.plugins.module_utils._vm_power import request_restart, run_strategy_of
from ansible_collections.virt.kubevirt.plugins.module_utils._vm_options import VM_ARGUMENT_SPEC
from ansible_collections.virt.kubevirt.plugins.module_utils._vm_references import check_references
from ansible_collections.virt.kubevirt.plugins.module_utils._vm_spec import build_vm, data_volume_names, declared_paths, invalid
from ansible_collections.virt.kubevirt.plugins.module_utils._vm_status import vmi_summary


def present(module: KubevirtModule) -> Dict[str, Any]:
    p = module.params
    desired = build_vm(p)  # bad input fails here, before any request
    client = module.client
    name, namespace = p["name"], p["namespace"]
    if p["restart"] and not p["run_strategy"]:
        # A stopped VM cannot be restarted: say so before the apply writes anything.
        check_restart(p, run_strategy_of(client.get(VIRTUAL_MACHINE, name, namespace)))

    outcome = ensure_applied(
        client, VIRTUAL_MACHINE, desired, namespace, declared=declared_paths(p),
        before_write=lambda live, body: check_references(client, live, body, namespace),
        keep=keep_hotplugged,
    )
    live, vm = outcome.before, outcome.after
    result: Dict[str, Any] = {"changed": outcome.changed, "method": outcome.method, "restarted": False}
    if outcome.changed:
        module.add_diff(result, live, vm)

    vmi: Any = False  # False: not read yet
    if p["restart"] and live is not None:
        old_vmi = request_restart(module, live, vm)
        if old_vmi is not None:
            result.update(changed=True, restarted=True)
            if p["wait"] and not module.check_mode:
                old_uid = (old_vmi.get("metadata") or {}).get("uid")
                vmi = module.waiter().wait(
                    VIRTUAL_MACHINE_INSTANCE, name, namespace, vmi_replaced(old_uid), p["wait_timeout"],
                    "restarted (a new VMI running and ready)",
                    event_kinds=(VIRTUAL_MACHINE.kind, VIRTUAL_MACHINE_INSTANCE.kind),
                )
                vm = client.get(VIRTUAL_MACHINE, name, namespace)

    target = vm_target(run_strategy_of(vm))
    if p["wait"] and not module.check_mode and target is not None and not result["restarted"]:
        predicate, description = target
        vm = module.waiter().wait(
            VIRTUAL_MACHINE, name, namespace, predicate, p["wait_timeout"], description,
            event_kinds=(VIRTUAL_MACHINE.kind, VIRTUAL_MACHINE_INSTANCE.kind), initial=vm,
            deleted_is_final=True,  # deleted meanwhile: no state of it can ever be reached
        )

    if vmi is False:
        # A VM that only exists as a dry run has no VMI to read.
        vmi = None if (module.check_mode and live is None) else client.get(VIRTUAL_MACHINE_INSTANCE, name, namespace)
    result["result"] = vm or {}
    result["vmi"] = vmi_summary(vmi)
    return result


def absent(module: KubevirtModule) -> Dict[str, Any]:
    p = module.params
    client = module.client
    name, namespace = p["name"], p["namespace"]
    options = p["delete_options"] or {}
    policy = options.get("propagationPolicy") or "Background"

    live = client.get(VIRTUAL_MACHINE, name, namespace)
    if live is None:
        return {"changed": False, "method": "none", "result": {}}
    result: Dict[str, Any] = {"changed": False, "method": "none", "result": live}
    if not (live.get("metadata") or {}).get("deletionTimestamp"):
        owned = data_volume_names(live)
        if owned and policy != "Orphan" and not p["force"]:
            raise invalid(
                "force",
                "deleting VirtualMachine %s/%s also deletes the DataVolumes it owns (%s) and their data; "
                "set force: true, or delete_options.propagationPolicy: Orphan to keep them" % (namespace, name, ", ".join(owned)),
            )
        client.delete(VIRTUAL_MACHINE, name, namespace, propagation_policy=policy,
                      grace_period_seconds=options.get("gracePeriodSeconds"))
        result.update(changed=True, method="delete")
        module.add_diff(result, live, None)
    if p["wait"] and not module.check_mode:
        module.waiter().wait(
            VIRTUAL_MACHINE, name, namespace, is_gone, p["wait_timeout"], "deleted",
            event_kinds=(VIRTUAL_MACHINE.kind, VIRTUAL_MACHINE_INSTANCE.kind), initial=live,
        )
    return result


def run(module: KubevirtModule) -> Dict[str, Any]:
    validate_vm_params(module.params)  # every option checked before any request
    return present(module) if module.params["state"] == "present" else absent(module)


def main() -> None:
    KubevirtModule(VM_ARGUMENT_SPEC).execute(run)


if __name__ == "__main__":
    main()
