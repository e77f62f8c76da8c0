"""virt-api admission: defaults, validation messages, instance types and preferences (in-process)."""
from __future__ import annotations

import uuid

from tests.cluster.api.resources import AdmissionRequest
from tests.cluster.tests.harness import CIT, KV, VM, VMI, VMIM
from tests.cluster.tests.virt_harness import Sim, api_error, vm_manifest

VALIDATOR = 'admission webhook "virtualmachine-validator.kubevirt.io" denied the request: '


def test_running_and_run_strategy_are_mutually_exclusive(sim):
    err = api_error(lambda: sim.create(VM, vm_manifest("vm1", "Always", running=True)))
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.message == VALIDATOR + ("Running and RunStrategy are mutually exclusive. Note that Running is "
                                       "deprecated, please use RunStrategy instead")
    assert err.details == {"causes": [{"reason": "FieldValueInvalid", "field": "spec.running", "message": (
        "Running and RunStrategy are mutually exclusive. Note that Running is deprecated, please use RunStrategy "
        "instead")}]}
    assert err.status()["kind"] == "Status" and sim.get(VM, "vm1") is None


def test_run_strategy_required_and_valid(sim):
    assert api_error(lambda: sim.create(VM, vm_manifest("vm1", None))).message == \
        VALIDATOR + "RunStrategy must be specified"
    assert api_error(lambda: sim.create(VM, vm_manifest("vm1", "Sometimes"))).message == \
        VALIDATOR + "Invalid RunStrategy (Sometimes)"


def test_update_is_validated_too(sim):
    sim.create(VM, vm_manifest("vm1", "Halted"))
    err = api_error(lambda: sim.update(VM, "demo", "vm1", lambda o: o["spec"].update(running=False)))
    assert err.code == 422 and "mutually exclusive" in err.message


def _failure(sim, name: str) -> dict:
    vm = sim.wait(lambda: (v := sim.get(VM, name)) and any(c["type"] == "Failure" for c in
                                                             v.get("status", {}).get("conditions", [])) and v)
    return next(c for c in vm["status"]["conditions"] if c["type"] == "Failure")


def test_missing_cluster_instancetype_is_admitted_with_a_failure_condition(sim):
    # KubeVirt >= 1.6: the instancetype admitter ignores find failures; the VM controller's
    # checkResourcesExist turns them into a Failure condition and starts nothing.
    vm = vm_manifest("vm1")
    del vm["spec"]["template"]["spec"]["domain"]["memory"]
    vm["spec"]["instancetype"] = {"name": "u1.nope"}
    sim.create(VM, vm)
    failure = _failure(sim, "vm1")
    assert (failure["status"], failure["reason"]) == ("True", "FailedFindInstancetype")
    assert failure["message"] == 'virtualmachineclusterinstancetypes.instancetype.kubevirt.io "u1.nope" not found'
    status = sim.get(VM, "vm1")["status"]
    assert status["printableStatus"] == "Stopped" and sim.get(VMI, "vm1") is None
    # Once it exists, the next sync starts the VM and the Failure goes away.
    sim.create(CIT, {"metadata": {"name": "u1.nope"}, "spec": {"cpu": {"guest": 1}, "memory": {"guest": "1Gi"}}})
    sim.rt.enqueue("virt", (VM, "demo", "vm1"))
    sim.wait_printable("vm1", "Running")
    assert not any(c["type"] == "Failure" for c in sim.get(VM, "vm1")["status"]["conditions"])


def test_missing_namespaced_preference_gives_failed_find_preference(sim):
    vm = vm_manifest("vm1")
    vm["spec"]["preference"] = {"name": "fedora", "kind": "VirtualMachinePreference"}
    sim.create(VM, vm)
    failure = _failure(sim, "vm1")
    assert failure["reason"] == "FailedFindPreference"
    assert failure["message"] == 'virtualmachinepreferences.instancetype.kubevirt.io "fedora" not found'


def test_unknown_matcher_kind_is_a_failure_condition(sim):
    vm = vm_manifest("vm1")
    vm["spec"]["instancetype"] = {"name": "x", "kind": "Flavor"}
    sim.create(VM, vm)
    failure = _failure(sim, "vm1")
    assert (failure["reason"], failure["message"]) == (
        "FailedFindInstancetype", "got unexpected kind in InstancetypeMatcher: Flavor")


def test_matcher_without_name_is_rejected(sim):
    vm = vm_manifest("vm1")
    vm["spec"]["instancetype"] = {"kind": "VirtualMachineClusterInstancetype"}
    err = api_error(lambda: sim.create(VM, vm))
    assert err.message == VALIDATOR + "Either Name or InferFromVolume should be provided within the InstancetypeMatcher"
    assert err.details["causes"] == [{"reason": "FieldValueNotFound", "field": "spec.instancetype", "message": (
        "Either Name or InferFromVolume should be provided within the InstancetypeMatcher")}]


def test_instancetype_conflicts(sim):
    vm = vm_manifest("vm1")  # sets memory.guest: conflicts with the instance type
    vm["spec"]["instancetype"] = {"name": "u1.small"}
    err = api_error(lambda: sim.create(VM, vm))
    assert err.message == VALIDATOR + ("VM field(s) spec.template.spec.domain.memory.guest conflicts with selected "
                                       "instance type")


def test_instancetype_and_preference_are_resolved(sim):
    # Both come from the common-instancetypes bundle virt-operator deploys.
    vm = vm_manifest("win", disks=[{"name": "rootdisk"}])
    del vm["spec"]["template"]["spec"]["domain"]["memory"]
    vm["spec"]["instancetype"] = {"name": "u1.large", "kind": "VirtualMachineClusterInstancetype"}
    vm["spec"]["preference"] = {"name": "windows.2k22"}
    sim.create(VM, vm)
    sim.wait_printable("win", "Running")
    status = sim.get(VM, "win")["status"]
    assert status["instancetypeRef"] == {"kind": "VirtualMachineClusterInstancetype", "name": "u1.large"}
    assert status["preferenceRef"] == {"kind": "VirtualMachineClusterPreference", "name": "windows.2k22"}
    vmi = sim.get(VMI, "win")
    domain = vmi["spec"]["domain"]
    assert (domain["cpu"]["cores"], domain["cpu"]["sockets"], domain["cpu"]["threads"]) == (1, 2, 1)
    assert domain["memory"]["guest"] == "8Gi"
    assert domain["devices"]["disks"][0]["disk"]["bus"] == "sata"
    assert domain["devices"]["interfaces"][0]["model"] == "e1000e"
    annotations = vmi["metadata"]["annotations"]
    assert annotations["kubevirt.io/cluster-instancetype-name"] == "u1.large"
    assert annotations["kubevirt.io/cluster-preference-name"] == "windows.2k22"
    sim.wait(lambda: sim.get(VMI, "win")["status"].get("guestOSInfo", {}).get("id") == "mswindows")
    # The VM's own template is not rewritten.
    assert "cpu" not in sim.get(VM, "win")["spec"]["template"]["spec"]["domain"]


def test_instancetype_deleted_later_gives_a_failure_condition(sim):
    sim.create(CIT, {"metadata": {"name": "gone"}, "spec": {"cpu": {"guest": 1}, "memory": {"guest": "1Gi"}}})
    vm = vm_manifest("vm1", "Halted")
    del vm["spec"]["template"]["spec"]["domain"]["memory"]
    vm["spec"]["instancetype"] = {"name": "gone"}
    sim.create(VM, vm)
    sim.delete(CIT, None, "gone")
    sim.rt.enqueue("virt", (VM, "demo", "vm1"))  # the periodic resync of a real controller
    vm = sim.wait(lambda: (v := sim.get(VM, "vm1")) and any(c["type"] == "Failure" for c in
                                                             v.get("status", {}).get("conditions", [])) and v)
    failure = next(c for c in vm["status"]["conditions"] if c["type"] == "Failure")
    assert failure["reason"] == "FailedFindInstancetype"
    assert failure["message"] == 'virtualmachineclusterinstancetypes.instancetype.kubevirt.io "gone" not found'


def test_disk_without_volume_and_unreferenced_dv_template(sim):
    vm = vm_manifest("vm1", disks=[{"name": "rootdisk"}, {"name": "data"}])
    assert api_error(lambda: sim.create(VM, vm)).message == VALIDATOR + (
        "spec.template.spec.domain.devices.disks[1].Name 'data' not found.")
    vm = vm_manifest("vm2")
    vm["spec"]["dataVolumeTemplates"] = [{"metadata": {"name": "orphan"}, "spec": {"source": {"blank": {}}}}]
    err = api_error(lambda: sim.create(VM, vm))
    assert err.message == VALIDATOR + ("DataVolumeTemplate entry spec.dataVolumeTemplate[0] must be referenced in "
                                       "the VMI template's 'volumes' list")


def test_vm_defaults(sim):
    created = sim.create(VM, vm_manifest("vm1", "Halted"))
    template = created["spec"]["template"]["spec"]
    assert template["architecture"] == "amd64"
    assert template["domain"]["machine"] == {"type": "q35"}


def test_openshift_machine_type():
    with Sim(flavor="openshift", time_scale=0.005) as s:
        assert s.create(VM, vm_manifest("vm1", "Halted"))["spec"]["template"]["spec"]["domain"]["machine"] == {
            "type": "pc-q35-rhel9.6.0"}
        kv = s.get(KV, "kubevirt-kubevirt-hyperconverged", "openshift-cnv")
        assert kv["status"]["phase"] == "Deployed"
        assert kv["spec"]["configuration"]["evictionStrategy"] == "LiveMigrate"


def test_kubevirt_cr_defaults(sim):
    kv = sim.get(KV, "kubevirt", "kubevirt")
    assert kv["status"]["phase"] == "Deployed"
    migrations = kv["spec"]["configuration"]["migrations"]
    assert migrations["parallelMigrationsPerCluster"] == 5 and migrations["parallelOutboundMigrationsPerNode"] == 2
    assert {c["type"]: c["status"] for c in kv["status"]["conditions"]}["Available"] == "True"


def test_vmi_defaults_and_memory_requirement(sim):
    err = api_error(lambda: sim.create(VMI, {"metadata": {"name": "x"}, "spec": {"domain": {"devices": {}}}}))
    assert err.code == 422 and err.message == (
        'admission webhook "virtualmachineinstances-create-validator.kubevirt.io" denied the request: no memory '
        "requested, at least one of 'spec.domain.memory.guest', 'spec.domain.memory.hugepages.pageSize' or "
        "'spec.domain.resources.requests.memory' must be set")
    vmi = sim.create(VMI, {"metadata": {"name": "ok"}, "spec": {
        "domain": {"devices": {}, "memory": {"guest": "1Gi"}},
        "volumes": [{"name": "root", "containerDisk": {"image": "quay.io/containerdisks/fedora:41"}}]}})
    spec = vmi["spec"]
    assert spec["domain"]["resources"]["requests"]["memory"] == "1Gi"
    assert spec["domain"]["cpu"] == {"cores": 1, "sockets": 1, "threads": 1, "model": "host-model", "maxSockets": 4}
    assert spec["domain"]["devices"]["disks"] == [{"name": "root", "disk": {"bus": "virtio"}}]
    assert spec["domain"]["devices"]["interfaces"] == [{"name": "default", "masquerade": {}}]
    assert spec["terminationGracePeriodSeconds"] == 180
    # CalculateLegacyUUID: a name-based SHA-1 UUID in KubeVirt's firmware namespace
    assert spec["domain"]["firmware"]["uuid"] == str(uuid.uuid5(uuid.UUID("6a1a24a1-4061-4607-8bf4-a3963d0c5895"),
                                                                 "ok"))


def test_migration_admission(sim):
    err = api_error(lambda: sim.create(VMIM, {"metadata": {"name": "m"}, "spec": {"vmiName": "ghost"}}))
    assert (err.code, err.message) == (400, 'admission webhook "migration-create-validator.kubevirt.io" denied '
                                            'the request: the VMI "demo/ghost" does not exist')
    assert "reason" not in err.status()


def test_vmi_spec_updates_are_restricted(sim):
    sim.create(VM, vm_manifest("vm1"))
    sim.wait_printable("vm1", "Running")
    err = api_error(lambda: sim.update(VMI, "demo", "vm1", lambda o: o["spec"].update(hostname="other")))
    assert (err.code, err.message) == (422, 'admission webhook "virtualmachineinstances-update-validator.kubevirt.io" '
                                            "denied the request: update of VMI object is restricted")
    sim.update(VMI, "demo", "vm1", lambda o: o["metadata"].setdefault("labels", {}).update(team="a"))  # allowed


def test_deprecated_running_gives_an_admission_warning(sim):
    request = AdmissionRequest("CREATE", VM, "demo", "vm1", "admin", False)
    sim.registry.admit(request, vm_manifest("vm1", None, running=False), None)
    assert request.warnings == ["spec.running is deprecated, please use spec.runStrategy instead."]
