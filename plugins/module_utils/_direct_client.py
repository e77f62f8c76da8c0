# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An API client on urllib3 alone, for static credentials (see _direct_settings.py).

It offers what the engine uses of ``kubernetes.client.ApiClient``: default headers and one raw
request; TLS is set up like the client's RESTClientObject (CA file or data, verification, client
certificate, SNI name, proxy with its headers), and urllib3 never retries (the engine does).
"""

from __future__ import annotations

import json
import os
import ssl
import tempfile
from typing import Any, Dict, Optional, Tuple, Union

from ansible_collections.virt.kubevirt.plugins.module_utils._direct_settings import DirectSettings
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError

try:
    import urllib3
except ImportError:  # pragma: no cover - reported by the module base via missing_required_lib
    urllib3 = None


def _load_client_certificate(context: ssl.SSLContext, settings: DirectSettings) -> None:
    """ssl wants files: data from a kubeconfig goes to a private temporary folder, removed at once."""
    if not (settings.cert_file or settings.cert_data):
        return
    with tempfile.TemporaryDirectory(prefix="virt-kubevirt-") as folder:
        cert, key = settings.cert_file, settings.key_file
        if settings.cert_data:
            cert = os.path.join(folder, "client.crt")
            _write_private(cert, settings.cert_data)
        if settings.key_data:
            key = os.path.join(folder, "client.key")
            _write_private(key, settings.key_data)
        context.load_cert_chain(cert, key)


def _write_private(path: str, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def ssl_context(settings: DirectSettings) -> ssl.SSLContext:
    if settings.ca_file or settings.ca_data:
        context = ssl.create_default_context(cafile=settings.ca_file, cadata=settings.ca_data)
    else:
        context = ssl.create_default_context()
    if not settings.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    _load_client_certificate(context, settings)
    return context


def _timeout(value: Union[None, float, Tuple[float, float]]) -> Any:
    if isinstance(value, (tuple, list)):
        return urllib3.Timeout(connect=value[0], read=value[1])
    return urllib3.Timeout(total=value) if value else urllib3.Timeout(connect=10.0, read=60.0)


class DirectConfiguration:
    """The settings under the names of ``kubernetes.client.Configuration``, so that code and
    tests that read a client's configuration (host, credentials, TLS files) read either alike."""

    retries = False

    def __init__(self, settings: DirectSettings) -> None:
        self.host = settings.host
        self.api_key = {"authorization": settings.authorization} if settings.authorization else {}
        self.verify_ssl = settings.verify
        self.ssl_ca_cert = settings.ca_file
        self.ca_cert_data = settings.ca_data
        self.cert_file = settings.cert_file
        self.key_file = settings.key_file
        self.tls_server_name = settings.tls_server_name
        self.proxy = settings.proxy
        self.proxy_headers = settings.proxy_headers or None

    def auth_settings(self) -> Dict[str, Any]:
        if not self.api_key:
            return {}
        return {"BearerToken": {"type": "api_key", "in": "header", "key": "authorization", "value": self.api_key["authorization"]}}


class DirectApiClient:
    """Requests to one API server with fixed credentials, one connection pool per client.

    Files are checked at once (as kubernetes.config does); their PEM content is loaded with the
    first request, as the kubernetes client's urllib3 pool does, and a failure there is named.
    """

    def __init__(self, settings: DirectSettings, user_agent: str, source: str = "kubeconfig") -> None:
        for path in (settings.ca_file, settings.cert_file, settings.key_file):
            if path and not os.path.isfile(path):
                raise ValueError("File does not exist: %s" % path)
        self.host = settings.host
        self.configuration = DirectConfiguration(settings)
        self.user_agent = user_agent
        self.default_headers: Dict[str, str] = {}
        if settings.authorization:
            self.default_headers["Authorization"] = settings.authorization
        self._settings = settings
        self._source = source
        self._pool: Any = None

    def set_default_header(self, name: str, value: str) -> None:
        self.default_headers[name] = value

    @property
    def settings(self) -> DirectSettings:
        """What this client connects with (the upload stream reuses its TLS and proxy, _upload.py)."""
        return self._settings

    def pool_manager(self) -> Any:
        """The urllib3 pool with this client's TLS and proxy setup, for requests that are not API calls."""
        return self._pool_manager()

    def _pool_manager(self) -> Any:
        if self._pool is not None:
            return self._pool
        settings = self._settings
        pool_args: Dict[str, Any] = {"retries": False}
        if settings.host.startswith("https"):
            try:
                pool_args["ssl_context"] = ssl_context(settings)
            except (ssl.SSLError, OSError, ValueError) as exc:
                raise KubeApiError("%s cannot be loaded: %s" % (self._source, " ".join(str(exc).split())), reason="ConfigError") from None
            if not settings.verify:
                pool_args["cert_reqs"] = ssl.CERT_NONE
                pool_args["assert_hostname"] = False
            if settings.tls_server_name:
                pool_args["server_hostname"] = settings.tls_server_name
        if settings.proxy:
            self._pool = urllib3.ProxyManager(settings.proxy, proxy_headers=settings.proxy_headers or None, **pool_args)
        else:
            self._pool = urllib3.PoolManager(**pool_args)
        return self._pool

    def request(self, method: str, url_path: str, headers: Dict[str, str], body: Any, timeout: Any) -> Any:
        """The urllib3 response, body unread (the caller reads or streams it and releases it)."""
        payload: Optional[bytes] = None
        if body is not None:
            payload = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
        return self._pool_manager().request(
            method, self.host + url_path, body=payload,
            headers=dict(self.default_headers, **headers, **{"User-Agent": self.user_agent}),
            preload_content=False, timeout=_timeout(timeout), redirect=False,
        )
