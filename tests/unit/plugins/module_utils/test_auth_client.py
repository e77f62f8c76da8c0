# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import base64
import os

import pytest
import yaml

from ansible_collections.virt.kubevirt.plugins.module_utils._auth import (
    AUTH_ARG_SPEC,
    AUTH_OPTION_NAMES,
    AuthOptionError,
    auth_arg_spec,
    auth_params,
    check_url,
    option_label,
    secret_values,
    validate_auth,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._client import create_api_client
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError

CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def _kubeconfig(token="admin-token", server="https://127.0.0.1:6443"):
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server, "certificate-authority-data": base64.b64encode(CA_PEM).decode()}}],
        "users": [{"name": "admin", "user": {"token": token}}, {"name": "other", "user": {"token": "other-token"}}],
        "contexts": [{"name": "local", "context": {"cluster": "c", "user": "admin"}}, {"name": "restricted", "context": {"cluster": "c", "user": "other"}}],
        "current-context": "local",
    }


def _auth(**values):
    auth = {name: None for name in AUTH_OPTION_NAMES}
    auth.update(values)
    return auth


def test_option_names_match_kubernetes_core():
    assert set(AUTH_OPTION_NAMES) == {
        "kubeconfig", "context", "host", "api_key", "username", "password", "client_cert", "client_key",
        "ca_cert", "validate_certs", "proxy", "no_proxy", "proxy_headers", "impersonate_user", "impersonate_groups",
    }


def test_secrets_are_no_log_and_env_fallbacks_exist():
    assert AUTH_ARG_SPEC["api_key"]["no_log"] is True
    assert AUTH_ARG_SPEC["password"]["no_log"] is True
    assert AUTH_ARG_SPEC["api_key"]["fallback"][1] == ["K8S_AUTH_API_KEY"]
    assert AUTH_ARG_SPEC["validate_certs"]["fallback"][1] == ["K8S_AUTH_VERIFY_SSL"]
    assert AUTH_ARG_SPEC["proxy_headers"]["options"]["proxy_basic_auth"]["no_log"] is True


def test_auth_arg_spec_is_a_copy():
    spec = auth_arg_spec()
    spec["host"]["type"] = "int"
    assert AUTH_ARG_SPEC["host"]["type"] == "str"


def test_auth_params_picks_connection_options():
    assert auth_params({"host": "h", "name": "vm"}) == _auth(host="h")


def test_kubeconfig_dict_with_context():
    api_client = create_api_client(_auth(kubeconfig=_kubeconfig(), context="restricted"))
    config = api_client.configuration
    assert config.host == "https://127.0.0.1:6443"
    assert config.auth_settings()["BearerToken"]["value"] == "Bearer other-token"
    assert config.verify_ssl is True
    assert config.retries is False
    assert api_client.user_agent == "virt.kubevirt"


def test_explicit_options_override_the_kubeconfig():
    api_client = create_api_client(_auth(
        kubeconfig=_kubeconfig(), api_key="bad-token", validate_certs=False, proxy="http://proxy:3128",
        no_proxy="10.0.0.0/8", proxy_headers={"proxy_basic_auth": "u:p", "basic_auth": None, "user_agent": None},
        impersonate_user="alice", impersonate_groups=["ops", "dev"],
    ))
    config = api_client.configuration
    assert config.auth_settings()["BearerToken"]["value"] == "Bearer bad-token"
    assert config.verify_ssl is False
    assert config.proxy == "http://proxy:3128"
    assert config.no_proxy == "10.0.0.0/8"
    assert config.proxy_headers["proxy-authorization"].startswith("Basic ")
    assert api_client.default_headers["Impersonate-User"] == "alice"
    assert api_client.default_headers["Impersonate-Group"] == "ops,dev"


def test_host_and_token_need_no_kubeconfig(tmp_path, monkeypatch, tls):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    api_client = create_api_client(_auth(host="https://api.example.com:6443/", api_key="t", ca_cert=tls["ca"]))
    assert api_client.configuration.host == "https://api.example.com:6443"
    assert api_client.configuration.ssl_ca_cert == tls["ca"]


def test_basic_auth_becomes_an_authorization_header():
    api_client = create_api_client(_auth(host="https://h", username="u", password="p"))
    assert api_client.configuration.auth_settings()["BearerToken"]["value"] == "Basic dTpw"


def test_missing_kubeconfig_is_a_clear_error(tmp_path):
    with pytest.raises(KubeApiError) as caught:
        create_api_client(_auth(kubeconfig=str(tmp_path / "nope")))
    assert caught.value.reason == "ConfigError"
    assert str(caught.value) == "kubeconfig must be an existing kubeconfig file; %s does not exist" % (tmp_path / "nope")


# -- validation: every bad input is one line naming the option, before any client exists --------

@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A real CA file, a client certificate and key, and files that are not PEM."""
    from tests.cluster.tls import generate

    material = generate()
    base = tmp_path_factory.mktemp("tls")
    paths = {"ca": base / "ca.pem", "cert": base / "client.crt", "key": base / "client.key", "junk": base / "junk.txt"}
    paths["ca"].write_bytes(material.ca_pem)
    paths["cert"].write_bytes(material.cert_pem)
    paths["key"].write_bytes(material.key_pem)
    paths["junk"].write_text("not a certificate\n")
    return {key: str(value) for key, value in paths.items()}


def _write(tmp_path, name, text, mode=None):
    path = tmp_path / name
    path.write_text(text)
    if mode is not None:
        path.chmod(mode)
    return str(path)


BAD_INPUTS = [
    # (id, auth options, env, expected message (a {tmp} / {tls} format))
    ("host-no-scheme", {"host": "127.0.0.1:6443", "api_key": "t"}, {},
     "host must be a URL such as https://api.example.com:6443 (the scheme is missing; without one the client "
     "would use plain http and send credentials in cleartext), got '127.0.0.1:6443'"),
    ("host-name-no-scheme", {"host": "api.example.com:6443", "api_key": "t"}, {}, "host must be a URL such as"),
    ("host-ftp", {"host": "ftp://api.example.com", "api_key": "t"}, {}, "the scheme must be one of https, http"),
    ("host-one-slash", {"host": "https:/127.0.0.1:6443", "api_key": "t"}, {}, "the scheme is missing"),
    ("host-api-path", {"host": "https://127.0.0.1:6443/apis/", "api_key": "t"}, {},
     "host must be the API server's base URL such as https://api.example.com:6443, without the API path /apis"),
    ("host-bad-port", {"host": "https://127.0.0.1:64x", "api_key": "t"}, {}, "the port must be a number"),
    ("host-query", {"host": "https://127.0.0.1:6443?x=1", "api_key": "t"}, {}, "no query string or fragment"),
    ("host-env", {"host": "127.0.0.1:6443", "api_key": "t"}, {"K8S_AUTH_HOST": "127.0.0.1:6443"},
     "host (from K8S_AUTH_HOST) must be a URL"),
    ("http-with-token", {"host": "http://127.0.0.1:6443", "api_key": "t"}, {},
     "host is plain http (http://127.0.0.1:6443): refusing to send credentials in cleartext; use https://"),
    ("token-inner-space", {"host": "https://h", "api_key": "ab cd"}, {},
     "api_key must be one line of printable characters; it has whitespace at position 3"),
    ("token-control", {"host": "https://h", "api_key": "ab\x07cd"}, {}, "it has a control character at position 3"),
    ("token-empty", {"kubeconfig": "{kubeconfig}", "api_key": ""}, {},
     "api_key is empty: give the bearer token, or leave api_key unset to use the kubeconfig's credentials"),
    ("token-empty-env", {"kubeconfig": "{kubeconfig}", "api_key": "  \n"}, {"K8S_AUTH_API_KEY": "  \n"},
     "api_key (from K8S_AUTH_API_KEY) is empty"),
    ("kubeconfig-missing", {"kubeconfig": "{tmp}/nope"}, {},
     "kubeconfig must be an existing kubeconfig file; {tmp}/nope does not exist"),
    ("kubeconfig-env-missing", {"kubeconfig": "{tmp}/nope"}, {"K8S_AUTH_KUBECONFIG": "{tmp}/nope"},
     "kubeconfig (from K8S_AUTH_KUBECONFIG) must be an existing kubeconfig file"),
    ("kubeconfig-unreadable", {"kubeconfig": "{unreadable}"}, {}, "cannot be read (permission denied)"),
    ("kubeconfig-not-yaml", {"kubeconfig": "{notyaml}"}, {}, "is not a YAML kubeconfig (line 1, column"),
    ("kubeconfig-list", {"kubeconfig": "{yamllist}"}, {},
     "must be a YAML mapping with clusters, users and contexts, got a list"),
    ("kubeconfig-value-list", {"kubeconfig": ["a"]}, {},
     "kubeconfig must be the path of a kubeconfig file or the kubeconfig content as a dictionary, got list"),
    ("kubeconfig-no-contexts", {"kubeconfig": {"apiVersion": "v1", "clusters": []}}, {},
     "kubeconfig the kubeconfig dictionary has no contexts"),
    ("context-unknown", {"kubeconfig": "{kubeconfig}", "context": "prod"}, {},
     "context 'prod' is not a context of {kubeconfig}; available: local, restricted"),
    ("context-unknown-env", {"kubeconfig": "{kubeconfig}", "context": "prod"}, {"K8S_AUTH_CONTEXT": "prod"},
     "context (from K8S_AUTH_CONTEXT) 'prod' is not a context"),
    ("ca-missing", {"host": "https://h", "api_key": "t", "ca_cert": "{tmp}/ca.pem"}, {},
     "ca_cert must be an existing file; {tmp}/ca.pem does not exist"),
    ("ca-not-pem", {"host": "https://h", "api_key": "t", "ca_cert": "{junk}"}, {},
     "ca_cert must be a file of PEM certificates (-----BEGIN CERTIFICATE-----); {junk} is not"),
    ("ca-directory", {"host": "https://h", "api_key": "t", "ca_cert": "{tmp}"}, {}, "ca_cert must be a file; {tmp} is a directory"),
    ("cert-missing", {"host": "https://h", "client_cert": "{tmp}/c.crt", "client_key": "{key}"}, {},
     "client_cert must be an existing file"),
    ("key-missing", {"host": "https://h", "client_cert": "{cert}", "client_key": "{tmp}/c.key"}, {},
     "client_key must be an existing file"),
    ("cert-not-pem", {"host": "https://h", "client_cert": "{junk}", "client_key": "{key}"}, {},
     "client_cert and client_key must be a PEM certificate and its private key"),
    ("key-without-cert", {"host": "https://h", "api_key": "t", "client_key": "{key}"}, {}, "client_key needs client_cert"),
    ("proxy-not-url", {"host": "https://h", "api_key": "t", "proxy": "proxy.example.com"}, {},
     "proxy must be a URL such as http://proxy.example.com:3128"),
    ("proxy-secret-hidden", {"host": "https://h", "api_key": "t", "proxy": "ftp://u:secret@p:3128"}, {},
     "got 'ftp://***@p:3128'"),
    ("proxy-headers-shape", {"host": "https://h", "api_key": "t", "proxy_headers": "x"}, {},
     "proxy_headers must be a dictionary with proxy_basic_auth, basic_auth or user_agent"),
    ("proxy-basic-auth", {"host": "https://h", "api_key": "t", "proxy_headers": {"proxy_basic_auth": "user"}}, {},
     "proxy_headers.proxy_basic_auth must be user:password"),
    ("impersonate-empty", {"host": "https://h", "api_key": "t", "impersonate_user": ""}, {},
     "impersonate_user must be the name of the user to act as"),
    ("impersonate-groups-empty", {"host": "https://h", "api_key": "t", "impersonate_user": "u", "impersonate_groups": [""]}, {},
     "impersonate_groups must be a non-empty list of group names"),
    ("impersonate-groups-alone", {"host": "https://h", "api_key": "t", "impersonate_groups": ["g"]}, {},
     "impersonate_groups needs impersonate_user"),
]


@pytest.fixture
def files(tmp_path, tls):
    values = dict(tls, tmp=str(tmp_path))
    values["kubeconfig"] = _write(tmp_path, "config", yaml.safe_dump(_kubeconfig()))
    values["unreadable"] = _write(tmp_path, "unreadable", "x", mode=0)
    values["notyaml"] = _write(tmp_path, "notyaml", "{ not: yaml")
    values["yamllist"] = _write(tmp_path, "list", "- a\n- b\n")
    return values


def _fill(value, files):
    if isinstance(value, str):
        return value.format(**files)
    if isinstance(value, dict):
        return {key: _fill(item, files) for key, item in value.items()}
    return value


@pytest.mark.parametrize("options, env, expected", [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS])
def test_bad_connection_options_are_one_line_naming_the_option(options, env, expected, files, monkeypatch):
    if os.geteuid() == 0 and "{unreadable}" in str(options):
        pytest.skip("root reads any file")
    for key, value in env.items():
        monkeypatch.setenv(key, _fill(value, files))
    with pytest.raises(KubeApiError) as caught:
        create_api_client(_auth(**_fill(options, files)))
    message = str(caught.value)
    assert _fill(expected, files) in message
    assert "\n" not in message and caught.value.reason == "ConfigError" and caught.value.status is None
    assert "secret" not in message


def test_token_is_stripped_and_masked_in_that_form():
    auth = validate_auth(_auth(host="https://h", api_key="tok-123\n"))
    assert auth["api_key"] == "tok-123"
    assert set(secret_values({"api_key": "tok-123\n", "password": None})) == {"tok-123\n", "tok-123"}
    client = create_api_client(_auth(host="https://h", api_key=" tok-123\n"))
    assert client.configuration.auth_settings()["BearerToken"]["value"] == "Bearer tok-123"


def test_secret_values_include_proxy_credentials():
    assert secret_values({"proxy_headers": {"proxy_basic_auth": "u:p", "user_agent": "ua"}}) == ["u:p"]


def test_plain_http_without_credentials_is_allowed(tmp_path, monkeypatch):
    """kubectl proxy on loopback: nothing secret is sent, so http is fine."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    config = _kubeconfig(server="http://127.0.0.1:8001")
    config["users"][0]["user"] = {}
    assert create_api_client(_auth(kubeconfig=config)).configuration.host == "http://127.0.0.1:8001"


@pytest.mark.parametrize("server, expected", [
    ("http://127.0.0.1:6443", "the server of kubeconfig (dictionary) is plain http (http://127.0.0.1:6443): refusing"),
    ("127.0.0.1:6443", "the server of kubeconfig (dictionary) must be an https:// URL"),
])
def test_kubeconfig_server_without_tls_is_refused(server, expected):
    with pytest.raises(KubeApiError) as caught:
        create_api_client(_auth(kubeconfig=_kubeconfig(server=server)))
    assert expected in str(caught.value)


def test_kubeconfig_referring_to_a_missing_file(tmp_path):
    config = _kubeconfig()
    config["clusters"][0]["cluster"] = {"server": "https://h", "certificate-authority": str(tmp_path / "ca")}
    with pytest.raises(KubeApiError) as caught:
        create_api_client(_auth(kubeconfig=config, context="local"))
    assert str(caught.value) == "kubeconfig (dictionary), context local cannot be loaded: File does not exist: %s" % (tmp_path / "ca")


def test_no_credentials_anywhere(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubeApiError) as caught:
        create_api_client(_auth())
    assert str(caught.value).startswith("no cluster credentials: not running in a pod with a service account, and kubeconfig")
    assert str(tmp_path / "missing") in str(caught.value)


def test_client_certificate_pair(tls):
    client = create_api_client(_auth(host="https://h", client_cert=tls["cert"], client_key=tls["key"], ca_cert=tls["ca"]))
    assert client.configuration.cert_file == tls["cert"] and client.configuration.key_file == tls["key"]


def test_option_label_names_the_variable_only_when_it_is_the_source():
    assert option_label("host", "x", {"K8S_AUTH_HOST": "x"}) == "host (from K8S_AUTH_HOST)"
    assert option_label("host", "x", {"K8S_AUTH_HOST": "y"}) == "host"
    assert option_label("host", "x", {}) == "host"


@pytest.mark.parametrize("url", ["https://h", "https://h:6443", "http://10.0.0.1:8001", "https://rancher.example.com/k8s/clusters/c-1"])
def test_check_url_accepts(url):
    assert check_url(url, "host", ("https", "http")).hostname


def test_validate_auth_raises_auth_option_error():
    with pytest.raises(AuthOptionError):
        validate_auth(_auth(host="h:1"))
