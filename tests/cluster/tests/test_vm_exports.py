"""VirtualMachineExport on the HTTP cluster: the export server's token check, Range, HEAD, gzip, manifests
paths, and the controller's reasons for a missing claim."""
from __future__ import annotations

import base64
import gzip
import os
import time

EXPORTS = "/apis/export.kubevirt.io/v1beta1/namespaces/{ns}/virtualmachineexports"
DVS = "/apis/cdi.kubevirt.io/v1beta1/namespaces/{ns}/datavolumes"


def _until(check, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def _uploaded(cluster, ns: str, name: str, data: bytes) -> None:
    body = {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": name},
            "spec": {"source": {"upload": {}}, "storage": {"resources": {"requests": {"storage": "64Mi"}}}}}
    assert cluster.http("POST", DVS.format(ns=ns), body).status == 201
    _until(lambda: (cluster.http("GET", DVS.format(ns=ns) + "/" + name).json().get("status") or {}).get("phase")
           == "UploadReady", "UploadReady")
    request = {"apiVersion": "upload.cdi.kubevirt.io/v1beta1", "kind": "UploadTokenRequest",
               "metadata": {"name": name}, "spec": {"pvcName": name}}
    token = cluster.http("POST", f"/apis/upload.cdi.kubevirt.io/v1beta1/namespaces/{ns}/uploadtokenrequests",
                         request).json()["status"]["token"]
    sent = cluster.http("POST", "/v1beta1/upload", data, user=None, content_type="application/octet-stream",
                        headers={"Authorization": "Bearer " + token})
    assert sent.status == 200, sent


def test_export_server_token_range_gzip_and_reasons(cluster):
    ns = "export-server"
    cluster.http("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    data = os.urandom(300000)
    _uploaded(cluster, ns, "disk", data)
    body = {"apiVersion": "export.kubevirt.io/v1beta1", "kind": "VirtualMachineExport", "metadata": {"name": "x"},
            "spec": {"source": {"kind": "PersistentVolumeClaim", "name": "missing"}}}
    assert cluster.http("POST", EXPORTS.format(ns=ns), body).status == 201
    missing = _until(lambda: [c for c in (cluster.http("GET", EXPORTS.format(ns=ns) + "/x").json().get("status") or {})
                              .get("conditions") or [] if c["type"] == "PVCReady"], "PVCReady")
    assert (missing[0]["reason"], missing[0]["message"]) == ("PVCNotFound", f"PersistentVolumeClaim {ns}/missing not found")
    base = f"/api/export.kubevirt.io/v1beta1/namespaces/{ns}/virtualmachineexports"
    assert cluster.http("GET", base + "/x/volumes/missing/disk.img", user=None).status == 502  # not Ready

    body["metadata"]["name"], body["spec"]["source"]["name"] = "y", "disk"
    assert cluster.http("POST", EXPORTS.format(ns=ns), body).status == 201
    ready = _until(lambda: (lambda s: s if s.get("phase") == "Ready" else None)(
        cluster.http("GET", EXPORTS.format(ns=ns) + "/y").json().get("status") or {}), "Ready")
    assert ready["tokenSecretRef"] == "export-token-y" and ready["serviceName"] == "virt-export-y"
    assert ready["ttlExpirationTime"] and [c["reason"] for c in ready["conditions"] if c["type"] == "Ready"] == ["PodReady"]
    secret = cluster.http("GET", f"/api/v1/namespaces/{ns}/secrets/export-token-y").json()
    token = base64.b64decode(secret["data"]["token"]).decode()
    url = base + "/y/volumes/disk/disk.img"

    assert cluster.http("GET", url, user=None).status == 401
    assert cluster.http("GET", url, user=None, headers={"x-kubevirt-export-token": "nope"}).status == 401
    assert cluster.http("GET", base + "/y/volumes/other/disk.img", user=None).status == 404
    assert cluster.http("GET", base + "/y/external/manifests/all", user=None).status == 404  # PVC: no manifests
    whole = cluster.http("GET", url + "?x-kubevirt-export-token=" + token, user=None)
    assert whole.status == 200 and whole.body == data and whole.headers["Accept-Ranges"] == "bytes"
    auth = {"x-kubevirt-export-token": token}
    head = cluster.http("HEAD", url, user=None, headers=auth)
    assert head.status == 200 and head.headers["Content-Length"] == str(len(data))
    part = cluster.http("GET", url, user=None, headers=dict(auth, Range="bytes=1000-"))
    assert part.status == 206 and part.body == data[1000:]
    assert part.headers["Content-Range"] == f"bytes 1000-{len(data) - 1}/{len(data)}"
    beyond = cluster.http("GET", url, user=None, headers=dict(auth, Range=f"bytes={len(data)}-"))
    assert beyond.status == 416 and beyond.headers["Content-Range"] == f"bytes */{len(data)}"
    packed = cluster.http("GET", url + ".gz", user=None, headers=auth)
    assert packed.status == 200 and gzip.decompress(packed.body) == data
    assert cluster.http("HEAD", url + ".gz", user=None, headers=auth).status == 400
