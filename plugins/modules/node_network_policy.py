#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: node_network_policy
short_description: Manage kubernetes-nmstate NodeNetworkConfigurationPolicies (host networking per node)
version_added: 0.1.0
description:
  - Create, update and remove cluster-scoped C(NodeNetworkConfigurationPolicy) objects (C(nmstate.io/v1)),
    that is bonds, Linux bridges, VLANs, OVS bridges, OVN bridge-mappings (localnet), addresses, routes and DNS
    configured on every node O(node_selector) matches, by the nmstate handler of each node.
  - The desired state is built from the structured options (O(interfaces), O(routes), O(dns),
    O(bridge_mappings)), merged over a raw O(desired_state) for anything else; see O(desired_state).
  - Everything is checked before any request (interface names of at most 15 characters, a port used
    twice or by two controllers, a bond with fewer than two ports, VLAN ids 1 to 4094, address and
    prefix syntax); errors name the interface and field.
  - The policy is server-side applied with the field manager C(virt.kubevirt); an unchanged re-run sends
    no write. nmstate refuses a change of a policy that is still being rolled out and any change of O(capture).
  - With O(wait) (the default) the task waits until every matching node's enactment (C(<node>.<policy>))
    reports the policy's current generation and the policy is C(Available); live progress shows how many
    nodes are done and how many are in progress. When the policy becomes C(Degraded) the task fails with
    each failing node and nmstate's error, the aborted and pending nodes and the nodes the selector did not match.
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
    details: The policy update and the delete are sent as server dry runs; nothing is waited for.
  diff_mode:
    support: full
options:
  name:
    description: Name of the policy (cluster-scoped, at most 63 characters).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the policy.
      - V(absent) removes it as O(removal) says.
    type: str
    choices: [present, absent]
    default: present
  removal:
    description:
      - How V(state=absent) removes the policy.
      - V(revert) (default), the nmstate way, first updates the policy so that each interface, route and
        bridge-mapping it configured is C(state=absent) (and its DNS configuration emptied), waits until every
        node applied that, then deletes the policy. A failing node stops the removal and keeps the policy.
      - V(delete_only) only deletes the object. nmstate never undoes a deleted policy, so the bridges, bonds,
        addresses and routes stay configured on every node, without any object describing them. Use it only
        when another policy already took over those interfaces.
    type: str
    choices: [revert, delete_only]
    default: revert
  node_selector:
    description: Node labels (key to value) a node must carry for the policy to apply (C(spec.nodeSelector)); all nodes without it.
    type: dict
  max_unavailable:
    description:
      - How many matching nodes nmstate configures at once, a count such as V(1) or a percentage such as V(50%)
        (rounded up, at least one node); nmstate's default is V(50%). Other nodes wait as C(Pending)
        (C(MaxUnavailableLimitReached)); once as many nodes failed as this allows, the rest are C(Aborted).
    type: str
  capture:
    description:
      - nmpolicy capture expressions (C(spec.capture)), name to expression, resolved against each node's
        NodeNetworkState, for example V(routes.running.destination=="0.0.0.0/0"); the desired state refers to
        them as C({{ capture.NAME.PATH }}) (wrap them in C({% raw %}...{% endraw %}) or mark them C(!unsafe) so Ansible does not template them).
      - nmstate refuses to change the captures of an existing policy.
    type: dict
  interfaces:
    description: Interfaces of the desired state (C(desiredState.interfaces)), in order.
    type: list
    elements: dict
    suboptions:
      name:
        description: Interface name, at most 15 characters.
        type: str
        required: true
      type:
        description: nmstate interface type; required for an interface the node does not have yet.
        type: str
        choices: [ethernet, bond, linux-bridge, vlan, ovs-bridge, ovs-interface, dummy]
      state:
        description: V(up), V(down) or V(absent) (remove it; a NIC is left down and unconfigured).
        type: str
        choices: [up, down, absent]
        default: up
      description:
        description: Free text kept with the interface.
        type: str
      mtu:
        description: MTU in bytes (68 to 65535).
        type: int
      mac_address:
        description: MAC address to set.
        type: str
      ipv4:
        description: IPv4 settings; C(enabled=false) when omitted from a new interface.
        type: dict
        suboptions:
          enabled:
            description: Whether IPv4 is on.
            type: bool
            default: true
          dhcp:
            description: Take the address by DHCP.
            type: bool
            default: false
          addresses:
            description: Static addresses as V(address/prefix), for example V(192.0.2.10/24).
            type: list
            elements: str
          auto_dns:
            description: With DHCP, use the DNS servers it offers.
            type: bool
      ipv6:
        description: IPv6 settings, as O(interfaces[].ipv4) plus O(interfaces[].ipv6.autoconf).
        type: dict
        suboptions:
          enabled:
            description: Whether IPv6 is on.
            type: bool
            default: true
          dhcp:
            description: Take the address by DHCPv6.
            type: bool
            default: false
          autoconf:
            description: SLAAC.
            type: bool
            default: false
          addresses:
            description: Static addresses as V(address/prefix), for example V(2001:db8::10/64).
            type: list
            elements: str
          auto_dns:
            description: With DHCPv6 or SLAAC, use the DNS servers offered.
            type: bool
      bond:
        description: Bond settings (O(interfaces[].type=bond)), C(link-aggregation).
        type: dict
        suboptions:
          mode:
            description: Bonding mode.
            type: str
            choices: [balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb]
          ports:
            description: The bonded NICs, at least two.
            type: list
            elements: str
          miimon:
            description: Link monitoring interval in milliseconds.
            type: int
          options:
            description: Other kernel bonding options, as nmstate names them.
            type: dict
      bridge:
        description: Bridge settings (O(interfaces[].type=linux-bridge) or V(ovs-bridge)).
        type: dict
        suboptions:
          ports:
            description: Bridge ports.
            type: list
            elements: dict
            suboptions:
              name:
                description: Port interface.
                type: str
                required: true
              vlan_mode:
                description: VLAN filtering on this port; V(trunk) when O(interfaces[].bridge.ports[].trunk) is given.
                type: str
                choices: [trunk, access]
              vlan_tag:
                description: Access VLAN, or the native VLAN of a trunk (1 to 4094).
                type: int
              trunk:
                description: VLAN ids or ranges such as V(100-199) a trunk port carries.
                type: list
                elements: str
          stp:
            description: Spanning tree on or off (Linux bridge); for OVS bridges, C(options.stp).
            type: bool
          allow_extra_patch_ports:
            description: OVS bridge only, keep patch ports created by others (OVN).
            type: bool
      vlan:
        description: VLAN settings (O(interfaces[].type=vlan)).
        type: dict
        suboptions:
          base_iface:
            description: The interface carrying the VLAN.
            type: str
          id:
            description: VLAN id, 1 to 4094.
            type: int
  routes:
    description: Static routes (C(desiredState.routes.config)), added after those of O(desired_state).
    type: list
    elements: dict
    suboptions:
      destination:
        description: Network, such as V(10.0.0.0/8) or V(0.0.0.0/0).
        type: str
        required: true
      next_hop_address:
        description: Gateway address.
        type: str
      next_hop_interface:
        description: Outgoing interface.
        type: str
      metric:
        description: Route metric.
        type: int
      table_id:
        description: Routing table.
        type: int
      state:
        description: V(absent) removes matching routes from the nodes.
        type: str
        choices: [present, absent]
        default: present
  dns:
    description: Static DNS configuration (C(desiredState.dns-resolver.config)); replaces the nodes' static DNS configuration.
    type: dict
    suboptions:
      servers:
        description: Name server addresses.
        type: list
        elements: str
      search:
        description: Search domains.
        type: list
        elements: str
  bridge_mappings:
    description:
      - OVN-Kubernetes localnet mappings (C(desiredState.ovn.bridge-mappings)); a localnet
        NetworkAttachmentDefinition's C(physicalNetworkName) names the O(bridge_mappings[].localnet).
    type: list
    elements: dict
    suboptions:
      localnet:
        description: The localnet (physical network) name.
        type: str
        required: true
      bridge:
        description: The OVS bridge it maps to (required unless V(state=absent)).
        type: str
      state:
        description: V(absent) removes the mapping.
        type: str
        choices: [present, absent]
        default: present
  desired_state:
    description:
      - A raw nmstate desired state for anything the structured options do not cover (ethtool, LLDP,
        route rules, VRFs, ...).
      - Merged, not exclusive. An interface in O(interfaces) replaces the raw interface of the same name
        (others are kept, raw ones first). O(routes) are appended to C(routes.config). O(dns) and O(bridge_mappings)
        replace C(dns-resolver) and C(ovn). Other keys are sent as written.
    type: dict
  wait:
    description:
      - Wait until the policy is C(Available) for its current generation (every matching node configured),
        C(Degraded) (the task fails with the per-node report), or matches no node (a warning). Defaults to V(true).
      - With V(state=absent), also waits until the policy is gone. The revert step of O(removal=revert)
        is always waited for, whatever this says.
    type: bool
    default: true
notes:
  - nmstate checks interface existence and address conflicts on each node only when it applies the
    policy; a missing port or an address another node holds fails that node with C(FailedToConfigure).
"""

EXAMPLES = r"""
- name: A Linux bridge on the second NIC of every worker, one node at a time
  virt.kubevirt.node_network_policy:
    name: br1-eth1
    node_selector:
      node-role.kubernetes.io/worker: ""
    max_unavailable: "1"
    interfaces:
      - name: br1
        type: linux-bridge
        bridge:
          stp: false
          ports:
            - name: eth1

- name: A bond of two NICs, a VLAN-filtering bridge on it and a VLAN interface with a static address
  virt.kubevirt.node_network_policy:
    name: bond0-br-vlans
    interfaces:
      - name: bond0
        type: bond
        bond:
          mode: 802.3ad
          miimon: 100
          ports: [eth2, eth3]
      - name: br-trunk
        type: linux-bridge
        bridge:
          ports:
            - name: bond0
              trunk: ["100-199", "300"]
      - name: bond0.300
        type: vlan
        vlan:
          base_iface: bond0
          id: 300
        ipv4:
          addresses: [192.0.2.10/24]

- name: An OVS bridge for OVN localnet secondary networks
  virt.kubevirt.node_network_policy:
    name: ovs-localnet
    interfaces:
      - name: ovs-br1
        type: ovs-bridge
        bridge:
          allow_extra_patch_ports: true
          ports:
            - name: eth1
    bridge_mappings:
      - localnet: physnet
        bridge: ovs-br1

- name: MTU 9000 on whatever NIC carries the default route (nmpolicy capture)
  virt.kubevirt.node_network_policy:
    name: jumbo-default-nic
    capture:
      gw: routes.running.destination=="0.0.0.0/0"
      nic: interfaces.name==capture.gw.routes.running.0.next-hop-interface
    desired_state:
      interfaces:
        - name: "{% raw %}{{ capture.nic.interfaces.0.name }}{% endraw %}"
          mtu: 9000

- name: Remove the bridge from the nodes, then the policy
  virt.kubevirt.node_network_policy:
    name: br1-eth1
    state: absent
"""

RETURN = r"""
policy:
  description: The policy after the task; empty when it was deleted or in check mode for a new one that was not created.
  returned: when O(state=present) or the revert step ran
  type: dict
  contains:
    name:
      description: Name of the policy.
      type: str
    generation:
      description: C(metadata.generation), the one the enactments report once they applied this spec.
      type: int
    spec:
      description: C(spec) as stored (nodeSelector, maxUnavailable, capture, desiredState).
      type: dict
    conditions:
      description: C(status.conditions) (Available, Degraded, Progressing, Ignored) with nmstate's reasons and messages.
      type: list
      elements: dict
    unavailable_node_count:
      description: Nodes being configured now (C(status.unavailableNodeCount)).
      type: int
    verdict:
      description: V(Available), V(Degraded), V(NoMatchingNode) or V(Progressing).
      type: str
  sample:
    name: br1-eth1
    generation: 1
    verdict: Available
    unavailable_node_count: 0
    spec: {maxUnavailable: 1, desiredState: {interfaces: [{name: br1, type: linux-bridge, state: up}]}}
    conditions:
      - {type: Available, status: "True", reason: SuccessfullyConfigured, message: 3/3 nodes successfully configured}
enactments:
  description: One entry per matching node, from its enactment C(<node>.<policy>), once the task waited.
  returned: always
  type: list
  elements: dict
  contains:
    node:
      description: Node name.
      type: str
    state:
      description: V(Available), V(Failing), V(Progressing), V(Pending) or V(Aborted).
      type: str
    reason:
      description: The condition's reason (SuccessfullyConfigured, FailedToConfigure, MaxUnavailableLimitReached, ConfigurationAborted).
      type: str
    message:
      description: The condition's message; for a failure the nmstate handler's full text.
      type: str
    policy_generation:
      description: The policy generation the enactment is about.
      type: int
    since:
      description: When the enactment entered this state (C(lastTransitionTime)).
      type: str
  sample:
    - {node: node01, state: Available, reason: SuccessfullyConfigured, message: successfully reconciled,
       policy_generation: 1, since: "2026-12-03T10:00:04Z"}
unmatched_nodes:
  description: Nodes the policy's node selector does not match.
  returned: when the policy is Degraded or matches no node
  type: list
  elements: str
  sample: [master-0]
method:
  description: V(create), V(update), V(revert+delete), V(delete) or V(none).
  returned: always
  type: str
  sample: create
progress:
  description:
    - The rollout states observed while the task waited, oldest first; the first and the newest 99
      are kept. When the task runs in the controller's worker they are also shown in the play output.
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
      description: The object, as C(Kind name).
      type: str
    state:
      description: The policy's verdict and nmstate's message, plus the nodes in progress.
      type: str
  sample:
    - {time: "2026-12-03T10:00:01Z", elapsed: 0.3, subject: NodeNetworkConfigurationPolicy br1-eth1,
       state: "Progressing: Policy is progressing 1/3 nodes finished, 1 in progress"}
    - {time: "2026-12-03T10:00:09Z", elapsed: 8.2, subject: NodeNetworkConfigurationPolicy br1-eth1,
       state: "Available: 3/3 nodes successfully configured"}
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule
from ansible_collections.virt.kubevirt.plugins.module_utils._nncp_flow import run as run_flow
from ansible_collections.virt.kubevirt.plugins.module_utils._nncp_spec import (
    BOND_MODES,
    validate_policy_params,
    validate_removal_params,
)

_IP = {"enabled": {"type": "bool", "default": True}, "dhcp": {"type": "bool", "default": False},
       "addresses": {"type": "list", "elements": "str"}, "auto_dns": {"type": "bool"}}
ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "removal": {"type": "str", "choices": ["revert", "delete_only"], "default": "revert"},
    "node_selector": {"type": "dict"},
    "max_unavailable": {"type": "str"},
    "capture": {"type": "dict"},
    "interfaces": {"type": "list", "elements": "dict", "options": {
        "name": {"type": "str", "required": True},
        "type": {"type": "str", "choices": ["ethernet", "bond", "linux-bridge", "vlan", "ovs-bridge", "ovs-interface",
                                            "dummy"]},
        "state": {"type": "str", "choices": ["up", "down", "absent"], "default": "up"},
        "description": {"type": "str"},
        "mtu": {"type": "int"},
        "mac_address": {"type": "str"},
        "ipv4": {"type": "dict", "options": dict(_IP)},
        "ipv6": {"type": "dict", "options": dict(_IP, autoconf={"type": "bool", "default": False})},
        "bond": {"type": "dict", "options": {
            "mode": {"type": "str", "choices": list(BOND_MODES)},
            "ports": {"type": "list", "elements": "str"},
            "miimon": {"type": "int"},
            "options": {"type": "dict"},
        }},
        "bridge": {"type": "dict", "options": {
            "ports": {"type": "list", "elements": "dict", "options": {
                "name": {"type": "str", "required": True},
                "vlan_mode": {"type": "str", "choices": ["trunk", "access"]},
                "vlan_tag": {"type": "int"},
                "trunk": {"type": "list", "elements": "str"},
            }},
            "stp": {"type": "bool"},
            "allow_extra_patch_ports": {"type": "bool"},
        }},
        "vlan": {"type": "dict", "options": {"base_iface": {"type": "str"}, "id": {"type": "int"}}},
    }},
    "routes": {"type": "list", "elements": "dict", "options": {
        "destination": {"type": "str", "required": True},
        "next_hop_address": {"type": "str"},
        "next_hop_interface": {"type": "str"},
        "metric": {"type": "int"},
        "table_id": {"type": "int"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }},
    "dns": {"type": "dict", "options": {"servers": {"type": "list", "elements": "str"},
                                        "search": {"type": "list", "elements": "str"}}},
    "bridge_mappings": {"type": "list", "elements": "dict", "options": {
        "localnet": {"type": "str", "required": True},
        "bridge": {"type": "str"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }},
    "desired_state": {"type": "dict"},
    "wait": {"type": "bool", "default": True},
}


def run(module: KubevirtModule) -> Dict[str, Any]:
    absent = module.params["state"] == "absent"
    return run_flow(module, validate_removal_params if absent else validate_policy_params)


def main() -> None:
    KubevirtModule(ARGUMENT_SPEC).execute(run)


if __name__ == "__main__":
    main()
