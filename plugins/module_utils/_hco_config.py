# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kubevirt_config through the HyperConverged CR (hco.kubevirt.io/v1beta1) on OpenShift Virtualization.

HCO renders the KubeVirt CR from its own CR and puts its values back after a direct edit, so there
the settings go into ``spec.liveMigrationConfig`` and ``spec.workloadUpdateStrategy`` of the
HyperConverged CR. HCO's API has only part of KubeVirt's MigrationConfiguration and no
vmRolloutStrategy: a change of one of those cannot be made durable there and is refused.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._kubevirt_config import (
    MIGRATION_FIELDS,
    ROLLOUT_PATH,
    WORKLOAD_FIELDS,
    WORKLOAD_PATH,
    MIGRATIONS_PATH,
    get_path,
    section_patch,
)

LIVE_MIGRATION_PATH = ("spec", "liveMigrationConfig")
HCO_WORKLOAD_PATH = ("spec", "workloadUpdateStrategy")
# The fields of HCO's LiveMigrationConfigurations (the same names as KubeVirt's).
HCO_MIGRATION_FIELDS = tuple((option, field) for option, field in MIGRATION_FIELDS if field in (
    "parallelMigrationsPerCluster", "parallelOutboundMigrationsPerNode", "bandwidthPerMigration",
    "completionTimeoutPerGiB", "progressTimeout", "allowAutoConverge", "allowPostCopy", "network"))


def hco_owner(kubevirt: Mapping[str, Any]) -> Optional[str]:
    """Name of the HyperConverged CR the KubeVirt CR's owner reference names, else None."""
    for ref in (kubevirt.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("kind") == "HyperConverged":
            return ref.get("name")
    return None


def not_in_hco(params: Mapping[str, Any], kubevirt: Mapping[str, Any]) -> List[str]:
    """The options to change that HCO's CR cannot carry, as ``option (KubeVirt field)``."""
    supported = {option for option, _field in HCO_MIGRATION_FIELDS}
    wanted = {option: value for option, value in (params.get("migrations") or {}).items()
              if value is not None and option not in supported}
    live = get_path(kubevirt, MIGRATIONS_PATH) or {}
    fields = [(option, field) for option, field in MIGRATION_FIELDS if option in wanted]
    changed = section_patch(tuple(fields), wanted, live)
    found = ["migrations.%s (spec.configuration.migrations.%s)" % (option, field)
             for option, field in fields if field in changed]
    rollout = params.get("vm_rollout_strategy")
    if rollout is not None and rollout != get_path(kubevirt, ROLLOUT_PATH):
        found.append("vm_rollout_strategy (spec.configuration.vmRolloutStrategy)")
    return found


def hco_patch(params: Mapping[str, Any], hco: Mapping[str, Any]) -> Dict[str, Any]:
    """The merge patch of the HyperConverged CR for the named fields that differ; {} when none do."""
    patch: Dict[str, Any] = {}
    migrations = section_patch(HCO_MIGRATION_FIELDS, params.get("migrations") or {},
                               get_path(hco, LIVE_MIGRATION_PATH) or {})
    if migrations:
        patch.setdefault("spec", {})["liveMigrationConfig"] = migrations
    workload = section_patch(WORKLOAD_FIELDS, params.get("workload_update_strategy") or {},
                             get_path(hco, HCO_WORKLOAD_PATH) or {})
    if workload:
        patch.setdefault("spec", {})["workloadUpdateStrategy"] = workload
    return patch


def rendered(params: Mapping[str, Any]):
    """Predicate: the KubeVirt CR carries every value the task names (HCO has rendered them)."""
    def check(kubevirt: Optional[Mapping[str, Any]]) -> bool:
        if not kubevirt:
            return False
        migrations = section_patch(HCO_MIGRATION_FIELDS, params.get("migrations") or {},
                                   get_path(kubevirt, MIGRATIONS_PATH) or {})
        workload = section_patch(WORKLOAD_FIELDS, params.get("workload_update_strategy") or {},
                                 get_path(kubevirt, WORKLOAD_PATH) or {})
        return not migrations and not workload
    return check


def hco_view(hco: Mapping[str, Any]) -> Dict[str, Any]:
    """The HyperConverged CR's sections this module manages, by option name (for diff mode)."""
    live = get_path(hco, LIVE_MIGRATION_PATH) or {}
    workload = get_path(hco, HCO_WORKLOAD_PATH) or {}
    meta = hco.get("metadata") or {}
    return {"name": meta.get("name"), "namespace": meta.get("namespace"),
            "migrations": {option: live.get(field) for option, field in HCO_MIGRATION_FIELDS},
            "workload_update_strategy": {option: workload.get(field) for option, field in WORKLOAD_FIELDS}}


def effective_view(kubevirt_view: Mapping[str, Any], hco: Mapping[str, Any]) -> Dict[str, Any]:
    """The KubeVirt CR's view with the values HCO renders from ``hco`` (what KubeVirt runs with
    once HCO has reconciled)."""
    view = {key: (dict(value) if isinstance(value, dict) else value) for key, value in kubevirt_view.items()}
    rendered_view = hco_view(hco)
    for section in ("migrations", "workload_update_strategy"):
        for option, value in rendered_view[section].items():
            if value is not None:
                view[section][option] = value
    return view
