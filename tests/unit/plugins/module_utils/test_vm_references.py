# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._vm_references import check_references

CLUSTER_TYPES = "/apis/instancetype.kubevirt.io/v1beta1/virtualmachineclusterinstancetypes"
CLUSTER_PREFS = "/apis/instancetype.kubevirt.io/v1beta1/virtualmachineclusterpreferences"
NS_TYPES = "/apis/instancetype.kubevirt.io/v1beta1/namespaces/ns/virtualmachineinstancetypes"


def _vm(instancetype=None, preference=None):
    spec = {"template": {"spec": {}}}
    if instancetype is not None:
        spec["instancetype"] = instancetype
    if preference is not None:
        spec["preference"] = preference
    return {"metadata": {"name": "vm1", "namespace": "ns"}, "spec": spec}


@pytest.fixture
def bundle(api_server):
    for name in ("u1.small", "u1.medium", "cx1.large"):
        api_server.put("%s/%s" % (CLUSTER_TYPES, name), {"metadata": {"name": name}})
    api_server.put("%s/centos.stream9" % CLUSTER_PREFS, {"metadata": {"name": "centos.stream9"}})
    return api_server


def test_existing_cluster_instancetype_and_preference_cost_one_get_each(client, bundle):
    check_references(client, None, _vm({"name": "u1.small"}, {"name": "centos.stream9"}), "ns")
    assert [(r.method, r.path) for r in bundle.requests] == [
        ("GET", CLUSTER_TYPES + "/u1.small"), ("GET", CLUSTER_PREFS + "/centos.stream9")]


def test_missing_instancetype_names_the_option_and_suggests_the_close_one(client, bundle):
    with pytest.raises(KubeApiError) as caught:
        check_references(client, None, _vm({"name": "u1.smal"}), "ns")
    message = str(caught.value)
    assert message.startswith("instancetype.name: VirtualMachineClusterInstancetype 'u1.smal' does not exist in the cluster")
    assert "FailedFindInstancetype" in message and "did you mean u1.small" in message
    assert all(r.method == "GET" for r in bundle.requests)


def test_missing_preference_without_close_names_lists_some(client, bundle):
    with pytest.raises(KubeApiError) as caught:
        check_references(client, None, _vm(preference={"name": "windows.zz"}), "ns")
    assert str(caught.value).startswith("preference.name: VirtualMachineClusterPreference 'windows.zz' does not exist")
    assert "there are 1, e.g. centos.stream9" in str(caught.value)


def test_namespaced_kind_is_looked_up_in_the_vm_namespace(client, api_server):
    api_server.put(NS_TYPES + "/mine", {"metadata": {"name": "mine"}})
    check_references(client, None, _vm({"name": "mine", "kind": "virtualmachineinstancetype"}), "ns")
    assert [(r.method, r.path) for r in api_server.requests] == [("GET", NS_TYPES + "/mine")]


def test_unchanged_or_inferred_matchers_send_nothing(client, api_server):
    live = _vm({"name": "gone-but-unchanged"})
    check_references(client, live, _vm({"name": "gone-but-unchanged"}), "ns")
    check_references(client, None, _vm({"inferFromVolume": "root"}), "ns")
    assert api_server.requests == []


def test_unknown_kind_is_named(client, api_server):
    with pytest.raises(KubeApiError) as caught:
        check_references(client, None, _vm({"name": "x", "kind": "Flavor"}), "ns")
    assert str(caught.value) == (
        "instancetype.kind: must be VirtualMachineClusterInstancetype or VirtualMachineInstancetype, got 'Flavor'")
    assert api_server.requests == []


def test_forbidden_lookup_leaves_the_verdict_to_kubevirt(client, api_server, api_error):
    api_server.fail("GET", CLUSTER_TYPES + "/u1.small", api_error(403, "Forbidden", "cannot get"))
    check_references(client, None, _vm({"name": "u1.small"}), "ns")
