# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.node_network_policy and node_network_state_info against the local cluster's
kubernetes-nmstate: a bridge rolled out one node at a time, re-run, check mode, a missing port
reported per node, bad input refused before any request, the safe removal, and the state filters."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from kubernetes import client as k8s

GROUP = "nmstate.io"
NODES = ["node01", "node02", "node03"]


_APIS: Dict[int, Any] = {}


def _get(cluster, plural: str, name: str, version: str = "v1beta1") -> Optional[Dict[str, Any]]:
    api = _APIS.get(id(cluster))
    if api is None:  # one client for the module: building one per read costs seconds
        api = _APIS[id(cluster)] = k8s.CustomObjectsApi(cluster.api_client())
    try:
        return api.get_cluster_custom_object(GROUP, version, plural, name)
    except k8s.exceptions.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _iface(cluster, node: str, name: str) -> Optional[Dict[str, Any]]:
    state = _get(cluster, "nodenetworkstates", node)["status"]["currentState"]
    return next((i for i in state["interfaces"] if i["name"] == name), None)


def _since(cluster, node: str, policy: str, ctype: str) -> str:
    nnce = _get(cluster, "nodenetworkconfigurationenactments", "%s.%s" % (node, policy))
    return next(c["lastTransitionTime"] for c in nnce["status"]["conditions"] if c["type"] == ctype)


BRIDGE = {"name": "it-br1", "max_unavailable": "1",
          "interfaces": [{"name": "br-it1", "type": "linux-bridge",
                          "bridge": {"stp": False, "ports": [{"name": "eth1"}]}}]}


def test_bridge_rollout_rerun_and_safe_removal(runner, cluster):
    check = runner.run("node_network_policy", BRIDGE, check=True, diff=True)
    assert not check.failed and check.changed and check.result["method"] == "create", check
    assert [w for w in check.writes if not w["dry_run"]] == [] and _get(cluster, "nodenetworkconfigurationpolicies",
                                                                        "it-br1", "v1") is None

    created = runner.run("node_network_policy", BRIDGE)
    assert not created.failed and created.changed, created
    assert created.result["policy"]["verdict"] == "Available"
    assert [e["state"] for e in created.result["enactments"]] == ["Available"] * 3
    assert created.result["progress"][-1]["state"] == "Available: 3/3 nodes successfully configured"
    states = [p["state"] for p in created.result["progress"]]
    # max_unavailable 1: never more than one node in progress, and the nodes finished one after the other.
    assert all(s.endswith(", 1 in progress") for s in states if "in progress" in s), states
    assert {"Policy is progressing %d/3 nodes finished, 1 in progress" % n for n in (1, 2)} <= {
        s.split(": ", 1)[1] for s in states}, states
    for earlier, later in zip(NODES, NODES[1:]):
        assert _since(cluster, earlier, "it-br1", "Available") <= _since(cluster, later, "it-br1", "Progressing")
    for node in NODES:
        assert _iface(cluster, node, "br-it1")["type"] == "linux-bridge"
        assert _iface(cluster, node, "eth1")["controller"] == "br-it1"

    again = runner.run("node_network_policy", BRIDGE)
    assert not again.failed and not again.changed and again.writes == [], again

    info = runner.run("node_network_state_info", {"nodes": ["node02"], "interface_types": ["linux-bridge"]})
    assert not info.failed, info
    assert [s["node"] for s in info.result["states"]] == ["node02"]
    assert [(i["name"], i["ports"]) for i in info.result["states"][0]["interfaces"]] == [("br-it1", ["eth1"])]

    removal_check = runner.run("node_network_policy", {"name": "it-br1", "state": "absent"}, check=True)
    assert removal_check.changed and [w for w in removal_check.writes if not w["dry_run"]] == [], removal_check
    removed = runner.run("node_network_policy", {"name": "it-br1", "state": "absent"}, diff=True)
    assert not removed.failed and removed.changed and removed.result["method"] == "revert+delete", removed
    assert _get(cluster, "nodenetworkconfigurationpolicies", "it-br1", "v1") is None
    for node in NODES:
        assert _iface(cluster, node, "br-it1") is None
        assert "controller" not in _iface(cluster, node, "eth1")
    assert not runner.run("node_network_policy", {"name": "it-br1", "state": "absent"}).changed


def test_missing_port_fails_per_node(runner, cluster):
    args = {"name": "it-bad-port", "max_unavailable": "1", "node_selector": {"kubernetes.io/hostname": "node02"},
            "interfaces": [{"name": "br-it9", "type": "linux-bridge", "bridge": {"ports": [{"name": "eth9"}]}}]}
    failed = runner.run("node_network_policy", args)
    assert failed.failed and failed.changed, failed
    assert failed.msg.startswith("NodeNetworkConfigurationPolicy it-bad-port failed: 1/1 nodes failed to configure"), failed
    assert "node node02: NmstateError: InvalidArgument: Interface br-it9 has port eth9 which does not exist" in failed.msg
    assert "not matching node_selector: node01, node03" in failed.msg
    assert failed.result["enactments"][0]["reason"] == "FailedToConfigure"
    assert "failed to execute nmstatectl set --no-commit --timeout 480" in failed.result["enactments"][0]["message"]
    assert _iface(cluster, "node02", "br-it9") is None
    gone = runner.run("node_network_policy", {"name": "it-bad-port", "state": "absent", "removal": "delete_only"})
    assert not gone.failed and gone.result["method"] == "delete", gone
    assert _get(cluster, "nodenetworkconfigurationpolicies", "it-bad-port", "v1") is None


BAD: List[Dict[str, Any]] = [
    {"interfaces": [{"name": "br-this-is-too-long", "type": "linux-bridge"}],
     "msg": "interfaces[br-this-is-too-long].name: 'br-this-is-too-long' is 19 characters"},
    {"interfaces": [{"name": "bond0", "type": "bond", "bond": {"mode": "active-backup", "ports": ["eth2"]}}],
     "msg": "interfaces[bond0].bond.ports: a bond needs at least two ports, got 1"},
    {"interfaces": [{"name": "bond0", "type": "bond", "bond": {"mode": "active-backup", "ports": ["eth2", "eth3"]}},
                    {"name": "br2", "type": "linux-bridge", "bridge": {"ports": [{"name": "eth2"}]}}],
     "msg": "interfaces[br2].bridge.ports: eth2 is already a port of bond0"},
    {"interfaces": [{"name": "eth1.5000", "type": "vlan", "vlan": {"base_iface": "eth1", "id": 5000}}],
     "msg": "interfaces[eth1.5000].vlan.id: must be from 1 to 4094, got 5000"},
    {"interfaces": [{"name": "eth1", "ipv4": {"addresses": ["10.0.0.300/24"]}}],
     "msg": "interfaces[eth1].ipv4.addresses[0]: '10.0.0.300/24' is not an IPv4 address with a prefix length"},
]


def test_bad_input_fails_before_any_request(runner):
    out = runner.run("node_network_policy", {"name": "it-bad", "interfaces": "{{ item.interfaces }}"},
                     task_keywords={"loop": BAD})
    results = out.result["results"]
    assert len(results) == len(BAD)
    for case, result in zip(BAD, results):
        assert result["failed"] and result["msg"].startswith(case["msg"]), (case, result["msg"])
    assert out.requests == [], out.requests


def test_state_info_filters(runner):
    out = runner.run("node_network_state_info", {"node_selector": "kubernetes.io/hostname in (node01,node03)",
                                                 "interface_names": ["eth*"], "interface_types": ["ethernet"]})
    assert not out.failed, out
    states = out.result["states"]
    assert [s["node"] for s in states] == ["node01", "node03"]
    assert [i["name"] for i in states[0]["interfaces"]] == ["eth0", "eth1", "eth2", "eth3"]
    eth0 = states[1]["interfaces"][0]
    assert eth0["ipv4"] == {"enabled": True, "dhcp": True, "addresses": ["192.168.66.103/24"]}
    assert states[0]["routes"][0]["destination"] == "0.0.0.0/0" and states[0]["available"]
    assert len([r for r in out.requests if r["method"] == "GET"]) == 2  # the states, the selected nodes
