#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: node_maintenance
short_description: Drain nodes of KubeVirt VMs and pods for maintenance, and bring them back
version_added: 0.1.0
description:
  - O(state=present) cordons each node, then evicts every pod on it the KubeVirt-aware way; a
    C(429) from KubeVirt's eviction admission means an evacuation started (the VMI gets
    C(status.evacuationNodeName) and a C(kubevirt-evacuation-*) migration), not a failure; the
    module follows that migration until the VM runs elsewhere.
  - A C(429) from a PodDisruptionBudget is retried with backoff until O(wait_timeout).
  - Never more evacuations are in flight than the KubeVirt CR allows
    (C(spec.configuration.migrations.parallelMigrationsPerCluster) and
    C(parallelOutboundMigrationsPerNode), read once; KubeVirt's defaults 5 and 2 when unset).
  - DaemonSet pods, mirror pods and finished pods are skipped, as C(kubectl drain) does.
  - VMs that cannot live-migrate (LiveMigratable False) follow O(non_migratable).
  - The task ends when every node holds no VMI (other than those left) and no evictable pod.
  - O(state=absent) uncordons the nodes.
  - With O(method=node_maintenance_cr) the medik8s Node Maintenance Operator (an OpenShift add-on) does the
    work instead, through a C(NodeMaintenance) CR (C(nodemaintenance.medik8s.io/v1beta1)) per node, named
    after the node (see O(method)).
author:
  - virt.kubevirt maintainers (@virt-kubevirt)
extends_documentation_fragment:
  - virt.kubevirt.auth
  - virt.kubevirt.attributes
  - virt.kubevirt.attributes.action_group
attributes:
  check_mode:
    support: full
    details: The cordon (or the NodeMaintenance) is sent as a server dry run and nothing is evicted; RV(would_evict)
      lists what would be.
  diff_mode:
    support: full
    details: Each node's C(unschedulable) before and after (and its C(node_maintenance) CR with O(method=node_maintenance_cr)).
options:
  name:
    description:
      - The node. Exactly one of O(name) and O(names) is required.
    type: str
  names:
    description:
      - Several nodes, drained O(batch_size) at a time, in the order given.
    type: list
    elements: str
  batch_size:
    description:
      - How many nodes of O(names) are drained together; the next batch starts when the previous one is empty.
    type: int
    default: 1
  state:
    description:
      - V(present) puts the nodes into maintenance (cordon and drain), V(absent) uncordons them.
    type: str
    choices: [present, absent]
    default: present
  non_migratable:
    description:
      - What to do with VMs that cannot live-migrate.
      - V(fail) refuses before any write, naming each VM and its LiveMigratable reason.
      - V(stop) stops the VM through its run strategy (C(runStrategy=Halted)); a VMI without a VM is deleted.
        A stop is a deletion, which no PodDisruptionBudget checks, so the module checks the budgets that select
        the VM's launcher pod itself and waits (retrying with a backoff) while one allows no disruption.
      - V(leave) leaves the VM running on the node and reports it as left.
    type: str
    choices: [fail, stop, leave]
    default: fail
  wait_timeout:
    description:
      - Seconds the drain of all nodes may take before the task fails, reporting what is left.
    type: int
    default: 900
  method:
    description:
      - V(drain) cordons and drains the nodes from the task itself, as described above.
      - V(node_maintenance_cr) creates a C(NodeMaintenance) CR for each node (an existing one for the node is
        reused) and waits for its C(status.phase) to be C(Succeeded), reporting C(drainProgress) and
        C(pendingPods) as it goes. The operator cordons the node, adds its C(medik8s.io/drain) taint and
        evicts every pod but DaemonSet and mirror pods, retrying refused evictions every 5 seconds. A
        C(Failed) phase, or O(wait_timeout) running out, fails the task with the CR's C(lastError) and
        pending pods. O(state=absent) deletes the CR and waits until the operator has uncordoned the node.
      - With V(node_maintenance_cr) the batches and O(non_migratable) V(fail) and V(stop) work as with
        V(drain) (the VMs to stop are stopped before the CR is created); V(leave) is refused, since the
        operator evicts every pod. The KubeVirt CR's migration limits are then applied by KubeVirt itself.
      - The task fails before any write when the cluster does not serve C(nodemaintenances.nodemaintenance.medik8s.io).
    type: str
    choices: [drain, node_maintenance_cr]
    default: drain
  reason:
    description:
      - The NodeMaintenance's C(spec.reason), shown by the OpenShift console. Only with O(method=node_maintenance_cr).
    type: str
notes:
  - C(kubernetes.core.k8s_drain) stops on KubeVirt's first C(429) (kubernetes.core issues 474 and 711);
    this module treats it as the evacuation it is.
"""

EXAMPLES = r"""
- name: Put node worker-1 into maintenance, stopping VMs that cannot live-migrate
  virt.kubevirt.node_maintenance:
    name: worker-1
    non_migratable: stop

- name: Drain three nodes two at a time, leaving non-migratable VMs where they are
  virt.kubevirt.node_maintenance:
    names: [worker-1, worker-2, worker-3]
    batch_size: 2
    non_migratable: leave
    wait_timeout: 1800

- name: Back from maintenance
  virt.kubevirt.node_maintenance:
    name: worker-1
    state: absent

- name: Let the Node Maintenance Operator drain worker-2 (OpenShift)
  virt.kubevirt.node_maintenance:
    name: worker-2
    method: node_maintenance_cr
    reason: firmware update
    wait_timeout: 1800

- name: End worker-2's maintenance (the NodeMaintenance is deleted, the operator uncordons the node)
  virt.kubevirt.node_maintenance:
    name: worker-2
    method: node_maintenance_cr
    state: absent
"""

RETURN = r"""
nodes:
  description: One entry per node, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The node.
      type: str
    cordoned:
      description: Whether the node is unschedulable after the task.
      type: bool
    evicted_pods:
      description: Plain pods (not VM launchers) evicted, as C(namespace/name).
      type: list
      elements: str
    skipped_pods:
      description: Pods left alone like kubectl drain does (C(namespace), C(name), C(reason)).
      type: list
      elements: dict
    node_maintenance:
      description: The node's NodeMaintenance CR (O(method=node_maintenance_cr) only; null once ended).
      type: str
      returned: when O(method=node_maintenance_cr)
  sample:
    - {name: worker-1, cordoned: true, evicted_pods: [web/web-5d8f-abcde], skipped_pods: []}
vms:
  description: Each VM that was on a drained node and what happened to it.
  returned: when O(state=present)
  type: list
  elements: dict
  contains:
    namespace:
      description: The VM's namespace.
      type: str
    name:
      description: The VM.
      type: str
    outcome:
      description:
        - V(migrated), V(stopped) or V(left).
        - With O(method=node_maintenance_cr), V(evicted) for a VM the operator evicted without a live
          migration (its eviction strategy let the launcher pod go).
      type: str
    source_node:
      description: The node it was on.
      type: str
    target_node:
      description: Where it runs now (migrated only).
      type: str
    migration:
      description: The C(kubevirt-evacuation-*) VirtualMachineInstanceMigration (migrated only).
      type: str
    duration:
      description: Seconds from the migration's creation to its success, or until a stopped VM was gone.
      type: float
    reason:
      description: The LiveMigratable reason of a stopped or left VM.
      type: str
  sample:
    - {namespace: prod, name: db-1, outcome: migrated, source_node: worker-1, target_node: worker-2,
       migration: kubevirt-evacuation-x7k2p, duration: 31.5}
would_evict:
  description: In check mode, per node, the VMs that would be evacuated or handled by O(non_migratable), and the pods.
  returned: in check mode with O(state=present)
  type: list
  elements: dict
  sample:
    - {node: worker-1, vms: [prod/db-1], non_migratable: [prod/legacy], pods: [web/web-1]}
duration:
  description: Seconds the task took.
  returned: always
  type: float
  sample: 64.2
progress:
  description:
    - What was observed while draining, oldest first (the first and newest 99 kept), per node the
      VMs left and the migrations in flight. Shown live in the play output when the task runs in
      the controller's worker.
  returned: when the task waited
  type: list
  elements: dict
  contains:
    time:
      description: When it was observed (UTC, ISO 8601).
      type: str
    elapsed:
      description: Seconds since the task started.
      type: float
    subject:
      description: C(Node name), or C(NodeMaintenance name) with O(method=node_maintenance_cr).
      type: str
    state:
      description:
        - VMs left, migrations in flight, pods left.
        - With O(method=node_maintenance_cr), the CR's phase, C(drainProgress) and C(pendingPods)
          (V(Running, drain 50%, 1 pod pending (web/web-1))).
      type: str
  sample:
    - {time: "2026-12-03T10:02:11Z", elapsed: 0.4, subject: Node worker-1, state: "12 VMs left, 2 migrations in flight"}
"""

import time
from typing import Any, Dict, List

from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule
from ansible_collections.virt.kubevirt.plugins.module_utils._node_drain import migration_limits, refusal_message
from ansible_collections.virt.kubevirt.plugins.module_utils._node_drain_flow import Drain, cordon, plan_nodes
from ansible_collections.virt.kubevirt.plugins.module_utils._node_maintenance_cr import (
    body,
    cr_name,
    end,
    existing,
    maintain,
    phase_of,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._node_maintenance_status import cordon_view, cordoned
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import KUBEVIRT, NODE, NODE_MAINTENANCE
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import check_int_range, check_resource_name, invalid

ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str"},
    "names": {"type": "list", "elements": "str"},
    "batch_size": {"type": "int", "default": 1},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "non_migratable": {"type": "str", "choices": ["fail", "stop", "leave"], "default": "fail"},
    "wait_timeout": {"type": "int", "default": 900},
    "method": {"type": "str", "choices": ["drain", "node_maintenance_cr"], "default": "drain"},
    "reason": {"type": "str"},
}


def _node_names(params: Dict[str, Any]) -> List[str]:
    names = [params["name"]] if params.get("name") is not None else list(params.get("names") or [])
    if not names:
        raise invalid("names", "must list at least one node")
    for index, name in enumerate(names):
        check_resource_name("name" if params.get("name") is not None else "names[%d]" % index, name)
    if len(set(names)) != len(names):
        raise invalid("names", "lists a node twice")
    check_int_range("batch_size", params["batch_size"], 1)
    check_int_range("wait_timeout", params["wait_timeout"], 0)
    if params["method"] == "node_maintenance_cr" and params["non_migratable"] == "leave":
        raise invalid("non_migratable", "leave is not possible with method=node_maintenance_cr: the Node Maintenance "
                      "Operator evicts every pod of the node; use fail, stop or method=drain")
    if params.get("reason") is not None and params["method"] != "node_maintenance_cr":
        raise invalid("reason", "is the NodeMaintenance's spec.reason: it needs method=node_maintenance_cr")
    return names


def _read_nodes(module: KubevirtModule, names: List[str]) -> Dict[str, Dict[str, Any]]:
    nodes = {}
    for name in names:
        node = module.client.get(NODE, name)
        if node is None:
            raise invalid("names" if module.params.get("names") else "name", "node %s does not exist" % name)
        nodes[name] = node
    return nodes


def _uncordon(module: KubevirtModule, names: List[str], nodes: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    changed = [name for name in names if cordoned(nodes[name])]
    for name in changed:
        cordon(module, name, False)
    result = {"changed": bool(changed), "nodes": [{"name": n, "cordoned": False, "evicted_pods": [], "skipped_pods": []}
                                                  for n in names]}
    return module.add_diff(result, cordon_view(nodes), cordon_view(nodes, False))


def _key_list(keys: Any) -> List[str]:
    return ["%s/%s" % key for key in sorted(keys)]


def _would_evict(names: List[str], plans: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [{"node": n, "vms": _key_list(plans[n].migrate), "non_migratable": _key_list(plans[n].stuck),
             "pods": _key_list(plans[n].pods)} for n in names]


def _refuse_non_migratable(module: KubevirtModule, plans: Dict[str, Any]) -> None:
    refusal = refusal_message(plans.values()) if module.params["non_migratable"] == "fail" else None
    if refusal:
        module.fail(refusal, vms=[{"namespace": k[0], "name": k[1], "node": n, "reason": r}
                                  for n, p in plans.items() for k, r in sorted(p.stuck.items())])


def _drain(module: KubevirtModule, names: List[str], nodes: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    params = module.params
    started = time.monotonic()
    plans = plan_nodes(module, names)
    policy = params["non_migratable"]
    _refuse_non_migratable(module, plans)
    to_cordon = [n for n in names if not cordoned(nodes[n])]
    busy = [n for n in names if plans[n].migrate or plans[n].pods or (plans[n].stuck and policy != "leave")]
    before, after = cordon_view(nodes), cordon_view(nodes, True)
    result: Dict[str, Any] = {"changed": bool(to_cordon or busy)}
    if module.check_mode or not result["changed"]:
        for name in to_cordon:
            cordon(module, name, True)  # a server dry run in check mode: the node exists and may be patched
        result["would_evict"] = _would_evict(names, plans) if module.check_mode else None
        if result["would_evict"] is None:
            del result["would_evict"]
        result.update(nodes=[{"name": n, "cordoned": True, "evicted_pods": [],
                              "skipped_pods": plans[n].skipped} for n in names],
                      vms=[], duration=round(time.monotonic() - started, 1))
        return module.add_diff(result, before, after)
    limits = migration_limits(module.client.list(KUBEVIRT))
    deadline = started + params["wait_timeout"]
    vms: List[Dict[str, Any]] = []
    report = []
    size = params["batch_size"]
    for first in range(0, len(names), size):
        batch = names[first:first + size]
        for name in batch:
            if name in to_cordon:
                cordon(module, name, True)
        drain = Drain(module, batch, limits, policy, deadline)
        drain.run()
        vms.extend(drain.outcomes[key] for key in sorted(drain.outcomes))
        report.extend({"name": n, "cordoned": True, "evicted_pods": drain.evicted_pods[n],
                       "skipped_pods": plans[n].skipped} for n in batch)
    result.update(nodes=report, vms=vms, duration=round(time.monotonic() - started, 1))
    return module.add_diff(result, before, after)


def _cr_view(names: List[str], nodes: Dict[str, Dict[str, Any]], crs: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    """For diff mode with method=node_maintenance_cr: each node's cordon and its NodeMaintenance."""
    return {n: {"unschedulable": cordoned(nodes[n]), "node_maintenance": cr_name(crs.get(n))} for n in names}


def _through_cr(module: KubevirtModule, names: List[str], nodes: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    started = time.monotonic()
    crs = {n: cr for n, cr in existing(module).items() if n in names}  # a 404 here: NMO is not installed
    if module.params["state"] == "absent":
        after = {n: {"unschedulable": False if n in crs else cordoned(nodes[n]), "node_maintenance": None} for n in names}
        ended = end(module, names, crs, started)
        result = {"changed": bool(ended), "nodes": [{"name": n, "cordoned": after[n]["unschedulable"],
                                                     "node_maintenance": None, "evicted_pods": [], "skipped_pods": []}
                                                    for n in names], "duration": round(time.monotonic() - started, 1)}
        return module.add_diff(result, _cr_view(names, nodes, crs), after)
    plans = plan_nodes(module, names)
    _refuse_non_migratable(module, plans)
    stopping = module.params["non_migratable"] == "stop" and any(plans[n].stuck for n in names)
    busy = [n for n in names if n not in crs or phase_of(crs[n]) != "Succeeded"]
    before = _cr_view(names, nodes, crs)
    after = dict(before, **{n: {"unschedulable": True, "node_maintenance": cr_name(crs[n]) if n in crs else n}
                            for n in names})
    result: Dict[str, Any] = {"changed": any(n not in crs for n in names) or stopping}
    if module.check_mode or not busy:
        for name in names:
            if name not in crs:  # a server dry run: NMO's webhook checks the node and duplicates
                module.client.create(NODE_MAINTENANCE, body(name, module.params["reason"]))
        if module.check_mode:
            result["would_evict"] = _would_evict(names, plans)
        result.update(nodes=[{"name": n, "cordoned": True, "node_maintenance": after[n]["node_maintenance"],
                              "evicted_pods": [], "skipped_pods": plans[n].skipped} for n in names],
                      vms=[], duration=round(time.monotonic() - started, 1))
        return module.add_diff(result, before, after)
    report, vms = maintain(module, names, plans, crs, started)
    result.update(nodes=report, vms=vms, duration=round(time.monotonic() - started, 1))
    return module.add_diff(result, before, after)


def run(module: KubevirtModule) -> Dict[str, Any]:
    names = _node_names(module.params)  # before any request: a bad name is not a 404
    nodes = _read_nodes(module, names)
    if module.params["method"] == "node_maintenance_cr":
        return _through_cr(module, names, nodes)
    if module.params["state"] == "absent":
        started = time.monotonic()
        return dict(_uncordon(module, names, nodes), duration=round(time.monotonic() - started, 1))
    return _drain(module, names, nodes)


def main() -> None:
    KubevirtModule(ARGUMENT_SPEC, wait=False, mutually_exclusive=[["name", "names"]],
                   required_one_of=[["name", "names"]]).execute(run)


if __name__ == "__main__":
    main()
