# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._nncp_spec import (
    build_policy,
    removal_state,
    validate_policy_params,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._nncp_status import (
    current,
    failure_message,
    progress_summary,
    short_error,
)


def params(**extra):
    base = {"name": "p", "node_selector": None, "max_unavailable": None, "capture": None, "interfaces": None,
            "routes": None, "dns": None, "bridge_mappings": None, "desired_state": None}
    base.update(extra)
    return base


def iface(**extra):
    base = {"state": "up", "type": None, "mtu": None, "mac_address": None, "ipv4": None, "ipv6": None,
            "bond": None, "bridge": None, "vlan": None, "description": None}
    base.update(extra)
    return base


def test_bond_bridge_vlan_state():
    policy = build_policy(params(max_unavailable="1", node_selector={"role": "kvm"}, interfaces=[
        iface(name="bond0", type="bond", bond={"mode": "802.3ad", "ports": ["eth2", "eth3"], "miimon": 100}),
        iface(name="br1", type="linux-bridge", bridge={"stp": False, "ports": [
            {"name": "bond0", "vlan_mode": None, "vlan_tag": None, "trunk": ["100-199", "300"]}]}),
        iface(name="bond0.300", type="vlan", vlan={"base_iface": "bond0", "id": 300},
              ipv4={"enabled": True, "dhcp": False, "addresses": ["192.0.2.10/24"], "auto_dns": None}),
    ], dns={"servers": ["192.0.2.1"], "search": None}))
    spec = policy["spec"]
    assert spec["maxUnavailable"] == 1 and spec["nodeSelector"] == {"role": "kvm"}
    bond, bridge, vlan = spec["desiredState"]["interfaces"]
    assert bond["link-aggregation"] == {"mode": "802.3ad", "port": ["eth2", "eth3"], "options": {"miimon": 100}}
    assert bridge["bridge"] == {"options": {"stp": {"enabled": False}}, "port": [{"name": "bond0", "vlan": {
        "mode": "trunk", "trunk-tags": [{"id-range": {"min": 100, "max": 199}}, {"id": 300}]}}]}
    assert vlan["vlan"] == {"base-iface": "bond0", "id": 300}
    assert vlan["ipv4"] == {"enabled": True, "dhcp": False, "address": [{"ip": "192.0.2.10", "prefix-length": 24}]}
    assert spec["desiredState"]["dns-resolver"] == {"config": {"server": ["192.0.2.1"]}}


def test_structured_interfaces_replace_raw_ones_of_the_same_name():
    raw = {"interfaces": [{"name": "eth1", "mtu": 9000}, {"name": "br1", "type": "linux-bridge"}], "route-rules": {}}
    state = build_policy(params(desired_state=raw, interfaces=[iface(name="br1", type="linux-bridge")]))["spec"]
    assert [i["name"] for i in state["desiredState"]["interfaces"]] == ["eth1", "br1"]
    assert state["desiredState"]["interfaces"][1] == {"name": "br1", "type": "linux-bridge", "state": "up",
                                                      "bridge": {"port": []}}
    assert "route-rules" in state["desiredState"]


@pytest.mark.parametrize("interfaces, message", [
    ([iface(name="a" * 16, type="dummy")], "interfaces[%s].name: '%s' is 16 characters" % ("a" * 16, "a" * 16)),
    ([iface(name="br1", type="linux-bridge", bridge={"ports": [{"name": "eth1"}, {"name": "eth1"}]})],
     "interfaces[br1].bridge.ports: eth1 is listed twice"),
    ([iface(name="bond0", type="bond", bond={"mode": "active-backup", "ports": ["eth1"]})],
     "interfaces[bond0].bond.ports: a bond needs at least two ports, got 1"),
    ([iface(name="v", type="vlan", vlan={"base_iface": "eth1", "id": 0})], "interfaces[v].vlan.id: must be from 1 to 4094"),
    ([iface(name="eth1", ipv6={"enabled": True, "dhcp": False, "addresses": ["2001:db8::1"]})],
     "interfaces[eth1].ipv6.addresses[0]: '2001:db8::1' is not an IPv6 address with a prefix length"),
    ([iface(name="eth1", vlan={"base_iface": "eth0", "id": 4})], "interfaces[eth1].vlan: only for type vlan"),
])
def test_checks_name_the_interface_and_field(interfaces, message):
    with pytest.raises(KubeApiError) as err:
        validate_policy_params(params(interfaces=interfaces))
    assert str(err.value).startswith(message)


def test_max_unavailable_and_empty_policy():
    with pytest.raises(KubeApiError, match="max_unavailable: must be a node count"):
        validate_policy_params(params(max_unavailable="half", interfaces=[iface(name="eth1")]))
    with pytest.raises(KubeApiError, match="configures nothing"):
        validate_policy_params(params())


def test_removal_state_undoes_what_the_policy_set():
    desired = {"interfaces": [{"name": "br1", "type": "linux-bridge", "state": "up"}, {"name": "old", "state": "absent"}],
               "routes": {"config": [{"destination": "10.0.0.0/8", "next-hop-interface": "br1"}]},
               "dns-resolver": {"config": {"server": ["192.0.2.1"]}},
               "ovn": {"bridge-mappings": [{"localnet": "physnet", "bridge": "br-ex"}]}}
    assert removal_state(desired) == {
        "interfaces": [{"name": "br1", "type": "linux-bridge", "state": "absent"}],
        "routes": {"config": [{"destination": "10.0.0.0/8", "next-hop-interface": "br1", "state": "absent"}]},
        "dns-resolver": {"config": {}}, "ovn": {"bridge-mappings": [{"localnet": "physnet", "state": "absent"}]}}


def cond(ctype, status, reason, message=""):
    return {"type": ctype, "status": status, "reason": reason, "message": message}


def test_failure_message_and_progress():
    policy = {"metadata": {"name": "p", "generation": 2}, "status": {"unavailableNodeCount": 1, "conditions": [
        cond("Degraded", "True", "FailedToConfigure", "1/3 nodes failed to configure, 1 nodes aborted configuration")]}}
    failing = "error reconciling ...: 'exit status 1' '' '[ts ERROR nmstatectl] NmstateError: InvalidArgument: no eth9'"
    items = [{"metadata": {"name": "n%d.p" % i, "labels": {"nmstate.io/node": "n%d" % i}},
              "status": {"policyGeneration": 2, "conditions": [c]}}
             for i, c in enumerate([cond("Failing", "True", "FailedToConfigure", failing),
                                    cond("Aborted", "True", "ConfigurationAborted"),
                                    cond("Available", "True", "SuccessfullyConfigured")])]
    assert short_error(failing) == "NmstateError: InvalidArgument: no eth9"
    assert failure_message(policy, items, ["m0"]) == (
        "NodeNetworkConfigurationPolicy p failed: 1/3 nodes failed to configure, 1 nodes aborted configuration; "
        "node n0: NmstateError: InvalidArgument: no eth9; aborted (not configured): n1; configured: n2; "
        "not matching node_selector: m0")
    assert current(policy, items) and not current(dict(policy, metadata={"name": "p", "generation": 3}), items)
    progressing = {"metadata": {"name": "p"}, "status": {"unavailableNodeCount": 1, "conditions": [
        cond("Progressing", "True", "ConfigurationProgressing", "Policy is progressing 1/3 nodes finished")]}}
    assert progress_summary(progressing) == "Progressing: Policy is progressing 1/3 nodes finished, 1 in progress"
