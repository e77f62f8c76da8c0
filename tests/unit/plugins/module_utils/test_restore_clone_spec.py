# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vm_restore and vm_clone: manifests, option checks and status readings."""

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._clone_spec import (
    build_clone,
    spec_differences as clone_differences,
    validate_clone_params,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._clone_status import clone_summary, progress_state as clone_state
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._restore_spec import (
    build_restore,
    spec_differences,
    validate_restore_params,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._restore_status import (
    progress_state,
    restore_final,
    restore_summary,
    vm_volumes,
)

RESTORE = {"name": "r1", "namespace": "vms", "snapshot": "s1", "target_vm": None, "target_readiness_policy": None,
           "volume_restore_policy": None, "volume_restore_overrides": None, "patches": None, "stop_target": False,
           "start_after": False, "wait": True}
CLONE = {"name": "c1", "namespace": "vms", "source": {"kind": "VirtualMachine", "name": "web"}, "target": "web-2",
         "label_filters": None, "annotation_filters": None, "template_label_filters": None,
         "template_annotation_filters": None, "new_mac_addresses": None, "new_smbios_serial": None, "patches": None}


def failure(check, params) -> str:
    with pytest.raises(KubeApiError) as caught:
        check(params)
    return str(caught.value)


def test_restore_manifest_leaves_kubevirt_defaults_unset():
    body = build_restore(RESTORE, "db")
    assert body["spec"] == {"target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "db"},
                            "virtualMachineSnapshotName": "s1"}
    full = build_restore(dict(RESTORE, target_readiness_policy="StopTarget", volume_restore_policy="InPlace",
                              volume_restore_overrides=[{"volume_name": "root", "restore_name": "root-2",
                                                         "labels": None, "annotations": {"a": "b"}}],
                              patches=[{"op": "replace", "path": "/metadata/labels/app", "value": "x"}]), "db")
    assert full["spec"]["targetReadinessPolicy"] == "StopTarget" and full["spec"]["volumeRestorePolicy"] == "InPlace"
    assert full["spec"]["volumeRestoreOverrides"] == [{"volumeName": "root", "restoreName": "root-2",
                                                       "annotations": {"a": "b"}}]
    assert full["spec"]["patches"] == ['{"op":"replace","path":"/metadata/labels/app","value":"x"}']
    assert spec_differences(full, build_restore(RESTORE, "db")) == []
    assert spec_differences(full, build_restore(RESTORE, "other")) == ["target"]


def test_restore_options_fail_naming_the_option():
    assert "patches[0]" in failure(validate_restore_params, dict(RESTORE, patches=["{not json"]))
    assert "patches[0]" in failure(validate_restore_params, dict(RESTORE, patches=[{"op": "frob", "path": "/x"}]))
    assert "volume_restore_overrides[0]" in failure(validate_restore_params, dict(
        RESTORE, volume_restore_overrides=[{"volume_name": "root", "restore_name": None, "labels": None,
                                            "annotations": None}]))
    assert "start_after" in failure(validate_restore_params, dict(RESTORE, start_after=True, wait=False))
    assert "target_vm" in failure(validate_restore_params, dict(RESTORE, target_vm="Bad_Name"))


def test_restore_status_readings():
    running = {"status": {"complete": False, "conditions": [
        {"type": "Progressing", "status": "True", "reason": "Creating new PVCs"}]}}
    failed = {"status": {"complete": False, "conditions": [
        {"type": "Progressing", "status": "False", "reason": "x"},
        {"type": "Failure", "status": "True", "reason": "Restore target VMI must be powered off before restore operation"}]}}
    done = {"status": {"complete": True, "restoreTime": "t", "restores": [
        {"volumeName": "root", "persistentVolumeClaim": "restore-1-root", "volumeSnapshotName": "vs"}],
        "deletedDataVolumes": ["old"]}}
    assert progress_state(running) == "Creating new PVCs" and not restore_final(running)
    assert progress_state(failed).startswith("failed: Restore target VMI") and restore_final(failed)
    assert progress_state(done) == "complete" and progress_state(None) == "absent"
    summary = restore_summary(done)
    assert summary["restores"] == [{"volume_name": "root", "claim_name": "restore-1-root", "volume_snapshot_name": "vs",
                                    "data_volume_name": None}]
    assert summary["deleted_data_volumes"] == ["old"] and summary["complete"] and not summary["failed"]
    vm = {"spec": {"template": {"spec": {"volumes": [{"name": "root", "dataVolume": {"name": "dv"}},
                                                     {"name": "ci", "cloudInitNoCloud": {}}]}}}}
    assert vm_volumes(vm) == [{"name": "root", "type": "dataVolume", "claim_name": "dv"},
                              {"name": "ci", "type": "cloudInitNoCloud", "claim_name": None}]


def test_clone_manifest():
    body = build_clone(dict(CLONE, label_filters=["*", "!team"], template_annotation_filters=["keep"],
                            new_mac_addresses={"default": "02:00:00:00:00:09"}, new_smbios_serial="s",
                            patches=['{"op": "add", "path": "/metadata/labels/env", "value": "t"}']))
    spec = body["spec"]
    assert spec["source"] == {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "web"}
    assert spec["target"] == {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "web-2"}
    assert spec["labelFilters"] == ["*", "!team"] and spec["template"] == {"annotationFilters": ["keep"]}
    assert spec["newMacAddresses"] == {"default": "02:00:00:00:00:09"} and spec["newSMBiosSerial"] == "s"
    assert spec["patches"] == ['{"op":"add","path":"/metadata/labels/env","value":"t"}']
    snap = build_clone(dict(CLONE, source={"kind": "VirtualMachineSnapshot", "name": "s"}))
    assert snap["spec"]["source"]["apiGroup"] == "snapshot.kubevirt.io" and "labelFilters" not in snap["spec"]
    assert clone_differences(snap, body) == ["source"]


def test_clone_options_fail_like_the_webhook_before_any_request():
    assert "label_filters[0]" in failure(validate_clone_params, dict(CLONE, label_filters=["a*b"]))
    assert "annotation_filters[0]" in failure(validate_clone_params, dict(CLONE, annotation_filters=["a!b"]))
    assert "template_label_filters[0]" in failure(validate_clone_params, dict(CLONE, template_label_filters=["!"]))
    assert "target" in failure(validate_clone_params, dict(CLONE, target="web"))
    assert "new_mac_addresses.default" in failure(validate_clone_params, dict(CLONE, new_mac_addresses={"default": "x"}))
    validate_clone_params(dict(CLONE, label_filters=["*", "!team", "app*"]))


def test_clone_progress_shows_why_it_waits():
    assert clone_state({"status": {}}) == "Pending"
    assert clone_state({"status": {"phase": "RestoreInProgress", "conditions": [
        {"type": "Ready", "status": "False", "reason": "Still processing"}]}}) == "RestoreInProgress"
    pending = {"status": {"conditions": [{"type": "Ready", "status": "False",
                                          "reason": "Source doesnt exist: VirtualMachine vms/web"}]}}
    assert clone_state(pending) == "Pending (Source doesnt exist: VirtualMachine vms/web)"
    assert clone_summary({"status": {"phase": "Succeeded", "targetName": "web-2"}})["target_name"] == "web-2"
