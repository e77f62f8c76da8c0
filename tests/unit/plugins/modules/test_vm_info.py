# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.modules import vm_info

VMS = "/apis/kubevirt.io/v1/virtualmachines"
VMIS = "/apis/kubevirt.io/v1/virtualmachineinstances"


@pytest.fixture
def fleet(api_server):
    for index in range(5):
        namespace = "ns%d" % (index % 2)
        name = "vm%d" % index
        api_server.put("/apis/kubevirt.io/v1/namespaces/%s/virtualmachines/%s" % (namespace, name), {
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": "web"}},
            "status": {"printableStatus": "Running" if index % 2 == 0 else "Stopped",
                       "conditions": [{"type": "Ready", "status": "True" if index % 2 == 0 else "False"}]},
        })
        if index % 2 == 0:
            api_server.put("/apis/kubevirt.io/v1/namespaces/%s/virtualmachineinstances/%s" % (namespace, name), {
                "metadata": {"name": name, "namespace": namespace},
                "status": {"phase": "Running", "nodeName": "node0%d" % (index + 1), "interfaces": [{"ipAddress": "10.0.0.%d" % index}]},
            })
    api_server.page_size = 2
    return api_server


def test_all_namespaces_is_one_paginated_list_per_kind(run_module, fleet):
    result, failed = run_module(vm_info.main, {})
    assert not failed
    assert len(result["resources"]) == 5
    assert {r.path for r in fleet.requests} == {VMS, VMIS}
    assert [r.query.get("continue") for r in fleet.requests if r.path == VMS] == [None, "2", "4"]
    joined = {vm["metadata"]["name"]: vm["vmi"] for vm in result["resources"]}
    assert joined["vm2"]["node"] == "node03" and joined["vm2"]["ip_address"] == "10.0.0.2"
    assert joined["vm1"] is None


def test_one_named_vm_is_two_gets(run_module, fleet):
    result = run_module(vm_info.main, {"name": "vm0", "namespace": "ns0"})[0]
    assert [r.path for r in fleet.requests] == [
        "/apis/kubevirt.io/v1/namespaces/ns0/virtualmachines/vm0",
        "/apis/kubevirt.io/v1/namespaces/ns0/virtualmachineinstances/vm0",
    ]
    assert result["resources"][0]["vmi"]["phase"] == "Running"


def test_missing_named_vm_is_an_empty_list(run_module, fleet):
    result, failed = run_module(vm_info.main, {"name": "nope", "namespace": "ns0"})
    assert not failed and result["resources"] == []
    assert len(fleet.requests) == 1


def test_name_without_namespace_searches_the_cluster_with_a_field_selector(run_module, fleet):
    result = run_module(vm_info.main, {"name": "vm3"})[0]
    assert [vm["metadata"]["namespace"] for vm in result["resources"]] == ["ns1"]
    assert fleet.requests[0].path == VMS
    assert fleet.requests[0].query["fieldSelector"] == "metadata.name=vm3"


def test_namespaces_and_selectors(run_module, fleet):
    result = run_module(vm_info.main, {"namespaces": ["ns1"], "label_selectors": ["app=web", "tier!=db"], "include_vmi": False})[0]
    assert sorted(vm["metadata"]["name"] for vm in result["resources"]) == ["vm1", "vm3"]
    assert all(r.path == "/apis/kubevirt.io/v1/namespaces/ns1/virtualmachines" for r in fleet.requests)
    assert fleet.requests[0].query["labelSelector"] == "app=web,tier!=db"
    assert all(vm["vmi"] is None for vm in result["resources"])


def test_namespace_and_namespaces_are_exclusive(run_module, fleet):
    result, failed = run_module(vm_info.main, {"namespace": "a", "namespaces": ["b"]})
    assert failed and "mutually exclusive" in result["msg"]
    assert fleet.requests == []


def test_query_projects_results(run_module, fleet):
    result, failed = run_module(vm_info.main, {"query": "[?vmi.phase=='Running'].{name: metadata.name, ip: vmi.ip_address}"})
    assert not failed
    assert sorted(result["query_result"], key=lambda x: x["name"]) == [
        {"name": "vm0", "ip": "10.0.0.0"}, {"name": "vm2", "ip": "10.0.0.2"}, {"name": "vm4", "ip": "10.0.0.4"},
    ]
    assert "resources" not in result


def test_wait_for_a_condition_already_met_sends_no_watch(run_module, fleet):
    result, failed = run_module(vm_info.main, {"name": "vm0", "namespace": "ns0", "wait": True, "wait_condition": {"type": "Ready"}})
    assert not failed and len(result["resources"]) == 1
    assert not any(r.query.get("watch") for r in fleet.requests)


def test_wait_timeout_names_the_condition(run_module, fleet):
    result, failed = run_module(vm_info.main, {"name": "vm1", "namespace": "ns1", "wait": True, "wait_timeout": 0})
    assert failed
    assert result["msg"].startswith("Timed out after 0s waiting for VirtualMachine ns1/vm1 to be Ready=True. Last state: printableStatus Stopped")
    assert fleet.writes == []
