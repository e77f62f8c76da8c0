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
"""

from __future__ import annotations

import hashlib
import os
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError

try:
    import urllib3
except ImportError:  # pragma: no cover - reported by the module base via missing_required_lib
    urllib3 = None

BLOCK = 1024 * 1024
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

    def fetch(self, url: str, dest: str, resumable: bool) -> DownloadOutcome:
        part = dest + ".part"
        offset = os.path.getsize(part) if resumable and os.path.isfile(part) else 0
        headers = {"Range": "bytes=%d-" % offset} if offset else {}
        started = time.monotonic()
        response = self._request("GET", url, headers)
        try:
            if response.status == 416 and offset:  # the .part already holds every byte
                response.drain_conn()
                os.replace(part, dest)
                return DownloadOutcome(dest, url, offset, file_sha256(dest), True, resumed_from=offset)
            _check(response, url)
            if response.status != 206:
                offset = 0  # the server sent the whole file: start over
            total = _total(response, offset)
            digest = _hash_file(part, hashlib.sha256(), offset) if offset else hashlib.sha256()
            written = self._stream(response, part, offset, total, digest)
        finally:
            response.release_conn()
        if total is not None and offset + written != total:
            raise KubeApiError("download: the export server sent %d of %d bytes of %s; run the task again to resume"
                               % (offset + written, total, url), reason="DownloadIncomplete")
        os.replace(part, dest)
        return DownloadOutcome(dest, url, offset + written, digest.hexdigest(), True, resumed_from=offset,
                               transferred=written, seconds=round(time.monotonic() - started, 3))

    def _stream(self, response: Any, part: str, offset: int, total: Optional[int], digest: Any) -> int:
        written, shown = 0, -1
        descriptor = os.open(part, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "r+b" if offset else "wb") as handle:
            handle.seek(offset)
            handle.truncate()
            try:
                for block in response.stream(BLOCK):
                    handle.write(block)
                    digest.update(block)
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
        return written


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
