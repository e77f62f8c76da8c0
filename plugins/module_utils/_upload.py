# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Streamed upload of a local file to CDI's upload proxy, checksummed on the way.

The proxy is not the API server, but a task trusts it as it trusts the API: the request goes
through a DirectApiClient built from the API client's own TLS / CA / client certificate / proxy
settings, with the upload token as its only credential. The body is a generator of fixed-size
blocks read from the file, so memory stays constant whatever the image size; the sha256 is
computed from the very blocks sent, so it is the checksum of what the proxy received.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._direct_client import DirectApiClient
from ansible_collections.virt.kubevirt.plugins.module_utils._direct_settings import DirectSettings
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError

try:
    import urllib3
except ImportError:  # pragma: no cover - reported by the module base via missing_required_lib
    urllib3 = None

# 1 MiB blocks: large enough for line-rate TLS writes, small enough to never matter for memory.
BLOCK = 1024 * 1024
# The synchronous endpoint answers once the upload server wrote (and converted) the image.
UPLOAD_PATH = "/v1beta1/upload"
# Connecting is quick or broken; the answer comes after the whole image is written on the volume.
CONNECT_TIMEOUT = 15.0


@dataclass
class UploadOutcome:
    sha256: str
    size: int
    sent: int
    seconds: float


class _Reader:
    """The file in BLOCK-sized pieces, hashed and counted as urllib3 sends them."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.digest = hashlib.sha256()
        self.sent = 0

    def blocks(self) -> Iterator[bytes]:
        with open(self.path, "rb") as handle:
            while True:
                block = handle.read(BLOCK)
                if not block:
                    return
                self.digest.update(block)
                self.sent += len(block)
                yield block


def file_sha256(path: str) -> str:
    """sha256 of a file, read in BLOCK-sized pieces."""
    reader = _Reader(path)
    for _block in reader.blocks():
        pass
    return reader.digest.hexdigest()


def proxy_base(url: str) -> str:
    """CDIConfig's uploadProxyURL is a host name (virtctl adds https://); an option may be a URL."""
    url = url.strip().rstrip("/")
    return url if "://" in url else "https://" + url


def proxy_settings(api_client: Any, base: str, token: str) -> DirectSettings:
    """The API client's TLS and proxy settings, aimed at ``base`` with the upload token."""
    if isinstance(api_client, DirectApiClient):
        return dataclasses.replace(api_client.settings, host=base, authorization="Bearer %s" % token)
    config = api_client.configuration  # a kubernetes Configuration: its kubeconfig data are files
    return DirectSettings(
        host=base, authorization="Bearer %s" % token, verify=bool(config.verify_ssl), ca_file=config.ssl_ca_cert,
        ca_data=getattr(config, "ca_cert_data", None), cert_file=config.cert_file, key_file=config.key_file,
        tls_server_name=getattr(config, "tls_server_name", None), proxy=config.proxy,
        proxy_headers=dict(config.proxy_headers or {}),
    )


def _answer(response: Any) -> str:
    text = response.read(4096).decode("utf-8", "replace").strip()
    return " ".join(text.split()) or "(no message)"


def stream_upload(api_client: Any, base: str, token: str, path: str, user_agent: str,
                  timeout: Optional[float] = None) -> UploadOutcome:
    """POST the file to ``base``/v1beta1/upload; raises KubeApiError naming the proxy on failure."""
    url = base + UPLOAD_PATH
    client = DirectApiClient(proxy_settings(api_client, base, token), user_agent, source="upload_proxy_url")
    size = os.path.getsize(path)
    reader = _Reader(path)
    started = time.monotonic()
    headers = dict(client.default_headers, **{"Content-Type": "application/octet-stream", "Content-Length": str(size),
                                              "User-Agent": user_agent})
    try:
        response = client.pool_manager().request(
            "POST", url, body=reader.blocks(), headers=headers, preload_content=False, redirect=False,
            timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=timeout or None),
        )
    except urllib3.exceptions.HTTPError as exc:
        raise KubeApiError("upload_proxy_url: cannot send the image to the upload proxy %s: %s (set upload_proxy_url to "
                           "the address of cdi-uploadproxy, for example its Route)" % (url, " ".join(str(exc).split())),
                           reason="UploadProxyUnreachable") from None
    try:
        if response.status != 200:
            raise KubeApiError("the upload proxy %s answered %s: %s" % (url, response.status, _answer(response)),
                               status=response.status, reason="UploadFailed")
    finally:
        response.release_conn()
    return UploadOutcome(reader.digest.hexdigest(), size, reader.sent, round(time.monotonic() - started, 3))
