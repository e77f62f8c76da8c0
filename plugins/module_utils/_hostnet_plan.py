# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""linux_bridge's plan: the iproute2 commands from the host's state to the wanted bridge, and back.

A plan is two batches (``ip -batch`` and ``bridge -batch`` lines) so the whole change runs in two
processes: moving an address from a NIC to the bridge that now holds it is a few milliseconds, and an
SSH connection over that NIC survives it. The inverse plan (``rollback``) is computed from the state
read before the change, so a checkpoint can restore exactly what was there.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from ansible_collections.virt.kubevirt.plugins.module_utils._hostnet_state import HostNetError, HostState

BOND_MODES = ("balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb")


class Wanted:
    """The bridge the user asked for: name, uplinks (NICs, or a bond of them), VLANs, STP and MTU."""

    def __init__(self, name: str, ports: Sequence[str], bond: Optional[Dict[str, Any]] = None,
                 vlans: Sequence[int] = (), stp: bool = False, mtu: Optional[int] = None) -> None:
        self.name = name
        self.nics = list(ports)
        self.bond = dict(bond) if bond else None
        self.vlans = sorted(set(vlans))
        self.stp = stp
        self.mtu = mtu

    @property
    def uplinks(self) -> List[str]:
        """The bridge's ports: the bond, or each NIC."""
        return [self.bond["name"]] if self.bond else list(self.nics)

    @property
    def names(self) -> List[str]:
        return [self.name] + ([self.bond["name"]] if self.bond else []) + list(self.nics)


class Plan:
    """Commands to run and what they move, plus why the change interrupts traffic (if it does)."""

    def __init__(self) -> None:
        self.ip: List[str] = []
        self.bridge: List[str] = []
        self.disruptive: List[str] = []

    @property
    def empty(self) -> bool:
        return not self.ip and not self.bridge

    @property
    def commands(self) -> List[str]:
        return ["ip " + line for line in self.ip] + ["bridge " + line for line in self.bridge]


def _family(address: str) -> str:
    return "-6 " if ":" in address else ""


def _move_addresses(plan: Plan, state: HostState, source: str, target: str) -> None:
    """Addresses and default routes of ``source`` go to ``target`` (add first, then delete: no gap)."""
    addresses = state.global_addresses(source)
    routes = state.default_routes(source)
    for address in addresses:
        plan.ip.append("addr add %s dev %s" % (address, target))
    for address in addresses:
        plan.ip.append("addr del %s dev %s" % (address, source))
    for route in routes:
        via = " via %s" % route["gateway"] if route.get("gateway") else ""
        metric = " metric %s" % route["metric"] if route.get("metric") is not None else ""
        six = "-6 " if route.get("family") == "inet6" else ""
        plan.ip.append("%sroute replace default%s dev %s%s" % (six, via, target, metric))
    if addresses or routes:
        what = ", ".join(addresses + ["the default route via %s" % r.get("gateway") for r in routes])
        plan.disruptive.append("moving %s from %s to %s interrupts the traffic through %s for a moment "
                               "(an SSH connection over it included)" % (what, source, target, source))


def _bridge(plan: Plan, wanted: Wanted, state: HostState) -> None:
    filtering = 1 if wanted.vlans else 0
    if state.kind(wanted.name) is None:
        # vlan_filtering only when wanted: kernels without CONFIG_BRIDGE_VLAN_FILTERING refuse even "0".
        plan.ip.append("link add %s type bridge stp_state %d%s"
                       % (wanted.name, int(wanted.stp), " vlan_filtering 1" if filtering else ""))
    elif state.kind(wanted.name) != "bridge":
        raise_not_bridge(wanted.name, state.kind(wanted.name))
    else:
        info = state.info(wanted.name)
        changes = ""
        if bool(info.get("stp_state")) != wanted.stp:
            changes += " stp_state %d" % int(wanted.stp)
        if int(info.get("vlan_filtering") or 0) != filtering:
            changes += " vlan_filtering %d" % filtering
        if changes:
            plan.ip.append("link set %s type bridge%s" % (wanted.name, changes))
    if wanted.mtu is not None and (state.link(wanted.name) or {}).get("mtu") != wanted.mtu:
        plan.ip.append("link set %s mtu %d" % (wanted.name, wanted.mtu))
    if not state.is_up(wanted.name):
        plan.ip.append("link set %s up" % wanted.name)  # before any route moves onto it


def _bond(plan: Plan, wanted: Wanted, state: HostState) -> List[str]:
    """The bond and its NICs; returns the NICs that join it now (their addresses move to the bridge)."""
    bond = wanted.bond or {}
    name, kind = bond["name"], state.kind(bond["name"])
    info = state.info(name)
    settings = "mode %s%s" % (bond["mode"], " miimon %d" % bond["miimon"] if bond.get("miimon") is not None else "")
    rebuilt = False
    if kind is None:
        plan.ip.append("link add %s type bond %s" % (name, settings))
    elif kind != "bond":
        plan.ip.append("link del %s" % name)
        plan.ip.append("link add %s type bond %s" % (name, settings))
        plan.disruptive.append("%s is a %s, not a bond: it is deleted and made again" % (name, kind))
    elif info.get("mode") != bond["mode"]:
        # The kernel refuses a mode change while the bond has ports: release, change, enslave again.
        for nic in state.ports_of(name):
            plan.ip.append("link set %s nomaster" % nic)
        plan.ip.append("link set %s down" % name)
        plan.ip.append("link set %s type bond mode %s" % (name, bond["mode"]))
        plan.disruptive.append("changing %s's mode from %s to %s releases its ports for a moment"
                               % (name, info.get("mode"), bond["mode"]))
        rebuilt = True
    if kind == "bond" and bond.get("miimon") is not None and info.get("miimon") != bond["miimon"]:
        plan.ip.append("link set %s type bond miimon %d" % (name, bond["miimon"]))
    joining = []
    for nic in wanted.nics:
        if state.master(nic) != name or rebuilt:
            plan.ip.append("link set %s down" % nic)  # a bond only takes ports that are down
            plan.ip.append("link set %s master %s" % (nic, name))
            plan.ip.append("link set %s up" % nic)
            if state.master(nic) != name:
                joining.append(nic)
        elif not state.is_up(nic):
            plan.ip.append("link set %s up" % nic)
    return joining


def plan_present(wanted: Wanted, state: HostState) -> Plan:
    """Bridge first (up, so routes can move onto it), then the bond, the ports, the moves, the VLANs."""
    plan = Plan()
    _bridge(plan, wanted, state)
    moving = _bond(plan, wanted, state) if wanted.bond else []
    for port in wanted.uplinks:
        if state.master(port) != wanted.name:
            plan.ip.append("link set %s master %s" % (port, wanted.name))
            moving.append(port)
        if not state.is_up(port) or port not in state.links:
            plan.ip.append("link set %s up" % port)
    for source in moving:
        _move_addresses(plan, state, source, wanted.name)
    for port in wanted.uplinks:
        have = set(state.vlans.get(port) or []) - {1}  # VLAN 1 is the bridge's default PVID
        for vid in wanted.vlans:
            if vid not in have:
                plan.bridge.append("vlan add dev %s vid %d" % (port, vid))
        for vid in sorted(have - set(wanted.vlans)):
            plan.bridge.append("vlan del dev %s vid %d" % (port, vid))
    return plan


def raise_not_bridge(name: str, kind: Optional[str]) -> None:
    raise HostNetError("name: %s exists and is a %s link, not a bridge; pick another name or remove it first"
                       % (name, kind))


def plan_absent(wanted: Wanted, state: HostState) -> Plan:
    """Ports released, the bridge's addresses and default route back on the first NIC, links deleted."""
    plan = Plan()
    if state.kind(wanted.name) == "bridge":
        ports = state.ports_of(wanted.name)
        for port in ports:
            plan.ip.append("link set %s nomaster" % port)
        home = wanted.nics[0] if wanted.nics else (ports[0] if ports else None)
        if home and (state.global_addresses(wanted.name) or state.default_routes(wanted.name)):
            if wanted.bond and state.master(home) == wanted.bond["name"]:
                plan.ip.append("link set %s nomaster" % home)
            _move_addresses(plan, state, wanted.name, home)
            plan.ip.append("link set %s up" % home)
        plan.ip.append("link del %s" % wanted.name)
    if wanted.bond and state.kind(wanted.bond["name"]) == "bond":
        plan.ip.append("link del %s" % wanted.bond["name"])
        for nic in wanted.nics:
            plan.ip.append("link set %s up" % nic)
    return plan


def rollback(before: HostState, wanted: Wanted) -> List[str]:
    """``ip -batch`` lines that put the links of ``wanted`` back as ``before`` had them (run with -force:
    a line about a link that is already gone fails alone)."""
    lines: List[str] = []
    for name in (wanted.name, (wanted.bond or {}).get("name")):  # made again if the change deleted them
        if name and before.kind(name) == "bridge":
            lines.append("link add %s type bridge" % name)
        elif name and before.kind(name) == "bond":
            lines.append("link add %s type bond mode %s" % (name, before.info(name).get("mode") or "balance-rr"))
    for name in wanted.names:
        if before.link(name) is None:
            continue
        if before.kind(before.master(name) or "") == "bond":
            lines.append("link set %s down" % name)  # a bond's port must be down to join it again
        lines.append("link set %s %s" % (name, "master %s" % before.master(name) if before.master(name) else "nomaster"))
    for name in (wanted.name, (wanted.bond or {}).get("name")):
        if name and before.link(name) is None:
            lines.append("link del %s" % name)
    if before.kind(wanted.name) == "bridge":
        info = before.info(wanted.name)
        lines.append("link set %s type bridge stp_state %d" % (wanted.name, int(bool(info.get("stp_state")))))
        if info.get("vlan_filtering") is not None and int(info["vlan_filtering"]) != (1 if wanted.vlans else 0):
            lines.append("link set %s type bridge vlan_filtering %d" % (wanted.name, int(info["vlan_filtering"])))
    for name in wanted.names:
        link = before.link(name)
        if link is None:
            continue
        lines.append("addr flush dev %s scope global" % name)
        for address in before.global_addresses(name):
            lines.append("%saddr add %s dev %s" % (_family(address), address, name))
        lines.append("link set %s mtu %s" % (name, link.get("mtu")))
        lines.append("link set %s %s" % (name, "up" if before.is_up(name) else "down"))
    for route in before.routes:
        if route.get("dev") in wanted.names and before.link(route["dev"]) is not None:
            via = " via %s" % route["gateway"] if route.get("gateway") else ""
            six = "-6 " if route.get("family") == "inet6" else ""
            lines.append("%sroute replace default%s dev %s" % (six, via, route["dev"]))
    return lines
