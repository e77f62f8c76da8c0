# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection settings that need no kubernetes client.

Importing the kubernetes client and building its ApiClient costs about 0.25 s, more than the rest
of an unchanged task. When the credentials are static (a bearer token or token file, a client
certificate, basic auth; from the options or from one kubeconfig file), the engine talks to the
API server with urllib3 directly (_direct_client.py) with the settings resolved here, exactly as
kubernetes.config would resolve them. Anything else (exec plugins, auth providers, in-cluster
service accounts, merged KUBECONFIG lists, no_proxy rules) returns None and goes through the
kubernetes client as before.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

try:
    import urllib3
except ImportError:  # pragma: no cover - reported by the module base via missing_required_lib
    urllib3 = None

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    yaml = None

# Set to 1 to always use the kubernetes client (for comparison or to work around a problem).
FORCE_CLIENT_ENV = "VIRT_KUBEVIRT_KUBERNETES_CLIENT"

_USER_KEYS = frozenset(("token", "tokenFile", "client-certificate", "client-certificate-data", "client-key",
                        "client-key-data", "username", "password", "extensions"))
_CLUSTER_KEYS = frozenset(("server", "certificate-authority", "certificate-authority-data", "insecure-skip-tls-verify",
                           "tls-server-name", "proxy-url", "extensions", "disable-compression"))


@dataclass
class DirectSettings:
    """Where and how to connect; ``authorization`` is the Authorization header value."""

    host: str
    authorization: Optional[str] = None
    verify: bool = True
    ca_file: Optional[str] = None
    ca_data: Optional[str] = None
    cert_file: Optional[str] = None
    key_file: Optional[str] = None
    cert_data: Optional[bytes] = None
    key_data: Optional[bytes] = None
    tls_server_name: Optional[str] = None
    proxy: Optional[str] = None
    proxy_headers: Dict[str, str] = field(default_factory=dict)

    @property
    def has_credentials(self) -> bool:
        return bool(self.authorization or self.cert_file or self.cert_data)


def explicit_credentials(auth: Mapping[str, Any]) -> bool:
    """The options alone reach and authenticate (then the client ignores every kubeconfig too)."""
    return bool(
        (auth.get("host") and auth.get("api_key"))
        or (auth.get("host") and auth.get("username") and auth.get("password"))
        or (auth.get("host") and auth.get("client_cert") and auth.get("client_key"))
    )


def _single_kubeconfig(auth: Mapping[str, Any], environ: Mapping[str, str]):
    """(content, base folder) of the one kubeconfig in use, or None when it is not that simple."""
    kubeconfig = auth.get("kubeconfig")
    if isinstance(kubeconfig, dict):
        return kubeconfig, ""
    if kubeconfig is None:
        if auth.get("context") is None and environ.get("KUBERNETES_SERVICE_HOST"):
            return None  # maybe in a pod: the client's in-cluster loader decides
        kubeconfig = environ.get("KUBECONFIG") or "~/.kube/config"
    if not isinstance(kubeconfig, str) or os.pathsep in kubeconfig:
        return None  # a KUBECONFIG list is merged by the client's rules
    path = os.path.expanduser(kubeconfig)
    try:
        with open(path, "rb") as handle:
            content = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError):
        return None  # the client reports it (validate_auth has already checked the usual mistakes)
    return (content, os.path.dirname(os.path.abspath(path))) if isinstance(content, dict) else None


def _named(content: Mapping[str, Any], kind: str, name: Any) -> Optional[Dict[str, Any]]:
    for item in content.get(kind + "s") or []:
        if isinstance(item, dict) and item.get("name") == name and isinstance(item.get(kind), dict):
            return item[kind]
    return None


def _file_or_data(section: Mapping[str, Any], key: str, base: str):
    """(path, decoded data) of a kubeconfig FILE / FILE-data pair; a relative path is relative to
    the kubeconfig's folder, as in kubernetes.config."""
    data = section.get(key + "-data")
    if data:
        return None, base64.standard_b64decode(data)
    path = section.get(key)
    if path:
        return os.path.join(base, os.path.expanduser(path)), None
    return None, None


def _from_kubeconfig(auth: Mapping[str, Any], environ: Mapping[str, str]) -> Optional[DirectSettings]:
    found = _single_kubeconfig(auth, environ)
    if found is None:
        return None
    content, base = found
    context = _named(content, "context", auth.get("context") or content.get("current-context"))
    if context is None:
        return None
    cluster = _named(content, "cluster", context.get("cluster")) or {}
    user = _named(content, "user", context.get("user")) or {}
    if set(user) - _USER_KEYS or set(cluster) - _CLUSTER_KEYS or not cluster.get("server"):
        return None  # exec, auth-provider, impersonation in the kubeconfig...: the client's job
    settings = DirectSettings(host=str(cluster["server"]).rstrip("/"))
    if settings.host.startswith("https"):
        settings.ca_file, ca_data = _file_or_data(cluster, "certificate-authority", base)
        settings.ca_data = ca_data.decode("ascii") if ca_data else None
        settings.cert_file, settings.cert_data = _file_or_data(user, "client-certificate", base)
        settings.key_file, settings.key_data = _file_or_data(user, "client-key", base)
    if "insecure-skip-tls-verify" in cluster:
        settings.verify = not cluster["insecure-skip-tls-verify"]
    settings.tls_server_name = cluster.get("tls-server-name") or None
    settings.proxy = cluster.get("proxy-url") or None
    if user.get("token"):
        settings.authorization = "Bearer %s" % user["token"]
    elif user.get("tokenFile"):
        try:
            with open(os.path.join(base, user["tokenFile"]), encoding="utf-8") as handle:
                settings.authorization = "Bearer %s" % handle.read().strip()
        except OSError:
            return None
    elif user.get("username") and user.get("password"):
        settings.authorization = _basic(user["username"], user["password"])
    return settings


def _basic(username: str, password: str) -> str:
    return urllib3.util.make_headers(basic_auth="%s:%s" % (username, password))["authorization"]


def _proxy_headers(headers: Optional[Mapping[str, Any]]) -> Dict[str, str]:
    """What the client's Configuration gets from kubernetes.core's proxy_headers (see _client.py)."""
    given = {key: value for key, value in (headers or {}).items() if value is not None}
    return urllib3.util.make_headers(**given) if given else {}


def direct_settings(auth: Mapping[str, Any], environ: Optional[Mapping[str, str]] = None) -> Optional[DirectSettings]:
    """The settings for urllib3, or None to use the kubernetes client; ``auth`` is validated."""
    environ = os.environ if environ is None else environ
    if environ.get(FORCE_CLIENT_ENV) == "1" or (auth.get("proxy") and auth.get("no_proxy")):
        return None
    settings = DirectSettings(host="") if explicit_credentials(auth) else _from_kubeconfig(auth, environ)
    if settings is None:
        return None
    # The options override the kubeconfig, one by one (kubernetes.core semantics, see _client.py).
    if auth.get("host"):
        settings.host = auth["host"].rstrip("/")
    if auth.get("api_key"):
        settings.authorization = "Bearer %s" % auth["api_key"]
    elif auth.get("username") and auth.get("password"):
        settings.authorization = _basic(auth["username"], auth["password"])
    if auth.get("client_cert"):
        settings.cert_file, settings.cert_data = auth["client_cert"], None
    if auth.get("client_key"):
        settings.key_file, settings.key_data = auth["client_key"], None
    if auth.get("ca_cert"):
        settings.ca_file, settings.ca_data = auth["ca_cert"], None
    if auth.get("validate_certs") is not None:
        settings.verify = bool(auth["validate_certs"])
    if auth.get("proxy"):
        settings.proxy = auth["proxy"]
    settings.proxy_headers = _proxy_headers(auth.get("proxy_headers"))
    if settings.proxy and settings.proxy.lower().startswith("socks"):
        return None  # needs urllib3's SOCKS extra; the client path reports it if missing
    return settings if settings.host else None
