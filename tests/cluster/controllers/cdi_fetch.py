"""The importer's http data source for real, on loopback only.

An http(s) import whose URL names a loopback host (127.0.0.0/8, ``localhost``, ``::1``) is really
read, as CDI's importer does (pkg/importer/http-datasource.go): a HEAD for the size, then a GET
with ``User-Agent: cdi-golang-importer``, basic auth from the ``secretRef`` Secret
(``accessKeyId`` / ``secretKey``), ``extraHeaders`` and ``secretExtraHeaders`` (``Name: value``),
TLS verified against the system CAs plus the ``certConfigMap``'s certificates unless
``insecureSkipVerify``, the optional ``checksum`` checked on the bytes as sent; the body is
decompressed (gz / xz) and written into the volume file (``disks.ImageSink``). Failures give the
importer's termination messages. Any other host is never contacted (this sandbox has no network):
those imports stay simulated and leave the volume zeroed.
"""
from __future__ import annotations

import base64
import hashlib
import http.client
import ipaddress
import ssl
import threading
from dataclasses import dataclass, field
from typing import Callable, Optional
from urllib.parse import urlparse

from .disks import CHUNK, Disks, ImageTooLarge

USER_AGENT = "cdi-golang-importer"
_TIMEOUT = 30.0


def is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class HttpSource:
    url: str
    username: str = ""
    password: str = ""
    headers: list[str] = field(default_factory=list)  # "Name: value"
    ca_pems: list[str] = field(default_factory=list)
    insecure: bool = False
    checksum: str = ""  # "sha256:<hex>"


@dataclass
class Fetch:
    """One importer run in a thread: ``done`` / ``error`` once it ends; ``progress`` in percent."""
    thread: Optional[threading.Thread] = None
    progress: float = 0.0
    done: bool = False
    error: str = ""
    written: int = 0


def start_fetch(disks: Disks, key: str, source: HttpSource, on_change: Callable[[], None]) -> Fetch:
    fetch = Fetch()

    def run() -> None:
        try:
            fetch.written = _download(disks, key, source, fetch, on_change)
        except _ImportError as exc:
            fetch.error = exc.message
        except Exception as exc:  # what the importer would report for anything unexpected
            fetch.error = f"Unable to process data: {exc}"
        finally:
            fetch.done = True
            on_change()
    fetch.thread = threading.Thread(target=run, name=f"importer-{key}", daemon=True)
    fetch.thread.start()
    return fetch


class _ImportError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _connect_error(source: HttpSource, exc: BaseException) -> _ImportError:
    parsed = urlparse(source.url)
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = ("x509: certificate signed by unknown authority" if "self-signed" in str(exc) or
                  "unable to get local issuer" in str(exc) else f"x509: {exc.verify_message}")
        detail = f"tls: failed to verify certificate: {reason}"
    elif isinstance(exc, ConnectionRefusedError):
        host = parsed.hostname or ""
        host = "127.0.0.1" if host == "localhost" else (f"[{host}]" if ":" in host else host)
        detail = f"dial tcp {host}:{parsed.port or (443 if parsed.scheme == 'https' else 80)}: connect: connection refused"
    else:
        detail = str(exc)
    return _ImportError(f'Unable to connect to http data source: HTTP request errored: Get "{source.url}": {detail}')


def _connection(source: HttpSource) -> http.client.HTTPConnection:
    parsed = urlparse(source.url)
    host = parsed.hostname or "127.0.0.1"
    if parsed.scheme == "https":
        context = ssl.create_default_context()
        if source.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            for pem in source.ca_pems:
                try:
                    context.load_verify_locations(cadata=pem)
                except ssl.SSLError:
                    pass  # createCertPool skips what does not parse
        return http.client.HTTPSConnection(host, parsed.port or 443, timeout=_TIMEOUT, context=context)
    return http.client.HTTPConnection(host, parsed.port or 80, timeout=_TIMEOUT)


def _request(source: HttpSource, method: str) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    parsed = urlparse(source.url)
    path = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
    headers = {"User-Agent": USER_AGENT}
    if source.username and source.password:
        token = base64.b64encode(f"{source.username}:{source.password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    for header in source.headers:
        name, sep, value = header.partition(":")
        if sep:
            headers[name] = value  # Go keeps the value as written after the colon
    conn = _connection(source)
    try:
        conn.request(method, path, headers=headers)
        return conn, conn.getresponse()
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        raise _connect_error(source, exc) from None


def _download(disks: Disks, key: str, source: HttpSource, fetch: Fetch, on_change: Callable[[], None]) -> int:
    total = 0
    try:  # getContentLength: a failed HEAD only means the size is unknown
        conn, head = _request(source, "HEAD")
        if head.status == 200:
            total = int(head.getheader("Content-Length") or 0)
        conn.close()
    except _ImportError:
        pass
    conn, resp = _request(source, "GET")
    try:
        if resp.status != 200:
            raise _ImportError(f"Unable to connect to http data source: expected status code 200, got "
                               f"{resp.status}. Status: {resp.status} {resp.reason}")
        total = total or int(resp.getheader("Content-Length") or 0)
        algorithm, _, expected = source.checksum.partition(":")
        hasher = hashlib.new(algorithm) if source.checksum else None
        sink = disks.sink(key)
        ok = False
        try:
            step = 0
            while True:
                block = resp.read(CHUNK)
                if not block:
                    break
                if hasher is not None:
                    hasher.update(block)
                sink.write(block)
                if total:
                    fetch.progress = min(100.0, 100.0 * sink.received / total)
                    step += 1
                    if step % 8 == 0:
                        on_change()
            if hasher is not None and hasher.hexdigest() != expected.lower():
                raise _ImportError(f"Unable to process data: checksum mismatch: expected {source.checksum}, "
                                   f"calculated {algorithm}:{hasher.hexdigest()}")
            ok = True
        except ImageTooLarge as exc:
            raise _ImportError(f"Unable to process data: {exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise _ImportError(f"Unable to process data: Unable to transfer source data to target file: {exc}") from None
        finally:
            sink.close(ok)
        fetch.progress = 100.0
        return sink.written
    finally:
        conn.close()
