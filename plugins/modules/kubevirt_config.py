#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kubevirt_config
short_description: Read and set the KubeVirt CR's migration limits, workload update and VM rollout strategies
version_added: 0.1.0
description:
  - Reads the cluster's C(KubeVirt) CR (C(kubevirt.io/v1)), found with one list request (in C(openshift-cnv)
    on OpenShift, C(kubevirt) on Kubernetes), and returns its C(spec.configuration.migrations),
    C(spec.workloadUpdateStrategy) and C(spec.configuration.vmRolloutStrategy). Without options the task only reads.
  - Declarative and field-level, only the fields the task names are compared; those that differ are sent as one
    JSON merge patch holding just them, never a replace of the spec. Fields the task leaves out keep their values.
  - On OpenShift Virtualization the KubeVirt CR is owned by the HyperConverged operator (HCO), which puts its own
    values back shortly after a direct edit. Set these values in the C(HyperConverged) CR instead
    (C(spec.liveMigrationConfig), C(spec.workloadUpdateStrategy)); when the CR has an HCO owner reference or the
    label C(app.kubernetes.io/managed-by=hco-operator), this module warns before changing it.
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
  namespace:
    description: Namespace of the KubeVirt CR; by default the one KubeVirt CR of the cluster, wherever it is.
    type: str
  migrations:
    description: Fields of C(spec.configuration.migrations) to set; those left out are not touched.
    type: dict
    suboptions:
      parallel_migrations_per_cluster:
        description: Most migrations running at once in the cluster (C(parallelMigrationsPerCluster), KubeVirt's default 5).
        type: int
      parallel_outbound_migrations_per_node:
        description: Most outgoing migrations of one node at once (C(parallelOutboundMigrationsPerNode), default 2).
        type: int
      bandwidth_per_migration:
        description: Bandwidth limit of each migration, a quantity per second such as V(64Mi); V(0) means no limit.
        type: str
      completion_timeout_per_gib:
        description: Seconds per GiB of guest memory before a migration is cancelled (C(completionTimeoutPerGiB)).
        type: int
      progress_timeout:
        description: Seconds without progress before a migration is cancelled (C(progressTimeout)).
        type: int
      allow_auto_converge:
        description: C(allowAutoConverge), throttle the guest's vCPUs so that a migration converges.
        type: bool
      allow_post_copy:
        description: C(allowPostCopy), allow post-copy migrations.
        type: bool
      allow_workload_disruption:
        description: C(allowWorkloadDisruption), allow disruptive ways to finish a migration that does not converge.
        type: bool
      unsafe_migration_override:
        description: C(unsafeMigrationOverride), migrate VMs whose disks KubeVirt considers unsafe to migrate.
        type: bool
      max_downtime_ms:
        description: C(maxDowntimeMs), longest guest pause at switch-over (1 to 2000000).
        type: int
      node_drain_taint_key:
        description: C(nodeDrainTaintKey), the taint that makes KubeVirt evacuate a node's VMs.
        type: str
      network:
        description: C(network), name of a NetworkAttachmentDefinition dedicated to migration traffic.
        type: str
  workload_update_strategy:
    description: Fields of C(spec.workloadUpdateStrategy) (how VMs are moved to a new KubeVirt version).
    type: dict
    suboptions:
      workload_update_methods:
        description: C(workloadUpdateMethods), the whole list; an empty list turns automatic workload updates off.
        type: list
        elements: str
        choices: [LiveMigrate, Evict]
      batch_eviction_size:
        description: C(batchEvictionSize), VMIs evicted per interval.
        type: int
      batch_eviction_interval:
        description: C(batchEvictionInterval), a duration such as V(1m0s).
        type: str
  vm_rollout_strategy:
    description: C(spec.configuration.vmRolloutStrategy), how live-updatable VM fields reach the running VMI.
    type: str
    choices: [Stage, LiveUpdate]
notes:
  - The integration with HCO's own CR is not part of this module; on OpenShift prefer editing C(HyperConverged).
"""

EXAMPLES = r"""
- name: Show the migration limits
  virt.kubevirt.kubevirt_config: {}
  register: kv

- name: At most 10 migrations in the cluster, 3 per node, each limited to 256Mi/s
  virt.kubevirt.kubevirt_config:
    migrations:
      parallel_migrations_per_cluster: 10
      parallel_outbound_migrations_per_node: 3
      bandwidth_per_migration: 256Mi

- name: Move VMs to a new KubeVirt version by live migration only
  virt.kubevirt.kubevirt_config:
    workload_update_strategy:
      workload_update_methods: [LiveMigrate]
    vm_rollout_strategy: LiveUpdate
"""

RETURN = r"""
config:
  description:
    - The managed sections of the KubeVirt CR after the task (in check mode, as the server's dry run answered),
      by option name; C(null) for a field the CR leaves to KubeVirt's default.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the KubeVirt CR.
      type: str
    namespace:
      description: Its namespace.
      type: str
    migrations:
      description: C(spec.configuration.migrations), every field of O(migrations).
      type: dict
    workload_update_strategy:
      description: C(spec.workloadUpdateStrategy).
      type: dict
    vm_rollout_strategy:
      description: C(spec.configuration.vmRolloutStrategy).
      type: str
  sample:
    name: kubevirt-kubevirt-hyperconverged
    namespace: openshift-cnv
    migrations:
      parallel_migrations_per_cluster: 5
      parallel_outbound_migrations_per_node: 2
      bandwidth_per_migration: 64Mi
      completion_timeout_per_gib: 150
      progress_timeout: 150
      allow_auto_converge: false
      allow_post_copy: false
      allow_workload_disruption: null
      unsafe_migration_override: false
      max_downtime_ms: null
      node_drain_taint_key: kubevirt.io/drain
      network: null
    workload_update_strategy:
      workload_update_methods: [LiveMigrate]
      batch_eviction_size: 10
      batch_eviction_interval: 1m0s
    vm_rollout_strategy: LiveUpdate
patch:
  description: The JSON merge patch sent (also in check mode, as a dry run); empty when nothing differed.
  returned: always
  type: dict
  sample: {spec: {configuration: {migrations: {parallelMigrationsPerCluster: 10}}}}
hco_managed:
  description: Whether the CR is owned by the HyperConverged operator (which reverts direct edits).
  returned: always
  type: bool
  sample: true
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._kubevirt_config import (
    config_patch,
    config_view,
    hco_owned,
    pick_kubevirt,
    validate_config_params,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import KUBEVIRT

_INT: Dict[str, Any] = {"type": "int"}
_STR: Dict[str, Any] = {"type": "str"}
_BOOL: Dict[str, Any] = {"type": "bool"}
ARGUMENT_SPEC: Dict[str, Any] = {
    "namespace": _STR,
    "migrations": {"type": "dict", "options": {
        "parallel_migrations_per_cluster": _INT, "parallel_outbound_migrations_per_node": _INT,
        "bandwidth_per_migration": _STR, "completion_timeout_per_gib": _INT, "progress_timeout": _INT,
        "allow_auto_converge": _BOOL, "allow_post_copy": _BOOL, "allow_workload_disruption": _BOOL,
        "unsafe_migration_override": _BOOL, "max_downtime_ms": _INT, "node_drain_taint_key": {"type": "str", "no_log": False}, "network": _STR,
    }},
    "workload_update_strategy": {"type": "dict", "options": {
        "workload_update_methods": {"type": "list", "elements": "str", "choices": ["LiveMigrate", "Evict"]},
        "batch_eviction_size": _INT, "batch_eviction_interval": _STR,
    }},
    "vm_rollout_strategy": {"type": "str", "choices": ["Stage", "LiveUpdate"]},
}

HCO_WARNING = ("KubeVirt CR %s/%s is managed by the HyperConverged operator, which puts its own values back "
               "shortly after this change; set them in the HyperConverged CR instead (spec.liveMigrationConfig, "
               "spec.workloadUpdateStrategy)")


def run(module: KubevirtModule) -> Dict[str, Any]:
    params = module.params
    validate_config_params(params)  # every option checked before any request
    kubevirt = pick_kubevirt(module.client.list(KUBEVIRT, params["namespace"]), params["namespace"])
    meta = kubevirt["metadata"]
    patch = config_patch(params, kubevirt)
    result: Dict[str, Any] = {"changed": bool(patch), "patch": patch, "hco_managed": hco_owned(kubevirt)}
    after = kubevirt
    if patch:
        if result["hco_managed"]:
            module.ansible.warn(HCO_WARNING % (meta.get("namespace"), meta.get("name")))
        after = module.client.patch(KUBEVIRT, meta["name"], patch, meta.get("namespace"))
        module.add_diff(result, config_view(kubevirt), config_view(after))
    result["config"] = config_view(after)
    return result


def main() -> None:
    KubevirtModule(ARGUMENT_SPEC, wait=False).execute(run)


if __name__ == "__main__":
    main()
