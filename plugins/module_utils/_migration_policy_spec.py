# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""MigrationPolicy (migrations.kubevirt.io/v1alpha1): options checked, then the object to apply."""

from __future__ import annotations

from typing import Any, Dict, Mapping

from ansible_collections.virt.kubevirt.plugins.module_utils._resources import ResourceRef
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import (
    check_annotations,
    check_int_range,
    check_labels,
    check_quantity,
    check_resource_name,
)

MIGRATION_POLICY = ResourceRef("migrations.kubevirt.io", "v1alpha1", "migrationpolicies", "MigrationPolicy",
                               namespaced=False)

# option -> spec field, as in the CRD (MigrationPolicySpec).
SPEC_FIELDS = (
    ("allow_auto_converge", "allowAutoConverge"),
    ("allow_post_copy", "allowPostCopy"),
    ("allow_workload_disruption", "allowWorkloadDisruption"),
    ("bandwidth_per_migration", "bandwidthPerMigration"),
    ("completion_timeout_per_gib", "completionTimeoutPerGiB"),
    ("max_downtime_ms", "maxDowntimeMs"),
)
# Selectors are plain label maps (not LabelSelectors): every label must be on the VMI / its namespace.
SELECTOR_FIELDS = (("vmi_selector", "virtualMachineInstanceSelector"), ("namespace_selector", "namespaceSelector"))
MAX_DOWNTIME_MS = 2000000  # QEMU's limit, the CRD's maximum


def validate_policy_params(params: Mapping[str, Any]) -> None:
    """Every option, before any request: the server's 422 would name spec fields, not options."""
    check_resource_name("name", params["name"])
    check_labels("labels", params.get("labels"))
    check_annotations("annotations", params.get("annotations"))
    for option, _field in SELECTOR_FIELDS:
        check_labels(option, params.get(option))
    if params.get("bandwidth_per_migration") is not None:
        # 0 is valid: KubeVirt reads it as "no limit".
        check_quantity("bandwidth_per_migration", params["bandwidth_per_migration"], positive=False)
    if params.get("completion_timeout_per_gib") is not None:
        check_int_range("completion_timeout_per_gib", params["completion_timeout_per_gib"], 1)
    if params.get("max_downtime_ms") is not None:
        check_int_range("max_downtime_ms", params["max_downtime_ms"], 1, MAX_DOWNTIME_MS)


def build_policy(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The MigrationPolicy to server-side apply; options left out are not sent (KubeVirt keeps the cluster value)."""
    metadata: Dict[str, Any] = {"name": params["name"]}
    for key in ("labels", "annotations"):
        if params.get(key):
            metadata[key] = dict(params[key])
    selectors = {field: dict(params[option]) for option, field in SELECTOR_FIELDS if params.get(option)}
    spec: Dict[str, Any] = {"selectors": selectors}  # required by the CRD; empty matches every VMI
    for option, field in SPEC_FIELDS:
        if params.get(option) is not None:
            spec[field] = params[option]
    return {"apiVersion": MIGRATION_POLICY.api_version, "kind": MIGRATION_POLICY.kind, "metadata": metadata, "spec": spec}


def policy_summary(policy: Mapping[str, Any]) -> Dict[str, Any]:
    """The result's view of a live policy: name, options by their module names, selectors."""
    spec = policy.get("spec") or {}
    selectors = spec.get("selectors") or {}
    summary: Dict[str, Any] = {"name": (policy.get("metadata") or {}).get("name")}
    for option, field in SPEC_FIELDS:
        summary[option] = spec.get(field)
    for option, field in SELECTOR_FIELDS:
        summary[option] = dict(selectors.get(field) or {})
    return summary
