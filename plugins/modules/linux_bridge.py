#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: linux_bridge
short_description: A Linux bridge for VMs on a KVM host (over a NIC or a bond, with VLANs), live and persistent
version_added: 0.1.0
description:
  - Runs on a Linux host (a kubeadm KubeVirt node or a libvirt host, reached over SSH) and makes the
    bridge O(name) over O(ports) (or over a bond of them, O(bond)), trunking O(vlans), as the
    cluster-side P(virt.kubevirt.node_network_policy#module) does with nmstate.
  - B(Live) - when the chosen O(persist) service (NetworkManager or systemd-networkd) runs, it is told
    to load the files and bring the bridge up; otherwise the change is made with C(ip) and C(bridge)
    batches (iproute2), each one process, so moving an address from a NIC to the bridge is a gap of
    milliseconds that an SSH connection over that NIC survives.
  - B(Persistent) - systemd-networkd C(.netdev)/C(.network) units or NetworkManager keyfiles named
    C(*virt-kubevirt-<name>*) in O(config_dir); the module only rewrites or removes its own files.
  - The NIC's global addresses and default routes move to the bridge. That interrupts the traffic on
    the NIC for a moment, so it needs O(allow_disruptive=true); without it the task fails before
    changing anything and says what would move.
  - O(checkpoint_timeout) arms an automatic rollback, like C(nmstatectl apply --no-commit --timeout),
    so unless a later task commits (O(checkpoint=commit)), the host restores the links, addresses, routes
    and files as they were. The P(virt.kubevirt.host_bridge#role) role re-tests the gateway and its own
    SSH connection in between.
  - Needs iproute2 with JSON output (4.14 or newer) and root.
author:
  - virt.kubevirt maintainers (@virt-kubevirt)
attributes:
  check_mode:
    support: full
    description: Can run in check_mode and return changed status prediction without modifying target.
    details: Reads the host and returns the commands and files it would apply; nothing runs.
  diff_mode:
    support: full
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    details: The links (kind, controller, addresses, default gateways, bridge settings) and the files, before and after.
  platform:
    support: full
    description: Target OS/families that can be operated against.
    platforms: posix
options:
  name:
    description:
      - The bridge, at most 15 characters (the kernel's limit); never shortened.
    type: str
    required: true
  state:
    description:
      - V(absent) moves the bridge's addresses and default route back to the first of O(ports),
        deletes the bridge (and O(bond)) and removes the module's files.
    type: str
    choices: [present, absent]
    default: present
  ports:
    description:
      - The NICs. One NIC becomes the bridge's port; with O(bond), they become the bond's ports and
        the bond the bridge's port. Several NICs without O(bond) are each a port of the bridge (a loop if
        they reach the same switch without STP).
      - Required with O(state=present).
    type: list
    elements: str
  bond:
    description: A bond of O(ports) under the bridge.
    type: dict
    suboptions:
      name:
        description: The bond, at most 15 characters.
        type: str
        required: true
      mode:
        description: The bonding mode.
        type: str
        choices: [balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb]
        default: active-backup
      miimon:
        description: Link monitoring interval in milliseconds.
        type: int
  vlans:
    description:
      - VLAN ids (1 to 4094) the bridge's port carries tagged; VLAN filtering is switched on when
        there are some. Secondary networks then pick a VLAN each (a NAD's C(vlan), a libvirt
        portgroup).
    type: list
    elements: int
    default: []
  stp:
    description: Spanning tree on the bridge.
    type: bool
    default: false
  mtu:
    description: The bridge's MTU (68 to 65535); the NICs keep theirs.
    type: int
  allow_disruptive:
    description:
      - Consent to changes that interrupt traffic for a moment - moving addresses or a default route
        between a NIC and the bridge, rebuilding a bond.
    type: bool
    default: false
  persist:
    description:
      - Where the configuration is kept. V(auto) picks the service that is running, else
        NetworkManager on the RHEL/Fedora family and systemd-networkd elsewhere. V(none) changes the
        running host only.
    type: str
    choices: [auto, networkmanager, networkd, none]
    default: auto
  config_dir:
    description:
      - The service's configuration directory; default C(/etc/systemd/network) or
        C(/etc/NetworkManager/system-connections).
    type: path
  checkpoint_timeout:
    description:
      - Seconds after which a change rolls itself back unless committed with O(checkpoint=commit).
        V(0) commits at once.
    type: int
    default: 0
  checkpoint:
    description:
      - V(commit) keeps the change of the pending checkpoint of O(name); V(rollback) undoes it now.
        No other option is used then.
      - A commit after the timeout has already rolled the host back fails and says so.
    type: str
    choices: [commit, rollback]
  state_dir:
    description: Where checkpoints are kept.
    type: path
    default: /var/lib/virt-kubevirt/linux_bridge
notes:
  - The kernel must support what is asked. Bonds and bridge VLAN filtering are kernel options
    (C(CONFIG_BONDING), C(CONFIG_BRIDGE_VLAN_FILTERING)); when the kernel refuses a command the
    change is undone at once and the task fails with the kernel's answer.
seealso:
  - module: virt.kubevirt.node_network_policy
  - module: virt.kubevirt.network_attachment
"""

EXAMPLES = r"""
- name: A bridge for VMs on a spare NIC
  virt.kubevirt.linux_bridge:
    name: br-vms
    ports: [eth1]

- name: The seed layout - bond of two NICs, a VLAN-trunking bridge on it, rolled back unless committed
  virt.kubevirt.linux_bridge:
    name: br-trunk
    ports: [eth2, eth3]
    bond:
      name: bond0
      mode: 802.3ad
      miimon: 100
    vlans: [20, 30]
    checkpoint_timeout: 120
  register: bridge

- name: Keep it once the gateway still answers
  virt.kubevirt.linux_bridge:
    name: br-trunk
    checkpoint: commit

- name: Put the host's only NIC (and its address) under a bridge - the SSH connection survives it
  virt.kubevirt.linux_bridge:
    name: br0
    ports: [eth0]
    allow_disruptive: true
    checkpoint_timeout: 60

- name: Remove the bridge, its address goes back to eth0
  virt.kubevirt.linux_bridge:
    name: br0
    ports: [eth0]
    state: absent
    allow_disruptive: true
"""

RETURN = r"""
commands:
  description: The iproute2 batch lines run (or that would run in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["ip link add br-vms type bridge stp_state 0 vlan_filtering 0", "ip link set eth1 master br-vms"]
disruptive:
  description: Why the change interrupts traffic (empty when it does not).
  returned: always
  type: list
  elements: str
backend:
  description: V(networkd), V(networkmanager) or V(none), as O(persist) resolved.
  returned: always
  type: str
activated_by:
  description: V(iproute2), the service's reload (V(networkctl), V(nmcli)), or null when nothing ran.
  returned: always
  type: str
files:
  description: The module's files in O(config_dir) that were (or would be) written and removed.
  returned: always
  type: dict
  contains:
    written:
      description: File names.
      type: list
      elements: str
    removed:
      description: File names.
      type: list
      elements: str
checkpoint:
  description: The armed checkpoint (C(path), C(pid), C(timeout), C(expires_at) epoch seconds), or null.
  returned: always
  type: dict
links:
  description: The bridge, the bond and the NICs after the task, as the kernel reports them.
  returned: always
  type: dict
  sample:
    br-vms: {kind: bridge, up: true, mtu: 1500, controller: null, addresses: [], default_gateways: [], stp: false,
             vlan_filtering: false}
    eth1: {kind: veth, up: true, mtu: 1500, controller: br-vms, addresses: [], default_gateways: []}
rollback_output:
  description: What the rollback printed (O(checkpoint=rollback), or a failed change undone at once).
  returned: when a rollback ran
  type: str
"""

import os
from typing import Any, Dict, List, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virt.kubevirt.plugins.module_utils import _hostnet_checkpoint as checkpoints
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._hostnet_apply import (
    pick_backend,
    read_owned,
    reload_commands,
    run_commands,
    run_plan,
    service_running,
    write_files,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._hostnet_files import DEFAULT_DIRS, Addressing, render
from ansible_collections.virt.kubevirt.plugins.module_utils._hostnet_plan import (
    BOND_MODES,
    Wanted,
    plan_absent,
    plan_present,
    rollback,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._hostnet_state import HostNetError, HostState, read_state
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import check_int_range, invalid
from ansible_collections.virt.kubevirt.plugins.module_utils._validate_net import check_interface_name, check_vlan_id

ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "ports": {"type": "list", "elements": "str"},
    "bond": {"type": "dict", "options": {
        "name": {"type": "str", "required": True},
        "mode": {"type": "str", "choices": list(BOND_MODES), "default": "active-backup"},
        "miimon": {"type": "int"},
    }},
    "vlans": {"type": "list", "elements": "int", "default": []},
    "stp": {"type": "bool", "default": False},
    "mtu": {"type": "int"},
    "allow_disruptive": {"type": "bool", "default": False},
    "persist": {"type": "str", "choices": ["auto", "networkmanager", "networkd", "none"], "default": "auto"},
    "config_dir": {"type": "path"},
    "checkpoint_timeout": {"type": "int", "default": 0},
    "checkpoint": {"type": "str", "choices": ["commit", "rollback"]},
    "state_dir": {"type": "path", "default": "/var/lib/virt-kubevirt/linux_bridge"},
}


def wanted_bridge(params: Dict[str, Any]) -> Wanted:
    """The checked request; every problem names its option."""
    name = check_interface_name("name", params["name"])
    ports = params.get("ports") or []
    if params["state"] == "present" and not ports:
        raise invalid("ports", "name at least one NIC for the bridge (state=present)")
    seen = set()
    for index, port in enumerate(ports):
        check_interface_name("ports[%d]" % index, port)
        if port in seen:
            raise invalid("ports[%d]" % index, "%s is listed twice" % port)
        if port == name:
            raise invalid("ports[%d]" % index, "%s is the bridge itself" % port)
        seen.add(port)
    bond = params.get("bond")
    if bond:
        check_interface_name("bond.name", bond["name"])
        if bond["name"] in (name,) + tuple(ports):
            raise invalid("bond.name", "%s is already the bridge or one of ports" % bond["name"])
        if params["state"] == "present" and len(ports) < 2:
            raise invalid("bond.ports", "a bond needs at least two ports, got %d" % len(ports))
        if bond.get("miimon") is not None:
            check_int_range("bond.miimon", bond["miimon"], 0)
    for index, vid in enumerate(params.get("vlans") or []):
        check_vlan_id("vlans[%d]" % index, vid)
    if params.get("mtu") is not None:
        check_int_range("mtu", params["mtu"], 68, 65535)
    check_int_range("checkpoint_timeout", params["checkpoint_timeout"], 0)
    return Wanted(name, ports, bond, params.get("vlans") or [], params["stp"], params.get("mtu"))


def _addressing(wanted: Wanted, state: HostState) -> Addressing:
    """The bridge's layer 3 after the change: what it holds plus what moves to it (as plan_present moves it)."""
    bond = (wanted.bond or {}).get("name")
    sources = [wanted.name] + [p for p in wanted.uplinks if state.master(p) != wanted.name]
    if bond:
        sources += [nic for nic in wanted.nics if state.master(nic) != bond]
    addresses: List[str] = []
    gateways: List[str] = []
    dhcp = False
    for source in sources:
        dhcp = dhcp or state.dynamic(source)
        dynamic = {"%s/%s" % (a["local"], a["prefixlen"]) for a in state.addresses.get(source) or [] if a.get("dynamic")}
        addresses += [a for a in state.global_addresses(source) if a not in dynamic and a not in addresses]
        gateways += [r["gateway"] for r in state.default_routes(source) if r.get("gateway") and r["gateway"] not in gateways]
    return Addressing(addresses, gateways, dhcp)


def _os_release() -> str:
    try:
        with open("/etc/os-release") as handle:
            return handle.read()
    except OSError:
        return ""


def _checkpoint_only(module: HostModule) -> Dict[str, Any]:
    name = check_interface_name("name", module.params["name"])
    path = checkpoints.directory(module.params["state_dir"], name)
    found = checkpoints.pending(path)
    result: Dict[str, Any] = {"changed": found is not None, "commands": [], "disruptive": [], "backend": "none",
                              "activated_by": None, "files": {"written": [], "removed": []}, "checkpoint": found,
                              "links": {}}
    if module.check_mode or found is None:
        return result
    if module.params["checkpoint"] == "commit":
        checkpoints.commit(path)
    else:
        result["rollback_output"] = checkpoints.roll_back(module.sh, path)
    result["links"] = read_state(module.sh).view([name])
    return result


class HostModule(AnsibleModule):
    """AnsibleModule whose ``sh`` answers rc 127 for a missing tool (nmcli, networkctl) instead of failing."""

    def sh(self, args, **kwargs):
        if not self.get_bin_path(args[0]):
            return 127, "", "%s: command not found" % args[0]
        return self.run_command(args, **kwargs)


def run(module: HostModule) -> Dict[str, Any]:
    params = module.params
    if params.get("checkpoint"):
        return _checkpoint_only(module)
    wanted = wanted_bridge(params)
    state = read_state(module.sh)
    missing = [p for p in wanted.nics if state.link(p) is None]
    if params["state"] == "present" and missing:
        raise invalid("ports", "no link named %s on this host (it has: %s)"
                      % (", ".join(missing), ", ".join(sorted(n for n in state.links if n != "lo"))))
    plan = plan_present(wanted, state) if params["state"] == "present" else plan_absent(wanted, state)
    backend = pick_backend(module.sh, params["persist"], _os_release())
    config_dir = params.get("config_dir") or DEFAULT_DIRS.get(backend, "")
    have_files = read_owned(config_dir, wanted.name) if backend != "none" else {}
    want_files = render(backend, wanted, _addressing(wanted, state)) if backend != "none" and params["state"] == "present" else {}
    write = {n: c for n, c in want_files.items() if have_files.get(n) != c}
    remove = sorted(set(have_files) - set(want_files))
    result: Dict[str, Any] = {"changed": not plan.empty or bool(write) or bool(remove), "commands": plan.commands,
                              "disruptive": plan.disruptive, "backend": backend, "activated_by": None,
                              "files": {"written": sorted(write), "removed": remove}, "checkpoint": None,
                              "links": state.view(wanted.names)}
    if module._diff:
        result["diff"] = {"before": {"links": state.view(wanted.names), "files": have_files},
                          "after": {"links": "(as the commands leave them)" if not plan.empty else state.view(wanted.names),
                                    "files": want_files}}
    if plan.disruptive and not params["allow_disruptive"]:
        raise invalid("allow_disruptive", "the change interrupts traffic: %s; set allow_disruptive=true to go ahead"
                      % "; ".join(plan.disruptive))
    if module.check_mode or not result["changed"]:
        return result
    paths = {os.path.join(config_dir, n): (have_files.get(n)) for n in list(write) + remove}
    undo = rollback(state, wanted)
    running = backend != "none" and service_running(module.sh, backend)  # read once: the rollback and the apply use it
    reloads = reload_commands(backend, wanted, "absent") if running else []
    if params["checkpoint_timeout"]:
        result["checkpoint"] = checkpoints.arm(module.sh, checkpoints.directory(params["state_dir"], wanted.name), undo, paths,
                                               reloads, params["checkpoint_timeout"])
    _apply(module, wanted, plan, (backend, running), config_dir, write, remove, result, undo, paths)
    after = read_state(module.sh)
    result["links"] = after.view(wanted.names)
    if module._diff:
        result["diff"]["after"]["links"] = after.view(wanted.names)
    return result


def _apply(module: HostModule, wanted: Wanted, plan, service: Tuple[str, bool], config_dir: str, write: Dict[str, str],
           remove: List[str], result: Dict[str, Any], undo: List[str], paths: Dict[str, Optional[str]]) -> None:
    """``service``: the backend and whether it runs (then it makes the change, iproute2 finishes it)."""
    params = module.params
    backend, running = service
    mode = 0o600 if backend == "networkmanager" else 0o644
    try:
        write_files(config_dir, write, remove, mode)
        if running:
            failure = run_commands(module.sh, reload_commands(backend, wanted, params["state"]))
            if failure:
                raise HostNetError(failure)
            result["activated_by"] = "networkctl" if backend == "networkd" else "nmcli"
            state = read_state(module.sh)  # what the service left for iproute2 to finish
            plan = plan_present(wanted, state) if params["state"] == "present" else plan_absent(wanted, state)
        if not plan.empty:
            run_plan(module.sh, plan)
            result["activated_by"] = result["activated_by"] or "iproute2"
    except HostNetError as err:
        # Undo at once: a half-made bridge may hold the NIC's address while its port is missing.
        module.sh(["ip", "-force", "-batch", "-"], data="\n".join(undo) + "\n", binary_data=False)
        for path, content in paths.items():
            if content is None:
                write_files(os.path.dirname(path), {}, [os.path.basename(path)], mode)
            else:
                write_files(os.path.dirname(path), {os.path.basename(path): content}, [], mode)
        if result.get("checkpoint"):
            checkpoints.commit(result["checkpoint"]["path"])  # nothing left to roll back
        raise HostNetError("%s; the host was put back as it was" % err) from None


def main() -> None:
    module = HostModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        module.exit_json(**run(module))
    except (HostNetError, KubeApiError) as err:
        module.fail_json(msg=str(err))


if __name__ == "__main__":
    main()
