"""VirtualMachineSnapshots (vm_snapshots.py): lock, content, VolumeSnapshots, indications, excluded
volumes, deadline, freeze failure, deletion and the validating webhook (in-process, every controller)."""
from __future__ import annotations

import pytest

from tests.cluster.controllers.vm_snapshots import VMSNAPSHOT, VMSNAPSHOTCONTENT
from tests.cluster.tests.harness import DV, VM, VMI
from tests.cluster.tests.virt_harness import Sim, api_error, vm_manifest

VS = ("snapshot.storage.k8s.io", "volumesnapshots")
CEPHFS = "ocs-storagecluster-cephfs"


@pytest.fixture(scope="module")
def sim():
    with Sim(full=True, time_scale=0.005) as simulation:
        yield simulation


def blank(name: str, storage_class: str = "") -> dict:
    storage: dict = {"resources": {"requests": {"storage": "1Gi"}}}
    if storage_class:
        storage["storageClassName"] = storage_class
    return {"metadata": {"name": name}, "spec": {"source": {"blank": {}}, "storage": storage}}


def disk_vm(sim: Sim, name: str, run_strategy: str = "Halted", image: str = "fedora", extra_class: str = "") -> dict:
    """A VM booting a DataVolume (default class: ceph-rbd, snapshot-capable), optionally a second one."""
    volumes = [{"name": "rootdisk", "dataVolume": {"name": f"{name}-root"}}]
    disks = [{"name": "rootdisk", "disk": {"bus": "virtio"}}]
    templates = [{"metadata": {"name": f"{name}-root"}, "spec": {
        "source": {"http": {"url": f"http://images.example.com/{image}.qcow2"}},
        "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}]
    if extra_class:
        volumes.append({"name": "data", "dataVolume": {"name": f"{name}-data"}})
        disks.append({"name": "data", "disk": {"bus": "virtio"}})
        templates.append({"metadata": {"name": f"{name}-data"}, **blank(f"{name}-data", extra_class)})
    vm = vm_manifest(name, run_strategy, volumes=volumes, disks=disks)
    vm["spec"]["dataVolumeTemplates"] = templates
    sim.create(VM, vm)
    for template in templates:
        sim.wait(lambda t=template: ((sim.get(DV, t["metadata"]["name"]) or {}).get("status") or {}).get(
            "phase") == "Succeeded", 20, "DataVolume Succeeded")
    sim.wait_printable(name, "Running" if run_strategy == "Always" else "Stopped", timeout=20)
    return sim.get(VM, name)


def snapshot(sim: Sim, name: str, vm: str, **spec) -> dict:
    return sim.create(VMSNAPSHOT, {"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot",
                                   "metadata": {"name": name}, "spec": {
                                       "source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": vm},
                                       **spec}})


def phase(sim: Sim, name: str, wanted: str, timeout: float = 20) -> dict:
    return sim.wait(lambda: ((sim.get(VMSNAPSHOT, name) or {}).get("status") or {}).get("phase") == wanted
                    and sim.get(VMSNAPSHOT, name), timeout, f"{name} {wanted}")


def conditions(obj: dict) -> dict:
    return {c["type"]: (c["status"], c["reason"]) for c in obj["status"]["conditions"]}


def test_offline_snapshot_locks_the_vm_and_cuts_one_volume_snapshot_per_disk(sim):
    disk_vm(sim, "off")
    assert sim.get(VM, "off")["status"]["volumeSnapshotStatuses"] == [{"name": "rootdisk", "enabled": True}]
    watcher, _ = sim.store.watch(VM, "demo", None)
    try:
        created = snapshot(sim, "off-1", "off")
        snap = phase(sim, "off-1", "Succeeded")
        locks = [(e.obj.get("status") or {}).get("snapshotInProgress") for e in iter(lambda: watcher.next(0.05), None)
                 if e.obj["metadata"]["name"] == "off"]
    finally:
        watcher.close()
    assert "off-1" in locks  # locked while it ran (unlocked at the end, below)
    uid = created["metadata"]["uid"]
    status = snap["status"]
    assert status["readyToUse"] is True and status["virtualMachineSnapshotContentName"] == f"vmsnapshot-content-{uid}"
    assert status["sourceUID"] == sim.get(VM, "off")["metadata"]["uid"] and status["creationTime"]
    assert status["snapshotVolumes"] == {"includedVolumes": ["rootdisk"]}
    assert "indications" not in status  # offline
    assert conditions(snap) == {"Progressing": ("False", "Operation complete"), "Ready": ("True", "Ready")}
    assert "snapshot.kubevirt.io/vmsnapshot-protection" in snap["metadata"]["finalizers"]
    content = sim.get(VMSNAPSHOTCONTENT, f"vmsnapshot-content-{uid}")
    backup = content["spec"]["volumeBackups"][0]
    assert backup["volumeName"] == "rootdisk" and backup["volumeSnapshotName"] == f"vmsnapshot-{uid}-volume-rootdisk"
    assert backup["persistentVolumeClaim"]["metadata"]["name"] == "off-root"
    assert content["spec"]["source"]["virtualMachine"]["metadata"]["name"] == "off"
    assert content["spec"]["source"]["virtualMachine"]["spec"]["runStrategy"] == "Halted"
    assert content["status"]["readyToUse"] is True
    assert content["status"]["volumeSnapshotStatus"][0]["volumeSnapshotName"] == backup["volumeSnapshotName"]
    vs = sim.get(VS, backup["volumeSnapshotName"])
    assert vs["status"]["readyToUse"] is True and vs["metadata"]["ownerReferences"][0]["name"] == content[
        "metadata"]["name"]
    assert vs["metadata"]["labels"]["snapshot.kubevirt.io/source-vm-name"] == "off"
    vm = sim.get(VM, "off")
    assert "snapshotInProgress" not in vm["status"]
    assert "snapshot.kubevirt.io/snapshot-source-protection" not in (vm["metadata"].get("finalizers") or [])
    assert sim.events("SuccessfulVirtualMachineSnapshotContentCreate") and sim.events("SuccessfulVolumeSnapshotCreate")


def test_online_snapshot_with_guest_agent_freezes_and_reports_it(sim):
    disk_vm(sim, "agent", "Always", image="fedora-41")
    sim.wait(lambda: any(c["type"] == "AgentConnected" for c in sim.get(VMI, "agent")["status"]["conditions"]),
             10, "agent connected")
    snapshot(sim, "agent-1", "agent")
    frozen = sim.observe(VMI, "demo", "agent", lambda o: (o.get("status") or {}).get("fsFreezeStatus", ""),
                         "frozen", timeout=20)
    assert frozen[-1] == "frozen"
    snap = phase(sim, "agent-1", "Succeeded")
    assert snap["status"]["indications"] == ["GuestAgent", "Online"]
    assert [i["indication"] for i in snap["status"]["sourceIndications"]] == ["GuestAgent", "Online"]
    assert "fsFreezeStatus" not in sim.get(VMI, "agent")["status"]  # thawed once the volumes were cut


def test_online_snapshot_without_agent_is_crash_consistent(sim):
    disk_vm(sim, "noagent", "Always", image="cirros-0.6")
    snapshot(sim, "noagent-1", "noagent")
    snap = phase(sim, "noagent-1", "Succeeded")
    assert snap["status"]["indications"] == ["NoGuestAgent", "Online"]
    assert "crash-consistent" in snap["status"]["sourceIndications"][0]["message"]


def test_volume_without_snapshot_class_is_excluded(sim):
    disk_vm(sim, "mixed", extra_class=CEPHFS)
    statuses = sim.get(VM, "mixed")["status"]["volumeSnapshotStatuses"]
    assert statuses == [{"name": "rootdisk", "enabled": True}, {
        "name": "data", "enabled": False, "reason": "No VolumeSnapshotClass: Volume snapshots are not configured "
        f"for this StorageClass [{CEPHFS}] [data]"}]
    snapshot(sim, "mixed-1", "mixed")
    snap = phase(sim, "mixed-1", "Succeeded")
    assert snap["status"]["snapshotVolumes"] == {"includedVolumes": ["rootdisk"], "excludedVolumes": ["data"]}
    assert snap["status"]["indications"] == ["PartialSnapshot"]
    content = sim.get(VMSNAPSHOTCONTENT, snap["status"]["virtualMachineSnapshotContentName"])
    assert [b["volumeName"] for b in content["spec"]["volumeBackups"]] == ["rootdisk"]


def test_missing_source_waits_then_fails_at_the_deadline(sim):
    snapshot(sim, "ghost-1", "ghost", failureDeadline="60s")
    snap = sim.wait(lambda: (s := sim.get(VMSNAPSHOT, "ghost-1")) and s.get("status") and s)
    assert snap["status"]["phase"] == "InProgress"
    assert conditions(snap)["Progressing"] == ("False", "Source does not exist")
    failed = phase(sim, "ghost-1", "Failed")
    assert conditions(failed) == {"Progressing": ("False", "Operation failed"), "Ready": ("False", "Not ready"),
                                  "Failure": ("True", "snapshot deadline exceeded")}


def test_failed_freeze_is_retried_and_marked_quiesce_failed(sim):
    disk_vm(sim, "frz", "Always", image="fedora-41")
    sim.wait(lambda: any(c["type"] == "AgentConnected" for c in sim.get(VMI, "frz")["status"]["conditions"]),
             10, "agent connected")
    sim.update(VMI, "demo", "frz", lambda o: o["metadata"].setdefault("annotations", {}).__setitem__(
        "sim.virt.kubevirt.io/freeze-error", "guest-fsfreeze-freeze timed out"))
    snapshot(sim, "frz-1", "frz", failureDeadline="10m")
    snap = sim.wait(lambda: "QuiesceFailed" in ((sim.get(VMSNAPSHOT, "frz-1").get("status") or {}).get(
        "indications") or []) and sim.get(VMSNAPSHOT, "frz-1"), 20, "QuiesceFailed")
    assert snap["status"]["error"]["message"] == "Failed freezing vm frz: guest-fsfreeze-freeze timed out"
    assert conditions(snap)["Progressing"] == ("False", "In error state")
    sim.update(VMI, "demo", "frz", lambda o: o["metadata"]["annotations"].pop("sim.virt.kubevirt.io/freeze-error"))
    done = phase(sim, "frz-1", "Succeeded")
    assert done["status"]["indications"] == ["GuestAgent", "Online", "QuiesceFailed"]  # kept after the retry


def test_delete_removes_content_and_volume_snapshots_retain_keeps_them(sim):
    disk_vm(sim, "del")
    snapshot(sim, "del-1", "del")
    snapshot_done = phase(sim, "del-1", "Succeeded")
    content = snapshot_done["status"]["virtualMachineSnapshotContentName"]
    vs_name = sim.get(VMSNAPSHOTCONTENT, content)["spec"]["volumeBackups"][0]["volumeSnapshotName"]
    sim.delete(VMSNAPSHOT, "demo", "del-1")
    sim.wait(lambda: sim.get(VMSNAPSHOT, "del-1") is None and sim.get(VMSNAPSHOTCONTENT, content) is None
             and sim.get(VS, vs_name) is None, 20, "snapshot, content and VolumeSnapshot gone")
    snapshot(sim, "del-2", "del", deletionPolicy="Retain")
    content = phase(sim, "del-2", "Succeeded")["status"]["virtualMachineSnapshotContentName"]
    sim.delete(VMSNAPSHOT, "demo", "del-2")
    sim.wait(lambda: sim.get(VMSNAPSHOT, "del-2") is None, 20, "snapshot gone")
    kept = sim.get(VMSNAPSHOTCONTENT, content)
    assert kept is not None and not kept["metadata"].get("finalizers")


def test_webhook_checks_the_source_and_keeps_the_spec(sim):
    error = api_error(lambda: sim.create(VMSNAPSHOT, {"metadata": {"name": "bad"}, "spec": {
        "source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachineInstance", "name": "x"}}}))
    assert error.message == ('admission webhook "virtualmachinesnapshot-validator.snapshot.kubevirt.io" denied the '
                             "request: invalid kind")
    snapshot(sim, "keep-1", "ghost")
    error = api_error(lambda: sim.update(VMSNAPSHOT, "demo", "keep-1", lambda o: o["spec"]["source"].__setitem__(
        "name", "other")))
    assert "spec in immutable after creation" in error.message
