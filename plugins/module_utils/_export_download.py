# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Streamed download of one exported volume to a local file, resumable, checksummed on the way.

The bytes go to ``<dest>.part`` in BLOCK-sized pieces (memory stays constant whatever the disk
size) and the file is renamed to ``dest`` only once complete, so ``dest`` is never a torn file.
A ``.part`` left by an interrupted run is continued with an HTTP Range request (the raw format is
served by Go's http.ServeContent, which honours it); its bytes are hashed first so the sha256 is
that of the whole file. The token goes in the ``x-kubevirt-export-token`` header, never in a URL.
TLS is verified against the export link's ``cert`` (the CA KubeVirt publishes for it).

The OCI image (``export.oci.tar``, KubeVirt >= 1.9) is read as a tar while it is written, in the same
single pass: each blob's sha256 must be the digest it is named by, and index.json -> manifest ->
config and layers must all be there with their sizes. KubeVirt's handler answers a Range with the
whole tar (200), so a ``.part`` is then started over; a server that honours Range is resumed, and
if the resumed image fails the checks (another exporter pod made it), it is fetched again whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import ssl
import tarfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Dict, List, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError

try:
    import urllib3
except ImportError:  # pragma: no cover - reported by the module base via missing_required_lib
    urllib3 = None

BLOCK = 1024 * 1024
# Files of an OCI image kept in memory to read as JSON (oci-layout, index.json, manifest, config).
OCI_SMALL = 4 * BLOCK
OCI_SMALL_TOTAL = 16 * BLOCK
OCI_DISK_NAME = "io.kubevirt.disk.name"
OCI_PEEK = 16 * 1024  # what is read of a served image to compare its manifest digest
TOKEN_HEADER = "x-kubevirt-export-token"
CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 300.0
# A progress line per tenth of the volume: a 200 GiB disk shows its advance without flooding.
PROGRESS_STEPS = 10


@dataclass
class DownloadOutcome:
    dest: str
    url: str
    size: int
    sha256: str
    changed: bool
    resumed_from: int = 0
    transferred: int = 0
    seconds: float = 0.0
    extra: Dict[str, Any] = field(default_factory=dict)

    def as_result(self) -> Dict[str, Any]:
        return dict({"dest": self.dest, "url": self.url, "size": self.size, "sha256": self.sha256,
                     "changed": self.changed, "resumed_from": self.resumed_from, "transferred": self.transferred,
                     "seconds": self.seconds}, **self.extra)


def file_sha256(path: str, limit: Optional[int] = None) -> str:
    return _hash_file(path, hashlib.sha256(), limit).hexdigest()


def _hash_file(path: str, digest: Any, limit: Optional[int] = None) -> Any:
    remaining = os.path.getsize(path) if limit is None else limit
    with open(path, "rb") as handle:
        while remaining > 0:
            block = handle.read(min(BLOCK, remaining))
            if not block:
                break
            digest.update(block)
            remaining -= len(block)
    return digest


def ssl_context(cert: Optional[str], ca_file: Optional[str], verify: bool) -> ssl.SSLContext:
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_file:
        return ssl.create_default_context(cafile=ca_file)
    return ssl.create_default_context(cadata=cert) if cert else ssl.create_default_context()


class Downloader:
    """One pool per task; ``observe(state)`` receives progress lines (``35% of 2.0 GiB``)."""

    def __init__(self, token: str, context: ssl.SSLContext, user_agent: str,
                 observe: Optional[Callable[[str], None]] = None) -> None:
        self._headers = {TOKEN_HEADER: token, "User-Agent": user_agent}
        pool_args: Dict[str, Any] = {"ssl_context": context, "retries": False}
        if context.verify_mode == ssl.CERT_NONE:
            pool_args.update(cert_reqs=ssl.CERT_NONE, assert_hostname=False)
        self._pool = urllib3.PoolManager(**pool_args)
        self._observe = observe or (lambda state: None)

    def _request(self, method: str, url: str, headers: Optional[Dict[str, str]] = None) -> Any:
        try:
            return self._pool.request(method, url, headers=dict(self._headers, **(headers or {})),
                                      preload_content=False, redirect=False,
                                      timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT))
        except urllib3.exceptions.HTTPError as exc:
            raise KubeApiError("download: cannot reach the export server at %s: %s (set proxy_url to the address of "
                               "virt-exportproxy when its Route or Ingress is not reachable from here)"
                               % (url, " ".join(str(exc).split())), reason="ExportUnreachable") from None

    def remote_size(self, url: str) -> Optional[int]:
        """Content-Length of the raw image (HEAD); None when the server does not tell."""
        response = self._request("HEAD", url)
        try:
            _check(response, url)
            length = response.headers.get("Content-Length")
            return int(length) if length is not None else None
        finally:
            response.release_conn()

    def oci_manifest_digest(self, url: str) -> Optional[str]:
        """The manifest digest of the image served now, from index.json at the start of the tar (KubeVirt
        writes oci-layout and index.json first): a few KiB are read, then the connection is closed.
        None when index.json does not come before the blobs."""
        response = self._request("GET", url)
        try:
            _check(response, url)
            with tarfile.open(fileobj=response, mode="r|", bufsize=OCI_PEEK) as tar:
                for member in tar:
                    if member.name.startswith("blobs/"):
                        return None
                    content = tar.extractfile(member) if member.name == "index.json" else None
                    if content is not None:
                        manifests = json.loads(content.read(OCI_SMALL).decode("utf-8")).get("manifests") or [{}]
                        return manifests[0].get("digest")
        except (tarfile.TarError, EOFError, ValueError, AttributeError) as exc:
            raise _invalid(url, "its index.json cannot be read: %s" % exc) from None
        finally:
            response.close()
            response.release_conn()
        return None

    def fetch(self, url: str, dest: str, resumable: bool, oci: bool = False) -> DownloadOutcome:
        """``oci``: the body is an OCI image layout tar, checked on the way (``extra["image"]``)."""
        part = dest + ".part"
        offset = os.path.getsize(part) if resumable and os.path.isfile(part) else 0
        headers = {"Range": "bytes=%d-" % offset} if offset else {}
        started = time.monotonic()
        response = self._request("GET", url, headers)
        image: Optional[Dict[str, Any]] = None
        try:
            if response.status == 416 and offset:  # the .part already holds every byte
                response.drain_conn()
                digest, image = (oci_file(part) if oci else (file_sha256(part), None))
                os.replace(part, dest)
                return DownloadOutcome(dest, url, offset, digest, True, resumed_from=offset,
                                       extra={"image": image} if oci else {})
            _check(response, url)
            if response.status != 206:
                offset = 0  # the server sent the whole file: start over
            total = _total(response, offset)
            if oci:
                written, digest, image = self._stream_oci(response, part, offset, total)
            else:
                digest = _hash_file(part, hashlib.sha256(), offset) if offset else hashlib.sha256()
                written = self._stream(response, part, offset, total, digest)
        except KubeApiError as exc:
            if exc.reason != "OciImageInvalid":
                raise
            os.unlink(part)
            if not offset:
                raise
            # the bytes resumed from were of another image (another exporter pod made it): fetch it whole
            return self.fetch(url, dest, resumable=False, oci=True)
        finally:
            response.release_conn()
        if total is not None and offset + written != total:
            raise KubeApiError("download: the export server sent %d of %d bytes of %s; run the task again to resume"
                               % (offset + written, total, url), reason="DownloadIncomplete")
        os.replace(part, dest)
        return DownloadOutcome(dest, url, offset + written, digest.hexdigest(), True, resumed_from=offset,
                               transferred=written, seconds=round(time.monotonic() - started, 3),
                               extra={"image": image} if oci else {})

    def _stream_oci(self, response: Any, part: str, offset: int, total: Optional[int]) -> Tuple[int, Any, Dict[str, Any]]:
        """Write the tar to ``part`` (after the ``offset`` bytes it has) while reading it as an OCI image."""
        digest, shown = hashlib.sha256(), [-1]

        def seen(count: int) -> None:
            if total:
                step = count * PROGRESS_STEPS // total
                if step != shown[0]:
                    shown[0] = step
                    self._observe("%d%% of %s" % (step * 100 // PROGRESS_STEPS, _size(total)))

        with _open_part(part, offset) as handle, open(part, "rb") as head:
            reader = _Tee([(_limited(head, offset), False), (response.read, True)], handle, digest, seen)
            try:
                image = _inspect(reader, part)
            except urllib3.exceptions.HTTPError as exc:
                handle.flush()
                raise KubeApiError("download: the transfer of %s broke after %d bytes: %s; the bytes are kept in %s "
                                   "and the next run resumes from there" % (response.geturl() or "the image", reader.seen,
                                                                            exc, part),
                                   reason="DownloadInterrupted") from None
        return reader.written, digest, image

    def _stream(self, response: Any, part: str, offset: int, total: Optional[int], digest: Any) -> int:
        written, shown = 0, -1
        hasher = _Overlapped(digest)
        with _open_part(part, offset) as handle:
            try:
                for block in response.stream(BLOCK):
                    handle.write(block)
                    hasher.update(block)
                    written += len(block)
                    if total:
                        step = (offset + written) * PROGRESS_STEPS // total
                        if step != shown:
                            shown = step
                            self._observe("%d%% of %s" % (step * 100 // PROGRESS_STEPS, _size(total)))
            except urllib3.exceptions.HTTPError as exc:
                handle.flush()
                where = response.geturl() or "the volume"
                raise KubeApiError("download: the transfer of %s broke after %d bytes: %s; the bytes are kept in %s "
                                   "and the next run resumes from there" % (where, offset + written, exc, part),
                                   reason="DownloadInterrupted") from None
            finally:
                hasher.close()
        return written


class _Overlapped:
    """Feeds a hashlib object from a second thread, so the sha256 of one block is computed while the
    next one arrives (hashlib and socket reads both release the GIL on large buffers); the queue bound
    keeps memory constant."""

    def __init__(self, digest: Any, depth: int = 4) -> None:
        self._queue: "queue.Queue[Optional[bytes]]" = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._run, args=(digest,), daemon=True)
        self._thread.start()

    def _run(self, digest: Any) -> None:
        while True:
            block = self._queue.get()
            if block is None:
                return
            digest.update(block)

    def update(self, block: bytes) -> None:
        self._queue.put(block)

    def close(self) -> None:
        """Wait until every queued block is hashed (the digest is then complete)."""
        self._queue.put(None)
        self._thread.join()


def _open_part(part: str, offset: int) -> BinaryIO:
    """``part`` for writing after its first ``offset`` bytes (mode 0600 when made). A fresh one is opened
    with O_TRUNC rather than truncated after: writes to it measured twice as fast on a VM's ext4."""
    if not offset:
        return os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
    handle = os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT, 0o600), "r+b")
    handle.seek(offset)
    handle.truncate()
    return handle


class _Tee:
    """A file object for tarfile: the bytes of ``sources`` in turn (``(read, write)`` pairs), each
    hashed, and written to ``sink`` when its ``write`` is set."""

    def __init__(self, sources: List[Tuple[Callable[[int], bytes], bool]], sink: Optional[BinaryIO], digest: Any,
                 seen: Callable[[int], None]) -> None:
        self._sources, self._sink, self._digest, self._seen = list(sources), sink, digest, seen
        self.seen = self.written = 0

    def read(self, size: int = -1) -> bytes:
        while self._sources:
            read, write = self._sources[0]
            block = read(size if size and size > 0 else BLOCK)
            if block:
                self._digest.update(block)
                if write and self._sink is not None:
                    self._sink.write(block)
                    self.written += len(block)
                self.seen += len(block)
                self._seen(self.seen)
                return block
            self._sources.pop(0)
        return b""

    def drain(self) -> None:
        while self.read(BLOCK):
            pass


def _limited(handle: BinaryIO, limit: int) -> Callable[[int], bytes]:
    left = [limit]

    def read(size: int) -> bytes:
        block = handle.read(min(size, left[0])) if left[0] > 0 else b""
        left[0] -= len(block)
        return block
    return read


def oci_file(path: str) -> Tuple[str, Dict[str, Any]]:
    """sha256 and image (manifest digest, config, layers) of an OCI image layout tar on disk, in one read."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        image = _inspect(_Tee([(handle.read, False)], None, digest, lambda count: None), path)
    return digest.hexdigest(), image


def _inspect(reader: _Tee, where: str) -> Dict[str, Any]:
    """Read the tar from ``reader`` to its end; the image it holds, or KubeApiError OciImageInvalid."""
    kept: Dict[str, bytes] = {}
    blobs: Dict[str, Tuple[int, bool]] = {}  # digest -> (size, content matches)
    budget = OCI_SMALL_TOTAL
    try:
        with tarfile.open(fileobj=reader, mode="r|", bufsize=BLOCK) as tar:
            for member in tar:
                if not member.isreg():
                    continue
                keep = member.size <= min(OCI_SMALL, budget)
                data, digest, got = [], hashlib.sha256(), 0
                content = tar.extractfile(member)
                block = content.read(BLOCK) if content else b""
                while block:
                    digest.update(block)
                    got += len(block)
                    if keep:
                        data.append(block)
                    block = content.read(BLOCK) if content else b""
                if got != member.size:
                    raise _invalid(where, "the tar ends inside %s (%d of %d bytes)" % (member.name, got, member.size))
                if keep:
                    kept[member.name] = b"".join(data)
                    budget -= member.size
                if member.name.startswith("blobs/sha256/"):
                    name = member.name[len("blobs/sha256/"):]
                    blobs["sha256:" + name] = (member.size, digest.hexdigest() == name)
        reader.drain()
    except (tarfile.TarError, EOFError) as exc:
        raise _invalid(where, "not a whole tar: %s" % exc) from None
    return _describe(kept, blobs, where)


def _describe(kept: Dict[str, bytes], blobs: Dict[str, Tuple[int, bool]], where: str) -> Dict[str, Any]:
    bad = sorted(d for d, (size, ok) in blobs.items() if not ok)
    if bad:
        raise _invalid(where, "blob %s does not have the sha256 it is named by" % bad[0])
    index = _json(kept, "index.json", where)
    if "oci-layout" not in kept or not (index.get("manifests") or []):
        raise _invalid(where, "no oci-layout file, or no manifest in index.json")
    manifest_desc = index["manifests"][0]
    manifest = _json(kept, "blobs/sha256/" + str(manifest_desc.get("digest", "")).split(":", 1)[-1], where)
    for desc in [manifest_desc, manifest.get("config") or {}] + list(manifest.get("layers") or []):
        if blobs.get(desc.get("digest", ""), (None,))[0] != desc.get("size"):
            raise _invalid(where, "blob %s (%s bytes) is missing or of another size" % (desc.get("digest"), desc.get("size")))
    return {"manifest_digest": manifest_desc["digest"], "artifact_type": manifest.get("artifactType"),
            "config": {k: manifest["config"].get(k) for k in ("mediaType", "digest", "size")},
            "layers": [{"name": (layer.get("annotations") or {}).get(OCI_DISK_NAME), "media_type": layer.get("mediaType"),
                        "digest": layer.get("digest"), "size": layer.get("size"),
                        "disk_size": (layer.get("annotations") or {}).get("io.kubevirt.disk.size"),
                        "title": (layer.get("annotations") or {}).get("org.opencontainers.image.title")}
                       for layer in manifest.get("layers") or []]}


def _json(kept: Dict[str, bytes], name: str, where: str) -> Dict[str, Any]:
    try:
        value = json.loads(kept[name].decode("utf-8"))
    except (KeyError, ValueError) as exc:
        raise _invalid(where, "%s is missing or not JSON (%s)" % (name, exc)) from None
    if not isinstance(value, dict):
        raise _invalid(where, "%s is not a JSON object" % name)
    return value


def _invalid(where: str, why: str) -> KubeApiError:
    return KubeApiError("download: %s is not a complete OCI image layout: %s" % (where, why), reason="OciImageInvalid")


def _check(response: Any, url: str) -> None:
    if response.status in (200, 206):
        return
    body = response.read(2048).decode("utf-8", "replace").strip()
    hint = {401: "the token was refused (the export's token Secret changed, or the export was recreated)",
            502: "the export is not ready behind virt-exportproxy",
            404: "no such export or volume"}.get(response.status, "")
    raise KubeApiError("download: the export server answered %s for %s%s%s"
                       % (response.status, url, (": " + " ".join(body.split())) if body else "",
                          (" (" + hint + ")") if hint else ""), status=response.status, reason="DownloadFailed")


def _total(response: Any, offset: int) -> Optional[int]:
    content_range = response.headers.get("Content-Range") or ""
    if response.status == 206 and "/" in content_range:
        tail = content_range.rsplit("/", 1)[1]
        return int(tail) if tail.isdigit() else None
    length = response.headers.get("Content-Length")
    return int(length) + (offset if response.status == 206 else 0) if length is not None else None


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return ("%.1f %s" % (n, unit)) if unit != "B" else "%d B" % n
        n = n / 1024.0  # type: ignore[assignment]
    return "%d B" % n
