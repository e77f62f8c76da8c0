# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A Linux host's links, addresses, default routes and bridge VLANs, as iproute2 reports them.

Read with ``ip -j`` (JSON output, iproute2 4.14 and newer) so nothing depends on the text layout of
a particular iproute2 release. Used by linux_bridge on the host itself (no Kubernetes client here).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

Runner = Callable[[Sequence[str]], Tuple[int, str, str]]


class HostNetError(Exception):
    """A host-side failure, with the option or command it concerns in the message."""


class HostState:
    """What the kernel reports now: links by name, global addresses, default routes, bridge VLANs."""

    def __init__(self, links: Dict[str, Dict[str, Any]], addresses: Dict[str, List[Dict[str, Any]]],
                 routes: List[Dict[str, Any]], vlans: Dict[str, List[int]]) -> None:
        self.links = links
        self.addresses = addresses
        self.routes = routes
        self.vlans = vlans

    def link(self, name: str) -> Optional[Dict[str, Any]]:
        return self.links.get(name)

    def kind(self, name: str) -> Optional[str]:
        link = self.links.get(name) or {}
        return (link.get("linkinfo") or {}).get("info_kind")

    def master(self, name: str) -> Optional[str]:
        return (self.links.get(name) or {}).get("master")

    def is_up(self, name: str) -> bool:
        return "UP" in ((self.links.get(name) or {}).get("flags") or [])

    def info(self, name: str) -> Dict[str, Any]:
        return ((self.links.get(name) or {}).get("linkinfo") or {}).get("info_data") or {}

    def global_addresses(self, name: str) -> List[str]:
        """``10.0.0.2/24`` strings of the link's global (not link-local) addresses, in kernel order."""
        return ["%s/%s" % (a["local"], a["prefixlen"]) for a in self.addresses.get(name) or []
                if a.get("scope") == "global" and a.get("family") in ("inet", "inet6")]

    def dynamic(self, name: str) -> bool:
        """True when an IPv4 address of the link came from DHCP (a lease, not a static address)."""
        return any(a.get("dynamic") and a.get("family") == "inet" for a in self.addresses.get(name) or [])

    def default_routes(self, name: str) -> List[Dict[str, Any]]:
        return [r for r in self.routes if r.get("dev") == name]

    def ports_of(self, bridge: str) -> List[str]:
        return sorted(n for n, link in self.links.items() if link.get("master") == bridge)

    def view(self, names: Sequence[str]) -> Dict[str, Any]:
        """The part a user sees in diff mode: each named link's kind, controller, state and addresses."""
        out: Dict[str, Any] = {}
        for name in names:
            if name not in self.links:
                out[name] = None
                continue
            entry: Dict[str, Any] = {"kind": self.kind(name) or "ethernet", "up": self.is_up(name),
                                     "mtu": self.links[name].get("mtu"), "controller": self.master(name),
                                     "addresses": self.global_addresses(name),
                                     "default_gateways": [r.get("gateway") for r in self.default_routes(name)]}
            if self.kind(name) == "bridge":
                entry.update(stp=bool(self.info(name).get("stp_state")),
                             vlan_filtering=bool(self.info(name).get("vlan_filtering")))
            if self.kind(name) == "bond":
                entry.update(mode=self.info(name).get("mode"), miimon=self.info(name).get("miimon"))
            if self.vlans.get(name):
                entry["vlans"] = self.vlans[name]
            out[name] = entry
        return out


def _json(run: Runner, args: Sequence[str], optional: bool = False) -> Any:
    rc, out, err = run(list(args))
    if rc != 0:
        if optional:
            return []
        raise HostNetError("%s failed (rc %d): %s" % (" ".join(args), rc, (err or out).strip()))
    try:
        return json.loads(out or "[]")
    except ValueError:
        raise HostNetError("%s did not print JSON (iproute2 4.14 or newer is needed): %s"
                           % (" ".join(args), out[:200])) from None


def _vlan_ids(entry: Dict[str, Any]) -> List[int]:
    ids = []
    for vlan in entry.get("vlans") or []:
        low, high = vlan.get("vlan"), vlan.get("vlanEnd", vlan.get("vlan"))
        if isinstance(low, int):
            ids.extend(range(low, int(high) + 1))
    return ids


def read_state(run: Runner) -> HostState:
    """Three ``ip -j`` reads and one ``bridge -j vlan show`` (empty when VLAN filtering is unsupported)."""
    links = {link["ifname"]: link for link in _json(run, ["ip", "-j", "-d", "link", "show"])}
    addresses = {entry["ifname"]: entry.get("addr_info") or [] for entry in _json(run, ["ip", "-j", "addr", "show"])}
    routes = [dict(r, family="inet") for r in _json(run, ["ip", "-j", "route", "show", "default"])]
    routes += [dict(r, family="inet6") for r in _json(run, ["ip", "-j", "-6", "route", "show", "default"], optional=True)]
    vlans = {entry["ifname"]: _vlan_ids(entry) for entry in _json(run, ["bridge", "-j", "vlan", "show"], optional=True)
             if isinstance(entry, dict) and entry.get("ifname")}
    return HostState(links, addresses, routes, vlans)
