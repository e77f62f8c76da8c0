"""VirtualMachineRestores and VirtualMachineClones (vm_restores.py, vm_clones.py): claims restored from
the snapshot's bytes, target readiness policies, new and existing targets, the webhooks, and clones
of a VM through a temporary snapshot (in-process, every controller)."""
from __future__ import annotations

import hashlib
import os

import pytest

from tests.cluster.controllers.disks import claim_key
from tests.cluster.controllers.vm_clones import VMCLONE, clone_patches
from tests.cluster.controllers.vm_restores import VMRESTORE, VMSNAPSHOT
from tests.cluster.tests.harness import DV, PVC, VM, VMI
from tests.cluster.tests.virt_harness import Sim, api_error, vm_manifest

IMAGE = os.urandom(1 << 16) * 4  # 256 KiB


@pytest.fixture(scope="module")
def sim():
    with Sim(full=True, time_scale=0.005) as simulation:
        yield simulation


def disk_vm(sim: Sim, name: str, run_strategy: str = "Halted", **meta) -> dict:
    """A VM booting a blank DataVolume on ceph-rbd (snapshot-capable), with IMAGE written into it."""
    vm = vm_manifest(name, run_strategy, volumes=[{"name": "rootdisk", "dataVolume": {"name": f"{name}-root"}}])
    vm["metadata"].update(meta)
    vm["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"] = [
        {"name": "default", "masquerade": {}, "macAddress": "02:00:00:00:00:01"}]
    vm["spec"]["template"]["spec"]["networks"] = [{"name": "default", "pod": {}}]
    vm["spec"]["dataVolumeTemplates"] = [{"metadata": {"name": f"{name}-root"}, "spec": {
        "source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}]
    sim.create(VM, vm)
    sim.wait(lambda: ((sim.get(DV, f"{name}-root") or {}).get("status") or {}).get("phase") == "Succeeded", 20, "DV")
    write(sim, f"{name}-root", IMAGE)
    sim.wait_printable(name, "Running" if run_strategy == "Always" else "Stopped", timeout=20)
    return sim.get(VM, name)


def write(sim: Sim, claim: str, data: bytes) -> None:
    sink = sim.rt.disks.sink(claim_key(sim.store, "demo", claim), decompress=False)
    sink.write(data)
    sink.close()


def digest(sim: Sim, claim: str) -> str:
    key = sim.wait(lambda: claim_key(sim.store, "demo", claim), 20, f"{claim} bound")
    return hashlib.sha256(b"".join(sim.rt.disks.read(key))).hexdigest()


def snapshot(sim: Sim, name: str, vm: str) -> dict:
    sim.create(VMSNAPSHOT, {"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot",
                            "metadata": {"name": name},
                            "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": vm}}})
    return sim.wait(lambda: ((sim.get(VMSNAPSHOT, name) or {}).get("status") or {}).get("readyToUse")
                    and sim.get(VMSNAPSHOT, name), 20, f"{name} ready")


def restore(sim: Sim, name: str, snap: str, target: str, **spec) -> dict:
    return sim.create(VMRESTORE, {"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineRestore",
                                  "metadata": {"name": name}, "spec": {
                                      "target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": target},
                                      "virtualMachineSnapshotName": snap, **spec}})


def status_of(sim: Sim, gr: tuple, name: str) -> dict:
    return (sim.get(gr, name) or {}).get("status") or {}


def complete(sim: Sim, name: str) -> dict:
    return sim.wait(lambda: status_of(sim, VMRESTORE, name).get("complete") and sim.get(VMRESTORE, name), 20,
                    f"{name} complete ({status_of(sim, VMRESTORE, name).get('conditions')})")


def reason(obj: dict, ctype: str) -> tuple:
    return next(((c["status"], c["reason"]) for c in ((obj or {}).get("status") or {}).get("conditions") or []
                 if c["type"] == ctype), ("", ""))


def test_restore_in_place_brings_the_bytes_back_under_a_new_claim(sim):
    disk_vm(sim, "inplace")
    snapshot(sim, "inplace-1", "inplace")
    write(sim, "inplace-root", b"overwritten after the snapshot" * 1000)
    watcher, _ = sim.store.watch(VM, "demo", None)
    try:
        created = restore(sim, "inplace-r1", "inplace-1", "inplace")
        done = complete(sim, "inplace-r1")
        marks = [(e.obj.get("status") or {}).get("restoreInProgress") for e in iter(lambda: watcher.next(0.05), None)
                 if e.obj["metadata"]["name"] == "inplace"]
    finally:
        watcher.close()
    assert "inplace-r1" in marks and "restoreInProgress" not in sim.get(VM, "inplace")["status"]
    new_claim = f"restore-{created['metadata']['uid']}-rootdisk"
    assert done["status"]["restores"] == [{"volumeName": "rootdisk", "persistentVolumeClaim": new_claim,
                                           "volumeSnapshotName": done["status"]["restores"][0]["volumeSnapshotName"],
                                           "dataVolumeName": new_claim}]
    assert done["status"]["deletedDataVolumes"] == ["inplace-root"] and done["status"]["restoreTime"]
    assert reason(done, "Ready") == ("True", "Operation complete")
    assert done["metadata"]["ownerReferences"][0]["name"] == "inplace"
    vm = sim.get(VM, "inplace")
    assert vm["spec"]["dataVolumeTemplates"][0]["metadata"]["name"] == new_claim
    assert vm["spec"]["template"]["spec"]["volumes"][0]["dataVolume"]["name"] == new_claim
    assert vm["spec"]["runStrategy"] == "Halted"
    assert digest(sim, new_claim) == hashlib.sha256(IMAGE).hexdigest()
    pvc = sim.get(PVC, new_claim)
    assert pvc["spec"]["dataSource"]["kind"] == "VolumeSnapshot"
    assert pvc["metadata"]["labels"]["restore.kubevirt.io/source-vm-name"] == "inplace"
    sim.wait(lambda: sim.get(DV, "inplace-root") is None, 20, "old DataVolume deleted")
    assert sim.wait(lambda: status_of(sim, DV, new_claim).get("phase") == "Succeeded", 20, "restored DV adopted")
    assert [e["message"] for e in sim.events("VirtualMachineRestoreComplete")][-1] == \
        "Successfully completed VirtualMachineRestore inplace-r1"


def test_running_target_fail_immediate_wait_eventually_and_stop_target(sim):
    disk_vm(sim, "live", "Always")
    snapshot(sim, "live-1", "live")
    restore(sim, "live-fail", "live-1", "live", targetReadinessPolicy="FailImmediate")
    failed = sim.wait(lambda: any(c["type"] == "Failure" for c in status_of(sim, VMRESTORE, "live-fail").get(
        "conditions") or []) and sim.get(VMRESTORE, "live-fail"), 20, "failed")
    assert reason(failed, "Failure") == ("True", "Restore target VMI must be powered off before restore operation")
    assert sim.events("Operation failed")
    sim.delete(VMRESTORE, "demo", "live-fail")
    sim.wait(lambda: sim.get(VMRESTORE, "live-fail") is None, 20, "deleted (finalizer removed)")
    restore(sim, "live-wait", "live-1", "live", targetReadinessPolicy="WaitEventually")
    waiting = sim.wait(lambda: reason(sim.get(VMRESTORE, "live-wait"), "Progressing")[0] == "False"
                       and sim.get(VMRESTORE, "live-wait"), 20, "waiting")
    assert reason(waiting, "Progressing")[1].startswith("Waiting for target VM to be powered off")
    error = api_error(lambda: restore(sim, "live-second", "live-1", "live"))
    assert 'VirtualMachineRestore \\"live-wait\\" in progress' in str(error) or \
        'VirtualMachineRestore "live-wait" in progress' in str(error)
    assert sim.get(VMI, "live") is not None and not status_of(sim, VMRESTORE, "live-wait").get("complete")
    sim.update(VM, "demo", "live", lambda o: o["spec"].__setitem__("runStrategy", "Halted"))
    complete(sim, "live-wait")
    sim.update(VM, "demo", "live", lambda o: o["spec"].__setitem__("runStrategy", "Always"))
    sim.wait_printable("live", "Running", timeout=20)
    restore(sim, "live-stop", "live-1", "live", targetReadinessPolicy="StopTarget")
    complete(sim, "live-stop")
    assert sim.get(VM, "live")["spec"]["runStrategy"] == "Halted" and sim.get(VMI, "live") is None
    assert "Automatically stopping restore target for restore operation" in [
        e["message"] for e in sim.events("RestoreTargetNotReady")]


def test_restore_to_a_new_vm_and_refusal_of_another_existing_vm(sim):
    disk_vm(sim, "orig", labels={"app": "db"})
    snapshot(sim, "orig-1", "orig")
    restore(sim, "orig-copy", "orig-1", "copy", volumeRestorePolicy="PrefixTargetName",
            patches=['{"op": "replace", "path": "/metadata/labels/app", "value": "copy"}'])
    complete(sim, "orig-copy")
    copy_vm = sim.get(VM, "copy")
    assert copy_vm["spec"]["runStrategy"] == "Halted" and copy_vm["metadata"]["labels"]["app"] == "copy"
    assert copy_vm["spec"]["template"]["spec"]["volumes"][0]["dataVolume"]["name"] == "copy-rootdisk"
    assert digest(sim, "copy-rootdisk") == hashlib.sha256(IMAGE).hexdigest()
    assert sim.get(VM, "orig")["spec"]["dataVolumeTemplates"][0]["metadata"]["name"] == "orig-root"  # untouched
    sim.create(VM, vm_manifest("bystander", "Halted"))
    restore(sim, "orig-over", "orig-1", "bystander")  # exists and is not the snapshot's source
    stuck = sim.wait(lambda: reason(sim.get(VMRESTORE, "orig-over"), "Progressing")[0] == "False"
                     and sim.get(VMRESTORE, "orig-over"), 20, "error")
    assert reason(stuck, "Progressing")[1] == \
        "restore source and restore target are different but restore target already exists"
    assert any(e["message"].startswith("VirtualMachineRestore encountered error restore source and restore target")
               for e in sim.events("VirtualMachineRestoreError"))


def test_restore_webhook(sim):
    assert "missing apiGroup" in str(api_error(lambda: sim.create(VMRESTORE, {
        "apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineRestore", "metadata": {"name": "bad"},
        "spec": {"target": {"kind": "VirtualMachine", "name": "x"}, "virtualMachineSnapshotName": "s"}})))
    assert "volume restore policy \"Sideways\" doesn't exist" in str(api_error(lambda: restore(
        sim, "bad2", "s", "x", volumeRestorePolicy="Sideways")))


def test_clone_of_a_running_vm_goes_through_a_temporary_snapshot(sim):
    disk_vm(sim, "src", "Always", labels={"app": "web", "tier": "front"}, annotations={"owner": "me"})
    phases: list = []
    watcher, _ = sim.store.watch(VMCLONE, "demo", None)
    try:
        created = sim.create(VMCLONE, {"apiVersion": "clone.kubevirt.io/v1beta1", "kind": "VirtualMachineClone",
                                       "metadata": {"name": "c1"}, "spec": {
                                           "source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "src"},
                                           "target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "dst"},
                                           "labelFilters": ["*", "!tier"], "newMacAddresses": {"default": "02:00:00:00:00:99"}}})
        sim.wait(lambda: status_of(sim, VMCLONE, "c1").get("phase") == "Succeeded"
                 and "restoreName" not in status_of(sim, VMCLONE, "c1"), 30, f"clone {status_of(sim, VMCLONE, 'c1')}")
        for event in iter(lambda: watcher.next(0.05), None):
            phase = (event.obj.get("status") or {}).get("phase")
            if phase and (not phases or phases[-1] != phase):
                phases.append(phase)
    finally:
        watcher.close()
    # as in KubeVirt, one status update goes from RestoreInProgress through CreatingTargetVM when the VM is there
    assert phases == ["SnapshotInProgress", "RestoreInProgress", "Succeeded"]
    uid = created["metadata"]["uid"]
    dst = sim.get(VM, "dst")
    assert dst["metadata"]["labels"] == {"app": "web"} and dst["metadata"]["annotations"]["owner"] == "me"
    iface = dst["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]
    assert iface["macAddress"] == "02:00:00:00:00:99"
    claim = dst["spec"]["template"]["spec"]["volumes"][0]["dataVolume"]["name"]
    assert claim.startswith("restore-") and claim.endswith("-rootdisk")
    assert digest(sim, claim) == digest(sim, "src-root")
    sim.wait(lambda: sim.get(VMSNAPSHOT, f"tmp-snapshot-{uid}") is None and sim.get(VMRESTORE, f"tmp-restore-{uid}")
             is None, 20, "temporary objects removed")
    assert sim.get(VMI, "src") is not None  # the source kept running
    assert status_of(sim, VMCLONE, "c1")["targetName"] == "dst"


def test_clone_webhook_and_patch_generation(sim):
    error = api_error(lambda: sim.create(VMCLONE, {"apiVersion": "clone.kubevirt.io/v1beta1",
                                                    "kind": "VirtualMachineClone", "metadata": {"name": "bad"},
                                                    "spec": {"source": {"apiGroup": "kubevirt.io",
                                                                        "kind": "VirtualMachine", "name": "a"},
                                                             "labelFilters": ["a*b"]}}))
    assert "spec.labels filter a*b is invalid: cannot contain a wildcard character (*)" in str(error)
    vm = {"metadata": {"labels": {"a": "1", "keep-me": "2"}, "annotations": {}},
          "spec": {"template": {"spec": {"domain": {"firmware": {"serial": "x"}, "devices": {
              "interfaces": [{"name": "default"}]}}}}}}
    patches = clone_patches(vm, {"labelFilters": ["keep"], "newSMBiosSerial": "s-1"})
    assert patches == [
        '{"op":"replace","path":"/spec/template/spec/domain/devices/interfaces/0/macAddress","value":""}',
        '{"op":"replace","path":"/spec/template/spec/domain/firmware/serial","value":"s-1"}',
        '{"op":"remove","path":"/metadata/labels/a"}',
        '{"op":"replace","path":"/spec/template/spec/domain/firmware/uuid","value":""}']


def test_in_place_policy_replaces_the_claim_under_its_own_name(sim):
    disk_vm(sim, "same")
    snapshot(sim, "same-1", "same")
    write(sim, "same-root", b"after the snapshot" * 1000)
    old_uid = sim.get(PVC, "same-root")["metadata"]["uid"]
    restore(sim, "same-r1", "same-1", "same", volumeRestorePolicy="InPlace")
    done = complete(sim, "same-r1")
    assert done["status"]["restores"][0]["persistentVolumeClaim"] == "same-root"
    assert "deletedDataVolumes" not in done["status"] or done["status"]["deletedDataVolumes"] == []
    pvc = sim.wait(lambda: claim_key(sim.store, "demo", "same-root") and sim.get(PVC, "same-root"), 20, "rebound")
    assert pvc["metadata"]["uid"] != old_uid and pvc["spec"]["dataSource"]["kind"] == "VolumeSnapshot"
    assert digest(sim, "same-root") == hashlib.sha256(IMAGE).hexdigest()
    assert sim.get(VM, "same")["spec"]["template"]["spec"]["volumes"][0]["dataVolume"]["name"] == "same-root"
    assert sim.wait(lambda: status_of(sim, DV, "same-root").get("phase") == "Succeeded", 20, "DV keeps its claim")


def test_run_strategy_is_locked_while_a_restore_runs(sim):
    sim.create(VM, vm_manifest("locked", "Halted"))
    sim.service.mutate(VM, "demo", "locked", lambda o: o.setdefault("status", {}).__setitem__(
        "restoreInProgress", "locked-r"), subresource="status")  # what the restore controller writes
    error = api_error(lambda: sim.update(VM, "demo", "locked", lambda o: o["spec"].__setitem__("runStrategy", "Always")))
    assert 'Cannot update VM runStrategy until restore "locked-r" completes' in str(error)
    sim.update(VM, "demo", "locked", lambda o: o["metadata"].setdefault("labels", {}).__setitem__("x", "y"))  # others ok
    sim.service.mutate(VM, "demo", "locked", lambda o: o["status"].pop("restoreInProgress"), subresource="status")
    sim.update(VM, "demo", "locked", lambda o: o["spec"].__setitem__("runStrategy", "Always"))  # free again


def test_wait_grace_period_waits_then_fails_after_five_minutes(sim):
    disk_vm(sim, "grace", "Always")
    snapshot(sim, "grace-1", "grace")
    restore(sim, "grace-r", "grace-1", "grace")  # default policy; 300 steps are 1.5 s here
    waiting = sim.wait(lambda: reason(sim.get(VMRESTORE, "grace-r"), "Progressing")[0] == "False"
                       and sim.get(VMRESTORE, "grace-r"), 20, "waiting")
    assert reason(waiting, "Progressing")[1].endswith("or the operation will fail after 5m0s")
    failed = sim.wait(lambda: reason(sim.get(VMRESTORE, "grace-r"), "Failure")[0] == "True"
                      and sim.get(VMRESTORE, "grace-r"), 20, "failed after the grace period")
    assert reason(failed, "Failure")[1].startswith("Restore target failed to be ready within 5m0s")
    assert not failed["status"]["complete"] and sim.get(VMI, "grace") is not None
