# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Built-in group names."""

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._inventory_groups import (
    GROUP_BY_CHOICES,
    cluster_parent,
    default_cluster_name,
    host_groups,
    status_group,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._inventory_hosts import HostRecord


def record(**kwargs):
    values = dict(
        name="apps-web", cluster="east", namespace="apps", variables={}, running=True, node="node01",
        status="Running", os_id="fedora", windows=False, instancetype="u1.medium",
        label_maps=({"app": "web"}, {"kubevirt.io/domain": "web", "app": "web"}),
    )
    values.update(kwargs)
    return HostRecord(**values)


@pytest.mark.parametrize(
    "server, expected",
    [
        ("https://api.ocp.example.com:6443", "api-ocp-example-com_6443"),
        ("http://127.0.0.1:8080/", "127-0-0-1_8080"),
        ("https://10.0.0.1", "10-0-0-1"),
    ],
)
def test_default_cluster_name_matches_kubevirt_core(server, expected):
    assert default_cluster_name(server) == expected


@pytest.mark.parametrize(
    "status, expected",
    [
        ("Running", "status_running"),
        ("ErrorUnschedulable", "status_error_unschedulable"),
        ("CrashLoopBackOff", "status_crash_loop_back_off"),
        ("ErrImagePull", "status_err_image_pull"),
        ("WaitingForVolumeBinding", "status_waiting_for_volume_binding"),
    ],
)
def test_status_group(status, expected):
    assert status_group(status) == expected


def test_all_built_in_groups():
    assert host_groups(record(), GROUP_BY_CHOICES, create_groups=False) == [
        "namespace_apps", "node_node01", "status_running", "os_fedora", "instancetype_u1.medium",
    ]


def test_groups_are_switchable_one_by_one():
    assert host_groups(record(), ["namespace"], False) == ["namespace_apps"]
    assert host_groups(record(), [], False) == []
    assert host_groups(record(), ["node", "os"], False) == ["node_node01", "os_fedora"]


def test_label_groups_with_create_groups():
    groups = host_groups(record(), [], create_groups=True)
    assert groups == ["label_app_web", "label_kubevirt.io/domain_web"]


def test_windows_hosts_join_os_windows():
    assert host_groups(record(os_id="mswindows", windows=True), ["os"], False) == ["os_mswindows", "os_windows"]
    assert host_groups(record(os_id=None, windows=True), ["os"], False) == ["os_windows"]
    assert host_groups(record(os_id="windows", windows=True), ["os"], False) == ["os_windows"]


def test_stopped_host_has_no_node_group():
    groups = host_groups(record(running=False, node=None, status="Stopped", os_id=None), GROUP_BY_CHOICES, False)
    assert groups == ["namespace_apps", "status_stopped", "instancetype_u1.medium"]


def test_cluster_parent_nests_namespaces_for_a_single_cluster():
    assert cluster_parent(record(), GROUP_BY_CHOICES, single_cluster=True) == ("east", "namespace_apps")
    assert cluster_parent(record(), GROUP_BY_CHOICES, single_cluster=False) == ("east", None)
    assert cluster_parent(record(), ["cluster"], single_cluster=True) == ("east", None)
    assert cluster_parent(record(), ["namespace"], single_cluster=True) == (None, None)
