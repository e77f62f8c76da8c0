# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.vm_clone against the local cluster: a running VM cloned through a snapshot with
its bytes, filters and MACs, re-runs change nothing, an existing target is refused."""

from __future__ import annotations

import os

from .test_vm_restore_helpers import claim_of, disk_vm, snapshot

DATA = os.urandom(1 << 20) * 2  # 2 MiB


def test_clone_of_a_running_vm(runner, cluster, objects, namespace):
    disk_vm(objects, cluster, namespace, "src", DATA, running=True, labels={"app": "web", "team": "a"})
    args = {"name": "src-to-test", "namespace": namespace, "source": {"name": "src"}, "target": "src-test",
            "label_filters": ["*", "!team"], "new_mac_addresses": {"default": "02:00:00:00:10:01"},
            "patches": ['{"op": "add", "path": "/metadata/labels/env", "value": "test"}'],
            "wait": True, "wait_timeout": 60}

    checked = runner.run("vm_clone", args, check=True)
    assert checked.changed and not checked.failed and checked.writes == []
    assert objects.vm(namespace, "src-test") is None

    done = runner.run("vm_clone", args)
    assert done.changed and not done.failed, done.msg
    states = [p["state"] for p in done.result["progress"]]
    assert states[-1] == "Succeeded" and states.index("SnapshotInProgress") < states.index("RestoreInProgress")
    target = objects.vm(namespace, "src-test")
    assert target["metadata"]["labels"] == {"app": "web", "env": "test"}
    assert target["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]["macAddress"] == "02:00:00:00:10:01"
    claim = claim_of(target)
    assert done.result["volumes"][0]["claim_name"] == claim and claim != "src-root"
    assert cluster.pvc_sha256(namespace, claim) == cluster.pvc_sha256(namespace, "src-root")
    assert objects.vmi(namespace, "src") is not None  # the source kept running

    again = runner.run("vm_clone", args)
    assert not again.changed and not again.failed and again.writes == []

    taken = runner.run("vm_clone", dict(args, name="src-to-test-2"))
    assert taken.failed and taken.writes == []
    assert "target: VirtualMachine %s/src-test already exists" % namespace in taken.msg


def test_clone_from_a_snapshot(runner, cluster, objects, namespace):
    disk_vm(objects, cluster, namespace, "base", DATA)
    snapshot(objects, namespace, "base-snap", "base")
    done = runner.run("vm_clone", {"name": "from-snap", "namespace": namespace,
                                   "source": {"kind": "VirtualMachineSnapshot", "name": "base-snap"},
                                   "target": "from-snap-vm", "new_smbios_serial": "serial-1", "wait": True,
                                   "wait_timeout": 60}, diff=True)
    assert done.changed and not done.failed, done.msg
    assert done.result["diff"]["after"]["target_vm"] == "from-snap-vm"
    claim = done.result["volumes"][0]["claim_name"]
    assert cluster.pvc_sha256(namespace, claim) == cluster.pvc_sha256(namespace, "base-root")
    firmware = objects.vm(namespace, "from-snap-vm")["spec"]["template"]["spec"]["domain"]["firmware"]
    assert firmware["serial"] == "serial-1"  # the source's was base-serial
    # the snapshot was the user's: the clone keeps it
    assert objects.get("snapshot.kubevirt.io", "virtualmachinesnapshots", namespace, "base-snap") is not None


def test_clone_of_a_vm_whose_disk_cannot_be_snapshotted_says_why(runner, cluster, objects, namespace):
    disk_vm(objects, cluster, namespace, "shared", b"x", storage_class="ocs-storagecluster-cephfs")
    stuck = runner.run("vm_clone", {"name": "shared-copy", "namespace": namespace, "source": {"name": "shared"},
                                    "target": "shared-2", "wait": True, "wait_timeout": 3})
    assert stuck.failed and "Virtual Machine volume rootdisk does not support snapshots" in stuck.msg
    assert objects.vm(namespace, "shared-2") is None
