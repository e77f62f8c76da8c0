# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Option checks and templating of the inventory plugin: the real parse, up to the first read.

Only ``fetch_cluster`` (the first function that sends a request) is replaced, by a recorder: a
row that must fail before any request asserts it was never called. Clients are built by the real
``create_api_client`` from real files (a kubeconfig and a CA written to ``tmp_path``).
"""

from __future__ import annotations

import os
import re
import sys

import pytest
import yaml
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader

from ansible_collections.virt.kubevirt.plugins.module_utils._inventory_sources import ClusterData
from ansible_collections.virt.kubevirt.plugins.module_utils._label_selector import SelectorError, check_label_selector

SERVER = "https://api.example.com:6443"
KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "a",
    "clusters": [{"name": "c", "cluster": {"server": SERVER}}],
    "users": [{"name": "u", "user": {"token": "kubeconfig-token"}}],
    "contexts": [{"name": "a", "context": {"cluster": "c", "user": "u"}},
                 {"name": "b", "context": {"cluster": "c", "user": "u"}}],
}


class Reads:
    """Records the clients handed to fetch_cluster instead of sending requests."""

    def __init__(self) -> None:
        self.clients = []
        self.kubeconfig = None

    def fetch_cluster(self, client, spec, name, server):
        self.clients.append(client.api_client)
        return ClusterData(name=name, server=server)


@pytest.fixture
def reads(monkeypatch, tmp_path):
    plugin = inventory_loader.get("virt.kubevirt.kubevirt")
    recorder = Reads()
    monkeypatch.setattr(sys.modules[type(plugin).__module__], "fetch_cluster", recorder.fetch_cluster)
    for name in [key for key in list(os.environ) if key.startswith("K8S_AUTH_")]:
        monkeypatch.delenv(name)
    # The client reads KUBECONFIG once, at import: sources name the file instead.
    recorder.kubeconfig = str(tmp_path / "kubeconfig")
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(KUBECONFIG))
    return recorder


def parse_text(tmp_path, text):
    path = tmp_path / "test.kubevirt.yml"
    path.write_text(text)
    inventory = InventoryData()
    inventory_loader.get("virt.kubevirt.kubevirt").parse(inventory, DataLoader(), str(path))
    return inventory


def parse(tmp_path, config):
    return parse_text(tmp_path, yaml.safe_dump(dict({"plugin": "virt.kubevirt.kubevirt"}, **config), sort_keys=False))


def failure(tmp_path, config):
    with pytest.raises(AnsibleParserError) as info:
        parse(tmp_path, config) if isinstance(config, dict) else parse_text(tmp_path, config)
    message = str(info.value)
    assert "\n" not in message.strip(), message
    return message


ENTRY = "connections[0]"
ROWS = [
    # booleans: never the lenient "anything else is false"
    ({"validate_certs": "maybe"}, "validate_certs must be true or false, got 'maybe'"),
    ({"verify_ssl": "maybe"}, "validate_certs must be true or false, got 'maybe'"),
    ({"connections": [{"context": "a", "validate_certs": "maybe"}]}, ENTRY + ".validate_certs must be true or false, got 'maybe'"),
    ({"use_service": "maybe"}, "use_service must be true or false, got 'maybe'"),
    ({"include_stopped": "sometimes"}, "include_stopped must be true or false, got 'sometimes'"),
    ({"create_groups": 2}, "create_groups must be true or false, got 2"),
    ({"strict": "nope"}, "strict must be true or false, got 'nope'"),
    # unknown options, with the closest name
    ({"namespace": "apps"}, "unknown option namespace (did you mean namespaces?)"),
    ({"conections": [{"context": "a"}]}, "unknown option conections (did you mean connections?)"),
    ({"colour": "red"}, "unknown option colour"),
    ({"connections": [{"context": "a", "namespace": "apps"}]}, ENTRY + ": unknown option namespace (did you mean namespaces?)"),
    ({"connections": [{"contxt": "a"}]}, ENTRY + ": unknown option contxt (did you mean context?)"),
    ({"connections": [{"context": "a", "label_selector": "app=web"}]},
     ENTRY + ": label_selector applies to the whole source: set it at the top level, not in a connections entry"),
    ({"verify_ssl": True, "validate_certs": False}, "verify_ssl and validate_certs are the same option (an alias): set only one"),
    # host_format
    ({"host_format": "{"}, "host_format '{' is not a valid format string: Single '{' encountered"),
    ({"host_format": "{vm}"}, "host_format '{vm}' uses unknown field {vm}; available: {cluster}, {namespace}, {name}, {uid}"),
    ({"host_format": "{name!x}"}, "host_format '{name!x}' is not a valid format string: Unknown conversion specifier x"),
    ({"host_format": "{name:d}"}, "host_format '{name:d}' is not a valid format string: Unknown format code 'd'"),
    ({"host_format": "{name[0]}"}, "host_format '{name[0]}' uses unknown field {name[0]}"),
    ({"host_format": "{namespace}"}, "host_format '{namespace}' must contain {name} or {uid} to tell hosts apart"),
    ({"host_format": ""}, "host_format is empty"),
    # label selectors
    ({"label_selector": "app=web,"}, "label_selector 'app=web,' is not a valid label selector: expected a label key, found the end"),
    ({"label_selector": "app in (web"}, "label_selector 'app in (web' is not a valid label selector: expected a value, ',' or ')'"),
    ({"label_selector": "app web"}, "expected an operator (=, ==, !=, in, notin, >, <) after app, found 'web' at position 5"),
    ({"label_selector": "app=we b"}, "expected ',' or the end after a requirement, found 'b' at position 8"),
    ({"label_selector": "Example.com/app=web"}, "label key 'Example.com/app' is not valid: the prefix 'Example.com' must be a DNS subdomain"),
    ({"label_selector": "app=-web"}, "value '-web' of app is not a valid label value"),
    ({"label_selector": "size>big"}, "size> needs an integer, got 'big'"),
    ({"label_selector": " "}, "label_selector is empty"),
    # empty strings and namespace names
    ({"context": " "}, "context is empty: give a value or leave the option out"),
    ({"name": ""}, "name is empty"),
    ({"network_name": ""}, "network_name is empty"),
    ({"connections": [{"context": ""}]}, ENTRY + ".context is empty"),
    ({"connections": [{"context": ["a"]}]}, ENTRY + ".context must be a string, got ['a']"),
    ({"exclude_host_vars": ["vm_*", " "]}, "exclude_host_vars[1] is empty"),
    ({"namespaces": ["Web_Prod"]}, "namespaces[0]: must be lowercase letters, digits and '-', starting and ending with a letter or digit"),
    ({"namespaces": "apps,-bad"}, re.compile(r"namespaces\[1\]: must be lowercase letters.*got '-bad'")),
    ({"namespaces": ["a" * 64]}, "namespaces[0]: must be at most 63 characters, got 64"),
    ({"namespaces": []}, "namespaces is empty: list namespaces, or leave it out to read all namespaces"),
    ({"connections": [{"context": "a", "namespaces": ["ok", "NOT"]}]}, "connections[0].namespaces[1]: must be lowercase letters"),
    ({"connections": []}, "connections is empty"),
    # the server URL: never a token over plain http
    ({"host": "api.example.com:6443", "api_key": "t"}, "host must be a URL such as https://api.example.com:6443 (the scheme is missing"),
    ({"host": "http://api.example.com:6443", "api_key": "t"}, re.compile("host is plain http .*refusing to send credentials in cleartext")),
    ({"connections": [{"host": "api.example.com:6443", "api_key": "t"}]}, "cluster host api.example.com:6443: host must be a URL"),
    # templates that cannot be rendered
    ({"api_key": "{{ no_such_variable }}"}, re.compile("api_key cannot be templated: .*no_such_variable")),
    ({"connections": [{"context": "{{ nope }}"}]}, re.compile(r"connections\[0\]\.context cannot be templated: .*nope")),
]


@pytest.mark.parametrize("config, message", ROWS, ids=[str(index) for index in range(len(ROWS))])
def test_bad_options_are_one_line_before_any_read(tmp_path, reads, config, message):
    text = failure(tmp_path, config)
    assert message.search(text) if isinstance(message, re.Pattern) else message in text, text
    assert reads.clients == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("- plugin: virt.kubevirt.kubevirt\n", "must be a YAML mapping of options such as 'plugin: virt.kubevirt.kubevirt', got a list"),
        ("plugin: virt.kubevirt.kubevirt\n  host: [\n", "is not a valid YAML file: mapping values are not allowed here (line 2, column 7)"),
        ("just a string\n", "got a str"),
        ("", "is empty"),
    ],
)
def test_a_source_that_is_not_a_mapping_is_one_line(tmp_path, reads, text, message):
    assert message in failure(tmp_path, text)
    assert reads.clients == []


def test_the_host_from_k8s_auth_host_is_named(tmp_path, reads, monkeypatch):
    monkeypatch.setenv("K8S_AUTH_HOST", "api.example.com:6443")
    monkeypatch.setenv("K8S_AUTH_API_KEY", "t")
    assert "host (from K8S_AUTH_HOST) must be a URL" in failure(tmp_path, {})
    assert reads.clients == []


def test_a_non_boolean_k8s_auth_verify_ssl_is_named(tmp_path, reads, monkeypatch):
    monkeypatch.setenv("K8S_AUTH_VERIFY_SSL", "maybe")
    message = failure(tmp_path, {"host": SERVER, "api_key": "t"})
    assert message == "validate_certs (from K8S_AUTH_VERIFY_SSL) must be true or false, got 'maybe'"
    assert reads.clients == []
    # The file's value wins over the variable, as for every option.
    parse(tmp_path, {"host": SERVER, "api_key": "t", "validate_certs": True})
    assert reads.clients[-1].configuration.verify_ssl is True


def test_a_bad_second_cluster_fails_before_the_first_is_read(tmp_path, reads):
    message = failure(tmp_path, {"kubeconfig": reads.kubeconfig, "connections": [
        {"context": "a", "name": "one"},
        {"context": "b", "name": "two", "host": "http://x:1", "api_key": "t"},
    ]})
    assert "cluster two: host is plain http" in message
    assert reads.clients == []


def test_documented_example_token_lookup_is_templated(tmp_path, reads, monkeypatch):
    monkeypatch.setenv("OCP_TOKEN", "token-from-lookup")
    monkeypatch.setenv("OCP_API", SERVER)
    parse(tmp_path, {
        "host": "{{ lookup('ansible.builtin.env', 'OCP_API') }}",
        "api_key": "{{ lookup('ansible.builtin.env', 'OCP_TOKEN') }}",
        "namespaces": ["{{ 'web' ~ '-prod' }}"],
        "label_selector": "{{ 'app=' ~ 'web' }}",
    })
    (client,) = reads.clients
    assert client.configuration.host == SERVER
    assert client.configuration.api_key == {"authorization": "Bearer token-from-lookup"}


def test_templates_in_connections_entries_are_rendered(tmp_path, reads, monkeypatch):
    monkeypatch.setenv("OCP_TOKEN", "entry-token")
    parse(tmp_path, {"connections": [
        {"name": "{{ 'ea' ~ 'st' }}", "host": SERVER, "api_key": "{{ lookup('ansible.builtin.env', 'OCP_TOKEN') }}",
         "validate_certs": "{{ true }}"},
    ]})
    (client,) = reads.clients
    assert client.configuration.api_key == {"authorization": "Bearer entry-token"}
    assert client.configuration.verify_ssl is True


def test_values_from_k8s_auth_variables_are_never_templated(tmp_path, reads, monkeypatch):
    literal = "{{ lookup('ansible.builtin.env', 'HOME') }}"
    monkeypatch.setenv("K8S_AUTH_API_KEY", literal)
    monkeypatch.setenv("K8S_AUTH_HOST", SERVER)
    with pytest.raises(AnsibleParserError, match="api_key .*whitespace"):
        parse(tmp_path, {})
    # A value without whitespace comes through literally.
    monkeypatch.setenv("K8S_AUTH_API_KEY", "{{lookup('ansible.builtin.env','HOME')}}")
    parse(tmp_path, {})
    assert reads.clients[-1].configuration.api_key == {"authorization": "Bearer {{lookup('ansible.builtin.env','HOME')}}"}


def test_valid_spellings_still_work(tmp_path, reads):
    parse(tmp_path, {"kubeconfig": reads.kubeconfig, "context": "a", "validate_certs": "yes", "use_service": "false",
                     "include_stopped": True, "verify_ssl": None,
                     "namespaces": "apps,web-1", "label_selector": "app in (web,db),!legacy,tier!=front,size>2",
                     "interface_name": "default", "host_format": "{cluster}-{namespace}-{name}"})
    (client,) = reads.clients
    assert client.configuration.verify_ssl is True


@pytest.mark.parametrize(
    "selector",
    ["app=web", "app==web,env!=prod", "app in (a,b)", "app notin (a,)", "!app", "app", "a>3", "a<10",
     "example.com/app=web", "app=", "app=,b=c", " app = web ", "app.kubernetes.io/name in ( x , y )"],
)
def test_label_selectors_the_api_server_accepts(selector):
    check_label_selector(selector)


@pytest.mark.parametrize("selector", ["=x", ",", "app in ()", "app in a", "in=x", "app=web env=prod", "a/b/c=d", "app=a,,b=c"])
def test_label_selectors_the_api_server_rejects(selector):
    with pytest.raises(SelectorError):
        check_label_selector(selector)
