# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""NodeNetworkConfigurationPolicy (nmstate.io/v1): structured options checked, then the nmstate
desired state (interfaces, routes, dns-resolver, ovn bridge-mappings) and the policy to apply."""

from __future__ import annotations

import copy
import ipaddress
import re
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._resources import ResourceRef
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import (
    check_int_range,
    check_labels,
    check_mac,
    check_resource_name,
    invalid,
)

NNCP = ResourceRef("nmstate.io", "v1", "nodenetworkconfigurationpolicies", "NodeNetworkConfigurationPolicy",
                   namespaced=False)
NNCE = ResourceRef("nmstate.io", "v1beta1", "nodenetworkconfigurationenactments",
                   "NodeNetworkConfigurationEnactment", namespaced=False)
NNS = ResourceRef("nmstate.io", "v1beta1", "nodenetworkstates", "NodeNetworkState", namespaced=False)
POLICY_LABEL = "nmstate.io/policy"
IFNAMSIZ = 15  # Linux interface names: 16 bytes with the terminating NUL
BOND_MODES = ("balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb")
_PERCENT = re.compile(r"^(\d+)%$")
_TRUNK = re.compile(r"^(\d+)(?:-(\d+))?$")


# -- checks ---------------------------------------------------------------------------------------
def _iface_option(iface: Mapping[str, Any], field: str) -> str:
    return "interfaces[%s].%s" % (iface.get("name"), field)


def check_iface_name(option: str, name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise invalid(option, "an interface name is required")
    if len(name) > IFNAMSIZ:
        raise invalid(option, "%r is %d characters; Linux interface names are at most %d" % (name, len(name), IFNAMSIZ))
    if "/" in name or any(c.isspace() for c in name) or name in (".", ".."):
        raise invalid(option, "%r may not contain '/' or whitespace" % name)
    return name


def check_cidr(option: str, value: Any, version: int) -> str:
    try:
        iface = ipaddress.ip_interface(value) if isinstance(value, str) and "/" in value else None
    except ValueError:
        iface = None
    if iface is None or iface.version != version:
        raise invalid(option, "%r is not an IPv%d address with a prefix length, such as %s" % (
            value, version, "192.0.2.10/24" if version == 4 else "2001:db8::10/64"))
    return value


def _check_vlan_id(option: str, value: Any) -> int:
    return check_int_range(option, value, 1, 4094)


def _check_ip_block(iface: Mapping[str, Any], family: str) -> None:
    block = iface.get(family)
    if not block:
        return
    version = 4 if family == "ipv4" else 6
    for index, address in enumerate(block.get("addresses") or []):
        check_cidr(_iface_option(iface, "%s.addresses[%d]" % (family, index)), address, version)
    if block.get("addresses") and block.get("dhcp"):
        raise invalid(_iface_option(iface, family), "dhcp and static addresses exclude each other")


def _check_ports(iface: Mapping[str, Any], section: str, ports: List[Any]) -> None:
    seen = set()
    for index, port in enumerate(ports):
        name = port if isinstance(port, str) else (port or {}).get("name")
        check_iface_name(_iface_option(iface, "%s.ports[%d]" % (section, index)), name)
        if name in seen:
            raise invalid(_iface_option(iface, "%s.ports" % section), "%s is listed twice" % name)
        seen.add(name)


def _check_trunk(option: str, entries: List[Any]) -> None:
    for index, entry in enumerate(entries or []):
        match = _TRUNK.match(str(entry))
        if not match:
            raise invalid("%s[%d]" % (option, index), "%r is not a VLAN id or a range such as 100-199" % entry)
        low = _check_vlan_id("%s[%d]" % (option, index), int(match[1]))
        if match[2] and _check_vlan_id("%s[%d]" % (option, index), int(match[2])) < low:
            raise invalid("%s[%d]" % (option, index), "range %r ends before it starts" % entry)


def check_interface(iface: Mapping[str, Any]) -> None:
    check_iface_name("interfaces[%s].name" % iface.get("name"), iface.get("name"))
    kind = iface.get("type")
    if iface.get("mac_address") is not None:
        check_mac(_iface_option(iface, "mac_address"), iface["mac_address"])
    if iface.get("mtu") is not None:
        check_int_range(_iface_option(iface, "mtu"), iface["mtu"], 68, 65535)
    for family in ("ipv4", "ipv6"):
        _check_ip_block(iface, family)
    for section, kinds in (("bond", ("bond",)), ("bridge", ("linux-bridge", "ovs-bridge")), ("vlan", ("vlan",))):
        if iface.get(section) and kind not in kinds:
            raise invalid(_iface_option(iface, section), "only for type %s, the interface is %s" % (
                " or ".join(kinds), kind or "untyped"))
    if iface.get("state") == "absent":
        return
    if kind == "bond":
        bond = iface.get("bond") or {}
        if not bond.get("mode"):
            raise invalid(_iface_option(iface, "bond.mode"), "a bond needs a mode (%s)" % ", ".join(BOND_MODES))
        ports = bond.get("ports") or []
        _check_ports(iface, "bond", ports)
        if len(ports) < 2:
            raise invalid(_iface_option(iface, "bond.ports"),
                          "a bond needs at least two ports, got %d; use the NIC itself instead" % len(ports))
        if bond.get("miimon") is not None:
            check_int_range(_iface_option(iface, "bond.miimon"), bond["miimon"], 0)
    if kind in ("linux-bridge", "ovs-bridge"):
        ports = (iface.get("bridge") or {}).get("ports") or []
        _check_ports(iface, "bridge", ports)
        for index, port in enumerate(ports):
            option = _iface_option(iface, "bridge.ports[%d]" % index)
            if port.get("vlan_tag") is not None:
                _check_vlan_id(option + ".vlan_tag", port["vlan_tag"])
            _check_trunk(option + ".trunk", port.get("trunk") or [])
            if port.get("trunk") and port.get("vlan_mode") == "access":
                raise invalid(option + ".trunk", "an access port carries one VLAN (vlan_tag), not trunks")
    if kind == "vlan":
        vlan = iface.get("vlan") or {}
        check_iface_name(_iface_option(iface, "vlan.base_iface"), vlan.get("base_iface"))
        if vlan.get("id") is None:
            raise invalid(_iface_option(iface, "vlan.id"), "a VLAN interface needs its id (1..4094)")
        _check_vlan_id(_iface_option(iface, "vlan.id"), vlan["id"])


def ports_of(iface: Mapping[str, Any]) -> List[str]:
    section = "bond" if iface.get("type") == "bond" else "bridge"
    return [p if isinstance(p, str) else p.get("name") for p in (iface.get(section) or {}).get("ports") or []]


def check_max_unavailable(value: Optional[str]) -> None:
    if value is None:
        return
    match = _PERCENT.match(value)
    if match:
        check_int_range("max_unavailable", int(match[1]), 1, 100)
    elif value.isdigit():
        check_int_range("max_unavailable", int(value), 1)
    else:
        raise invalid("max_unavailable", "must be a node count such as 1 or a percentage such as 50%%, got %r" % value)


def validate_policy_params(params: Mapping[str, Any]) -> None:
    """Every option before any request: nmstate would only fail later, per node, after the rollout."""
    check_resource_name("name", params["name"], max_length=63)
    check_labels("node_selector", params.get("node_selector"))
    check_max_unavailable(params.get("max_unavailable"))
    owners: Dict[str, str] = {}
    names = set()
    for iface in params.get("interfaces") or []:
        check_interface(iface)
        if iface["name"] in names:
            raise invalid("interfaces[%s]" % iface["name"], "the interface is declared twice")
        names.add(iface["name"])
        for port in ports_of(iface) if iface.get("state") != "absent" else []:
            if port in owners:
                raise invalid(_iface_option(iface, "%s.ports" % ("bond" if iface.get("type") == "bond" else "bridge")),
                              "%s is already a port of %s; a port belongs to one controller" % (port, owners[port]))
            if port == iface["name"]:
                raise invalid(_iface_option(iface, "ports"), "an interface cannot be its own port")
            owners[port] = iface["name"]
    for index, route in enumerate(params.get("routes") or []):
        option = "routes[%d]" % index
        try:
            ipaddress.ip_network(route["destination"], strict=False)
        except ValueError:
            raise invalid(option + ".destination", "%r is not a network such as 10.0.0.0/8" % route["destination"]) from None
        if route.get("next_hop_address"):
            try:
                ipaddress.ip_address(route["next_hop_address"])
            except ValueError:
                raise invalid(option + ".next_hop_address", "%r is not an IP address" % route["next_hop_address"]) from None
        if route.get("next_hop_interface"):
            check_iface_name(option + ".next_hop_interface", route["next_hop_interface"])
    for index, server in enumerate((params.get("dns") or {}).get("servers") or []):
        try:
            ipaddress.ip_address(server)
        except ValueError:
            raise invalid("dns.servers[%d]" % index, "%r is not an IP address" % server) from None
    for index, mapping in enumerate(params.get("bridge_mappings") or []):
        if mapping.get("state", "present") == "present" and not mapping.get("bridge"):
            raise invalid("bridge_mappings[%d].bridge" % index, "the OVS bridge of localnet %s is required" % mapping["localnet"])
    if not (params.get("interfaces") or params.get("routes") or params.get("dns") or params.get("bridge_mappings")
            or params.get("desired_state")):
        raise invalid("interfaces", "the policy configures nothing: give interfaces, routes, dns, bridge_mappings "
                      "or desired_state")


def validate_removal_params(params: Mapping[str, Any]) -> None:
    check_resource_name("name", params["name"], max_length=63)


# -- desired state --------------------------------------------------------------------------------
def _ip_block(block: Mapping[str, Any], version: int) -> Dict[str, Any]:
    out: Dict[str, Any] = {"enabled": block.get("enabled", True)}
    if not out["enabled"]:
        return out
    out["dhcp"] = bool(block.get("dhcp"))
    if version == 6:
        out["autoconf"] = bool(block.get("autoconf"))
    if block.get("addresses"):
        out["address"] = [{"ip": str(ipaddress.ip_interface(a).ip), "prefix-length": ipaddress.ip_interface(
            a).network.prefixlen} for a in block["addresses"]]
    if block.get("auto_dns") is not None and (out["dhcp"] or out.get("autoconf")):
        out["auto-dns"] = block["auto_dns"]
    return out


def _bridge_port(port: Mapping[str, Any], kind: str) -> Dict[str, Any]:
    out: Dict[str, Any] = {"name": port["name"]}
    if port.get("vlan_mode") or port.get("trunk") or port.get("vlan_tag") is not None:
        vlan: Dict[str, Any] = {"mode": port.get("vlan_mode") or ("trunk" if port.get("trunk") else "access")}
        if port.get("vlan_tag") is not None:
            vlan["tag"] = port["vlan_tag"]
        trunks = []
        for entry in port.get("trunk") or []:
            low, _sep, high = str(entry).partition("-")
            trunks.append({"id-range": {"min": int(low), "max": int(high)}} if high else {"id": int(low)})
        if trunks:
            vlan["trunk-tags"] = trunks
        out["vlan"] = vlan
    return out


def build_interface(iface: Mapping[str, Any]) -> Dict[str, Any]:
    """One nmstate interface from the structured options (only what the task gives is sent)."""
    out: Dict[str, Any] = {"name": iface["name"], "state": iface.get("state") or "up"}
    if iface.get("type"):
        out["type"] = iface["type"]
    if out["state"] == "absent":
        return out
    if iface.get("description"):
        out["description"] = iface["description"]
    if iface.get("mtu") is not None:
        out["mtu"] = iface["mtu"]
    if iface.get("mac_address"):
        out["mac-address"] = iface["mac_address"].upper()
    for family, version in (("ipv4", 4), ("ipv6", 6)):
        if iface.get(family) is not None:
            out[family] = _ip_block(iface[family], version)
    kind = iface.get("type")
    if kind == "bond":
        bond = iface["bond"]
        agg: Dict[str, Any] = {"mode": bond["mode"], "port": list(bond["ports"])}
        options = dict(bond.get("options") or {})
        if bond.get("miimon") is not None:
            options["miimon"] = bond["miimon"]
        if options:
            agg["options"] = options
        out["link-aggregation"] = agg
    elif kind in ("linux-bridge", "ovs-bridge"):
        bridge = iface.get("bridge") or {}
        section: Dict[str, Any] = {"port": [_bridge_port(p, kind) for p in bridge.get("ports") or []]}
        if bridge.get("stp") is not None:
            section["options"] = {"stp": {"enabled": bridge["stp"]} if kind == "linux-bridge" else bridge["stp"]}
        if kind == "ovs-bridge" and bridge.get("allow_extra_patch_ports") is not None:
            section.setdefault("options", {})["allow-extra-patch-ports"] = bridge["allow_extra_patch_ports"]
        out["bridge"] = section
    elif kind == "vlan":
        out["vlan"] = {"base-iface": iface["vlan"]["base_iface"], "id": iface["vlan"]["id"]}
    return out


def _route(route: Mapping[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {"destination": route["destination"]}
    for option, field in (("next_hop_address", "next-hop-address"), ("next_hop_interface", "next-hop-interface"),
                          ("metric", "metric"), ("table_id", "table-id")):
        if route.get(option) is not None:
            out[field] = route[option]
    if route.get("state") == "absent":
        out["state"] = "absent"
    return out


def build_desired_state(params: Mapping[str, Any]) -> Dict[str, Any]:
    """``desired_state`` with the structured options merged over it: interfaces by name (a
    structured interface replaces a raw one of the same name), routes appended, dns-resolver and
    ovn bridge-mappings replaced."""
    state: Dict[str, Any] = copy.deepcopy(params.get("desired_state") or {})
    structured = [build_interface(i) for i in params.get("interfaces") or []]
    if structured:
        names = {i["name"] for i in structured}
        raw = [i for i in state.get("interfaces") or [] if not (isinstance(i, dict) and i.get("name") in names)]
        state["interfaces"] = raw + structured
    if params.get("routes"):
        routes = state.setdefault("routes", {})
        routes["config"] = list(routes.get("config") or []) + [_route(r) for r in params["routes"]]
    if params.get("dns") is not None:
        config = {}
        if params["dns"].get("servers"):
            config["server"] = list(params["dns"]["servers"])
        if params["dns"].get("search"):
            config["search"] = list(params["dns"]["search"])
        state["dns-resolver"] = {"config": config}
    if params.get("bridge_mappings"):
        state["ovn"] = {"bridge-mappings": [
            {k: v for k, v in (("localnet", m["localnet"]), ("bridge", m.get("bridge")),
                               ("state", "absent" if m.get("state") == "absent" else None)) if v is not None}
            for m in params["bridge_mappings"]]}
    return state


def _max_unavailable(value: str) -> Any:
    return int(value) if value.isdigit() else value


def build_policy(params: Mapping[str, Any]) -> Dict[str, Any]:
    spec: Dict[str, Any] = {"desiredState": build_desired_state(params)}
    if params.get("node_selector"):
        spec["nodeSelector"] = dict(params["node_selector"])
    if params.get("max_unavailable") is not None:
        spec["maxUnavailable"] = _max_unavailable(params["max_unavailable"])
    if params.get("capture"):
        spec["capture"] = dict(params["capture"])
    return {"apiVersion": NNCP.api_version, "kind": NNCP.kind, "metadata": {"name": params["name"]}, "spec": spec}


def removal_state(desired: Mapping[str, Any]) -> Dict[str, Any]:
    """The nmstate way to undo a desired state: its interfaces, routes and bridge-mappings
    ``state: absent``, its DNS configuration emptied. Physical NICs it only configured are reset
    (nmstate leaves an absent ethernet down and unconfigured)."""
    out: Dict[str, Any] = {}
    interfaces = [{k: v for k, v in (("name", i.get("name")), ("type", i.get("type"))) if v} for i in
                  desired.get("interfaces") or [] if isinstance(i, dict) and i.get("state") != "absent"]
    if interfaces:
        out["interfaces"] = [dict(i, state="absent") for i in interfaces]
    routes = [dict(r, state="absent") for r in (desired.get("routes") or {}).get("config") or []
              if r.get("state") != "absent"]
    if routes:
        out["routes"] = {"config": routes}
    if (desired.get("dns-resolver") or {}).get("config"):
        out["dns-resolver"] = {"config": {}}
    mappings = [{"localnet": m["localnet"], "state": "absent"}
                for m in (desired.get("ovn") or {}).get("bridge-mappings") or [] if m.get("state") != "absent"]
    if mappings:
        out["ovn"] = {"bridge-mappings": mappings}
    return out
