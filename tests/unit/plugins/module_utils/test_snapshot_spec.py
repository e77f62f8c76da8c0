# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._snapshot_spec import (
    RETENTION_LABEL,
    build_snapshot,
    generated_name,
    validate_snapshot_params,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._snapshot_status import (
    consistency,
    failure_detail,
    progress_state,
    unsnapshottable_disks,
    volume_summaries,
)


def _params(**extra):
    params = {"name": "db-1", "namespace": "vms", "vm": "db", "state": "present", "labels": None,
              "failure_deadline": None, "deletion_policy": None, "keep": None, "allow_partial": False}
    params.update(extra)
    return params


def test_body_names_the_vm_and_labels_retained_snapshots():
    body = build_snapshot("db-1", _params(keep=3, failure_deadline="10m", deletion_policy="Retain", labels={"a": "b"}))
    assert body["apiVersion"] == "snapshot.kubevirt.io/v1beta1" and body["kind"] == "VirtualMachineSnapshot"
    assert body["spec"] == {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "db"},
                            "failureDeadline": "10m", "deletionPolicy": "Retain"}
    assert body["metadata"]["labels"] == {"a": "b", RETENTION_LABEL: "db"}
    assert "labels" not in build_snapshot("db-1", _params())["metadata"]


def test_generated_name_is_the_vm_and_utc_time():
    when = datetime.datetime(2026, 12, 3, 2, 0, 5, tzinfo=datetime.timezone.utc)
    assert generated_name("db", when) == "db-20261203-020005"
    assert len(generated_name("x" * 253, when)) == 253


@pytest.mark.parametrize("extra, message", [
    ({"failure_deadline": "5 minutes"}, "failure_deadline: must be a duration such as 5m"),
    ({"keep": 0}, "keep:"),
    ({"name": None}, "name: is required unless keep is set"),
    ({"vm": None}, "vm: is required with state=present"),
    ({"state": "absent", "name": None}, "name: is required with state=absent"),
    ({"labels": {RETENTION_LABEL: "x"}}, "labels: %s is set by the module" % RETENTION_LABEL),
    ({"keep": 2, "vm": "v" * 64}, "vm (the %s label value keep sets)" % RETENTION_LABEL),
])
def test_bad_options_name_the_option(extra, message):
    with pytest.raises(KubeApiError) as err:
        validate_snapshot_params(_params(**extra))
    assert str(err.value).startswith(message), str(err.value)


def _snap(phase, indications=None, **status):
    return {"metadata": {"name": "s"}, "status": dict(status, phase=phase, indications=indications or [])}


@pytest.mark.parametrize("snapshot, expected", [
    (_snap("Succeeded"), "offline"),
    (_snap("Succeeded", ["GuestAgent", "Online"]), "application-consistent"),
    (_snap("Succeeded", ["GuestAgent", "Online", "QuiesceFailed"]), "crash-consistent"),
    (_snap("Succeeded", ["NoGuestAgent", "Online"]), "crash-consistent"),
    (_snap("Succeeded", ["Online", "Paused"]), "crash-consistent"),
    (_snap("InProgress", ["GuestAgent", "Online"]), "unknown"),
    (None, "unknown"),
])
def test_consistency_from_the_indications(snapshot, expected):
    assert consistency(snapshot) == expected


def test_progress_and_failure_read_kubevirt_conditions():
    failed = _snap("Failed", error={"message": "Failed freezing vm: x"}, conditions=[
        {"type": "Progressing", "status": "False", "reason": "In error state"},
        {"type": "Failure", "status": "True", "reason": "snapshot deadline exceeded"}])
    assert failure_detail(failed) == "Failed freezing vm: x; Failure: snapshot deadline exceeded; Progressing: In error state"
    assert progress_state(failed) == "Failed: In error state"
    assert progress_state(_snap("Succeeded", readyToUse=True)) == "Succeeded, readyToUse"
    assert progress_state(None) == "absent"


def test_only_claim_backed_disabled_volumes_block_a_snapshot():
    vm = {"spec": {"template": {"spec": {"volumes": [
        {"name": "root", "dataVolume": {"name": "r"}}, {"name": "ci", "cloudInitNoCloud": {}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "d"}}]}}},
        "status": {"volumeSnapshotStatuses": [
            {"name": "root", "enabled": True},
            {"name": "ci", "enabled": False, "reason": "Snapshot is not supported for this volumeSource type [ci]"},
            {"name": "data", "enabled": False, "reason": "No VolumeSnapshotClass: ..."}]}}
    assert unsnapshottable_disks(vm) == [{"name": "data", "reason": "No VolumeSnapshotClass: ..."}]


def test_volume_summaries_join_backups_and_volume_snapshots():
    content = {"spec": {"volumeBackups": [{"volumeName": "root", "volumeSnapshotName": "vs-root",
                                           "persistentVolumeClaim": {"metadata": {"name": "r"}}},
                                          {"volumeName": "data", "volumeSnapshotName": "vs-data",
                                           "persistentVolumeClaim": {"metadata": {"name": "d"}}}]}}
    found = {"vs-root": {"status": {"readyToUse": True, "restoreSize": "1Gi", "creationTime": "t"}}}
    assert volume_summaries(content, found) == [
        {"name": "root", "claim": "r", "volume_snapshot": "vs-root", "ready": True, "restore_size": "1Gi",
         "creation_time": "t", "error": None},
        {"name": "data", "claim": "d", "volume_snapshot": "vs-data", "ready": False, "restore_size": None,
         "creation_time": None, "error": None}]
