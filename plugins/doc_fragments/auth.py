# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection options shared by every module and plugin (kubernetes.core names and variables)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig content as a dictionary.
      - Loaded by the kubernetes Python client's own loader, so exec plugins, tokens and client
        certificates work as with C(kubectl).
      - When neither O(kubeconfig), O(context) nor explicit credentials are given, the in-cluster
        service account is tried first, then C(~/.kube/config) (or E(KUBECONFIG)).
      - Can also be set with E(K8S_AUTH_KUBECONFIG).
    type: raw
  context:
    description:
      - The kubeconfig context to use.
      - Can also be set with E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description:
      - URL of the Kubernetes API server, for example V(https://api.example.com:6443).
      - Overrides the server of the kubeconfig context.
      - Can also be set with E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token used to authenticate, for example an OpenShift token or a ServiceAccount token.
      - Can also be set with E(K8S_AUTH_API_KEY).
    type: str
  username:
    description:
      - User name for HTTP basic authentication (only where the API server still allows it).
      - Can also be set with E(K8S_AUTH_USERNAME).
    type: str
  password:
    description:
      - Password for HTTP basic authentication.
      - Can also be set with E(K8S_AUTH_PASSWORD).
    type: str
  client_cert:
    description:
      - Path to a client certificate file for mutual TLS.
      - Can also be set with E(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path to the key file of O(client_cert).
      - Can also be set with E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
  ca_cert:
    description:
      - Path to a CA certificate file used to verify the API server.
      - Can also be set with E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate. Leave this on outside of throw-away labs.
      - Defaults to the kubeconfig setting, which is V(true) unless the cluster entry says
        C(insecure-skip-tls-verify).
      - Can also be set with E(K8S_AUTH_VERIFY_SSL).
    type: bool
    aliases: [verify_ssl]
  proxy:
    description:
      - HTTP(S) or SOCKS proxy URL used to reach the API server.
      - Can also be set with E(K8S_AUTH_PROXY).
    type: str
  no_proxy:
    description:
      - Comma-separated hosts, domains and CIDRs reached without O(proxy).
      - Can also be set with E(K8S_AUTH_NO_PROXY).
    type: str
  proxy_headers:
    description:
      - Headers sent to the O(proxy).
    type: dict
    suboptions:
      proxy_basic_auth:
        description:
          - C(user:password) for the proxy's basic authentication.
          - Can also be set with E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH).
        type: str
      basic_auth:
        description:
          - C(user:password) sent as an C(Authorization) header.
          - Can also be set with E(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH).
        type: str
      user_agent:
        description:
          - User agent sent to the proxy.
          - Can also be set with E(K8S_AUTH_PROXY_HEADERS_USER_AGENT).
        type: str
  impersonate_user:
    description:
      - User name to impersonate (C(Impersonate-User) header); the caller needs the C(impersonate) permission.
      - Can also be set with E(K8S_AUTH_IMPERSONATE_USER).
    type: str
  impersonate_groups:
    description:
      - Groups to impersonate (C(Impersonate-Group) header).
      - Can also be set with E(K8S_AUTH_IMPERSONATE_GROUPS) as a comma-separated list.
    type: list
    elements: str
requirements:
  - python >= 3.9
  - kubernetes >= 30.1.0
notes:
  - Option names and E(K8S_AUTH_*) variables match M(kubernetes.core.k8s), so the OpenShift or
    Kubernetes credential types of Ansible Automation Platform work unchanged, and
    C(module_defaults) for the C(group/virt.kubevirt.kubevirt) action group can carry them.
  - Resources are addressed by their known API group, version and plural; no API discovery
    request is ever sent.
"""
