# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The urllib3-only client: same settings as kubernetes.config would give, real TLS requests,
and the kubernetes client is neither used nor imported where it is not needed."""

from __future__ import annotations

import base64
import http.server
import json
import os
import subprocess
import sys
import threading

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._auth import AUTH_OPTION_NAMES
from ansible_collections.virt.kubevirt.plugins.module_utils._client import create_api_client
from ansible_collections.virt.kubevirt.plugins.module_utils._direct_client import DirectApiClient
from ansible_collections.virt.kubevirt.plugins.module_utils._direct_settings import FORCE_CLIENT_ENV
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._transport import send


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    from tests.cluster.tls import generate

    material = generate()
    base = tmp_path_factory.mktemp("direct-tls")
    for name, data in (("ca.pem", material.ca_pem), ("client.crt", material.cert_pem), ("client.key", material.key_pem)):
        (base / name).write_bytes(data)
    return {"material": material, "base": base, "ca": str(base / "ca.pem"), "cert": str(base / "client.crt"),
            "key": str(base / "client.key")}


def _auth(**values):
    auth = {name: None for name in AUTH_OPTION_NAMES}
    auth.update(values)
    return auth


def _kubeconfig(cluster, user):
    return {"apiVersion": "v1", "kind": "Config", "current-context": "ctx",
            "clusters": [{"name": "c", "cluster": cluster}], "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}]}


def _b64(data):
    return base64.b64encode(data).decode()


def _both(monkeypatch, auth):
    """(direct client, kubernetes client) for the same options."""
    monkeypatch.delenv(FORCE_CLIENT_ENV, raising=False)
    direct = create_api_client(auth)
    monkeypatch.setenv(FORCE_CLIENT_ENV, "1")
    reference = create_api_client(auth)
    monkeypatch.delenv(FORCE_CLIENT_ENV)
    assert isinstance(direct, DirectApiClient) and not isinstance(reference, DirectApiClient)
    return direct.configuration, reference.configuration


def _file_text(path):
    with open(path, "rb") as handle:
        return handle.read()


CASES = {
    "token in kubeconfig, CA data": lambda t: _auth(kubeconfig=_kubeconfig(
        {"server": "https://127.0.0.1:6443/", "certificate-authority-data": _b64(t["material"].ca_pem)}, {"token": "tok"})),
    "basic auth user, CA file relative to the kubeconfig": lambda t: _auth(kubeconfig=_write_kubeconfig(t, _kubeconfig(
        {"server": "https://h:6443", "certificate-authority": "ca.pem"}, {"username": "u", "password": "p"}))),
    "token file, insecure-skip-tls-verify, tls-server-name, proxy-url": lambda t: _auth(kubeconfig=_write_kubeconfig(t, _kubeconfig(
        {"server": "https://h:6443", "insecure-skip-tls-verify": True, "tls-server-name": "api.internal",
         "proxy-url": "http://proxy:3128"}, {"tokenFile": "token"}))),
    "client certificate data": lambda t: _auth(kubeconfig=_kubeconfig(
        {"server": "https://h"}, {"client-certificate-data": _b64(t["material"].cert_pem),
                                  "client-key-data": _b64(t["material"].key_pem)})),
    "options override the kubeconfig": lambda t: _auth(
        kubeconfig=_kubeconfig({"server": "https://h"}, {"token": "kubeconfig-token"}), api_key="option-token",
        host="https://other:6443/", ca_cert=t["ca"], validate_certs=False, proxy="http://p:8080",
        proxy_headers={"proxy_basic_auth": "a:b"}),
    "host and token alone": lambda t: _auth(host="https://h:6443", api_key="tok", ca_cert=t["ca"]),
    "host and client certificate files": lambda t: _auth(host="https://h", client_cert=t["cert"], client_key=t["key"]),
}


def _write_kubeconfig(tls_files, content):
    (tls_files["base"] / "token").write_text("file-token\n")
    path = tls_files["base"] / "kubeconfig"
    path.write_text(json.dumps(content))
    return str(path)


@pytest.mark.parametrize("case", sorted(CASES))
def test_settings_are_the_ones_kubernetes_config_gives(case, tls, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    direct, reference = _both(monkeypatch, CASES[case](tls))
    assert direct.host == reference.host
    # One deliberate difference: a token file's newline is dropped (as client-go and kubectl do);
    # the Python client would put it into the header, which urllib3 then refuses to send.
    header = direct.auth_settings().get("BearerToken", {}).get("value")
    assert header == ((reference.auth_settings().get("BearerToken", {}).get("value") or "").strip() or None)
    assert header is None or header == header.strip()
    assert direct.verify_ssl == reference.verify_ssl
    assert direct.tls_server_name == reference.tls_server_name
    assert direct.proxy == reference.proxy
    assert (direct.proxy_headers or {}) == (reference.proxy_headers or {})
    assert direct.retries is False and reference.retries is False
    # The client writes kubeconfig data to temporary files; compare what they hold.
    ca = direct.ca_cert_data.encode() if direct.ca_cert_data else (_file_text(direct.ssl_ca_cert) if direct.ssl_ca_cert else None)
    assert ca == (_file_text(reference.ssl_ca_cert) if reference.ssl_ca_cert else None)
    assert bool(direct.cert_file or case == "client certificate data") == bool(reference.cert_file)


@pytest.mark.parametrize("case, user, extra", [
    ("exec plugin", {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "true"}}, {}),
    ("auth provider", {"auth-provider": {"name": "oidc", "config": {}}}, {}),
    ("no_proxy rules", {"token": "t"}, {"proxy": "http://p:3128", "no_proxy": "h"}),
])
def test_what_it_does_not_model_goes_through_the_kubernetes_client(case, user, extra, monkeypatch):
    auth = _auth(kubeconfig=_kubeconfig({"server": "https://h"}, user), **extra)
    try:
        client = create_api_client(auth)
    except KubeApiError:
        return  # the client's own loader refused it (an exec command that prints nothing): not ours
    assert not isinstance(client, DirectApiClient), case


def test_merged_kubeconfig_list_and_the_switch_use_the_kubernetes_client(tls, monkeypatch, tmp_path):
    path = tmp_path / "one"
    path.write_text(json.dumps(_kubeconfig({"server": "https://h"}, {"token": "t"})))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert not isinstance(create_api_client(_auth(kubeconfig="%s%s%s" % (path, os.pathsep, tmp_path / "two"))), DirectApiClient)
    assert isinstance(create_api_client(_auth(kubeconfig=str(path))), DirectApiClient)
    monkeypatch.setenv(FORCE_CLIENT_ENV, "1")
    assert not isinstance(create_api_client(_auth(kubeconfig=str(path))), DirectApiClient)


def test_missing_ca_file_named_before_any_request(tmp_path):
    config = _kubeconfig({"server": "https://h", "certificate-authority": str(tmp_path / "ca")}, {"token": "t"})
    with pytest.raises(KubeApiError) as caught:
        create_api_client(_auth(kubeconfig=config))
    assert str(caught.value) == "kubeconfig (dictionary) cannot be loaded: File does not exist: %s" % (tmp_path / "ca")


def test_a_task_with_static_credentials_never_imports_the_kubernetes_client(tls):
    script = (
        "import sys\n"
        "from ansible_collections.virt.kubevirt.plugins.module_utils import _module, _client\n"
        "client = _client.create_api_client(%r)\n"
        "print(type(client).__name__, 'kubernetes' in sys.modules)\n"
    ) % (_auth(host="https://h:6443", api_key="tok", ca_cert=tls["ca"]),)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    env.pop(FORCE_CLIENT_ENV, None)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    assert result.stdout.split() == ["DirectApiClient", "False"], result.stderr


class _Handler(http.server.BaseHTTPRequestHandler):
    seen = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).seen.append(dict(self.headers))
        body = json.dumps({"kind": "Status", "status": "Success"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def https_server(tls):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = tls["material"].server_context().wrap_socket(server.socket, server_side=True) \
        if callable(getattr(tls["material"], "server_context", None)) else server.socket
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Handler.seen = []
    yield "https://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()


def test_request_over_verified_tls_carries_token_agent_and_impersonation(https_server, tls):
    client = create_api_client(_auth(host=https_server, api_key="tok", ca_cert=tls["ca"], impersonate_user="alice",
                                     impersonate_groups=["ops", "dev"]))
    response = send(client, "GET", "/version")
    assert response.json() == {"kind": "Status", "status": "Success"}
    headers = {key.lower(): value for key, value in _Handler.seen[-1].items()}
    assert headers["authorization"] == "Bearer tok"
    assert headers["user-agent"] == "virt.kubevirt"
    assert headers["impersonate-user"] == "alice" and headers["impersonate-group"] == "ops,dev"


def test_unknown_ca_fails_as_tls_and_tls_server_name_is_checked(https_server, tls, tmp_path):
    from tests.cluster.tls import generate

    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(generate().ca_pem)
    with pytest.raises(KubeApiError) as caught:
        send(create_api_client(_auth(host=https_server, api_key="tok", ca_cert=str(other_ca))), "GET", "/version")
    assert caught.value.reason == "SSLError" and "certificate verify failed" in str(caught.value)
    config = _kubeconfig({"server": https_server, "certificate-authority": tls["ca"], "tls-server-name": "api.other"},
                         {"token": "tok"})
    with pytest.raises(KubeApiError) as caught:
        send(create_api_client(_auth(kubeconfig=config)), "GET", "/version")
    assert caught.value.reason == "SSLError"
    config["clusters"][0]["cluster"]["tls-server-name"] = "localhost"
    assert send(create_api_client(_auth(kubeconfig=config)), "GET", "/version").status == 200
    # validate_certs: false talks to any server, as the kubernetes client does.
    assert send(create_api_client(_auth(host=https_server, api_key="tok", validate_certs=False)), "GET", "/version").status == 200


def test_ca_data_that_is_not_pem_is_named_at_the_first_request():
    config = _kubeconfig({"server": "https://127.0.0.1:9", "certificate-authority-data": _b64(b"junk")}, {"token": "t"})
    client = create_api_client(_auth(kubeconfig=config))
    with pytest.raises(KubeApiError) as caught:
        send(client, "GET", "/version")
    assert caught.value.reason == "ConfigError"
    assert str(caught.value).startswith("kubeconfig (dictionary) cannot be loaded:")
