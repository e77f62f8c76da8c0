"""VirtualMachine <-> VMI lifecycle per run strategy, printableStatus and status fields (in-process)."""
from __future__ import annotations

import json

from tests.cluster.tests.harness import EVENT, POD, VM, VMI
from tests.cluster.tests.virt_harness import Sim, vm_manifest

SHUTDOWN = "sim.virt.kubevirt.io/guest-shutdown"


def phases(vmi: dict) -> list[str]:
    return [p["phase"] for p in vmi["status"]["phaseTransitionTimestamps"]]


def guest_shutdown(sim: Sim, name: str) -> None:
    sim.update(VMI, "demo", name, lambda o: o["metadata"].setdefault("annotations", {}).update({SHUTDOWN: "true"}))


def test_always_starts_a_vmi_through_kubevirts_phases(sim):
    sim.create(VM, vm_manifest("vm1"))
    assert sim.watch_printable("vm1", "Running") == ["Starting", "Running"]
    vmi = sim.wait(lambda: (v := sim.get(VMI, "vm1")) and v["status"].get("guestOSInfo", {}).get("id") and v)
    assert phases(vmi) == ["Pending", "Scheduling", "Scheduled", "Running"]
    status = vmi["status"]
    node = status["nodeName"]
    assert vmi["metadata"]["labels"]["kubevirt.io/nodeName"] == node
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Ready": "True", "LiveMigratable": "True", "StorageLiveMigratable": "True", "AgentConnected": "True"}
    assert status["guestOSInfo"]["id"] == "fedora" and status["guestOSInfo"]["versionId"] == "41"
    pods = sim.store.list(POD)[0]
    assert len(pods) == 1
    pod = pods[0]
    assert pod["metadata"]["name"].startswith("virt-launcher-vm1-") and len(pod["metadata"]["name"]) == 23
    assert pod["metadata"]["labels"]["kubevirt.io"] == "virt-launcher"
    assert pod["metadata"]["labels"]["kubevirt.io/created-by"] == vmi["metadata"]["uid"]
    assert pod["metadata"]["labels"]["vm.kubevirt.io/name"] == "vm1"
    assert pod["metadata"]["annotations"]["kubevirt.io/domain"] == "vm1"
    assert pod["metadata"]["ownerReferences"][0]["uid"] == vmi["metadata"]["uid"]
    assert pod["spec"]["nodeName"] == node and pod["status"]["phase"] == "Running"
    iface = status["interfaces"][0]
    assert iface["ipAddress"] == pod["status"]["podIP"] and iface["infoSource"] == "domain, guest-agent"
    assert iface["name"] == "default" and iface["interfaceName"] == "eth0"
    assert vmi["metadata"]["ownerReferences"][0]["kind"] == "VirtualMachine"
    vm = sim.get(VM, "vm1")
    assert vm["status"]["created"] is True and vm["status"]["ready"] is True
    assert vm["status"]["runStrategy"] == "Always"
    assert vm["status"]["observedGeneration"] == vm["status"]["desiredGeneration"] == 1
    assert vm["metadata"]["finalizers"] == ["kubevirt.io/virtualMachineControllerFinalize"]
    assert vm["status"]["volumeSnapshotStatuses"] == [{
        "name": "rootdisk", "enabled": False, "reason": "Snapshot is not supported for this volumeSource type [rootdisk]"}]


def test_halted_vm_is_stopped_until_started(sim):
    sim.create(VM, vm_manifest("vm1", "Halted"))
    vm = sim.wait_printable("vm1", "Stopped")
    assert vm["status"]["created"] is False and vm["status"]["ready"] is False
    assert "runStrategy" not in vm["status"]
    ready = vm["status"]["conditions"][0]
    assert (ready["type"], ready["status"], ready["reason"], ready["message"]) == (
        "Ready", "False", "VMINotExists", "VMI does not exist")
    assert sim.get(VMI, "vm1") is None
    assert sim.call("virtualmachines", "vm1", "start") == (202, None)
    assert sim.get(VM, "vm1")["spec"]["runStrategy"] == "Always"
    assert sim.watch_printable("vm1", "Running") == ["Stopped", "Starting", "Running"]


def test_stop_goes_through_stopping(sim):
    sim.create(VM, vm_manifest("vm1"))
    sim.wait_printable("vm1", "Running")
    sim.call("virtualmachines", "vm1", "stop")
    assert sim.get(VM, "vm1")["spec"]["runStrategy"] == "Halted"
    assert sim.watch_printable("vm1", "Stopped")[-2:] == ["Stopping", "Stopped"]
    sim.wait(lambda: sim.get(VMI, "vm1") is None, what="VMI deleted")
    sim.wait(lambda: not sim.store.list(POD)[0], what="pods deleted")
    vm = sim.get(VM, "vm1")
    assert vm["status"]["runStrategy"] == "Halted" and vm["status"]["created"] is False


def test_deprecated_running_flag(sim):
    sim.create(VM, vm_manifest("vm1", None, running=True))
    sim.wait_printable("vm1", "Running")
    sim.call("virtualmachines", "vm1", "stop")
    assert sim.get(VM, "vm1")["spec"]["running"] is False
    assert "runStrategy" not in sim.get(VM, "vm1")["spec"]
    sim.wait_printable("vm1", "Stopped")
    sim.call("virtualmachines", "vm1", "start")
    assert sim.get(VM, "vm1")["spec"]["running"] is True
    sim.wait_printable("vm1", "Running")


def test_manual_uses_state_change_requests(sim):
    sim.create(VM, vm_manifest("vm1", "Manual"))
    sim.wait_printable("vm1", "Stopped")
    assert sim.call("virtualmachines", "vm1", "start") == (202, None)
    assert sim.get(VM, "vm1")["status"]["stateChangeRequests"] == [{"action": "Start"}]
    sim.wait_printable("vm1", "Running")
    vm = sim.get(VM, "vm1")
    assert "stateChangeRequests" not in vm["status"] and vm["spec"]["runStrategy"] == "Manual"
    uid = sim.get(VMI, "vm1")["metadata"]["uid"]
    sim.call("virtualmachines", "vm1", "stop")
    assert sim.get(VM, "vm1")["status"]["stateChangeRequests"] == [{"action": "Stop", "uid": uid}]
    sim.wait_printable("vm1", "Stopped")
    sim.wait(lambda: "stateChangeRequests" not in sim.get(VM, "vm1")["status"])
    assert sim.get(VM, "vm1")["spec"]["runStrategy"] == "Manual"


def test_manual_guest_shutdown_stays_stopped(sim):
    sim.create(VM, vm_manifest("vm1", "Manual"))
    sim.call("virtualmachines", "vm1", "start")
    sim.wait_printable("vm1", "Running")
    guest_shutdown(sim, "vm1")
    sim.wait_printable("vm1", "Stopped")
    assert sim.vmi_phase("vm1") == "Succeeded"
    launcher = sim.store.list(POD)[0][0]
    assert launcher["status"]["phase"] == "Succeeded"  # Completed, as kubectl shows it


def test_always_restarts_after_guest_shutdown(sim):
    sim.create(VM, vm_manifest("vm1"))
    sim.wait_printable("vm1", "Running")
    uid = sim.get(VMI, "vm1")["metadata"]["uid"]
    guest_shutdown(sim, "vm1")
    sim.wait(lambda: (v := sim.get(VMI, "vm1")) and v["metadata"]["uid"] != uid and
             v["status"].get("phase") == "Running", what="new VMI running")
    assert sim.events("SuccessfulDelete")


def test_rerun_on_failure_restarts_failed_but_not_succeeded(sim):
    sim.create(VM, vm_manifest("vm1", "RerunOnFailure"))
    sim.wait_printable("vm1", "Running")
    first = sim.get(VMI, "vm1")["metadata"]["uid"]
    launcher = sim.store.list(POD)[0][0]
    sim.delete(POD, "demo", launcher["metadata"]["name"])  # the launcher dies: the VMI fails
    sim.wait(lambda: (v := sim.get(VMI, "vm1")) and v["metadata"]["uid"] != first and
             v["status"].get("phase") == "Running", what="restarted after failure")
    assert any(e["reason"] == "Stopped" and e["type"] == "Warning" for e in sim.store.list(EVENT)[0])
    guest_shutdown(sim, "vm1")
    sim.wait_printable("vm1", "Stopped")
    sim.wait(lambda: sim.get(VMI, "vm1") is None, what="succeeded VMI removed")
    assert sim.vm_status("vm1") == "Stopped"


def test_once_does_not_restart(sim):
    sim.create(VM, vm_manifest("vm1", "Once"))
    sim.wait_printable("vm1", "Running")
    guest_shutdown(sim, "vm1")
    sim.wait_printable("vm1", "Stopped")
    assert sim.vmi_phase("vm1") == "Succeeded"


def test_deleting_the_vm_terminates_and_cleans_up(sim):
    sim.create(VM, vm_manifest("vm1"))
    sim.wait_printable("vm1", "Running")
    sim.delete(VM, "demo", "vm1")
    assert sim.vm_status("vm1") in ("Running", "Terminating")
    sim.wait_printable("vm1", "Terminating")
    sim.wait(lambda: sim.get(VM, "vm1") is None, what="VM gone")
    assert sim.get(VMI, "vm1") is None and not sim.store.list(POD)[0]


def test_restart_required_after_non_live_change(sim):
    sim.create(VM, vm_manifest("vm1"))
    sim.wait_printable("vm1", "Running")
    sim.update(VM, "demo", "vm1", lambda o: o["spec"]["template"]["spec"]["domain"].update(
        cpu={"cores": 2}))
    vm = sim.wait(lambda: (v := sim.get(VM, "vm1")) and any(c["type"] == "RestartRequired"
                                                             for c in v["status"]["conditions"]) and v)
    cond = next(c for c in vm["status"]["conditions"] if c["type"] == "RestartRequired")
    assert cond["status"] == "True" and "reason" not in cond
    assert cond["message"] == "a non-live-updatable field was changed in the template spec"
    assert vm["status"]["desiredGeneration"] == 2 and vm["status"]["observedGeneration"] == 1
    sim.call("virtualmachines", "vm1", "restart")
    sim.wait(lambda: sim.get(VMI, "vm1") and sim.get(VMI, "vm1")["spec"]["domain"]["cpu"]["cores"] == 2)
    vm = sim.wait(lambda: (v := sim.get(VM, "vm1")) and v["status"].get("observedGeneration") == 2 and v)
    assert not any(c["type"] == "RestartRequired" for c in vm["status"]["conditions"])


def test_live_updatable_changes_reach_the_running_vmi(sim):
    sim.create(VM, vm_manifest("vm1"))
    sim.wait_printable("vm1", "Running")
    sim.update(VM, "demo", "vm1", lambda o: o["spec"]["template"]["spec"].update(
        nodeSelector={"topology.kubernetes.io/zone": "zone-a"}))
    sim.wait(lambda: sim.get(VMI, "vm1")["spec"].get("nodeSelector") == {"topology.kubernetes.io/zone": "zone-a"})
    assert not any(c["type"] == "RestartRequired" for c in sim.get(VM, "vm1")["status"]["conditions"])


def test_pause_and_unpause_show_in_printable_status(sim):
    sim.create(VM, vm_manifest("vm1"))
    sim.wait_printable("vm1", "Running")
    assert sim.call("virtualmachineinstances", "vm1", "pause") == (200, None)
    vm = sim.wait_printable("vm1", "Paused")
    paused = next(c for c in vm["status"]["conditions"] if c["type"] == "Paused")
    assert (paused["reason"], paused["message"]) == ("PausedByUser", "VMI was paused by user")
    sim.wait(lambda: sim.get(VM, "vm1")["status"]["ready"] is False, what="not ready while paused")
    ready = next(c for c in sim.get(VMI, "vm1")["status"]["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "ReadinessGatesNotReady"
    sim.call("virtualmachineinstances", "vm1", "unpause")
    sim.wait_printable("vm1", "Running")
    sim.wait(lambda: sim.get(VM, "vm1")["status"]["ready"] is True, what="ready again")


def test_start_paused_creates_a_paused_vmi(sim):
    sim.create(VM, vm_manifest("vm1", "Halted"))
    sim.wait_printable("vm1", "Stopped")
    sim.call("virtualmachines", "vm1", "start", {"paused": True})
    assert sim.get(VM, "vm1")["status"]["stateChangeRequests"] == [{"action": "Start", "data": {"paused": "true"}}]
    sim.wait_printable("vm1", "Paused")
    assert sim.get(VMI, "vm1")["spec"]["startStrategy"] == "Paused"
    assert sim.get(VM, "vm1")["spec"]["runStrategy"] == "Always"


def test_standalone_vmi_runs_and_deletes(sim):
    vmi = {"metadata": {"name": "solo"}, "spec": {"domain": {"devices": {}, "resources": {"requests": {
        "memory": "512Mi"}}}, "volumes": []}}
    sim.create(VMI, vmi)
    created = sim.get(VMI, "solo")
    assert created["metadata"]["finalizers"] == ["kubevirt.io/foregroundDeleteVirtualMachine"]
    assert created["spec"]["domain"]["memory"]["guest"] == "512Mi"
    assert created["spec"]["networks"] == [{"name": "default", "pod": {}}]
    sim.wait(lambda: sim.vmi_phase("solo") == "Running", what="running")
    sim.delete(VMI, "demo", "solo")
    sim.wait(lambda: sim.get(VMI, "solo") is None, what="VMI gone")
    assert not sim.store.list(POD)[0]


def test_unknown_guest_has_no_agent(sim):
    sim.create(VM, vm_manifest("vm1", image="quay.io/kubevirt/cirros-container-disk-demo"))
    sim.wait_printable("vm1", "Running")
    sim.wait(lambda: sim.get(VMI, "vm1")["status"].get("interfaces"), what="interfaces")
    status = sim.get(VMI, "vm1")["status"]
    assert status["guestOSInfo"] == {}
    assert not any(c["type"] == "AgentConnected" for c in status["conditions"])
    assert status["interfaces"][0]["infoSource"] == "domain" and "interfaceName" not in status["interfaces"][0]


def test_multus_secondary_network(sim):
    vm = vm_manifest("multi", networks=[{"name": "default", "pod": {}},
                                        {"name": "vlan93", "multus": {"networkName": "vlan-93"}}])
    vm["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"] = [
        {"name": "default", "masquerade": {}}, {"name": "vlan93", "bridge": {}, "macAddress": "02:00:00:00:93:01"}]
    sim.create(VM, vm)
    vmi = sim.wait(lambda: (v := sim.get(VMI, "multi")) and any(
        c.get("reason") == "FailedCreate" for c in v.get("status", {}).get("conditions", [])) and v)
    sync = next(c for c in vmi["status"]["conditions"] if c["type"] == "Synchronized")
    assert sync["message"] == ("failed to render launch manifest: failed to locate network attachment definition "
                               "demo/vlan-93")
    assert sim.vm_status("multi") == "Starting"
    sim.service.create(("k8s.cni.cncf.io", "network-attachment-definitions"), {
        "metadata": {"name": "vlan-93", "namespace": "demo"},
        "spec": {"config": '{"cniVersion": "0.3.1", "type": "cnv-bridge", "bridge": "br1", "vlan": 93}'}})
    sim.wait_printable("multi", "Running")
    vmi = sim.wait(lambda: (v := sim.get(VMI, "multi")) and any(
        c["type"] == "AgentConnected" for c in v["status"]["conditions"]) and v)
    pod_net, vlan = vmi["status"]["interfaces"]
    assert vlan["name"] == "vlan93" and vlan["interfaceName"] == "eth1"
    assert vlan["mac"] == "02:00:00:00:93:01" and vlan["podInterfaceName"].startswith("pod")
    assert vlan["infoSource"] == "domain, guest-agent, multus-status"
    assert pod_net["ipAddress"] and "ipAddress" not in vlan  # no IPAM in the NAD: no address (multus_ipam.py)
    launcher = sim.store.list(POD)[0][0]
    status = json.loads(launcher["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"])
    assert status[1] == {"name": "demo/vlan-93", "interface": vlan["podInterfaceName"], "mac": "02:00:00:00:93:01",
                         "dns": {}}
    networks = json.loads(launcher["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"])
    assert networks == [{"name": "vlan-93", "namespace": "demo", "interface": vlan["podInterfaceName"]}]
    assert not any(c["type"] == "Synchronized" for c in vmi["status"]["conditions"])


def test_orphan_delete_keeps_the_vmi_running(sim):
    sim.create(VM, vm_manifest("vm1"))
    sim.wait_printable("vm1", "Running")
    sim.delete(VM, "demo", "vm1", propagation="Orphan")
    sim.wait(lambda: sim.get(VM, "vm1") is None, what="VM gone")
    vmi = sim.get(VMI, "vm1")
    assert vmi["status"]["phase"] == "Running" and "ownerReferences" not in vmi["metadata"]
    sim.create(VM, vm_manifest("vm1"))  # a new VM of that name adopts it
    sim.wait(lambda: sim.get(VMI, "vm1")["metadata"].get("ownerReferences"), what="adopted")
    assert sim.get(VMI, "vm1")["metadata"]["uid"] == vmi["metadata"]["uid"]
    sim.wait_printable("vm1", "Running")
