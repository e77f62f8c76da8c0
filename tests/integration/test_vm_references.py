# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""References a VM task checks before writing: instancetypes and preferences (the common-instancetypes
bundle that KubeVirt >= 1.4 deploys) and existing DataVolumes."""

from __future__ import annotations

IMAGE = "quay.io/containerdisks/centos-stream:9"


def _args(namespace, **extra):
    args = {"name": "vm1", "namespace": namespace, "run_strategy": "Always",
            "disks": [{"name": "root", "container_disk": IMAGE}], "wait": True, "wait_timeout": 60}
    args.update(extra)
    return args


def test_bundle_instancetype_and_preference_run_and_rerun_reads_nothing_more(runner, namespace):
    run = runner.run("vm", _args(namespace, instancetype={"name": "u1.small"}, preference={"name": "centos.stream9"}))
    assert not run.failed, run.msg
    assert run.changed and run.result["vmi"]["phase"] == "Running"
    again = runner.run("vm", _args(namespace, instancetype={"name": "u1.small"}, preference={"name": "centos.stream9"}))
    assert not again.failed and not again.changed and again.writes == []
    # Unchanged matchers are not looked up again.
    assert not [r for r in again.requests if "instancetype.kubevirt.io" in r["path"]]


def test_typo_in_preference_fails_before_any_write_with_a_suggestion(runner, namespace, kube):
    run = runner.run("vm", _args(namespace, instancetype={"name": "u1.small"}, preference={"name": "centos.stream"}))
    assert run.failed
    assert run.msg.startswith("preference.name: VirtualMachineClusterPreference 'centos.stream' does not exist in the cluster")
    assert "did you mean" in run.msg and "centos.stream9" in run.msg
    assert run.writes == [] and kube.vm(namespace, "vm1") is None


def test_changing_to_a_missing_instancetype_leaves_the_vm_as_it_was(runner, namespace, kube):
    assert not runner.run("vm", _args(namespace, instancetype={"name": "u1.small"}, wait=False)).failed
    run = runner.run("vm", _args(namespace, instancetype={"name": "u1.huge"}, wait=False))
    assert run.failed and "VirtualMachineClusterInstancetype 'u1.huge' does not exist" in run.msg
    assert run.writes == []
    assert kube.vm(namespace, "vm1")["spec"]["instancetype"]["name"] == "u1.small"


def test_golden_image_flow_a_vm_on_an_existing_data_volume(runner, namespace, kube):
    """datavolume clones a golden image once; the VM uses it by name, does not own it, keeps it."""
    golden = runner.run("datavolume", {"name": "golden", "namespace": namespace, "blank": True,
                                       "storage": {"size": "1Gi"}, "wait": True})
    assert not golden.failed, golden
    disk = runner.run("datavolume", {"name": "vm1-root", "namespace": namespace, "wait": True,
                                     "clone_pvc": {"name": "golden"}, "storage": {"size": "1Gi"}})
    assert not disk.failed, disk
    disks = [{"name": "root", "existing_data_volume": "vm1-root"}]
    memory = {"memory": "1Gi"}

    typo = runner.run("vm", _args(namespace, disks=[{"name": "root", "existing_data_volume": "vm1-rot"}]))
    assert typo.failed and typo.writes == [] and kube.vm(namespace, "vm1") is None
    assert typo.msg.startswith("disks[0] (root).existing_data_volume: DataVolume 'vm1-rot' does not exist in namespace %s" % namespace)
    assert "did you mean vm1-root" in typo.msg

    run = runner.run("vm", _args(namespace, disks=disks, **memory))
    assert not run.failed and run.changed and run.result["vmi"]["phase"] == "Running", run.msg
    volumes = run.result["result"]["spec"]["template"]["spec"]["volumes"]
    assert {"name": "root", "dataVolume": {"name": "vm1-root"}} in volumes
    assert not run.result["result"]["spec"].get("dataVolumeTemplates")

    again = runner.run("vm", _args(namespace, disks=disks, **memory))
    assert not again.changed and again.writes == [] and not [r for r in again.requests if "/datavolumes/" in r["path"]], again

    gone = runner.run("vm", {"name": "vm1", "namespace": namespace, "state": "absent", "wait": True})
    assert not gone.failed and gone.changed, gone
    kept = runner.run("datavolume_info", {"name": "vm1-root", "namespace": namespace})
    assert [dv["metadata"]["name"] for dv in kept.result["resources"]] == ["vm1-root"], kept
