"""VMs with DataVolumes and PVCs, with the storage and CDI controllers running; hot-plug (in-process)."""
from __future__ import annotations

import pytest

from tests.cluster.tests.harness import DV, POD, PVC, SC, VM, VMI
from tests.cluster.tests.virt_harness import Sim, api_error, vm_manifest


@pytest.fixture(scope="module")
def sim():
    with Sim(full=True, time_scale=0.005) as simulation:
        yield simulation


def wffc_class(sim: Sim) -> str:
    return next(sc["metadata"]["name"] for sc in sim.store.list(SC)[0]
                if sc.get("volumeBindingMode") == "WaitForFirstConsumer")


def dv_vm(name: str, url: str, **storage) -> dict:
    vm = vm_manifest(name, volumes=[{"name": "rootdisk", "dataVolume": {"name": f"{name}-root"}}])
    vm["spec"]["dataVolumeTemplates"] = [{"metadata": {"name": f"{name}-root"}, "spec": {
        "source": {"http": {"url": url}},
        "storage": {"resources": {"requests": {"storage": "20Gi"}}, **storage}}}]
    return vm


def test_provisioning_until_the_import_finishes(sim):
    sim.create(VM, dv_vm("imp", "http://images.example.com/Fedora-Cloud-Base-40.qcow2",
                         accessModes=["ReadWriteMany"], volumeMode="Filesystem"))
    seen = sim.watch_printable("imp", "Running", timeout=20)
    assert seen[0] == "Provisioning" and seen[-2:] == ["Starting", "Running"]
    dv = sim.get(DV, "imp-root")
    assert dv["status"]["phase"] == "Succeeded"
    ref = dv["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["name"], ref["controller"]) == ("VirtualMachine", "imp", True)
    assert dv["metadata"]["annotations"]["cdi.kubevirt.io/allowClaimAdoption"] == "true"
    # the default (ceph-rbd) class has a VolumeSnapshotClass
    assert sim.get(VM, "imp")["status"]["volumeSnapshotStatuses"] == [{"name": "rootdisk", "enabled": True}]
    assert dv["metadata"]["labels"]["kubevirt.io/created-by"] == sim.get(VM, "imp")["metadata"]["uid"]
    assert sim.events("SuccessfulDataVolumeCreate")
    vmi = sim.wait(lambda: (v := sim.get(VMI, "imp")) and v["status"].get("guestOSInfo", {}).get("id") and v)
    assert vmi["status"]["guestOSInfo"]["versionId"] == "40"  # from the image URL
    volume = vmi["status"]["volumeStatus"][0]
    assert volume["persistentVolumeClaimInfo"]["claimName"] == "imp-root"
    assert "ReadWriteMany" in volume["persistentVolumeClaimInfo"]["accessModes"]
    assert {c["type"]: c["status"] for c in vmi["status"]["conditions"]}["LiveMigratable"] == "True"
    launcher = next(p for p in sim.store.list(POD, )[0] if p["metadata"]["name"].startswith("virt-launcher-imp-"))
    assert {"name": "rootdisk", "persistentVolumeClaim": {"claimName": "imp-root"}} in launcher["spec"]["volumes"]


def test_wait_for_first_consumer_binds_through_the_launcher_pod(sim):
    sim.create(VM, dv_vm("wffc", "http://images.example.com/rhel-9.6-x86_64-kvm.qcow2",
                         storageClassName=wffc_class(sim)))
    seen = sim.watch_printable("wffc", "Running", timeout=20)
    # The new DataVolume is Pending (Provisioning) an instant, then WaitForFirstConsumer until the
    # launcher pod, bound to a node, makes the claim bind; the import then runs (Provisioning).
    assert "WaitingForVolumeBinding" in seen and seen[-3:] == ["Provisioning", "Starting", "Running"], seen
    pvc = sim.get(PVC, "wffc-root")
    assert pvc["status"]["phase"] == "Bound"
    assert pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == \
        sim.get(VMI, "wffc")["status"]["nodeName"]
    migratable = next(c for c in sim.get(VMI, "wffc")["status"]["conditions"] if c["type"] == "LiveMigratable")
    assert (migratable["status"], migratable["reason"]) == ("False", "DisksNotLiveMigratable")
    assert migratable["message"] == ("cannot migrate VMI: PVC wffc-root is not shared, live migration requires "
                                     "that all PVCs must be shared (using ReadWriteMany access mode)")


def test_halted_vm_gets_its_datavolume_but_no_vmi(sim):
    vm = dv_vm("halted", "http://images.example.com/centos-stream-9.qcow2", storageClassName=wffc_class(sim))
    vm["spec"]["runStrategy"] = "Halted"
    sim.create(VM, vm)
    sim.wait(lambda: sim.get(DV, "halted-root"), what="DataVolume created")
    sim.wait(lambda: (sim.get(DV, "halted-root").get("status") or {}).get("phase") == "WaitForFirstConsumer")
    assert sim.wait_printable("halted", "Stopped")["status"]["created"] is False
    assert sim.get(VMI, "halted") is None


def test_failing_import_shows_datavolume_error(sim):
    sim.create(VM, dv_vm("broken", "http://images.nowhere.invalid/disk.qcow2"))
    vm = sim.wait_printable("broken", "DataVolumeError", timeout=20)
    assert vm["status"]["created"] is False


def test_missing_pvc_shows_error_pvc_not_found(sim):
    sim.create(VM, vm_manifest("nopvc", volumes=[{"name": "rootdisk", "persistentVolumeClaim": {
        "claimName": "does-not-exist"}}]))
    sim.wait_printable("nopvc", "ErrorPvcNotFound")
    sync = next(c for c in sim.get(VMI, "nopvc")["status"]["conditions"] if c["type"] == "Synchronized")
    assert (sync["reason"], sync["message"]) == (
        "FailedPvcNotFound", "failed to render launch manifest: the pvc does-not-exist doesn't exist")
    sim.call("virtualmachines", "nopvc", "stop")
    sim.wait_printable("nopvc", "Stopped")


def blank_dv(sim: Sim, name: str) -> None:
    sim.create(DV, {"metadata": {"name": name}, "spec": {"source": {"blank": {}}, "storage": {
        "accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}}}})
    sim.wait(lambda: (sim.get(DV, name).get("status") or {}).get("phase") == "Succeeded", 20, "blank DV")


def volume_phase(sim: Sim, vmi: str, volume: str) -> str:
    return next((v.get("phase", "") for v in sim.get(VMI, vmi)["status"].get("volumeStatus") or ()
                 if v["name"] == volume), "")


def test_hotplug_through_the_vm_persists_in_the_spec(sim):
    sim.create(VM, vm_manifest("hot"))
    sim.wait_printable("hot", "Running")
    blank_dv(sim, "hot-data")
    body = {"name": "data", "disk": {"disk": {"bus": "scsi"}},
            "volumeSource": {"dataVolume": {"name": "hot-data"}}}
    assert sim.call("virtualmachines", "hot", "addvolume", body) == (202, None)
    sim.wait(lambda: volume_phase(sim, "hot", "data") == "Ready", 10, "volume Ready")
    vm = sim.get(VM, "hot")
    assert {"name": "data", "dataVolume": {"name": "hot-data", "hotpluggable": True}} in \
        vm["spec"]["template"]["spec"]["volumes"]
    sim.wait(lambda: "volumeRequests" not in sim.get(VM, "hot")["status"], what="requests trimmed")
    entry = next(v for v in sim.get(VMI, "hot")["status"]["volumeStatus"] if v["name"] == "data")
    assert entry["target"] == "sda" and entry["reason"] == "VolumeReady"
    assert entry["message"] == "Successfully attach hotplugged volume data to VM"
    assert entry["hotplugVolume"]["attachPodName"].startswith("hp-volume-")
    assert sim.get(POD, entry["hotplugVolume"]["attachPodName"]) is not None
    assert not any(c["type"] == "RestartRequired" for c in sim.get(VM, "hot")["status"]["conditions"])
    assert sim.call("virtualmachines", "hot", "removevolume", {"name": "data"}) == (202, None)
    sim.wait(lambda: volume_phase(sim, "hot", "data") == "", 10, "volume unplugged")
    assert not any(v["name"] == "data" for v in sim.get(VM, "hot")["spec"]["template"]["spec"]["volumes"])
    sim.wait(lambda: sim.get(POD, entry["hotplugVolume"]["attachPodName"]) is None, what="attachment pod gone")


def test_hotplug_phases_in_order(sim):
    sim.create(VM, vm_manifest("hot2"))
    sim.wait_printable("hot2", "Running")
    blank_dv(sim, "hot2-data")
    watcher, _ = sim.store.watch(VMI, "demo", None)
    sim.call("virtualmachineinstances", "hot2", "addvolume", {
        "name": "scratch", "disk": {"disk": {"bus": "scsi"}},
        "volumeSource": {"persistentVolumeClaim": {"claimName": "hot2-data"}}})
    seen = []
    while not seen or seen[-1] != "Ready":
        event = watcher.next(5)
        assert event is not None, seen
        phase = next((v.get("phase") for v in event.obj["status"].get("volumeStatus") or ()
                      if v["name"] == "scratch"), None)
        if phase and (not seen or seen[-1] != phase):
            seen.append(phase)
    watcher.close()
    assert seen == ["Bound", "AttachedToNode", "MountedToPod", "Ready"]
    # VMI-level hot-plug is ephemeral: the VM template does not get the volume
    assert not any(v["name"] == "scratch" for v in sim.get(VM, "hot2")["spec"]["template"]["spec"]["volumes"])


def test_vmi_addvolume_needs_a_running_vmi(sim):
    sim.create(VM, vm_manifest("cold", "Halted"))
    err = api_error(lambda: sim.call("virtualmachineinstances", "cold", "addvolume", {
        "name": "x", "disk": {}, "volumeSource": {"persistentVolumeClaim": {"claimName": "x"}}}))
    assert err.code == 404


def test_deleting_the_namespace_tears_everything_down(sim):
    sim.service.create(("", "namespaces"), {"metadata": {"name": "doomed"}})
    vm = dv_vm("gone", "http://images.example.com/fedora.qcow2", accessModes=["ReadWriteMany"])
    vm["metadata"]["namespace"] = "doomed"
    sim.create(VM, vm)
    sim.wait_printable("gone", "Running", timeout=20, namespace="doomed")
    sim.delete(("", "namespaces"), None, "doomed")
    sim.wait(lambda: sim.get(("", "namespaces"), "doomed", None) is None, 20, "namespace gone")
    for gr in (VM, VMI, DV, PVC, POD):
        assert not sim.store.list(gr, "doomed")[0], gr
