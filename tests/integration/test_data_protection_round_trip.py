# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""No byte lost, end to end and through the modules only: upload a known image into a VM's disk,
snapshot the running VM, let the guest overwrite its disk, restore the snapshot, export the VM and
download its disk - the download's sha256 is the original's; a clone's disk equals its source."""

from __future__ import annotations

import hashlib
import os

from .test_vm_restore_helpers import claim_of

MIB = 1024 * 1024


def _ok(run):
    assert not run.failed, run.msg
    return run


def test_upload_snapshot_overwrite_restore_clone_export_download(runner, cluster, namespace, tmp_path):
    image = os.urandom(6 * MIB)
    original = hashlib.sha256(image).hexdigest()
    src = tmp_path / "app.img"
    src.write_bytes(image)
    _ok(runner.run("datavolume_upload", {"name": "app-root", "namespace": namespace, "src": str(src),
                                         "storage": {"size": "64Mi"}}))
    assert cluster.pvc_sha256(namespace, "app-root") == original
    _ok(runner.run("vm", {"name": "app", "namespace": namespace, "run_strategy": "Always", "memory": "1Gi",
                          "disks": [{"name": "root", "existing_data_volume": "app-root"}], "wait": True}))

    snap = _ok(runner.run("vm_snapshot", {"name": "app-before", "namespace": namespace, "vm": "app"}))
    assert snap.changed and snap.result["snapshot"]["status"]["readyToUse"] is True, snap.result

    # The guest writes over its whole image: the claim no longer holds the original bytes.
    cluster.write_pvc_data(namespace, "app-root", os.urandom(6 * MIB))
    assert cluster.pvc_sha256(namespace, "app-root") != original

    restore_args = {"name": "app-rollback", "namespace": namespace, "snapshot": "app-before", "stop_target": True,
                    "wait": True}
    restored = _ok(runner.run("vm_restore", restore_args))
    assert restored.changed
    vm = _ok(runner.run("vm_info", {"name": "app", "namespace": namespace})).result["resources"][0]
    claim = claim_of(vm, "root")
    assert cluster.pvc_sha256(namespace, claim) == original  # the restore brought the bytes back
    assert not _ok(runner.run("vm_restore", restore_args)).changed  # a finished restore is not repeated

    cloned = _ok(runner.run("vm_clone", {"name": "app-to-copy", "namespace": namespace, "source": {"name": "app"},
                                         "target": "app-copy", "wait": True}))
    assert cloned.changed
    copy = _ok(runner.run("vm_info", {"name": "app-copy", "namespace": namespace})).result["resources"][0]
    copy_claim = claim_of(copy, "root")
    assert copy_claim != claim and cluster.pvc_sha256(namespace, copy_claim) == original

    # The restored VM is stopped (stop_target, no start_after): export it and download its disk.
    dest = tmp_path / "app-export.img"
    exported = _ok(runner.run("vm_export", {"name": "app-export", "namespace": namespace, "ttl_duration": "30m",
                                            "source": {"kind": "VirtualMachine", "name": "app"},
                                            "download": {"dest": str(dest)}, "delete_after": True}))
    assert exported.result["download"]["sha256"] == original
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == original and dest.stat().st_size == len(image)
