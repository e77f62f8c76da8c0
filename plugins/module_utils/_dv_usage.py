# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which VirtualMachines use a DataVolume or its claim: one VM list per namespace."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._resources import VIRTUAL_MACHINE


def vm_references(vm: Mapping[str, Any]) -> Dict[str, List[str]]:
    """Claim or DataVolume name -> how the VM refers to it (``volume NAME``, ``dataVolumeTemplates``)."""
    spec = vm.get("spec") or {}
    refs: Dict[str, List[str]] = {}
    for volume in (((spec.get("template") or {}).get("spec") or {}).get("volumes") or []):
        target = (volume.get("dataVolume") or {}).get("name") or (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if target:
            refs.setdefault(target, []).append("volume %s" % volume.get("name"))
    for template in spec.get("dataVolumeTemplates") or []:
        name = (template.get("metadata") or {}).get("name")
        if name:
            refs.setdefault(name, []).append("dataVolumeTemplates")
    return refs


def users_by_claim(vms: Iterable[Mapping[str, Any]]) -> Dict[tuple, List[str]]:
    """(namespace, claim or DataVolume name) -> sorted names of the VMs that reference it."""
    users: Dict[tuple, List[str]] = {}
    for vm in vms:
        metadata = vm.get("metadata") or {}
        for target in vm_references(vm):
            users.setdefault((metadata.get("namespace"), target), []).append(metadata.get("name"))
    return {key: sorted(set(names)) for key, names in users.items()}


def describe_users(client: Any, namespace: str, names: Iterable[str]) -> List[str]:
    """``VM (volume root)`` for every VM in ``namespace`` that references one of ``names``."""
    wanted = set(names)
    found: List[str] = []
    for vm in client.list(VIRTUAL_MACHINE, namespace=namespace):
        hits = [where for target, ways in vm_references(vm).items() if target in wanted for where in ways]
        if hits:
            found.append("%s (%s)" % (vm["metadata"]["name"], ", ".join(sorted(set(hits)))))
    return sorted(found)


def used_by(users: Mapping[tuple, List[str]], namespace: Optional[str], names: Iterable[str]) -> List[str]:
    return sorted({vm for name in names for vm in users.get((namespace, name), [])})
