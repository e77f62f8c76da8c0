#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_migration_info
short_description: List KubeVirt live migrations with their nodes, phases and timings
version_added: 0.1.0
description:
  - Read C(VirtualMachineInstanceMigration) objects, filtered by VM, namespace(s), node (source or
    target) and phase, each summarised with its source and target node, the time it entered each
    phase (C(status.phaseTransitionTimestamps)), its duration and its C(migrationState).
  - One paginated list, cluster-wide unless a single O(namespace) is given (several O(namespaces)
    are filtered from the cluster-wide list, not read one by one). The VMIs are listed too only
    when an unfinished migration's state has to be read from its VMI.
author:
  - virt.kubevirt maintainers (@virt-kubevirt)
extends_documentation_fragment:
  - virt.kubevirt.auth
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
    description: Name of the VM whose migrations to return.
    type: str
  namespace:
    description: Namespace to read. Omit it (and O(namespaces)) to read all namespaces.
    type: str
  namespaces:
    description: Several namespaces to return migrations of.
    type: list
    elements: str
  node:
    description: Only migrations from or to this node.
    type: str
  phases:
    description: Only migrations in one of these phases.
    type: list
    elements: str
    choices: [Pending, Scheduling, Scheduled, PreparingTarget, TargetReady, Running, Succeeded, Failed]
"""

EXAMPLES = r"""
- name: Migrations of one VM
  virt.kubevirt.vm_migration_info:
    name: web-1
    namespace: vms
  register: web_1

- name: Migrations still running anywhere in the cluster
  virt.kubevirt.vm_migration_info:
    phases: [Pending, Scheduling, Scheduled, PreparingTarget, TargetReady, Running]

- name: Failed migrations from or to a node
  virt.kubevirt.vm_migration_info:
    node: worker-2
    phases: [Failed]
"""

RETURN = r"""
migrations:
  description: The migrations, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Name of the migration., type: str}
    namespace: {description: Its namespace., type: str}
    vmi: {description: The VMI (and VM) it migrates., type: str}
    phase: {description: C(status.phase)., type: str}
    source_node: {description: Source node (null before the hand-off to the target)., type: str}
    target_node: {description: Target node (null before the hand-off)., type: str}
    added_node_selector: {description: C(spec.addedNodeSelector)., type: dict}
    created: {description: Creation timestamp., type: str}
    phase_timestamps: {description: "When it entered each phase, {phase: timestamp}.", type: dict}
    duration: {description: Seconds from V(Pending) to the final phase; null while it runs., type: float}
    migration_state:
      description: Summary of C(migrationState) (nodes, pods, start and end, mode, completed, failed, abort status, failure reason).
      type: dict
  sample:
    - name: web-1-migration-1a2b3c4d
      namespace: vms
      vmi: web-1
      phase: Succeeded
      source_node: worker-1
      target_node: worker-3
      duration: 12.0
      phase_timestamps: {Pending: "2026-12-03T10:02:11Z", Succeeded: "2026-12-03T10:02:23Z"}
"""

from typing import Any, Dict, List

from ansible_collections.virt.kubevirt.plugins.module_utils._migration_spec import VMI_NAME_LABEL
from ansible_collections.virt.kubevirt.plugins.module_utils._migration_status import (
    PHASES,
    migration_final,
    migration_summary,
    migration_vmi,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import status_of
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    VIRTUAL_MACHINE_INSTANCE,
    VIRTUAL_MACHINE_INSTANCE_MIGRATION,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import check_read_scope, check_resource_name
from ansible_collections.virt.kubevirt.plugins.module_utils._vm_status import index_by_name

ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str"},
    "namespace": {"type": "str"},
    "namespaces": {"type": "list", "elements": "str"},
    "node": {"type": "str"},
    "phases": {"type": "list", "elements": "str", "choices": list(PHASES)},
}


def run(module: KubevirtModule) -> Dict[str, Any]:
    params = module.params
    check_read_scope(params)  # before any request
    if params.get("node") is not None:
        check_resource_name("node", params["node"])
    client = module.client
    scope = params.get("namespace")
    selector = "%s=%s" % (VMI_NAME_LABEL, params["name"]) if params.get("name") else None
    migrations = client.list(VIRTUAL_MACHINE_INSTANCE_MIGRATION, namespace=scope, label_selector=selector)
    if params.get("name"):  # the label is virt-api's; the spec is the truth
        migrations = [m for m in migrations if migration_vmi(m) == params["name"]]
    if params.get("namespaces"):
        wanted = set(params["namespaces"])
        migrations = [m for m in migrations if (m.get("metadata") or {}).get("namespace") in wanted]
    if params.get("phases"):
        migrations = [m for m in migrations if (status_of(m).get("phase") or "") in params["phases"]]
    vmis: Dict[Any, Any] = {}
    if any(not migration_final(m) and not status_of(m).get("migrationState") for m in migrations):
        vmis = index_by_name(client.list(VIRTUAL_MACHINE_INSTANCE, namespace=scope))
    summaries: List[Dict[str, Any]] = []
    for migration in migrations:
        metadata = migration.get("metadata") or {}
        summary = migration_summary(migration, vmis.get((metadata.get("namespace"), migration_vmi(migration))))
        if params.get("node") and params["node"] not in (summary["source_node"], summary["target_node"]):
            continue
        summaries.append(summary)
    summaries.sort(key=lambda s: (str(s["created"] or ""), str(s["name"])))
    return {"changed": False, "migrations": summaries}


def main() -> None:
    KubevirtModule(ARGUMENT_SPEC, wait=False, mutually_exclusive=[["namespace", "namespaces"]]).execute(run)


if __name__ == "__main__":
    main()
