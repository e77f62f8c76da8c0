# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.vm_snapshot and vm_snapshot_info against the local test cluster: idempotence,
check mode, diff, online consistency (guest agent or not), a failed freeze past the deadline, the
missing VolumeSnapshotClass refusal, retention that never deletes foreign snapshots, info filters."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .test_vm_disk_helpers import run_batch

SNAP = ("snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshots")
CONTENT = ("snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshotcontents")
RETENTION = "virt.kubevirt.io/managed-by-retention"
CEPHFS = "ocs-storagecluster-cephfs"


def _get(objects, kind, namespace: str, name: str) -> Optional[Dict[str, Any]]:
    try:
        return objects.custom.get_namespaced_custom_object(kind[0], kind[1], namespace, kind[2], name)
    except objects.k8s.exceptions.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _snapshots(objects, namespace: str) -> List[str]:
    items = objects.custom.list_namespaced_custom_object(SNAP[0], SNAP[1], namespace, SNAP[2])["items"]
    return sorted(s["metadata"]["name"] for s in items)


def _disk_vm(objects, namespace: str, name: str, running: bool = False, image: str = "",
             storage_class: str = "") -> None:
    """A VM with one DataVolume disk (default class: ceph-rbd, which has a VolumeSnapshotClass) and,
    with ``image``, a containerDisk root (fedora: the guest agent connects; cirros: it does not)."""
    storage: Dict[str, Any] = {"resources": {"requests": {"storage": "1Gi"}}}
    if storage_class:
        storage["storageClassName"] = storage_class
    objects.custom.create_namespaced_custom_object("cdi.kubevirt.io", "v1beta1", namespace, "datavolumes", {
        "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": name + "-data"},
        "spec": {"source": {"blank": {}}, "storage": storage}})
    objects.wait("DataVolume Succeeded", lambda: ((objects.get("cdi.kubevirt.io", "datavolumes", namespace, name + "-data")
                                                   or {}).get("status") or {}).get("phase") == "Succeeded")
    disks = [{"name": "data", "disk": {"bus": "virtio"}}]
    volumes: List[Dict[str, Any]] = [{"name": "data", "dataVolume": {"name": name + "-data"}}]
    if image:
        disks.insert(0, {"name": "root", "disk": {"bus": "virtio"}})
        volumes.insert(0, {"name": "root", "containerDisk": {"image": image}})
    objects.custom.create_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachines", {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name},
        "spec": {"runStrategy": "Always" if running else "Halted", "template": {"spec": {
            "domain": {"memory": {"guest": "1Gi"}, "devices": {"disks": disks}}, "volumes": volumes}}}})
    if running:
        objects.wait("VMI running", lambda: ((objects.vmi(namespace, name) or {}).get("status") or {}).get("phase") == "Running")
    objects.wait("volumeSnapshotStatuses", lambda: ((objects.vm(namespace, name) or {}).get("status") or {}).get(
        "volumeSnapshotStatuses"))


def test_create_is_idempotent_previewed_with_zero_writes_and_deleted(runner, namespace, objects):
    _disk_vm(objects, namespace, "db")
    args = {"name": "db-1", "namespace": namespace, "vm": "db", "labels": {"tier": "db"}}
    preview = runner.run("vm_snapshot", args, check=True, diff=True)
    assert not preview.failed and preview.changed and preview.writes == [], preview
    assert preview.result["diff"]["after"]["snapshot"]["spec"]["source"]["name"] == "db"
    assert _get(objects, SNAP, namespace, "db-1") is None

    made = runner.run("vm_snapshot", args, diff=True)
    assert not made.failed and made.changed and made.result["method"] == "create", made
    assert made.result["ready"] is True and made.result["phase"] == "Succeeded"
    assert made.result["consistency"] == "offline" and made.result["indications"] == []
    [volume] = made.result["volumes"]
    assert volume["name"] == "data" and volume["claim"] == "db-data" and volume["ready"] is True
    assert volume["volume_snapshot"].endswith("-volume-data") and volume["restore_size"] == "1Gi"
    assert made.result["progress"][-1]["state"] == "Succeeded, readyToUse"
    assert made.result["diff"]["before"]["snapshot"] is None
    live = _get(objects, SNAP, namespace, "db-1")
    assert live["metadata"]["labels"] == {"tier": "db"}
    content = made.result["content_name"]
    assert _get(objects, CONTENT, namespace, content)["status"]["readyToUse"] is True

    again = runner.run("vm_snapshot", args)
    assert not again.failed and again.changed is False and again.writes == [] and again.result["ready"], again
    other = runner.run("vm_snapshot", dict(args, vm="web"))
    assert other.failed and other.writes == [], other
    assert other.msg.startswith("name: VirtualMachineSnapshot %s/db-1 already exists for VirtualMachine db, not web"
                                % namespace), other.msg

    objects.custom.create_namespaced_custom_object(SNAP[0], SNAP[1], namespace, SNAP[2], {
        "apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot",
        "metadata": {"name": "held", "finalizers": ["example.com/hold"]},
        "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "db"}}})
    objects.custom.delete_namespaced_custom_object(SNAP[0], SNAP[1], namespace, SNAP[2], "held")
    deleting = runner.run("vm_snapshot", dict(args, name="held"))
    assert deleting.failed and deleting.writes == [], deleting
    assert deleting.msg.startswith("name: VirtualMachineSnapshot %s/held is being deleted" % namespace), deleting.msg
    objects.custom.patch_namespaced_custom_object(SNAP[0], SNAP[1], namespace, SNAP[2], "held",
                                                  {"metadata": {"finalizers": None}})

    gone = runner.run("vm_snapshot", {"name": "db-1", "namespace": namespace, "state": "absent"}, diff=True)
    assert not gone.failed and gone.changed and gone.result["diff"]["after"] == {"snapshot": None}, gone
    assert _get(objects, SNAP, namespace, "db-1") is None and _get(objects, CONTENT, namespace, content) is None
    twice = runner.run("vm_snapshot", {"name": "db-1", "namespace": namespace, "state": "absent"})
    assert not twice.failed and twice.changed is False and twice.writes == [], twice


def test_online_consistency_from_the_guest_agent_and_a_failed_freeze(runner, namespace, objects):
    _disk_vm(objects, namespace, "agent", running=True, image="quay.io/containerdisks/fedora:41")
    _disk_vm(objects, namespace, "bare", running=True, image="quay.io/kubevirt/cirros-container-disk-demo")
    _disk_vm(objects, namespace, "stuck", running=True, image="quay.io/containerdisks/fedora:41")
    objects.wait("agent connected", lambda: all(
        any(c["type"] == "AgentConnected" for c in objects.vmi(namespace, vm)["status"].get("conditions") or [])
        for vm in ("agent", "stuck")))
    objects.custom.patch_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachineinstances", "stuck", {
        "metadata": {"annotations": {"sim.virt.kubevirt.io/freeze-error": "guest-fsfreeze-freeze timed out"}}})
    defaults = {"namespace": namespace, "wait_timeout": 60}
    tasks = [dict(defaults, name="agent-1", vm="agent"), dict(defaults, name="bare-1", vm="bare"),
             dict(defaults, name="stuck-1", vm="stuck", failure_deadline="20s")]
    results = run_batch(runner, tasks, module="vm_snapshot")[0]
    agent, bare, stuck = results
    assert not agent.get("failed") and agent["indications"] == ["GuestAgent", "Online"], agent
    assert agent["consistency"] == "application-consistent"
    assert not bare.get("failed") and bare["indications"] == ["NoGuestAgent", "Online"], bare
    assert bare["consistency"] == "crash-consistent" and bare["excluded_volumes"] == ["root"]
    assert stuck.get("failed"), stuck
    assert stuck["msg"].startswith("VirtualMachineSnapshot %s/stuck-1 failed: Failed freezing vm stuck: guest-fsfreeze-"
                                   "freeze timed out; Failure: snapshot deadline exceeded" % namespace), stuck["msg"]
    assert "QuiesceFailed" in _get(objects, SNAP, namespace, "stuck-1")["status"]["indications"]


def test_disk_without_snapshot_class_fails_before_any_write(runner, namespace, objects):
    _disk_vm(objects, namespace, "files", image="quay.io/containerdisks/fedora:41", storage_class=CEPHFS)
    refused = runner.run("vm_snapshot", {"name": "files-1", "namespace": namespace, "vm": "files"})
    assert refused.failed and refused.writes == [], refused
    assert refused.msg == (
        "vm: VirtualMachine %s/files has disks that cannot be snapshotted: data (No VolumeSnapshotClass: Volume "
        "snapshots are not configured for this StorageClass [%s] [data]). KubeVirt would leave them out of the "
        "snapshot; give their StorageClass a VolumeSnapshotClass, or set allow_partial: true to snapshot the other "
        "disks only" % (namespace, CEPHFS)), refused.msg
    assert _snapshots(objects, namespace) == []
    missing = runner.run("vm_snapshot", {"name": "x", "namespace": namespace, "vm": "nope"})
    assert missing.failed and missing.writes == [] and missing.msg == "vm: VirtualMachine %s/nope not found" % namespace
    partial = runner.run("vm_snapshot", {"name": "files-1", "namespace": namespace, "vm": "files", "allow_partial": True})
    assert not partial.failed and partial.result["volumes"] == [], partial
    assert sorted(partial.result["excluded_volumes"]) == ["data", "root"]
    assert "these disks are left out of the snapshot: data" in " ".join(partial.result.get("warnings") or [])


def test_retention_keeps_the_newest_and_never_deletes_others(runner, namespace, objects):
    _disk_vm(objects, namespace, "app")
    objects.custom.create_namespaced_custom_object(SNAP[0], SNAP[1], namespace, SNAP[2], {
        "apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot", "metadata": {"name": "by-hand"},
        "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "app"}}})
    base = {"namespace": namespace, "vm": "app"}
    tasks = [dict(base, name="plain"), dict(base, name="r1", keep=2), dict(base, name="r2", keep=2)]
    results = run_batch(runner, tasks, module="vm_snapshot")[0]
    assert [r.get("deleted") for r in results] == [[], [], []], results
    preview = runner.run("vm_snapshot", dict(base, name="r3", keep=2), check=True, diff=True)
    assert not preview.failed and preview.result["deleted"] == ["r1"] and preview.writes == [], preview
    assert preview.result["diff"]["before"]["retained"] == ["r1", "r2"]
    assert preview.result["diff"]["after"]["retained"] == ["r2", "r3"]
    assert "r1" in _snapshots(objects, namespace)

    newest = runner.run("vm_snapshot", dict(base, keep=2))  # no name: <vm>-<UTC time>
    assert not newest.failed and newest.changed and newest.result["deleted"] == ["r1"], newest
    name = newest.result["snapshot"]["metadata"]["name"]
    assert name.startswith("app-") and newest.result["snapshot"]["metadata"]["labels"] == {RETENTION: "app"}
    assert _snapshots(objects, namespace) == sorted(["by-hand", "plain", "r2", name])
    # the same retention again with the kept name: nothing to create, nothing to prune
    steady = runner.run("vm_snapshot", dict(base, name=name, keep=2))
    assert not steady.failed and steady.changed is False and steady.writes == [], steady
    shrink = runner.run("vm_snapshot", dict(base, name=name, keep=1))
    assert not shrink.failed and shrink.changed and shrink.result["deleted"] == ["r2"], shrink
    assert _snapshots(objects, namespace) == sorted(["by-hand", "plain", name])


def test_info_filters_with_one_list_per_kind(runner, namespace, objects):
    _disk_vm(objects, namespace, "a")
    _disk_vm(objects, namespace, "b")
    tasks = [{"name": "a-1", "namespace": namespace, "vm": "a"}, {"name": "b-1", "namespace": namespace, "vm": "b", "keep": 3}]
    results = run_batch(runner, tasks, module="vm_snapshot")[0]
    assert not any(r.get("failed") for r in results), results
    every = runner.run("vm_snapshot_info", {})
    mine = [s for s in every.result["snapshots"] if s["namespace"] == namespace]
    assert [s["name"] for s in mine] == ["a-1", "b-1"], every
    lists = [r for r in every.requests if r["verb"] == "list"]
    assert sorted(r["path"] for r in lists) == ["/apis/snapshot.kubevirt.io/v1beta1/virtualmachinesnapshotcontents",
                                                "/apis/snapshot.kubevirt.io/v1beta1/virtualmachinesnapshots",
                                                "/apis/snapshot.storage.k8s.io/v1/volumesnapshots"], lists
    a = mine[0]
    assert a["vm"] == "a" and a["ready"] and a["consistency"] == "offline" and a["content_ready"]
    assert a["volumes"][0]["claim"] == "a-data" and a["volumes"][0]["ready"] is True
    queries = [{"namespace": namespace, "vm": "b"}, {"namespace": namespace, "label_selectors": ["%s=b" % RETENTION]},
               {"namespace": namespace, "name": "a-1"}, {"namespace": namespace, "ready": False}, {"namespace": ""}]
    by_vm, by_label, by_name, unready, bad = run_batch(runner, queries, module="vm_snapshot_info")[0]
    assert [s["name"] for s in by_vm["snapshots"]] == ["b-1"], by_vm
    assert [s["name"] for s in by_label["snapshots"]] == ["b-1"], by_label
    assert [s["name"] for s in by_name["snapshots"]] == ["a-1"], by_name
    assert unready["snapshots"] == [], unready
    assert bad.get("failed") and bad["msg"].startswith("namespace: must not be empty"), bad
