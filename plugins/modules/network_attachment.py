#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: network_attachment
short_description: Manage Multus NetworkAttachmentDefinitions (secondary networks for VMs)
version_added: 0.1.0
description:
  - Create, update and delete a C(NetworkAttachmentDefinition) (C(k8s.cni.cncf.io/v1)), the secondary
    network a VM attaches to with M(virt.kubevirt.vm)'s C(networks[].network_name).
  - O(type) renders the CNI JSON the plugin reads (C(cniVersion) V(0.3.1), C(name) O(cni_name)) from a
    few options; O(config) takes your own JSON instead. The config is checked before anything is written
    (bridge names of at most 15 characters, VLAN ranges, CIDRs, OVN-Kubernetes' C(netAttachDefName) rule).
  - C(spec.config) is a JSON string. It is compared parsed, so a NAD written by hand with another key
    order or whitespace is unchanged when it means the same; the stored text is then kept as it is.
  - V(absent) refuses, before any write, while a VM attaches to the NAD (by C(name) in its namespace or by
    C(<namespace>/<name>) from any namespace), naming the VMs; O(force) deletes it anyway. Running VMs keep
    their interfaces, but will not start again while the NAD is missing.
author:
  - virt.kubevirt maintainers (@virt-kubevirt)
extends_documentation_fragment:
  - virt.kubevirt.auth
  - virt.kubevirt.attributes
  - virt.kubevirt.attributes.action_group
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  name:
    description: Name of the NetworkAttachmentDefinition.
    type: str
    required: true
  namespace:
    description:
      - Namespace of the NetworkAttachmentDefinition. VMs of other namespaces attach to it as C(<namespace>/<name>).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the NAD; V(absent) deletes it (see O(force)).
    type: str
    choices: [present, absent]
    default: present
  force:
    description: Delete the NAD even while VMs attach to it.
    type: bool
    default: false
  labels:
    description: Labels of the NAD.
    type: dict
  annotations:
    description: Annotations of the NAD (the C(k8s.v1.cni.cncf.io/resourceName) annotation comes from O(resource_name)).
    type: dict
  type:
    description:
      - The kind of network; give this or O(config).
      - V(linux-bridge) is the C(bridge) plugin on a host bridge O(bridge) (made with an NNCP, see
        M(virt.kubevirt.node_network_policy)); V(cnv-bridge) is OpenShift's copy of it, and also sets the
        C(bridge.network.kubevirt.io/<bridge>) resource annotation so that VMs are only scheduled on nodes
        that have the bridge.
      - V(localnet) and V(layer2) are OVN-Kubernetes secondary networks (C(ovn-k8s-cni-overlay)); C(netAttachDefName)
        is set to C(<namespace>/<name>) as OVN-Kubernetes requires. A V(localnet) connects to the physical network
        O(physical_network_name) (default O(cni_name)), which must match a C(localnet) of the nodes' OVN bridge
        mappings.
      - V(sriov) is the SR-IOV CNI with the device plugin resource O(resource_name); V(macvtap) is KubeVirt's macvtap-cni.
    type: str
    choices: [linux-bridge, cnv-bridge, localnet, layer2, sriov, macvtap]
  config:
    description:
      - Your own CNI config, a dict or a JSON string (one plugin or a conflist with C(plugins)). It is stored as given
        (a dict as indented JSON). Its bridge names, VLANs, addresses and OVN-Kubernetes fields are checked like the
        rendered ones.
    type: raw
  cni_name:
    description:
      - The C(name) of the CNI network; defaults to O(name). OVN-Kubernetes NADs sharing one network use the same name.
    type: str
  cni_version:
    description: The C(cniVersion) of a rendered config.
    type: str
    default: 0.3.1
  bridge:
    description: The host bridge (O(type=linux-bridge) or O(type=cnv-bridge)), at most 15 characters.
    type: str
  vlan:
    description:
      - VLAN tag. The bridge and SR-IOV plugins take 0 to 4094 (0 is untagged); V(localnet) takes 1 to 4094 (C(vlanID)).
        V(layer2) networks have none.
    type: int
  mtu:
    description: MTU of the interface (bridge, localnet, layer2, macvtap).
    type: int
  macspoofchk:
    description:
      - Drop frames whose source MAC is not the interface's (bridge C(macspoofchk); SR-IOV C(spoofchk) V(on)/V(off)).
    type: bool
  ipam:
    description:
      - IP address management of bridge and SR-IOV networks. OVN-Kubernetes networks take O(subnets) instead.
      - OpenShift Virtualization does not support IPAM on VM bridge networks (the guest must still configure the
        address itself, with cloud-init for example); the address shows up in the VMI's C(status.interfaces).
    type: dict
    suboptions:
      type:
        description: The IPAM plugin; V(none) sends no C(ipam) section.
        type: str
        choices: [none, static, whereabouts, dhcp, host-local]
        default: none
      range:
        description: whereabouts C(range), a CIDR such as V(192.168.20.0/24).
        type: str
      range_start:
        description: First address handed out (whereabouts C(range_start), host-local C(rangeStart)).
        type: str
      range_end:
        description: Last address handed out (whereabouts C(range_end), host-local C(rangeEnd)).
        type: str
      exclude:
        description: whereabouts C(exclude), CIDRs never handed out.
        type: list
        elements: str
      subnet:
        description: host-local C(subnet), a CIDR.
        type: str
      gateway:
        description: The gateway (whereabouts, host-local, or each static address).
        type: str
      addresses:
        description: static addresses with prefix, such as V(192.168.20.10/24).
        type: list
        elements: str
      routes:
        description: Routes the IPAM result carries.
        type: list
        elements: dict
        suboptions:
          dst:
            description: Destination CIDR.
            type: str
            required: true
          gw:
            description: Next hop.
            type: str
  subnets:
    description: Subnets of a V(localnet) or V(layer2) network (OVN-Kubernetes hands out addresses from them).
    type: list
    elements: str
  exclude_subnets:
    description: CIDRs inside O(subnets) never handed out (C(excludeSubnets)).
    type: list
    elements: str
  physical_network_name:
    description: The OVN bridge mapping (C(localnet)) a V(localnet) network connects to (C(physicalNetworkName)).
    type: str
  allow_persistent_ips:
    description: Keep a VM's addresses across restarts and migrations (V(localnet), V(layer2); C(allowPersistentIPs)).
    type: bool
  resource_name:
    description:
      - The C(k8s.v1.cni.cncf.io/resourceName) annotation, the device plugin resource each VM's pod requests;
        required for V(sriov) (for example V(openshift.io/intel_sriov)) and V(macvtap)
        (V(macvtap.network.kubevirt.io/<host interface>)).
      - For V(cnv-bridge) it defaults to V(bridge.network.kubevirt.io/<bridge>).
    type: str
notes:
  - The NAD has no status; whether the plugin works is only known when a VM's pod starts. A VM naming a NAD that
    does not exist is not scheduled (its VMI reports C(FailedCreate) with C(failed to locate network attachment
    definition)); M(virt.kubevirt.vm) with C(wait) then times out naming it.
seealso:
  - module: virt.kubevirt.vm
"""

EXAMPLES = r"""
- name: VLAN 20 on the host bridge br1, addresses from whereabouts
  virt.kubevirt.network_attachment:
    name: vlan20
    namespace: vms
    type: linux-bridge
    bridge: br1
    vlan: 20
    macspoofchk: true
    ipam:
      type: whereabouts
      range: 192.168.20.0/24
      range_start: 192.168.20.50
      exclude:
        - 192.168.20.0/28

- name: OpenShift Virtualization bridge network (scheduled only where br1 exists)
  virt.kubevirt.network_attachment:
    name: br1-vlan30
    namespace: vms
    type: cnv-bridge
    bridge: br1
    vlan: 30

- name: OVN-Kubernetes localnet on the physical network of the nodes' bridge mapping "physnet"
  virt.kubevirt.network_attachment:
    name: localnet-100
    namespace: vms
    type: localnet
    physical_network_name: physnet
    vlan: 100
    subnets: [10.100.0.0/24]
    exclude_subnets: [10.100.0.1/32]
    allow_persistent_ips: true

- name: A network of your own
  virt.kubevirt.network_attachment:
    name: tuned
    namespace: vms
    config:
      cniVersion: 0.3.1
      name: tuned
      plugins:
        - type: bridge
          bridge: br2
        - type: tuning
          sysctl:
            net.ipv4.conf.all.log_martians: "1"

- name: Remove it, even while VMs use it
  virt.kubevirt.network_attachment:
    name: vlan20
    namespace: vms
    state: absent
    force: true
"""

RETURN = r"""
result:
  description: The NetworkAttachmentDefinition after the task (C({}) when absent).
  returned: always
  type: dict
  sample:
    apiVersion: k8s.cni.cncf.io/v1
    kind: NetworkAttachmentDefinition
    metadata: {name: vlan20, namespace: vms}
    spec: {config: '{"cniVersion": "0.3.1", "name": "vlan20", "type": "bridge", "bridge": "br1", "vlan": 20}'}
config:
  description: C(spec.config) parsed (C(null) when absent or not JSON).
  returned: always
  type: dict
  sample: {cniVersion: 0.3.1, name: vlan20, type: bridge, bridge: br1, vlan: 20}
used_by:
  description: C(<namespace>/<vm>) of the VMs attached to the NAD, read when O(state=absent).
  returned: when O(state=absent) and the NAD existed
  type: list
  elements: str
  sample: [vms/db-1]
method:
  description: What the module did, V(create), V(update), V(delete) or V(none).
  returned: always
  type: str
  sample: create
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._apply import ensure_applied
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule
from ansible_collections.virt.kubevirt.plugins.module_utils._nad_spec import (
    TYPES,
    build_config,
    build_nad,
    live_config,
    validate_nad_params,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._nad_usage import vms_using
from ansible_collections.virt.kubevirt.plugins.module_utils._nad_ipam import IPAM_TYPES
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import NETWORK_ATTACHMENT_DEFINITION as NAD
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import invalid

ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "namespace": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "force": {"type": "bool", "default": False},
    "labels": {"type": "dict"},
    "annotations": {"type": "dict"},
    "type": {"type": "str", "choices": list(TYPES)},
    "config": {"type": "raw"},
    "cni_name": {"type": "str"},
    "cni_version": {"type": "str", "default": "0.3.1"},
    "bridge": {"type": "str"},
    "vlan": {"type": "int"},
    "mtu": {"type": "int"},
    "macspoofchk": {"type": "bool"},
    "ipam": {"type": "dict", "options": {
        "type": {"type": "str", "choices": list(IPAM_TYPES), "default": "none"},
        "range": {"type": "str"},
        "range_start": {"type": "str"},
        "range_end": {"type": "str"},
        "exclude": {"type": "list", "elements": "str"},
        "subnet": {"type": "str"},
        "gateway": {"type": "str"},
        "addresses": {"type": "list", "elements": "str"},
        "routes": {"type": "list", "elements": "dict", "options": {
            "dst": {"type": "str", "required": True},
            "gw": {"type": "str"},
        }},
    }},
    "subnets": {"type": "list", "elements": "str"},
    "exclude_subnets": {"type": "list", "elements": "str"},
    "physical_network_name": {"type": "str"},
    "allow_persistent_ips": {"type": "bool"},
    "resource_name": {"type": "str"},
}


def present(module: KubevirtModule) -> Dict[str, Any]:
    p = module.params
    client = module.client
    live = client.get(NAD, p["name"], p["namespace"])
    # Same meaning as the stored JSON: keep its text, so formatting alone never changes anything.
    same = live is not None and live_config(live) == build_config(p)
    desired = build_nad(p, live["spec"]["config"] if same else None)
    outcome = ensure_applied(client, NAD, desired, p["namespace"], live=live)
    result: Dict[str, Any] = {"changed": outcome.changed, "method": outcome.method,
                              "result": outcome.after or {}, "config": live_config(outcome.after)}
    if outcome.changed:
        module.add_diff(result, outcome.before, outcome.after)
    return result


def absent(module: KubevirtModule) -> Dict[str, Any]:
    p = module.params
    client = module.client
    live = client.get(NAD, p["name"], p["namespace"])
    if live is None:
        return {"changed": False, "method": "none", "result": {}, "config": None}
    users = vms_using(client, p["namespace"], p["name"])
    if users and not p["force"]:
        raise invalid("force", "NetworkAttachmentDefinition %s/%s is used by VirtualMachine %s; they would not start "
                      "again without it. Detach them or set force: true" % (p["namespace"], p["name"], ", ".join(users)))
    client.delete(NAD, p["name"], p["namespace"])
    result: Dict[str, Any] = {"changed": True, "method": "delete", "result": {}, "config": live_config(live),
                              "used_by": users}
    module.add_diff(result, live, None)
    return result


def run(module: KubevirtModule) -> Dict[str, Any]:
    validate_nad_params(module.params)  # every option checked before any request
    return present(module) if module.params["state"] == "present" else absent(module)


def main() -> None:
    KubevirtModule(ARGUMENT_SPEC, wait=False).execute(run)


if __name__ == "__main__":
    main()
