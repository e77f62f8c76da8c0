"""One HTTP exchange as the API handlers see it: the parsed request and the way to answer it.

``RequestInfo`` follows apiserver's RequestInfoFactory: ``/api/v1/...`` and ``/apis/{g}/{v}/...``
paths split into namespace, resource, name and subresource, and the verb derived from the method
(``list``/``watch``/``deletecollection`` on collections). Everything else is a non-resource request
(verb ``proxy`` in the request log, as the contract names it).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol
from urllib.parse import parse_qs

from . import errors, protobuf

_NAMESPACE_SUBRESOURCES = ("status", "finalize")
_TRUE = ("true", "1")


def encode(obj: Any) -> bytes:
    """Compact JSON, as apiserver writes it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass
class RequestInfo:
    resource_request: bool
    verb: str
    group: str = ""
    version: str = ""
    namespace: Optional[str] = None
    resource: str = ""
    name: str = ""
    subresource: str = ""


def is_true(value: Optional[str]) -> bool:
    return value is not None and value.lower() in _TRUE


def parse_request_info(method: str, path: str, query: dict[str, list[str]]) -> RequestInfo:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return RequestInfo(False, "proxy")
    namespace: Optional[str] = None
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = "/".join(rest[2:])
    if method in ("GET", "HEAD"):
        if name:
            verb = "get"
        else:
            verb = "watch" if is_true((query.get("watch") or [None])[0]) else "list"
    elif method == "POST":
        verb = "create"
    elif method == "PUT":
        verb = "update"
    elif method == "PATCH":
        verb = "patch"
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = method.lower()
    return RequestInfo(True, verb, group, version, namespace, resource, name, subresource)


def _protobuf_body(raw: bytes) -> dict:
    """Built-in kinds kubectl sends as protobuf decode to their JSON dict; other kinds answer as an
    apiserver that does not serve protobuf for them (custom resources)."""
    try:
        return protobuf.decode(raw)
    except protobuf.UnsupportedKind:
        raise errors.ApiError(
            415, "UnsupportedMediaType",
            'the body of the request was in an unknown format - accepted media types include: '
            'application/json, application/yaml') from None
    except protobuf.ProtobufError as exc:
        raise errors.bad_request(str(exc)) from None


class Channel(Protocol):
    """What the HTTP server offers the handlers to answer one request."""

    def send(self, status: int, body: bytes, content_type: str, headers: list[tuple[str, str]]) -> None: ...
    def start_stream(self, status: int, content_type: str, headers: list[tuple[str, str]]) -> None: ...
    def send_iter(self, status: int, chunks: Any, content_type: str, headers: list[tuple[str, str]],
                  length: Optional[int]) -> None: ...
    def write_chunk(self, data: bytes) -> None: ...
    def end_stream(self) -> None: ...
    def abort(self) -> None: ...
    def reset(self) -> None: ...
    def peer_closed(self) -> bool: ...


@dataclass
class Response:
    status: int
    body: Any = None  # dict/list -> JSON; bytes -> as is; None -> empty
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


class Request:
    """The parsed request plus the bookkeeping the handlers fill in (user, verb, dry run, warnings)."""

    def __init__(self, method: str, path: str, raw_query: str, headers: Any, read_body: Callable[[], bytes],
                 channel: Channel, on_status: Callable[["Request", int], None]) -> None:
        self.method = method
        self.path = path
        self.raw_query = raw_query
        self.query: dict[str, list[str]] = parse_qs(raw_query, keep_blank_values=True) if raw_query else {}
        self.headers = headers
        self._read_body = read_body
        self._body: Optional[bytes] = None
        self.channel = channel
        self._on_status = on_status
        self.user: Optional[str] = None
        self.info: RequestInfo = parse_request_info(method, path, self.query)
        self.verb = self.info.verb
        self.dry_run = False
        self.loggable = True
        self.warnings: list[str] = []
        self.answered = False

    # -- request -------------------------------------------------------------------------------
    def param(self, name: str, default: Optional[str] = None) -> Optional[str]:
        values = self.query.get(name)
        return values[0] if values else default

    def flag(self, name: str) -> Optional[bool]:
        value = self.param(name)
        return None if value is None else is_true(value)

    @property
    def content_type_full(self) -> str:
        return self.headers.get("Content-Type", "") or ""

    @property
    def content_type(self) -> str:
        return self.content_type_full.split(";", 1)[0].strip().lower()

    @property
    def accept(self) -> str:
        return self.headers.get("Accept", "") or ""

    @property
    def user_agent(self) -> str:
        return self.headers.get("User-Agent", "") or ""

    def body(self) -> bytes:
        if self._body is None:
            self._body = self._read_body()
        return self._body

    def body_stream(self) -> Any:
        """The body as a file-like ``read(n)`` stream, unbuffered when the transport can."""
        opener = getattr(self.channel, "open_body", None)
        if self._body is None and opener is not None:
            self._body = b""  # consumed by the stream
            return opener()
        import io
        return io.BytesIO(self.body())

    def json_body(self, *, allow_yaml: bool = False) -> Any:
        raw = self.body()
        if not raw.strip():
            return None
        if "protobuf" in self.content_type:
            return _protobuf_body(raw)
        try:
            return json.loads(raw)
        except ValueError as exc:
            if allow_yaml or "yaml" in self.content_type:
                import yaml  # YAML bodies are rare: import on demand
                try:
                    return yaml.safe_load(raw)
                except yaml.YAMLError as yexc:
                    raise errors.bad_request(f"error decoding YAML: {yexc}") from None
            raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from None

    # -- response ------------------------------------------------------------------------------
    def _headers(self, extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
        headers = list(extra)
        for warning in self.warnings:
            escaped = warning.replace("\\", "\\\\").replace('"', '\\"')
            headers.append(("Warning", f'299 - "{escaped}"'))
        return headers

    def respond(self, response: Response) -> None:
        body = response.body
        if body is None:
            data = b""
        elif isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        else:
            data = encode(body)
        self.answered = True
        self._on_status(self, response.status)
        self.channel.send(response.status, data, response.content_type, self._headers(response.headers))

    def respond_iter(self, status: int, chunks: Any, content_type: str, headers: list[tuple[str, str]],
                     length: Optional[int]) -> None:
        """A body streamed from an iterator of bytes (a volume download): Content-Length when known,
        else chunked; memory stays at one chunk."""
        self.answered = True
        self._on_status(self, status)
        self.channel.send_iter(status, chunks, content_type, self._headers(headers), length)

    def fail(self, error: errors.ApiError) -> None:
        self.respond(Response(error.code, error.status(), headers=list(error.headers.items())))

    def start_stream(self, content_type: str = "application/json",
                     headers: Optional[list[tuple[str, str]]] = None) -> None:
        self.answered = True
        self._on_status(self, 200)
        self.channel.start_stream(200, content_type, self._headers(list(headers or [])))
