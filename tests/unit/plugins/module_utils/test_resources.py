# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import dataclasses

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils import _resources as r


def test_namespaced_custom_resource_paths():
    assert r.VIRTUAL_MACHINE.path("ns") == "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines"
    assert r.VIRTUAL_MACHINE.path("ns", "vm1") == "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/vm1"
    assert r.VIRTUAL_MACHINE.path() == "/apis/kubevirt.io/v1/virtualmachines"


def test_core_and_cluster_scoped_paths():
    assert r.EVENT.path("ns") == "/api/v1/namespaces/ns/events"
    assert r.NAMESPACE.path(None, "ns") == "/api/v1/namespaces/ns"
    assert r.CLUSTER_INSTANCETYPE.path("ignored", "u1.medium") == (
        "/apis/instancetype.kubevirt.io/v1beta1/virtualmachineclusterinstancetypes/u1.medium"
    )


def test_subresource_path():
    assert r.VIRTUAL_MACHINE_SUBRESOURCES.path("ns", "vm1", "restart") == (
        "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/vm1/restart"
    )


def test_names_are_url_quoted():
    assert r.SECRET.path("ns", "a/b") == "/api/v1/namespaces/ns/secrets/a%2Fb"


def test_api_version():
    assert r.VIRTUAL_MACHINE.api_version == "kubevirt.io/v1"
    assert r.SERVICE.api_version == "v1"


def test_refs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.VIRTUAL_MACHINE.plural = "x"
