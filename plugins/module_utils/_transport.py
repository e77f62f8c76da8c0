# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One raw HTTP request through a kubernetes ApiClient, for client versions before and after 37.

Versions up to 36 have the legacy ``call_api(resource_path, method, ...)``; 37 switched to
``param_serialize`` + ``call_api(method, url, ...)``. Both keep the client's own auth handling
(bearer token refresh, exec plugins), TLS and proxy setup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import urlencode

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError

try:
    import urllib3
    from kubernetes.client.exceptions import ApiException
except ImportError:  # pragma: no cover - reported by the module base via missing_required_lib
    urllib3 = None

    class ApiException(Exception):  # type: ignore[no-redef]
        """Stand-in so this module imports without the kubernetes client."""

# Failures where the request never reached the server: always safe to retry.
CONNECT_FAILED = "ConnectionFailed"
# Failures after the request may have been sent: retry only idempotent calls.
CONNECTION_ERROR = "ConnectionError"

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


def _connection_error(exc: BaseException) -> KubeApiError:
    never_sent = urllib3 is not None and isinstance(
        exc, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)
    )
    reason = CONNECT_FAILED if never_sent else CONNECTION_ERROR
    return KubeApiError("cannot reach the API server: %s" % exc, reason=reason)


def _from_api_exception(exc: Any) -> KubeApiError:
    if not getattr(exc, "status", None):
        # The client reports TLS failures as status 0 with the error text as reason.
        text = str(getattr(exc, "reason", "") or exc).replace("\n", ": ")
        reason = "SSLError" if "SSL" in text else CONNECTION_ERROR
        return KubeApiError("cannot reach the API server: %s" % text, reason=reason)
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
    sender = _send_modern if hasattr(api_client, "param_serialize") else _send_legacy
    try:
        status, raw = sender(api_client, method, url_path, headers, body, timeout)
    except ApiException as exc:
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
