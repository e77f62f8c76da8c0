# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._migration_status import (
    failure_detail,
    in_flight,
    migratable_refusal,
    migration_duration,
    migration_final,
    migration_succeeded,
    migration_summary,
    parse_time,
    phase_timestamps,
    progress_state,
    seconds_between,
    state_for,
    state_summary,
)

RWO = "cannot migrate VMI: PVC data is not shared, live migration requires that all PVCs must be shared (using ReadWriteMany access mode)"


def _vmim(name, phase, vmi="web", created="2026-12-03T10:00:00Z", uid="u-1", **status):
    return {"metadata": {"name": name, "uid": uid, "creationTimestamp": created},
            "spec": {"vmiName": vmi}, "status": dict(status, phase=phase) if phase else status}


def _stamps(*pairs):
    return [{"phase": p, "phaseTransitionTimestamp": t} for p, t in pairs]


def test_final_and_succeeded():
    assert migration_final(None) and migration_final(_vmim("a", "Failed")) and migration_final(_vmim("a", "Succeeded"))
    assert not migration_final(_vmim("a", "Running")) and not migration_final(_vmim("a", ""))
    assert migration_succeeded(_vmim("a", "Succeeded")) and not migration_succeeded(_vmim("a", "Failed"))


def test_in_flight_picks_the_unfinished_migration_of_that_vmi():
    migrations = [_vmim("done", "Succeeded"), _vmim("other", "Running", vmi="db"),
                  _vmim("new", "Pending", created="2026-12-03T10:05:00Z"), _vmim("old", "", created="2026-12-03T10:01:00Z")]
    assert in_flight(migrations, "web")["metadata"]["name"] == "old"
    assert in_flight(migrations, "db")["metadata"]["name"] == "other"
    assert in_flight(migrations[:1], "web") is None


@pytest.mark.parametrize("reason, message, advice", [
    ("DisksNotLiveMigratable", RWO, "use ReadWriteMany (shared) claims"),
    ("InterfaceNotLiveMigratable", "cannot migrate VMI which does not use masquerade", "masquerade"),
    ("HostDeviceNotLiveMigratable", "VMI specifies non-migratable generic PCI host device", "hostDevices"),
])
def test_refusal_carries_kubevirt_reason_message_and_advice(reason, message, advice):
    vmi = {"status": {"conditions": [{"type": "LiveMigratable", "status": "False", "reason": reason, "message": message}]}}
    text = migratable_refusal(vmi)
    assert text.startswith("LiveMigratable is False, reason %s: %s. To migrate it, " % (reason, message)) and advice in text


def test_no_refusal_when_migratable_or_unknown():
    assert migratable_refusal({"status": {"conditions": [{"type": "LiveMigratable", "status": "True"}]}}) is None
    assert migratable_refusal({"status": {}}) is None
    unknown = {"status": {"conditions": [{"type": "LiveMigratable", "status": "False", "reason": "NewReason"}]}}
    assert migratable_refusal(unknown) == "LiveMigratable is False, reason NewReason: no message"


def test_time_helpers():
    assert parse_time("2026-12-03T10:00:00Z").year == 2026
    assert parse_time("garbage") is None and parse_time(None) is None
    assert seconds_between("2026-12-03T10:00:00Z", "2026-12-03T10:00:12.5Z") == 12.5
    assert seconds_between(None, "2026-12-03T10:00:00Z") is None


def test_phase_timestamps_and_duration():
    vmim = _vmim("a", "Succeeded", phaseTransitionTimestamps=_stamps(
        ("Pending", "2026-12-03T10:00:01Z"), ("Running", "2026-12-03T10:00:05Z"), ("Succeeded", "2026-12-03T10:00:11Z")))
    assert phase_timestamps(vmim) == {"Pending": "2026-12-03T10:00:01Z", "Running": "2026-12-03T10:00:05Z",
                                      "Succeeded": "2026-12-03T10:00:11Z"}
    assert migration_duration(vmim) == 10.0
    running = _vmim("b", "Running", phaseTransitionTimestamps=_stamps(("Pending", "2026-12-03T10:00:01Z")))
    assert migration_duration(running) is None
    state = {"startTimestamp": "2026-12-03T10:00:00Z", "endTimestamp": "2026-12-03T10:00:03Z"}
    assert migration_duration(_vmim("c", "Succeeded"), state) == 3.0


def test_state_for_prefers_own_copy_then_the_vmis_of_the_same_uid():
    vmi = {"status": {"migrationState": {"migrationUid": "u-1", "sourceNode": "node01"}}}
    assert state_for(_vmim("a", "Running"), vmi)["sourceNode"] == "node01"
    assert state_for(_vmim("a", "Running", uid="u-2"), vmi) is None
    own = _vmim("a", "Succeeded", migrationState={"sourceNode": "node03"})
    assert state_for(own, vmi)["sourceNode"] == "node03"


def test_state_summary_fields():
    summary = state_summary({"sourceNode": "n1", "targetNode": "n2", "mode": "PreCopy", "completed": True,
                             "abortStatus": "Succeeded", "failureReason": "Live migration has been aborted"})
    assert (summary["source_node"], summary["target_node"], summary["mode"], summary["completed"], summary["failed"]) == \
        ("n1", "n2", "PreCopy", True, False)
    assert summary["abort_status"] == "Succeeded" and summary["failure_reason"] == "Live migration has been aborted"
    assert state_summary(None) is None and state_summary({}) is None


def test_migration_summary():
    vmim = _vmim("a", "Succeeded", migrationState={"sourceNode": "n1", "targetNode": "n2"},
                 phaseTransitionTimestamps=_stamps(("Pending", "2026-12-03T10:00:00Z"), ("Succeeded", "2026-12-03T10:00:04Z")))
    vmim["spec"]["addedNodeSelector"] = {"zone": "b"}
    summary = migration_summary(vmim)
    assert (summary["vmi"], summary["phase"], summary["source_node"], summary["target_node"], summary["duration"]) == \
        ("web", "Succeeded", "n1", "n2", 4.0)
    assert summary["added_node_selector"] == {"zone": "b"} and summary["created"] == "2026-12-03T10:00:00Z"


def test_progress_state():
    assert progress_state(None) == "absent"
    assert progress_state(_vmim("a", "Running")) == "Running"
    deleting = _vmim("a", "Running")
    deleting["metadata"]["deletionTimestamp"] = "2026-12-03T10:00:00Z"
    assert progress_state(deleting) == "Running being deleted"
    assert progress_state(_vmim("a", "")) == "no phase yet"


def test_failure_detail():
    vmim = _vmim("a", "Failed", conditions=[{"type": "migrationAbortRequested", "status": "True"}],
                 migrationState={"failureReason": "Live migration has been aborted", "abortStatus": "Succeeded"})
    assert failure_detail(vmim, None) == ("failure reason: Live migration has been aborted; abort status: Succeeded; "
                                          "condition migrationAbortRequested=True")
    assert failure_detail(None, None) == "no failure reason reported"
