# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection options, named as in kubernetes.core so AAP's K8S_AUTH_* credentials just work."""

from __future__ import annotations

import copy
import os
import re
import ssl
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import SplitResult, urlsplit

from ansible.module_utils.basic import env_fallback

from ansible_collections.virt.kubevirt.plugins.module_utils._kubeconfig import KubeconfigError, inspect_kubeconfig

AUTH_ARG_SPEC: Dict[str, Dict[str, Any]] = {
    "kubeconfig": {"type": "raw", "fallback": (env_fallback, ["K8S_AUTH_KUBECONFIG"])},
    "context": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_CONTEXT"])},
    "host": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_HOST"])},
    "api_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["K8S_AUTH_API_KEY"])},
    "username": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_USERNAME"])},
    "password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["K8S_AUTH_PASSWORD"])},
    "client_cert": {"type": "path", "aliases": ["cert_file"], "fallback": (env_fallback, ["K8S_AUTH_CERT_FILE"])},
    "client_key": {"type": "path", "aliases": ["key_file"], "fallback": (env_fallback, ["K8S_AUTH_KEY_FILE"])},
    "ca_cert": {
        "type": "path",
        "aliases": ["ssl_ca_cert"],
        "fallback": (env_fallback, ["K8S_AUTH_SSL_CA_CERT"]),
    },
    "validate_certs": {
        "type": "bool",
        "aliases": ["verify_ssl"],
        "fallback": (env_fallback, ["K8S_AUTH_VERIFY_SSL"]),
    },
    "proxy": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_PROXY"])},
    "no_proxy": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_NO_PROXY"])},
    "proxy_headers": {
        "type": "dict",
        "options": {
            "proxy_basic_auth": {
                "type": "str",
                "no_log": True,
                "fallback": (env_fallback, ["K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH"]),
            },
            "basic_auth": {
                "type": "str",
                "no_log": True,
                "fallback": (env_fallback, ["K8S_AUTH_PROXY_HEADERS_BASIC_AUTH"]),
            },
            "user_agent": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_PROXY_HEADERS_USER_AGENT"])},
        },
    },
    "impersonate_user": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_IMPERSONATE_USER"])},
    "impersonate_groups": {
        "type": "list",
        "elements": "str",
        "fallback": (env_fallback, ["K8S_AUTH_IMPERSONATE_GROUPS"]),
    },
}

AUTH_OPTION_NAMES = tuple(AUTH_ARG_SPEC)

# kubernetes.core's variable for each option (the first fallback), for messages.
ENV_VARS: Dict[str, str] = {
    name: spec["fallback"][1][0] for name, spec in AUTH_ARG_SPEC.items() if "fallback" in spec
}
SECRET_OPTIONS = ("api_key", "password")
_HOST_EXAMPLE = "https://api.example.com:6443"
_PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")
# A path the client appends /api/v1/... to: a pasted endpoint gives 404s for every request.
_ENDPOINT_PATHS = ("/api", "/apis", "/version", "/healthz", "/readyz", "/livez")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class AuthOptionError(ValueError):
    """A connection option that cannot work; the message names the option and what it expects."""


def auth_arg_spec() -> Dict[str, Dict[str, Any]]:
    """A fresh copy, so callers may extend it without touching the shared spec."""
    return copy.deepcopy(AUTH_ARG_SPEC)


def auth_params(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The connection options out of a module's params."""
    return {name: params.get(name) for name in AUTH_OPTION_NAMES}


def option_label(name: str, value: Any, environ: Optional[Mapping[str, str]] = None) -> str:
    """``name``, or ``name (from K8S_AUTH_X)`` when the value is the one of the variable."""
    env = ENV_VARS.get(name)
    environ = os.environ if environ is None else environ
    if env and env in environ and value is not None and str(environ[env]) == str(value):
        return "%s (from %s)" % (name, env)
    return name


def _fail(name: str, value: Any, text: str, environ: Optional[Mapping[str, str]], show: bool = True) -> AuthOptionError:
    # A URL with user:password@ is shown without its credentials.
    shown = value
    if isinstance(value, str) and "@" in value and "://" in value:
        scheme, rest = value.split("://", 1)
        shown = "%s://***@%s" % (scheme, rest.rpartition("@")[2])
    got = ", got %r" % (shown,) if show else ""
    return AuthOptionError("%s %s%s" % (option_label(name, value, environ), text, got))


def check_url(url: str, name: str, schemes: Tuple[str, ...], environ: Optional[Mapping[str, str]] = None) -> SplitResult:
    """``url`` split, or AuthOptionError when it is not ``scheme://host[:port][/path]``."""
    expect = "must be a URL such as %s" % (_HOST_EXAMPLE if name == "host" else "http://proxy.example.com:3128")
    if not isinstance(url, str) or not url.strip() or url != url.strip() or _CONTROL.search(url):
        raise _fail(name, url, expect + " without spaces", environ)
    parts = urlsplit(url)
    if "://" not in url or not parts.scheme:
        raise _fail(name, url, expect + " (the scheme is missing; without one the client would use "
                    "plain http and send credentials in cleartext)", environ)
    if parts.scheme.lower() not in schemes:
        raise _fail(name, url, "%s; the scheme must be one of %s" % (expect, ", ".join(schemes)), environ)
    if not parts.hostname:
        raise _fail(name, url, expect + " (no host name after %s://)" % parts.scheme, environ)
    try:
        parts.port  # noqa: B018  pylint: disable=pointless-statement
    except ValueError:
        raise _fail(name, url, expect + " (the port must be a number from 1 to 65535)", environ) from None
    if parts.query or parts.fragment or " " in parts.netloc:
        raise _fail(name, url, expect + " (no query string or fragment)", environ)
    return parts


def _check_host(auth: Mapping[str, Any], environ: Optional[Mapping[str, str]]) -> None:
    host = auth.get("host")
    if host is None:
        return
    parts = check_url(host, "host", ("https", "http"), environ)
    path = parts.path.rstrip("/")
    if path.endswith(_ENDPOINT_PATHS):
        raise _fail("host", host, "must be the API server's base URL such as %s, without the API path %s"
                    % (_HOST_EXAMPLE, path[path.rfind("/"):]), environ)


def _check_token(name: str, value: Any, environ: Optional[Mapping[str, str]]) -> Optional[str]:
    """The token without surrounding whitespace (a token read from a file ends in a newline)."""
    if value is None:
        return None
    token = str(value).strip()
    if not token:
        raise _fail(name, value, "is empty: give the bearer token, or leave %s unset to use the "
                    "kubeconfig's credentials" % name, environ, show=False)
    bad = re.search(r"[\s\x00-\x1f\x7f]", token)
    if bad:
        # Never echo the value: it is a secret.
        raise _fail(name, value, "must be one line of printable characters; it has %s at position %d"
                    % ("whitespace" if bad.group().isspace() else "a control character", bad.start() + 1),
                    environ, show=False)
    return token


def _check_file(name: str, path: Any, environ: Optional[Mapping[str, str]]) -> Optional[str]:
    if path is None:
        return None
    if not isinstance(path, str) or not path:
        raise _fail(name, path, "must be the path of a file", environ)
    expanded = os.path.expanduser(path)
    if not os.path.exists(expanded):
        raise _fail(name, path, "must be an existing file; %s does not exist" % expanded, environ, show=False)
    if os.path.isdir(expanded):
        raise _fail(name, path, "must be a file; %s is a directory" % expanded, environ, show=False)
    if not os.access(expanded, os.R_OK):
        raise _fail(name, path, "must be a readable file; %s cannot be read (permission denied)" % expanded,
                    environ, show=False)
    return expanded


def _check_certificates(auth: Mapping[str, Any], environ: Optional[Mapping[str, str]]) -> None:
    ca_cert = _check_file("ca_cert", auth.get("ca_cert"), environ)
    if ca_cert:
        try:
            ssl.create_default_context(cafile=ca_cert)
        except (ssl.SSLError, ValueError, OSError):
            raise _fail("ca_cert", auth["ca_cert"], "must be a file of PEM certificates "
                        "(-----BEGIN CERTIFICATE-----); %s is not" % ca_cert, environ, show=False) from None
    cert = _check_file("client_cert", auth.get("client_cert"), environ)
    key = _check_file("client_key", auth.get("client_key"), environ)
    if key and not cert:
        raise AuthOptionError("client_key needs client_cert, the certificate it belongs to")
    if cert:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(cert, key)
        except (ssl.SSLError, ValueError, OSError):
            raise AuthOptionError(
                "client_cert and client_key must be a PEM certificate and its private key (%s%s); they are not%s"
                % (cert, ", " + key if key else "", "" if key else " (give client_key unless the key is in client_cert)")
            ) from None


def _check_proxy(auth: Mapping[str, Any], environ: Optional[Mapping[str, str]]) -> None:
    if auth.get("proxy") is not None:
        check_url(auth["proxy"], "proxy", _PROXY_SCHEMES, environ)
    no_proxy = auth.get("no_proxy")
    if no_proxy is not None and (not isinstance(no_proxy, str) or _CONTROL.search(no_proxy)):
        raise _fail("no_proxy", no_proxy, "must be comma-separated hosts, domains or CIDRs", environ)
    headers = auth.get("proxy_headers")
    if headers is None:
        return
    if not isinstance(headers, dict):
        raise AuthOptionError("proxy_headers must be a dictionary with proxy_basic_auth, basic_auth or user_agent")
    for key, value in headers.items():
        if value is None:
            continue
        label = "proxy_headers.%s" % key
        if not isinstance(value, str) or _CONTROL.search(value):
            raise AuthOptionError("%s must be one line of text" % label)
        if key.endswith("basic_auth") and ":" not in value:
            raise AuthOptionError("%s must be user:password" % label)


def _check_impersonation(auth: Mapping[str, Any], environ: Optional[Mapping[str, str]]) -> None:
    user = auth.get("impersonate_user")
    groups = auth.get("impersonate_groups")
    if user is not None and (not str(user).strip() or _CONTROL.search(str(user))):
        raise _fail("impersonate_user", user, "must be the name of the user to act as; leave it unset to act "
                    "as yourself", environ)
    if groups is not None:
        names = [groups] if isinstance(groups, str) else list(groups)
        if not names or any(not isinstance(g, str) or not g.strip() or _CONTROL.search(g) for g in names):
            raise _fail("impersonate_groups", groups, "must be a non-empty list of group names", environ)
        if user is None:
            raise AuthOptionError("impersonate_groups needs impersonate_user: Kubernetes impersonates groups "
                                  "only together with a user")


def validate_auth(auth: Mapping[str, Any], environ: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """The connection options checked and normalised, before anything is sent.

    Raises AuthOptionError with a one-line message naming the option (and the K8S_AUTH_* variable
    it came from). Tokens lose surrounding whitespace: the value sent is the value masked.
    """
    values = dict(auth)
    _check_host(values, environ)
    values["api_key"] = _check_token("api_key", values.get("api_key"), environ)
    if values.get("password") is not None and _CONTROL.search(str(values["password"])):
        raise AuthOptionError("password must not contain control characters")
    _check_certificates(values, environ)
    _check_proxy(values, environ)
    _check_impersonation(values, environ)
    kubeconfig = values.get("kubeconfig")
    if kubeconfig is not None or values.get("context") is not None:
        try:
            inspect_kubeconfig(kubeconfig, values.get("context"), environ)
        except KubeconfigError as exc:
            raise AuthOptionError(str(exc)) from None
    return values


def secret_values(auth: Mapping[str, Any]) -> List[str]:
    """Every form of a secret that may be sent, so output masks exactly what is used."""
    found = []
    for name in SECRET_OPTIONS:
        value = auth.get(name)
        if value:
            found.append(str(value))
            if str(value).strip():
                found.append(str(value).strip())
    headers = auth.get("proxy_headers")
    for key in ("proxy_basic_auth", "basic_auth"):
        value = headers.get(key) if isinstance(headers, dict) else None
        if value and isinstance(value, str):
            found.append(value)
    return found
