# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``ipam`` section of a CNI config from the module's ``ipam`` option, with the keys each IPAM
plugin reads: containernetworking's ``host-local`` (subnet, rangeStart, rangeEnd, gateway, routes),
``static`` (addresses[].address/gateway, routes) and ``dhcp``, and whereabouts (range, range_start,
range_end, exclude, gateway)."""

from __future__ import annotations

import ipaddress
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._validate import invalid
from ansible_collections.virt.kubevirt.plugins.module_utils._validate_net import (
    check_cidr,
    check_interface_address,
    check_ip,
    parse_cidr,
)

IPAM_TYPES = ("none", "static", "whereabouts", "dhcp", "host-local")
# Sub-options each IPAM type reads (``type`` aside).
_FIELDS = {
    "none": set(),
    "dhcp": set(),
    "static": {"addresses", "gateway", "routes"},
    "whereabouts": {"range", "range_start", "range_end", "exclude", "gateway", "routes"},
    "host-local": {"subnet", "range_start", "range_end", "gateway", "routes"},
}
_ALL_FIELDS = ("addresses", "range", "range_start", "range_end", "exclude", "subnet", "gateway", "routes")


def _inside(option: str, address: str, net: Any, what: str) -> str:
    checked = check_ip(option, address)
    if ipaddress.ip_address(checked) not in net:
        raise invalid(option, "%s is outside ipam.%s %s" % (checked, what, net))
    return checked


def _routes(ipam: Mapping[str, Any]) -> List[Dict[str, str]]:
    routes = []
    for index, route in enumerate(ipam.get("routes") or []):
        where = "ipam.routes[%d]" % index
        if not isinstance(route, Mapping) or not route.get("dst"):
            raise invalid(where + ".dst", "is required (a CIDR such as 0.0.0.0/0)")
        entry = {"dst": str(parse_cidr(where + ".dst", route["dst"], host_bits=False))}
        if route.get("gw"):
            entry["gw"] = check_ip(where + ".gw", route["gw"])
        routes.append(entry)
    return routes


def build_ipam(ipam: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The ``ipam`` JSON (None for type none), or ``invalid`` naming the ``ipam.<field>`` at fault."""
    kind = ipam.get("type") or "none"
    if kind not in IPAM_TYPES:
        raise invalid("ipam.type", "must be one of %s, got %r" % (", ".join(IPAM_TYPES), kind))
    extra = [f for f in _ALL_FIELDS if ipam.get(f) not in (None, []) and f not in _FIELDS[kind]]
    if extra:
        raise invalid("ipam.%s" % extra[0], "does not apply to ipam type %s" % kind)
    if kind == "none":
        return None
    out: Dict[str, Any] = {"type": kind}
    if kind == "static":
        if not ipam.get("addresses"):
            raise invalid("ipam.addresses", "is required with ipam type static (e.g. 192.168.20.10/24)")
        gateway = check_ip("ipam.gateway", ipam["gateway"]) if ipam.get("gateway") else None
        out["addresses"] = []
        for index, address in enumerate(ipam["addresses"]):
            entry = {"address": check_interface_address("ipam.addresses[%d]" % index, address)}
            if gateway:
                entry["gateway"] = gateway
            out["addresses"].append(entry)
    elif kind in ("whereabouts", "host-local"):
        key = "range" if kind == "whereabouts" else "subnet"
        if not ipam.get(key):
            raise invalid("ipam.%s" % key, "is required with ipam type %s (a CIDR such as 192.168.20.0/24)" % kind)
        net = parse_cidr("ipam.%s" % key, ipam[key])
        out[key] = str(ipam[key]).strip()
        names = ("range_start", "range_end") if kind == "whereabouts" else ("rangeStart", "rangeEnd")
        for option, name in zip(("range_start", "range_end"), names):
            if ipam.get(option):
                out[name] = _inside("ipam.%s" % option, ipam[option], net, key)
        if kind == "whereabouts" and ipam.get("exclude"):
            out["exclude"] = [check_cidr("ipam.exclude[%d]" % i, c) for i, c in enumerate(ipam["exclude"])]
        if ipam.get("gateway"):
            out["gateway"] = _inside("ipam.gateway", ipam["gateway"], net, key)
    routes = _routes(ipam)
    if routes:
        out["routes"] = routes
    return out


def check_raw_ipam(where: str, ipam: Mapping[str, Any]) -> None:
    """The address fields of a hand-written ipam section parse (the plugin would fail the pod)."""
    for key in ("range", "subnet"):
        if ipam.get(key) and "-" not in str(ipam[key]):
            parse_cidr("%s.%s" % (where, key), ipam[key])
    for index, address in enumerate(ipam.get("addresses") or []):
        if isinstance(address, Mapping) and address.get("address"):
            check_interface_address("%s.addresses[%d].address" % (where, index), address["address"])
