# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A vm task that declares the VM's disks keeps the disks hot-plugged into it (vm_disk)."""

from __future__ import annotations

from .test_vm_disk_helpers import IMAGE, template_disks, template_volumes, volume_phases


def _vm(namespace, **extra):
    args = {"name": "vm1", "namespace": namespace, "run_strategy": "Always", "memory": "1Gi", "wait": True,
            "disks": [{"name": "root", "container_disk": IMAGE, "bus": "virtio"}]}
    args.update(extra)
    return args


def test_a_vm_task_with_disks_keeps_a_hot_plugged_disk(runner, namespace, objects):
    assert not runner.run("vm", _vm(namespace)).failed
    objects.create_dv(namespace, "vm1-data")
    plugged = runner.run("vm_disk", {"vm_name": "vm1", "namespace": namespace, "name": "data",
                                     "data_volume": "vm1-data", "method": "subresource", "wait_timeout": 30})
    assert plugged.changed and not plugged.failed, plugged

    again = runner.run("vm", _vm(namespace))
    assert not again.failed and not again.changed, again
    assert again.writes == [], again
    vm = objects.vm(namespace, "vm1")
    assert set(template_volumes(vm)) == {"root", "data"} and set(template_disks(vm)) == {"root", "data"}

    # A real change to the declared disks is applied, and the hot-plugged one still stays.
    changed = runner.run("vm", _vm(namespace, disks=[{"name": "root", "container_disk": IMAGE, "bus": "sata"}]))
    assert changed.changed and not changed.failed, changed
    vm = objects.vm(namespace, "vm1")
    assert template_disks(vm)["root"]["disk"]["bus"] == "sata"
    assert template_volumes(vm)["data"]["dataVolume"] == {"name": "vm1-data", "hotpluggable": True}
    assert volume_phases(objects.vmi(namespace, "vm1")).get("data") == "Ready"
