"""UploadTokenRequests and the upload proxy: in-process answers, then end to end over HTTPS."""
from __future__ import annotations

import base64
import json
import time

from tests.cluster.tests.harness import DV, PVC, UTR
from tests.cluster.tests.storage_env import datavolume

CDICONFIG_PATH = "/apis/cdi.kubevirt.io/v1beta1/cdiconfigs/config"


def token_for(env, pvc: str, name: str = "token-for-up") -> str:
    utr = env.create(UTR, {"metadata": {"name": name, "namespace": "demo"}, "spec": {"pvcName": pvc}})
    return utr["status"]["token"]


def upload_dv(env, name: str = "up", **storage) -> None:
    env.create(DV, datavolume(name, {"upload": {}}, storage=storage or None))


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def form(data: bytes, field: str = "file") -> tuple[dict, bytes]:
    boundary = "----virtkubevirtboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"disk.img\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return {"Content-Type": f"multipart/form-data; boundary={boundary}"}, body


def test_token_request_is_answered_and_not_kept(env):
    token = token_for(env, "up")
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["name"] == "up" and claims["namespace"] == "demo" and claims["operation"] == "Upload"
    assert claims["iss"] == "cdi-apiserver" and claims["exp"] - claims["iat"] == 300
    env.wait(lambda: env.get(UTR, "demo", "token-for-up") is None, what="token request not stored")
    assert token_for(env, "up") and env.registry.get(UTR).verbs == ("create",)


def test_upload_datavolume_phases_and_sync_upload(env):
    upload_dv(env)
    phases = env.phases(DV, "demo", "up", "UploadReady")
    assert [p for p in phases if p] == ["Pending", "UploadScheduled", "UploadReady"]
    status, _, body = env.upload.handle("POST", "/v1beta1/upload", {}, bearer(token_for(env, "up")), b"\x51" * 4096)
    assert (status, body) == (200, b"")
    env.phases(DV, "demo", "up", "Succeeded")
    assert env.upload.received[("demo", "up")] == 4096
    dv = env.get(DV, "demo", "up")
    assert dv["status"]["progress"] == "N/A"
    messages = {e["reason"]: e["message"] for e in env.events("demo", "up") if e["involvedObject"]["kind"] == "DataVolume"}
    assert messages["UploadScheduled"] == "Upload into up scheduled"
    assert messages["UploadReady"] == "Upload into up ready"
    assert messages["UploadSucceeded"] == "Successfully uploaded into up"
    running = next(c for c in dv["status"]["conditions"] if c["type"] == "Running")
    assert (running["reason"], running["message"]) == ("Completed", "Upload Complete")
    again = env.upload.handle("POST", "/v1beta1/upload", {}, bearer(token_for(env, "up")), b"x")
    assert again[0] == 503 and again[2] == b"rejecting Upload Request for PVC up that already finished uploading"


def test_form_and_async_uploads(env):
    upload_dv(env, "form")
    upload_dv(env, "async")
    env.phases(DV, "demo", "form", "UploadReady")
    env.phases(DV, "demo", "async", "UploadReady")
    headers, body = form(b"disk-bytes" * 100)
    headers.update(bearer(token_for(env, "form", "t1")))
    assert env.upload.handle("POST", "/v1beta1/upload-form", {}, headers, body)[0] == 200
    assert env.upload.received[("demo", "form")] == 1000
    headers, body = form(b"zzz", field="other")
    headers.update(bearer(token_for(env, "async", "t2")))
    assert env.upload.handle("POST", "/v1beta1/upload-form-async", {}, headers, body)[0] == 400
    assert env.upload.handle("HEAD", "/v1beta1/upload-async", {}, bearer(token_for(env, "async", "t3")), b"")[0] == 200
    assert env.upload.handle("POST", "/v1beta1/upload-async", {}, bearer(token_for(env, "async", "t4")), b"a" * 10)[0] == 200
    env.phases(DV, "demo", "form", "Succeeded")
    env.phases(DV, "demo", "async", "Succeeded")


def test_proxy_rejections(env):
    upload_dv(env)
    env.phases(DV, "demo", "up", "UploadReady")
    good = token_for(env, "up")
    handle = env.upload.handle
    assert handle("POST", "/v1beta1/upload", {}, {}, b"x")[:2] == (400, {})
    assert handle("POST", "/v1beta1/upload", {}, {"Authorization": "Basic abc"}, b"x")[0] == 400
    assert handle("POST", "/v1beta1/upload", {}, bearer(good[:-4] + "AAAA"), b"x")[0] == 401
    expired = env.upload.token("demo", "up", now=time.time() - 400)
    assert handle("POST", "/v1beta1/upload", {}, bearer(expired), b"x")[0] == 401
    assert handle("POST", "/v1beta1/upload", {}, bearer(env.upload.token("demo", "")), b"x")[0] == 400
    assert handle("POST", "/v1beta1/uploadx", {}, bearer(good), b"x")[0] == 404
    assert handle("GET", "/v1beta1/upload", {}, bearer(good), b"")[0] == 404
    assert handle("POST", "/v1beta1/upload", {}, bearer(good), b"")[0] == 500
    missing = handle("POST", "/v1beta1/upload", {}, bearer(env.upload.token("demo", "nope")), b"x")
    assert missing[0] == 503 and missing[2] == b"rejecting Upload Request for PVC nope that doesn't exist"
    env.create(DV, datavolume("imported", {"blank": {}}))
    env.wait(lambda: env.get(PVC, "demo", "imported"))
    not_target = handle("POST", "/v1beta1/upload", {}, bearer(env.upload.token("demo", "imported")), b"x")
    assert not_target[0] == 503 and not_target[2] == b"PVC imported is not an upload target"


def test_proxy_waits_for_the_upload_pod(env):
    upload_dv(env, "later", storageClassName="local-wffc")
    env.phases(DV, "demo", "later", "WaitForFirstConsumer")
    started = time.monotonic()
    status, _, body = env.upload.handle("POST", "/v1beta1/upload", {}, bearer(env.upload.token("demo", "later")), b"x")
    assert (status, body) == (503, b"context deadline exceeded")
    assert time.monotonic() - started >= 10 * env.rt.time_scale


# -- over HTTPS ------------------------------------------------------------------------------------
def _wait_dv(cluster, namespace: str, name: str, phase: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    path = f"/apis/cdi.kubevirt.io/v1beta1/namespaces/{namespace}/datavolumes/{name}"
    while True:
        dv = cluster.http("GET", path).json()
        if (dv.get("status") or {}).get("phase") == phase:
            return dv
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} not {phase}: {dv.get('status')}")
        time.sleep(0.05)


def test_upload_end_to_end_over_https(cluster, fresh_namespace):
    ns = fresh_namespace
    dv = {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "iso", "namespace": ns},
          "spec": {"source": {"upload": {}}, "storage": {"resources": {"requests": {"storage": "2Gi"}}}}}
    assert cluster.http("POST", f"/apis/cdi.kubevirt.io/v1beta1/namespaces/{ns}/datavolumes", dv).status == 201
    _wait_dv(cluster, ns, "iso", "UploadReady")
    utr = {"apiVersion": "upload.cdi.kubevirt.io/v1beta1", "kind": "UploadTokenRequest",
           "metadata": {"name": "token-for-iso", "namespace": ns}, "spec": {"pvcName": "iso"}}
    answer = cluster.http("POST", f"/apis/upload.cdi.kubevirt.io/v1beta1/namespaces/{ns}/uploadtokenrequests", utr)
    assert answer.status in (200, 201), answer
    token = answer.json()["status"]["token"]
    rejected = cluster.http("POST", "/v1beta1/upload", b"data", user=None,
                            headers={"Authorization": "Bearer not-a-token"})
    assert rejected.status == 401
    image = bytes(range(256)) * 4096
    sent = cluster.http("POST", "/v1beta1/upload", image, user=None, content_type="application/octet-stream",
                        headers={"Authorization": f"Bearer {token}"})
    assert sent.status == 200 and sent.body == b""
    done = _wait_dv(cluster, ns, "iso", "Succeeded")
    assert next(c for c in done["status"]["conditions"] if c["type"] == "Ready")["status"] == "True"


def test_cdiconfig_points_at_this_upload_proxy(cluster):
    status = cluster.http("GET", CDICONFIG_PATH).json()["status"]
    deadline = time.monotonic() + 5
    while "uploadProxyURL" not in status and time.monotonic() < deadline:
        time.sleep(0.1)
        status = cluster.http("GET", CDICONFIG_PATH).json()["status"]
    assert status.get("uploadProxyURL") == cluster.url.split("://", 1)[1]


def test_force_bind_makes_the_upload_pod_the_first_consumer(env):
    dv = datavolume("forced", {"upload": {}}, storage={"storageClassName": "local-wffc"})
    dv["metadata"]["annotations"] = {"cdi.kubevirt.io/storage.bind.immediate.requested": "true"}
    env.create(DV, dv)
    env.phases(DV, "demo", "forced", "UploadReady")
    pvc = env.get(PVC, "demo", "forced")
    assert pvc["status"]["phase"] == "Bound"
    assert pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] in ("node01", "node02")
