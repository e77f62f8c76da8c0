# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.vm_info against the local test cluster: scopes, joins, request counts, query, wait."""

from __future__ import annotations

import pytest

IMAGE = "quay.io/containerdisks/fedora:41"


@pytest.fixture
def two_vms(runner, namespace):
    for name, strategy in (("web-1", "Always"), ("web-2", "Halted")):
        run = runner.run("vm", {
            "name": name, "namespace": namespace, "run_strategy": strategy, "memory": "512Mi",
            "labels": {"app": "web", "fleet": namespace},
            "disks": [{"name": "root", "container_disk": IMAGE}], "wait": True,
        })
        assert not run.failed, run
    return namespace


def test_by_name_is_two_gets_with_vmi_summary(runner, two_vms):
    run = runner.run("vm_info", {"name": "web-1", "namespace": two_vms})
    assert not run.failed, run
    assert [r["verb"] for r in run.requests] == ["get", "get"]
    (vm,) = run.result["resources"]
    assert vm["metadata"]["name"] == "web-1"
    assert vm["vmi"]["phase"] == "Running" and vm["vmi"]["node"] and vm["vmi"]["ip_address"]


def test_all_namespaces_uses_cluster_wide_lists(runner, two_vms):
    run = runner.run("vm_info", {"label_selectors": ["fleet=%s" % two_vms]})
    assert not run.failed, run
    paths = [r["path"] for r in run.requests]
    assert paths == ["/apis/kubevirt.io/v1/virtualmachines", "/apis/kubevirt.io/v1/virtualmachineinstances"], run
    assert all(r["verb"] == "list" for r in run.requests)
    by_name = {vm["metadata"]["name"]: vm["vmi"] for vm in run.result["resources"]}
    assert set(by_name) == {"web-1", "web-2"}
    assert by_name["web-1"]["phase"] == "Running" and by_name["web-2"] is None


def test_namespace_scope_with_query(runner, two_vms):
    run = runner.run("vm_info", {
        "namespace": two_vms,
        "query": "[?vmi.phase=='Running'].{name: metadata.name, ip: vmi.ip_address, node: vmi.node}",
    })
    assert not run.failed, run
    (row,) = run.result["query_result"]
    assert row["name"] == "web-1" and row["ip"] and row["node"]
    assert "resources" not in run.result
    assert all("/namespaces/%s/" % two_vms in r["path"] for r in run.requests)


def test_wait_for_condition(runner, two_vms):
    ready = runner.run("vm_info", {"name": "web-1", "namespace": two_vms, "wait": True, "wait_condition": {"type": "Ready"}})
    assert not ready.failed, ready
    stopped = runner.run("vm_info", {
        "name": "web-2", "namespace": two_vms, "wait": True, "wait_timeout": 2, "wait_condition": {"type": "Ready"},
    })
    assert stopped.failed
    assert stopped.msg.startswith("Timed out after 2s waiting for VirtualMachine %s/web-2 to be Ready=True" % two_vms)
    assert stopped.writes == []


def test_namespace_listing_without_vmi_is_one_request(runner, cluster, namespace):
    from kubernetes import client as k8s

    api = k8s.CustomObjectsApi(cluster.api_client())
    for index in range(12):
        api.create_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachines", {
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": "bulk-%02d" % index, "namespace": namespace},
            "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}, "memory": {"guest": "64Mi"}}}}},
        })
    run = runner.run("vm_info", {"namespace": namespace, "include_vmi": False})
    assert not run.failed, run
    assert len(run.result["resources"]) == 12
    assert len(run.requests) == 1
