# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Short, stable summaries of a VirtualMachineInstance for module results."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import condition_matches, status_of


def _interface(raw: Mapping[str, Any]) -> Dict[str, Any]:
    addresses = [ip for ip in raw.get("ipAddresses") or [] if ip]
    if raw.get("ipAddress") and raw["ipAddress"] not in addresses:
        addresses.insert(0, raw["ipAddress"])
    return {
        "name": raw.get("name"),
        "ip_address": raw.get("ipAddress") or (addresses[0] if addresses else None),
        "ip_addresses": addresses,
        "mac": raw.get("mac"),
        "interface_name": raw.get("interfaceName"),
    }


def vmi_summary(vmi: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    """phase, node, readiness, addresses and guest OS of a VMI (None when it does not exist)."""
    if vmi is None:
        return None
    status = status_of(vmi)
    interfaces = [_interface(raw) for raw in status.get("interfaces") or [] if isinstance(raw, dict)]
    addresses = [ip for interface in interfaces for ip in interface["ip_addresses"]]
    guest = status.get("guestOSInfo") or {}
    metadata = vmi.get("metadata") or {}
    return {
        "name": metadata.get("name"),
        "namespace": metadata.get("namespace"),
        "uid": metadata.get("uid"),
        "phase": status.get("phase"),
        "ready": condition_matches(vmi, "Ready"),
        "node": status.get("nodeName"),
        "ip_address": addresses[0] if addresses else None,
        "ip_addresses": addresses,
        "interfaces": interfaces,
        "guest_os": {
            "id": guest.get("id"),
            "name": guest.get("name"),
            "pretty_name": guest.get("prettyName"),
            "version": guest.get("versionId") or guest.get("version"),
            "kernel_release": guest.get("kernelRelease"),
        }
        if guest
        else None,
        "live_migratable": condition_matches(vmi, "LiveMigratable"),
        "agent_connected": condition_matches(vmi, "AgentConnected"),
    }


def index_by_name(objects: Iterable[Mapping[str, Any]]) -> Dict[Tuple[Optional[str], Optional[str]], Mapping[str, Any]]:
    """{(namespace, name): object} for joining VMs with their VMIs (same namespace and name)."""
    index = {}
    for obj in objects:
        metadata = obj.get("metadata") or {}
        index[(metadata.get("namespace"), metadata.get("name"))] = obj
    return index


def join_vmis(vms: Iterable[Mapping[str, Any]], vmis: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Each VM as a dict with an extra ``vmi`` key holding its VMI summary (or None)."""
    by_name = index_by_name(vmis)
    joined = []
    for vm in vms:
        metadata = vm.get("metadata") or {}
        entry = dict(vm)
        entry["vmi"] = vmi_summary(by_name.get((metadata.get("namespace"), metadata.get("name"))))
        joined.append(entry)
    return joined
