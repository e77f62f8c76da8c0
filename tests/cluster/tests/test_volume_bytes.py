"""Volume bytes: sparse files per PV, real loopback http imports, streamed uploads, clones, read-back."""
from __future__ import annotations

import gzip
import hashlib
import io
import lzma
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from tests.cluster.controllers.disks import claim_key
from tests.cluster.tests.harness import DV, PVC, UTR
from tests.cluster.tests.storage_env import condition, datavolume

IMAGE = bytes(range(256)) * 4096 + b"tail-of-the-image"  # 1 MiB + 17 bytes


class ImageServer:
    """An http server on 127.0.0.1 serving ``files`` (path -> bytes); records each request."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.seen: list[tuple[str, str, str]] = []  # (method, path, user agent)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, body: bool) -> None:
                outer.seen.append((self.command, self.path, self.headers.get("User-Agent", "")))
                data = files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer(True)

            def do_HEAD(self) -> None:
                self._answer(False)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def images():
    server = ImageServer({"/disk.img": IMAGE, "/disk.img.gz": gzip.compress(IMAGE),
                          "/disk.img.xz": lzma.compress(IMAGE)})
    yield server
    server.close()


def image_of(env, name: str, namespace: str = "demo") -> bytes:
    key = claim_key(env.store, namespace, name)
    assert key is not None, f"{namespace}/{name} has no volume"
    return b"".join(env.rt.disks.read(key))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_provisioned_claim_is_a_sparse_zeroed_file_of_its_capacity(env):
    env.create(PVC, {"metadata": {"name": "scratch", "namespace": "demo"},
                     "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}})
    env.wait(lambda: claim_key(env.store, "demo", "scratch"), what="scratch bound")
    path = env.rt.disks.path(claim_key(env.store, "demo", "scratch"))
    stat = os.stat(path)
    assert stat.st_size == 10 * 1024 ** 3
    assert stat.st_blocks * 512 < 1024 * 1024  # sparse: nothing allocated
    with open(path, "rb") as f:
        assert f.read(4096) == b"\0" * 4096


@pytest.mark.parametrize("suffix", ["", ".gz", ".xz"])
def test_loopback_http_import_reads_the_url_and_keeps_the_image(env, images, suffix):
    env.create(DV, datavolume("fedora", {"http": {"url": f"{images.url}/disk.img{suffix}"}}))
    env.phases(DV, "demo", "fedora", "Succeeded")
    assert ("GET", f"/disk.img{suffix}", "cdi-golang-importer") in images.seen
    assert sha(image_of(env, "fedora")) == sha(IMAGE)  # decompressed like CDI's importer
    assert env.get(DV, "demo", "fedora")["status"]["progress"] == "100.0%"


def test_loopback_http_404_fails_with_the_importer_message(env, images):
    env.create(DV, datavolume("missing", {"http": {"url": f"{images.url}/nope.img"}}))
    want = ("Unable to connect to http data source: expected status code 200, got 404. Status: 404 Not Found")
    env.wait(lambda: condition(env.get(DV, "demo", "missing"), "Running").get("message") == want,
             what="importer failure", timeout=5)
    assert env.get(DV, "demo", "missing")["status"]["phase"] == "ImportInProgress"
    assert ("GET", "/nope.img", "cdi-golang-importer") in images.seen
    reasons = {e["reason"] for e in env.events("demo", "missing")}
    assert "ErrImportFailed" in reasons


def test_image_larger_than_the_volume_is_refused(env, images):
    env.create(DV, datavolume("tiny", {"http": {"url": f"{images.url}/disk.img"}}, size="1Mi",
                              storage={"volumeMode": "Block"}))
    env.wait(lambda: "is larger than the reported available storage" in
             condition(env.get(DV, "demo", "tiny"), "Running").get("message", ""), what="size refusal", timeout=5)


def test_non_loopback_import_stays_simulated_and_zeroed(env):
    env.create(DV, datavolume("remote", {"http": {"url": "https://mirror.example.com/fedora.qcow2"}}))
    env.phases(DV, "demo", "remote", "Succeeded")
    assert image_of(env, "remote") == b""


def upload(env, name: str, body, path: str = "/v1beta1/upload", headers: dict | None = None) -> tuple[int, bytes]:
    env.create(DV, datavolume(name, {"upload": {}}))
    env.phases(DV, "demo", name, "UploadReady")
    token = env.create(UTR, {"metadata": {"name": f"t-{name}", "namespace": "demo"},
                             "spec": {"pvcName": name}})["status"]["token"]
    status, _, answer = env.upload.handle("POST", path, {}, {"Authorization": f"Bearer {token}", **(headers or {})},
                                          body)
    return status, answer


class CountingStream(io.RawIOBase):
    """A generated body read in pieces; ``largest`` is the biggest read asked for (memory bound)."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self.pieces, self.buf, self.largest = pieces, b"", 0

    def read(self, n: int = -1) -> bytes:
        self.largest = max(self.largest, n)
        while len(self.buf) < n:
            nxt = next(self.pieces, None)
            if nxt is None:
                break
            self.buf += nxt
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def test_upload_is_streamed_decompressed_and_readable_back(env):
    stream = CountingStream(iter([lzma.compress(IMAGE)]))
    status, _ = upload(env, "up", stream)
    assert status == 200
    env.phases(DV, "demo", "up", "Succeeded")
    assert sha(image_of(env, "up")) == sha(IMAGE)
    assert stream.largest <= 1024 * 1024


def test_form_upload_writes_only_the_file_part(env):
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nignored\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.img\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + IMAGE + f"\r\n--{boundary}--\r\n".encode()
    status, _ = upload(env, "form", io.BytesIO(body), path="/v1beta1/upload-form",
                       headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 200
    assert image_of(env, "form") == IMAGE


def test_clone_copies_the_bytes_and_blank_is_zeroes(env):
    assert upload(env, "golden", IMAGE)[0] == 200
    env.phases(DV, "demo", "golden", "Succeeded")
    env.create(DV, datavolume("copy", {"pvc": {"namespace": "demo", "name": "golden"}}))
    env.create(DV, datavolume("empty", {"blank": {}}))
    env.phases(DV, "demo", "copy", "Succeeded")
    env.phases(DV, "demo", "empty", "Succeeded")
    assert sha(image_of(env, "copy")) == sha(IMAGE)
    key = claim_key(env.store, "demo", "empty")
    assert env.rt.disks.image_size(key) == 0
    with open(env.rt.disks.path(key), "rb") as f:
        assert f.read(1 << 20) == b"\0" * (1 << 20)


def test_upload_over_https_beyond_the_api_body_limit_and_admin_read_back(cluster, fresh_namespace):
    ns = fresh_namespace
    dv = {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "big", "namespace": ns},
          "spec": {"source": {"upload": {}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}
    assert cluster.http("POST", f"/apis/cdi.kubevirt.io/v1beta1/namespaces/{ns}/datavolumes", dv).status == 201
    deadline = time.monotonic() + 20
    while cluster.http("GET", f"/apis/cdi.kubevirt.io/v1beta1/namespaces/{ns}/datavolumes/big").json().get(
            "status", {}).get("phase") != "UploadReady":
        assert time.monotonic() < deadline, "big not UploadReady"
        time.sleep(0.05)
    utr = {"apiVersion": "upload.cdi.kubevirt.io/v1beta1", "kind": "UploadTokenRequest",
           "metadata": {"name": "t", "namespace": ns}, "spec": {"pvcName": "big"}}
    token = cluster.http("POST", f"/apis/upload.cdi.kubevirt.io/v1beta1/namespaces/{ns}/uploadtokenrequests",
                         utr).json()["status"]["token"]
    image = os.urandom(1 << 20) * 70  # 70 MiB: more than the 64 MiB an API request body may have
    sent = cluster.http("POST", "/v1beta1/upload", image, user=None, content_type="application/octet-stream",
                        headers={"Authorization": f"Bearer {token}"}, timeout=120)
    assert sent.status == 200, sent
    assert cluster.pvc_sha256(ns, "big") == sha(image)
    head = cluster.http("GET", f"/_admin/pvc-data/{ns}/big")
    assert head.headers["X-Image-Size"] == str(len(image)) and head.headers["X-Volume-Size"] == str(1 << 30)
    missing = cluster.http("GET", f"/_admin/pvc-data/{ns}/nothing")
    assert missing.status == 404


def test_admin_write_is_what_a_guest_writes_to_its_disk(cluster, fresh_namespace):
    ns = fresh_namespace
    dv = {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "disk", "namespace": ns},
          "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "8Mi"}}}}}
    assert cluster.http("POST", f"/apis/cdi.kubevirt.io/v1beta1/namespaces/{ns}/datavolumes", dv).status == 201
    deadline = time.monotonic() + 20
    while cluster.http("GET", f"/apis/cdi.kubevirt.io/v1beta1/namespaces/{ns}/datavolumes/disk").json().get(
            "status", {}).get("phase") != "Succeeded":
        assert time.monotonic() < deadline, "disk not Succeeded"
        time.sleep(0.05)
    data = gzip.compress(os.urandom(1 << 20))  # stored as is: a guest's bytes are not an image to unpack
    assert cluster.write_pvc_data(ns, "disk", data) == len(data)
    assert cluster.pvc_sha256(ns, "disk") == sha(data)
    too_big = cluster.http("PUT", f"/_admin/pvc-data/{ns}/disk", os.urandom(9 << 20),
                           content_type="application/octet-stream")
    assert too_big.status == 413 and b"A larger PVC is required" in too_big.body
    assert cluster.http("PUT", f"/_admin/pvc-data/{ns}/nothing", b"x", content_type="application/octet-stream").status == 404
