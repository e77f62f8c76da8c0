# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""NetworkAttachmentDefinition manifests and checks (_nad_spec, _nad_ipam, _nad_usage, _validate_net)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._nad_ipam import build_ipam
from ansible_collections.virt.kubevirt.plugins.module_utils._nad_spec import (
    build_config,
    build_nad,
    live_config,
    plugin_types,
    validate_nad_params,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._nad_usage import attached_networks, vms_using
from ansible_collections.virt.kubevirt.plugins.module_utils._validate_net import check_interface_name, check_vlan_id


def _params(**values):
    params = {"name": "net", "namespace": "ns", "state": "present", "type": None, "config": None, "cni_version": "0.3.1"}
    params.update(values)
    return params


def _fails(option, **values):
    with pytest.raises(KubeApiError) as err:
        validate_nad_params(_params(**values))
    assert str(err.value).startswith(option + ":"), str(err.value)
    return str(err.value)


def test_cnv_bridge_renders_config_and_bridge_resource():
    params = _params(type="cnv-bridge", bridge="br1", vlan=20, macspoofchk=False, mtu=9000)
    validate_nad_params(params)
    nad = build_nad(params)
    assert nad["metadata"]["annotations"] == {"k8s.v1.cni.cncf.io/resourceName": "bridge.network.kubevirt.io/br1"}
    assert json.loads(nad["spec"]["config"]) == {"cniVersion": "0.3.1", "name": "net", "type": "cnv-bridge",
                                                 "bridge": "br1", "vlan": 20, "mtu": 9000, "macspoofchk": False}


def test_linux_bridge_has_no_resource_annotation_unless_given():
    assert "annotations" not in build_nad(_params(type="linux-bridge", bridge="br1"))["metadata"]
    nad = build_nad(_params(type="linux-bridge", bridge="br1", resource_name="bridge.network.kubevirt.io/br1"))
    assert nad["metadata"]["annotations"]["k8s.v1.cni.cncf.io/resourceName"] == "bridge.network.kubevirt.io/br1"


def test_ovn_localnet_names_its_nad_and_joins_subnets():
    config = build_config(_params(type="localnet", cni_name="tenant", vlan=7, subnets=["10.0.0.0/24", "fd00::/64"],
                                  exclude_subnets=["10.0.0.0/30"], physical_network_name="physnet"))
    assert config == {"cniVersion": "0.3.1", "name": "tenant", "type": "ovn-k8s-cni-overlay", "topology": "localnet",
                      "netAttachDefName": "ns/net", "subnets": "10.0.0.0/24,fd00::/64",
                      "excludeSubnets": "10.0.0.0/30", "vlanID": 7, "physicalNetworkName": "physnet"}
    assert "ipam" not in config


def test_sriov_spoofchk_is_on_off_text():
    assert build_config(_params(type="sriov", resource_name="openshift.io/nic", macspoofchk=True))["spoofchk"] == "on"


@pytest.mark.parametrize("values,option", [
    ({"type": "linux-bridge"}, "bridge"),
    ({"type": "linux-bridge", "bridge": "a" * 16}, "bridge"),
    ({"type": "linux-bridge", "bridge": "br:1"}, "bridge"),
    ({"type": "linux-bridge", "bridge": "br1", "vlan": -1}, "vlan"),
    ({"type": "localnet", "vlan": 0}, "vlan"),
    ({"type": "layer2", "vlan": 3}, "vlan"),
    ({"type": "macvtap", "bridge": "br1", "resource_name": "macvtap.network.kubevirt.io/eth0"}, "bridge"),
    ({"type": "macvtap"}, "resource_name"),
    ({"type": "layer2", "subnets": ["10.0.0.0/24"], "exclude_subnets": ["fd00::/120"]}, "exclude_subnets[0]"),
    ({"type": "localnet", "subnets": ["10.0.0.0"]}, "subnets[0]"),
    ({"type": "linux-bridge", "bridge": "br1", "mtu": 10}, "mtu"),
    ({"config": {"type": "bridge"}, "vlan": 3}, "vlan"),
    ({"config": "[1, 2]"}, "config"),
    ({"config": {"cniVersion": "0.3.1"}}, "config"),
    ({"config": {"type": "ovn-k8s-cni-overlay", "topology": "localnet", "netAttachDefName": "ns/net",
                 "vlanID": 5000}}, "config.vlanID"),
    ({"config": {"type": "ovn-k8s-cni-overlay", "topology": "layer2", "netAttachDefName": "ns/net",
                 "ipam": {"type": "whereabouts"}}}, "config.ipam"),
    ({"config": {"plugins": [{"type": "bridge", "bridge": "br1", "ipam": {"type": "whereabouts", "range": "x"}}]}},
     "config.plugins[0].ipam.range"),
    ({"type": "layer2", "name": "Bad_Name"}, "name"),
])
def test_bad_input_names_the_option(values, option):
    _fails(option, **values)


def test_absent_needs_no_type():
    validate_nad_params(_params(state="absent"))


def test_ipam_per_type():
    assert build_ipam({"type": "none"}) is None
    assert build_ipam({"type": "dhcp"}) == {"type": "dhcp"}
    assert build_ipam({"type": "host-local", "subnet": "10.1.0.0/24", "range_start": "10.1.0.10",
                       "range_end": "10.1.0.20", "gateway": "10.1.0.1"}) == {
        "type": "host-local", "subnet": "10.1.0.0/24", "rangeStart": "10.1.0.10", "rangeEnd": "10.1.0.20",
        "gateway": "10.1.0.1"}
    assert build_ipam({"type": "whereabouts", "range": "10.2.0.0/24", "range_end": "10.2.0.99",
                       "routes": [{"dst": "10.9.0.0/16", "gw": "10.2.0.1"}]}) == {
        "type": "whereabouts", "range": "10.2.0.0/24", "range_end": "10.2.0.99",
        "routes": [{"dst": "10.9.0.0/16", "gw": "10.2.0.1"}]}
    for ipam, option in (({"type": "dhcp", "range": "10.0.0.0/24"}, "ipam.range"),
                         ({"type": "host-local"}, "ipam.subnet"),
                         ({"type": "host-local", "subnet": "10.0.0.0/24", "gateway": "10.1.0.1"}, "ipam.gateway"),
                         ({"type": "static", "addresses": ["10.0.0.5"]}, "ipam.addresses[0]"),
                         ({"type": "whereabouts", "range": "10.0.0.0/24", "routes": [{"dst": "10.0.0.1/8"}]},
                          "ipam.routes[0].dst")):
        with pytest.raises(KubeApiError) as err:
            build_ipam(ipam)
        assert str(err.value).startswith(option + ":"), str(err.value)


def test_live_config_and_plugin_types():
    assert live_config({"spec": {"config": ' {"type": "bridge"}\n'}}) == {"type": "bridge"}
    assert live_config({"spec": {"config": "not json"}}) is None and live_config(None) is None
    assert plugin_types({"plugins": [{"type": "bridge"}, {"type": "tuning"}]}) == ["bridge", "tuning"]


def test_net_checks():
    assert check_interface_name("bridge", "br-ex") == "br-ex"
    assert check_vlan_id("vlan", 0, low=0) == 0
    with pytest.raises(KubeApiError):
        check_vlan_id("vlan", 4095)


class _Client:
    def __init__(self, vms, forbidden=False):
        self.vms, self.forbidden, self.calls = vms, forbidden, []

    def list(self, ref, namespace=None):
        self.calls.append(namespace)
        if self.forbidden and namespace is None:
            raise KubeApiError("forbidden", status=403)
        return [vm for vm in self.vms if namespace is None or vm["metadata"]["namespace"] == namespace]


def _vm(namespace, name, *refs):
    return {"metadata": {"namespace": namespace, "name": name}, "spec": {"template": {"spec": {
        "networks": [{"name": "default", "pod": {}}]
        + [{"name": "n%d" % i, "multus": {"networkName": r}} for i, r in enumerate(refs)]}}}}


def test_vms_using_resolves_bare_names_in_the_vm_namespace():
    vms = [_vm("ns", "a", "net"), _vm("other", "b", "ns/net"), _vm("other", "c", "net"), _vm("ns", "d")]
    assert attached_networks(vms[2]) == ["other/net"]
    client = _Client(vms)
    assert vms_using(client, "ns", "net") == ["ns/a", "other/b"] and client.calls == [None]
    limited = _Client(vms, forbidden=True)
    assert vms_using(limited, "ns", "net") == ["ns/a"] and limited.calls == [None, "ns"]
