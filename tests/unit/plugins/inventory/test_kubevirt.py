# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The inventory plugin end to end on fixture objects (the cluster reads are replaced)."""

from __future__ import annotations

import copy
import gc
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19: every template string is trusted
    def trust_as_template(value):
        return value

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._inventory_sources import ClusterData, slim_service, slim_vm, slim_vmi

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "cluster.json").read_text())
HOSTILE = "{{ lookup('pipe','id') }}"
SERVER = "https://api.example.com:6443"


def cluster_data(name, server=SERVER, base_domain=None):
    return ClusterData(
        name=name,
        server=server,
        vms=[slim_vm(vm) for vm in copy.deepcopy(FIXTURE["vms"])],
        vmis=[slim_vmi(vmi) for vmi in copy.deepcopy(FIXTURE["vmis"])],
        services=[slim_service(s) for s in copy.deepcopy(FIXTURE["services"][:4])],
        base_domain=base_domain,
    )


class Cluster:
    """Replaces client creation and fetching; records what the plugin asked for."""

    def __init__(self, monkeypatch, plugin_module, error=None, servers=None):
        self.fetches = []
        self.clients = []
        self.error = error
        self.servers = servers or {}
        monkeypatch.setattr(plugin_module, "create_api_client", self.create_api_client)
        monkeypatch.setattr(plugin_module, "fetch_cluster", self.fetch_cluster)

    def create_api_client(self, auth):
        self.clients.append(dict(auth))
        if self.error is not None:
            raise self.error
        server = self.servers.get(auth.get("context"), auth.get("host") or SERVER)
        return SimpleNamespace(configuration=SimpleNamespace(host=server))

    def fetch_cluster(self, client, spec, name, server):
        self.fetches.append((spec, name, server))
        return cluster_data(name, server)


@pytest.fixture
def plugin_module():
    plugin = inventory_loader.get("virt.kubevirt.kubevirt")
    assert plugin is not None, "the collection is not importable"
    return sys.modules[type(plugin).__module__]


@pytest.fixture
def cluster(monkeypatch, plugin_module):
    return Cluster(monkeypatch, plugin_module)


def parse(tmp_path, config, cache=True, name="test.kubevirt.yml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(dict({"plugin": "virt.kubevirt.kubevirt"}, **config)))
    plugin = inventory_loader.get("virt.kubevirt.kubevirt")
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), str(path), cache=cache)
    if getattr(plugin, "_cache", None) is not None:
        plugin.update_cache_if_changed()  # as ansible's InventoryManager does after parse
    return inventory


def hosts_of(inventory, group):
    return sorted(h.name for h in inventory.groups[group].get_hosts())


def test_verify_file(tmp_path):
    plugin = inventory_loader.get("virt.kubevirt.kubevirt")
    for name, expected in [("a.kubevirt.yml", True), ("kubevirt.yaml", True), ("a.k8s.yml", False), ("kubevirt.json", False)]:
        path = tmp_path / name
        path.write_text("plugin: virt.kubevirt.kubevirt\n")
        assert plugin.verify_file(str(path)) is expected


def test_running_vms_are_hosts_grouped_like_kubevirt_core(tmp_path, cluster):
    inventory = parse(tmp_path, {})
    assert sorted(inventory.hosts) == ["apps-fedora", "apps-hostile", "apps-multinet", "legacy-standalone", "windows-win"]
    cluster_group = inventory.groups["api_example_com_6443"]
    assert sorted(g.name for g in cluster_group.child_groups) == ["namespace_apps", "namespace_legacy", "namespace_windows"]
    assert hosts_of(inventory, "namespace_windows") == ["windows-win"]
    assert hosts_of(inventory, "node_node01") == ["apps-fedora", "apps-hostile"]
    assert hosts_of(inventory, "os_windows") == ["windows-win"]
    assert hosts_of(inventory, "instancetype_u1_large") == ["windows-win"]
    assert "status_running" in inventory.groups and "status_stopped" not in inventory.groups
    win = inventory.get_host("windows-win").get_vars()
    assert (win["ansible_host"], win["ansible_port"], win["ansible_connection"]) == ("203.0.113.20", 5986, "winrm")
    assert win["kubevirt_cluster"] == "api-example-com_6443"
    spec, name, server = cluster.fetches[0]
    assert spec.services and not spec.base_domain and spec.namespaces is None and server == SERVER


def test_include_stopped_and_group_by(tmp_path, cluster):
    inventory = parse(tmp_path, {"include_stopped": True, "group_by": ["status"], "name": "lab"})
    assert "apps-stopped" in inventory.hosts and "apps-starting" in inventory.hosts and "apps-odd" in inventory.hosts
    assert "ansible_host" not in inventory.get_host("apps-stopped").get_vars()
    assert hosts_of(inventory, "status_stopped") == ["apps-odd", "apps-stopped"]
    assert "namespace_apps" not in inventory.groups and "lab" not in inventory.groups


def test_create_groups_from_labels(tmp_path, cluster):
    inventory = parse(tmp_path, {"create_groups": True})
    assert hosts_of(inventory, "label_app_web") == ["apps-fedora"]
    assert "label_tier_front" in inventory.groups


def test_hostile_label_values_stay_unsafe_through_compose(tmp_path, cluster):
    inventory = parse(tmp_path, {
        "compose": {"app_label": "vm_labels.app", "note": "vm_annotations['note']"},
        "keyed_groups": [{"key": "vm_labels.app", "prefix": "app"}],
    })
    hostvars = inventory.get_host("apps-hostile").get_vars()
    assert hostvars["app_label"] == HOSTILE and hostvars["note"] == HOSTILE
    templar = Templar(loader=DataLoader(), variables=hostvars)
    # What a playbook does with the variable: the value must come back literally, never run.
    for expression in ("{{ app_label }}", "{{ vm_labels.app }}", "{{ vmi_labels['app'] }}", "{{ note }}"):
        assert templar.template(trust_as_template(expression)) == HOSTILE
    assert templar.template(hostvars["vm_labels"]["app"]) == HOSTILE


def test_kubevirt_core_style_compose_and_keyed_groups(tmp_path, cluster):
    inventory = parse(tmp_path, {
        "compose": {"ansible_user": "'fedora'", "os_name": "vmi_guest_os_info.name | default('unknown')"},
        "groups": {"web": "vm_labels.app | default('') == 'web'", "composed_seen": "os_name == 'Fedora Linux'"},
        "keyed_groups": [
            {"key": "vm_labels.app | default('none')", "prefix": "app"},
            {"key": "vmi_node_name", "prefix": "host"},
            {"key": "kubevirt_cluster ~ '_' ~ vm_namespace", "prefix": "ns"},
        ],
    })
    fedora = inventory.get_host("apps-fedora").get_vars()
    assert fedora["ansible_user"] == "fedora" and fedora["os_name"] == "Fedora Linux"
    assert hosts_of(inventory, "web") == ["apps-fedora"]
    assert "apps-fedora" in hosts_of(inventory, "composed_seen")
    assert hosts_of(inventory, "app_web") == ["apps-fedora"]
    assert "apps-fedora" in hosts_of(inventory, "host_node01")
    assert "windows-win" in hosts_of(inventory, "ns_api_example_com_6443_windows")


def test_strict_compose_error_names_the_host(tmp_path, cluster):
    with pytest.raises(AnsibleParserError, match="Could not set x for host"):
        parse(tmp_path, {"strict": True, "compose": {"x": "vm_labels.nope.deeper"}})
    inventory = parse(tmp_path, {"strict": False, "compose": {"x": "vm_labels.nope.deeper"}})
    assert "x" not in inventory.get_host("apps-fedora").get_vars()


def test_network_name_and_secondary_dns_fetch_base_domain_only_when_needed(tmp_path, cluster):
    inventory = parse(tmp_path, {"network_name": "storage-net"})
    assert inventory.get_host("apps-multinet").get_vars()["ansible_host"] == "192.168.100.30"
    assert not cluster.fetches[-1][0].services and not cluster.fetches[-1][0].base_domain
    # Only multinet has that network: the others are running hosts without an address.
    assert "ansible_host" not in inventory.get_host("apps-fedora").get_vars()
    parse(tmp_path, {"network_name": "storage-net", "kube_secondary_dns": True})
    assert cluster.fetches[-1][0].base_domain
    inventory = parse(tmp_path, {"network_name": "storage-net", "kube_secondary_dns": True, "base_domain": "lab.example"})
    assert not cluster.fetches[-1][0].base_domain
    assert inventory.get_host("apps-multinet").get_vars()["ansible_host"] == "storage-net.multinet.apps.vm.lab.example"


def test_host_format_is_validated(tmp_path, cluster):
    with pytest.raises(AnsibleParserError, match=r"unknown field \{vm\}"):
        parse(tmp_path, {"host_format": "{vm}"})


def test_cluster_errors_are_one_line_naming_the_cluster(tmp_path, monkeypatch, plugin_module):
    error = KubeApiError("Unauthorized", status=401, reason="Unauthorized").with_context("Failed to list VirtualMachine")
    cluster = Cluster(monkeypatch, plugin_module)

    def fail(client, spec, name, server):
        raise error

    monkeypatch.setattr(plugin_module, "fetch_cluster", fail)
    with pytest.raises(AnsibleParserError) as info:
        parse(tmp_path, {"name": "prod"})
    message = str(info.value)
    assert message.startswith("virt.kubevirt.kubevirt: cluster prod (%s): " % SERVER)
    assert "401" in message and "\n" not in message
    assert cluster.clients


def test_credential_load_errors_name_the_context(tmp_path, monkeypatch, plugin_module):
    Cluster(monkeypatch, plugin_module, error=KubeApiError("Could not load cluster credentials", reason="ConfigError"))
    with pytest.raises(AnsibleParserError, match="cluster context nope: .*Could not load cluster credentials"):
        parse(tmp_path, {"context": "nope"})


def test_several_clusters_with_defaults_and_env_fallbacks(tmp_path, monkeypatch, plugin_module):
    monkeypatch.setenv("K8S_AUTH_API_KEY", "token-from-env")
    monkeypatch.setenv("K8S_AUTH_VERIFY_SSL", "false")
    cluster = Cluster(monkeypatch, plugin_module, servers={"east": "https://east:6443", "west": "https://west:6443"})
    inventory = parse(tmp_path, {
        "kubeconfig": "/tmp/kubeconfig",
        "host_format": "{cluster}-{namespace}-{name}",
        "connections": [{"context": "east", "namespaces": ["apps"]}, {"context": "west", "name": "west"}],
    })
    assert [c["context"] for c in cluster.clients] == ["east", "west"]
    assert all(c["kubeconfig"] == "/tmp/kubeconfig" and c["api_key"] == "token-from-env" for c in cluster.clients)
    assert all(c["validate_certs"] is False for c in cluster.clients)
    assert [(fetch[0].namespaces, fetch[1]) for fetch in cluster.fetches] == [(("apps",), "east_6443"), (None, "west")]
    assert "east_6443-apps-fedora" in inventory.hosts and "west-apps-fedora" in inventory.hosts
    # Several clusters: hosts are direct members of their cluster group; namespaces span clusters.
    assert "west-apps-fedora" in hosts_of(inventory, "west")
    assert "east_6443-apps-fedora" not in hosts_of(inventory, "west")
    assert set(hosts_of(inventory, "namespace_apps")) >= {"east_6443-apps-fedora", "west-apps-fedora"}
    assert inventory.get_host("west-apps-fedora").get_vars()["kubevirt_cluster"] == "west"


def test_same_host_in_two_clusters_is_reported(tmp_path, monkeypatch, plugin_module):
    Cluster(monkeypatch, plugin_module, servers={"a": "https://a:6443", "b": "https://b:6443"})
    warnings = []
    monkeypatch.setattr(inventory_loader.get("virt.kubevirt.kubevirt").display, "warning", warnings.append)
    inventory = parse(tmp_path, {"connections": [{"context": "a"}, {"context": "b"}]})
    assert inventory.get_host("apps-fedora").get_vars()["kubevirt_cluster"] == "a_6443"
    assert any("apps-fedora" in w and "{cluster}" in w for w in warnings)


@pytest.mark.parametrize(
    "config, message",
    [
        ({"connections": [{"context": "a", "name": "x"}, {"context": "b", "name": "x"}]}, "name x is used twice"),
        ({"connections": [{"context": "a", "colour": "red"}]}, r"connections\[0\]: .*colour"),
        ({"connections": ["a"]}, r"connections\[0\] must be a dictionary"),
        ({"name": "x", "connections": [{"context": "a"}]}, "name applies to a single cluster"),
        ({"api_version": "kubevirt.io"}, "api_version must look like"),
    ],
)
def test_bad_connection_options(tmp_path, cluster, config, message):
    with pytest.raises(AnsibleParserError, match=message):
        parse(tmp_path, config)
    assert cluster.fetches == []


def test_cache_hit_reads_nothing(tmp_path, cluster):
    config = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(tmp_path / "cache")}
    first = parse(tmp_path, config)
    assert len(cluster.fetches) == 1 and len(cluster.clients) == 1
    inventory_loader.get("virt.kubevirt.kubevirt")  # a fresh plugin instance, as a new process has
    second = parse(tmp_path, config)
    assert len(cluster.fetches) == 1 and len(cluster.clients) == 1
    assert sorted(second.hosts) == sorted(first.hosts)
    assert second.get_host("windows-win").get_vars()["ansible_host"] == "203.0.113.20"
    # Options that change what is read invalidate the cached answer.
    parse(tmp_path, dict(config, label_selector="app=web"))
    assert len(cluster.fetches) == 2
    # --flush-cache (cache=False) reads again.
    parse(tmp_path, dict(config, label_selector="app=web"), cache=False)
    assert len(cluster.fetches) == 3


def test_cache_is_not_shared_between_credentials(tmp_path, cluster, monkeypatch):
    config = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(tmp_path / "cache"),
              "host": SERVER}
    monkeypatch.setenv("K8S_AUTH_API_KEY", "token-of-admin")
    parse(tmp_path, config)
    inventory_loader.get("virt.kubevirt.kubevirt")
    parse(tmp_path, config)
    assert len(cluster.fetches) == 1
    # Another user's token (as another AAP credential injects it) may see less: read again.
    monkeypatch.setenv("K8S_AUTH_API_KEY", "token-of-restricted-user")
    inventory_loader.get("virt.kubevirt.kubevirt")
    parse(tmp_path, config)
    assert len(cluster.fetches) == 2
    cached = "".join(path.read_text() for path in (tmp_path / "cache").iterdir())
    assert "token-of" not in cached


def test_hostile_label_values_stay_unsafe_after_a_cache_hit(tmp_path, cluster):
    config = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(tmp_path / "cache"),
              "compose": {"app_label": "vm_labels.app"}}
    parse(tmp_path, config)
    inventory_loader.get("virt.kubevirt.kubevirt")
    hostvars = parse(tmp_path, config).get_host("apps-hostile").get_vars()
    assert len(cluster.fetches) == 1
    templar = Templar(loader=DataLoader(), variables=hostvars)
    for expression in ("{{ app_label }}", "{{ vm_labels.app }}", "{{ vmi_labels['app'] }}"):
        assert templar.template(trust_as_template(expression)) == HOSTILE
    assert templar.template(hostvars["vm_labels"]["app"]) == HOSTILE


def test_parse_leaves_the_garbage_collector_as_it_found_it(tmp_path, cluster):
    try:
        parse(tmp_path, {})
        assert gc.isenabled()
        gc.disable()
        parse(tmp_path, {})
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


def test_exclude_host_vars(tmp_path, cluster):
    inventory = parse(tmp_path, {"exclude_host_vars": ["*_conditions", "vmi_guest_os_info"]})
    hostvars = inventory.get_host("apps-fedora").get_vars()
    assert "vm_conditions" not in hostvars and "vmi_conditions" not in hostvars and "vmi_guest_os_info" not in hostvars
    # Built-in logic reads the objects, not the variables: the OS group is still made.
    assert "apps-fedora" in hosts_of(inventory, "os_fedora")


def test_excluded_host_vars_still_feed_compose_and_groups(tmp_path, cluster):
    inventory = parse(tmp_path, {
        "exclude_host_vars": ["vm_*", "vmi_*"],
        "compose": {"os_name": "vmi_guest_os_info.name | default('unknown')"},
        "groups": {"web": "vm_labels.app | default('') == 'web'"},
        "keyed_groups": [{"key": "vmi_node_name", "prefix": "host"}],
        "strict": True,
    })
    fedora = inventory.get_host("apps-fedora").get_vars()
    assert fedora["os_name"] == "Fedora Linux" and fedora["ansible_host"] == "node01"
    assert not [name for name in fedora if name.startswith(("vm_", "vmi_"))]
    assert hosts_of(inventory, "web") == ["apps-fedora"]
    assert "apps-fedora" in hosts_of(inventory, "host_node01")


def test_host_known_from_another_source_is_merged(tmp_path, cluster):
    path = tmp_path / "test.kubevirt.yml"
    path.write_text("plugin: virt.kubevirt.kubevirt\n")
    inventory = InventoryData()
    inventory.add_host("apps-fedora")
    inventory.set_variable("apps-fedora", "ansible_user", "admin")
    inventory.set_variable("apps-fedora", "vm_labels", {"owner": "static"})
    inventory_loader.get("virt.kubevirt.kubevirt").parse(inventory, DataLoader(), str(path))
    hostvars = inventory.get_host("apps-fedora").get_vars()
    assert hostvars["ansible_user"] == "admin" and hostvars["ansible_host"] == "node01"
    assert hostvars["vm_labels"]["app"] == "web"


def test_bad_top_level_option_is_named_without_connections(tmp_path, cluster):
    with pytest.raises(AnsibleParserError) as info:
        parse(tmp_path, {"proxy_headers": {"colour": "red"}})
    assert "colour" in str(info.value) and "connections" not in str(info.value)


def test_two_connections_to_the_same_server_need_names(tmp_path, cluster):
    with pytest.raises(AnsibleParserError, match="both named api-example-com_6443"):
        parse(tmp_path, {"connections": [{"context": "a"}, {"context": "b"}]})
