# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.vm_export against the local test cluster: a PVC, a stopped VM and a snapshot exported
and downloaded (sha256 equal to the bytes written, resume of a partial file, gzip), idempotent
re-runs with zero writes, check mode, a running VM refused with KubeVirt's reason, the token never
in the output, TTL expiry and delete_after."""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
from typing import Any, Dict, Optional

import pytest

from .test_vm_disk_helpers import run_batch

EXPORT = ("export.kubevirt.io", "v1beta1", "virtualmachineexports")
MIB = 1024 * 1024


def _export(objects, namespace: str, name: str) -> Optional[Dict[str, Any]]:
    try:
        return objects.custom.get_namespaced_custom_object(EXPORT[0], EXPORT[1], namespace, EXPORT[2], name)
    except objects.k8s.exceptions.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _token(objects, namespace: str, secret: str) -> str:
    return base64.b64decode(objects.core.read_namespaced_secret(secret, namespace).data["token"]).decode()


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> bytes:
    return os.urandom(3 * MIB + 12345)


def _upload(runner, tmp_path, namespace: str, name: str, data: bytes) -> None:
    src = tmp_path / (name + ".raw")
    src.write_bytes(data)
    done = runner.run("datavolume_upload", {"name": name, "namespace": namespace, "src": str(src),
                                            "storage": {"size": "64Mi"}})
    assert not done.failed, done


def _vm(objects, namespace: str, name: str, claim: str, running: bool) -> None:
    objects.custom.create_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachines", {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name},
        "spec": {"runStrategy": "Always" if running else "Halted", "template": {"spec": {
            "domain": {"memory": {"guest": "1Gi"}, "devices": {"disks": [{"name": "data", "disk": {"bus": "virtio"}}]}},
            "volumes": [{"name": "data", "dataVolume": {"name": claim}}]}}}})
    if running:
        objects.wait("VMI running", lambda: ((objects.vmi(namespace, name) or {}).get("status") or {}).get("phase")
                     == "Running")


def test_pvc_export_download_resume_gzip_idempotent_token_hidden(runner, namespace, objects, tmp_path, image):
    _upload(runner, tmp_path, namespace, "disk", image)
    dest = tmp_path / "disk.img"
    args = {"name": "disk-export", "namespace": namespace, "source": {"kind": "PersistentVolumeClaim", "name": "disk"},
            "ttl_duration": "1h", "download": {"dest": str(dest)}}

    preview = runner.run("vm_export", args, check=True, diff=True)
    assert not preview.failed and preview.changed and preview.writes == [], preview
    assert preview.result["diff"]["after"]["export"]["spec"]["source"]["name"] == "disk"
    assert _export(objects, namespace, "disk-export") is None and not dest.exists()

    made = runner.run("vm_export", args)
    assert not made.failed and made.changed and made.result["method"] == "create", made
    assert made.result["phase"] == "Ready" and made.result["token_secret"] == "export-token-disk-export"
    assert made.result["volumes"] == ["disk"] and made.result["manifests"] == {}
    raw_url = made.result["links"]["external"]["volumes"][0]["formats"][0]["url"]
    assert raw_url.endswith("/api/export.kubevirt.io/v1beta1/namespaces/%s/virtualmachineexports/disk-export"
                            "/volumes/disk/disk.img" % namespace)
    assert made.result["links"]["internal"]["volumes"][0]["formats"][0]["url"] == \
        "https://virt-export-disk-export.%s.svc/volumes/disk/disk.img" % namespace
    download = made.result["download"]
    assert dest.read_bytes() == image and download["sha256"] == hashlib.sha256(image).hexdigest()
    assert download["size"] == len(image) and download["transferred"] == len(image) and download["resumed_from"] == 0
    assert made.result["progress"][-1]["state"].startswith("100% of 3.0 MiB")
    token = _token(objects, namespace, "export-token-disk-export")
    assert token not in made.output and token not in repr(made.result)
    assert [(r["method"], r["path"].split("?")[0].rsplit("/", 1)[-1]) for r in made.writes] == \
        [("POST", "virtualmachineexports")]

    again = runner.run("vm_export", args)
    assert not again.failed and not again.changed and again.writes == [], again
    assert again.result["download"]["changed"] is False and again.result["download"]["sha256"] == download["sha256"]

    # an interrupted download left 1 MiB in the .part file: the next run asks for the rest only; then a gzip
    # download removes the export, and its re-run (dest present) sends no request at all
    resumed_dest, packed = tmp_path / "resumed.img", tmp_path / "disk.img.gz"
    (tmp_path / "resumed.img.part").write_bytes(image[:MIB])
    zipped_args = dict(args, download={"dest": str(packed), "format": "gzip"}, delete_after=True)
    (resumed, zipped, rerun), requests = run_batch(
        runner, [dict(args, download={"dest": str(resumed_dest)}), zipped_args, zipped_args], module="vm_export")
    assert not resumed.get("failed") and resumed["changed"], resumed
    assert resumed["download"]["resumed_from"] == MIB and resumed["download"]["transferred"] == len(image) - MIB
    assert resumed["download"]["sha256"] == hashlib.sha256(image).hexdigest()
    assert resumed_dest.read_bytes() == image and not (tmp_path / "resumed.img.part").exists()
    assert not zipped.get("failed") and zipped["changed"] and zipped["deleted"] is True, zipped
    assert gzip.decompress(packed.read_bytes()) == image
    assert zipped["download"]["sha256"] == hashlib.sha256(packed.read_bytes()).hexdigest()
    assert not rerun.get("failed") and not rerun["changed"] and rerun["method"] == "none", rerun
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in requests if r["write"] and not r["dry_run"]] == \
        [("DELETE", "disk-export")]
    objects.wait("export deleted", lambda: _export(objects, namespace, "disk-export") is None)


def test_running_vm_refused_stopped_vm_and_snapshot_exported(runner, namespace, objects, tmp_path, image):
    _upload(runner, tmp_path, namespace, "db-data", image)
    _vm(objects, namespace, "db", "db-data", running=True)
    refused = runner.run("vm_export", {"name": "db-export", "namespace": namespace, "source": {"name": "db"}})
    assert refused.failed and refused.writes == [], refused
    assert refused.msg.startswith("source: Virtual Machine %s/db is running" % namespace), refused.msg

    # an export made by hand while the VM runs: KubeVirt's reason ends the wait at once
    objects.custom.create_namespaced_custom_object(*EXPORT[:2], namespace, EXPORT[2], {
        "apiVersion": "export.kubevirt.io/v1beta1", "kind": "VirtualMachineExport", "metadata": {"name": "by-hand"},
        "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "db"}}})
    pending = runner.run("vm_export", {"name": "by-hand", "namespace": namespace, "source": {"name": "db"},
                                       "wait_timeout": 60})
    assert pending.failed and pending.writes == [], pending
    assert "is not ready: phase Pending, InUse: Virtual Machine %s/db is running" % namespace in pending.msg

    objects.custom.create_namespaced_custom_object("snapshot.kubevirt.io", "v1beta1", namespace,
                                                   "virtualmachinesnapshots", {
                                                       "apiVersion": "snapshot.kubevirt.io/v1beta1",
                                                       "kind": "VirtualMachineSnapshot", "metadata": {"name": "db-snap"},
                                                       "spec": {"source": {"apiGroup": "kubevirt.io",
                                                                           "kind": "VirtualMachine", "name": "db"}}})
    objects.wait("snapshot ready", lambda: ((objects.get("snapshot.kubevirt.io", "virtualmachinesnapshots", namespace,
                                                         "db-snap") or {}).get("status") or {}).get("readyToUse"))
    objects.custom.patch_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachines", "db",
                                                  {"spec": {"runStrategy": "Halted"}})
    objects.wait("VMI gone", lambda: objects.vmi(namespace, "db") is None)

    own_token = "s3cr3t-" + os.urandom(12).hex()
    tasks = [
        {"name": "db-export", "namespace": namespace, "source": {"name": "db"}, "token": own_token,
         "download": {"dest": str(tmp_path / "vm.img")}},
        {"name": "snap-export", "namespace": namespace, "source": {"kind": "VirtualMachineSnapshot", "name": "db-snap"},
         "download": {"dest": str(tmp_path / "snap.img"), "volume": "db-data"}},
    ]
    (vm_run, snap_run), _requests = run_batch(runner, tasks, module="vm_export")
    assert not vm_run.get("failed") and vm_run["changed"] and vm_run["token_secret"] == "db-export-export-token", vm_run
    assert vm_run["token_secret_change"] == "created" and _token(objects, namespace, "db-export-export-token") == own_token
    assert set(vm_run["manifests"]) == {"all", "auth-header-secret"}
    assert vm_run["download"]["sha256"] == hashlib.sha256(image).hexdigest()
    assert own_token not in repr(vm_run)
    assert not snap_run.get("failed") and snap_run["volumes"] == ["db-data"], snap_run
    assert snap_run["download"]["sha256"] == hashlib.sha256(image).hexdigest()
    claim = objects.core.read_namespaced_persistent_volume_claim("snap-export-db-data", namespace)
    assert claim.spec.data_source.kind == "VolumeSnapshot"

    wrong = runner.run("vm_export", dict(tasks[0], token="another-token-0123456789"))
    assert not wrong.failed and wrong.changed and wrong.result["token_secret_change"] == "updated", wrong
    assert "another-token-0123456789" not in wrong.output


def test_ttl_expiry_deletes_the_export(runner, namespace, objects):
    objects.create_pvc(namespace, "scratch")
    source = {"kind": "PersistentVolumeClaim", "name": "scratch"}
    tasks = [{"name": "short", "namespace": namespace, "ttl_duration": "3s", "source": source},
             {"name": "short", "namespace": namespace, "ttl_duration": "soon", "source": source}]
    (made, bad), _requests = run_batch(runner, tasks, module="vm_export")
    assert not made.get("failed") and made["ready"] and made["ttl_expiration_time"], made
    assert bad.get("failed") and bad["msg"].startswith("ttl_duration: must be a positive duration"), bad
    objects.wait("export expired", lambda: _export(objects, namespace, "short") is None, timeout=15)
