# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.migration_policy against the local cluster: create, re-run, check, diff, absent, bad input."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Optional

from kubernetes import client as k8s

from .test_vm_disk_helpers import IMAGE, Objects
from .test_vm_migration import VMIM, _running


def _policy(cluster, name: str) -> Optional[Dict[str, Any]]:
    api = k8s.CustomObjectsApi(cluster.api_client())
    try:
        return api.get_cluster_custom_object("migrations.kubevirt.io", "v1alpha1", "migrationpolicies", name)
    except k8s.exceptions.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def test_lifecycle(runner, cluster):
    args = {"name": "it-databases", "vmi_selector": {"workload": "database"},
            "namespace_selector": {"environment": "production"}, "bandwidth_per_migration": "256Mi",
            "completion_timeout_per_gib": 300, "allow_auto_converge": True}
    check = runner.run("migration_policy", args, check=True, diff=True)
    assert not check.failed and check.changed and check.result["method"] == "create", check
    assert [w for w in check.writes if not w["dry_run"]] == [] and _policy(cluster, "it-databases") is None
    assert check.result["diff"]["after"]["spec"]["bandwidthPerMigration"] == "256Mi"

    created = runner.run("migration_policy", args)
    assert not created.failed and created.changed and created.result["method"] == "create", created
    spec = _policy(cluster, "it-databases")["spec"]
    assert spec == {"selectors": {"virtualMachineInstanceSelector": {"workload": "database"},
                                  "namespaceSelector": {"environment": "production"}},
                    "bandwidthPerMigration": "256Mi", "completionTimeoutPerGiB": 300, "allowAutoConverge": True}
    assert created.result["policy"]["vmi_selector"] == {"workload": "database"}

    again = runner.run("migration_policy", args)
    assert not again.failed and not again.changed and again.writes == [], again

    changed = runner.run("migration_policy", dict(args, bandwidth_per_migration="1Gi", allow_post_copy=True), diff=True)
    assert changed.changed and changed.result["method"] == "update", changed
    assert changed.result["diff"]["before"]["spec"]["bandwidthPerMigration"] == "256Mi"
    assert changed.result["diff"]["after"]["spec"]["bandwidthPerMigration"] == "1Gi"
    assert _policy(cluster, "it-databases")["spec"]["allowPostCopy"] is True

    gone_check = runner.run("migration_policy", {"name": "it-databases", "state": "absent"}, check=True)
    assert gone_check.changed and [w for w in gone_check.writes if not w["dry_run"]] == [], gone_check
    assert _policy(cluster, "it-databases") is not None
    gone = runner.run("migration_policy", {"name": "it-databases", "state": "absent"}, diff=True)
    assert gone.changed and gone.result["method"] == "delete" and gone.result["diff"]["after"] in ({}, None), gone
    assert _policy(cluster, "it-databases") is None
    assert not runner.run("migration_policy", {"name": "it-databases", "state": "absent"}).changed


def test_bad_input_fails_before_any_request(runner):
    cases = [({"name": "p", "bandwidth_per_migration": "fast"}, "bandwidth_per_migration"),
             ({"name": "p", "completion_timeout_per_gib": 0}, "completion_timeout_per_gib"),
             ({"name": "p", "max_downtime_ms": 3000000}, "max_downtime_ms"),
             ({"name": "p", "vmi_selector": {"bad key!": "x"}}, "vmi_selector"),
             ({"name": "Bad_Name"}, "name")]
    for args, option in cases:
        run = runner.run("migration_policy", args)
        assert run.failed and option in run.msg and "\n" not in run.msg, (args, run.msg)
        assert run.requests == [], run


def _seconds(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def _labelled_vm(objects: Objects, namespace: str, name: str, labels: Dict[str, str]) -> None:
    body = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name, "namespace": namespace},
            "spec": {"runStrategy": "Always", "template": {"metadata": {"labels": labels}, "spec": {
                "domain": {"memory": {"guest": "4Gi"}, "devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}]}},
                "volumes": [{"name": "root", "containerDisk": {"image": IMAGE}}]}}}}
    objects.custom.create_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachines", body)
    objects.wait("VMI %s running" % name, lambda: _running(objects, namespace, name))


def _migrate(objects: Objects, namespace: str, name: str) -> Dict[str, Any]:
    body = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceMigration",
            "metadata": {"name": name + "-mig", "namespace": namespace}, "spec": {"vmiName": name}}
    objects.custom.create_namespaced_custom_object("kubevirt.io", "v1", namespace, VMIM, body)
    objects.wait("migration of %s succeeded" % name, lambda: (
        ((objects.custom.get_namespaced_custom_object("kubevirt.io", "v1", namespace, VMIM, name + "-mig")
          .get("status") or {}).get("phase") == "Succeeded")))
    return objects.vmi(namespace, name)["status"]["migrationState"]


def test_matched_policy_sets_bandwidth_and_name(runner, cluster, objects, namespace):
    # 4Gi of guest memory: 64 one-step seconds at the cluster's 64Mi, 2 at the policy's 4Gi.
    name = "it-fast-" + namespace[-8:]
    policy = runner.run("migration_policy", {"name": name, "vmi_selector": {"speed": "fast"},
                                             "bandwidth_per_migration": "4Gi", "allow_auto_converge": True})
    assert not policy.failed, policy
    try:
        for vm in ("fast", "slow"):
            _labelled_vm(objects, namespace, vm, {"speed": vm})
        fast, slow = _migrate(objects, namespace, "fast"), _migrate(objects, namespace, "slow")
    finally:
        assert not runner.run("migration_policy", {"name": name, "state": "absent"}).failed
    assert fast["migrationPolicyName"] == name and "migrationPolicyName" not in slow
    assert fast["migrationConfiguration"]["bandwidthPerMigration"] == "4Gi"
    assert fast["migrationConfiguration"]["allowAutoConverge"] is True
    assert slow["migrationConfiguration"]["bandwidthPerMigration"] == "64Mi"
    took = {vm: _seconds(s["endTimestamp"]) - _seconds(s["startTimestamp"]) for vm, s in (("fast", fast), ("slow", slow))}
    assert took["fast"] <= 1 and took["slow"] >= 2, took
