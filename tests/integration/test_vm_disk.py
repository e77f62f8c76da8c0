# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.vm_disk through the addvolume/removevolume subresources, on the shared cluster
(KubeVirt's HotplugVolumes feature gate, as OpenShift Virtualization ships it)."""

from __future__ import annotations

from .test_vm_disk_helpers import IMAGE, run_batch, template_disks, template_volumes, verbs, volume_phases


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

    # Plugged into the VMI only (persist: false): unplugging through the VM finds it there.
    assert runner.run("vm_disk", dict(args, persist=False)).changed
    assert "data" not in template_volumes(objects.vm(namespace, "vm1"))
    ephemeral = runner.run("vm_disk", unplug)
    assert ephemeral.changed and not ephemeral.failed, ephemeral
    assert [r["path"].split("/")[-2:] for r in ephemeral.writes] == [["vm1", "removevolume"]], ephemeral
    assert "virtualmachineinstances" in ephemeral.writes[0]["path"]
    assert "data" not in volume_phases(objects.vmi(namespace, "vm1"))


def test_vmi_subresource_plugs_a_pvc_into_a_bare_vmi(runner, namespace, objects):
    objects.create_vmi(namespace, "vmi1")
    objects.create_pvc(namespace, "scratch")
    args = _args(namespace, vm_name="vmi1", persistent_volume_claim="scratch", persist=False, cache="none")

    through_vm = runner.run("vm_disk", dict(args, persist=True))
    assert through_vm.failed and through_vm.writes == [], through_vm
    assert through_vm.msg == ("vm_name: VirtualMachine %s/vmi1 does not exist (for a VMI without a VM use method: "
                              "subresource with persist: false)" % namespace)

    plugged = runner.run("vm_disk", args, diff=True)
    assert not plugged.failed and plugged.changed, plugged
    assert [r["path"] for r in plugged.writes] == [
        "/apis/subresources.kubevirt.io/v1/namespaces/%s/virtualmachineinstances/vmi1/addvolume" % namespace], plugged
    assert plugged.result["target"] == "sda", plugged.result
    assert plugged.result["diff"]["before"]["volumes"] == [{"name": "root", "containerDisk": {"image": IMAGE}}]
    vmi_volumes = {v["name"]: v for v in objects.vmi(namespace, "vmi1")["spec"]["volumes"]}
    assert vmi_volumes["data"]["persistentVolumeClaim"] == {"claimName": "scratch", "hotpluggable": True}

    again = runner.run("vm_disk", args)
    assert not again.changed and again.writes == [] and verbs(again) == ["get"], again

    gone = runner.run("vm_disk", dict(args, state="absent"))
    assert gone.changed and not gone.failed, gone
    assert [r["path"].rsplit("/", 1)[-1] for r in gone.writes] == ["removevolume"], gone
    assert "data" not in volume_phases(objects.vmi(namespace, "vmi1"))


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


def test_refusals_come_before_any_write_and_name_the_option(runner, namespace, objects):
    objects.create_vm(namespace, "vm1")
    objects.create_dv(namespace, "vm1-data")
    objects.create_dv(namespace, "vm1-other")
    assert not runner.run("vm_disk", _args(namespace, data_volume="vm1-data", wait=False)).failed
    label = "VirtualMachine %s/vm1" % namespace
    cases = [
        (_args(namespace, name="new", data_volume="nope"),
         "data_volume: DataVolume %s/nope does not exist; create it first" % namespace),
        (_args(namespace, name="new", persistent_volume_claim="nope"),
         "persistent_volume_claim: PersistentVolumeClaim %s/nope does not exist; create it first" % namespace),
        (_args(namespace, name="data2", data_volume="vm1-data"),
         "data_volume: vm1-data is already attached to %s as volume data" % label),
        (_args(namespace, data_volume="vm1-other"),
         "data_volume: volume data of %s uses dataVolume vm1-data; unplug it first (state: absent) to attach vm1-other" % label),
        (_args(namespace, data_volume="vm1-data", serial="X1"),
         "serial: disk data of %s has no serial; unplug it first (state: absent) to change it" % label),
        (_args(namespace, name="root", state="absent"),
         "name: volume root of %s is not hotpluggable (a containerDisk source); KubeVirt cannot unplug it" % label),
    ]
    results, requests = run_batch(runner, [args for args, _msg in cases])
    for (_args_, message), result in zip(cases, results):
        assert result.get("failed") and result["msg"].startswith(message), (message, result)
    assert {r["verb"] for r in requests} == {"get"}, [(r["method"], r["path"]) for r in requests]


def test_declarative_without_its_feature_gate_times_out_saying_why(runner, namespace, objects):
    """The shared cluster has HotplugVolumes, not DeclarativeHotplugVolumes: the spec changes, the VMI does not."""
    objects.create_vm(namespace, "vm1")
    objects.create_dv(namespace, "vm1-data")
    run = runner.run("vm_disk", _args(namespace, data_volume="vm1-data", method="declarative", wait_timeout=2))
    assert run.failed, run
    assert run.msg.startswith("Timed out after 2s waiting for VirtualMachineInstance %s/vm1 to be showing volume data "
                              "Ready in status.volumeStatus." % namespace), run.msg
    assert run.msg.endswith("Now: volume data: not in the VMI spec, no volumeStatus yet; a declarative hot-plug reaches "
                            "a running VM only with KubeVirt's DeclarativeHotplugVolumes feature gate; on a cluster with "
                            "HotplugVolumes use method: subresource"), run.msg
    assert "data" in template_volumes(objects.vm(namespace, "vm1"))
