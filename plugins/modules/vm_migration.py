#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_migration
short_description: Live-migrate a KubeVirt VM to another node, or cancel its migration
version_added: 0.1.0
description:
  - Creates a C(VirtualMachineInstanceMigration) (C(kubevirt.io/v1)) for a running VM and
    optionally waits until KubeVirt reports it V(Succeeded) or V(Failed), showing its phases live.
  - Before any write the task checks that the VM runs, that KubeVirt considers it live-migratable
    (the VMI condition C(LiveMigratable); a refusal names KubeVirt's reason, for example
    C(DisksNotLiveMigratable) or C(InterfaceNotLiveMigratable), and what to change) and that the
    requested target node exists and is not the node the VM runs on.
  - Idempotent. A VM already on a node that matches O(target_node) and O(added_node_selector) is not
    migrated. A migration already in flight for the VM (started by anyone, an evacuation for
    example) is followed instead of queueing a second one. Without a target, the migration is named
    after the VMI and the request, so a re-run finds the finished one and does nothing.
  - V(state=absent) cancels the VM's unfinished migration by deleting it; KubeVirt aborts the memory
    transfer and the VM stays on its source node.
  - KubeVirt runs at most C(parallelMigrationsPerCluster) migrations at once and
    C(parallelOutboundMigrationsPerNode) per source node (KubeVirt CR C(spec.configuration.migrations));
    a migration beyond those limits stays V(Pending) until a slot frees up, which counts against O(wait_timeout).
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
    details: The migration is created (or deleted) as a server dry run; nothing moves.
  diff_mode:
    support: full
options:
  name:
    description: Name of the VirtualMachine (and of its VirtualMachineInstance).
    type: str
    required: true
  namespace:
    description: Namespace of the VM.
    type: str
    required: true
  state:
    description:
      - V(present) migrates the VM (unless it already runs where the task asks).
      - V(absent) cancels its unfinished migration.
    type: str
    choices: [present, absent]
    default: present
  migration_name:
    description:
      - Name of the C(VirtualMachineInstanceMigration). By default C(<name>-migration-<hash>), the
        hash taken from the VMI's UID and the requested placement.
      - With V(state=absent), only a migration of this name is cancelled.
    type: str
  target_node:
    description:
      - Node to migrate to; it becomes the C(kubernetes.io/hostname) key of the migration's
        C(spec.addedNodeSelector). Must exist. A VM already on it is not migrated (V(changed=false)).
    type: str
  added_node_selector:
    description:
      - Node labels the target node must carry in addition to the VM's own node selector
        (C(spec.addedNodeSelector) of the migration). At least one other node must have them.
    type: dict
  wait:
    description:
      - Wait until the migration V(Succeeded) (with V(state=absent), until the cancelled migration
        is gone). A V(Failed) migration fails the task with its failure reason, conditions and events.
"""

EXAMPLES = r"""
- name: Live-migrate a VM to any other node and wait
  virt.kubevirt.vm_migration:
    name: web-1
    namespace: vms
    wait: true
    wait_timeout: 600

- name: Move a VM to a given node
  virt.kubevirt.vm_migration:
    name: db-1
    namespace: vms
    target_node: worker-3
    wait: true

- name: Move a VM to a node of another zone
  virt.kubevirt.vm_migration:
    name: web-2
    namespace: vms
    added_node_selector:
      topology.kubernetes.io/zone: zone-b
    wait: true

- name: Cancel a VM's running migration
  virt.kubevirt.vm_migration:
    name: web-1
    namespace: vms
    state: absent
    wait: true
"""

RETURN = r"""
progress:
  description:
    - The phases of the migration observed while the task waited (O(wait=true)), oldest first; the
      first and the newest 99 are kept. When the task runs in the controller's worker they are also
      shown in the play output while it waits.
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
      description: The migration's C(status.phase), with C(being deleted) while it is cancelled.
      type: str
  sample:
    - {time: "2026-12-03T10:02:11Z", elapsed: 0.3, subject: VirtualMachineInstanceMigration vms/web-1-migration-1a2b3c4d, state: Pending}
    - {time: "2026-12-03T10:02:19Z", elapsed: 8.2, subject: VirtualMachineInstanceMigration vms/web-1-migration-1a2b3c4d, state: Running}
    - {time: "2026-12-03T10:02:31Z", elapsed: 20.4, subject: VirtualMachineInstanceMigration vms/web-1-migration-1a2b3c4d, state: Succeeded}
migration:
  description:
    - The C(VirtualMachineInstanceMigration) as returned by the API server (in check mode, the
      dry-run result); the cancelled one for V(state=absent). Empty when there is none.
  returned: always
  type: dict
  sample:
    apiVersion: kubevirt.io/v1
    kind: VirtualMachineInstanceMigration
    metadata: {name: web-1-migration-1a2b3c4d, namespace: vms}
    spec: {vmiName: web-1}
    status: {phase: Succeeded}
method:
  description: V(create), V(reuse) (a migration already in flight was followed), V(delete) (cancelled) or V(none).
  returned: always
  type: str
  sample: create
source_node:
  description: The node the VM ran on when the migration started.
  returned: always
  type: str
  sample: worker-1
target_node:
  description: The node the migration moves (or moved) the VM to; null until KubeVirt chose it or when it failed.
  returned: always
  type: str
  sample: worker-3
node:
  description: The node the VM runs on now.
  returned: always
  type: str
  sample: worker-3
duration:
  description: Seconds from the migration's V(Pending) phase to its final phase; null while it runs.
  returned: always
  type: float
  sample: 12.0
phase_timestamps:
  description: When the migration entered each phase (C(status.phaseTransitionTimestamps)).
  returned: always
  type: dict
  sample: {Pending: "2026-12-03T10:02:11Z", Running: "2026-12-03T10:02:19Z", Succeeded: "2026-12-03T10:02:31Z"}
migration_state:
  description: Summary of the VMI's C(status.migrationState) for this migration; null before the hand-off to the target.
  returned: always
  type: dict
  contains:
    migration_uid: {description: UID of the migration., type: str}
    source_node: {description: Source node., type: str}
    target_node: {description: Target node., type: str}
    source_pod: {description: Source virt-launcher pod., type: str}
    target_pod: {description: Target virt-launcher pod., type: str}
    start_timestamp: {description: When the memory transfer started., type: str}
    end_timestamp: {description: When it ended., type: str}
    mode: {description: V(PreCopy) or V(PostCopy)., type: str}
    completed: {description: Whether the migration completed (also when aborted)., type: bool}
    failed: {description: Whether it failed., type: bool}
    abort_requested: {description: Whether an abort was requested., type: bool}
    abort_status: {description: "V(Aborting), V(Succeeded) or V(Failed).", type: str}
    failure_reason: {description: KubeVirt's failure reason., type: str}
  sample:
    source_node: worker-1
    target_node: worker-3
    mode: PreCopy
    completed: true
    failed: false
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._migration_flow import (
    absent,
    present,
    validate_migration_params,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule

ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "namespace": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "migration_name": {"type": "str"},
    "target_node": {"type": "str"},
    "added_node_selector": {"type": "dict"},
}


def run(module: KubevirtModule) -> Dict[str, Any]:
    validate_migration_params(module.params)  # every option checked before any request
    return present(module) if module.params["state"] == "present" else absent(module)


def main() -> None:
    KubevirtModule(ARGUMENT_SPEC).execute(run)


if __name__ == "__main__":
    main()
