"""The OCI image of a VirtualMachineExport (KubeVirt 1.9, alpha feature gate ``OCIExport``), as
pkg/storage/oci and virt-exportserver's oci.go build and serve it.

With the gate on, a VirtualMachine or VirtualMachineSnapshot export's exporter pod gets
``EXPORT_OCI_URI=/export.oci.tar``; the server then computes, before its readiness probe passes,
the sha256 and size of every blob (pass 1, ``Prepare``: the export's ``OCIReady`` condition is
False ``DigestsPending`` meanwhile, then True ``DigestsComputed``), and streams on each GET one tar
in OCI image-layout form (pass 2, ``WriteTar``), in this order:

- ``oci-layout`` (``{"imageLayoutVersion":"1.0.0"}``) and ``index.json`` (one manifest, platform
  ``linux``/<the VM's architecture, default amd64>, annotation ``org.opencontainers.image.created``);
- ``blobs/sha256/<manifest>``: artifactType ``application/vnd.kubevirt.virtualmachine.v1``, config
  ``application/vnd.kubevirt.virtualmachine.config.v1+json`` (the VM without namespace and
  dataVolumeTemplates, its DataVolume volumes turned into persistentVolumeClaim volumes), one layer
  per disk ``application/vnd.kubevirt.disk.raw+zstd`` annotated ``io.kubevirt.disk.name`` (the
  exported claim), ``io.kubevirt.disk.size`` (its size as a binary-SI quantity) and
  ``org.opencontainers.image.title`` (``<claim>.raw.zst``);
- the config blob, then each disk as a zstd frame of its bytes.

Tar headers are ustar (mode 0644, mtime 0) ending with two zero blocks, as Go's archive/tar writes
them. The difference from KubeVirt: the zstd frames hold raw (stored) blocks instead of compressed
ones: still valid zstd that any decoder reads, with the same layout and digests semantics, and no
compression library needed here.
"""
from __future__ import annotations

import copy
import hashlib
import json
import tarfile
import threading
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Optional

OCI_URI = "/export.oci.tar"
OCI_ENV = "EXPORT_OCI_URI"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
ARTIFACT_VM = "application/vnd.kubevirt.virtualmachine.v1"
MEDIA_VM_CONFIG = "application/vnd.kubevirt.virtualmachine.config.v1+json"
MEDIA_DISK = "application/vnd.kubevirt.disk.raw+zstd"
READ_BLOCK = 1024 * 1024
ZSTD_BLOCK = 128 * 1024  # Block_Maximum_Size
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
TAR_BLOCK = 512


def vm_config(vm: dict) -> bytes:
    """prepareVMConfig: the VM as JSON, no namespace, no dataVolumeTemplates, DataVolume volumes as claims."""
    meta = vm.get("metadata") or {}
    out: dict = {"kind": "VirtualMachine", "apiVersion": "kubevirt.io/v1",
                 "metadata": {k: copy.deepcopy(meta[k]) for k in ("name", "labels", "annotations") if meta.get(k)},
                 "spec": copy.deepcopy(vm.get("spec") or {})}
    out["spec"].pop("dataVolumeTemplates", None)
    template_spec = ((out["spec"].get("template") or {}).get("spec")) or {}
    for index, volume in enumerate(template_spec.get("volumes") or []):
        if volume.get("dataVolume"):
            template_spec["volumes"][index] = {"name": volume["name"],
                                               "persistentVolumeClaim": {"claimName": volume["dataVolume"]["name"]}}
    return _go_json(out)


def architecture_of(vm: dict) -> str:
    return ((((vm.get("spec") or {}).get("template") or {}).get("spec") or {}).get("architecture")) or "amd64"


def binary_quantity(n: int) -> str:
    """resource.NewQuantity(n, BinarySI).String(): the largest exact Ki/Mi/Gi/... suffix, else the number."""
    for power, suffix in ((6, "Ei"), (5, "Pi"), (4, "Ti"), (3, "Gi"), (2, "Mi"), (1, "Ki")):
        if n and n % (1024 ** power) == 0:
            return "%d%s" % (n // 1024 ** power, suffix)
    return str(n)


def zstd_frame_size(n: int) -> int:
    return 14 + 3 * max(1, -(-n // ZSTD_BLOCK)) + n


def zstd_frames(chunks: Iterator[bytes], total: int) -> Iterator[bytes]:
    """One zstd frame of raw blocks: magic, a header with the content size (8 bytes) and a 128 KiB
    window, then 3-byte block headers (last flag, type 0 = raw, size) each before its bytes."""
    yield ZSTD_MAGIC + bytes([0xC0, 0x38]) + total.to_bytes(8, "little")
    pending = b""
    for chunk in chunks:
        pending = pending + chunk if pending else chunk
        out, start = [], 0
        while len(pending) - start > ZSTD_BLOCK:  # keep the last block's bytes for its flag
            out.append((ZSTD_BLOCK << 3).to_bytes(3, "little") + pending[start:start + ZSTD_BLOCK])
            start += ZSTD_BLOCK
        pending = pending[start:]
        if out:
            yield b"".join(out)
    yield ((len(pending) << 3) | 1).to_bytes(3, "little") + pending


def _go_json(obj: Any) -> bytes:
    """encoding/json's output: compact, HTML characters escaped."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


def _descriptor(media_type: str, data: bytes) -> dict:
    return {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(data).hexdigest(), "size": len(data)}


def _blob_path(digest: str) -> str:
    return "blobs/sha256/" + digest.split(":", 1)[1]


def _tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    return info.tobuf(tarfile.PAX_FORMAT if size >= 8 ** 11 else tarfile.USTAR_FORMAT, "utf-8", "surrogateescape")


def _padding(size: int) -> bytes:
    return b"\0" * (-size % TAR_BLOCK)


class OciImage:
    """The two passes for one exporter pod: ``prepare`` (digests; run in a thread), then ``stream``."""

    def __init__(self, config_json: bytes, architecture: str, disks: list[tuple[str, str, int]]) -> None:
        self.config_json, self.architecture = config_json, architecture
        self.disks = disks  # (claim, file path, bytes served)
        self.created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.ready = threading.Event()
        self.error: Optional[str] = None
        self._blobs: list[tuple[str, bytes]] = []  # (tar name, data) of the small files
        self._layers: list[dict] = []

    def prepare(self, done: Callable[[], None]) -> None:
        try:
            layers = [self._disk_descriptor(claim, path, size) for claim, path, size in self.disks]
            config = _descriptor(MEDIA_VM_CONFIG, self.config_json)
            manifest = _go_json({"schemaVersion": 2, "mediaType": MEDIA_MANIFEST, "artifactType": ARTIFACT_VM,
                                 "config": config, "layers": layers})
            manifest_desc = _descriptor(MEDIA_MANIFEST, manifest)
            index = _go_json({"schemaVersion": 2, "mediaType": MEDIA_INDEX, "artifactType": ARTIFACT_VM,
                              "manifests": [dict(manifest_desc, platform={"architecture": self.architecture,
                                                                          "os": "linux"})],
                              "annotations": {"org.opencontainers.image.created": self.created}})
            self._blobs = [("oci-layout", _go_json({"imageLayoutVersion": "1.0.0"})), ("index.json", index),
                           (_blob_path(manifest_desc["digest"]), manifest),
                           (_blob_path(config["digest"]), self.config_json)]
            self._layers = layers
            self.ready.set()
        except OSError as exc:  # "OCI Pass 1 failed": the pod never gets ready
            self.error = str(exc)
        done()

    def _disk_descriptor(self, claim: str, path: str, size: int) -> dict:
        digest = hashlib.sha256()
        for piece in zstd_frames(_read(path, size), size):
            digest.update(piece)
        return {"mediaType": MEDIA_DISK, "digest": "sha256:" + digest.hexdigest(), "size": zstd_frame_size(size),
                "annotations": {"io.kubevirt.disk.name": claim, "io.kubevirt.disk.size": binary_quantity(size),
                                "org.opencontainers.image.title": "%s.raw.zst" % claim}}

    def size(self) -> int:
        total = sum(len(_tar_header(name, len(data))) + len(data) + len(_padding(len(data))) for name, data in self._blobs)
        for layer in self._layers:
            total += len(_tar_header(_blob_path(layer["digest"]), layer["size"])) + layer["size"] + len(_padding(layer["size"]))
        return total + 2 * TAR_BLOCK

    def stream(self, count: Callable[[int], None]) -> Iterator[bytes]:
        for name, data in self._blobs:
            yield _tar_header(name, len(data)) + data + _padding(len(data))
        for disk, layer in zip(self.disks, self._layers):
            path, size = disk[1], disk[2]
            yield _tar_header(_blob_path(layer["digest"]), layer["size"])
            for piece in zstd_frames(_read(path, size, count), size):
                yield piece
            yield _padding(layer["size"])
        yield b"\0" * (2 * TAR_BLOCK)


def _read(path: str, size: int, count: Optional[Callable[[int], None]] = None) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        remaining = size
        while remaining > 0:
            block = handle.read(min(READ_BLOCK, remaining))
            if not block:
                return
            remaining -= len(block)
            if count is not None:
                count(len(block))
            yield block
