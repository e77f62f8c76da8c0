# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.virt.kubevirt.plugins.module_utils._migration_spec import (
    build_migration,
    migration_name,
    node_matches,
    requested_selector,
)


def test_requested_selector_maps_target_node_to_hostname():
    assert requested_selector("node02", {"zone": "b"}) == {"zone": "b", "kubernetes.io/hostname": "node02"}
    assert requested_selector(None, None) == {}
    assert requested_selector("node02", {"kubernetes.io/hostname": "node03"}) == {"kubernetes.io/hostname": "node02"}


def test_node_matches_every_key():
    node = {"metadata": {"labels": {"zone": "b", "kubernetes.io/hostname": "node02"}}}
    assert node_matches(node, {"zone": "b"}) and node_matches(node, {})
    assert not node_matches(node, {"zone": "a"}) and not node_matches(node, {"disk": "ssd"})
    assert not node_matches(None, {})


def test_migration_name_is_stable_and_depends_on_the_request():
    first = migration_name("web", "uid-1", None, {"zone": "b"})
    assert first == migration_name("web", "uid-1", None, {"zone": "b"})
    assert first.startswith("web-migration-") and len(first) == len("web-migration-") + 8
    assert first != migration_name("web", "uid-2", None, {"zone": "b"})
    assert first != migration_name("web", "uid-1", None, {})


def test_migration_name_fits_a_label_value_for_long_vm_names():
    name = migration_name("a" * 60 + "-b", "uid", None, {})
    assert len(name) == 63 and name.startswith("a" * 40) and "--" not in name


def test_build_migration_sets_added_node_selector_only_when_asked():
    body = build_migration("m", "vms", "web", {"zone": "b"})
    assert body == {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceMigration",
        "metadata": {"name": "m", "namespace": "vms"},
        "spec": {"vmiName": "web", "addedNodeSelector": {"zone": "b"}},
    }
    assert build_migration("m", "vms", "web", {})["spec"] == {"vmiName": "web"}
