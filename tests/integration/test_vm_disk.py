# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.vm_disk through the addvolume/removevolume subresources, on the shared cluster
(KubeVirt's HotplugVolumes feature gate, as OpenShift Virtualization ships it)."""

from __future__ import annotations

import pytest

from .test_vm_disk_helpers import IMAGE, Objects, template_disks, template_volumes, verbs, volume_phases


@pytest.fixture
def objects(cluster):
    return Objects(cluster)


def _args(namespace, **extra):
    args = {"vm_name": "vm1", "namespace": namespace, "name": "data", "method": "subresource", "wait_timeout": 30}
    args.update(extra)
    return args


def test_vm_subresource_round_trip_with_a_data_volume(runner, namespace, objects):
    objects.create_vm(namespace, "vm1")
    objects.create_dv(namespace, "vm1-data")
    args = _args(namespace, data_volume="vm1-data", serial="DATA01")

    preview = runner.run("vm_disk", args, check=True, diff=True)
    assert not preview.failed and preview.changed, preview
    assert preview.writes == [], preview
    assert any(r["path"].endswith("/virtualmachines/vm1/addvolume") and r["dry_run"] for r in preview.requests), preview
    assert "data" not in template_volumes(objects.vm(namespace, "vm1"))
    assert [v["name"] for v in preview.result["diff"]["after"]["volumes"]] == ["root", "data"]

    plugged = runner.run("vm_disk", args)
    assert not plugged.failed and plugged.changed, plugged
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in plugged.writes] == [("PUT", "addvolume")], plugged
    assert plugged.result["target"] == "sda", plugged.result
    assert plugged.result["volume_status"]["phase"] == "Ready"
    assert plugged.result["volume_status"]["reason"] == "VolumeReady"
    assert plugged.result["running"] is True
    vm = objects.vm(namespace, "vm1")
    assert template_volumes(vm)["data"] == {"name": "data", "dataVolume": {"name": "vm1-data", "hotpluggable": True}}
    assert template_disks(vm)["data"]["serial"] == "DATA01"
    assert volume_phases(objects.vmi(namespace, "vm1"))["data"] == "Ready"

    again = runner.run("vm_disk", args)
    assert not again.failed and not again.changed, again
    assert again.writes == [] and verbs(again) == ["get", "get"], again
    assert again.result["target"] == "sda"

    unplug = dict(args, state="absent")
    preview = runner.run("vm_disk", unplug, check=True)
    assert preview.changed and preview.writes == [], preview
    gone = runner.run("vm_disk", unplug)
    assert not gone.failed and gone.changed, gone
    assert [r["path"].rsplit("/", 1)[-1] for r in gone.writes] == ["removevolume"], gone
    assert gone.result["volume_status"] is None and gone.result["target"] is None
    assert "data" not in template_volumes(objects.vm(namespace, "vm1"))
    assert "data" not in volume_phases(objects.vmi(namespace, "vm1"))
    again = runner.run("vm_disk", unplug)
    assert not again.changed and again.writes == [], again


def test_vmi_subresource_plugs_a_pvc_until_the_vmi_stops(runner, namespace, objects):
    objects.create_vm(namespace, "vm1")
    objects.create_pvc(namespace, "scratch")
    args = _args(namespace, persistent_volume_claim="scratch", persist=False, cache="none")

    plugged = runner.run("vm_disk", args, diff=True)
    assert not plugged.failed and plugged.changed, plugged
    assert [r["path"] for r in plugged.writes] == [
        "/apis/subresources.kubevirt.io/v1/namespaces/%s/virtualmachineinstances/vm1/addvolume" % namespace], plugged
    assert plugged.result["target"] == "sda", plugged.result
    assert plugged.result["diff"]["before"]["volumes"] == [{"name": "root", "containerDisk": {"image": IMAGE}}]
    vmi_volumes = {v["name"]: v for v in objects.vmi(namespace, "vm1")["spec"]["volumes"]}
    assert vmi_volumes["data"]["persistentVolumeClaim"] == {"claimName": "scratch", "hotpluggable": True}
    assert "data" not in template_volumes(objects.vm(namespace, "vm1")), "persist: false must leave the VM alone"

    again = runner.run("vm_disk", args)
    assert not again.changed and again.writes == [] and verbs(again) == ["get"], again

    gone = runner.run("vm_disk", dict(args, state="absent"))
    assert gone.changed and not gone.failed, gone
    assert "data" not in volume_phases(objects.vmi(namespace, "vm1"))


def test_missing_claim_fails_before_any_write_naming_it(runner, namespace, objects):
    objects.create_vm(namespace, "vm1")
    for extra, kind, option in (({"data_volume": "nope"}, "DataVolume", "data_volume"),
                                ({"persistent_volume_claim": "nope"}, "PersistentVolumeClaim", "persistent_volume_claim")):
        run = runner.run("vm_disk", _args(namespace, **extra))
        assert run.failed, run
        assert run.msg.startswith("%s: %s %s/nope does not exist" % (option, kind, namespace)), run.msg
        assert run.writes == [] and not any(r["dry_run"] for r in run.requests), run


def test_stopped_vm_persist_changes_the_spec_and_vmi_call_gets_kubevirts_answer(runner, namespace, objects):
    objects.create_vm(namespace, "vm1", running=False)
    objects.create_dv(namespace, "vm1-data")
    vmi_only = runner.run("vm_disk", _args(namespace, data_volume="vm1-data", persist=False))
    assert vmi_only.failed, vmi_only
    assert vmi_only.msg.startswith("Addvolume of VirtualMachineInstance %s/vm1 refused: 404" % namespace), vmi_only.msg
    assert "not found" in vmi_only.msg

    spec_only = runner.run("vm_disk", _args(namespace, data_volume="vm1-data"))
    assert not spec_only.failed and spec_only.changed, spec_only
    assert spec_only.result["running"] is False and spec_only.result["target"] is None
    assert "is not running; the disk is in its spec and is attached when it starts" in spec_only.msg
    objects.wait("the VM controller to apply the volume request",
                 lambda: "data" in template_volumes(objects.vm(namespace, "vm1")))
    again = runner.run("vm_disk", _args(namespace, data_volume="vm1-data"))
    assert not again.changed and again.writes == [], again


def test_a_second_disk_on_the_same_claim_or_name_is_refused_before_any_write(runner, namespace, objects):
    objects.create_vm(namespace, "vm1")
    objects.create_dv(namespace, "vm1-data")
    objects.create_dv(namespace, "vm1-other")
    assert not runner.run("vm_disk", _args(namespace, data_volume="vm1-data", wait=False)).failed
    same_claim = runner.run("vm_disk", _args(namespace, name="data2", data_volume="vm1-data"))
    assert same_claim.failed and same_claim.writes == [], same_claim
    assert same_claim.msg == "data_volume: vm1-data is already attached to VirtualMachine %s/vm1 as volume data" % namespace
    other = runner.run("vm_disk", _args(namespace, data_volume="vm1-other"))
    assert other.failed and other.writes == [], other
    assert other.msg.startswith("data_volume: volume data of VirtualMachine %s/vm1 uses dataVolume vm1-data; unplug it "
                                "first" % namespace), other.msg
    serial = runner.run("vm_disk", _args(namespace, data_volume="vm1-data", serial="X1"))
    assert serial.failed and serial.msg.startswith("serial: disk data of VirtualMachine"), serial.msg
    root = runner.run("vm_disk", _args(namespace, name="root", state="absent"))
    assert root.failed and root.writes == [], root
    assert root.msg.startswith("name: volume root of VirtualMachine %s/vm1 is not hotpluggable (a containerDisk "
                               "source)" % namespace), root.msg
