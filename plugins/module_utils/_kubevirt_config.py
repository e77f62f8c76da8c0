# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The KubeVirt CR's migration limits, workload update strategy and VM rollout strategy: options to a
JSON merge patch of the named fields only, and the current values of those sections.

Only what the task names is compared and sent, so fields other tools (or HCO) own stay untouched.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._quantity import quantity_value
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import check_int_range, check_quantity, invalid

# option -> field of spec.configuration.migrations (MigrationConfiguration in the CRD)
MIGRATION_FIELDS: Tuple[Tuple[str, str], ...] = (
    ("parallel_migrations_per_cluster", "parallelMigrationsPerCluster"),
    ("parallel_outbound_migrations_per_node", "parallelOutboundMigrationsPerNode"),
    ("bandwidth_per_migration", "bandwidthPerMigration"),
    ("completion_timeout_per_gib", "completionTimeoutPerGiB"),
    ("progress_timeout", "progressTimeout"),
    ("allow_auto_converge", "allowAutoConverge"),
    ("allow_post_copy", "allowPostCopy"),
    ("allow_workload_disruption", "allowWorkloadDisruption"),
    ("unsafe_migration_override", "unsafeMigrationOverride"),
    ("max_downtime_ms", "maxDowntimeMs"),
    ("node_drain_taint_key", "nodeDrainTaintKey"),
    ("network", "network"),
)
# option -> field of spec.workloadUpdateStrategy
WORKLOAD_FIELDS: Tuple[Tuple[str, str], ...] = (
    ("workload_update_methods", "workloadUpdateMethods"),
    ("batch_eviction_size", "batchEvictionSize"),
    ("batch_eviction_interval", "batchEvictionInterval"),
)
MIGRATIONS_PATH = ("spec", "configuration", "migrations")
WORKLOAD_PATH = ("spec", "workloadUpdateStrategy")
ROLLOUT_PATH = ("spec", "configuration", "vmRolloutStrategy")
HCO_MANAGER = "hco-operator"

_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|\u00b5s|ms|s|m|h))+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_INTS = {"parallel_migrations_per_cluster": 1, "parallel_outbound_migrations_per_node": 1,
         "completion_timeout_per_gib": 1, "progress_timeout": 1, "max_downtime_ms": 1}


def duration_seconds(value: Any) -> Optional[float]:
    """A Go duration ("1m0s", "90s") in seconds; None when it is not one."""
    if not isinstance(value, str) or not _DURATION.match(value):
        return None
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(value))


def validate_config_params(params: Mapping[str, Any]) -> None:
    migrations = params.get("migrations") or {}
    for option, low in _INTS.items():
        if migrations.get(option) is not None:
            high = 2000000 if option == "max_downtime_ms" else None
            check_int_range("migrations.%s" % option, migrations[option], low, high)
    if migrations.get("bandwidth_per_migration") is not None:
        check_quantity("migrations.bandwidth_per_migration", migrations["bandwidth_per_migration"], positive=False)
    strategy = params.get("workload_update_strategy") or {}
    if strategy.get("batch_eviction_size") is not None:
        check_int_range("workload_update_strategy.batch_eviction_size", strategy["batch_eviction_size"], 1)
    interval = strategy.get("batch_eviction_interval")
    if interval is not None and duration_seconds(interval) is None:
        raise invalid("workload_update_strategy.batch_eviction_interval",
                      "must be a duration such as 1m0s, 90s or 1h, got %r" % interval)


def get_path(obj: Mapping[str, Any], path: Tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)  # type: ignore[assignment]
    return obj


def _same(field: str, wanted: Any, live: Any) -> bool:
    """Equal as KubeVirt reads them: quantities by value, durations by length."""
    if field == "bandwidthPerMigration" and live is not None:
        return quantity_value(wanted) == quantity_value(live)
    if field == "batchEvictionInterval" and live is not None:
        return duration_seconds(wanted) == duration_seconds(live)
    return wanted == live


def section_patch(fields: Tuple[Tuple[str, str], ...], wanted: Mapping[str, Any], live: Mapping[str, Any]) -> Dict[str, Any]:
    return {field: wanted[option] for option, field in fields
            if wanted.get(option) is not None and not _same(field, wanted[option], live.get(field))}


def config_patch(params: Mapping[str, Any], kubevirt: Mapping[str, Any]) -> Dict[str, Any]:
    """The merge patch of the named fields that differ from the live CR; {} when nothing does."""
    patch: Dict[str, Any] = {}
    migrations = section_patch(MIGRATION_FIELDS, params.get("migrations") or {}, get_path(kubevirt, MIGRATIONS_PATH) or {})
    if migrations:
        patch.setdefault("spec", {}).setdefault("configuration", {})["migrations"] = migrations
    rollout = params.get("vm_rollout_strategy")
    if rollout is not None and rollout != get_path(kubevirt, ROLLOUT_PATH):
        patch.setdefault("spec", {}).setdefault("configuration", {})["vmRolloutStrategy"] = rollout
    workload = section_patch(WORKLOAD_FIELDS, params.get("workload_update_strategy") or {},
                             get_path(kubevirt, WORKLOAD_PATH) or {})
    if workload:
        patch.setdefault("spec", {})["workloadUpdateStrategy"] = workload
    return patch


def config_view(kubevirt: Mapping[str, Any]) -> Dict[str, Any]:
    """The sections this module manages, by option name (None for a field the CR leaves to KubeVirt's default)."""
    migrations = get_path(kubevirt, MIGRATIONS_PATH) or {}
    workload = get_path(kubevirt, WORKLOAD_PATH) or {}
    meta = kubevirt.get("metadata") or {}
    return {
        "name": meta.get("name"), "namespace": meta.get("namespace"),
        "migrations": {option: migrations.get(field) for option, field in MIGRATION_FIELDS},
        "workload_update_strategy": {option: workload.get(field) for option, field in WORKLOAD_FIELDS},
        "vm_rollout_strategy": get_path(kubevirt, ROLLOUT_PATH),
    }


def hco_owned(kubevirt: Mapping[str, Any]) -> bool:
    """Whether the HyperConverged operator owns the CR (it puts its own values back on direct edits)."""
    meta = kubevirt.get("metadata") or {}
    if (meta.get("labels") or {}).get("app.kubernetes.io/managed-by") == HCO_MANAGER:
        return True
    return any(ref.get("kind") == "HyperConverged" for ref in meta.get("ownerReferences") or ())


def pick_kubevirt(items: List[Dict[str, Any]], namespace: Optional[str]) -> Dict[str, Any]:
    """The one KubeVirt CR (of ``namespace`` when given); a clear error for none or several."""
    found = [kv for kv in items if namespace is None or (kv.get("metadata") or {}).get("namespace") == namespace]
    if not found:
        where = " in namespace %s" % namespace if namespace else ""
        raise invalid("namespace", "no KubeVirt CR found%s; is KubeVirt installed?" % where)
    if len(found) > 1:
        raise invalid("namespace", "several KubeVirt CRs found (%s); set namespace to choose one" % ", ".join(
            "%s/%s" % (kv["metadata"].get("namespace"), kv["metadata"].get("name")) for kv in found))
    return found[0]
