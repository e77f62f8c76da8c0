# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""NodeNetworkState (nmstate.io/v1beta1) read for node_network_state_info: one entry per node with
its interfaces (type, state, MAC, MTU, addresses, ports, VLAN, LLDP neighbours), routes and DNS."""

from __future__ import annotations

import fnmatch
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import find_condition


def _addresses(block: Optional[Mapping[str, Any]]) -> List[str]:
    return ["%s/%s" % (a.get("ip"), a.get("prefix-length")) for a in (block or {}).get("address") or [] if a.get("ip")]


def _ports(iface: Mapping[str, Any]) -> List[str]:
    if iface.get("type") == "bond":
        agg = iface.get("link-aggregation") or {}
        return list(agg.get("port") or agg.get("slaves") or [])
    return [p.get("name") for p in (iface.get("bridge") or {}).get("port") or [] if p.get("name")]


def interface_summary(iface: Mapping[str, Any]) -> Dict[str, Any]:
    ipv4, ipv6 = iface.get("ipv4") or {}, iface.get("ipv6") or {}
    out: Dict[str, Any] = {
        "name": iface.get("name"), "type": iface.get("type"), "state": iface.get("state"),
        "mac_address": iface.get("mac-address"), "mtu": iface.get("mtu"),
        "ipv4": {"enabled": bool(ipv4.get("enabled")), "dhcp": bool(ipv4.get("dhcp")), "addresses": _addresses(ipv4)},
        "ipv6": {"enabled": bool(ipv6.get("enabled")), "dhcp": bool(ipv6.get("dhcp")),
                 "autoconf": bool(ipv6.get("autoconf")), "addresses": _addresses(ipv6)},
        "controller": iface.get("controller"), "ports": _ports(iface),
        "lldp_neighbors": (iface.get("lldp") or {}).get("neighbors") or [],
    }
    if iface.get("type") == "bond":
        out["bond_mode"] = (iface.get("link-aggregation") or {}).get("mode")
    if iface.get("vlan"):
        out["vlan"] = {"base_iface": iface["vlan"].get("base-iface"), "id": iface["vlan"].get("id")}
    return out


def _wanted(iface: Mapping[str, Any], types: Sequence[str], names: Sequence[str]) -> bool:
    if types and iface.get("type") not in types:
        return False
    return not names or any(fnmatch.fnmatchcase(str(iface.get("name")), pattern) for pattern in names)


def state_summary(nns: Mapping[str, Any], types: Sequence[str], names: Sequence[str]) -> Dict[str, Any]:
    status = nns.get("status") or {}
    state = status.get("currentState") or {}
    available = find_condition(nns, "Available") or {}
    return {
        "node": nns["metadata"]["name"],
        "interfaces": [interface_summary(i) for i in state.get("interfaces") or [] if _wanted(i, types, names)],
        "routes": list((state.get("routes") or {}).get("running") or []),
        "dns": dict((state.get("dns-resolver") or {}).get("running") or {}),
        "bridge_mappings": list((state.get("ovn") or {}).get("bridge-mappings") or []),
        "last_successful_update_time": status.get("lastSuccessfulUpdateTime"),
        "available": available.get("status") == "True",
        "current_state": state,
    }
