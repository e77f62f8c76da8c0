"""The HTTPS transport: a threading HTTP/1.1 server (keep-alive, chunked watch streams) over TLS.

One thread per connection (watches are long-lived), the TLS handshake done in that thread so a
slow client never blocks accepting others. Responses are written with one ``sendall`` for headers
and body. The channel methods (send / stream / abort / reset / peer_closed) are what the API
handlers use to answer (``api/request.py``).
"""
from __future__ import annotations

import email.utils
import http
import logging
import select
import socket
import ssl
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import unquote

from .api.request import Request

if TYPE_CHECKING:  # pragma: no cover
    from .api.handlers import ApiServer

log = logging.getLogger("cluster.server")

_MAX_BODY = 64 * 1024 * 1024
_IDLE_TIMEOUT = 300.0
_HANDSHAKE_TIMEOUT = 30.0


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = ""
    sys_version = ""
    timeout = _IDLE_TIMEOUT
    server: "ApiHTTPServer"

    # every method goes through the same path
    def _serve(self) -> None:
        raw_path, _, query = self.path.partition("?")
        path = unquote(raw_path) if "%" in raw_path else raw_path
        request = Request(self.command, path, query, self.headers, self._read_body, self,
                          self.server.on_status)
        self._streaming = False
        self._reader: Optional[BodyReader] = None
        try:
            self.server.app.handle(request)
        except (BrokenPipeError, ConnectionError, ssl.SSLError, TimeoutError, OSError) as exc:
            log.debug("connection lost during %s %s: %s", self.command, path, exc)
            self.close_connection = True
            return
        if not request.answered:
            self.close_connection = True
            return
        if self._reader is not None:
            try:  # drain what the handler left unread (an early 401), so the client reads the answer
                drained = 0
                while not self._reader.exhausted and drained <= _MAX_BODY:
                    drained += len(self._reader.read())
            except (OSError, ValueError):
                pass
            if not self._reader.exhausted:
                self.close_connection = True
            return
        if request._body is None and not self.close_connection:
            try:
                self._read_body()  # drain an unread body so the connection stays usable
            except (OSError, ValueError):
                self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding", "") or "").lower():
            parts = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)
            data = b"".join(parts)
        else:
            length = int(self.headers.get("Content-Length", "0") or 0)
            if length > _MAX_BODY:
                self.close_connection = True
                raise ValueError("request body too large")
            data = self.rfile.read(length) if length > 0 else b""
        return data

    def open_body(self) -> "BodyReader":
        """The request body as a stream (no size limit, constant memory): the upload proxy."""
        self._reader = BodyReader(self.rfile, self.headers)
        return self._reader

    # -- channel -------------------------------------------------------------------------------
    def _head(self, status: int, content_type: str, headers: list[tuple[str, str]], extra: str) -> bytes:
        lines = [f"HTTP/1.1 {status} {_reason(status)}",
                 f"Date: {email.utils.formatdate(usegmt=True)}",
                 "Cache-Control: no-cache, private"]
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        if status >= 400 and content_type.startswith("application/json"):
            lines.append("X-Content-Type-Options: nosniff")
        for name, value in headers:
            lines.append(f"{name}: {value}")
        lines.append(extra)
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")

    def send(self, status: int, body: bytes, content_type: str, headers: list[tuple[str, str]]) -> None:
        head = self._head(status, content_type if body or status != 204 else "", headers,
                          f"Content-Length: {len(body)}")
        self.wfile.write(head if self.command == "HEAD" else head + body)

    def send_iter(self, status: int, chunks: Any, content_type: str, headers: list[tuple[str, str]],
                  length: Optional[int]) -> None:
        """Headers, then each chunk as it comes (Content-Length if known, else chunked encoding)."""
        if length is None:
            self.wfile.write(self._head(status, content_type, headers, "Transfer-Encoding: chunked"))
            if self.command != "HEAD":
                for data in chunks:
                    self.write_chunk(data)
            self.wfile.write(b"0\r\n\r\n")
            return
        self.wfile.write(self._head(status, content_type, headers, f"Content-Length: {length}"))
        if self.command != "HEAD":
            for data in chunks:
                self.wfile.write(data)

    def start_stream(self, status: int, content_type: str, headers: list[tuple[str, str]]) -> None:
        self._streaming = True
        self.wfile.write(self._head(status, content_type, headers, "Transfer-Encoding: chunked"))

    def write_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def abort(self) -> None:
        """End the connection mid-stream (no terminating chunk): a dropped watch."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def reset(self) -> None:
        """Close with a TCP RST and no answer."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def peer_closed(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - signature of the base class
        log.debug("%s - %s", self.address_string(), format % args)


class BodyReader:
    """``read(n)`` over a Content-Length or chunked body; ``exhausted`` once it has all been read."""

    def __init__(self, rfile, headers) -> None:
        self._rfile = rfile
        self._chunked = "chunked" in (headers.get("Transfer-Encoding", "") or "").lower()
        self._left = 0 if self._chunked else int(headers.get("Content-Length", "0") or 0)
        self.exhausted = not self._chunked and self._left == 0

    def read(self, n: int = 1024 * 1024) -> bytes:
        if self.exhausted:
            return b""
        if self._chunked and self._left == 0:
            size_line = self._rfile.readline(65537)
            if not size_line:
                raise ConnectionError("connection closed inside a chunked body")
            self._left = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if self._left == 0:
                while self._rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                self.exhausted = True
                return b""
        data = self._rfile.read(min(n, self._left))
        if not data:
            raise ConnectionError("connection closed inside the body")
        self._left -= len(data)
        if self._left == 0:
            if self._chunked:
                self._rfile.readline(65537)
            else:
                self.exhausted = True
        return data


class ApiHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: "ApiServer", ssl_context: Optional[ssl.SSLContext],
                 on_status) -> None:
        self.app = app
        self.ssl_context = ssl_context
        self.on_status = on_status
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address) -> None:  # type: ignore[override]
        conn = request
        if self.ssl_context is not None:
            try:
                request.settimeout(_HANDSHAKE_TIMEOUT)
                conn = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                log.debug("TLS handshake with %s failed: %s", client_address, exc)
                try:
                    request.close()
                except OSError:
                    pass
                return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        log.debug("error on connection from %s", client_address, exc_info=True)


class HttpServerThread:
    """Runs an ``ApiHTTPServer`` in a background thread."""

    def __init__(self, host: str, port: int, app: "ApiServer", ssl_context: Optional[ssl.SSLContext],
                 on_status) -> None:
        self.httpd = ApiHTTPServer((host, port), app, ssl_context, on_status)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="http-accept", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
