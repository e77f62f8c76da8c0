# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils import _predicates as p

RUNNING_VM = {
    "metadata": {"name": "vm1"},
    "status": {
        "printableStatus": "Running",
        "ready": True,
        "conditions": [{"type": "Ready", "status": "True"}, {"type": "LiveMigratable", "status": "False", "reason": "DisksNotLiveMigratable"}],
    },
}
STOPPED_VM = {
    "metadata": {"name": "vm1"},
    "status": {
        "printableStatus": "Stopped",
        "conditions": [{"type": "Ready", "status": "False", "reason": "VMINotExists", "message": "VMI does not exist"}],
    },
}
STARTING_VM = {"metadata": {"name": "vm1"}, "status": {"printableStatus": "Starting", "ready": False}}
RUNNING_VMI = {
    "metadata": {"name": "vm1", "uid": "new"},
    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
}


def test_condition_lookup_and_match():
    assert p.find_condition(RUNNING_VM, "LiveMigratable")["reason"] == "DisksNotLiveMigratable"
    assert p.condition_matches(RUNNING_VM, "Ready")
    assert p.condition_matches(RUNNING_VM, "LiveMigratable", "False", "DisksNotLiveMigratable")
    assert not p.condition_matches(RUNNING_VM, "LiveMigratable", "False", "Other")
    assert not p.condition_matches(None, "Ready")
    assert not p.condition_matches(STARTING_VM, "Ready")


@pytest.mark.parametrize(
    "vm, ready, stopped",
    [(RUNNING_VM, True, False), (STOPPED_VM, False, True), (STARTING_VM, False, False), (None, False, False)],
)
def test_vm_ready_and_stopped(vm, ready, stopped):
    assert p.vm_ready(vm) is ready
    assert p.vm_stopped(vm) is stopped


def test_ready_condition_alone_counts_as_ready():
    assert p.vm_ready({"status": {"conditions": [{"type": "Ready", "status": "True"}]}})


def test_vmi_replaced_needs_a_new_uid_and_readiness():
    assert p.vmi_replaced("old")(RUNNING_VMI)
    assert not p.vmi_replaced("new")(RUNNING_VMI)
    assert not p.vmi_replaced("old")(None)
    assert not p.vmi_replaced("old")({"metadata": {"uid": "x"}, "status": {"phase": "Scheduling"}})


def test_gone_and_exists():
    assert p.is_gone(None) and not p.is_gone(RUNNING_VM)
    assert p.exists(RUNNING_VM) and not p.exists(None)


@pytest.mark.parametrize(
    "strategy, satisfied_by",
    [("Always", RUNNING_VM), ("RerunOnFailure", RUNNING_VM), ("Halted", STOPPED_VM), ("Once", STOPPED_VM), ("Once", RUNNING_VM)],
)
def test_vm_target_by_run_strategy(strategy, satisfied_by):
    predicate, description = p.vm_target(strategy)
    assert predicate(satisfied_by)
    assert not predicate(STARTING_VM)
    assert description


def test_vm_target_none_for_manual_or_unset():
    assert p.vm_target("Manual") is None
    assert p.vm_target(None) is None


def test_condition_predicate():
    assert p.condition_predicate("Ready")(RUNNING_VM)
    assert p.condition_predicate("Ready", "False", "VMINotExists")(STOPPED_VM)


def test_describe_state_lists_status_and_conditions():
    text = p.describe_state(STOPPED_VM)
    assert text == "printableStatus Stopped; conditions Ready=False (VMINotExists: VMI does not exist)"
    assert p.describe_state(None) == "the object does not exist"
    assert p.describe_state({"metadata": {}}) == "no status reported yet"
    assert "being deleted" in p.describe_state({"metadata": {"deletionTimestamp": "t"}, "status": {"phase": "Running"}})
