# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.network_attachment against the local cluster: what each type renders, semantic
idempotence of the stored JSON, check/diff, bad input with zero requests, removal refused while a
VM attaches to the NAD, and a VM on a missing NAD."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

from kubernetes import client as k8s

from .test_vm_disk_helpers import run_batch

GROUP, VERSION, PLURAL = "k8s.cni.cncf.io", "v1", "network-attachment-definitions"
IMAGE = "quay.io/containerdisks/fedora:41"


def _nad(cluster, namespace: str, name: str) -> Optional[Dict[str, Any]]:
    api = k8s.CustomObjectsApi(cluster.api_client())
    try:
        return api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    except k8s.exceptions.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _config(cluster, namespace: str, name: str) -> Dict[str, Any]:
    return json.loads(_nad(cluster, namespace, name)["spec"]["config"])


def test_bridge_lifecycle_check_diff_and_idempotence(runner, cluster, namespace):
    args = {"name": "vlan20", "namespace": namespace, "type": "cnv-bridge", "bridge": "br1", "vlan": 20,
            "macspoofchk": True, "ipam": {"type": "whereabouts", "range": "192.168.20.0/24",
                                          "range_start": "192.168.20.50", "exclude": ["192.168.20.64/28"]}}
    check = runner.run("network_attachment", args, check=True, diff=True)
    assert not check.failed and check.changed and check.result["method"] == "create", check
    assert [w for w in check.writes if not w["dry_run"]] == [] and _nad(cluster, namespace, "vlan20") is None
    assert json.loads(check.result["diff"]["after"]["spec"]["config"])["vlan"] == 20

    created = runner.run("network_attachment", args)
    assert not created.failed and created.changed and created.result["method"] == "create", created
    nad = _nad(cluster, namespace, "vlan20")
    assert nad["metadata"]["annotations"]["k8s.v1.cni.cncf.io/resourceName"] == "bridge.network.kubevirt.io/br1"
    assert json.loads(nad["spec"]["config"]) == created.result["config"] == {
        "cniVersion": "0.3.1", "name": "vlan20", "type": "cnv-bridge", "bridge": "br1", "vlan": 20,
        "macspoofchk": True, "ipam": {"type": "whereabouts", "range": "192.168.20.0/24",
                                      "range_start": "192.168.20.50", "exclude": ["192.168.20.64/28"]}}

    again = runner.run("network_attachment", args)
    assert not again.failed and not again.changed and again.writes == [], again

    changed = runner.run("network_attachment", dict(args, vlan=30), diff=True)
    assert changed.changed and changed.result["method"] == "update", changed
    assert json.loads(changed.result["diff"]["before"]["spec"]["config"])["vlan"] == 20
    assert _config(cluster, namespace, "vlan20")["vlan"] == 30


def test_each_type_renders_what_its_plugin_reads(runner, cluster, namespace):
    cases = [
        ({"type": "localnet", "physical_network_name": "physnet", "vlan": 100, "subnets": ["10.100.0.0/24"],
          "exclude_subnets": ["10.100.0.1/32"], "allow_persistent_ips": True, "mtu": 1400},
         {"type": "ovn-k8s-cni-overlay", "topology": "localnet", "netAttachDefName": "%s/ln" % namespace,
          "physicalNetworkName": "physnet", "vlanID": 100, "subnets": "10.100.0.0/24",
          "excludeSubnets": "10.100.0.1/32", "allowPersistentIPs": True, "mtu": 1400}, "ln", None),
        ({"type": "layer2", "subnets": ["10.200.0.0/16", "fd00:200::/64"]},
         {"topology": "layer2", "subnets": "10.200.0.0/16,fd00:200::/64"}, "l2", None),
        ({"type": "sriov", "resource_name": "openshift.io/intel_sriov", "vlan": 0, "macspoofchk": False,
          "ipam": {"type": "static", "addresses": ["192.168.5.10/24"], "gateway": "192.168.5.1"}},
         {"type": "sriov", "vlan": 0, "spoofchk": "off",
          "ipam": {"type": "static", "addresses": [{"address": "192.168.5.10/24", "gateway": "192.168.5.1"}]}},
         "vf", "openshift.io/intel_sriov"),
        ({"type": "macvtap", "resource_name": "macvtap.network.kubevirt.io/eth1", "mtu": 1500},
         {"type": "macvtap", "mtu": 1500}, "tap", "macvtap.network.kubevirt.io/eth1"),
        ({"type": "linux-bridge", "bridge": "br-data", "ipam": {"type": "host-local", "subnet": "10.9.0.0/24",
                                                                "routes": [{"dst": "0.0.0.0/0", "gw": "10.9.0.1"}]}},
         {"type": "bridge", "bridge": "br-data",
          "ipam": {"type": "host-local", "subnet": "10.9.0.0/24", "routes": [{"dst": "0.0.0.0/0", "gw": "10.9.0.1"}]}},
         "plain", None),
    ]
    results, _requests = run_batch(runner, [dict({"name": c[2], "namespace": namespace}, **c[0]) for c in cases],
                                   module="network_attachment")
    for (extra, expected, name, resource), run in zip(cases, results):
        assert not run.get("failed") and run["changed"], run
        stored = _config(cluster, namespace, name)
        assert stored["cniVersion"] == "0.3.1" and stored["name"] == name, stored
        assert {k: stored.get(k) for k in expected} == expected, (name, stored)
        assert "ipam" not in stored or extra["type"] not in ("localnet", "layer2")
        annotations = _nad(cluster, namespace, name)["metadata"].get("annotations") or {}
        assert annotations.get("k8s.v1.cni.cncf.io/resourceName") == resource, annotations


def test_stored_json_is_compared_parsed(runner, cluster, namespace):
    # Written by hand: other key order, whitespace and a trailing newline, as `oc apply` of a YAML block.
    text = ('{\n    "type": "bridge",\n    "bridge": "br1",\n    "vlan": 20,\n'
            '    "name": "hand",\n    "cniVersion": "0.3.1"\n}\n')
    api = k8s.CustomObjectsApi(cluster.api_client())
    api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, {
        "apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
        "metadata": {"name": "hand", "namespace": namespace}, "spec": {"config": text}})
    typed = runner.run("network_attachment", {"name": "hand", "namespace": namespace, "type": "linux-bridge",
                                              "bridge": "br1", "vlan": 20})
    assert not typed.failed and not typed.changed and typed.writes == [], typed
    raw = runner.run("network_attachment", {"name": "hand", "namespace": namespace, "config": json.dumps(
        {"cniVersion": "0.3.1", "name": "hand", "type": "bridge", "bridge": "br1", "vlan": 20})})
    assert not raw.failed and not raw.changed and raw.writes == [], raw
    assert _nad(cluster, namespace, "hand")["spec"]["config"] == text
    # A real change is written (and the raw dict is stored as JSON).
    moved = runner.run("network_attachment", {"name": "hand", "namespace": namespace, "config": {
        "cniVersion": "0.3.1", "name": "hand", "plugins": [{"type": "bridge", "bridge": "br1", "vlan": 21},
                                                           {"type": "tuning"}]}})
    assert moved.changed and moved.result["method"] == "update", moved
    assert _config(cluster, namespace, "hand")["plugins"][0]["vlan"] == 21


def test_bad_input_fails_before_any_request(runner, namespace):
    base = {"name": "bad", "namespace": namespace}
    cases = [
        ({"type": "linux-bridge", "bridge": "br-much-too-long0"}, "bridge"),
        ({"type": "linux-bridge", "bridge": "br1", "vlan": 4095}, "vlan"),
        ({"type": "localnet", "vlan": 0}, "vlan"),
        ({"type": "layer2", "vlan": 10}, "vlan"),
        ({"type": "localnet", "subnets": ["10.1.0.0/33"]}, "subnets[0]"),
        ({"type": "layer2", "subnets": ["10.1.0.0/24"], "exclude_subnets": ["10.2.0.0/28"]}, "exclude_subnets[0]"),
        ({"type": "localnet", "ipam": {"type": "dhcp"}}, "ipam"),
        ({"type": "sriov"}, "resource_name"),
        ({"type": "linux-bridge", "bridge": "br1",
          "ipam": {"type": "whereabouts", "range": "10.0.0.0/24", "range_start": "10.0.1.5"}}, "ipam.range_start"),
        ({"type": "linux-bridge", "bridge": "br1", "ipam": {"type": "static"}}, "ipam.addresses"),
        ({"config": "{not json"}, "config"),
        ({"config": {"cniVersion": "0.3.1", "type": "ovn-k8s-cni-overlay", "topology": "layer2",
                     "netAttachDefName": "other/bad"}}, "config.netAttachDefName"),
        ({"config": {"cniVersion": "0.3.1", "plugins": [{"type": "bridge", "bridge": "br1", "vlan": 5000}]}},
         "config.plugins[0].vlan"),
        ({"type": "linux-bridge", "bridge": "br1", "config": {"type": "bridge"}}, "type"),
        ({}, "type"),
    ]
    results, requests = run_batch(runner, [dict(base, **case[0]) for case in cases], module="network_attachment")
    for (extra, option), run in zip(cases, results):
        assert run.get("failed") and run["msg"].startswith(option + ":") and "\n" not in run["msg"], (extra, run)
    assert requests == []


def test_removal_refused_while_a_vm_attaches(runner, cluster, namespace):
    assert not runner.run("network_attachment", {"name": "data", "namespace": namespace, "type": "linux-bridge",
                                                 "bridge": "br1"}).failed
    # A stopped VM in another namespace naming it as <namespace>/<name>: still a user.
    other = "%s-other" % namespace[:50]
    k8s.CoreV1Api(cluster.api_client()).create_namespace({"metadata": {"name": other}})
    k8s.CustomObjectsApi(cluster.api_client()).create_namespaced_custom_object("kubevirt.io", "v1", other, "virtualmachines", {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "db", "namespace": other},
        "spec": {"runStrategy": "Halted", "template": {"spec": {
            "domain": {"devices": {"interfaces": [{"name": "data", "bridge": {}}]},
                       "resources": {"requests": {"memory": "512Mi"}}},
            "networks": [{"name": "data", "multus": {"networkName": "%s/data" % namespace}}],
            "volumes": [{"name": "root", "containerDisk": {"image": IMAGE}}]}}}})
    gone = {"name": "data", "namespace": namespace, "state": "absent"}
    refused = runner.run("network_attachment", gone)
    assert refused.failed and refused.msg.startswith("force:") and "%s/db" % other in refused.msg, refused
    assert refused.writes == [] and _nad(cluster, namespace, "data") is not None
    lists = [r for r in refused.requests if r["verb"] == "list"]
    assert [r["path"] for r in lists] == ["/apis/kubevirt.io/v1/virtualmachines"], refused

    check = runner.run("network_attachment", dict(gone, force=True), check=True)
    assert check.changed and [w for w in check.writes if not w["dry_run"]] == [], check
    forced = runner.run("network_attachment", dict(gone, force=True), diff=True)
    assert forced.changed and forced.result["used_by"] == ["%s/db" % other], forced
    assert forced.result["diff"]["before"]["metadata"]["name"] == "data"
    assert _nad(cluster, namespace, "data") is None
    k8s.CoreV1Api(cluster.api_client()).delete_namespace(other)


def test_vm_on_a_missing_nad_times_out_naming_it(runner, namespace):
    run = runner.run("vm", {"name": "lost", "namespace": namespace, "run_strategy": "Always", "memory": "512Mi",
                            "disks": [{"name": "root", "container_disk": IMAGE}],
                            "networks": [{"name": "default"}, {"name": "data", "network_name": "nowhere"}],
                            "wait": True, "wait_timeout": 5})
    assert run.failed and "Timed out" in run.msg, run
    assert "failed to locate network attachment definition %s/nowhere" % namespace in run.msg, run.msg
