# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.vm_export with download.format oci (KubeVirt 1.9's export.oci.tar): on a cluster of its own
whose KubeVirt CR enables the OCIExport feature gate, a stopped VM with a disk of random bytes is downloaded
as one OCI image; the test opens the tar (index.json -> manifest -> layer) and finds the disk's bytes. Also:
OCIReady DigestsPending seen while waiting, the token never in the output, an idempotent re-run with no
download, a .part started over (KubeVirt answers a Range with the whole tar); and on the shared cluster (gate
off) the error naming the gate with no write beyond the export itself, and the options refused before any
request."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from typing import Any, Dict

import pytest

from .conftest import Runner
from .test_vm_disk_helpers import Objects, run_batch
from .test_vm_export import MIB, _upload, _vm

NAMESPACE = "oci"
KUBEVIRT = ("kubevirt.io", "v1", "openshift-cnv", "kubevirts", "kubevirt-kubevirt-hyperconverged")


@pytest.fixture(scope="module")
def oci(cluster_factory, collections_path, tmp_path_factory):
    cluster = cluster_factory()
    objects = Objects(cluster)
    kubevirt = objects.custom.get_namespaced_custom_object(*KUBEVIRT)
    gates = kubevirt["spec"]["configuration"]["developerConfiguration"]["featureGates"] + ["OCIExport"]
    objects.custom.patch_namespaced_custom_object(*KUBEVIRT, {
        "spec": {"configuration": {"developerConfiguration": {"featureGates": gates}}}})
    objects.core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    return Runner(cluster, collections_path, tmp_path_factory.mktemp("oci-playbooks")), objects


def _unzstd_sha256(handle: Any, size: int) -> str:
    """sha256 of the content of one zstd frame of raw or RLE blocks, read in pieces."""
    frame = handle.read(5)
    assert frame[:4] == b"\x28\xb5\x2f\xfd", frame
    descriptor = frame[4]
    fcs = {0: 1 if descriptor & 0x20 else 0, 1: 2, 2: 4, 3: 8}[descriptor >> 6]
    handle.read((0 if descriptor & 0x20 else 1) + (0, 1, 2, 4)[descriptor & 3] + fcs)
    digest, left = hashlib.sha256(), size - 5 - (0 if descriptor & 0x20 else 1) - (0, 1, 2, 4)[descriptor & 3] - fcs
    while left > 0:
        header = int.from_bytes(handle.read(3), "little")
        last, kind, length = header & 1, (header >> 1) & 3, header >> 3
        assert kind in (0, 1), "a compressed zstd block: use the zstd tool"
        digest.update(handle.read(length) if kind == 0 else handle.read(1) * length)
        left -= 3 + (length if kind == 0 else 1)
        if last:
            break
    return digest.hexdigest()


def _disk_sha256_in_image(path: str) -> Dict[str, str]:
    """Open the tar as an OCI image layout: index.json -> manifest -> layers; each layer's uncompressed sha256."""
    with tarfile.open(path) as tar:
        assert json.load(tar.extractfile("oci-layout")) == {"imageLayoutVersion": "1.0.0"}
        index = json.load(tar.extractfile("index.json"))
        manifest = json.load(tar.extractfile("blobs/sha256/" + index["manifests"][0]["digest"].split(":")[1]))
        assert manifest["artifactType"] == "application/vnd.kubevirt.virtualmachine.v1"
        config = json.load(tar.extractfile("blobs/sha256/" + manifest["config"]["digest"].split(":")[1]))
        assert config["kind"] == "VirtualMachine" and "namespace" not in config["metadata"]
        found = {}
        for layer in manifest["layers"]:
            assert layer["mediaType"] == "application/vnd.kubevirt.disk.raw+zstd"
            member = tar.getmember("blobs/sha256/" + layer["digest"].split(":")[1])
            assert member.size == layer["size"]
            found[layer["annotations"]["io.kubevirt.disk.name"]] = _unzstd_sha256(tar.extractfile(member), member.size)
            if shutil.which("zstd"):  # the real decoder agrees
                unpacked = subprocess.run(["zstd", "-dc"], input=tar.extractfile(member).read(), capture_output=True, check=True)
                assert hashlib.sha256(unpacked.stdout).hexdigest() == found[layer["annotations"]["io.kubevirt.disk.name"]]
    return found


def test_oci_download_of_a_stopped_vm(oci, tmp_path):
    runner, objects = oci
    image = os.urandom(3 * MIB + 4321)
    _upload(runner, tmp_path, NAMESPACE, "db-data", image)
    _vm(objects, NAMESPACE, "db", "db-data", running=False)
    dest = tmp_path / "db.oci.tar"
    args = {"name": "db-oci", "namespace": NAMESPACE, "source": {"name": "db"}, "download": {"dest": str(dest), "format": "oci"}}

    made = runner.run("vm_export", args)
    assert not made.failed and made.changed and made.result["method"] == "create", made
    assert [(r["method"], r["path"].split("?")[0].rsplit("/", 1)[-1]) for r in made.writes] == \
        [("POST", "virtualmachineexports")]
    states = [p["state"] for p in made.result["progress"]]
    assert any(s.endswith("OCIReady=False DigestsPending") for s in states), states
    assert "Ready, Ready=True PodReady, OCIReady=True DigestsComputed" in states, states
    download = made.result["download"]
    assert download["format"] == "oci" and download["url"].endswith(
        "/api/export.kubevirt.io/v1beta1/namespaces/%s/virtualmachineexports/db-oci/export.oci.tar" % NAMESPACE)
    assert made.result["manifests"]["oci"] == download["url"]
    assert download["sha256"] == hashlib.sha256(dest.read_bytes()).hexdigest() and download["size"] == dest.stat().st_size
    assert download["transferred"] == download["size"] and download["resumed_from"] == 0
    assert [(layer["name"], layer["disk_size"]) for layer in download["image"]["layers"]] == [("db-data", str(len(image)))]
    assert _disk_sha256_in_image(str(dest)) == {"db-data": hashlib.sha256(image).hexdigest()}
    token = base64.b64decode(objects.core.read_namespaced_secret("export-token-db-oci", NAMESPACE).data["token"]).decode()
    assert token not in made.output and token not in repr(made.result)

    # a re-run downloads nothing: the file is checked to be a whole image, and the export serves the same manifest
    # (read from index.json at the start of the tar, the rest not read); a .part left by an interrupted run is
    # asked for with Range, answered with the whole tar (KubeVirt's handler), and started over
    (tmp_path / "again.oci.tar.part").write_bytes(b"x" * 5000)
    again_args = dict(args, download={"dest": str(tmp_path / "again.oci.tar"), "format": "oci"})
    (rerun, restarted), requests = run_batch(runner, [args, again_args], module="vm_export")
    assert not rerun.get("failed") and not rerun["changed"] and rerun["download"]["changed"] is False, rerun
    assert rerun["download"]["sha256"] == download["sha256"] and rerun["download"]["image"] == download["image"]
    assert not restarted.get("failed") and restarted["download"]["resumed_from"] == 0, restarted
    assert restarted["download"]["transferred"] == restarted["download"]["size"]
    assert _disk_sha256_in_image(str(tmp_path / "again.oci.tar")) == {"db-data": hashlib.sha256(image).hexdigest()}
    assert [r for r in requests if r["write"] and not r["dry_run"]] == []
    assert [r["method"] for r in requests if "export.oci.tar" in r["path"]] == ["GET", "GET"]  # the peek, the restart

    # the export made again (another VM disk content): the re-run sees another manifest and downloads again
    objects.custom.delete_namespaced_custom_object("export.kubevirt.io", "v1beta1", NAMESPACE, "virtualmachineexports",
                                                   "db-oci")
    objects.wait("export gone", lambda: objects.get("export.kubevirt.io", "virtualmachineexports", NAMESPACE, "db-oci")
                 is None)
    objects.custom.patch_namespaced_custom_object("kubevirt.io", "v1", NAMESPACE, "virtualmachines", "db",
                                                  {"metadata": {"labels": {"tier": "db"}}})
    renewed = runner.run("vm_export", args)
    assert not renewed.failed and renewed.result["download"]["changed"] is True, renewed
    assert renewed.result["download"]["image"]["manifest_digest"] != download["image"]["manifest_digest"]
    assert _disk_sha256_in_image(str(dest)) == {"db-data": hashlib.sha256(image).hexdigest()}


def test_oci_without_the_gate_and_refused_options(runner, namespace, objects, tmp_path):
    _upload(runner, tmp_path, namespace, "db-data", os.urandom(MIB))
    _vm(objects, namespace, "db", "db-data", running=False)
    dest = tmp_path / "db.oci.tar"
    args = {"name": "db-oci", "namespace": namespace, "source": {"name": "db"}, "download": {"dest": str(dest), "format": "oci"}}
    tasks = [args, dict(args, download=dict(args["download"], volume="db-data")),
             dict(args, source={"kind": "PersistentVolumeClaim", "name": "db-data"})]
    (gate_off, with_volume, pvc), requests = run_batch(runner, tasks, module="vm_export")
    assert gate_off.get("failed"), gate_off
    assert gate_off["msg"].startswith("download.format: VirtualMachineExport %s/db-oci has no oci link: KubeVirt (>= 1.9) "
                                      "serves the VM as an OCI image (export.oci.tar) only when the alpha feature gate "
                                      "OCIExport is enabled" % namespace), gate_off["msg"]
    assert not dest.exists() and not (tmp_path / "db.oci.tar.part").exists()
    assert [(r["method"], r["path"].split("?")[0].rsplit("/", 1)[-1]) for r in requests if r["write"]] == \
        [("POST", "virtualmachineexports")]  # what any export writes, and nothing else
    assert not any("export.oci.tar" in r["path"] or "/secrets/" in r["path"] for r in requests)
    assert with_volume.get("failed") and with_volume["msg"].startswith(
        "download.volume: is not used with download.format=oci"), with_volume
    assert pvc.get("failed") and pvc["msg"].startswith(
        "download.format: oci is for source.kind VirtualMachine or VirtualMachineSnapshot"), pvc
