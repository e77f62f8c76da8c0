# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import base64

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._auth import (
    AUTH_ARG_SPEC,
    AUTH_OPTION_NAMES,
    auth_arg_spec,
    auth_params,
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


def test_host_and_token_need_no_kubeconfig(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    api_client = create_api_client(_auth(host="https://api.example.com:6443/", api_key="t", ca_cert="/ca.pem"))
    assert api_client.configuration.host == "https://api.example.com:6443"
    assert api_client.configuration.ssl_ca_cert == "/ca.pem"


def test_basic_auth_becomes_an_authorization_header():
    api_client = create_api_client(_auth(host="https://h", username="u", password="p"))
    assert api_client.configuration.auth_settings()["BearerToken"]["value"] == "Basic dTpw"


def test_missing_kubeconfig_is_a_clear_error(tmp_path):
    with pytest.raises(KubeApiError) as caught:
        create_api_client(_auth(kubeconfig=str(tmp_path / "nope")))
    assert caught.value.reason == "ConfigError"
    assert "Could not load cluster credentials" in str(caught.value)
