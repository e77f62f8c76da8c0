# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._transport import (
    CONNECT_FAILED,
    CONNECTION_ERROR,
    TLS_FAILED,
    build_url_path,
    is_tls_setup_failure,
    iter_lines,
    send,
)


class _Raw:
    def __init__(self, status, data=b"", headers=None, chunks=None):
        self.status = status
        self.data = data
        self.headers = headers or {}
        self.reason = "reason"
        self.chunks = chunks or []
        self.released = False

    def release_conn(self):
        self.released = True

    def stream(self, amt=None, decode_content=False):
        for chunk in self.chunks:
            if isinstance(chunk, Exception):
                raise chunk
            yield chunk


class _Wrapped:
    """What kubernetes >= 37 returns from call_api: a RESTResponse around the urllib3 answer."""

    def __init__(self, raw):
        self.status = raw.status
        self.response = raw


class ModernApiClient:
    def __init__(self, raw=None, error=None):
        self.raw, self.error, self.serialized = raw, error, None

    def param_serialize(self, method, resource_path, header_params=None, body=None, auth_settings=None):
        self.serialized = dict(method=method, resource_path=resource_path, headers=header_params, body=body, auth=auth_settings)
        return method, "https://h" + resource_path, header_params, body, None

    def call_api(self, method, url, header_params=None, body=None, post_params=None, _request_timeout=None):
        if self.error:
            raise self.error
        return _Wrapped(self.raw)


class LegacyApiClient:
    def __init__(self, raw=None, error=None):
        self.raw, self.error, self.kwargs = raw, error, None

    def call_api(self, resource_path, method, **kwargs):
        self.kwargs = dict(kwargs, resource_path=resource_path, method=method)
        if self.error:
            raise self.error
        return self.raw


def test_build_url_path_skips_none_and_lowercases_bools():
    assert build_url_path("/p", [("a", None), ("watch", True), ("limit", 5), ("s", "a=b,c")]) == "/p?watch=true&limit=5&s=a%3Db%2Cc"
    assert build_url_path("/p") == "/p"


def test_modern_client_request_and_json_body():
    api_client = ModernApiClient(_Raw(200, b'{"kind": "VirtualMachine"}'))
    response = send(api_client, "PATCH", "/x", query=[("dryRun", "All")], body={"a": 1}, content_type="application/merge-patch+json")
    assert response.json() == {"kind": "VirtualMachine"}
    assert api_client.serialized["resource_path"] == "/x?dryRun=All"
    assert api_client.serialized["headers"] == {"Accept": "application/json", "Content-Type": "application/merge-patch+json"}
    assert api_client.serialized["auth"] == ["BearerToken"]
    assert api_client.raw.released


def test_modern_client_non_2xx_becomes_kube_api_error():
    body = json.dumps({"kind": "Status", "code": 409, "reason": "Conflict", "message": "VM is not running"}).encode()
    with pytest.raises(KubeApiError) as caught:
        send(ModernApiClient(_Raw(409, body, headers={"Retry-After": "1"})), "PUT", "/restart", body={})
    assert (caught.value.status, caught.value.message, caught.value.retry_after) == (409, "VM is not running", 1.0)


def test_legacy_client_gets_preload_false_and_api_exceptions_are_mapped():
    api_client = LegacyApiClient(_Raw(200, b"{}"))
    send(api_client, "GET", "/y", query=[("limit", 500)])
    assert api_client.kwargs["_preload_content"] is False
    assert api_client.kwargs["resource_path"] == "/y?limit=500"
    exc = ApiException(status=404, reason="Not Found")
    exc.body = json.dumps({"kind": "Status", "code": 404, "reason": "NotFound", "message": "gone"})
    with pytest.raises(KubeApiError) as caught:
        send(LegacyApiClient(error=exc), "GET", "/y")
    assert caught.value.status == 404


def test_tls_failure_reported_as_ssl_error():
    with pytest.raises(KubeApiError) as caught:
        send(ModernApiClient(error=ApiException(status=0, reason="SSLError\ncertificate verify failed")), "GET", "/z")
    assert caught.value.reason == "SSLError"
    assert "certificate verify failed" in str(caught.value)


def test_connection_refused_is_marked_never_sent():
    error = urllib3.exceptions.NewConnectionError(None, "Connection refused")
    with pytest.raises(KubeApiError) as caught:
        send(ModernApiClient(error=error), "POST", "/z", body={})
    assert caught.value.reason == CONNECT_FAILED


def test_reset_connection_is_a_plain_connection_error():
    with pytest.raises(KubeApiError) as caught:
        send(ModernApiClient(error=urllib3.exceptions.ProtocolError("reset")), "GET", "/z")
    assert caught.value.reason == CONNECTION_ERROR


def test_stream_leaves_body_unread():
    raw = _Raw(200, chunks=[b'{"a":1}\n{"b"', b":2}\n"])
    response = send(ModernApiClient(raw), "GET", "/w", stream=True)
    assert response.raw is raw and not raw.released
    assert list(iter_lines(response.raw)) == [b'{"a":1}', b'{"b":2}']


def test_iter_lines_yields_trailing_line_and_maps_errors():
    assert list(iter_lines(_Raw(200, chunks=[b"one\n\n", b"two"]))) == [b"one", b"two"]
    with pytest.raises(KubeApiError):
        list(iter_lines(_Raw(200, chunks=[b"x", urllib3.exceptions.ProtocolError("cut")])))


def _raised_from(outer, inner):
    """An exception chained like the kubernetes client raises it: ``outer`` while handling ``inner``."""
    try:
        try:
            raise inner
        except BaseException:  # noqa: B036
            raise outer
    except BaseException as exc:  # noqa: B036
        return exc


def _ssl_eof_in_handshake():
    import ssl

    def _validate_conn():
        raise urllib3.exceptions.SSLError(ssl.SSLEOFError(8, "EOF occurred in violation of protocol"))

    try:
        _validate_conn()
    except urllib3.exceptions.SSLError as exc:
        return exc


def test_ssl_eof_after_sending_is_a_dropped_connection_not_a_tls_failure():
    text = "SSLError\n[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol (_ssl.c:1020)"
    with pytest.raises(KubeApiError) as caught:
        send(ModernApiClient(error=ApiException(status=0, reason=text)), "GET", "/z")
    assert caught.value.reason == CONNECTION_ERROR
    assert "cannot reach" not in str(caught.value) and "dropped" in str(caught.value)


def test_ssl_eof_during_the_handshake_was_never_sent():
    error = _raised_from(ApiException(status=0, reason="SSLError\nEOF occurred in violation of protocol"), _ssl_eof_in_handshake())
    with pytest.raises(KubeApiError) as caught:
        send(ModernApiClient(error=error), "PUT", "/z")
    assert caught.value.reason == CONNECT_FAILED


@pytest.mark.parametrize("text", [
    "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate",
    "certificate verify failed: Hostname mismatch, certificate is not valid for 'x'",
    "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1000)",
    "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca",
])
def test_certificate_and_handshake_errors_are_tls_failures(text):
    with pytest.raises(KubeApiError) as caught:
        send(ModernApiClient(error=ApiException(status=0, reason="SSLError\n" + text)), "GET", "/z")
    assert caught.value.reason == TLS_FAILED
    assert str(caught.value).startswith("TLS connection to the API server failed")


def test_verification_error_object_is_a_tls_failure_whatever_its_text():
    import ssl

    assert is_tls_setup_failure(ssl.SSLCertVerificationError(1, "boom"))
    assert not is_tls_setup_failure(urllib3.exceptions.ProtocolError("aborted", ConnectionResetError(104, "reset")))
