# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.virt.kubevirt.plugins.module_utils._diff import clean_object, has_difference, make_diff

LIVE = {
    "apiVersion": "kubevirt.io/v1",
    "kind": "VirtualMachine",
    "metadata": {
        "name": "vm1",
        "namespace": "ns",
        "uid": "u",
        "resourceVersion": "42",
        "generation": 3,
        "creationTimestamp": "2026-01-01T00:00:00Z",
        "managedFields": [{"manager": "virt.kubevirt"}],
        "annotations": {
            "kubemacpool.io/transaction-timestamp": "2026-01-01T00:00:00Z",
            "kubevirt.io/latest-observed-api-version": "v1",
            "owner": "team-a",
        },
    },
    "spec": {"runStrategy": "Always"},
    "status": {"printableStatus": "Running"},
}


def test_clean_object_hides_noise_and_keeps_meaning():
    assert clean_object(LIVE) == {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": "vm1", "namespace": "ns", "annotations": {"owner": "team-a"}},
        "spec": {"runStrategy": "Always"},
    }
    assert LIVE["metadata"]["uid"] == "u"  # input untouched


def test_clean_object_drops_annotations_that_were_all_noise():
    obj = {"metadata": {"name": "a", "annotations": {"kubemacpool.io/transaction-timestamp": "t"}}}
    assert clean_object(obj) == {"metadata": {"name": "a"}}


def test_make_diff_for_create_and_delete():
    assert make_diff(None, LIVE)["before"] == {}
    assert make_diff(LIVE, None)["after"] == {}


def test_has_difference_ignores_status_and_versions():
    changed_status = dict(LIVE, status={"printableStatus": "Stopped"})
    assert not has_difference(LIVE, changed_status)
    assert has_difference(LIVE, dict(LIVE, spec={"runStrategy": "Halted"}))
