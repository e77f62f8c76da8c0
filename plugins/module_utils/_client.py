# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Build the API client from resolved connection options (kubernetes.core semantics).

Static credentials get a DirectApiClient (urllib3 alone, no kubernetes client import); the rest a
kubernetes ApiClient configured by kubernetes.config, imported only then.
"""

from __future__ import annotations

import os
from typing import Any, Mapping
from urllib.parse import urlsplit

from ansible_collections.virt.kubevirt.plugins.module_utils._auth import AuthOptionError, validate_auth
from ansible_collections.virt.kubevirt.plugins.module_utils._direct_client import DirectApiClient
from ansible_collections.virt.kubevirt.plugins.module_utils._direct_settings import direct_settings, explicit_credentials
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._kubeconfig import (
    KubeconfigError,
    default_kubeconfig_paths,
    inspect_kubeconfig,
)

try:
    import urllib3
except ImportError:  # pragma: no cover - reported by the module base via missing_required_lib
    urllib3 = None

USER_AGENT = "virt.kubevirt"


def _kubeconfig_label(auth: Mapping[str, Any]) -> str:
    kubeconfig = auth.get("kubeconfig")
    if isinstance(kubeconfig, dict):
        where = "kubeconfig (dictionary)"
    elif kubeconfig:
        where = "kubeconfig %s" % kubeconfig
    else:
        where = "kubeconfig %s" % default_kubeconfig_paths(os.environ)[0]
    return where + (", context %s" % auth["context"] if auth.get("context") else "")


def _kubernetes():
    """(client, config, ConfigException) of the kubernetes package, imported on first use."""
    # pylint: disable=import-outside-toplevel
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException

    return k8s_client, k8s_config, ConfigException


def _load_kubeconfig(configuration: Any, auth: Mapping[str, Any]) -> None:
    _client_module, k8s_config, config_exception = _kubernetes()
    kubeconfig = auth.get("kubeconfig")
    context = auth.get("context")
    try:
        if isinstance(kubeconfig, dict):
            k8s_config.load_kube_config_from_dict(
                kubeconfig, context=context, client_configuration=configuration, persist_config=False
            )
        else:
            k8s_config.load_kube_config(
                config_file=os.path.expanduser(kubeconfig) if kubeconfig else None, context=context,
                client_configuration=configuration, persist_config=False,
            )
    except (config_exception, OSError, ValueError, TypeError, AttributeError, KeyError) as exc:
        # Files the kubeconfig refers to (certificate-authority, client-certificate, exec plugins).
        raise AuthOptionError("%s cannot be loaded: %s" % (_kubeconfig_label(auth), " ".join(str(exc).split()))) from None


def _in_cluster(configuration: Any) -> bool:
    _client_module, k8s_config, config_exception = _kubernetes()
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)
    except config_exception:
        return False
    return True


def _load_defaults(configuration: Any, auth: Mapping[str, Any]) -> None:
    if explicit_credentials(auth):
        return
    if not (auth.get("kubeconfig") or auth.get("context")):
        if _in_cluster(configuration):
            return
        try:
            inspect_kubeconfig(None, None)
        except KubeconfigError as exc:
            raise AuthOptionError(
                "no cluster credentials: not running in a pod with a service account, and %s. Pass kubeconfig "
                "and context, or host with api_key (or set K8S_AUTH_KUBECONFIG / K8S_AUTH_HOST and K8S_AUTH_API_KEY)"
                % exc
            ) from None
    _load_kubeconfig(configuration, auth)


def _apply_overrides(configuration: Any, auth: Mapping[str, Any]) -> None:
    if auth.get("host"):
        configuration.host = auth["host"].rstrip("/")
    header = None
    if auth.get("api_key"):
        header = "Bearer %s" % auth["api_key"]
    elif auth.get("username") and auth.get("password"):
        configuration.username = auth["username"]
        configuration.password = auth["password"]
        header = configuration.get_basic_auth_token()
    if header:
        # Drop the kubeconfig's credentials, including the hook that would re-install its token.
        configuration.api_key = {"authorization": header}
        configuration.api_key_prefix = {}
        configuration.refresh_api_key_hook = None
    if auth.get("client_cert"):
        configuration.cert_file = auth["client_cert"]
    if auth.get("client_key"):
        configuration.key_file = auth["client_key"]
    if auth.get("ca_cert"):
        configuration.ssl_ca_cert = auth["ca_cert"]
    if auth.get("validate_certs") is not None:
        configuration.verify_ssl = bool(auth["validate_certs"])
    if auth.get("proxy"):
        configuration.proxy = auth["proxy"]
    if auth.get("no_proxy"):
        configuration.no_proxy = auth["no_proxy"]
    headers = {key: value for key, value in (auth.get("proxy_headers") or {}).items() if value is not None}
    if headers:
        configuration.proxy_headers = urllib3.util.make_headers(**headers)
    # Retries are the engine's job (bounded, jittered, Retry-After aware); keep urllib3 out of it.
    configuration.retries = False


def _refuse_cleartext(host: str, has_credentials: bool, auth: Mapping[str, Any]) -> None:
    """The final server URL must be https whenever a credential would go with the request.

    Without a scheme urllib3 speaks plain http, so a kubeconfig server such as 127.0.0.1:6443
    would leak the token; plain http stays possible only without credentials (kubectl proxy).
    """
    source = "host" if auth.get("host") else "the server of %s" % _kubeconfig_label(auth)
    scheme = urlsplit(host).scheme.lower() if "://" in host else ""
    if scheme == "https":
        return
    if scheme != "http":
        raise AuthOptionError("%s must be an https:// URL such as https://api.example.com:6443, got %r" % (source, host))
    if has_credentials:
        raise AuthOptionError(
            "%s is plain http (%s): refusing to send credentials in cleartext; use https://" % (source, host)
        )


def _has_credentials(configuration: Any) -> bool:
    api_key = configuration.api_key if isinstance(configuration.api_key, dict) else {}
    return bool(any(api_key.values()) or configuration.username or configuration.cert_file
                or configuration.refresh_api_key_hook)


def _set_impersonation(api_client: Any, auth: Mapping[str, Any]) -> None:
    if auth.get("impersonate_user"):
        api_client.set_default_header("Impersonate-User", auth["impersonate_user"])
    if auth.get("impersonate_groups"):
        # Same encoding as kubernetes.core: one comma-joined header.
        api_client.set_default_header("Impersonate-Group", ",".join(auth["impersonate_groups"]))


def _direct_client(auth: Mapping[str, Any]) -> Any:
    settings = direct_settings(auth)
    if settings is None:
        return None
    _refuse_cleartext(settings.host, settings.has_credentials, auth)
    try:
        source = "ca_cert / client_cert" if auth.get("ca_cert") or auth.get("client_cert") else _kubeconfig_label(auth)
        api_client = DirectApiClient(settings, USER_AGENT, source)
    except ValueError as exc:
        # A CA or client certificate file the kubeconfig names that does not exist.
        raise AuthOptionError("%s cannot be loaded: %s" % (_kubeconfig_label(auth), " ".join(str(exc).split()))) from None
    _set_impersonation(api_client, auth)
    return api_client


def create_api_client(auth: Mapping[str, Any]) -> Any:
    """A ``kubernetes.client.ApiClient`` for the given connection options (None means unset).

    Every option is checked before the client exists, and nothing is sent here: a bad option is a
    KubeApiError (reason ConfigError) naming it.
    """
    try:
        auth = validate_auth(auth)
        direct = _direct_client(auth)
        if direct is not None:
            return direct
        k8s_client = _kubernetes()[0]
        configuration = k8s_client.Configuration()
        _load_defaults(configuration, auth)
        _apply_overrides(configuration, auth)
        _refuse_cleartext(str(configuration.host or ""), _has_credentials(configuration), auth)
    except AuthOptionError as exc:
        raise KubeApiError(str(exc), reason="ConfigError") from None
    api_client = k8s_client.ApiClient(configuration)
    api_client.user_agent = USER_AGENT
    _set_impersonation(api_client, auth)
    return api_client
