# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.vm_restore against the local cluster: a running VM is refused unless allowed, the
bytes come back in place and into a new VM, re-runs change nothing, check mode writes nothing."""

from __future__ import annotations

import hashlib
import os

from .test_vm_restore_helpers import claim_of, disk_vm, snapshot

DATA = os.urandom(1 << 20) * 3  # 3 MiB


def test_running_vm_is_refused_then_stopped_restored_and_started_again(runner, cluster, objects, namespace):
    disk_vm(objects, cluster, namespace, "db", DATA, running=True)
    snapshot(objects, namespace, "db-snap", "db")
    cluster.write_pvc_data(namespace, "db-root", b"a bad patch" * 4096)
    args = {"name": "db-back", "namespace": namespace, "snapshot": "db-snap", "wait": True, "wait_timeout": 60}

    refused = runner.run("vm_restore", args)
    assert refused.failed and refused.writes == []
    assert "stop_target: VirtualMachine %s/db is running" % namespace in refused.msg

    checked = runner.run("vm_restore", dict(args, stop_target=True, start_after=True), check=True, diff=True)
    assert checked.changed and not checked.failed and checked.writes == []
    assert checked.result["diff"]["before"]["restore"] is None

    done = runner.run("vm_restore", dict(args, stop_target=True, start_after=True))
    assert done.changed and not done.failed, done.msg
    assert done.result["stopped"] and done.result["started"] and done.result["status"]["complete"]
    restore_states = [p["state"] for p in done.result["progress"] if p["subject"].startswith("VirtualMachineRestore")]
    assert restore_states[-1] == "complete" and done.result["progress"][-1]["state"] == "Running"
    claim = done.result["status"]["restores"][0]["claim_name"]
    vm = objects.vm(namespace, "db")
    assert claim_of(vm) == claim and done.result["volumes"][0]["claim_name"] == claim
    assert vm["status"]["ready"] is True and vm["spec"]["runStrategy"] == "Always"
    assert cluster.pvc_sha256(namespace, claim) == hashlib.sha256(DATA).hexdigest()

    again = runner.run("vm_restore", dict(args, stop_target=True, start_after=True))
    assert not again.changed and not again.failed and again.writes == []
    assert objects.vm(namespace, "db")["status"]["ready"] is True  # not stopped a second time


def test_restore_into_a_new_vm_and_refusal_of_another_existing_vm(runner, cluster, objects, namespace):
    disk_vm(objects, cluster, namespace, "web", DATA, labels={"app": "web"})
    disk_vm(objects, cluster, namespace, "other", b"other")
    snapshot(objects, namespace, "web-snap", "web")
    args = {"name": "web-copy", "namespace": namespace, "snapshot": "web-snap", "target_vm": "web-copy",
            "volume_restore_policy": "PrefixTargetName", "wait": True, "wait_timeout": 60,
            "patches": [{"op": "replace", "path": "/metadata/labels/app", "value": "copy"}]}
    done = runner.run("vm_restore", args, diff=True)
    assert done.changed and not done.failed, done.msg
    copy = objects.vm(namespace, "web-copy")
    assert copy["spec"]["runStrategy"] == "Halted" and copy["metadata"]["labels"]["app"] == "copy"
    assert claim_of(copy) == "web-copy-rootdisk"
    assert cluster.pvc_sha256(namespace, "web-copy-rootdisk") == hashlib.sha256(DATA).hexdigest()
    assert done.result["diff"]["after"]["vm"]["volumes"][0]["claim_name"] == "web-copy-rootdisk"
    assert claim_of(objects.vm(namespace, "web")) == "web-root"  # the source is untouched

    over = runner.run("vm_restore", dict(args, name="web-over", target_vm="other"))
    assert over.failed and over.writes == []
    assert "restore source and restore target are different but restore target already exists" in over.msg
    missing = runner.run("vm_restore", dict(args, name="web-none", snapshot="nope"))
    assert missing.failed and missing.writes == [] and "snapshot: VirtualMachineSnapshot" in missing.msg


def test_stop_target_policy_lets_kubevirt_stop_the_vm_and_overrides_name_the_claim(runner, cluster, objects, namespace):
    disk_vm(objects, cluster, namespace, "app", DATA, running=True)
    snapshot(objects, namespace, "app-snap", "app")
    done = runner.run("vm_restore", {
        "name": "app-back", "namespace": namespace, "snapshot": "app-snap", "target_readiness_policy": "StopTarget",
        "volume_restore_overrides": [{"volume_name": "rootdisk", "restore_name": "app-root-restored",
                                      "labels": {"restored": "yes"}}],
        "start_after": True, "wait": True, "wait_timeout": 60})
    assert done.changed and not done.failed, done.msg
    assert not done.result["stopped"] and done.result["started"]  # KubeVirt stopped it, the task started it
    assert "Automatically stopping restore target for restore operation" in [
        p["state"] for p in done.result["progress"]]
    assert claim_of(objects.vm(namespace, "app")) == "app-root-restored"
    pvc = objects.core.read_namespaced_persistent_volume_claim("app-root-restored", namespace)
    assert pvc.metadata.labels["restored"] == "yes"
    assert cluster.pvc_sha256(namespace, "app-root-restored") == hashlib.sha256(DATA).hexdigest()
