# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.vm_migration and vm_migration_info against the local cluster: migrate, re-run,
check mode, refusals, follow a migration in flight, cancel, list with filters."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .test_vm_disk_helpers import IMAGE, Objects

VMIM = "virtualmachineinstancemigrations"


def _vm(objects: Objects, namespace: str, name: str, memory: str = "1Gi", claim: Optional[str] = None,
        annotations: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    volumes: List[Dict[str, Any]] = [{"name": "root", "containerDisk": {"image": IMAGE}}]
    disks: List[Dict[str, Any]] = [{"name": "root", "disk": {"bus": "virtio"}}]
    if claim:
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": claim}})
        disks.append({"name": "data", "disk": {"bus": "virtio"}})
    body = {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name, "namespace": namespace},
        "spec": {"runStrategy": "Always", "template": {"metadata": {"annotations": dict(annotations or {})}, "spec": {
            "domain": {"memory": {"guest": memory}, "devices": {"disks": disks}}, "volumes": volumes}}},
    }
    objects.custom.create_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachines", body)
    return objects.wait("VMI %s running and its LiveMigratable condition" % name, lambda: _running(objects, namespace, name))


def _running(objects: Objects, namespace: str, name: str) -> Optional[Dict[str, Any]]:
    vmi = objects.vmi(namespace, name) or {}
    status = vmi.get("status") or {}
    known = any(c.get("type") == "LiveMigratable" for c in status.get("conditions") or [])
    return vmi if status.get("phase") == "Running" and known else None


def _migrations(objects: Objects, namespace: str) -> List[Dict[str, Any]]:
    return objects.custom.list_namespaced_custom_object("kubevirt.io", "v1", namespace, VMIM)["items"]


def test_migrate_rerun_and_info(runner, objects, namespace):
    source = _vm(objects, namespace, "web")["status"]["nodeName"]
    check = runner.run("vm_migration", {"name": "web", "namespace": namespace}, check=True, diff=True)
    assert not check.failed and check.changed, check
    assert check.writes == [] and _migrations(objects, namespace) == []
    assert check.result["diff"]["before"]["node"] == source and check.result["diff"]["after"]["migration"]

    run = runner.run("vm_migration", {"name": "web", "namespace": namespace, "wait": True})
    assert not run.failed and run.changed, run
    assert [(w["method"], w["path"].rsplit("/", 1)[-1]) for w in run.writes] == [("POST", VMIM)]
    moved = objects.vmi(namespace, "web")["status"]["nodeName"]
    assert run.result["source_node"] == source and run.result["target_node"] == moved != source
    assert run.result["migration"]["status"]["phase"] == "Succeeded"
    assert run.result["migration_state"]["completed"] is True and run.result["duration"] is not None
    assert [p["state"] for p in run.result["progress"]][-1] == "Succeeded"
    assert "Running" in [p["state"] for p in run.result["progress"]]

    again = runner.run("vm_migration", {"name": "web", "namespace": namespace, "wait": True})
    assert not again.failed and not again.changed and again.writes == [], again
    assert len(_migrations(objects, namespace)) == 1

    to_node = runner.run("vm_migration", {"name": "web", "namespace": namespace, "target_node": source, "wait": True})
    assert not to_node.failed and to_node.changed and to_node.result["node"] == source, to_node
    assert not runner.run("vm_migration", {"name": "web", "namespace": namespace, "target_node": source}).changed

    info = runner.run("vm_migration_info", {"name": "web", "namespace": namespace, "node": moved, "phases": ["Succeeded"]})
    assert not info.failed, info
    assert [(m["source_node"], m["target_node"]) for m in info.result["migrations"]] == [(source, moved), (moved, source)]
    assert all(m["duration"] is not None and "Succeeded" in m["phase_timestamps"] for m in info.result["migrations"])
    none = runner.run("vm_migration_info", {"namespaces": [namespace], "phases": ["Failed"]})
    assert none.result["migrations"] == [] and [r["path"] for r in none.requests] == ["/apis/kubevirt.io/v1/" + VMIM]


def test_refusals_name_the_reason_and_write_nothing(runner, objects, namespace):
    objects.create_pvc(namespace, "rwo")
    _vm(objects, namespace, "db", claim="rwo")
    rwo = runner.run("vm_migration", {"name": "db", "namespace": namespace})
    assert rwo.failed and rwo.writes == [], rwo
    assert "DisksNotLiveMigratable" in rwo.msg and "PVC rwo is not shared" in rwo.msg and "ReadWriteMany" in rwo.msg
    source = _vm(objects, namespace, "web")["status"]["nodeName"]
    cases = [
        ({"target_node": "no-such-node"}, "target_node: node no-such-node does not exist"),
        ({"added_node_selector": {"zone": "mars"}}, "added_node_selector: no node other than"),
        ({"target_node": "Bad_Node"}, "target_node: must be lowercase"),
    ]
    for extra, message in cases:
        run = runner.run("vm_migration", dict({"name": "web", "namespace": namespace}, **extra))
        assert run.failed and run.writes == [] and message in run.msg, (extra, run)
    there = runner.run("vm_migration", {"name": "web", "namespace": namespace, "target_node": source})
    assert not there.failed and not there.changed and there.writes == [] and there.result["target_node"] in (None, source)
    missing = runner.run("vm_migration", {"name": "nope", "namespace": namespace})
    assert missing.failed and "VirtualMachine %s/nope not found" % namespace in missing.msg
    objects.create_vm(namespace, "off", running=False)
    stopped = runner.run("vm_migration", {"name": "off", "namespace": namespace}, check=True)
    assert stopped.failed and stopped.writes == [] and "VirtualMachine %s/off is not running" % namespace in stopped.msg


def test_follow_in_flight_then_cancel(runner, objects, namespace):
    # 16Gi at the default 64Mi/s: a transfer of about 13 s at the test time scale, time to follow and cancel it
    _vm(objects, namespace, "big", memory="16Gi")
    source = objects.vmi(namespace, "big")["status"]["nodeName"]
    body = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceMigration",
            "metadata": {"name": "manual", "namespace": namespace}, "spec": {"vmiName": "big"}}
    objects.custom.create_namespaced_custom_object("kubevirt.io", "v1", namespace, VMIM, body)
    objects.wait("migration Running", lambda: [m for m in _migrations(objects, namespace)
                                               if (m.get("status") or {}).get("phase") == "Running"])
    follow = runner.run("vm_migration", {"name": "big", "namespace": namespace}, check=True)
    assert not follow.failed and not follow.changed and follow.result["method"] == "reuse" and follow.writes == []

    cancel_check = runner.run("vm_migration", {"name": "big", "namespace": namespace, "state": "absent"}, check=True)
    assert cancel_check.changed and cancel_check.writes == [], cancel_check
    cancel = runner.run("vm_migration", {"name": "big", "namespace": namespace, "state": "absent", "wait": True})
    assert not cancel.failed and cancel.changed, cancel
    assert [w["method"] for w in cancel.writes] == ["DELETE"]
    assert cancel.result["migration_state"]["abort_status"] == "Succeeded"
    assert _migrations(objects, namespace) == [] and objects.vmi(namespace, "big")["status"]["nodeName"] == source
    again = runner.run("vm_migration", {"name": "big", "namespace": namespace, "state": "absent"})
    assert not again.changed and again.writes == [], again


def test_followed_migration_that_cannot_schedule_fails_with_reasons(runner, objects, namespace):
    source = _vm(objects, namespace, "web")["status"]["nodeName"]
    body = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceMigration",
            "metadata": {"name": "nowhere", "namespace": namespace,
                         # 120 steps of the test time scale: about 6 s unschedulable, then KubeVirt gives up
                         "annotations": {"kubevirt.io/migrationUnschedulablePodTimeoutSeconds": "120"}},
            "spec": {"vmiName": "web", "addedNodeSelector": {"zone": "mars"}}}
    objects.custom.create_namespaced_custom_object("kubevirt.io", "v1", namespace, VMIM, body)
    run = runner.run("vm_migration", {"name": "web", "namespace": namespace, "wait": True})
    assert run.failed and run.writes == [], run
    assert "VirtualMachineInstanceMigration %s/nowhere failed" % namespace in run.msg
    assert "is currently unschedulable" in run.msg and "stays on node %s" % source in run.msg


def test_migration_stuck_midway_fails_with_kubevirt_reason(runner, objects, namespace):
    # The simulator's guest dirties memory faster than it is copied: virt-launcher aborts after progressTimeout.
    source = _vm(objects, namespace, "busy", annotations={"sim.virt.kubevirt.io/migration-stuck": "true"})["status"]["nodeName"]
    run = runner.run("vm_migration", {"name": "busy", "namespace": namespace, "wait": True})
    assert run.failed and [w["method"] for w in run.writes] == ["POST"], run
    assert "failure reason: Live migration stuck for 151 seconds and has been aborted; abort status: Succeeded" in run.msg
    assert "stays on node %s" % source in run.msg and objects.vmi(namespace, "busy")["status"]["nodeName"] == source
    assert [p["state"] for p in run.result["progress"]][-1] == "Failed"
