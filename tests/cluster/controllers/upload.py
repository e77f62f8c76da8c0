"""CDI's upload path: UploadTokenRequests (cdi-apiserver) and the upload proxy (cdi-uploadproxy).

- ``upload.cdi.kubevirt.io/v1beta1`` UploadTokenRequest is served by cdi-apiserver with the only
  verb ``create`` and no storage: the answer echoes the request with ``status.token``, a JWT valid
  5 minutes for (namespace, ``spec.pvcName``). Here a mutating hook mints the token, the type's
  verbs are narrowed to ``create`` and stored copies are removed right away.
- The proxy is served on this API server's address (CDIConfig ``status.uploadProxyURL``) at
  ``/v1beta1/upload``, ``/v1beta1/upload-async``, ``/v1beta1/upload-form``,
  ``/v1beta1/upload-form-async`` (and the v1alpha1 aliases), with uploadproxy.go's answers:
  400 without or with a malformed ``Authorization: Bearer`` header, 401 for an invalid or expired
  token, 503 with the reason while the target is missing, not an upload target, finished, or not
  ready within 10 transitions (``context deadline exceeded``); then as the upload server: 404 for a
  method other than POST, 400 for a form without a ``file`` part, 500 for an empty image or one
  larger than the volume, 200 once the bytes are written — the upload pod then exits and the
  DataVolume becomes Succeeded. The body (raw or the form's ``file`` part) is streamed into the
  volume's file in constant memory, gz / xz decompressed (``disks.ImageSink``).
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import io
import json
import logging
import re
import threading
import time
from typing import Any, Iterator, Optional

from ..api import errors
from ..api.resources import GR, AdmissionRequest
from ..api.store import Event
from . import cdi_render as r
from .cdi_transfer import finish_upload
from .disks import CHUNK, ImageTooLarge, claim_key
from .keys import PVC, UTR
from .runtime import Controller, ObjKey, Runtime

log = logging.getLogger("cluster.upload")

TOKEN_TTL = 300.0  # newUploadTokenGenerator: 5 minutes
TOKEN_LEEWAY = 10.0
ISSUER = "cdi-apiserver"
SYNC_PATHS = ("/v1beta1/upload", "/v1alpha1/upload")
ASYNC_PATHS = ("/v1beta1/upload-async", "/v1alpha1/upload-async")
FORM_PATHS = ("/v1beta1/upload-form", "/v1alpha1/upload-form")
FORM_ASYNC_PATHS = ("/v1beta1/upload-form-async", "/v1alpha1/upload-form-async")
PROXY_PATHS = SYNC_PATHS + ASYNC_PATHS + FORM_PATHS + FORM_ASYNC_PATHS
_BEARER = re.compile(r"(?i)^Bearer\s+([A-Za-z0-9\-\._~\+\/]+)$")
_PLAIN = {"Content-Type": "text/plain; charset=utf-8"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class UploadProxy(Controller):
    name = "upload"
    watches = (UTR,)

    def __init__(self) -> None:
        self.received: dict[tuple[str, str], int] = {}  # (namespace, pvc) -> bytes written
        self._busy: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._key = b""

    def setup(self, rt: Runtime) -> None:
        self.rt = rt
        self._key = rt.service.new_uid().encode()
        try:
            rtype = rt.registry.get(UTR)
            rt.registry.add(dataclasses.replace(rtype, verbs=("create",)))
        except KeyError:
            log.warning("uploadtokenrequests are not served; upload tokens unavailable")
        rt.registry.add_mutating(UTR, self._mint)
        for prefix in ("/v1beta1/upload", "/v1alpha1/upload"):
            rt.registry.add_route(prefix, self.handle)

    # -- UploadTokenRequest --------------------------------------------------------------------
    def _mint(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if request.operation != "CREATE" or new is None:
            return
        namespace = request.namespace or new.get("metadata", {}).get("namespace") or ""
        pvc_name = (new.get("spec") or {}).get("pvcName") or ""
        new["status"] = {"token": self.token(namespace, pvc_name)}
        name = new.get("metadata", {}).get("name")
        if name and not request.dry_run:
            with self.rt.store.lock:  # nothing is kept: a request with the same name must succeed again
                if self.rt.store.get(UTR, namespace, name) is not None:
                    self.rt.service.delete(UTR, namespace, name)

    def token(self, namespace: str, pvc_name: str, now: Optional[float] = None) -> str:
        issued = int(now if now is not None else time.time())
        header = {"alg": "HS256", "typ": "JWT"}
        payload = {"exp": issued + int(TOKEN_TTL), "iat": issued, "iss": ISSUER, "nbf": issued,
                   "operation": "Upload", "name": pvc_name, "namespace": namespace,
                   "resource": {"group": "", "version": "v1", "resource": "persistentvolumeclaims"}}
        signing = f"{_b64(json.dumps(header, separators=(',', ':')).encode())}." \
                  f"{_b64(json.dumps(payload, separators=(',', ':')).encode())}"
        signature = hmac.new(self._key, signing.encode(), hashlib.sha256).digest()
        return f"{signing}.{_b64(signature)}"

    def _validate(self, token: str) -> Optional[dict]:
        try:
            header, payload, signature = token.split(".")
            expected = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64(signature)):
                return None
            claims = json.loads(_unb64(payload))
        except (ValueError, TypeError):
            return None
        now = time.time()
        if claims.get("iss") != ISSUER or now > claims.get("exp", 0) + TOKEN_LEEWAY or \
                now + TOKEN_LEEWAY < claims.get("nbf", 0):
            return None
        return claims

    def keys_for(self, event: Event) -> list[ObjKey]:
        if event.gr == UTR and event.type == "ADDED":
            meta = event.obj["metadata"]
            return [(UTR, meta.get("namespace") or "", meta["name"])]
        return []

    def reconcile(self, rt: Runtime, gr: GR, namespace: str, name: str) -> None:
        if rt.store.get(UTR, namespace, name) is not None:
            try:
                rt.service.delete(UTR, namespace, name)
            except errors.ApiError as exc:
                if exc.code != 404:
                    raise

    # -- the proxy -----------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict, headers: dict, body: Any) -> tuple[int, dict, bytes]:
        path = path.split("?", 1)[0].rstrip("/") or "/"
        if path not in PROXY_PATHS:
            return 404, dict(_PLAIN), b"404 page not found\n"
        if method == "OPTIONS":  # cors.AllowAll answers preflight requests itself
            return 204, {"Access-Control-Allow-Origin": "*",
                         "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, HEAD"}, b""
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if not auth:
            return 400, {}, b""
        match = _BEARER.match(auth.strip())
        if not match:
            return 400, {}, b""
        claims = self._validate(match.group(1))
        if claims is None:
            return 401, {}, b""
        resource = claims.get("resource") or {}
        namespace, pvc_name = claims.get("namespace") or "", claims.get("name") or ""
        if claims.get("operation") != "Upload" or not namespace or not pvc_name or \
                resource.get("resource") != "persistentvolumeclaims":
            return 400, {}, b""
        problem = self._wait_ready(namespace, pvc_name)
        if problem:
            return 503, dict(_PLAIN), problem.encode()
        return self._upload_server(method, path, headers, body, namespace, pvc_name)

    def _wait_ready(self, namespace: str, pvc_name: str) -> str:
        """uploadReady: poll the PVC until the upload pod is ready (10 transitions at most)."""
        deadline = time.monotonic() + max(10 * self.rt.time_scale, 0.2)
        while True:
            pvc = self.rt.store.get(PVC, namespace, pvc_name)
            if pvc is None:
                return f"rejecting Upload Request for PVC {pvc_name} that doesn't exist"
            anns = pvc["metadata"].get("annotations") or {}
            if r.ANN_UPLOAD_REQUEST not in anns:
                return f"PVC {pvc_name} is not an upload target"
            if anns.get(r.ANN_POD_PHASE) == "Succeeded":
                return f"rejecting Upload Request for PVC {pvc_name} that already finished uploading"
            if anns.get(r.ANN_POD_READY) == "true":
                return ""
            if time.monotonic() >= deadline:
                return "context deadline exceeded"
            time.sleep(min(0.05, max(self.rt.time_scale / 2, 0.005)))

    def _upload_server(self, method: str, path: str, headers: dict, body: Any, namespace: str,
                       pvc_name: str) -> tuple[int, dict, bytes]:
        """cdi-uploadserver behind the proxy: one upload at a time, streamed into the volume file
        (decompressing gz / xz), then it exits."""
        is_async = path in ASYNC_PATHS + FORM_ASYNC_PATHS
        if method == "HEAD" and is_async:
            return 200, {}, b""
        if method != "POST":
            return 404, {}, b""
        target = (namespace, pvc_name)
        with self._lock:
            if target in self._busy:
                return 503, {}, b""
            self._busy.add(target)
        try:
            stream = io.BytesIO(body) if isinstance(body, (bytes, bytearray)) else body
            chunks: Optional[Iterator[bytes]] = _chunks(stream)
            if path in FORM_PATHS + FORM_ASYNC_PATHS:
                chunks = _form_file(headers, stream)
                if chunks is None:
                    return 400, {}, b""
            volume = claim_key(self.rt.store, namespace, pvc_name)
            if volume is None:
                return 503, dict(_PLAIN), b"error in upload-proxy: dial tcp: connect: connection refused"
            sink = self.rt.disks.sink(volume)
            ok = False
            try:
                for chunk in chunks:
                    sink.write(chunk)
                ok = sink.received > 0
            except ImageTooLarge as exc:
                return 500, dict(_PLAIN), f"Saving stream failed: {exc}".encode()
            finally:
                sink.close(ok)
            if not ok:
                if is_async:
                    return 500, dict(_PLAIN), (b"Saving stream failed: Unable to transfer source data to target "
                                               b"file: unexpected EOF")
                return 500, {}, b""
            with self._lock:
                self.received[target] = self.received.get(target, 0) + sink.received
            if not finish_upload(self.rt, namespace, pvc_name):
                return 503, dict(_PLAIN), b"error in upload-proxy: dial tcp: connect: connection refused"
            log.info("upload of %d bytes into %s/%s complete", sink.received, namespace, pvc_name)
            return 200, {}, b""
        finally:
            with self._lock:
                self._busy.discard(target)


def _chunks(stream: Any, size: int = CHUNK) -> Iterator[bytes]:
    while True:
        block = stream.read(size)
        if not block:
            return
        yield block


def _form_file(headers: dict, stream: Any) -> Optional[Iterator[bytes]]:
    """The ``file`` part of a multipart/form-data body, streamed (what the upload server reads);
    None when the body is not a form or has no such part."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if "multipart/form-data" not in content_type.lower() or not match:
        return None
    reader = _Buffered(stream)
    delimiter = b"--" + match.group(1).encode()
    if not reader.skip_past(delimiter):
        return None
    while True:
        after = reader.take(2)
        if after == b"--" or not after:
            return None  # the closing delimiter: no file part
        head = reader.until(b"\r\n\r\n", limit=16384)
        if head is None:
            return None
        disposition = next((line for line in head.decode("latin-1").split("\r\n")
                            if line.lower().startswith("content-disposition:")), "")
        if re.search(r';\s*name="?file"?(;|$|\s)', disposition):
            return reader.stream_until(b"\r\n" + delimiter)
        if not reader.skip_past(b"\r\n" + delimiter):
            return None


class _Buffered:
    """A small read-ahead buffer over a stream, for finding multipart delimiters."""

    def __init__(self, stream: Any) -> None:
        self.stream, self.buf = stream, b""

    def _fill(self) -> bool:
        block = self.stream.read(CHUNK)
        self.buf += block
        return bool(block)

    def take(self, n: int) -> bytes:
        while len(self.buf) < n and self._fill():
            pass
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def until(self, marker: bytes, limit: int) -> Optional[bytes]:
        while marker not in self.buf:
            if len(self.buf) > limit or not self._fill():
                return None
        out, _, self.buf = self.buf.partition(marker)
        return out

    def skip_past(self, marker: bytes) -> bool:
        for _ in self.stream_until(marker):
            pass
        return self.found

    def stream_until(self, marker: bytes) -> Iterator[bytes]:
        """Yield the bytes before ``marker`` (consumed too); ``found`` tells whether it came."""
        self.found = False
        while True:
            index = self.buf.find(marker)
            if index >= 0:
                if index:
                    yield self.buf[:index]
                self.buf = self.buf[index + len(marker):]
                self.found = True
                return
            keep = len(marker) - 1
            if len(self.buf) > keep:
                out, self.buf = self.buf[:len(self.buf) - keep], self.buf[len(self.buf) - keep:]
                yield out
            if not self._fill():
                return
