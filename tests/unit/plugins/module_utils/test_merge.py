# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.virt.kubevirt.plugins.module_utils._merge import (
    deep_merge,
    is_subset,
    managed_fields_of,
    needs_apply,
    released_fields,
)


def test_deep_merge_override_wins_and_inputs_are_untouched():
    base = {"a": {"b": 1, "c": 2}, "x": [1, 2]}
    override = {"a": {"b": 10}, "x": [3]}
    assert deep_merge(base, override) == {"a": {"b": 10, "c": 2}, "x": [3]}
    assert base == {"a": {"b": 1, "c": 2}, "x": [1, 2]}


def test_deep_merge_named_lists_merge_by_name():
    base = {"disks": [{"name": "root", "disk": {"bus": "sata"}, "bootOrder": 1}, {"name": "data", "disk": {}}]}
    override = {"disks": [{"name": "root", "disk": {"bus": "virtio"}}, {"name": "cloudinit", "disk": {}}]}
    assert deep_merge(base, override)["disks"] == [
        {"name": "root", "disk": {"bus": "virtio"}, "bootOrder": 1},
        {"name": "data", "disk": {}},
        {"name": "cloudinit", "disk": {}},
    ]


def test_deep_merge_unnamed_lists_are_replaced():
    assert deep_merge({"t": [{"key": "a"}]}, {"t": [{"key": "b"}]}) == {"t": [{"key": "b"}]}


def test_is_subset_ignores_server_defaults():
    desired = {"spec": {"template": {"spec": {"domain": {"devices": {"interfaces": [{"name": "default", "masquerade": {}}]}}}}}}
    live = {"spec": {"template": {"spec": {"domain": {
        "devices": {"interfaces": [{"name": "default", "masquerade": {}, "macAddress": "02:00"}]},
        "machine": {"type": "q35"},
    }}}}}
    assert is_subset(desired, live)


def test_is_subset_detects_changed_scalar_and_list_length():
    assert not is_subset({"a": "2Gi"}, {"a": "4Gi"})
    assert not is_subset({"l": [{"name": "a"}]}, {"l": [{"name": "a"}, {"name": "b"}]})
    assert not is_subset({"a": {"b": 1}}, {"a": None})
    assert not is_subset({"missing": 1}, {})


def test_is_subset_does_not_equate_bools_and_ints():
    assert not is_subset({"a": True}, {"a": 1})
    assert is_subset({"a": 1}, {"a": 1.0})


def test_released_fields_reports_owned_but_dropped_paths():
    owned = {"f:metadata": {"f:labels": {"f:app": {}, "f:tier": {}}}, "f:spec": {"f:runStrategy": {}}}
    desired = {"metadata": {"labels": {"app": "web"}}, "spec": {"runStrategy": "Always"}}
    assert released_fields(owned, desired) == ["metadata.labels.tier"]


def test_released_fields_keyed_and_set_items():
    owned = {"f:items": {'k:{"name":"a"}': {".": {}, "f:value": {}}, 'k:{"name":"b"}': {}}, "f:tags": {'v:"x"': {}}}
    desired = {"items": [{"name": "a", "value": 1}], "tags": ["y"]}
    assert released_fields(owned, desired) == ['items[{"name":"b"}]', 'tags["x"]']


def test_managed_fields_of_picks_our_apply_entry():
    obj = {"metadata": {"managedFields": [
        {"manager": "virt-controller", "operation": "Update", "fieldsV1": {"f:status": {}}},
        {"manager": "virt.kubevirt", "operation": "Apply", "fieldsV1": {"f:spec": {}}},
    ]}}
    assert managed_fields_of(obj, "virt.kubevirt") == {"f:spec": {}}
    assert managed_fields_of(obj, "other") == {}


def test_needs_apply():
    desired = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "vm"}, "spec": {"runStrategy": "Always"}}
    live = {"metadata": {"name": "vm", "managedFields": [
        {"manager": "virt.kubevirt", "operation": "Apply", "fieldsV1": {"f:spec": {"f:runStrategy": {}}}}
    ]}, "spec": {"runStrategy": "Always", "template": {}}}
    assert needs_apply(desired, None, "virt.kubevirt")
    assert not needs_apply(desired, live, "virt.kubevirt")
    assert needs_apply(dict(desired, spec={"runStrategy": "Halted"}), live, "virt.kubevirt")
    live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:template"] = {}
    assert needs_apply(desired, live, "virt.kubevirt")
