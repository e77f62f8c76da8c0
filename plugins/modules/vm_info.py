#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_info
short_description: List KubeVirt VirtualMachines with their running instance
version_added: 0.1.0
description:
  - Read C(VirtualMachine) objects by name, in one or more namespaces, or across the cluster,
    each joined with a summary of its C(VirtualMachineInstance) (phase, node, IP addresses, guest OS).
  - Listing is paginated and cluster-wide when no namespace is given (one VM list and one VMI
    list however many namespaces there are); no API discovery request is sent.
  - Optionally waits for a condition on every matched VM, and projects the result with JMESPath.
author:
  - virt.kubevirt maintainers (@virt-kubevirt)
extends_documentation_fragment:
  - virt.kubevirt.auth
  - virt.kubevirt.wait
  - virt.kubevirt.attributes
  - virt.kubevirt.attributes.action_group
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: N/A
    details: The module only reads.
options:
  name:
    description:
      - Name of the VM. Without O(namespace) or O(namespaces), VMs of that name in every namespace are returned.
    type: str
  namespace:
    description:
      - Namespace to read. Omit it (and O(namespaces)) to read all namespaces; an empty string fails.
    type: str
  namespaces:
    description: Several namespaces to read, one list request each.
    type: list
    elements: str
  label_selectors:
    description:
      - Label selectors the VMs must match, for example V(app=web) or V(tier in (db,cache)).
      - Their syntax, keys and values are checked before any request.
    type: list
    elements: str
    default: []
  field_selectors:
    description:
      - Field selectors the VMs must match. The API server supports only C(metadata.name) and
        C(metadata.namespace) on VirtualMachines.
    type: list
    elements: str
    default: []
  include_vmi:
    description:
      - Join each VM with its VMI summary (one extra paginated list, or one GET for a single named VM).
      - Set to V(false) to save that request when only the VM objects are needed.
    type: bool
    default: true
  wait:
    description:
      - Wait until every matched VM meets O(wait_condition). With O(name) and a namespace, also
        waits for the VM to appear.
  wait_condition:
    description: The condition O(wait) waits for.
    type: dict
    default: {}
    suboptions:
      type:
        description: Condition type, for example V(Ready), V(Paused) or V(RestartRequired).
        type: str
        default: Ready
      status:
        description: Condition status.
        type: str
        choices: ["True", "False", "Unknown"]
        default: "True"
      reason:
        description: Condition reason, when it matters.
        type: str
  query:
    description:
      - A JMESPath expression applied to the list of VMs (each with its C(vmi) summary); the result
        is returned as RV(query_result) instead of RV(resources).
      - Requires the C(jmespath) Python library.
    type: str
requirements:
  - jmespath (for O(query))
seealso:
  - module: virt.kubevirt.vm
"""

EXAMPLES = r"""
- name: One VM with its IP and node
  virt.kubevirt.vm_info:
    name: fedora-1
    namespace: vms
  register: info

- name: Show where it runs
  ansible.builtin.debug:
    msg: "{{ info.resources[0].vmi.ip_address }} on {{ info.resources[0].vmi.node }}"

- name: Every VM in the cluster labelled app=web
  virt.kubevirt.vm_info:
    label_selectors:
      - app=web

- name: Names and IPs of running VMs in two namespaces
  virt.kubevirt.vm_info:
    namespaces: [team-a, team-b]
    query: "[?vmi.phase=='Running'].{name: metadata.name, ip: vmi.ip_address}"
  register: running

- name: Wait until a VM reports Ready
  virt.kubevirt.vm_info:
    name: fedora-1
    namespace: vms
    wait: true
    wait_condition:
      type: Ready
    wait_timeout: 300
"""

RETURN = r"""
progress:
  description:
    - The states observed while the task waited (O(wait=true)), oldest first; the first and the
      newest 99 are kept. When the task runs in the controller's worker they are also shown in the
      play output while it waits.
  returned: when the task waited
  type: list
  elements: dict
  contains:
    time:
      description: When the state was observed (UTC, ISO 8601).
      type: str
    elapsed:
      description: Seconds since the task started.
      type: float
    subject:
      description: The object, as C(Kind namespace/name).
      type: str
    state:
      description: Its C(printableStatus) or C(phase), and C(progress) when CDI reports one.
      type: str
  sample:
    - {time: "2026-12-03T10:02:11Z", elapsed: 0.1, subject: VirtualMachine web/web01, state: Stopped}
    - {time: "2026-12-03T10:02:13Z", elapsed: 2.3, subject: VirtualMachine web/web01, state: Running}
resources:
  description:
    - The matching VirtualMachine objects, each with an extra C(vmi) key holding its VMI summary
      (null when the VM is not running, or when O(include_vmi=false)).
  returned: when O(query) is not set
  type: list
  elements: dict
  contains:
    vmi:
      description: VMI summary with C(phase), C(ready), C(node), C(ip_address), C(ip_addresses), C(interfaces), C(guest_os), C(uid).
      type: dict
  sample:
    - apiVersion: kubevirt.io/v1
      kind: VirtualMachine
      metadata:
        name: fedora-1
        namespace: vms
      status:
        printableStatus: Running
      vmi:
        phase: Running
        node: node01
        ip_address: 10.244.0.15
query_result:
  description: The result of O(query).
  returned: when O(query) is set
  type: raw
  sample:
    - name: fedora-1
      ip: 10.244.0.15
"""

import time
from typing import Any, Dict, List, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._api import ResourceClient
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import condition_predicate
from ansible_collections.virt.kubevirt.plugins.module_utils._query import run_query
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import VIRTUAL_MACHINE, VIRTUAL_MACHINE_INSTANCE
from ansible_collections.virt.kubevirt.plugins.module_utils._validate_vm import validate_vm_info_params
from ansible_collections.virt.kubevirt.plugins.module_utils._vm_status import join_vmis

ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str"},
    "namespace": {"type": "str"},
    "namespaces": {"type": "list", "elements": "str"},
    "label_selectors": {"type": "list", "elements": "str", "default": []},
    "field_selectors": {"type": "list", "elements": "str", "default": []},
    "include_vmi": {"type": "bool", "default": True},
    "wait_condition": {
        "type": "dict",
        "default": {},
        "options": {
            "type": {"type": "str", "default": "Ready"},
            "status": {"type": "str", "choices": ["True", "False", "Unknown"], "default": "True"},
            "reason": {"type": "str"},
        },
    },
    "query": {"type": "str"},
}


def _scopes(params: Dict[str, Any]) -> List[Optional[str]]:
    """Namespaces to read; [None] means one cluster-wide request chain."""
    if params.get("namespaces"):
        return list(dict.fromkeys(params["namespaces"]))
    return [params.get("namespace")]


def _selector(parts: List[str]) -> Optional[str]:
    return ",".join(part for part in parts if part) or None


def _read_vms(client: ResourceClient, params: Dict[str, Any], scopes: List[Optional[str]]) -> List[Dict[str, Any]]:
    name = params.get("name")
    labels = _selector(params["label_selectors"])
    fields = list(params["field_selectors"])
    if name and scopes != [None] and not labels and not fields:
        found = [client.get(VIRTUAL_MACHINE, name, scope) for scope in scopes]
        return [vm for vm in found if vm is not None]
    if name:
        fields.insert(0, "metadata.name=%s" % name)
    vms: List[Dict[str, Any]] = []
    for scope in scopes:
        vms.extend(client.list(VIRTUAL_MACHINE, namespace=scope, label_selector=labels, field_selector=_selector(fields)))
    return vms


def _read_vmis(
    client: ResourceClient, params: Dict[str, Any], scopes: List[Optional[str]], vms: List[Dict[str, Any]]
) -> List[Dict[str, Any]]:
    if len(vms) == 1 and params.get("name"):
        metadata = vms[0]["metadata"]
        vmi = client.get(VIRTUAL_MACHINE_INSTANCE, metadata["name"], metadata.get("namespace"))
        return [vmi] if vmi else []
    vmis: List[Dict[str, Any]] = []
    for scope in scopes:
        vmis.extend(client.list(VIRTUAL_MACHINE_INSTANCE, namespace=scope))
    return vmis


def _wait(module: KubevirtModule, vms: List[Dict[str, Any]], scopes: List[Optional[str]]) -> List[Dict[str, Any]]:
    params = module.params
    condition = params["wait_condition"] or {}
    condition_type = condition.get("type") or "Ready"
    status = condition.get("status") or "True"
    predicate = condition_predicate(condition_type, status, condition.get("reason"))
    description = "%s=%s%s" % (condition_type, status, " (reason %s)" % condition["reason"] if condition.get("reason") else "")
    deadline = time.monotonic() + params["wait_timeout"]
    targets = [(vm["metadata"].get("namespace"), vm["metadata"]["name"], vm) for vm in vms]
    if not vms and params.get("name") and scopes != [None]:
        targets = [(scope, params["name"], False) for scope in scopes]
    waited = []
    waiter = module.waiter()
    for namespace, name, initial in targets:
        remaining = max(0.0, deadline - time.monotonic())
        vm = waiter.wait(VIRTUAL_MACHINE, name, namespace, predicate, remaining, description,
                         event_kinds=(VIRTUAL_MACHINE.kind, VIRTUAL_MACHINE_INSTANCE.kind), initial=initial)
        if vm is not None:
            waited.append(vm)
    return waited


def run(module: KubevirtModule) -> Dict[str, Any]:
    params = module.params
    validate_vm_info_params(params)  # before any request: a bad selector or name is not a 400 or 404
    client = module.client
    scopes = _scopes(params)
    vms = _read_vms(client, params, scopes)
    if params["wait"]:
        vms = _wait(module, vms, scopes)
    vmis = _read_vmis(client, params, scopes, vms) if params["include_vmi"] and vms else []
    resources = join_vmis(vms, vmis) if params["include_vmi"] else [dict(vm, vmi=None) for vm in vms]
    if params.get("query"):
        return {"changed": False, "query_result": run_query(params["query"], resources)}
    return {"changed": False, "resources": resources}


def main() -> None:
    KubevirtModule(ARGUMENT_SPEC, mutually_exclusive=[["namespace", "namespaces"]]).execute(run)


if __name__ == "__main__":
    main()
