# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.vm_disk with method: declarative, on a cluster of its own whose KubeVirt CR
enables DeclarativeHotplugVolumes instead of HotplugVolumes (KubeVirt allows only one of the two),
so the gate change cannot disturb tests on the shared cluster."""

from __future__ import annotations

import pytest

from .conftest import Runner
from .test_vm_disk_helpers import IMAGE, Objects, template_disks, template_volumes, verbs, volume_phases

NAMESPACE = "disks"


@pytest.fixture(scope="module")
def declarative(cluster_factory, collections_path, tmp_path_factory):
    cluster = cluster_factory()
    objects = Objects(cluster)
    name = "kubevirt-kubevirt-hyperconverged"
    kubevirt = objects.custom.get_namespaced_custom_object("kubevirt.io", "v1", "openshift-cnv", "kubevirts", name)
    gates = kubevirt["spec"]["configuration"]["developerConfiguration"]["featureGates"]
    gates = [gate for gate in gates if gate != "HotplugVolumes"] + ["DeclarativeHotplugVolumes"]
    objects.custom.patch_namespaced_custom_object("kubevirt.io", "v1", "openshift-cnv", "kubevirts", name, {
        "spec": {"configuration": {"developerConfiguration": {"featureGates": gates}}}})
    objects.core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    return Runner(cluster, collections_path, tmp_path_factory.mktemp("disk-playbooks")), objects


def _args(**extra):
    return dict({"vm_name": "vm1", "namespace": NAMESPACE, "name": "data", "wait_timeout": 30}, **extra)


def test_round_trip_of_a_data_volume_and_a_pvc_in_the_vm_spec(declarative):
    runner, objects = declarative
    objects.create_vm(NAMESPACE, "vm1")
    objects.create_dv(NAMESPACE, "vm1-data")
    objects.create_pvc(NAMESPACE, "vm1-scratch")
    plug_dv = _args(data_volume="vm1-data", cache="writethrough")

    preview = runner.run("vm_disk", plug_dv, check=True, diff=True)
    assert not preview.failed and preview.changed, preview
    assert preview.writes == [] and [r["method"] for r in preview.requests if r["dry_run"]] == ["PATCH"], preview
    assert preview.result["diff"]["before"]["volumes"] == [{"name": "root", "containerDisk": {"image": IMAGE}}]
    assert preview.result["diff"]["after"]["volumes"][-1] == {
        "name": "data", "dataVolume": {"name": "vm1-data", "hotpluggable": True}}
    assert preview.result["target"] is None
    assert "data" not in template_volumes(objects.vm(NAMESPACE, "vm1"))

    plugged = runner.run("vm_disk", plug_dv)
    assert not plugged.failed and plugged.changed, plugged
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in plugged.writes] == [("PATCH", "vm1")], plugged
    assert plugged.result["target"] == "sda" and plugged.result["volume_status"]["reason"] == "VolumeReady"
    vm = objects.vm(NAMESPACE, "vm1")
    assert template_disks(vm)["data"] == {"name": "data", "disk": {"bus": "scsi"}, "cache": "writethrough"}
    assert not any(c["type"] == "RestartRequired" for c in vm["status"].get("conditions") or []), vm["status"]

    plug_pvc = _args(name="scratch", persistent_volume_claim="vm1-scratch")
    second = runner.run("vm_disk", plug_pvc)
    assert second.changed and second.result["target"] == "sdb", second
    assert template_volumes(objects.vm(NAMESPACE, "vm1"))["scratch"]["persistentVolumeClaim"] == {
        "claimName": "vm1-scratch", "hotpluggable": True}

    again = runner.run("vm_disk", plug_dv)
    assert not again.changed and again.writes == [] and verbs(again) == ["get", "get"], again
    assert again.result["target"] == "sda"

    unplug = _args(state="absent")
    preview = runner.run("vm_disk", unplug, check=True, diff=True)
    assert preview.changed and preview.writes == [], preview
    assert [v["name"] for v in preview.result["diff"]["after"]["volumes"]] == ["root", "scratch"]
    gone = runner.run("vm_disk", unplug)
    assert gone.changed and not gone.failed and len(gone.writes) == 1, gone
    assert set(template_volumes(objects.vm(NAMESPACE, "vm1"))) == {"root", "scratch"}
    assert set(volume_phases(objects.vmi(NAMESPACE, "vm1"))) == {"root", "scratch"}
    again = runner.run("vm_disk", unplug)
    assert not again.changed and again.writes == [], again


def test_stopped_vm_gets_the_disk_in_its_spec_only(declarative):
    runner, objects = declarative
    objects.create_vm(NAMESPACE, "vm2", running=False)
    objects.create_dv(NAMESPACE, "vm2-data")
    args = _args(vm_name="vm2", data_volume="vm2-data")
    run = runner.run("vm_disk", args)
    assert not run.failed and run.changed, run
    assert run.msg == "VirtualMachine %s/vm2 is not running; the disk is in its spec and is attached when it starts" % NAMESPACE
    assert run.result["running"] is False and run.result["target"] is None
    assert "data" in template_volumes(objects.vm(NAMESPACE, "vm2"))
    again = runner.run("vm_disk", args)
    assert not again.changed and again.writes == [] and "msg" not in again.result, again
