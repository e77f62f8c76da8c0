# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Instancetypes and preferences of the common-instancetypes bundle that KubeVirt >= 1.4 deploys."""

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
