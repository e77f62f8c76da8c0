"""kubevirt_config's HyperConverged mapping: owner lookup, refusals, the HCO patch and the rendered view."""
from __future__ import annotations

from ansible_collections.virt.kubevirt.plugins.module_utils._hco_config import (
    effective_view,
    hco_owner,
    hco_patch,
    hco_view,
    not_in_hco,
    rendered,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._kubevirt_config import config_view

KUBEVIRT = {
    "metadata": {"name": "kubevirt-kubevirt-hyperconverged", "namespace": "openshift-cnv", "ownerReferences": [
        {"kind": "HyperConverged", "name": "kubevirt-hyperconverged", "controller": True}]},
    "spec": {"configuration": {"migrations": {"parallelMigrationsPerCluster": 5, "bandwidthPerMigration": "64Mi",
                                              "maxDowntimeMs": 300}, "vmRolloutStrategy": "LiveUpdate"},
             "workloadUpdateStrategy": {"batchEvictionSize": 10}},
}
HCO = {"metadata": {"name": "kubevirt-hyperconverged", "namespace": "openshift-cnv"},
       "spec": {"liveMigrationConfig": {"parallelMigrationsPerCluster": 5, "bandwidthPerMigration": "64Mi"},
                "workloadUpdateStrategy": {"batchEvictionSize": 10}}}


def test_hco_owner_reads_the_owner_reference():
    assert hco_owner(KUBEVIRT) == "kubevirt-hyperconverged"
    assert hco_owner({"metadata": {"ownerReferences": [{"kind": "Deployment", "name": "x"}]}}) is None


def test_not_in_hco_names_only_changes_hco_cannot_carry():
    assert not_in_hco({"migrations": {"max_downtime_ms": 300}, "vm_rollout_strategy": "LiveUpdate"}, KUBEVIRT) == []
    assert not_in_hco({"migrations": {"max_downtime_ms": 500, "parallel_migrations_per_cluster": 9},
                       "vm_rollout_strategy": "Stage"}, KUBEVIRT) == [
        "migrations.max_downtime_ms (spec.configuration.migrations.maxDowntimeMs)",
        "vm_rollout_strategy (spec.configuration.vmRolloutStrategy)"]


def test_hco_patch_holds_only_differing_fields_by_value():
    params = {"migrations": {"parallel_migrations_per_cluster": 8, "bandwidth_per_migration": "65536Ki"},
              "workload_update_strategy": {"batch_eviction_size": 10, "batch_eviction_interval": "2m"}}
    assert hco_patch(params, HCO) == {"spec": {"liveMigrationConfig": {"parallelMigrationsPerCluster": 8},
                                               "workloadUpdateStrategy": {"batchEvictionInterval": "2m"}}}
    assert hco_patch({"migrations": {"bandwidth_per_migration": "64Mi"}}, HCO) == {}


def test_rendered_and_the_effective_view():
    params = {"migrations": {"parallel_migrations_per_cluster": 8}}
    assert not rendered(params)(KUBEVIRT) and not rendered(params)(None)
    changed = {"metadata": HCO["metadata"], "spec": {"liveMigrationConfig": {"parallelMigrationsPerCluster": 8},
                                                     "workloadUpdateStrategy": {}}}
    view = effective_view(config_view(KUBEVIRT), changed)
    assert view["migrations"]["parallel_migrations_per_cluster"] == 8
    assert view["migrations"]["max_downtime_ms"] == 300 and view["name"] == "kubevirt-kubevirt-hyperconverged"
    assert config_view(KUBEVIRT)["migrations"]["parallel_migrations_per_cluster"] == 5  # not changed in place
    assert hco_view(HCO)["migrations"]["bandwidth_per_migration"] == "64Mi"
    assert "max_downtime_ms" not in hco_view(HCO)["migrations"]
    kubevirt = {"spec": {"configuration": {"migrations": {"parallelMigrationsPerCluster": 8}}}}
    assert rendered(params)(kubevirt)
