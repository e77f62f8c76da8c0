# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One raw HTTP request through the engine's API client.

That is a DirectApiClient (urllib3 alone, for static credentials) or a kubernetes ApiClient of a
version before or after 37: versions up to 36 have the legacy ``call_api(resource_path, method,
...)``; 37 switched to ``param_serialize`` + ``call_api(method, url, ...)``. Both keep the client's
own auth handling (bearer token refresh, exec plugins), TLS and proxy setup.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import urlencode

from ansible_collections.virt.kubevirt.plugins.module_utils._direct_client import DirectApiClient
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError

try:
    import urllib3
except ImportError:  # pragma: no cover - reported by the module base via missing_required_lib
    urllib3 = None


class _NoApiException(Exception):
    """Never raised: what ``except`` catches when the kubernetes client is not in use."""


def _api_exception(api_client: Any) -> type:
    """The client's ApiException, imported only when a kubernetes ApiClient is in use: importing
    the client is the largest part of a task's start-up."""
    if isinstance(api_client, DirectApiClient):
        return _NoApiException
    from kubernetes.client.exceptions import ApiException  # pylint: disable=import-outside-toplevel

    return ApiException


# Failures where the request never reached the server: always safe to retry.
CONNECT_FAILED = "ConnectionFailed"
# Failures after the request may have been sent: retry only idempotent calls.
CONNECTION_ERROR = "ConnectionError"
# Certificate or handshake negotiation failures: retrying cannot help.
TLS_FAILED = "SSLError"

DEFAULT_TIMEOUT = (10.0, 60.0)

Query = Sequence[Tuple[str, Any]]


@dataclass
class HttpResponse:
    status: int
    headers: Mapping[str, Any]
    data: Optional[bytes] = None
    raw: Any = None

    def json(self) -> Any:
        if not self.data:
            return None
        try:
            return json.loads(self.data.decode("utf-8"))
        except ValueError:
            return None

    def close(self) -> None:
        if self.raw is not None:
            try:
                self.raw.release_conn()
            except Exception:  # pylint: disable=broad-except
                pass


def build_url_path(path: str, query: Optional[Query] = None) -> str:
    pairs = [(key, _query_value(value)) for key, value in (query or []) if value is not None]
    return "%s?%s" % (path, urlencode(pairs)) if pairs else path


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _headers(content_type: Optional[str]) -> dict:
    headers = {"Accept": "application/json"}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


# TLS failures that a retry cannot fix: the certificate or the protocol negotiation is wrong.
_TLS_SETUP_MARKERS = (
    "certificate", "hostname mismatch", "wrong_version_number", "wrong version number",
    "unsupported_protocol", "no_protocols_available", "tlsv1_alert", "sslv3_alert",
    "handshake_failure", "unknown ca", "record layer failure", "http_request",
)
# Frames of urllib3 that open a connection: a failure there means the request was never sent.
_CONNECT_FRAMES = frozenset(("_new_conn", "_validate_conn", "_ssl_wrap_socket_and_match_hostname", "_prepare_proxy"))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes/contexts and the errors urllib3 wraps in ``args`` (bounded)."""
    seen = set()
    todo = [exc]
    while todo and len(seen) < 12:
        item = todo.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo.extend(e for e in (item.__cause__, item.__context__) if e is not None)
        todo.extend(a for a in getattr(item, "args", ()) if isinstance(a, BaseException))
        reason = getattr(item, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)


def _in_connect_phase(exc: BaseException) -> bool:
    for item in _chain(exc):
        if urllib3 is not None and isinstance(
            item, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)
        ):
            return True
        tb = item.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_name in _CONNECT_FRAMES:
                return True
            tb = tb.tb_next
    return False


def is_tls_setup_failure(exc: BaseException, text: str = "") -> bool:
    """Certificate verification or handshake negotiation failed; an EOF or reset is not that."""
    for item in _chain(exc):
        if isinstance(item, ssl.SSLCertVerificationError) or type(item).__name__ == "CertificateError":
            return True
        if isinstance(item, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError)):
            return False
    lowered = (text or str(exc)).lower()
    if "eof occurred" in lowered or "unexpected_eof" in lowered or "connection reset" in lowered:
        return False
    return any(marker in lowered for marker in _TLS_SETUP_MARKERS)


def _connection_error(exc: BaseException, text: Optional[str] = None) -> KubeApiError:
    """Never-sent failures are always retryable; a connection dropped after sending only for
    idempotent requests; certificate and handshake failures never."""
    text = text or str(exc)
    if is_tls_setup_failure(exc, text):
        return KubeApiError("TLS connection to the API server failed: %s" % text, reason=TLS_FAILED)
    if _in_connect_phase(exc):
        return KubeApiError("cannot reach the API server: %s" % text, reason=CONNECT_FAILED)
    return KubeApiError("connection to the API server dropped: %s" % text, reason=CONNECTION_ERROR)


def _from_api_exception(exc: Any) -> KubeApiError:
    if not getattr(exc, "status", None):
        # The client reports urllib3 SSLErrors as status 0 with "SSLError\n<text>" as reason.
        text = str(getattr(exc, "reason", "") or exc).replace("\n", ": ")
        return _connection_error(exc, text)
    return KubeApiError.from_api_exception(exc)


def _send_modern(api_client, method, url_path, headers, body, timeout):
    serialized = api_client.param_serialize(
        method=method,
        resource_path=url_path,
        header_params=headers,
        body=body,
        auth_settings=["BearerToken"],
    )
    response = api_client.call_api(*serialized, _request_timeout=timeout)
    return response.status, response.response


def _send_direct(api_client, method, url_path, headers, body, timeout):
    raw = api_client.request(method, url_path, headers, body, timeout)
    return raw.status, raw


def _send_legacy(api_client, method, url_path, headers, body, timeout):
    # Legacy clients raise ApiException themselves for non-2xx answers.
    raw = api_client.call_api(
        url_path,
        method,
        header_params=headers,
        body=body,
        auth_settings=["BearerToken"],
        _preload_content=False,
        _return_http_data_only=True,
        _request_timeout=timeout,
    )
    return raw.status, raw


def send(
    api_client: Any,
    method: str,
    path: str,
    query: Optional[Query] = None,
    body: Union[None, dict, list, str] = None,
    content_type: Optional[str] = None,
    timeout: Any = DEFAULT_TIMEOUT,
    stream: bool = False,
) -> HttpResponse:
    """Send one request; raise KubeApiError for non-2xx answers and connection failures.

    ``body`` is a dict or list; every client version sends it as JSON, also for the apply
    content type (JSON is YAML).
    With ``stream`` the body is left unread in ``.raw`` for line-by-line reading.
    """
    url_path = build_url_path(path, query)
    headers = _headers(content_type if body is not None else None)
    if isinstance(api_client, DirectApiClient):
        sender = _send_direct
    else:
        sender = _send_modern if hasattr(api_client, "param_serialize") else _send_legacy
    try:
        status, raw = sender(api_client, method, url_path, headers, body, timeout)
    except _api_exception(api_client) as exc:
        raise _from_api_exception(exc)
    except (OSError, urllib3.exceptions.HTTPError) as exc:
        raise _connection_error(exc)
    if not 200 <= status <= 299:
        data = raw.data
        raw.release_conn()
        raise KubeApiError.from_response(status, data, raw.headers, getattr(raw, "reason", None))
    if stream:
        return HttpResponse(status=status, headers=raw.headers, raw=raw)
    try:
        data = raw.data
    except (OSError, urllib3.exceptions.HTTPError) as exc:
        raise _connection_error(exc)
    finally:
        raw.release_conn()
    return HttpResponse(status=status, headers=raw.headers, data=data)


def iter_lines(raw: Any) -> Iterator[bytes]:
    """Newline-delimited chunks of a streaming answer (a watch), as they arrive."""
    pending = b""
    try:
        for chunk in raw.stream(amt=None, decode_content=False):
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if line.strip():
                    yield line
    except (OSError, urllib3.exceptions.HTTPError) as exc:
        raise _connection_error(exc)
    if pending.strip():
        yield pending
