"""subresources.kubevirt.io: virt-api's status codes, messages and dry-run (in-process)."""
from __future__ import annotations

import pytest

from tests.cluster.tests.harness import DV, KV, VM, VMI, VMIM
from tests.cluster.tests.virt_harness import Sim, api_error, vm_manifest


def running(sim: Sim, name: str = "vm1", strategy: str = "Always", **kw) -> dict:
    sim.create(VM, vm_manifest(name, strategy, **kw))
    if strategy in ("Manual",):
        sim.call("virtualmachines", name, "start")
    return sim.wait_printable(name, "Running")


def conflict(sim: Sim, plural: str, name: str, sub: str, body=None) -> tuple[int, str, str]:
    err = api_error(lambda: sim.call(plural, name, sub, body))
    return err.code, err.reason, err.message


def test_start_of_a_running_vm_is_409(sim):
    running(sim)
    assert conflict(sim, "virtualmachines", "vm1", "start") == (
        409, "Conflict", 'Operation cannot be fulfilled on virtualmachine.kubevirt.io "vm1": VM is already running')


def test_always_without_vmi_refuses_manual_start(sim):
    """An Always VM waiting for its DataVolume has no VMI yet: start is refused by the run strategy."""
    sim.service.create(DV, {"metadata": {"name": "vm1-root", "namespace": "demo"}, "spec": {},
                            "status": {"phase": "ImportInProgress", "progress": "10.00%"}}, keep_status=True)
    vm = vm_manifest("vm1", volumes=[{"name": "rootdisk", "dataVolume": {"name": "vm1-root"}}])
    vm["spec"]["dataVolumeTemplates"] = [{"metadata": {"name": "vm1-root"}, "spec": {
        "source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}]
    sim.create(VM, vm)
    sim.wait_printable("vm1", "Provisioning")
    assert sim.get(VMI, "vm1") is None
    assert conflict(sim, "virtualmachines", "vm1", "start") == (
        409, "Conflict",
        'Operation cannot be fulfilled on virtualmachine.kubevirt.io "vm1": Always does not support manual start '
        "requests")


def test_once_start_message(sim):
    sim.create(VM, vm_manifest("vm1", "Once"))
    sim.wait_printable("vm1", "Running")
    sim.update(VMI, "demo", "vm1", lambda o: o["metadata"].setdefault("annotations", {}).update(
        {"sim.virt.kubevirt.io/guest-shutdown": "true"}))
    sim.wait_printable("vm1", "Stopped")
    assert conflict(sim, "virtualmachines", "vm1", "start") == (
        409, "Conflict",
        'Operation cannot be fulfilled on virtualmachine.kubevirt.io "vm1": Once does not support manual start '
        "requests")


def test_stop_of_a_stopped_manual_vm_is_409(sim):
    sim.create(VM, vm_manifest("vm1", "Manual"))
    assert conflict(sim, "virtualmachines", "vm1", "stop")[2] == (
        'Operation cannot be fulfilled on virtualmachine.kubevirt.io "vm1": VM is not running')


def test_stop_of_halted_needs_shorter_grace_period(sim):
    sim.create(VM, vm_manifest("vm1", "Halted"))
    sim.wait_printable("vm1", "Stopped")
    assert conflict(sim, "virtualmachines", "vm1", "stop")[2].endswith("VM is not running")


def test_restart_with_grace_period_is_400(sim):
    running(sim)
    err = api_error(lambda: sim.call("virtualmachines", "vm1", "restart", {"gracePeriodSeconds": 10}))
    assert (err.code, err.reason, err.message) == (400, "BadRequest",
                                                   "For force restart, only gracePeriod=0 is supported for now")
    err = api_error(lambda: sim.call("virtualmachines", "vm1", "restart", {"gracePeriodSeconds": -1}))
    assert err.message == "gracePeriod has to be greater or equal to 0"


def test_force_restart_sets_a_short_grace_period(sim):
    running(sim)
    uid = sim.get(VMI, "vm1")["metadata"]["uid"]
    assert sim.call("virtualmachines", "vm1", "restart", {"gracePeriodSeconds": 0}) == (202, None)
    sim.wait(lambda: (v := sim.get(VMI, "vm1")) and v["metadata"]["uid"] != uid, what="new VMI")


@pytest.mark.parametrize("strategy", ["Halted", "Once"])
def test_restart_refused_for_halted_and_once(sim, strategy):
    sim.create(VM, vm_manifest("vm1", strategy))
    assert conflict(sim, "virtualmachines", "vm1", "restart")[2] == (
        f'Operation cannot be fulfilled on virtualmachine.kubevirt.io "vm1": RunStategy {strategy} does not '
        "support manual restart requests")


def test_restart_of_a_stopped_manual_vm(sim):
    sim.create(VM, vm_manifest("vm1", "Manual"))
    assert conflict(sim, "virtualmachines", "vm1", "restart")[2] == (
        'Operation cannot be fulfilled on virtualmachine.kubevirt.io "vm1": VM is not running: Halted')


def test_missing_vm_is_404_with_virt_apis_resource_name(sim):
    for sub in ("start", "stop", "restart", "migrate"):
        err = api_error(lambda: sim.call("virtualmachines", "nope", sub))
        assert (err.code, err.reason, err.message) == (404, "NotFound", 'virtualmachine.kubevirt.io "nope" not found')
        assert err.details == {"name": "nope", "group": "kubevirt.io", "kind": "virtualmachine"}
    err = api_error(lambda: sim.call("virtualmachineinstances", "nope", "pause"))
    assert err.message == 'virtualmachineinstance.kubevirt.io "nope" not found'


def test_dry_run_changes_nothing(sim):
    sim.create(VM, vm_manifest("vm1", "Halted"))
    sim.wait_printable("vm1", "Stopped")
    before = sim.get(VM, "vm1")["metadata"]["resourceVersion"]
    assert sim.call("virtualmachines", "vm1", "start", {"dryRun": ["All"]}) == (202, None)
    assert sim.call("virtualmachines", "vm1", "start", dry_run=True) == (202, None)
    vm = sim.get(VM, "vm1")
    assert vm["metadata"]["resourceVersion"] == before and vm["spec"]["runStrategy"] == "Halted"
    sim.call("virtualmachines", "vm1", "start")
    sim.wait_printable("vm1", "Running")
    assert sim.call("virtualmachines", "vm1", "stop", {"dryRun": ["All"]}) == (202, None)
    assert sim.call("virtualmachines", "vm1", "migrate", {"dryRun": ["All"]}) == (202, None)
    assert sim.call("virtualmachineinstances", "vm1", "pause", {"dryRun": ["All"]}) == (200, None)
    assert sim.get(VM, "vm1")["spec"]["runStrategy"] == "Always"
    assert sim.store.count(VMIM) == 0
    assert not any(c["type"] == "Paused" for c in sim.get(VMI, "vm1")["status"]["conditions"])


def test_state_change_requests_underway_is_internal_error(sim):
    sim.create(VM, vm_manifest("vm1", "Manual"))
    sim.call("virtualmachines", "vm1", "start")
    err = api_error(lambda: sim.call("virtualmachines", "vm1", "start"))
    assert err.code in (409, 500)
    if err.code == 500:
        assert err.message == "Internal error occurred: unable to complete request: stop/start already underway"


def test_pause_twice_and_unpause_unpaused(sim):
    running(sim)
    sim.call("virtualmachineinstances", "vm1", "pause")
    assert conflict(sim, "virtualmachineinstances", "vm1", "pause")[2] == (
        'Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "vm1": VMI is already paused')
    sim.call("virtualmachineinstances", "vm1", "unpause")
    assert conflict(sim, "virtualmachineinstances", "vm1", "unpause")[2] == (
        'Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "vm1": VMI is not paused')


def test_softreboot_and_guest_agent_data(sim):
    running(sim)
    sim.wait(lambda: any(c["type"] == "AgentConnected" for c in sim.get(VMI, "vm1")["status"]["conditions"]))
    assert sim.call("virtualmachineinstances", "vm1", "softreboot") == (200, None)
    code, info = sim.call("virtualmachineinstances", "vm1", "guestosinfo", method="GET")
    assert code == 200 and info["os"]["id"] == "fedora" and info["hostname"] == "vm1"
    code, users = sim.call("virtualmachineinstances", "vm1", "userlist", method="GET")
    assert code == 200 and users["items"][0]["userName"] == "fedora"
    code, fs = sim.call("virtualmachineinstances", "vm1", "filesystemlist", method="GET")
    assert code == 200 and fs["items"][0]["mountPoint"] == "/"
    sim.call("virtualmachineinstances", "vm1", "pause")
    assert conflict(sim, "virtualmachineinstances", "vm1", "softreboot")[2].endswith("VMI is paused")


def test_guest_agent_calls_without_agent_are_500(sim):
    running(sim, image="quay.io/kubevirt/cirros-container-disk-demo")
    err = api_error(lambda: sim.call("virtualmachineinstances", "vm1", "guestosinfo", method="GET"))
    assert err.code == 500 and err.message.endswith("VMI does not have guest agent connected")


def test_wrong_method_is_405(sim):
    running(sim)
    assert api_error(lambda: sim.call("virtualmachines", "vm1", "start", method="GET")).code == 405


def test_migrate_creates_a_vmim(sim):
    running(sim)
    assert sim.call("virtualmachines", "vm1", "migrate") == (202, None)
    migrations = sim.store.list(VMIM)[0]
    assert len(migrations) == 1
    mig = migrations[0]
    assert mig["metadata"]["name"].startswith("kubevirt-migrate-vm-")
    assert mig["metadata"]["labels"]["kubevirt.io/vmi-name"] == "vm1"
    assert mig["metadata"]["finalizers"] == ["kubevirt.io/migrationJobFinalize"]
    assert mig["spec"] == {"vmiName": "vm1"}


def test_migrate_of_a_stopped_vm(sim):
    sim.create(VM, vm_manifest("vm1", "Halted"))
    err = api_error(lambda: sim.call("virtualmachines", "vm1", "migrate"))
    assert (err.code, err.message) == (404, 'virtualmachineinstance.kubevirt.io "vm1" not found')


def test_expand_spec_applies_the_instancetype(sim):
    vm = vm_manifest("vm1", "Halted")  # u1.large (2 vCPUs, 8Gi) from the common-instancetypes bundle
    del vm["spec"]["template"]["spec"]["domain"]["memory"]
    vm["spec"]["instancetype"] = {"name": "u1.large"}
    sim.create(VM, vm)
    code, expanded = sim.call("virtualmachines", "vm1", "expand-spec", method="GET")
    assert code == 200
    assert "instancetype" not in expanded["spec"]
    domain = expanded["spec"]["template"]["spec"]["domain"]
    assert domain["cpu"]["sockets"] == 2 and domain["memory"]["guest"] == "8Gi"
    assert expanded["spec"]["template"]["metadata"]["annotations"]["kubevirt.io/cluster-instancetype-name"] == \
        "u1.large"


def test_hotplug_disabled_without_feature_gate(sim):
    running(sim)
    sim.update(KV, "kubevirt", "kubevirt", lambda kv: kv["spec"]["configuration"]["developerConfiguration"].update(
        featureGates=[]))
    err = api_error(lambda: sim.call("virtualmachines", "vm1", "addvolume", {"name": "x"}))
    assert (err.code, err.message) == (400, "Enable DeclarativeHotplugVolumes or HotplugVolumes feature gate to use "
                                            "this API.")


def test_addvolume_validation_messages(sim):
    running(sim)
    assert api_error(lambda: sim.call("virtualmachines", "vm1", "addvolume", {})).message == \
        "AddVolumeOptions requires name to be set"
    assert api_error(lambda: sim.call("virtualmachines", "vm1", "addvolume", {"name": "d"})).message == \
        "AddVolumeOptions requires disk to not be nil"
    assert api_error(lambda: sim.call("virtualmachines", "vm1", "addvolume", {"name": "d", "disk": {}})).message == \
        "AddVolumeOptions requires VolumeSource to not be nil"
    body = {"name": "rootdisk", "disk": {}, "volumeSource": {"persistentVolumeClaim": {"claimName": "x"}}}
    assert conflict(sim, "virtualmachines", "vm1", "addvolume", body)[2].endswith(
        "Unable to add volume [rootdisk] because volume with that name already exists")
    assert conflict(sim, "virtualmachines", "vm1", "removevolume", {"name": "rootdisk"})[2].endswith(
        "Unable to remove volume [rootdisk] because it is not hotpluggable")
    assert conflict(sim, "virtualmachines", "vm1", "removevolume", {"name": "nope"})[2].endswith(
        "Unable to remove volume [nope] because it does not exist")
    assert api_error(lambda: sim.call("virtualmachines", "vm1", "addvolume", None)).message == \
        "AddVolumeOptions requires name to be set"


def test_evacuate_cancel_clears_the_mark(sim):
    running(sim)
    assert sim.call("virtualmachineinstances", "vm1", "evacuate/cancel", {}) == (200, None)
    node = sim.get(VMI, "vm1")["status"]["nodeName"]
    sim.service.mutate(VMI, "demo", "vm1", lambda o: o["status"].update(evacuationNodeName=node))
    sim.call("virtualmachineinstances", "vm1", "evacuate/cancel", {"evacuationNodeName": node})
    assert "evacuationNodeName" not in sim.get(VMI, "vm1")["status"]
