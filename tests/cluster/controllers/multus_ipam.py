"""Secondary-network addresses as Multus' delegate CNI plugins would hand them out: from the IPAM
section of the NetworkAttachmentDefinition's ``spec.config`` (a single plugin or a conflist's first
plugin with ``ipam``).

- ``host-local``: ``ranges`` (one address per range set, e.g. IPv4 + IPv6) or the legacy
  ``subnet``/``rangeStart``/``rangeEnd``/``gateway``; rangeStart defaults to the subnet's first
  address, rangeEnd to its last usable one, the gateway (default: first address) is never given out.
- ``whereabouts``: ``range`` (a CIDR, or ``first-last/prefix``), ``range_start``/``range_end``,
  ``exclude`` (CIDRs), or ``ipRanges`` (one address per entry); network and broadcast addresses skipped.
- ``static``: ``addresses[].address`` as written (every pod gets them, as with the real plugin).
- no ``ipam``, ``dhcp`` or anything else: no address (Multus reports the interface without ``ips``).

Allocation is the lowest free address, cluster-wide per NetworkAttachmentDefinition (whereabouts
semantics; host-local's per-node pools could repeat addresses across nodes, this never does); the pods
of the same VMI (a migration target) keep the addresses the VMI already has. Addresses inside the
cluster's service network are never handed out.
"""
from __future__ import annotations

import ipaddress
import json
from typing import Iterator, Optional

from .keys import NAD, POD
from .virtcommon import DOMAIN_ANNOTATION, flavor

NETWORK_STATUS = "k8s.v1.cni.cncf.io/network-status"
_SCAN_LIMIT = 65536  # addresses tried per range: a /16 is the largest pool the simulator walks
Range = tuple  # (first, last, excluded networks)


def service_network(options: dict) -> ipaddress.IPv4Network:
    """The apiserver's service CIDR of the flavour (services.py allocates clusterIPs from it)."""
    return ipaddress.ip_network("172.30.0.0/16" if flavor(options) == "openshift" else "10.96.0.0/12")


def nad_key(namespace: str, ref: str) -> tuple[str, str]:
    """(namespace, name) of a Multus networkName ("name" or "namespace/name")."""
    if "/" in ref:
        ns, name = ref.split("/", 1)
        return ns, name
    return namespace, ref


def ipam_of(config: dict) -> dict:
    if isinstance(config.get("ipam"), dict):
        return config["ipam"]
    for plugin in config.get("plugins") or ():
        if isinstance(plugin, dict) and isinstance(plugin.get("ipam"), dict):
            return plugin["ipam"]
    return {}


def _net(cidr: str):
    return ipaddress.ip_network(cidr, strict=False)


def _host_local_range(entry: dict) -> Optional[Range]:
    if not entry.get("subnet"):
        return None
    net = _net(entry["subnet"])
    first = ipaddress.ip_address(entry["rangeStart"]) if entry.get("rangeStart") else net.network_address + 1
    last = ipaddress.ip_address(entry["rangeEnd"]) if entry.get("rangeEnd") else (
        net.broadcast_address - 1 if net.version == 4 else net.broadcast_address)
    gateway = ipaddress.ip_address(entry["gateway"]) if entry.get("gateway") else net.network_address + 1
    return first, last, [ipaddress.ip_network(gateway)]


def _whereabouts_range(entry: dict) -> Optional[Range]:
    spec = entry.get("range") or ""
    if not spec:
        return None
    first_s = last_s = None
    if "-" in spec:  # "192.168.2.225-192.168.2.230/24"
        span, prefix = spec.split("/", 1) if "/" in spec else (spec, "")
        first_s, last_s = span.split("-", 1)
        net = _net(f"{first_s}/{prefix or (32 if ':' not in first_s else 128)}")
    else:
        net = _net(spec)
    first = ipaddress.ip_address(entry.get("range_start") or first_s or net.network_address + 1)
    last = ipaddress.ip_address(entry.get("range_end") or last_s or (
        net.broadcast_address - 1 if net.version == 4 else net.broadcast_address))
    return first, last, [_net(c) for c in entry.get("exclude") or ()]


def range_sets(ipam: dict) -> list[list[Range]]:
    """One list of ranges per address the plugin assigns."""
    kind = ipam.get("type")
    if kind == "host-local":
        sets = ipam.get("ranges") or ([[ipam]] if ipam.get("subnet") else [])
        return [[r for r in (_host_local_range(e) for e in rset) if r] for rset in sets]
    if kind == "whereabouts":
        entries = ipam.get("ipRanges") or ([ipam] if ipam.get("range") else [])
        return [[r] for r in (_whereabouts_range({**e, "exclude": (e.get("exclude") or []) + (
            ipam.get("exclude") or [])}) for e in entries) if r]
    return []


def _addresses(rng: Range) -> Iterator:
    first, last, excluded = rng
    address, tried = first, 0
    while address <= last and tried < _SCAN_LIMIT:
        if not any(address in net for net in excluded):
            yield address
        address, tried = address + 1, tried + 1


def used_addresses(store, nad_ref: str, skip_vmi: tuple[str, str]) -> tuple[set[str], list[str]]:
    """(addresses other pods hold on this NAD, the addresses a pod of ``skip_vmi`` already has)."""
    used: set[str] = set()
    own: list[str] = []
    for pod in store.list(POD)[0]:
        meta = pod["metadata"]
        raw = (meta.get("annotations") or {}).get(NETWORK_STATUS)
        if not raw or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        mine = (meta.get("namespace"), (meta.get("annotations") or {}).get(DOMAIN_ANNOTATION)) == skip_vmi
        for entry in json.loads(raw):
            if entry.get("name") == nad_ref:
                if mine:
                    own = list(entry.get("ips") or [])
                else:
                    used.update(entry.get("ips") or [])
    return used, own


def allocate(store, options: dict, vmi: dict, nad_ref: str) -> list[str]:
    """The addresses the network's IPAM gives the VMI's pod on ``nad_ref`` ("ns/name"); [] without IPAM."""
    namespace, name = nad_key(vmi["metadata"]["namespace"], nad_ref)
    nad = store.get(NAD, namespace, name)
    try:
        config = json.loads(((nad or {}).get("spec") or {}).get("config") or "{}")
    except ValueError:
        return []
    ipam = ipam_of(config if isinstance(config, dict) else {})
    if ipam.get("type") == "static":
        return [str(a.get("address", "")).split("/")[0] for a in ipam.get("addresses") or () if a.get("address")]
    sets = range_sets(ipam)
    if not sets:
        return []
    used, own = used_addresses(store, f"{namespace}/{name}", (vmi["metadata"]["namespace"],
                                                                vmi["metadata"]["name"]))
    if own:
        return own
    services = service_network(options)
    out = []
    for rset in sets:
        for address in (a for rng in rset for a in _addresses(rng)):
            if str(address) not in used and not (address.version == 4 and address in services):
                out.append(str(address))
                break
    return out
