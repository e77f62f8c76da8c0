#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: node_network_state_info
short_description: Read kubernetes-nmstate NodeNetworkStates (each node's interfaces, routes and DNS)
version_added: 0.1.0
description:
  - Lists the C(NodeNetworkState) of each node (C(nmstate.io/v1beta1)), as the node's nmstate handler
    reports it, so that a play can pick NIC names before writing a
    P(virt.kubevirt.node_network_policy#module) policy.
  - One list request; O(node_selector) adds one list of the nodes with that label selector.
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
  nodes:
    description: Only these nodes (names).
    type: list
    elements: str
  node_selector:
    description: Only nodes matching this label selector, for example V(node-role.kubernetes.io/worker).
    type: str
  interface_types:
    description: Only interfaces of these nmstate types, for example V(ethernet) or V(linux-bridge).
    type: list
    elements: str
  interface_names:
    description: Only interfaces whose name matches one of these shell patterns, for example V(eth*).
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: The NICs of the workers
  virt.kubevirt.node_network_state_info:
    node_selector: node-role.kubernetes.io/worker
    interface_types: [ethernet]
  register: nics

- name: The unused NICs of the first worker
  ansible.builtin.debug:
    msg: "{{ nics.states[0].interfaces | selectattr('controller', 'none') | rejectattr('ipv4.enabled') | map(attribute='name') }}"
"""

RETURN = r"""
states:
  description: One entry per node, by node name.
  returned: always
  type: list
  elements: dict
  contains:
    node:
      description: Node name.
      type: str
    interfaces:
      description: The interfaces the filters keep.
      type: list
      elements: dict
      contains:
        name:
          description: Interface name.
          type: str
        type:
          description: nmstate type (ethernet, bond, linux-bridge, vlan, ovs-bridge, loopback, ...).
          type: str
        state:
          description: V(up), V(down) or V(ignore).
          type: str
        mac_address:
          description: MAC address.
          type: str
        mtu:
          description: MTU.
          type: int
        ipv4:
          description: C(enabled), C(dhcp) and C(addresses) (as V(address/prefix)).
          type: dict
        ipv6:
          description: C(enabled), C(dhcp), C(autoconf) and C(addresses).
          type: dict
        controller:
          description: The bond or bridge this interface is a port of; null when none.
          type: str
        ports:
          description: Ports of a bond or bridge.
          type: list
          elements: str
        bond_mode:
          description: Bonding mode of a bond.
          type: str
          returned: for bonds
        vlan:
          description: C(base_iface) and C(id) of a VLAN interface.
          type: dict
          returned: for VLAN interfaces
        lldp_neighbors:
          description: LLDP neighbour TLVs when LLDP is enabled on the interface.
          type: list
          elements: list
    routes:
      description: Running routes (C(routes.running)).
      type: list
      elements: dict
    dns:
      description: Running DNS configuration (C(server), C(search)).
      type: dict
    bridge_mappings:
      description: OVN bridge-mappings (C(ovn.bridge-mappings)).
      type: list
      elements: dict
    last_successful_update_time:
      description: When the handler last refreshed the state.
      type: str
    available:
      description: Whether the state's C(Available) condition is true.
      type: bool
    current_state:
      description: The full C(status.currentState), unfiltered.
      type: dict
  sample:
    - node: node01
      interfaces:
        - {name: eth1, type: ethernet, state: up, mac_address: "52:54:00:01:01:01", mtu: 1500, controller: null, ports: [],
           ipv4: {enabled: false, dhcp: false, addresses: []}, ipv6: {enabled: false, dhcp: false, autoconf: false, addresses: []},
           lldp_neighbors: []}
      routes: [{destination: 0.0.0.0/0, next-hop-address: 192.168.66.1, next-hop-interface: eth0}]
      dns: {server: [192.168.66.1]}
      bridge_mappings: []
      last_successful_update_time: "2026-12-03T10:00:00Z"
      available: true
      current_state: {}
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule
from ansible_collections.virt.kubevirt.plugins.module_utils._nncp_spec import NNS
from ansible_collections.virt.kubevirt.plugins.module_utils._nns_info import state_summary
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import NODE
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import check_resource_name
from ansible_collections.virt.kubevirt.plugins.module_utils._validate_selector import check_label_selector

ARGUMENT_SPEC: Dict[str, Any] = {
    "nodes": {"type": "list", "elements": "str"},
    "node_selector": {"type": "str"},
    "interface_types": {"type": "list", "elements": "str"},
    "interface_names": {"type": "list", "elements": "str"},
}


def run(module: KubevirtModule) -> Dict[str, Any]:
    params = module.params
    for index, name in enumerate(params.get("nodes") or []):
        check_resource_name("nodes[%d]" % index, name)
    if params.get("node_selector"):
        check_label_selector("node_selector", params["node_selector"])
    wanted = set(params.get("nodes") or [])
    states = module.client.list(NNS)
    if params.get("node_selector"):
        selected = {n["metadata"]["name"] for n in module.client.list(NODE, label_selector=params["node_selector"])}
        states = [s for s in states if s["metadata"]["name"] in selected]
    if wanted:
        states = [s for s in states if s["metadata"]["name"] in wanted]
    types, names = params.get("interface_types") or [], params.get("interface_names") or []
    return {"changed": False, "states": [state_summary(s, types, names)
                                         for s in sorted(states, key=lambda s: s["metadata"]["name"])]}


def main() -> None:
    KubevirtModule(ARGUMENT_SPEC, wait=False).execute(run)


if __name__ == "__main__":
    main()
