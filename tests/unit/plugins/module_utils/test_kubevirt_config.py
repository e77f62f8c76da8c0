# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._kubevirt_config import (
    config_patch,
    config_view,
    duration_seconds,
    hco_owned,
    pick_kubevirt,
    validate_config_params,
)

KV = {"metadata": {"name": "kubevirt", "namespace": "kubevirt"}, "spec": {
    "configuration": {"migrations": {"parallelMigrationsPerCluster": 5, "bandwidthPerMigration": "64Mi"},
                      "vmRolloutStrategy": "LiveUpdate", "developerConfiguration": {"featureGates": ["X"]}},
    "workloadUpdateStrategy": {"workloadUpdateMethods": ["LiveMigrate"], "batchEvictionInterval": "1m0s"}}}


def _params(**extra):
    params = {"namespace": None, "migrations": None, "workload_update_strategy": None, "vm_rollout_strategy": None}
    params.update(extra)
    return params


def test_patch_holds_only_named_fields_that_differ():
    patch = config_patch(_params(migrations={"parallel_migrations_per_cluster": 10, "bandwidth_per_migration": "65536Ki",
                                             "allow_post_copy": None},
                                 workload_update_strategy={"workload_update_methods": ["LiveMigrate", "Evict"],
                                                           "batch_eviction_interval": "60s"},
                                 vm_rollout_strategy="LiveUpdate"), KV)
    assert patch == {"spec": {"configuration": {"migrations": {"parallelMigrationsPerCluster": 10}},
                              "workloadUpdateStrategy": {"workloadUpdateMethods": ["LiveMigrate", "Evict"]}}}
    assert config_patch(_params(), KV) == {}
    assert config_patch(_params(vm_rollout_strategy="Stage"), {"metadata": {}}) == {
        "spec": {"configuration": {"vmRolloutStrategy": "Stage"}}}


def test_view_by_option_names():
    view = config_view(KV)
    assert view["migrations"]["parallel_migrations_per_cluster"] == 5 and view["migrations"]["progress_timeout"] is None
    assert view["workload_update_strategy"]["batch_eviction_interval"] == "1m0s"
    assert view["vm_rollout_strategy"] == "LiveUpdate" and view["namespace"] == "kubevirt"


def test_durations():
    assert duration_seconds("1m0s") == duration_seconds("60s") == 60.0
    assert duration_seconds("1h30m") == 5400.0 and duration_seconds("1 minute") is None and duration_seconds(60) is None


def test_hco_ownership():
    assert not hco_owned(KV)
    assert hco_owned({"metadata": {"labels": {"app.kubernetes.io/managed-by": "hco-operator"}}})
    assert hco_owned({"metadata": {"ownerReferences": [{"kind": "HyperConverged", "name": "kubevirt-hyperconverged"}]}})


def test_pick_one_kubevirt():
    other = {"metadata": {"name": "kv", "namespace": "other"}}
    assert pick_kubevirt([KV], None) is KV and pick_kubevirt([KV, other], "other") is other
    with pytest.raises(KubeApiError, match="several KubeVirt CRs"):
        pick_kubevirt([KV, other], None)
    with pytest.raises(KubeApiError, match="no KubeVirt CR found in namespace x"):
        pick_kubevirt([KV], "x")


@pytest.mark.parametrize("extra,option", [
    ({"migrations": {"parallel_outbound_migrations_per_node": 0}}, "migrations.parallel_outbound_migrations_per_node"),
    ({"migrations": {"max_downtime_ms": 2000001}}, "migrations.max_downtime_ms"),
    ({"migrations": {"bandwidth_per_migration": "1 Gi"}}, "migrations.bandwidth_per_migration"),
    ({"workload_update_strategy": {"batch_eviction_size": 0}}, "workload_update_strategy.batch_eviction_size"),
    ({"workload_update_strategy": {"batch_eviction_interval": "soon"}}, "workload_update_strategy.batch_eviction_interval"),
])
def test_validation_names_the_option(extra, option):
    with pytest.raises(KubeApiError) as err:
        validate_config_params(_params(**extra))
    assert option in str(err.value)
