# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""linux_bridge's persistent configuration: systemd-networkd units or NetworkManager keyfiles.

Every file is named after the bridge with the ``virt-kubevirt`` prefix and its first line names the
bridge it belongs to, so the module only ever rewrites or removes its own files of that bridge. networkd applies the first ``.network`` file matching a link in
lexical order: the ``05-`` prefix puts ours before a distribution's ``10-``/``50-`` defaults.
NetworkManager needs keyfiles readable by root only (mode 0600) and prefers the profile with the
highest ``autoconnect-priority``.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from ansible_collections.virt.kubevirt.plugins.module_utils._hostnet_plan import Wanted

HEADER = "# Managed by virt.kubevirt.linux_bridge for bridge %s; changes here are overwritten.\n"
DEFAULT_DIRS = {"networkd": "/etc/systemd/network", "networkmanager": "/etc/NetworkManager/system-connections"}
PREFIX = "virt-kubevirt-"


class Addressing:
    """The bridge's layer 3 settings: static addresses and gateways, or DHCP."""

    def __init__(self, addresses: Sequence[str] = (), gateways: Sequence[str] = (), dhcp: bool = False) -> None:
        self.addresses = list(addresses)
        self.gateways = list(gateways)
        self.dhcp = dhcp


def _ini(bridge: str, sections: List[tuple]) -> str:
    """``[(section, [(key, value), ...]), ...]`` as an INI text (keys may repeat, as networkd allows)."""
    parts = []
    for section, pairs in sections:
        if pairs:
            parts.append("[%s]\n%s" % (section, "".join("%s=%s\n" % pair for pair in pairs)))
    return HEADER % bridge + "\n".join(parts)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def networkd_files(wanted: Wanted, addressing: Addressing) -> Dict[str, str]:
    """File name -> content of the ``.netdev`` and ``.network`` units."""
    files: Dict[str, str] = {}
    base = "05-%s%s" % (PREFIX, wanted.name)
    netdev = [("Name", wanted.name), ("Kind", "bridge")] + ([("MTUBytes", wanted.mtu)] if wanted.mtu else [])
    bridge = [("STP", _yes(wanted.stp))] + ([("VLANFiltering", "yes")] if wanted.vlans else [])
    files[base + ".netdev"] = _ini(wanted.name, [("NetDev", netdev), ("Bridge", bridge)])
    network = [("Address", a) for a in addressing.addresses] + [("Gateway", g) for g in addressing.gateways]
    if addressing.dhcp:
        network.append(("DHCP", "ipv4"))
    if not network:
        network = [("LinkLocalAddressing", "no")]  # a bridge for guests only: no address of the host on it
    network.append(("ConfigureWithoutCarrier", "yes"))
    files[base + ".network"] = _ini(wanted.name, [("Match", [("Name", wanted.name)]), ("Network", network)])
    vlans = [("VLAN", vid) for vid in wanted.vlans]
    for port in wanted.uplinks:
        sections = [("Match", [("Name", port)]), ("Network", [("Bridge", wanted.name)]), ("BridgeVLAN", vlans)]
        files["%s-%s.network" % (base, port)] = _ini(wanted.name, sections)
    if wanted.bond:
        bond = wanted.bond
        settings = [("Mode", bond["mode"])]
        if bond.get("miimon") is not None:
            settings.append(("MIIMonitorSec", "%dms" % bond["miimon"]))
        files["05-%s%s.netdev" % (PREFIX, bond["name"])] = _ini(wanted.name, [("NetDev", [("Name", bond["name"]), ("Kind", "bond")]),
                                                                ("Bond", settings)])
        for nic in wanted.nics:
            files["05-%s%s-%s.network" % (PREFIX, bond["name"], nic)] = _ini(wanted.name, [("Match", [("Name", nic)]),
                                                                             ("Network", [("Bond", bond["name"])])])
    return files


def _ip_section(addressing: Addressing, family: str) -> List[tuple]:
    six = family == "ipv6"
    addresses = [a for a in addressing.addresses if (":" in a) == six]
    gateway = next((g for g in addressing.gateways if (":" in g) == six), None)
    if addresses:
        pairs = [("method", "manual")] + [("address%d" % (i + 1), a) for i, a in enumerate(addresses)]
        return pairs + ([("gateway", gateway)] if gateway else [])
    if addressing.dhcp and not six:
        return [("method", "auto")]
    return [("method", "disabled")]


def _connection(conn_id: str, conn_type: str, iface: str, controller: Optional[str] = None,
                port_type: Optional[str] = None) -> List[tuple]:
    pairs = [("id", conn_id), ("type", conn_type), ("interface-name", iface), ("autoconnect-priority", 10)]
    if controller:
        pairs += [("master", controller), ("slave-type", port_type)]
    return pairs


def networkmanager_files(wanted: Wanted, addressing: Addressing) -> Dict[str, str]:
    """File name -> content of the keyfiles: the bridge, its ports, and a bond with its NICs."""
    files: Dict[str, str] = {}
    bridge_id = PREFIX + wanted.name
    bridge = [("stp", str(wanted.stp).lower())] + ([("vlan-filtering", "true")] if wanted.vlans else [])
    sections = [("connection", _connection(bridge_id, "bridge", wanted.name)), ("bridge", bridge)]
    if wanted.mtu:
        sections.append(("ethernet", [("mtu", wanted.mtu)]))
    sections += [("ipv4", _ip_section(addressing, "ipv4")), ("ipv6", _ip_section(addressing, "ipv6"))]
    files[bridge_id + ".nmconnection"] = _ini(wanted.name, sections)
    port_vlans = [("vlans", ",".join(str(v) for v in wanted.vlans))] if wanted.vlans else []
    for port in wanted.uplinks:
        port_id = "%s-port-%s" % (bridge_id, port)
        port_type = "bond" if wanted.bond and port == wanted.bond["name"] else "ethernet"
        port_sections = [("connection", _connection(port_id, port_type, port, wanted.name, "bridge")),
                         ("bridge-port", port_vlans)]
        if port_type == "bond":
            options = [("mode", wanted.bond["mode"])]
            if wanted.bond.get("miimon") is not None:
                options.append(("miimon", wanted.bond["miimon"]))
            port_sections.append(("bond", options))
        files[port_id + ".nmconnection"] = _ini(wanted.name, port_sections)
    if wanted.bond:
        for nic in wanted.nics:
            nic_id = "%s-port-%s" % (PREFIX + wanted.bond["name"], nic)
            connection = _connection(nic_id, "ethernet", nic, wanted.bond["name"], "bond")
            files[nic_id + ".nmconnection"] = _ini(wanted.name, [("connection", connection)])
    return files


def render(backend: str, wanted: Wanted, addressing: Addressing) -> Dict[str, str]:
    return networkd_files(wanted, addressing) if backend == "networkd" else networkmanager_files(wanted, addressing)


def owned(contents: Dict[str, str], bridge: str) -> List[str]:
    """Of the directory's files (name -> first line), those this module wrote for ``bridge``."""
    mark = HEADER % bridge
    return sorted(name for name, first in contents.items() if first + "\n" == mark)


def candidates(names: Sequence[str]) -> List[str]:
    """File names that may be ours (their first line tells)."""
    return sorted(n for n in names if n.startswith(PREFIX) or n.startswith("05-" + PREFIX))
