# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vm_export's OCI format: option checks, OCIReady in the wait, and the OCI image read while it is
downloaded (digests, sizes, a resumed .part of another image fetched again whole)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import ssl
import tarfile

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._export_download import Downloader, oci_file
from ansible_collections.virt.kubevirt.plugins.module_utils._export_spec import validate_export_params
from ansible_collections.virt.kubevirt.plugins.module_utils._export_status import (
    not_ready_detail,
    oci_export_ready,
    oci_export_settled,
    oci_pending,
    progress_state,
)


def _params(**extra):
    params = {"name": "db-export", "namespace": "vms", "state": "present",
              "source": {"kind": "VirtualMachine", "name": "db"}, "token_secret": None, "token": None,
              "ttl_duration": None, "proxy_url": None, "delete_after": False,
              "download": {"dest": "/tmp/db.tar", "format": "oci", "volume": None}}
    params.update(extra)
    return params


def test_oci_refuses_a_volume_and_a_pvc_source():
    validate_export_params(_params())
    validate_export_params(_params(source={"kind": "VirtualMachineSnapshot", "name": "s"}))
    with pytest.raises(KubeApiError) as caught:
        validate_export_params(_params(download={"dest": "/tmp/x", "format": "oci", "volume": "db-data"}))
    assert str(caught.value).startswith("download.volume: is not used with download.format=oci"), str(caught.value)
    with pytest.raises(KubeApiError) as caught:
        validate_export_params(_params(source={"kind": "PersistentVolumeClaim", "name": "disk"}))
    assert str(caught.value).startswith("download.format: oci is for source.kind VirtualMachine or "
                                        "VirtualMachineSnapshot"), str(caught.value)


def _export(phase, ready, oci=None):
    conditions = [{"type": "Ready", "status": ready[0], "reason": ready[1]}]
    if oci:
        conditions.append({"type": "OCIReady", "status": oci[0], "reason": oci[1]})
    return {"status": {"phase": phase, "links": {"external": {}} if phase == "Ready" else {}, "conditions": conditions}}


def test_oci_ready_condition_in_the_wait():
    pending = _export("Pending", ("False", "Unknown"), ("False", "DigestsPending"))
    assert oci_pending(pending) and not oci_export_settled(pending)
    assert progress_state(pending) == "Pending, Ready=False Unknown, OCIReady=False DigestsPending"
    assert not_ready_detail(pending) == "phase Pending, Unknown, OCIReady=False: DigestsPending"
    done = _export("Ready", ("True", "PodReady"), ("True", "DigestsComputed"))
    assert oci_export_ready(done) and oci_export_settled(done)
    gate_off = _export("Ready", ("True", "PodReady"))  # no condition: the download says why there is no link
    assert not oci_pending(gate_off) and oci_export_ready(gate_off)
    odd = _export("Ready", ("True", "PodReady"), ("False", "DigestsPending"))
    assert not oci_export_settled(odd)
    stuck = _export("Pending", ("False", "InUse"), ("False", "DigestsPending"))
    assert oci_export_settled(stuck)


def _blob(data):
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


def _image(disk: bytes, corrupt: bool = False, drop_layer: bool = False) -> bytes:
    """An OCI image layout tar as KubeVirt writes it (the layer is stored as is here)."""
    config = _blob(b'{"kind":"VirtualMachine"}')
    layer = _blob(disk)
    manifest = _blob(json.dumps({"schemaVersion": 2, "artifactType": "application/vnd.kubevirt.virtualmachine.v1",
                                 "config": {"mediaType": "application/vnd.kubevirt.virtualmachine.config.v1+json",
                                            "digest": config[0], "size": len(config[1])},
                                 "layers": [{"mediaType": "application/vnd.kubevirt.disk.raw+zstd", "digest": layer[0],
                                             "size": len(disk), "annotations": {
                                                 "io.kubevirt.disk.name": "db-data", "io.kubevirt.disk.size": "1Mi",
                                                 "org.opencontainers.image.title": "db-data.raw.zst"}}]}).encode())
    index = json.dumps({"schemaVersion": 2, "manifests": [{"digest": manifest[0], "size": len(manifest[1])}],
                        "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"}}).encode()
    files = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)]
    files += [("blobs/sha256/" + d.split(":")[1], b) for d, b in (manifest, config, layer)]
    if corrupt:
        files[-1] = (files[-1][0], b"x" + disk[1:])
    if drop_layer:
        files.pop()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_oci_file_reads_the_image_and_refuses_a_broken_one(tmp_path):
    disk = os.urandom(1024 * 1024)
    path = tmp_path / "x.tar"
    path.write_bytes(_image(disk))
    sha256, image = oci_file(str(path))
    assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert image["artifact_type"] == "application/vnd.kubevirt.virtualmachine.v1"
    assert image["layers"] == [{"name": "db-data", "media_type": "application/vnd.kubevirt.disk.raw+zstd",
                                "digest": "sha256:" + hashlib.sha256(disk).hexdigest(), "size": len(disk),
                                "disk_size": "1Mi", "title": "db-data.raw.zst"}]
    cases = [(_image(disk, corrupt=True), "does not have the sha256 it is named by"),
             (_image(disk, drop_layer=True), "is missing or of another size"),
             (_image(disk)[:5000], "is missing or of another size"),  # tarfile ends quietly at a cut header
             (_image(disk)[:-100000], "not a whole tar: unexpected end of data"),
             (b"\1" * 1024, "not a whole tar"), (b"plain text", "not a whole tar: truncated header"),
             (b"\0" * 1024, "index.json is missing")]
    for broken, why in cases:
        path.write_bytes(broken)
        with pytest.raises(KubeApiError) as caught:
            oci_file(str(path))
        assert caught.value.reason == "OciImageInvalid" and why in str(caught.value), str(caught.value)


class _Response:
    def __init__(self, body: bytes, status: int = 200, total: int = 0) -> None:
        self.status, self._body = status, io.BytesIO(body)
        self.headers = {"Content-Length": str(len(body))}
        if status == 206:
            self.headers["Content-Range"] = "bytes %d-%d/%d" % (total - len(body), total - 1, total)

    def read(self, size=-1):
        return self._body.read(size)

    def geturl(self):
        return "https://proxy/export.oci.tar"

    def release_conn(self):
        pass

    def drain_conn(self):
        pass

    def close(self):
        pass


def _downloader(answers, sent):
    downloader = Downloader("token", ssl.create_default_context(), "test")

    def request(method, url, headers=None):
        sent.append((headers or {}).get("Range"))
        return answers.pop(0)
    downloader._request = request  # pylint: disable=protected-access
    return downloader


def test_oci_download_resumes_starts_over_and_refetches_a_mismatched_image(tmp_path):
    disk = os.urandom(3 * 1024 * 1024 + 5)
    tar = _image(disk)
    dest = str(tmp_path / "db.tar")
    part = tmp_path / "db.tar.part"

    # KubeVirt's handler: the whole tar again (200): the .part is started over
    part.write_bytes(tar[:4096])
    sent = []
    outcome = _downloader([_Response(tar)], sent).fetch("u", dest, resumable=True, oci=True)
    assert sent == ["bytes=4096-"] and outcome.resumed_from == 0 and outcome.transferred == len(tar)
    assert outcome.sha256 == hashlib.sha256(tar).hexdigest() and outcome.extra["image"]["layers"][0]["size"] == len(disk)
    assert open(dest, "rb").read() == tar and not part.exists()

    # a server that honours Range: resumed, the image checked over both parts
    os.unlink(dest)
    part.write_bytes(tar[:2 * 1024 * 1024])
    sent = []
    outcome = _downloader([_Response(tar[2 * 1024 * 1024:], 206, len(tar))], sent).fetch("u", dest, True, oci=True)
    assert outcome.resumed_from == 2 * 1024 * 1024 and outcome.sha256 == hashlib.sha256(tar).hexdigest()

    # the .part holds the start of another image (other disk bytes): the resumed image fails, fetched whole
    os.unlink(dest)
    other = _image(os.urandom(len(disk)))
    part.write_bytes(other[:2 * 1024 * 1024])
    sent = []
    answers = [_Response(tar[2 * 1024 * 1024:], 206, len(tar)), _Response(tar)]
    outcome = _downloader(answers, sent).fetch("u", dest, True, oci=True)
    assert sent == ["bytes=2097152-", None] and outcome.resumed_from == 0
    assert open(dest, "rb").read() == tar and not part.exists()

    # a broken image fetched whole: an error, and no .part is left to resume from
    os.unlink(dest)
    with pytest.raises(KubeApiError) as caught:
        _downloader([_Response(_image(disk, corrupt=True))], []).fetch("u", dest, True, oci=True)
    assert caught.value.reason == "OciImageInvalid" and not part.exists() and not os.path.exists(dest)


def test_the_served_manifest_digest_is_read_from_the_start_of_the_tar():
    tar = _image(os.urandom(2 * 1024 * 1024))
    index = json.loads(tarfile.open(fileobj=io.BytesIO(tar)).extractfile("index.json").read())
    response = _Response(tar)
    assert _downloader([response], []).oci_manifest_digest("u") == index["manifests"][0]["digest"]
    assert response._body.tell() < 64 * 1024  # pylint: disable=protected-access
    with pytest.raises(KubeApiError) as caught:
        _downloader([_Response(b"\1" * 4096)], []).oci_manifest_digest("u")
    assert caught.value.reason == "OciImageInvalid"
