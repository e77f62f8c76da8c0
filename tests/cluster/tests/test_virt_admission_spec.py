"""virt-api's spec validation of VMs and VMIs (KubeVirt v1.7 ``vmi-create-admitter.go``,
``pkg/network/admitter``, ``pkg/storage/admitters/disks.go``): messages, causes and field paths."""
from __future__ import annotations

from typing import Optional

import pytest

from tests.cluster.tests.harness import VM, VMI
from tests.cluster.tests.virt_harness import api_error, vm_manifest

VALIDATOR = 'admission webhook "virtualmachine-validator.kubevirt.io" denied the request: '
VMI_VALIDATOR = 'admission webhook "virtualmachineinstances-create-validator.kubevirt.io" denied the request: '
DISKS = "spec.template.spec.domain.devices.disks"
IFACES = "spec.template.spec.domain.devices.interfaces"


def rejected(sim, vm: dict) -> list[dict]:
    err = api_error(lambda: sim.create(VM, vm))
    assert (err.code, err.reason) == (422, "Invalid")
    assert sim.get(VM, vm["metadata"]["name"]) is None
    causes = err.details["causes"]
    assert err.message == VALIDATOR + ", ".join(c["message"] for c in causes)
    return causes


def with_nets(interfaces: list, networks: Optional[list], **kw) -> dict:
    vm = vm_manifest("vm1", **kw)
    tspec = vm["spec"]["template"]["spec"]
    tspec["domain"]["devices"]["interfaces"] = interfaces
    if networks is not None:
        tspec["networks"] = networks
    return vm


def test_two_disks_with_the_same_name(sim):
    vm = vm_manifest("vm1", disks=[{"name": "rootdisk", "disk": {}}, {"name": "rootdisk", "disk": {}}])
    assert rejected(sim, vm) == [{"reason": "FieldValueInvalid", "field": f"{DISKS}[1].name",
                                  "message": f"{DISKS}[1] and {DISKS}[0] must not have the same Name."}]


def test_unknown_disk_bus(sim):
    vm = vm_manifest("vm1", disks=[{"name": "rootdisk", "disk": {"bus": "usb3"}}])
    assert rejected(sim, vm) == [{"reason": "FieldValueInvalid", "field": f"{DISKS}[0].disk.bus", "message": (
        f"{DISKS}[0] is set with an unrecognized bus usb3, must be one of: [virtio scsi sata usb]")}]


@pytest.mark.parametrize("disk, message, field", [
    ({"name": "rootdisk", "disk": {"bus": "ide"}}, "IDE bus is not supported", f"{DISKS}[0].disk.bus"),
    ({"name": "rootdisk", "cdrom": {"bus": "virtio"}}, "Bus type virtio is invalid for CD-ROM device",
     f"{DISKS}[0].cdrom.bus"),
    ({"name": "rootdisk", "disk": {}, "lun": {}}, f"{DISKS}[0] can only have a single target type defined",
     f"{DISKS}[0]"),
    ({"name": "rootdisk", "disk": {}, "bootOrder": 0}, f"{DISKS}[0] must have a boot order > 0, if supplied",
     f"{DISKS}[0].bootOrder"),
])
def test_other_disk_checks(sim, disk, message, field):
    assert rejected(sim, vm_manifest("vm1", disks=[disk])) == [
        {"reason": "FieldValueInvalid", "field": field, "message": message}]


def test_usb_and_scsi_buses_are_accepted(sim):
    vm = vm_manifest("vm1", "Halted", disks=[{"name": "rootdisk", "disk": {"bus": "usb"}}, {"name": "d2", "lun": {}}],
                     volumes=[{"name": "rootdisk", "containerDisk": {"image": "x"}},
                              {"name": "d2", "persistentVolumeClaim": {"claimName": "c"}}])
    sim.create(VM, vm)
    assert sim.get(VM, "vm1") is not None


@pytest.mark.parametrize("port, reason, message", [
    (70000, "FieldValueInvalid", "Port field must be in range 0 < x < 65536."),
    (-1, "FieldValueInvalid", "Port field must be in range 0 < x < 65536."),
    (0, "FieldValueRequired", "Port field is mandatory."),
])
def test_forwarded_port_out_of_range(sim, port, reason, message):
    vm = with_nets([{"name": "default", "masquerade": {}, "ports": [{"name": "http", "port": 80},
                                                                     {"name": "bad", "port": port}]}],
                   [{"name": "default", "pod": {}}])
    assert rejected(sim, vm) == [{"reason": reason, "field": f"{IFACES}[0].ports[1]", "message": message}]


def test_ports_are_only_checked_on_the_pod_network(sim):
    vm = with_nets([{"name": "default", "masquerade": {}}, {"name": "nad", "bridge": {}, "ports": [{"port": 70000}]}],
                   [{"name": "default", "pod": {}}, {"name": "nad", "multus": {"networkName": "vlan"}}])
    vm["spec"]["runStrategy"] = "Halted"
    sim.create(VM, vm)


@pytest.mark.parametrize("mac, error", [
    ("02:00:00:00:00", "malformed MAC address (02:00:00:00:00)"),
    ("zz:00:00:00:00:01", "malformed MAC address (zz:00:00:00:00:01)"),
    ("02:00:00:00:00:00:00:01", "too long MAC address (02:00:00:00:00:00:00:01)"),
])
def test_bad_mac_address(sim, mac, error):
    vm = with_nets([{"name": "default", "masquerade": {}, "macAddress": mac}], [{"name": "default", "pod": {}}])
    assert rejected(sim, vm) == [{"reason": "FieldValueInvalid", "field": f"{IFACES}[0].macAddress",
                                  "message": f"interface {IFACES}[0].name has {error}."}]


def test_good_mac_addresses_are_accepted(sim):
    vm = with_nets([{"name": "default", "masquerade": {}, "macAddress": "02:AB:cd:00:00:01"}],
                   [{"name": "default", "pod": {}}])
    vm["spec"]["runStrategy"] = "Halted"
    sim.create(VM, vm)


def test_unknown_nic_model(sim):
    vm = with_nets([{"name": "default", "masquerade": {}, "model": "virtio-net"}], [{"name": "default", "pod": {}}])
    assert rejected(sim, vm) == [{"reason": "FieldValueNotSupported", "field": f"{IFACES}[0].model", "message": (
        f"interface {IFACES}[0].name uses model virtio-net that is not supported.")}]


def test_two_networks_with_the_same_name(sim):
    vm = with_nets([{"name": "default", "masquerade": {}}],
                   [{"name": "default", "pod": {}}, {"name": "default", "multus": {"networkName": "vlan"}}])
    assert rejected(sim, vm) == [{"reason": "FieldValueDuplicate", "field": "spec.template.spec.networks[1].name",
                                  "message": 'Network with name "default" already exists, every network must have '
                                             "a unique name"}]


def test_two_pod_networks(sim):
    vm = with_nets([{"name": "a", "masquerade": {}}, {"name": "b", "masquerade": {}}],
                   [{"name": "a", "pod": {}}, {"name": "b", "pod": {}}])
    assert rejected(sim, vm) == [{"reason": "FieldValueDuplicate", "field": "spec.template.spec.interfaces",
                                  "message": "more than one interface is connected to a pod network in "
                                             "spec.template.spec.interfaces"}]


def test_interface_without_network_and_network_without_interface(sim):
    vm = with_nets([{"name": "default", "masquerade": {}}, {"name": "orphan", "bridge": {}}],
                   [{"name": "default", "pod": {}}, {"name": "lonely", "multus": {"networkName": "vlan"}}])
    assert rejected(sim, vm) == [
        {"reason": "FieldValueRequired", "field": "spec.template.spec.networks[1].name",
         "message": "spec.template.spec.networks[1].name 'lonely' not found."},
        {"reason": "FieldValueInvalid", "field": f"{IFACES}[1].name",
         "message": f"{IFACES}[1].name 'orphan' not found."},
    ]


def test_interfaces_without_any_network(sim):
    vm = with_nets([{"name": "default", "masquerade": {}}], None)
    assert rejected(sim, vm) == [{"reason": "FieldValueInvalid", "field": f"{IFACES}[0].name",
                                  "message": f"{IFACES}[0].name 'default' not found."}]


def test_several_problems_are_reported_together(sim):
    vm = with_nets([{"name": "default", "masquerade": {}, "model": "fast"}], [{"name": "default", "pod": {}}],
                   disks=[{"name": "rootdisk", "disk": {"bus": "usb3"}}, {"name": "rootdisk"}])
    fields = [c["field"] for c in rejected(sim, vm)]
    assert fields == [f"{IFACES}[0].model", f"{DISKS}[0].disk.bus", f"{DISKS}[1].name"]


def test_vmi_create_is_validated_with_spec_paths(sim):
    vmi = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": {"name": "v1"},
           "spec": {"domain": {"devices": {"disks": [{"name": "a", "disk": {"bus": "floppy"}}],
                                           "interfaces": [{"name": "default", "masquerade": {}}]},
                               "memory": {"guest": "1Gi"}},
                    "networks": [{"name": "default", "pod": {}}, {"name": "default", "pod": {}}],
                    "volumes": [{"name": "a", "containerDisk": {"image": "x"}}]}}
    err = api_error(lambda: sim.create(VMI, vmi))
    causes = err.details["causes"]
    assert err.message == VMI_VALIDATOR + ", ".join(c["message"] for c in causes)
    assert [c["field"] for c in causes] == ["spec.interfaces", "spec.networks[1].name",
                                            "spec.domain.devices.disks[0].disk.bus"]
    assert causes[2]["message"] == ("spec.domain.devices.disks[0] is set with an unrecognized bus floppy, must be one "
                                    "of: [virtio scsi sata usb]")
