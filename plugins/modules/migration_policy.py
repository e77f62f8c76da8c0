#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: migration_policy
short_description: Manage KubeVirt MigrationPolicies (per-VM live migration settings)
version_added: 0.1.0
description:
  - Create, update and delete cluster-scoped C(MigrationPolicy) objects (C(migrations.kubevirt.io/v1alpha1)).
  - KubeVirt gives each migration the policy whose O(vmi_selector) and O(namespace_selector) labels all
    match the VMI and its namespace; when several match, the one with the most matched labels wins,
    ties going to the first name in lexicographic order. The policy's settings override the KubeVirt
    CR's C(spec.configuration.migrations) for that migration; settings it leaves out keep the cluster value.
  - The policy is server-side applied with the field manager C(virt.kubevirt); the spec this module
    manages becomes exactly what the task says, and an unchanged re-run sends no write.
author:
  - virt.kubevirt maintainers (@virt-kubevirt)
extends_documentation_fragment:
  - virt.kubevirt.auth
  - virt.kubevirt.attributes
  - virt.kubevirt.attributes.action_group
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  name:
    description: Name of the MigrationPolicy (cluster-scoped, an RFC 1123 subdomain).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the policy; V(absent) deletes it (running migrations keep their settings).
    type: str
    choices: [present, absent]
    default: present
  labels:
    description: Labels of the MigrationPolicy object itself (not used for matching).
    type: dict
  annotations:
    description: Annotations of the MigrationPolicy object.
    type: dict
  vmi_selector:
    description:
      - Labels (key to value) every matched VMI must carry (C(spec.selectors.virtualMachineInstanceSelector)).
      - KubeVirt's selectors are plain label maps, not C(matchLabels)/C(matchExpressions).
      - With neither selector, the policy matches every VMI.
    type: dict
  namespace_selector:
    description: Labels (key to value) the VMI's namespace must carry (C(spec.selectors.namespaceSelector)).
    type: dict
  bandwidth_per_migration:
    description:
      - Bandwidth limit of each migration, a quantity such as V(64Mi) (per second); V(0) means no limit.
    type: str
  completion_timeout_per_gib:
    description: Seconds per GiB of guest memory a migration may take before it is cancelled (1 or more).
    type: int
  allow_auto_converge:
    description: Let QEMU throttle the guest's vCPUs so that a busy guest's migration converges.
    type: bool
  allow_post_copy:
    description: Allow post-copy migration (switch to the target before all memory is copied).
    type: bool
  allow_workload_disruption:
    description:
      - Allow a disruptive way of completing a migration that cannot converge (for example post-copy or
        pausing the guest), C(allowWorkloadDisruption).
    type: bool
  max_downtime_ms:
    description: Longest pause of the guest at switch-over, in milliseconds (1 to 2000000), C(maxDowntimeMs).
    type: int
notes:
  - Matching happens when a migration starts; changing a policy does not affect migrations already running.
"""

EXAMPLES = r"""
- name: Slow down migrations of databases in production namespaces
  virt.kubevirt.migration_policy:
    name: databases
    vmi_selector:
      workload: database
    namespace_selector:
      environment: production
    bandwidth_per_migration: 256Mi
    completion_timeout_per_gib: 300
    allow_auto_converge: true

- name: Remove it
  virt.kubevirt.migration_policy:
    name: databases
    state: absent
"""

RETURN = r"""
policy:
  description: The policy's settings after the task, by option name; C(null) for a setting the policy leaves to the cluster.
  returned: when O(state=present)
  type: dict
  contains:
    name:
      description: Name of the policy.
      type: str
    bandwidth_per_migration:
      description: C(spec.bandwidthPerMigration).
      type: str
    completion_timeout_per_gib:
      description: C(spec.completionTimeoutPerGiB).
      type: int
    allow_auto_converge:
      description: C(spec.allowAutoConverge).
      type: bool
    allow_post_copy:
      description: C(spec.allowPostCopy).
      type: bool
    allow_workload_disruption:
      description: C(spec.allowWorkloadDisruption).
      type: bool
    max_downtime_ms:
      description: C(spec.maxDowntimeMs).
      type: int
    vmi_selector:
      description: C(spec.selectors.virtualMachineInstanceSelector).
      type: dict
    namespace_selector:
      description: C(spec.selectors.namespaceSelector).
      type: dict
  sample:
    name: databases
    bandwidth_per_migration: 256Mi
    completion_timeout_per_gib: 300
    allow_auto_converge: true
    allow_post_copy: null
    allow_workload_disruption: null
    max_downtime_ms: null
    vmi_selector: {workload: database}
    namespace_selector: {environment: production}
method:
  description: What the module did, V(create), V(update), V(delete) or V(none).
  returned: always
  type: str
  sample: create
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._apply import ensure_applied
from ansible_collections.virt.kubevirt.plugins.module_utils._migration_policy_spec import (
    MIGRATION_POLICY,
    build_policy,
    policy_summary,
    validate_policy_params,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule

ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "labels": {"type": "dict"},
    "annotations": {"type": "dict"},
    "vmi_selector": {"type": "dict"},
    "namespace_selector": {"type": "dict"},
    "bandwidth_per_migration": {"type": "str"},
    "completion_timeout_per_gib": {"type": "int"},
    "allow_auto_converge": {"type": "bool"},
    "allow_post_copy": {"type": "bool"},
    "allow_workload_disruption": {"type": "bool"},
    "max_downtime_ms": {"type": "int"},
}


def present(module: KubevirtModule) -> Dict[str, Any]:
    outcome = ensure_applied(module.client, MIGRATION_POLICY, build_policy(module.params))
    result: Dict[str, Any] = {"changed": outcome.changed, "method": outcome.method,
                              "policy": policy_summary(outcome.after or {})}
    if outcome.changed:
        module.add_diff(result, outcome.before, outcome.after)
    return result


def absent(module: KubevirtModule) -> Dict[str, Any]:
    name = module.params["name"]
    live = module.client.get(MIGRATION_POLICY, name)
    result: Dict[str, Any] = {"changed": False, "method": "none"}
    if live is not None:
        module.client.delete(MIGRATION_POLICY, name)
        result.update(changed=True, method="delete")
        module.add_diff(result, live, None)
    return result


def run(module: KubevirtModule) -> Dict[str, Any]:
    validate_policy_params(module.params)  # every option checked before any request
    return present(module) if module.params["state"] == "present" else absent(module)


def main() -> None:
    KubevirtModule(ARGUMENT_SPEC, wait=False).execute(run)


if __name__ == "__main__":
    main()
