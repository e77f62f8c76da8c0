# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.kubevirt_config against the local cluster (OpenShift flavour, HCO-managed CR): read-only use,
check mode, a field-level merge patch of the HyperConverged CR that HCO carries into the KubeVirt CR, refusals of
what HCO cannot carry, a direct edit HCO reverts, and the migration controller following the new limits."""

from __future__ import annotations

import time
from typing import Any, Dict, List

from .test_vm_disk_helpers import Objects
from .test_vm_migration import VMIM, _vm

KV_PATH = "/apis/kubevirt.io/v1/kubevirts"
HCO_PATH = "/apis/hco.kubevirt.io/v1beta1/namespaces/openshift-cnv/hyperconvergeds/kubevirt-hyperconverged"


def _kubevirt(objects: Objects) -> Dict[str, Any]:
    [kv] = objects.custom.list_cluster_custom_object("kubevirt.io", "v1", "kubevirts")["items"]
    return kv


def test_read_only_and_check_mode(runner, objects):
    read = runner.run("kubevirt_config", {})
    assert not read.failed and not read.changed and read.writes == [], read
    assert [(r["verb"], r["path"]) for r in read.requests] == [("list", KV_PATH), ("get", HCO_PATH)], read
    config = read.result["config"]
    assert config["namespace"] == "openshift-cnv" and read.result["hco_managed"] is True
    assert read.result["target"] == {"kind": "HyperConverged", "name": "kubevirt-hyperconverged",
                                     "namespace": "openshift-cnv"}
    assert config["migrations"]["parallel_outbound_migrations_per_node"] == 2
    assert config["workload_update_strategy"]["workload_update_methods"] == ["LiveMigrate"]
    assert config["vm_rollout_strategy"] == "LiveUpdate"

    same = runner.run("kubevirt_config", {"migrations": {"bandwidth_per_migration": "65536Ki"},
                                          "workload_update_strategy": {"batch_eviction_interval": "60s"}})
    assert not same.changed and same.writes == [] and same.result["patch"] == {}, same

    before = _kubevirt(objects)
    check = runner.run("kubevirt_config", {"migrations": {"parallel_migrations_per_cluster": 9}}, check=True, diff=True)
    assert not check.failed and check.changed, check
    assert check.writes == [] and [(r["path"], r["dry_run"]) for r in check.requests if r["write"]] == [(HCO_PATH, True)]
    assert check.result["config"]["migrations"]["parallel_migrations_per_cluster"] == 9
    assert check.result["diff"]["before"]["migrations"]["parallel_migrations_per_cluster"] == 5
    assert _kubevirt(objects)["spec"] == before["spec"]

    direct = runner.run("kubevirt_config", {"target": "kubevirt", "vm_rollout_strategy": "Stage"}, check=True)
    assert direct.changed and direct.writes == [], direct
    assert "HyperConverged" in direct.output and direct.result["target"]["kind"] == "KubeVirt"


def test_what_hco_cannot_carry_is_refused_before_any_write(runner):
    run = runner.run("kubevirt_config", {"vm_rollout_strategy": "Stage", "migrations": {
        "max_downtime_ms": 500, "parallel_migrations_per_cluster": 6}})
    assert run.failed and run.writes == [], run
    assert run.msg.startswith("migrations.max_downtime_ms, vm_rollout_strategy: the HyperConverged CR has no field for "
                              "migrations.max_downtime_ms (spec.configuration.migrations.maxDowntimeMs)"), run.msg
    assert "set target=kubevirt" in run.msg
    same = runner.run("kubevirt_config", {"vm_rollout_strategy": "LiveUpdate"})  # already so: nothing to carry
    assert not same.failed and not same.changed and same.writes == [], same


def test_a_direct_edit_of_the_kubevirt_cr_is_put_back_by_hco(runner, objects):
    run = runner.run("kubevirt_config", {"target": "kubevirt", "migrations": {"progress_timeout": 300}})
    assert run.changed and run.result["config"]["migrations"]["progress_timeout"] == 300, run
    assert "puts its own values back" in run.output
    deadline = time.monotonic() + 10
    while _kubevirt(objects)["spec"]["configuration"]["migrations"]["progressTimeout"] != 150:
        assert time.monotonic() < deadline, "HCO did not put progressTimeout back"
        time.sleep(0.05)


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
    set_run = runner.run("kubevirt_config", {"migrations": limits, "wait": True}, diff=True)
    try:
        assert not set_run.failed and set_run.changed, set_run
        # One write: a JSON merge patch of the HyperConverged CR holding only the two named fields.
        assert [(w["verb"], w["path"], w["content_type"]) for w in set_run.writes] == [
            ("patch", HCO_PATH, "application/merge-patch+json")]
        assert set_run.result["patch"] == {"spec": {"liveMigrationConfig": {
            "parallelMigrationsPerCluster": 1, "parallelOutboundMigrationsPerNode": 1}}}
        migrations = _kubevirt(objects)["spec"]["configuration"]["migrations"]  # HCO carried them (wait)
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
        restore = runner.run("kubevirt_config", {"wait": True, "migrations": {
            "parallel_migrations_per_cluster": original["parallel_migrations_per_cluster"],
            "parallel_outbound_migrations_per_node": original["parallel_outbound_migrations_per_node"]}})
        assert not restore.failed, restore
    assert _kubevirt(objects)["spec"]["configuration"]["migrations"]["parallelMigrationsPerCluster"] == \
        original["parallel_migrations_per_cluster"]
