# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading one cluster: request shape, 403 fallback, trimming and the cache round trip."""

from __future__ import annotations

import copy
import json
import threading
import time
from pathlib import Path

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._inventory_sources import (
    CACHE_FORMAT,
    ClusterData,
    FetchSpec,
    cache_entry,
    clusters_from_cache,
    fetch_cluster,
    kubevirt_refs,
    running_namespaces,
    slim_service,
    slim_vm,
)

FIXTURE = json.loads((Path(__file__).parents[1] / "inventory" / "fixtures" / "cluster.json").read_text())
PLURAL_TO_KEY = {"virtualmachines": "vms", "virtualmachineinstances": "vmis", "services": "services"}


class FakeResourceClient:
    """Answers like ResourceClient from the fixture; ``deny`` maps (plural, namespace) to a status."""

    def __init__(self, deny=None, projects=None, namespaces=None, dns=None, page_size_seen=None, delay=0.0):
        self.deny = deny or {}
        self.projects = projects
        self.namespaces = namespaces
        self.dns = dns
        self.delay = delay
        self.calls = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        self.request_count = 0

    def _enter(self, verb, ref, namespace, **extra):
        with self._lock:
            self.calls.append((verb, ref.plural, namespace, extra))
            self.request_count += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.delay:
                time.sleep(self.delay)
            status = self.deny.get((ref.plural, namespace))
            if status:
                raise KubeApiError("%s is forbidden: User cannot list resource" % ref.plural, status=status,
                                   reason={403: "Forbidden", 401: "Unauthorized", 404: "NotFound"}.get(status))
        finally:
            with self._lock:
                self.active -= 1

    def list_pages(self, ref, namespace=None, label_selector=None, field_selector=None, limit=500):
        self._enter("list", ref, namespace, label_selector=label_selector, limit=limit)
        items = copy.deepcopy(FIXTURE[PLURAL_TO_KEY[ref.plural]])
        if namespace is not None:
            items = [item for item in items if item["metadata"].get("namespace") == namespace]
        yield items[:2]
        yield items[2:]

    def list(self, ref, namespace=None, label_selector=None, field_selector=None, limit=500):
        self._enter("list", ref, namespace)
        names = self.projects if ref.plural == "projects" else self.namespaces
        return [{"metadata": {"name": name}} for name in names or []]

    def get(self, ref, name, namespace=None):
        self._enter("get", ref, namespace)
        return self.dns


def lists(client):
    return [(call[1], call[2]) for call in client.calls if call[0] == "list"]


def test_cluster_wide_lists_one_chain_per_resource_type():
    client = FakeResourceClient()
    data = fetch_cluster(client, FetchSpec(label_selector="app=web"), "east", "https://api:6443")
    assert sorted(lists(client)) == [("services", None), ("virtualmachineinstances", None), ("virtualmachines", None)]
    selectors = {call[1]: call[3]["label_selector"] for call in client.calls}
    assert selectors == {"virtualmachines": "app=web", "virtualmachineinstances": "app=web", "services": None}
    assert len(data.vms) == len(FIXTURE["vms"]) and len(data.vmis) == len(FIXTURE["vmis"])
    assert sorted(s["metadata"]["name"] for s in data.services) == ["fedora-ssh", "multinet-ssh", "win-ssh", "win-winrm"]
    assert data.requests == 3 and data.warnings == []


def test_services_are_not_listed_when_not_used():
    client = FakeResourceClient()
    data = fetch_cluster(client, FetchSpec(services=False), "east", "https://api:6443")
    assert sorted(lists(client)) == [("virtualmachineinstances", None), ("virtualmachines", None)]
    assert data.services == []


def test_objects_are_trimmed_to_what_the_inventory_uses():
    vm = slim_vm(FIXTURE["vms"][0])
    assert set(vm) == {"metadata", "spec", "status"}
    assert set(vm["metadata"]) == {"name", "namespace", "uid", "labels", "resourceVersion"}
    assert vm["spec"] == {"instancetype": {"kind": "VirtualMachineClusterInstancetype", "name": "u1.medium"},
                          "preference": {"kind": "VirtualMachineClusterPreference", "name": "fedora"}}
    service = slim_service(FIXTURE["services"][1])
    assert service["status"]["loadBalancer"]["ingress"][0]["ip"] == "203.0.113.20"
    assert "clusterIP" not in service["spec"]


def test_forbidden_cluster_wide_falls_back_to_openshift_projects():
    deny = {("virtualmachines", None): 403, ("virtualmachineinstances", None): 403, ("services", None): 403}
    client = FakeResourceClient(deny=deny, projects=["apps", "windows"])
    data = fetch_cluster(client, FetchSpec(), "east", "https://api:6443")
    per_ns = sorted(call for call in lists(client) if call[1] is not None)
    assert ("projects", None) in lists(client) and ("namespaces", None) not in lists(client)
    assert per_ns == [
        ("services", "apps"), ("services", "windows"),
        ("virtualmachineinstances", "apps"), ("virtualmachineinstances", "windows"),
        ("virtualmachines", "apps"), ("virtualmachines", "windows"),
    ]
    assert {vm["metadata"]["name"] for vm in data.vms} == {"fedora", "stopped", "win", "multinet", "hostile", "odd", "starting"}
    assert {s["metadata"]["name"] for s in data.services} >= {"win-winrm", "fedora-ssh"}


def test_fallback_uses_namespaces_when_projects_do_not_exist():
    deny = {("virtualmachines", None): 403, ("projects", None): 404}
    client = FakeResourceClient(deny=deny, namespaces=["legacy"])
    data = fetch_cluster(client, FetchSpec(services=False), "east", "https://api:6443")
    assert ("namespaces", None) in lists(client)
    assert ("virtualmachines", "legacy") in lists(client)
    # VMIs could be listed cluster-wide: not listed again per namespace.
    assert ("virtualmachineinstances", "legacy") not in lists(client)
    assert data.vms == [] and len(data.vmis) == len(FIXTURE["vmis"])


def test_forbidden_with_nothing_to_fall_back_to_is_one_clear_error():
    deny = {("virtualmachines", None): 403, ("projects", None): 404, ("namespaces", None): 403}
    client = FakeResourceClient(deny=deny)
    with pytest.raises(KubeApiError) as info:
        fetch_cluster(client, FetchSpec(), "east", "https://api:6443")
    assert info.value.status == 403
    assert "set the namespaces option" in str(info.value) and "\n" not in str(info.value)


def test_forbidden_discovered_namespace_is_skipped_with_a_warning():
    deny = {("virtualmachines", None): 403, ("virtualmachines", "windows"): 403}
    client = FakeResourceClient(deny=deny, projects=["apps", "windows"])
    data = fetch_cluster(client, FetchSpec(services=False), "east", "https://api:6443")
    assert data.warnings == ["skipped virtualmachines in namespace windows: forbidden"]
    assert "win" not in {vm["metadata"]["name"] for vm in data.vms}


def test_explicit_namespaces_are_listed_per_namespace_and_services_only_where_vms_run():
    client = FakeResourceClient()
    spec = FetchSpec(namespaces=("apps", "empty"))
    data = fetch_cluster(client, spec, "east", "https://api:6443")
    assert sorted(lists(client)) == [
        ("services", "apps"),
        ("virtualmachineinstances", "apps"), ("virtualmachineinstances", "empty"),
        ("virtualmachines", "apps"), ("virtualmachines", "empty"),
    ]
    assert all(vm["metadata"]["namespace"] == "apps" for vm in data.vms)


def test_forbidden_explicit_namespace_is_an_error_naming_it():
    client = FakeResourceClient(deny={("virtualmachines", "secret"): 403})
    with pytest.raises(KubeApiError, match="namespace secret"):
        fetch_cluster(client, FetchSpec(namespaces=("apps", "secret")), "east", "https://api:6443")


@pytest.mark.parametrize("status", [401, 500])
def test_other_failures_propagate(status):
    client = FakeResourceClient(deny={("virtualmachineinstances", None): status})
    with pytest.raises(KubeApiError) as info:
        fetch_cluster(client, FetchSpec(), "east", "https://api:6443")
    assert info.value.status == status


def test_namespace_fallback_is_concurrent_and_bounded():
    deny = {("virtualmachines", None): 403, ("virtualmachineinstances", None): 403}
    projects = ["ns-%02d" % i for i in range(20)]
    client = FakeResourceClient(deny=deny, projects=projects, delay=0.02)
    fetch_cluster(client, FetchSpec(services=False, workers=4), "east", "https://api:6443")
    assert 1 < client.max_active <= 4
    assert len([c for c in lists(client) if c[1] is not None]) == 40


def test_base_domain_only_when_asked():
    client = FakeResourceClient(dns={"spec": {"baseDomain": "ocp.example.com"}})
    assert fetch_cluster(client, FetchSpec(), "east", "https://api:6443").base_domain is None
    assert not any(call[0] == "get" for call in client.calls)
    data = fetch_cluster(client, FetchSpec(base_domain=True), "east", "https://api:6443")
    assert data.base_domain == "ocp.example.com"


def test_base_domain_missing_on_plain_kubernetes():
    client = FakeResourceClient(deny={("dnses", None): 404})
    assert fetch_cluster(client, FetchSpec(base_domain=True), "east", "https://api:6443").base_domain is None


def test_cache_round_trip_through_json():
    data = fetch_cluster(FakeResourceClient(), FetchSpec(), "east", "https://api:6443")
    restored = ClusterData.from_cache(json.loads(json.dumps(data.to_cache())))
    assert restored.to_cache() == data.to_cache()


def test_cache_entry_is_one_json_string_that_round_trips():
    data = fetch_cluster(FakeResourceClient(), FetchSpec(), "east", "https://api:6443")
    entry = cache_entry("key-1", [data])
    # One string node: ansible-core's cache layer does not visit every object of the fleet.
    assert isinstance(entry["clusters"], str) and entry["format"] == CACHE_FORMAT
    # What a cache plugin stores and gives back (jsonfile: JSON text).
    restored = clusters_from_cache(json.loads(json.dumps(entry)), "key-1")
    assert [cluster.to_cache() for cluster in restored] == [data.to_cache()]


@pytest.mark.parametrize("cached", [
    None,
    "not a dict",
    {"format": CACHE_FORMAT, "key": "other", "clusters": "[]"},
    {"format": 1, "key": "key-1", "clusters": [{"name": "east", "server": "https://api:6443"}]},
    {"format": CACHE_FORMAT, "key": "key-1", "clusters": "{not json"},
    {"format": CACHE_FORMAT, "key": "key-1", "clusters": "[{\"server\": \"https://api:6443\"}]"},
    {"format": CACHE_FORMAT, "key": "key-1", "clusters": "[1]"},
    {"format": CACHE_FORMAT, "key": "key-1"},
])
def test_unusable_cache_entries_mean_a_fresh_read(cached):
    assert clusters_from_cache(cached, "key-1") is None


def test_running_namespaces():
    assert running_namespaces(FIXTURE["vmis"]) == ["apps", "legacy", "windows"]


@pytest.mark.parametrize("api_version", ["kubevirt.io", "v1", "", "kubevirt.io/v1/x"])
def test_kubevirt_refs_rejects_malformed_api_version(api_version):
    with pytest.raises(ValueError, match="api_version"):
        kubevirt_refs(api_version)


def test_kubevirt_refs():
    vm, vmi = kubevirt_refs("kubevirt.io/v1alpha3")
    assert vm.path("apps") == "/apis/kubevirt.io/v1alpha3/namespaces/apps/virtualmachines"
    assert vmi.plural == "virtualmachineinstances"
