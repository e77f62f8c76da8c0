# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The streamed upload: what a proxy receives (bytes, headers, length), its answers mapped to
messages, and the API client's TLS settings carried to the proxy."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._direct_client import DirectApiClient
from ansible_collections.virt.kubevirt.plugins.module_utils._direct_settings import DirectSettings
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._upload import (
    BLOCK,
    file_sha256,
    proxy_base,
    proxy_settings,
    stream_upload,
)


@pytest.fixture
def proxy():
    """A plain-HTTP stand-in for cdi-uploadproxy that records what it got and answers ``status``."""
    seen = {"status": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            length = int(self.headers["Content-Length"])
            digest, got = hashlib.sha256(), 0
            while got < length:
                block = self.rfile.read(min(65536, length - got))
                digest.update(block)
                got += len(block)
            seen.update(path=self.path, auth=self.headers["Authorization"], got=got, sha256=digest.hexdigest())
            self.send_response(seen["status"])
            body = b"" if seen["status"] == 200 else b"Saving stream failed: image too large\n"
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen["url"] = "http://127.0.0.1:%d" % server.server_address[1]
    yield seen
    server.shutdown()
    server.server_close()


def _api(host="https://api.example:6443"):
    return DirectApiClient(DirectSettings(host=host, authorization="Bearer api-token", verify=False), "test")


def test_streams_the_whole_file_with_the_upload_token(proxy, tmp_path):
    src = tmp_path / "disk.img"
    data = os.urandom(3 * BLOCK + 123)  # several blocks and a partial one
    src.write_bytes(data)
    outcome = stream_upload(_api(), proxy["url"], "upload-token", str(src), "test")
    assert proxy["path"] == "/v1beta1/upload" and proxy["auth"] == "Bearer upload-token"  # never the API token
    assert proxy["got"] == len(data) == outcome.sent == outcome.size
    assert proxy["sha256"] == outcome.sha256 == hashlib.sha256(data).hexdigest() == file_sha256(str(src))


def test_proxy_refusal_is_named(proxy, tmp_path):
    proxy["status"] = 500
    src = tmp_path / "disk.img"
    src.write_bytes(b"x" * 1000)
    with pytest.raises(KubeApiError) as err:
        stream_upload(_api(), proxy["url"], "t", str(src), "test")
    assert err.value.status == 500
    assert "answered 500: Saving stream failed: image too large" in str(err.value)


def test_unreachable_proxy_names_the_option(tmp_path):
    src = tmp_path / "disk.img"
    src.write_bytes(b"x")
    with pytest.raises(KubeApiError) as err:
        stream_upload(_api(), "http://127.0.0.1:1", "t", str(src), "test")
    assert str(err.value).startswith("upload_proxy_url: cannot send the image to the upload proxy http://127.0.0.1:1/v1beta1/upload")


def test_proxy_address_and_tls_settings():
    assert proxy_base("cdi-uploadproxy.apps.example.com") == "https://cdi-uploadproxy.apps.example.com"
    assert proxy_base("http://10.0.0.1:8443/") == "http://10.0.0.1:8443"
    direct = DirectApiClient(DirectSettings(host="https://api:6443", authorization="Bearer a", ca_data="PEM",
                                            tls_server_name="api.internal", proxy="http://squid:3128"), "test")
    settings = proxy_settings(direct, "https://up", "tok")
    assert (settings.host, settings.authorization, settings.ca_data, settings.proxy) == (
        "https://up", "Bearer tok", "PEM", "http://squid:3128")
    from kubernetes.client import Configuration

    config = Configuration(host="https://api:6443")
    config.ssl_ca_cert, config.verify_ssl, config.proxy = "/tmp/ca.pem", True, "http://squid:3128"
    config.cert_file, config.key_file = "/tmp/c.crt", "/tmp/c.key"

    class Client:
        configuration = config

    settings = proxy_settings(Client(), "https://up", "tok")
    assert (settings.ca_file, settings.verify, settings.cert_file, settings.key_file, settings.proxy) == (
        "/tmp/ca.pem", True, "/tmp/c.crt", "/tmp/c.key", "http://squid:3128")
    assert settings.authorization == "Bearer tok"
