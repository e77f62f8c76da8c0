# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""When vm_disk's wait is over, and what a timeout says about the volume."""

from __future__ import annotations

from ansible_collections.virt.kubevirt.plugins.module_utils._disk_status import (
    describe_volume,
    summary,
    volume_gone,
    volume_ready,
)


def vmi(*entries, volumes=("data",)):
    return {"spec": {"volumes": [{"name": name} for name in volumes]},
            "status": {"phase": "Running", "volumeStatus": list(entries)}}


READY = {"name": "data", "phase": "Ready", "target": "sda", "reason": "VolumeReady",
         "message": "Successfully attach hotplugged volume data to VM", "hotplugVolume": {"attachPodName": "hp-volume-x"}}
BOUND = {"name": "data", "phase": "Bound", "target": "", "reason": "PVCNotReady", "message": "PVC is in phase Bound"}


def test_ready_only_in_phase_ready():
    assert volume_ready("data")(vmi(READY))
    for phase in ("Pending", "Bound", "AttachedToNode", "MountedToPod", "Detaching"):
        assert not volume_ready("data")(vmi(dict(BOUND, phase=phase)))
    assert not volume_ready("data")(None)
    assert not volume_ready("other")(vmi(READY))


def test_gone_once_neither_spec_nor_status_lists_it():
    assert not volume_gone("data")(vmi(dict(READY, phase="Detaching"), volumes=()))
    assert not volume_gone("data")(vmi(volumes=("data",)))
    assert volume_gone("data")(vmi(volumes=()))
    assert volume_gone("data")(None)


def test_summary_and_description():
    assert summary(READY) == {"name": "data", "phase": "Ready", "target": "sda", "reason": "VolumeReady",
                              "message": "Successfully attach hotplugged volume data to VM", "attach_pod": "hp-volume-x"}
    assert summary(None) is None
    assert describe_volume(vmi(BOUND), "data") == "volume data: phase Bound (PVCNotReady: PVC is in phase Bound)"
    assert describe_volume(vmi(volumes=()), "data") == "volume data: not in the VMI spec, no volumeStatus yet"
    assert describe_volume(None, "data") == "volume data: the VMI does not exist"
