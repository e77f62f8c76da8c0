# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Option mistakes fail before any request reaches the cluster; templated options are rendered.

The full table of messages is in tests/unit/plugins/inventory/test_options.py; these rows prove,
with the cluster's request log, that nothing at all was sent.
"""

from __future__ import annotations

import pytest

from .conftest import plain


def token_source(cluster, **config):
    """A source that would read the cluster successfully were it not for ``config``."""
    return dict({"host": cluster.url, "api_key": cluster.admin_token, "ca_cert": cluster.ca_file}, **config)


@pytest.fixture(scope="module")
def web(objects):
    ns = objects.namespace("opts")
    objects.vm(ns, "web", labels={"app": "web"})
    objects.wait_running(ns, "web")
    return ns


@pytest.mark.parametrize(
    "config, message",
    [
        # With a valid token but no CA, "maybe" used to turn verification off and succeed.
        ({"validate_certs": "maybe", "ca_cert": None}, "validate_certs must be true or false, got 'maybe'"),
        ({"namespace": "apps"}, "unknown option namespace (did you mean namespaces?)"),
        ({"connections": [{"namespace": "apps"}]}, "connections[0]: unknown option namespace (did you mean namespaces?)"),
        ({"label_selector": "app=web,"}, "label_selector 'app=web,' is not a valid label selector"),
        ({"namespaces": ["Web_Prod"]}, "namespaces[0]: must be lowercase letters, digits and '-'"),
        ({"host_format": "{name!x}"}, "host_format '{name!x}' is not a valid format string"),
        ({"use_service": "maybe"}, "use_service must be true or false"),
        ({"context": " "}, "context is empty"),
    ],
    ids=["validate_certs", "typo", "entry-typo", "selector", "namespace-name", "host_format", "bool", "blank"],
)
def test_option_mistakes_send_no_request(cluster, inventory, config, message):
    source = {key: value for key, value in token_source(cluster, **config).items() if value is not None}
    run = inventory.run(cluster, inventory.source(source))
    assert run.returncode != 0
    assert message in run.stderr, run
    assert run.requests == [], run
    assert cluster.admin_token not in run.stdout + run.stderr


def test_host_without_scheme_never_sends_the_token(cluster, inventory):
    address = cluster.url.split("://", 1)[1]
    run = inventory.run(cluster, inventory.source(token_source(cluster, host=address)))
    assert run.returncode != 0
    assert "host must be a URL such as https://api.example.com:6443 (the scheme is missing" in run.stderr, run
    assert run.requests == [] and cluster.admin_token not in run.stdout + run.stderr
    plain_http = inventory.run(cluster, inventory.source(token_source(cluster, host="http://" + address)))
    assert "refusing to send credentials in cleartext" in plain_http.stderr, plain_http
    assert plain_http.requests == []


def test_a_bad_later_connection_stops_the_whole_source_before_any_read(cluster, inventory):
    run = inventory.run(cluster, inventory.source({"connections": [
        {"kubeconfig": cluster.kubeconfig, "context": "local", "name": "good"},
        {"name": "bad", "host": "http://127.0.0.1:1", "api_key": "t"},
    ]}))
    assert run.returncode != 0 and "cluster bad: host is plain http" in run.stderr, run
    assert run.requests == []


def test_a_source_that_is_not_a_mapping(cluster, inventory):
    path = inventory.workdir / "list.kubevirt.yml"
    path.write_text("- plugin: virt.kubevirt.kubevirt\n")
    run = inventory.run(cluster, path)
    assert run.returncode != 0 and "must be a YAML mapping of options" in run.stderr, run
    assert "Traceback" not in run.stderr and run.requests == []


def test_documented_token_lookup_is_templated(cluster, inventory, web):
    source = inventory.source({
        "host": "{{ lookup('ansible.builtin.env', 'OCP_API') }}",
        "api_key": "{{ lookup('ansible.builtin.env', 'OCP_TOKEN') }}",
        "ca_cert": cluster.ca_file,
        "namespaces": ["{{ lookup('ansible.builtin.env', 'OCP_NAMESPACE') }}"],
        # The selector applies to VMIs too: the template's kubevirt.io/domain label is on both.
        "label_selector": "{{ 'kubevirt.io/domain=' ~ 'web' }}",
    })
    run = inventory.run(cluster, source, env={"OCP_API": cluster.url, "OCP_TOKEN": cluster.admin_token, "OCP_NAMESPACE": web})
    assert list(run.hostvars) == ["%s-web" % web], run
    assert run.requests and all(r["user"] == "admin" for r in run.requests)
    assert all("/namespaces/%s/" % web in r["path"] and "labelSelector=kubevirt.io%2Fdomain%3Dweb" in r["query"]
               for r in run.requests if r["path"].endswith("virtualmachines")), run
    assert cluster.admin_token not in run.stdout + run.stderr


def test_extra_vars_feed_templates_with_use_extra_vars(cluster, inventory, web):
    source = inventory.source(token_source(cluster, api_key="{{ cluster_token }}", use_extra_vars=True,
                                           connections=[{"name": "{{ cluster_name }}", "namespaces": [web]}]))
    run = inventory.run(cluster, source, "--list", "-e", "cluster_token=%s" % cluster.admin_token, "-e", "cluster_name=lab")
    assert plain(run.hostvars["%s-web" % web])["kubevirt_cluster"] == "lab", run
    assert all(r["user"] == "admin" for r in run.requests)


def test_k8s_auth_values_are_not_templated(cluster, inventory):
    # The variable holds a template: it must be sent literally (and so be refused), never evaluated.
    env = {"K8S_AUTH_HOST": cluster.url, "K8S_AUTH_SSL_CA_CERT": cluster.ca_file,
           "K8S_AUTH_API_KEY": "{{lookup('ansible.builtin.env','OCP_TOKEN')}}", "OCP_TOKEN": cluster.admin_token}
    run = inventory.run(cluster, inventory.source({}), env=env)
    assert run.returncode != 0 and "401" in run.stderr, run
    assert run.requests and all(r["user"] is None and r["status"] == 401 for r in run.requests)
