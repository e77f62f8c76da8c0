# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection options, named as in kubernetes.core so AAP's K8S_AUTH_* credentials just work."""

from __future__ import annotations

import copy
from typing import Any, Dict, Mapping

from ansible.module_utils.basic import env_fallback

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


def auth_arg_spec() -> Dict[str, Dict[str, Any]]:
    """A fresh copy, so callers may extend it without touching the shared spec."""
    return copy.deepcopy(AUTH_ARG_SPEC)


def auth_params(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The connection options out of a module's params."""
    return {name: params.get(name) for name in AUTH_OPTION_NAMES}
