"""The export endpoints of a VirtualMachineExport, as virt-exportproxy + virt-exportserver answer them.

Served on this API server's address under the external link base
``/api/export.kubevirt.io/v1beta1/namespaces/<ns>/virtualmachineexports/<name>``:

- the proxy: 404 ``404 page not found`` for an unknown export, 502 (empty, the reverse proxy's answer)
  while the export is not Ready (no exporter pod behind its service);
- the exporter's mux: an unknown path is 404 ``404 page not found`` (before any token check); every
  known path is wrapped in tokenChecker: the token from the query parameter or the header
  ``x-kubevirt-export-token`` must equal the ``token`` key of the Secret in ``status.tokenSecretRef``,
  else 401 with an empty body;
- ``volumes/<vol>/disk.img``: http.ServeContent on the volume's file (GET and HEAD, Accept-Ranges,
  one ``Range`` -> 206 with Content-Range, an unsatisfiable one -> 416 ``invalid range: failed to
  overlap``); ``volumes/<vol>/disk.img.gz``: GET only (else 400), gzip made on the fly from the same
  bytes, chunked; ``{internal,external}/manifests/all`` (the VM and its DataVolumes importing from the
  gzip links, plus the CA ConfigMap) and ``.../manifests/secret`` (the ``header-secret-<export>``
  Secret with ``x-kubevirt-export-token:<token>``), JSON List or YAML for ``Accept: application/yaml``;
- ``export.oci.tar`` (KubeVirt 1.9, feature gate ``OCIExport``, VM and snapshot sources, only when the
  exporter pod has ``EXPORT_OCI_URI``; the image itself is built in vm_export_oci.py): GET only (else 405
  with ``Allow: GET``), 503 ``OCI export not ready`` before the digests are computed, then 200
  ``application/x-tar`` with Content-Length and ``Content-Disposition: attachment; filename="export.oci.tar"``,
  streamed. Like KubeVirt's handler it ignores ``Range`` (the whole tar again, 200) and has no HEAD.
The image served is the bytes written into the volume (``disks.image_size``), the whole volume when
nothing was written (a blank disk). Multi-range requests are answered with the whole file.
"""
from __future__ import annotations

import base64
import copy
import hmac
import json
import re
import threading
import zlib
from typing import Any, Callable, Iterator, Optional

from .disks import CHUNK, claim_key
from .keys import POD, SECRET, VM
from .runtime import Runtime
from .vm_export_oci import OCI_ENV, OCI_URI, OciImage, architecture_of, vm_config

VMEXPORT = ("export.kubevirt.io", "virtualmachineexports")
TOKEN_HEADER = "x-kubevirt-export-token"
_PATH = re.compile(r"^/api/export\.kubevirt\.io/v1beta1/namespaces/([^/]+)/virtualmachineexports/([^/]+)(/.*)?$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_PLAIN = {"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"}
_NOT_FOUND = (404, dict(_PLAIN), b"404 page not found\n")


class ExportServer:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.served: dict[tuple[str, str], int] = {}  # (namespace, export) -> volume bytes sent
        self._images: dict[tuple[str, str], tuple[str, OciImage]] = {}  # (namespace, export) -> (pod uid, image)
        self._lock = threading.Lock()

    def handle(self, method: str, path: str, query: dict, headers: dict, body: Any) -> tuple[int, dict, Any]:
        match = _PATH.match(path.split("?", 1)[0])
        if not match:
            return _NOT_FOUND
        namespace, name, rest = match.group(1), match.group(2), match.group(3) or "/"
        export = self.rt.store.get(VMEXPORT, namespace, name)
        if export is None:
            return _NOT_FOUND
        if (export.get("status") or {}).get("phase") != "Ready":
            return 502, {}, b""
        volumes = {v["name"]: v for v in (((export["status"].get("links") or {}).get("external") or {})
                                          .get("volumes") or [])}
        target = _route(rest, volumes, export, self.exporter_pod(export) is not None)
        if target is None:
            return _NOT_FOUND
        if not self._authorized(export, query, headers):
            return 401, {}, b""
        kind, arg = target
        if kind == "oci":
            return self._oci(method, export)
        if kind in ("manifests", "secret"):
            if method != "GET":
                return 400, {}, b""
            return self._manifests(export, kind, arg, headers)
        claim = _claim_for(self.rt, export, arg)
        key = claim_key(self.rt.store, namespace, claim) if claim else None
        if key is None:
            return 500, {}, b""
        if kind == "gzip":
            if method != "GET":
                return 400, {}, b""
            return 200, {"Content-Type": "application/octet-stream"}, self._gzip(namespace, name, key)
        return self._raw(method, headers, namespace, name, key)

    # -- auth ----------------------------------------------------------------------------------
    def _authorized(self, export: dict, query: dict, headers: dict) -> bool:
        secret_name = (export.get("status") or {}).get("tokenSecretRef")
        secret = self.rt.store.get(SECRET, export["metadata"]["namespace"], secret_name) if secret_name else None
        if secret is None:
            return False
        expected = _secret_token(secret)
        given = [(query.get(TOKEN_HEADER) or [""])[0],
                 next((v for k, v in headers.items() if k.lower() == TOKEN_HEADER), "")]
        return any(tok and hmac.compare_digest(tok.encode(), expected.encode()) for tok in given)

    # -- volumes -------------------------------------------------------------------------------
    def _size(self, key: str) -> int:
        return self.rt.disks.image_size(key) or self.rt.disks.size(key)

    def _raw(self, method: str, headers: dict, namespace: str, name: str, key: str) -> tuple[int, dict, Any]:
        size = self._size(key)
        wanted = next((v for k, v in headers.items() if k.lower() == "range"), "")
        start, end, status = 0, size, 200
        out = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
        if wanted and "," not in wanted:
            parsed = _parse_range(wanted, size)
            if parsed is None:
                return 416, dict(_PLAIN, **{"Content-Range": f"bytes */{size}"}), b"invalid range: failed to overlap\n"
            start, end, status = parsed[0], parsed[1], 206
            out["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        out["Content-Length"] = str(end - start)
        if method == "HEAD":
            return status, out, iter(())
        if method != "GET":
            return 405, {}, b""
        return status, out, self._read(namespace, name, key, start, end)

    def _read(self, namespace: str, name: str, key: str, start: int, end: int) -> Iterator[bytes]:
        with open(self.rt.disks.path(key), "rb") as handle:
            handle.seek(start)
            remaining = end - start
            while remaining > 0:
                block = handle.read(min(CHUNK, remaining))
                if not block:
                    return
                remaining -= len(block)
                self.served[(namespace, name)] = self.served.get((namespace, name), 0) + len(block)
                yield block

    def _gzip(self, namespace: str, name: str, key: str) -> Iterator[bytes]:
        packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        for block in self._read(namespace, name, key, 0, self._size(key)):
            out = packer.compress(block)
            if out:
                yield out
        yield packer.flush()

    # -- the OCI image -------------------------------------------------------------------------
    def exporter_pod(self, export: dict) -> Optional[dict]:
        """The export's exporter pod when it serves the OCI image (has EXPORT_OCI_URI), else None."""
        from .vm_exports import export_resource_name
        pod = self.rt.store.get(POD, export["metadata"]["namespace"], export_resource_name(export["metadata"]["name"]))
        env = (((pod or {}).get("spec") or {}).get("containers") or [{}])[0].get("env") or []
        return pod if any(e.get("name") == OCI_ENV and e.get("value") == OCI_URI for e in env) else None

    def oci_image(self, export: dict, done: Callable[[], None]) -> Optional[OciImage]:
        """The image of the export's exporter pod; the first call starts its digests (pass 1) in a
        thread that calls ``done`` when over. None when the pod does not serve one."""
        pod = self.exporter_pod(export)
        if pod is None:
            return None
        namespace, name = export["metadata"]["namespace"], export["metadata"]["name"]
        uid = pod["metadata"].get("uid", "")
        with self._lock:
            held = self._images.get((namespace, name))
            if held is not None and held[0] == uid:
                return held[1]
            vm = self.rt.store.get(VM, namespace, export["spec"]["source"].get("name", "")) \
                if export["spec"]["source"].get("kind") == "VirtualMachine" else _snapshot_vm(self.rt, export)
            disks = []
            for _volume, claim in _claims(self.rt, export):
                key = claim_key(self.rt.store, namespace, claim)
                if key is not None:
                    disks.append((claim, self.rt.disks.path(key), self._size(key)))
            image = OciImage(vm_config(vm or {"metadata": {"name": name}}), architecture_of(vm or {}), sorted(disks))
            self._images[(namespace, name)] = (uid, image)
        threading.Thread(target=image.prepare, args=(done,), name="oci-digests-" + name, daemon=True).start()
        return image

    def forget(self, namespace: str, name: str) -> None:
        with self._lock:
            self._images.pop((namespace, name), None)

    def _oci(self, method: str, export: dict) -> tuple[int, dict, Any]:
        if method != "GET":
            return 405, {"Allow": "GET"}, b""
        namespace, name = export["metadata"]["namespace"], export["metadata"]["name"]
        with self._lock:
            held = self._images.get((namespace, name))
        image = held[1] if held is not None else None
        if image is None or not image.ready.is_set():
            return 503, dict(_PLAIN), b"OCI export not ready\n"

        def count(n: int) -> None:
            self.served[(namespace, name)] = self.served.get((namespace, name), 0) + n
        return 200, {"Content-Type": "application/x-tar", "Content-Disposition": 'attachment; filename="export.oci.tar"',
                     "Content-Length": str(image.size())}, image.stream(count)

    # -- manifests -----------------------------------------------------------------------------
    def _manifests(self, export: dict, kind: str, link_kind: str, headers: dict) -> tuple[int, dict, Any]:
        namespace, name = export["metadata"]["namespace"], export["metadata"]["name"]
        token = _secret_token(self.rt.store.get(SECRET, namespace, export["status"]["tokenSecretRef"]) or {})
        header_secret = {"apiVersion": "v1", "kind": "Secret",
                         "metadata": {"name": f"header-secret-{name}", "namespace": namespace},
                         "stringData": {"token": f"{TOKEN_HEADER}:{token}"}}
        items = [header_secret] if kind == "secret" else self._vm_manifests(export, link_kind)
        accept = next((v for k, v in headers.items() if k.lower() == "accept"), "")
        if accept == "application/yaml":
            import yaml  # only for this answer
            data = "".join(yaml.safe_dump(item, sort_keys=False) + "---\n" for item in items).encode()
            return 200, {"Content-Type": "application/yaml"}, data
        body = json.dumps({"kind": "List", "apiVersion": "v1", "metadata": {}, "items": items}, indent=4).encode()
        return 200, {"Content-Type": "application/json"}, body

    def _vm_manifests(self, export: dict, link_kind: str) -> list[dict]:
        namespace, name = export["metadata"]["namespace"], export["metadata"]["name"]
        link = (export["status"].get("links") or {}).get(link_kind) or {}
        cm_name = f"export-ca-cm-{name}"
        items: list[dict] = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": cm_name},
                              "data": {"ca.pem": link.get("cert", "")}}]
        source = export["spec"]["source"]
        vm = self.rt.store.get(VM, namespace, source.get("name", "")) if source.get("kind") == "VirtualMachine" \
            else _snapshot_vm(self.rt, export)
        if vm is not None:
            clean = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                     "metadata": {k: copy.deepcopy(v) for k, v in vm["metadata"].items()
                                  if k in ("name", "labels", "annotations")},
                     "spec": copy.deepcopy(vm.get("spec") or {})}
            clean["spec"].pop("dataVolumeTemplates", None)
            items.append(clean)
        for volume in link.get("volumes") or []:
            gz = next((f["url"] for f in volume.get("formats") or [] if f.get("format") == "gzip"), "")
            items.append({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
                          "metadata": {"name": volume["name"]},
                          "spec": {"source": {"http": {"url": gz, "certConfigMap": cm_name,
                                                       "secretExtraHeaders": [f"header-secret-{name}"]}},
                                   "storage": {}}})
        return items


def _route(rest: str, volumes: dict, export: dict, oci: bool) -> Optional[tuple[str, str]]:
    if oci and rest == OCI_URI:
        return "oci", ""
    parts = rest.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "volumes" and parts[1] in volumes:
        if parts[2] == "disk.img":
            return "raw", parts[1]
        if parts[2] == "disk.img.gz":
            return "gzip", parts[1]
    with_manifests = export["spec"].get("source", {}).get("kind") != "PersistentVolumeClaim"
    if with_manifests and len(parts) == 3 and parts[0] in ("internal", "external") and parts[1] == "manifests":
        if parts[2] == "all":
            return "manifests", parts[0]
        if parts[2] == "secret":
            return "secret", parts[0]
    return None


def _claims(rt: Runtime, export: dict) -> list[tuple[str, str]]:
    from .vm_exports import export_volumes
    return export_volumes(rt, export)


def _claim_for(rt: Runtime, export: dict, volume: str) -> Optional[str]:
    return next((claim for vol, claim in _claims(rt, export) if vol == volume), None)


def _snapshot_vm(rt: Runtime, export: dict) -> Optional[dict]:
    from .vm_exports import VMSNAPSHOT, VMSNAPSHOTCONTENT
    snap = rt.store.get(VMSNAPSHOT, export["metadata"]["namespace"], export["spec"]["source"].get("name", ""))
    content_name = ((snap or {}).get("status") or {}).get("virtualMachineSnapshotContentName")
    content = rt.store.get(VMSNAPSHOTCONTENT, export["metadata"]["namespace"], content_name) if content_name else None
    return (((content or {}).get("spec") or {}).get("source") or {}).get("virtualMachine")


def _secret_token(secret: dict) -> str:
    raw = (secret.get("data") or {}).get("token")
    if raw:
        try:
            return base64.b64decode(raw).decode()
        except ValueError:
            return ""
    return (secret.get("stringData") or {}).get("token", "")


def _parse_range(text: str, size: int) -> Optional[tuple[int, int]]:
    """One http range as Go's parseRange reads it: [start, end) or None when it does not overlap."""
    match = _RANGE.match(text.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    if not match.group(1):  # suffix: the last N bytes
        length = min(int(match.group(2)), size)
        return (size - length, size) if length > 0 else None
    start = int(match.group(1))
    if start >= size:
        return None
    end = min(int(match.group(2)) + 1, size) if match.group(2) else size
    return (start, end) if end > start else None
