# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How vm_disk reads a VM spec and what it would write: the AddVolumeOptions body, the
comparison that makes a re-run a no-op, and the refusals that come before any write."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._disk_hotplug import (
    add_volume_options,
    attached,
    detachable,
    pending_request,
    template_patch,
    validate_disk_params,
    with_disk,
    without_disk,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError

WHERE = "VirtualMachine ns/vm1"


def params(**extra):
    base = {"vm_name": "vm1", "namespace": "ns", "name": "data", "data_volume": "vm1-data", "persistent_volume_claim": None,
            "bus": "scsi", "serial": None, "cache": None, "method": "declarative", "persist": True, "state": "present"}
    base.update(extra)
    return base


def spec(*extra_volumes, disks=None):
    volumes = [{"name": "root", "containerDisk": {"image": "quay.io/containerdisks/fedora:41"}}] + list(extra_volumes)
    return {"domain": {"devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}] + list(disks or [])}},
            "volumes": volumes}


PLUGGED = {"name": "data", "dataVolume": {"name": "vm1-data", "hotpluggable": True}}
PLUGGED_DISK = {"name": "data", "disk": {"bus": "scsi"}}


def test_add_volume_options_is_kubevirts_body():
    assert add_volume_options(params(persistent_volume_claim="scratch", data_volume=None, serial="S1", cache="none")) == {
        "name": "data",
        "disk": {"name": "data", "disk": {"bus": "scsi"}, "serial": "S1", "cache": "none"},
        "volumeSource": {"persistentVolumeClaim": {"claimName": "scratch", "hotpluggable": True}},
    }


def test_a_plugged_disk_is_attached_and_a_new_one_is_not():
    assert attached(spec(PLUGGED, disks=[PLUGGED_DISK]), params(), WHERE) is True
    assert attached(spec(), params(), WHERE) is False


@pytest.mark.parametrize("live, disks, wanted, message", [
    (dict(PLUGGED, name="other"), [], params(), "data_volume: vm1-data is already attached to VirtualMachine ns/vm1 as volume other"),
    ({"name": "data", "dataVolume": {"name": "old", "hotpluggable": True}}, [PLUGGED_DISK], params(),
     "data_volume: volume data of VirtualMachine ns/vm1 uses dataVolume old; unplug it first (state: absent) to attach vm1-data"),
    ({"name": "data", "dataVolume": {"name": "vm1-data"}}, [PLUGGED_DISK], params(),
     "name: volume data of VirtualMachine ns/vm1 is not hotpluggable (dataVolume vm1-data)"),
    (PLUGGED, [dict(PLUGGED_DISK, serial="OLD")], params(serial="NEW"),
     "serial: disk data of VirtualMachine ns/vm1 has serial 'OLD'; unplug it first"),
    (PLUGGED, [PLUGGED_DISK], params(cache="writeback"), "cache: disk data of VirtualMachine ns/vm1 has no cache; unplug it first"),
    (PLUGGED, [{"name": "data", "lun": {"bus": "scsi"}}], params(), "name: disk data of VirtualMachine ns/vm1 has a lun device"),
])
def test_something_else_under_the_name_or_claim_is_refused(live, disks, wanted, message):
    with pytest.raises(KubeApiError) as err:
        attached(spec(live, disks=disks), wanted, WHERE)
    assert str(err.value).startswith(message), str(err.value)


def test_unplug_needs_a_hotpluggable_volume():
    assert detachable(spec(PLUGGED, disks=[PLUGGED_DISK]), "data", WHERE) is True
    assert detachable(spec(), "data", WHERE) is False
    with pytest.raises(KubeApiError, match="volume root of VirtualMachine ns/vm1 is not hotpluggable \\(a containerDisk source\\)"):
        detachable(spec(), "root", WHERE)


def test_with_and_without_keep_the_other_entries_in_order():
    before = spec({"name": "logs", "persistentVolumeClaim": {"claimName": "logs", "hotpluggable": True}})
    original = copy.deepcopy(before)
    added = with_disk(before, params())
    assert [v["name"] for v in added["volumes"]] == ["root", "logs", "data"]
    assert added["disks"][-1] == PLUGGED_DISK
    assert before == original, "the live spec must not be modified"
    removed = without_disk(spec(PLUGGED, disks=[PLUGGED_DISK]), "data")
    assert [v["name"] for v in removed["volumes"]] == ["root"] and [d["name"] for d in removed["disks"]] == ["root"]


def test_template_patch_is_guarded_by_the_version_read():
    vm = {"metadata": {"name": "vm1", "resourceVersion": "42"}, "spec": {"template": {"spec": spec()}}}
    patch = template_patch(vm, with_disk(spec(), params()))
    assert patch["metadata"] == {"resourceVersion": "42"}
    assert patch["spec"]["template"]["spec"]["volumes"][-1] == PLUGGED


def test_pending_volume_requests_count_as_in_progress():
    vm = {"status": {"volumeRequests": [{"addVolumeOptions": {"name": "data"}}, {"removeVolumeOptions": {"name": "old"}}]}}
    assert pending_request(vm, "data") == "add"
    assert pending_request(vm, "old") == "remove"
    assert pending_request(vm, "other") is None


@pytest.mark.parametrize("extra, message", [
    ({"bus": "virtio"}, "bus: KubeVirt hot-plugs disks only on the scsi bus"),
    ({"serial": "a b"}, "serial: must be made up of the characters"),
    ({"name": "Data"}, "name: must be lowercase letters"),
    ({"persist": False}, "persist: false needs method: subresource"),
])
def test_validation_names_the_option(extra, message):
    with pytest.raises(KubeApiError) as err:
        validate_disk_params(params(**extra))
    assert str(err.value).startswith(message)


def test_valid_params_pass():
    validate_disk_params(params(serial="DATA_01.a+b-c", method="subresource", persist=False))
