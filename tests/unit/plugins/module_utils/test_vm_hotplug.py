# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import copy

from ansible_collections.virt.kubevirt.plugins.module_utils._vm_hotplug import keep_hotplugged


def _vm(volumes, disks):
    return {"metadata": {"name": "vm1"}, "spec": {"template": {"spec": {
        "domain": {"devices": {"disks": disks}}, "volumes": volumes}}}}


ROOT_V = {"name": "root", "containerDisk": {"image": "quay.io/containerdisks/fedora:41"}}
ROOT_D = {"name": "root", "disk": {"bus": "virtio"}}
HOT_V = {"name": "data", "dataVolume": {"name": "data-dv", "hotpluggable": True}}
HOT_D = {"name": "data", "disk": {"bus": "scsi"}, "serial": "data"}
PVC_V = {"name": "logs", "persistentVolumeClaim": {"claimName": "logs", "hotpluggable": True}}
COLD_V = {"name": "old", "dataVolume": {"name": "old-dv"}}
COLD_D = {"name": "old", "disk": {"bus": "virtio"}}


def test_hot_plugged_volumes_and_their_disks_are_kept():
    live = _vm([ROOT_V, HOT_V, PVC_V, COLD_V], [ROOT_D, HOT_D, COLD_D])
    desired = _vm([ROOT_V], [ROOT_D])
    kept = keep_hotplugged(live, desired)
    spec = kept["spec"]["template"]["spec"]
    assert [v["name"] for v in spec["volumes"]] == ["root", "data", "logs"]
    assert [d["name"] for d in spec["domain"]["devices"]["disks"]] == ["root", "data"]
    assert desired == _vm([ROOT_V], [ROOT_D])  # not modified


def test_a_disk_the_task_names_is_the_tasks():
    live = _vm([ROOT_V, HOT_V], [ROOT_D, HOT_D])
    mine = {"name": "data", "dataVolume": {"name": "other-dv"}}
    desired = _vm([ROOT_V, mine], [ROOT_D, {"name": "data", "disk": {"bus": "virtio"}}])
    assert keep_hotplugged(live, copy.deepcopy(desired)) == desired


def test_nothing_to_keep_without_volumes_in_the_task_or_on_the_vm():
    desired = {"metadata": {"name": "vm1"}, "spec": {"runStrategy": "Always"}}
    assert keep_hotplugged(_vm([ROOT_V, HOT_V], [ROOT_D, HOT_D]), desired) is desired
    assert keep_hotplugged(None, _vm([ROOT_V], [ROOT_D])) == _vm([ROOT_V], [ROOT_D])
    desired = _vm([ROOT_V], [ROOT_D])
    assert keep_hotplugged(_vm([ROOT_V, COLD_V], [ROOT_D, COLD_D]), desired) is desired
