# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which VirtualMachines attach to a NetworkAttachmentDefinition: one cluster-wide VM list.

A VM in another namespace can name it as ``<namespace>/<name>`` (Multus resolves a bare name in the
VM's own namespace), so the list is cluster-wide; a user who may not list VMs everywhere gets the
NAD's own namespace.
"""

from __future__ import annotations

from typing import Any, List, Mapping

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import VIRTUAL_MACHINE


def attached_networks(vm: Mapping[str, Any]) -> List[str]:
    """``<namespace>/<name>`` of each NAD the VM's template attaches to."""
    namespace = (vm.get("metadata") or {}).get("namespace")
    template = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
    refs = []
    for network in template.get("networks") or []:
        ref = ((network or {}).get("multus") or {}).get("networkName")
        if ref:
            refs.append(ref if "/" in ref else "%s/%s" % (namespace, ref))
    return refs


def vms_using(client: Any, namespace: str, name: str) -> List[str]:
    """Sorted ``<namespace>/<vm>`` of the VMs attached to NAD ``namespace/name``."""
    try:
        vms = client.list(VIRTUAL_MACHINE)
    except KubeApiError as exc:
        if exc.status != 403:
            raise
        vms = client.list(VIRTUAL_MACHINE, namespace=namespace)
    wanted = "%s/%s" % (namespace, name)
    return sorted("%s/%s" % (vm["metadata"].get("namespace"), vm["metadata"].get("name"))
                  for vm in vms if wanted in attached_networks(vm))
