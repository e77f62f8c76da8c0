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
  - On OpenShift Virtualization the KubeVirt CR is owned by the HyperConverged operator (HCO), which renders it
    from the C(HyperConverged) CR (C(hco.kubevirt.io/v1beta1)) and puts its own values back shortly after a direct
    edit. There (O(target=auto) finds it from the KubeVirt CR's owner reference or the label
    C(app.kubernetes.io/managed-by=hco-operator)) the module patches the C(HyperConverged) CR's
    C(spec.liveMigrationConfig) and C(spec.workloadUpdateStrategy) instead, and HCO carries the values into the
    KubeVirt CR.
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
  diff_mode:
    support: full
options:
  namespace:
    description: Namespace of the KubeVirt CR; by default the one KubeVirt CR of the cluster, wherever it is.
    type: str
  target:
    description:
      - Which CR to write.
      - V(auto) writes the C(HyperConverged) CR when the KubeVirt CR is managed by HCO, else the KubeVirt CR.
      - V(hyperconverged) always writes the C(HyperConverged) CR. HCO's API has no field for
        O(migrations.allow_workload_disruption), O(migrations.unsafe_migration_override),
        O(migrations.max_downtime_ms), O(migrations.node_drain_taint_key) or O(vm_rollout_strategy); a change of one
        of those fails before any write, naming it.
      - V(kubevirt) always writes the KubeVirt CR, with a warning when HCO manages it (HCO reverts the change).
      - With the C(HyperConverged) CR as target, O(wait=true) waits until HCO has carried the values into the
        KubeVirt CR.
    type: str
    choices: [auto, kubevirt, hyperconverged]
    default: auto
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
  - HCO's C(kubevirt.kubevirt.io/jsonpatch) annotation (unsupported changes to the KubeVirt CR) is not managed.
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

- name: On OpenShift, raise the limits through the HyperConverged CR and wait until KubeVirt has them
  virt.kubevirt.kubevirt_config:
    migrations:
      parallel_migrations_per_cluster: 8
    wait: true

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
    - With the C(HyperConverged) CR as target, the values HCO renders into the KubeVirt CR from it (already there
      when O(wait=true)).
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
target:
  description: The CR the task compared and wrote.
  returned: always
  type: dict
  contains:
    kind:
      description: V(HyperConverged) or V(KubeVirt).
      type: str
    name:
      description: Its name.
      type: str
    namespace:
      description: Its namespace.
      type: str
  sample: {kind: HyperConverged, name: kubevirt-hyperconverged, namespace: openshift-cnv}
patch:
  description: The JSON merge patch sent to O(target) (also in check mode, as a dry run); empty when nothing differed.
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

from ansible_collections.virt.kubevirt.plugins.module_utils._hco_config import (
    effective_view,
    hco_owner,
    hco_patch,
    hco_view,
    not_in_hco,
    rendered,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._kubevirt_config import (
    config_patch,
    config_view,
    hco_owned,
    pick_kubevirt,
    validate_config_params,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import HYPERCONVERGED, KUBEVIRT
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import invalid

_INT: Dict[str, Any] = {"type": "int"}
_STR: Dict[str, Any] = {"type": "str"}
_BOOL: Dict[str, Any] = {"type": "bool"}
ARGUMENT_SPEC: Dict[str, Any] = {
    "namespace": _STR,
    "target": {"type": "str", "choices": ["auto", "kubevirt", "hyperconverged"], "default": "auto"},
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
               "shortly after this change; target=auto sets them in the HyperConverged CR instead "
               "(spec.liveMigrationConfig, spec.workloadUpdateStrategy)")


def _target(kind: str, obj: Dict[str, Any]) -> Dict[str, Any]:
    meta = obj.get("metadata") or {}
    return {"kind": kind, "name": meta.get("name"), "namespace": meta.get("namespace")}


def _find_hco(module: KubevirtModule, kubevirt: Dict[str, Any]) -> Dict[str, Any]:
    """The HyperConverged CR owning the KubeVirt CR (its owner reference), else the one of its namespace."""
    namespace = kubevirt["metadata"].get("namespace")
    owner = hco_owner(kubevirt)
    found = module.client.get(HYPERCONVERGED, owner, namespace) if owner else None
    if found is None:
        items = module.client.list(HYPERCONVERGED, namespace)
        found = items[0] if len(items) == 1 else None
    if found is None:
        raise invalid("target", "no HyperConverged CR found in namespace %s; set target=kubevirt to write the "
                      "KubeVirt CR %s itself" % (namespace, kubevirt["metadata"].get("name")))
    return found


def _through_hco(module: KubevirtModule, kubevirt: Dict[str, Any], result: Dict[str, Any]) -> Dict[str, Any]:
    params = module.params
    hco = _find_hco(module, kubevirt)
    refused = not_in_hco(params, kubevirt)
    if refused:
        raise invalid(", ".join(option.split(" ")[0] for option in refused), (
            "the HyperConverged CR has no field for %s, and HCO puts the KubeVirt CR's own value back after a "
            "direct edit; set target=kubevirt to write the KubeVirt CR anyway" % ", ".join(refused)))
    patch = hco_patch(params, hco)
    result.update(changed=bool(patch), patch=patch, target=_target("HyperConverged", hco))
    after = hco
    meta = kubevirt["metadata"]
    if patch:
        after = module.client.patch(HYPERCONVERGED, hco["metadata"]["name"], patch, hco["metadata"].get("namespace"))
        module.add_diff(result, hco_view(hco), hco_view(after))
        if params["wait"] and not module.check_mode:
            kubevirt = module.waiter().wait(KUBEVIRT, meta["name"], meta.get("namespace"), rendered(params),
                                            params["wait_timeout"], "rendered by HCO") or kubevirt
    result["config"] = effective_view(config_view(kubevirt), after)
    return result


def run(module: KubevirtModule) -> Dict[str, Any]:
    params = module.params
    validate_config_params(params)  # every option checked before any request
    kubevirt = pick_kubevirt(module.client.list(KUBEVIRT, params["namespace"]), params["namespace"])
    meta = kubevirt["metadata"]
    result: Dict[str, Any] = {"hco_managed": hco_owned(kubevirt)}
    if params["target"] == "hyperconverged" or (params["target"] == "auto" and result["hco_managed"]):
        return _through_hco(module, kubevirt, result)
    patch = config_patch(params, kubevirt)
    result.update(changed=bool(patch), patch=patch, target=_target("KubeVirt", kubevirt))
    after = kubevirt
    if patch:
        if result["hco_managed"]:
            module.ansible.warn(HCO_WARNING % (meta.get("namespace"), meta.get("name")))
        after = module.client.patch(KUBEVIRT, meta["name"], patch, meta.get("namespace"))
        module.add_diff(result, config_view(kubevirt), config_view(after))
    result["config"] = config_view(after)
    return result


def main() -> None:
    KubevirtModule(ARGUMENT_SPEC).execute(run)


if __name__ == "__main__":
    main()
