# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Build a kubernetes ApiClient from resolved connection options (kubernetes.core semantics)."""

from __future__ import annotations

import os
from typing import Any, Mapping
from urllib.parse import urlsplit

from ansible_collections.virt.kubevirt.plugins.module_utils._auth import AuthOptionError, validate_auth
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._kubeconfig import (
    KubeconfigError,
    default_kubeconfig_paths,
    inspect_kubeconfig,
)

try:
    import urllib3
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException
except ImportError:  # pragma: no cover - reported by the module base via missing_required_lib
    k8s_client = None
    k8s_config = None
    ConfigException = Exception

USER_AGENT = "virt.kubevirt"


def _is_set(auth: Mapping[str, Any], *names: str) -> bool:
    return all(auth.get(name) for name in names)


def _explicit_credentials(auth: Mapping[str, Any]) -> bool:
    """True when the options alone are enough to reach and authenticate to a cluster."""
    return (
        _is_set(auth, "host", "api_key")
        or _is_set(auth, "host", "username", "password")
        or _is_set(auth, "host", "client_cert", "client_key")
    )


def _kubeconfig_label(auth: Mapping[str, Any]) -> str:
    kubeconfig = auth.get("kubeconfig")
    if isinstance(kubeconfig, dict):
        where = "kubeconfig (dictionary)"
    elif kubeconfig:
        where = "kubeconfig %s" % kubeconfig
    else:
        where = "kubeconfig %s" % default_kubeconfig_paths(os.environ)[0]
    return where + (", context %s" % auth["context"] if auth.get("context") else "")


def _load_kubeconfig(configuration: Any, auth: Mapping[str, Any]) -> None:
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
    except (ConfigException, OSError, ValueError, TypeError, AttributeError, KeyError) as exc:
        # Files the kubeconfig refers to (certificate-authority, client-certificate, exec plugins).
        raise AuthOptionError("%s cannot be loaded: %s" % (_kubeconfig_label(auth), " ".join(str(exc).split()))) from None


def _in_cluster(configuration: Any) -> bool:
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)
    except ConfigException:
        return False
    return True


def _load_defaults(configuration: Any, auth: Mapping[str, Any]) -> None:
    if _explicit_credentials(auth):
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


def _refuse_cleartext(configuration: Any, auth: Mapping[str, Any]) -> None:
    """The final server URL must be https whenever a credential would go with the request.

    Without a scheme urllib3 speaks plain http, so a kubeconfig server such as 127.0.0.1:6443
    would leak the token; plain http stays possible only without credentials (kubectl proxy).
    """
    host = str(configuration.host or "")
    source = "host" if auth.get("host") else "the server of %s" % _kubeconfig_label(auth)
    scheme = urlsplit(host).scheme.lower() if "://" in host else ""
    if scheme == "https":
        return
    if scheme != "http":
        raise AuthOptionError("%s must be an https:// URL such as https://api.example.com:6443, got %r" % (source, host))
    api_key = configuration.api_key if isinstance(configuration.api_key, dict) else {}
    if any(api_key.values()) or configuration.username or configuration.cert_file or configuration.refresh_api_key_hook:
        raise AuthOptionError(
            "%s is plain http (%s): refusing to send credentials in cleartext; use https://" % (source, host)
        )


def create_api_client(auth: Mapping[str, Any]) -> Any:
    """A ``kubernetes.client.ApiClient`` for the given connection options (None means unset).

    Every option is checked before the client exists, and nothing is sent here: a bad option is a
    KubeApiError (reason ConfigError) naming it.
    """
    try:
        auth = validate_auth(auth)
        configuration = k8s_client.Configuration()
        _load_defaults(configuration, auth)
        _apply_overrides(configuration, auth)
        _refuse_cleartext(configuration, auth)
    except AuthOptionError as exc:
        raise KubeApiError(str(exc), reason="ConfigError") from None
    api_client = k8s_client.ApiClient(configuration)
    api_client.user_agent = USER_AGENT
    if auth.get("impersonate_user"):
        api_client.set_default_header("Impersonate-User", auth["impersonate_user"])
    if auth.get("impersonate_groups"):
        # Same encoding as kubernetes.core: one comma-joined header.
        api_client.set_default_header("Impersonate-Group", ",".join(auth["impersonate_groups"]))
    return api_client
