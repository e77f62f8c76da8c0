"""KubeVirt 1.9's OCI export on the HTTP cluster, on a cluster of its own whose KubeVirt CR enables the
OCIExport feature gate: OCIReady DigestsPending then DigestsComputed, the ``oci`` manifest links, the
``export.oci.tar`` endpoint (token, GET only, no Range) and the image's layout, digests and disk bytes,
for a VM and a snapshot; a PVC export gets none of it."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import time

import pytest

from tests.cluster.tests.test_vm_exports import EXPORTS, _until, _uploaded

KUBEVIRT = "/apis/kubevirt.io/v1/namespaces/openshift-cnv/kubevirts/kubevirt-kubevirt-hyperconverged"
VMS = "/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines"
SNAPSHOTS = "/apis/snapshot.kubevirt.io/v1beta1/namespaces/{ns}/virtualmachinesnapshots"
BASE = "/api/export.kubevirt.io/v1beta1/namespaces/{ns}/virtualmachineexports/{name}"
NS = "oci"


def unzstd(frame: bytes) -> bytes:
    """The content of one zstd frame of raw or RLE blocks (what the simulator writes)."""
    assert frame[:4] == b"\x28\xb5\x2f\xfd", frame[:4]
    descriptor = frame[4]
    fcs_size = {0: 1 if descriptor & 0x20 else 0, 1: 2, 2: 4, 3: 8}[descriptor >> 6]
    position = 5 + (0 if descriptor & 0x20 else 1) + (0, 1, 2, 4)[descriptor & 3] + fcs_size
    out = []
    while True:
        header = int.from_bytes(frame[position:position + 3], "little")
        last, kind, size = header & 1, (header >> 1) & 3, header >> 3
        position += 3
        assert kind in (0, 1), "compressed zstd block"
        out.append(frame[position:position + size] if kind == 0 else frame[position:position + 1] * size)
        position += size if kind == 0 else 1
        if last:
            return b"".join(out)


@pytest.fixture(scope="module")
def oci_cluster(cluster_factory):
    cluster = cluster_factory()
    kubevirt = cluster.http("GET", KUBEVIRT).json()
    gates = kubevirt["spec"]["configuration"]["developerConfiguration"]["featureGates"] + ["OCIExport"]
    patched = cluster.http("PATCH", KUBEVIRT, {"spec": {"configuration": {"developerConfiguration": {"featureGates": gates}}}},
                           content_type="application/merge-patch+json")
    assert patched.status == 200, patched
    assert cluster.http("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                       "metadata": {"name": NS}}).status == 201
    return cluster


def _export(cluster, name: str, kind: str, source: str) -> str:
    """Create the export; returns the resourceVersion just before, for a watch that misses nothing."""
    group = {"VirtualMachine": "kubevirt.io", "VirtualMachineSnapshot": "snapshot.kubevirt.io"}.get(kind)
    body = {"apiVersion": "export.kubevirt.io/v1beta1", "kind": "VirtualMachineExport", "metadata": {"name": name},
            "spec": {"source": dict({"kind": kind, "name": source}, **({"apiGroup": group} if group else {}))}}
    since = cluster.http("GET", EXPORTS.format(ns=NS)).json()["metadata"]["resourceVersion"]
    assert cluster.http("POST", EXPORTS.format(ns=NS), body).status == 201
    return since


def _states(cluster, name: str, since: str) -> list:
    """Every (phase, Ready reason, OCIReady status and reason) the export went through until Ready, read
    from a watch from ``since`` (polling can miss a short state on a loaded machine)."""
    seen: list = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        path = "%s?watch=true&fieldSelector=metadata.name%%3D%s&resourceVersion=%s&timeoutSeconds=2" % (
            EXPORTS.format(ns=NS), name, since)
        for line in cluster.http("GET", path, timeout=15).body.splitlines():
            obj = json.loads(line)["object"]
            since = obj["metadata"]["resourceVersion"]
            status = obj.get("status") or {}
            conditions = {c["type"]: c for c in status.get("conditions") or []}
            state = (status.get("phase"), conditions.get("Ready", {}).get("reason"),
                     (conditions.get("OCIReady", {}).get("status"), conditions.get("OCIReady", {}).get("reason")))
            if not seen or seen[-1] != state:
                seen.append(state)
            if status.get("phase") == "Ready":
                return seen
    raise AssertionError("export %s not Ready: %s" % (name, seen))


def _image(body: bytes) -> dict:
    """The tar's files by name, checked as an OCI layout: every blob's name is its sha256."""
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        members = tar.getmembers()
        files = {m.name: tar.extractfile(m).read() for m in members}
    assert [m.name for m in members[:2]] == ["oci-layout", "index.json"]
    assert all(m.mode == 0o644 and m.mtime == 0 and m.isreg() for m in members)
    for name, data in files.items():
        if name.startswith("blobs/"):
            assert name == "blobs/sha256/" + hashlib.sha256(data).hexdigest()
    return files


def _blob(files: dict, descriptor: dict) -> bytes:
    data = files["blobs/sha256/" + descriptor["digest"].split(":", 1)[1]]
    assert len(data) == descriptor["size"]
    return data


def test_oci_export_of_a_vm_and_a_snapshot(oci_cluster):
    cluster = oci_cluster
    data = os.urandom(2 * 1024 * 1024 + 777)
    _uploaded(cluster, NS, "disk", data)
    vm = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "vm", "labels": {"app": "db"}},
          "spec": {"runStrategy": "Halted", "template": {"spec": {
              "domain": {"devices": {"disks": [{"name": "data", "disk": {"bus": "virtio"}}]}},
              "volumes": [{"name": "data", "dataVolume": {"name": "disk"}}]}}}}
    assert cluster.http("POST", VMS.format(ns=NS), vm).status == 201
    snap = {"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot", "metadata": {"name": "s"},
            "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "vm"}}}
    assert cluster.http("POST", SNAPSHOTS.format(ns=NS), snap).status == 201
    _until(lambda: (cluster.http("GET", SNAPSHOTS.format(ns=NS) + "/s").json().get("status") or {}).get("readyToUse"),
           "snapshot ready")
    seen = _states(cluster, "x", _export(cluster, "x", "VirtualMachine", "vm"))
    assert ("Pending", "PodPending", ("False", "DigestsPending")) in seen, seen
    assert ("Pending", "Unknown", ("False", "DigestsPending")) in seen, seen  # pod running, probe failing
    assert seen[-1] == ("Ready", "PodReady", ("True", "DigestsComputed")), seen
    status = cluster.http("GET", EXPORTS.format(ns=NS) + "/x").json()["status"]
    external = {m["type"]: m["url"] for m in status["links"]["external"]["manifests"]}
    assert list(external) == ["all", "auth-header-secret", "oci"]
    assert external["oci"] == cluster.url + BASE.format(ns=NS, name="x") + "/export.oci.tar"
    assert status["links"]["internal"]["manifests"][-1] == {"type": "oci",
                                                            "url": f"https://virt-export-x.{NS}.svc/export.oci.tar"}
    pod = cluster.http("GET", f"/api/v1/namespaces/{NS}/pods/virt-export-x").json()
    assert {"name": "EXPORT_OCI_URI", "value": "/export.oci.tar"} in pod["spec"]["containers"][0]["env"]

    secret = cluster.http("GET", f"/api/v1/namespaces/{NS}/secrets/export-token-x").json()
    auth = {"x-kubevirt-export-token": base64.b64decode(secret["data"]["token"]).decode()}
    url = BASE.format(ns=NS, name="x") + "/export.oci.tar"
    assert cluster.http("GET", url, user=None).status == 401
    head = cluster.http("HEAD", url, user=None, headers=auth)
    assert head.status == 405 and head.headers["Allow"] == "GET"
    got = cluster.http("GET", url, user=None, headers=auth)
    assert got.status == 200 and got.headers["Content-Type"] == "application/x-tar", got
    assert got.headers["Content-Disposition"] == 'attachment; filename="export.oci.tar"'
    assert int(got.headers["Content-Length"]) == len(got.body)
    again = cluster.http("GET", url, user=None, headers=dict(auth, Range="bytes=1000-"))
    assert again.status == 200 and again.body == got.body  # no Range support; the same tar within one pod

    files = _image(got.body)
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert index["manifests"][0]["platform"] == {"architecture": "amd64", "os": "linux"}
    assert "org.opencontainers.image.created" in index["annotations"]
    manifest = json.loads(_blob(files, index["manifests"][0]))
    assert manifest["artifactType"] == "application/vnd.kubevirt.virtualmachine.v1"
    assert manifest["config"]["mediaType"] == "application/vnd.kubevirt.virtualmachine.config.v1+json"
    config = json.loads(_blob(files, manifest["config"]))
    assert config["metadata"]["name"] == "vm" and config["metadata"]["labels"] == {"app": "db"}
    assert "namespace" not in config["metadata"] and "dataVolumeTemplates" not in config["spec"]
    assert config["spec"]["template"]["spec"]["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": "disk"}}]
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.kubevirt.disk.raw+zstd"
    assert layer["annotations"] == {"io.kubevirt.disk.name": "disk", "io.kubevirt.disk.size": str(len(data)),
                                    "org.opencontainers.image.title": "disk.raw.zst"}
    assert unzstd(_blob(files, layer)) == data

    # a snapshot of the VM (made before the VM export, whose pod mounts the claim): the restored claim
    # <export>-<claim> is the layer
    assert _states(cluster, "sx", _export(cluster, "sx", "VirtualMachineSnapshot", "s"))[-1] == ("Ready", "PodReady", ("True", "DigestsComputed"))
    secret = cluster.http("GET", f"/api/v1/namespaces/{NS}/secrets/export-token-sx").json()
    auth = {"x-kubevirt-export-token": base64.b64decode(secret["data"]["token"]).decode()}
    files = _image(cluster.http("GET", BASE.format(ns=NS, name="sx") + "/export.oci.tar", user=None, headers=auth).body)
    manifest = json.loads(_blob(files, json.loads(files["index.json"])["manifests"][0]))
    (layer,) = manifest["layers"]
    assert layer["annotations"]["io.kubevirt.disk.name"] == "sx-disk" and unzstd(_blob(files, layer)) == data

    # a PVC: no OCIReady, no oci link, no endpoint
    _uploaded(cluster, NS, "other", b"other bytes")
    assert _states(cluster, "px", _export(cluster, "px", "PersistentVolumeClaim", "other"))[-1] == ("Ready", "PodReady", (None, None))
    status = cluster.http("GET", EXPORTS.format(ns=NS) + "/px").json()["status"]
    assert "manifests" not in status["links"]["external"]
    secret = cluster.http("GET", f"/api/v1/namespaces/{NS}/secrets/export-token-px").json()
    auth = {"x-kubevirt-export-token": base64.b64decode(secret["data"]["token"]).decode()}
    assert cluster.http("GET", BASE.format(ns=NS, name="px") + "/export.oci.tar", user=None, headers=auth).status == 404
