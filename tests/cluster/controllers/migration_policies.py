"""MigrationPolicy matching (kubevirt.io/api migrations/v1alpha1 MatchPolicy) and the configuration
a matched policy gives a migration (GetMigrationConfByPolicy), as virt-controller applies them when
it hands a migration to virt-handler.

A policy matches when every label of its ``virtualMachineInstanceSelector`` is on the VMI and every
label of its ``namespaceSelector`` is on the VMI's namespace; as in KubeVirt, a selector is only
looked at when the VMI has labels at all. The best match has the most matched labels (VMI and
namespace together; on a tie, more VMI labels), then the first name in lexicographic order.
"""
from __future__ import annotations

from typing import Optional

from .keys import NAMESPACE

MIGRATION_POLICY = ("migrations.kubevirt.io", "migrationpolicies")
# spec field -> the same field of MigrationConfiguration it overrides
OVERRIDES = ("allowAutoConverge", "bandwidthPerMigration", "completionTimeoutPerGiB", "allowPostCopy",
             "allowWorkloadDisruption")


def _score(policy: dict, vmi_labels: Optional[dict], ns_labels: Optional[dict]) -> Optional[tuple[int, int]]:
    """(matched VMI labels, matched namespace labels), or None when the policy does not match."""
    selectors = (policy.get("spec") or {}).get("selectors")
    if selectors is None:
        return None
    counts = []
    for field, labels in (("virtualMachineInstanceSelector", vmi_labels), ("namespaceSelector", ns_labels)):
        wanted = selectors.get(field)
        # KubeVirt checks the VMI's labels for nil before either selector (also the namespace one).
        if wanted is None or vmi_labels is None:
            counts.append(0)
            continue
        if any((labels or {}).get(key) != value for key, value in wanted.items()):
            return None
        counts.append(len(wanted))
    return counts[0], counts[1]


def match_policy(policies: list[dict], vmi: dict, namespace: Optional[dict]) -> Optional[dict]:
    vmi_labels = (vmi.get("metadata") or {}).get("labels")
    ns_labels = ((namespace or {}).get("metadata") or {}).get("labels")
    best, best_key = None, None
    for policy in policies:
        score = _score(policy, vmi_labels, ns_labels)
        if score is None:
            continue
        key = (-(score[0] + score[1]), -score[0], policy["metadata"]["name"])
        if best_key is None or key < best_key:
            best, best_key = policy, key
    return best


def policy_configuration(store, vmi: dict, config: dict) -> tuple[dict, Optional[str]]:
    """The migration's configuration (cluster one overridden by the matched policy) and the policy's name."""
    policies = store.list(MIGRATION_POLICY)[0]
    if not policies:
        return config, None
    namespace = store.get(NAMESPACE, None, vmi["metadata"]["namespace"])
    policy = match_policy(policies, vmi, namespace)
    if policy is None:
        return config, None
    spec = policy.get("spec") or {}
    merged = dict(config, **{k: spec[k] for k in OVERRIDES if spec.get(k) is not None})
    return merged, policy["metadata"]["name"]
