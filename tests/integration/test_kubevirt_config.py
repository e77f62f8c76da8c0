# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.kubevirt_config against the local cluster (OpenShift flavour, HCO-managed CR): read-only use,
check mode, a field-level merge patch, the HCO warning, and the migration controller following the new limits."""

from __future__ import annotations

import time
from typing import Any, Dict, List

from .test_vm_disk_helpers import Objects
from .test_vm_migration import VMIM, _vm

KV_PATH = "/apis/kubevirt.io/v1/kubevirts"


def _kubevirt(objects: Objects) -> Dict[str, Any]:
    [kv] = objects.custom.list_cluster_custom_object("kubevirt.io", "v1", "kubevirts")["items"]
    return kv


def test_read_only_and_check_mode(runner, objects):
    read = runner.run("kubevirt_config", {})
    assert not read.failed and not read.changed and read.writes == [], read
    assert [(r["verb"], r["path"]) for r in read.requests] == [("list", KV_PATH)], read
    config = read.result["config"]
    assert config["namespace"] == "openshift-cnv" and read.result["hco_managed"] is True
    assert config["migrations"]["parallel_outbound_migrations_per_node"] == 2
    assert config["workload_update_strategy"]["workload_update_methods"] == ["LiveMigrate"]
    assert config["vm_rollout_strategy"] == "LiveUpdate"

    same = runner.run("kubevirt_config", {"migrations": {"bandwidth_per_migration": "65536Ki"},
                                          "workload_update_strategy": {"batch_eviction_interval": "60s"}})
    assert not same.changed and same.writes == [] and same.result["patch"] == {}, same

    before = _kubevirt(objects)
    check = runner.run("kubevirt_config", {"migrations": {"parallel_migrations_per_cluster": 9},
                                           "vm_rollout_strategy": "Stage"}, check=True, diff=True)
    assert not check.failed and check.changed, check
    assert [w for w in check.writes if not w["dry_run"]] == [], check
    assert check.result["config"]["migrations"]["parallel_migrations_per_cluster"] == 9
    assert check.result["diff"]["before"]["migrations"]["parallel_migrations_per_cluster"] == 5
    assert _kubevirt(objects)["spec"] == before["spec"]
    assert "HyperConverged" in check.output


def test_bad_input_fails_before_any_request(runner):
    for args, option in (({"migrations": {"parallel_migrations_per_cluster": 0}}, "migrations.parallel_migrations_per_cluster"),
                         ({"migrations": {"bandwidth_per_migration": "lots"}}, "migrations.bandwidth_per_migration"),
                         ({"workload_update_strategy": {"batch_eviction_interval": "1 minute"}},
                          "workload_update_strategy.batch_eviction_interval"),
                         ({"vm_rollout_strategy": "Rolling"}, "vm_rollout_strategy")):
        run = runner.run("kubevirt_config", args)
        assert run.failed and option in run.msg, (args, run.msg)
        assert run.requests == [], run


def _active(objects: Objects, namespace: str) -> List[str]:
    items = objects.custom.list_namespaced_custom_object("kubevirt.io", "v1", namespace, VMIM)["items"]
    return [m["metadata"]["name"] for m in items if (m.get("status") or {}).get("phase") in (
        "Scheduling", "Scheduled", "PreparingTarget", "TargetReady", "Running")]


def test_cluster_limit_throttles_migrations(runner, objects, namespace):
    limits = {"parallel_migrations_per_cluster": 1, "parallel_outbound_migrations_per_node": 1}
    original = runner.run("kubevirt_config", {}).result["config"]["migrations"]
    set_run = runner.run("kubevirt_config", {"migrations": limits}, diff=True)
    try:
        assert not set_run.failed and set_run.changed, set_run
        # One write: a JSON merge patch holding only the two named fields.
        assert [(w["verb"], w["content_type"]) for w in set_run.writes] == [("patch", "application/merge-patch+json")]
        assert set_run.result["patch"] == {"spec": {"configuration": {"migrations": {
            "parallelMigrationsPerCluster": 1, "parallelOutboundMigrationsPerNode": 1}}}}
        migrations = _kubevirt(objects)["spec"]["configuration"]["migrations"]
        assert migrations["parallelMigrationsPerCluster"] == 1 and migrations["bandwidthPerMigration"] == "64Mi"
        assert not runner.run("kubevirt_config", {"migrations": limits}).changed

        for vm in ("a", "b"):
            _vm(objects, namespace, vm, memory="2Gi")
        for vm in ("a", "b"):
            body = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceMigration",
                    "metadata": {"name": vm + "-mig", "namespace": namespace}, "spec": {"vmiName": vm}}
            objects.custom.create_namespaced_custom_object("kubevirt.io", "v1", namespace, VMIM, body)
        most, deadline, done = 0, time.monotonic() + 30, False
        while time.monotonic() < deadline and not done:
            most = max(most, len(_active(objects, namespace)))
            phases = [(m.get("status") or {}).get("phase") for m in objects.custom.list_namespaced_custom_object(
                "kubevirt.io", "v1", namespace, VMIM)["items"]]
            done = phases == ["Succeeded", "Succeeded"]
            time.sleep(0.02)
        assert done and most == 1, (phases, most)
    finally:
        restore = runner.run("kubevirt_config", {"migrations": {
            "parallel_migrations_per_cluster": original["parallel_migrations_per_cluster"],
            "parallel_outbound_migrations_per_node": original["parallel_outbound_migrations_per_node"]}})
        assert not restore.failed, restore
    assert _kubevirt(objects)["spec"]["configuration"]["migrations"]["parallelMigrationsPerCluster"] == \
        original["parallel_migrations_per_cluster"]
