"""The host side of the kubernetes-nmstate simulation: a node's ``nmstatectl show`` (NodeNetworkState
``status.currentState``), ``nmstatectl set`` of a desired state onto it, and nmpolicy ``capture``.

Applying follows nmstate's merge semantics for the parts the simulation knows: an interface named in
the desired state is merged into the current one (or created), ``state: absent`` removes a virtual
interface and resets an ethernet one (it stays, down and unconfigured, as NetworkManager leaves a
NIC), ``state: down`` keeps it down. Ports (linux-bridge/ovs-bridge ``bridge.port[].name``, bond
``link-aggregation.port``) and ``vlan.base-iface`` must exist on the host or in the same desired
state; a static address already held by another interface of the node or by any other node fails.
Routes (``routes.config``, with ``state: absent`` entries removing matches), ``dns-resolver.config``
and ``ovn.bridge-mappings`` are merged too. Failures read as nmstatectl's
``NmstateError: InvalidArgument: ...`` lines.

Capture (github.com/nmstate/nmpolicy), the common subset: ``path==value`` filters (``value`` a
quoted string, a number or ``capture.<name>.<path>``), ``capture.<name> | path==value`` to filter
a captured state again, and in the desired state ``"{{ capture.<name>.<path> }}"`` references
(the whole string, or inside a longer one). Not simulated: ``:=`` replace, ``|`` pipes into
replace, functions; such an expression fails the enactment as an unsupported capture.
"""
from __future__ import annotations

import copy
import ipaddress
import re
from typing import Any, Optional

VIRTUAL = ("linux-bridge", "bond", "vlan", "ovs-bridge", "ovs-interface", "vxlan", "dummy", "mac-vlan", "vrf")
NICS = 4  # eth0..eth3
NMSTATE_VERSION = "2.2.45"
NM_VERSION = "1.52.0"


class ApplyError(Exception):
    """nmstatectl set failed: the message is nmstate's error line."""


class CaptureError(Exception):
    """nmpolicy could not generate the captured states."""


def mac(node_index: int, nic: int) -> str:
    return f"52:54:00:{node_index:02x}:{nic:02x}:01"


def initial_state(node_index: int, node_ip: str) -> dict:
    """A worker's network as nmstatectl shows it: eth0 on the node network (DHCP), eth1..eth3 idle."""
    network = ipaddress.ip_network(f"{node_ip}/24", strict=False)
    gateway = str(network.network_address + 1)
    interfaces: list[dict] = [{
        "name": "lo", "type": "loopback", "state": "up", "mtu": 65536, "mac-address": "00:00:00:00:00:00",
        "ipv4": {"enabled": True, "address": [{"ip": "127.0.0.1", "prefix-length": 8}]},
        "ipv6": {"enabled": True, "address": [{"ip": "::1", "prefix-length": 128}]},
        "accept-all-mac-addresses": False,
    }]
    for nic in range(NICS):
        iface: dict[str, Any] = {
            "name": f"eth{nic}", "type": "ethernet", "state": "up", "mtu": 1500, "min-mtu": 68,
            "max-mtu": 65535, "mac-address": mac(node_index, nic).upper(),
            "permanent-mac-address": mac(node_index, nic).upper(),
            "ethernet": {"auto-negotiation": False, "duplex": "full", "speed": 10000},
            "lldp": {"enabled": False},
            "ipv4": {"enabled": False}, "ipv6": {"enabled": False},
            "accept-all-mac-addresses": False,
        }
        if nic == 0:
            iface["ipv4"] = {"enabled": True, "dhcp": True, "auto-dns": True, "auto-gateway": True,
                             "auto-routes": True, "address": [{"ip": node_ip, "prefix-length": 24}]}
            iface["ipv6"] = {"enabled": True, "dhcp": False, "autoconf": False, "address": [
                {"ip": f"fe80::5054:ff:fe{node_index:02x}:1", "prefix-length": 64}]}
        interfaces.append(iface)
    return {
        "interfaces": interfaces,
        "routes": {"config": [], "running": [
            {"destination": "0.0.0.0/0", "next-hop-address": gateway, "next-hop-interface": "eth0",
             "metric": 100, "table-id": 254},
            {"destination": str(network), "next-hop-address": "", "next-hop-interface": "eth0",
             "metric": 100, "table-id": 254},
        ]},
        "dns-resolver": {"config": {}, "running": {"search": ["cluster.local"], "server": [gateway]}},
        "route-rules": {"config": []},
        "ovn": {"bridge-mappings": []},
    }


# -- capture ----------------------------------------------------------------------------------------
_FILTER = re.compile(r"^\s*(?:capture\.(?P<src>[\w-]+)\s*\|\s*)?(?P<path>[\w.-]+)\s*==\s*(?P<value>.+?)\s*$")
_REF = re.compile(r"\{\{\s*capture\.([\w-]+)\.([\w.-]+)\s*\}\}")


def lookup(state: Any, path: str) -> Any:
    """``interfaces.0.name`` style access; None when a step is missing."""
    for step in path.split("."):
        if isinstance(state, list):
            state = state[int(step)] if step.isdigit() and int(step) < len(state) else None
        elif isinstance(state, dict):
            state = state.get(step)
        else:
            return None
    return state


def _filter(state: dict, path: str, value: Any) -> dict:
    """The part of ``state`` whose list at the path's prefix has items whose rest-of-path equals value."""
    steps = path.split(".")
    for cut in range(len(steps) - 1, 0, -1):
        items = lookup(state, ".".join(steps[:cut]))
        if isinstance(items, list):
            rest = ".".join(steps[cut:])
            kept = [item for item in items if lookup(item, rest) == value]
            out: dict = {}
            node = out
            for step in steps[:cut - 1]:
                node = node.setdefault(step, {})
            node[steps[cut - 1]] = copy.deepcopy(kept)
            return out
    raise CaptureError(f"invalid path {path!r}: no list to filter")


def _value(raw: str, captured: dict) -> Any:
    if raw[0] in "\"'" and raw[-1] == raw[0]:
        return raw[1:-1]
    if raw.startswith("capture."):
        name, _, path = raw[len("capture."):].partition(".")
        if name not in captured:
            raise CaptureError(f"capture {name!r} not found")
        return lookup(captured[name], path)
    try:
        return int(raw)
    except ValueError as exc:
        raise CaptureError(f"unsupported value {raw!r}") from exc


def resolve_captures(capture: dict, current: dict) -> dict:
    """Each capture's state, in dependency order (a capture may reference an earlier one)."""
    captured: dict = {}
    pending = dict(capture or {})
    while pending:
        progressed = False
        for name, expr in list(pending.items()):
            match = _FILTER.match(expr)
            if not match:
                raise CaptureError(f"unsupported capture expression {expr!r}")
            deps = set(re.findall(r"capture\.([\w-]+)", expr)) - {name}
            if deps - set(captured):
                if deps - set(capture):
                    raise CaptureError(f"capture {sorted(deps - set(capture))[0]!r} not found")
                continue
            source = captured[match["src"]] if match["src"] else current
            captured[name] = _filter(source, match["path"], _value(match["value"], captured))
            del pending[name]
            progressed = True
        if not progressed:
            raise CaptureError("captures reference each other in a cycle")
    return captured


def render(desired: Any, captured: dict) -> Any:
    """The desired state with ``{{ capture.x.path }}`` references replaced."""
    if isinstance(desired, dict):
        return {k: render(v, captured) for k, v in desired.items()}
    if isinstance(desired, list):
        return [render(v, captured) for v in desired]
    if isinstance(desired, str) and "{{" in desired:
        def value(match: re.Match) -> Any:
            if match[1] not in captured:
                raise CaptureError(f"capture {match[1]!r} not found")
            found = lookup(captured[match[1]], match[2])
            if found is None:
                raise CaptureError(f"capture path {match[1]}.{match[2]} not found")
            return found
        whole = _REF.fullmatch(desired.strip())
        if whole:
            return value(whole)
        return _REF.sub(lambda m: str(value(m)), desired)
    return desired


# -- apply ------------------------------------------------------------------------------------------
def ports_of(iface: dict) -> list[str]:
    if iface.get("type") in ("linux-bridge", "ovs-bridge"):
        return [p.get("name") for p in (iface.get("bridge") or {}).get("port") or [] if p.get("name")]
    if iface.get("type") == "bond":
        agg = iface.get("link-aggregation") or {}
        return list(agg.get("port") or agg.get("slaves") or [])
    return []


def addresses(iface: dict) -> list[str]:
    out = []
    for family in ("ipv4", "ipv6"):
        for entry in (iface.get(family) or {}).get("address") or []:
            if entry.get("ip") and not str(entry["ip"]).startswith(("127.", "fe80:", "::1")):
                out.append(str(ipaddress.ip_address(entry["ip"])))
    return out


def _merge(current: dict, desired: dict) -> dict:
    out = copy.deepcopy(current)
    for key, value in desired.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _invalid(message: str) -> ApplyError:
    return ApplyError(f"NmstateError: InvalidArgument: {message}")


def apply(current: dict, desired: dict, node_index: int, foreign: dict[str, str]) -> dict:
    """The new current state after ``nmstatectl set desired``; ``foreign`` maps addresses held by
    other nodes to the node holding them. Raises ApplyError."""
    state = copy.deepcopy(current)
    by_name = {i["name"]: i for i in state["interfaces"]}
    wanted = [i for i in desired.get("interfaces") or [] if isinstance(i, dict) and i.get("name")]
    absent = {i["name"] for i in wanted if i.get("state") == "absent"}
    enslaved = {p for i in wanted for p in ports_of(dict(i, type=i.get("type") or by_name.get(
        i["name"], {}).get("type")))}
    known = (set(by_name) | {i["name"] for i in wanted}) - {n for n in absent if by_name.get(
        n, {}).get("type") != "ethernet"}
    for iface in wanted:
        if iface.get("state") == "absent":
            continue
        kind = iface.get("type") or by_name.get(iface["name"], {}).get("type")
        if kind is None:
            raise _invalid(f"Interface {iface['name']} does not exist and no type was given")
        for port in ports_of(dict(iface, type=kind)):
            if port not in known:
                raise _invalid(f"Interface {iface['name']} has port {port} which does not exist "
                               f"in current or desired state")
        base = (iface.get("vlan") or {}).get("base-iface")
        if kind == "vlan" and base and base not in known:
            raise _invalid(f"Interface {iface['name']} has base interface {base} which does not exist "
                           f"in current or desired state")
        for address in addresses(iface):
            if address in foreign:
                raise _invalid(f"Address {address} of interface {iface['name']} is already in use "
                               f"on node {foreign[address]}")
            holder = next((i["name"] for i in state["interfaces"] if i["name"] != iface["name"]
                           and i["name"] not in absent | enslaved and address in addresses(i)), None)
            if holder:
                raise _invalid(f"Address {address} of interface {iface['name']} is already assigned "
                               f"to interface {holder}")
    for iface in wanted:
        name = iface["name"]
        old = by_name.get(name)
        if iface.get("state") == "absent":
            if old is None:
                continue
            for other in state["interfaces"]:
                if other.get("controller") == name:
                    other.pop("controller", None)
            if old.get("type") == "ethernet":
                old.update({"state": "down", "ipv4": {"enabled": False}, "ipv6": {"enabled": False}})
                old.pop("controller", None)
            else:
                state["interfaces"].remove(old)
                del by_name[name]
            continue
        merged = _merge(old or {"state": "up", "mtu": 1500,
                                "ipv4": {"enabled": False}, "ipv6": {"enabled": False}}, iface)
        merged.setdefault("state", "up")
        if old is None:
            ports = ports_of(merged)
            source = by_name.get(ports[0] if ports else (merged.get("vlan") or {}).get("base-iface", ""))
            merged.setdefault("mac-address", (source or {}).get("mac-address") or mac(node_index, 0x10 + len(
                state["interfaces"])).upper())
            state["interfaces"].append(merged)
        else:
            state["interfaces"][state["interfaces"].index(old)] = merged
        by_name[name] = merged
    for iface in wanted:  # a port may be declared after its controller: link them once all are merged
        for port in ports_of(by_name.get(iface["name"], {})):
            by_name[port]["controller"] = iface["name"]
            by_name[port].update({"ipv4": {"enabled": False}, "ipv6": {"enabled": False}})
    _apply_routes(state, desired.get("routes") or {})
    if isinstance(desired.get("dns-resolver"), dict) and "config" in desired["dns-resolver"]:
        config = desired["dns-resolver"]["config"] or {}
        state["dns-resolver"]["config"] = copy.deepcopy(config)
        if config:
            state["dns-resolver"]["running"] = copy.deepcopy(config)
    mappings = (desired.get("ovn") or {}).get("bridge-mappings")
    if mappings is not None:
        kept = {m["localnet"]: m for m in state["ovn"]["bridge-mappings"]}
        for mapping in mappings:
            if mapping.get("state") == "absent":
                kept.pop(mapping.get("localnet"), None)
            else:
                kept[mapping["localnet"]] = {k: v for k, v in mapping.items() if k != "state"}
        state["ovn"]["bridge-mappings"] = sorted(kept.values(), key=lambda m: m["localnet"])
    return state


def _apply_routes(state: dict, routes: dict) -> None:
    def same(route: dict, probe: dict) -> bool:
        return all(route.get(k) == v for k, v in probe.items() if k != "state")
    for route in routes.get("config") or []:
        if route.get("state") == "absent":
            for key in ("config", "running"):
                state["routes"][key] = [r for r in state["routes"][key] if not same(r, route)]
            continue
        entry = {"metric": 150, "table-id": 254, **route}
        for key in ("config", "running"):
            if not any(same(r, entry) for r in state["routes"][key]):
                state["routes"][key].append(copy.deepcopy(entry))


def all_addresses(state: Optional[dict]) -> list[str]:
    return [a for i in (state or {}).get("interfaces") or [] for a in addresses(i)]
