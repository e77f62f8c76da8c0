# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils import _progress
from ansible_collections.virt.kubevirt.plugins.module_utils._progress import Progress, state_summary


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def lines():
    shown = []
    _progress.set_sink(shown.append)
    yield shown
    _progress.set_sink(None)


def _states(lines):
    return [line.split("] ", 1)[1] for line in lines]


@pytest.mark.parametrize("obj, expected", [
    (None, "absent"),
    ({"status": {}}, "no status yet"),
    ({"status": {"printableStatus": "Starting", "phase": "Pending"}}, "Starting"),
    ({"status": {"phase": "ImportInProgress", "progress": "45.10%"}}, "ImportInProgress 45.10%"),
    ({"status": {"phase": "Pending", "progress": "N/A"}}, "Pending"),
    ({"metadata": {"deletionTimestamp": "x"}, "status": {"printableStatus": "Stopping"}}, "Stopping being deleted"),
])
def test_state_summary(obj, expected):
    assert state_summary(obj) == expected


def test_history_records_each_change_once_with_elapsed_seconds():
    clock = Clock()
    progress = Progress(clock=clock)
    progress.observe("DataVolume ns/dv", "ImportScheduled")
    clock.now += 1.5
    progress.observe("DataVolume ns/dv", "ImportScheduled")
    progress.observe("DataVolume ns/dv", "ImportInProgress 10.00%")
    assert [(e["elapsed"], e["state"]) for e in progress.history] == [(0.0, "ImportScheduled"), (1.5, "ImportInProgress 10.00%")]
    assert progress.history[0]["time"].endswith("Z")


def test_history_keeps_the_first_and_the_newest_entries():
    progress = Progress(clock=Clock())
    for step in range(_progress.HISTORY_LIMIT + 20):
        progress.observe("DataVolume ns/dv", "ImportInProgress %d%%" % step)
    assert len(progress.history) == _progress.HISTORY_LIMIT
    assert progress.history[0]["state"] == "ImportInProgress 0%"
    assert progress.history[-1]["state"] == "ImportInProgress %d%%" % (_progress.HISTORY_LIMIT + 19)


def test_no_sink_shows_nothing_but_keeps_history():
    progress = Progress(clock=Clock())
    progress.observe("VirtualMachine ns/vm", "Starting")
    progress.observe("VirtualMachine ns/vm", "Running")
    progress.finish()
    assert len(progress.history) == 2


def test_a_wait_satisfied_at_first_look_prints_nothing(lines):
    progress = Progress(clock=Clock())
    progress.observe("VirtualMachine ns/vm", "Running")
    progress.finish()
    assert lines == []


def test_a_slow_wait_without_change_shows_its_state_at_the_end(lines):
    clock = Clock()
    progress = Progress(clock=clock, min_interval=3)
    progress.observe("VirtualMachine ns/vm", "Starting")
    clock.now += 10
    progress.finish()
    assert _states(lines) == ["VirtualMachine ns/vm: Starting"]


def test_lines_are_throttled_and_the_newest_is_shown_at_the_end(lines):
    clock = Clock()
    progress = Progress(clock=clock, min_interval=3)
    progress.observe("DataVolume ns/dv", "ImportScheduled")
    clock.now += 0.5
    progress.observe("DataVolume ns/dv", "ImportInProgress 1.00%")   # first change: both shown
    clock.now += 1
    progress.observe("DataVolume ns/dv", "ImportInProgress 5.00%")   # within 3 s: held
    clock.now += 1
    progress.observe("DataVolume ns/dv", "ImportInProgress 9.00%")   # still held, replaces 5%
    clock.now += 2
    progress.observe("DataVolume ns/dv", "ImportInProgress 20.00%")  # 4 s after the last line
    clock.now += 1
    progress.observe("DataVolume ns/dv", "Succeeded 100.0%")
    progress.finish()
    assert _states(lines) == [
        "DataVolume ns/dv: ImportScheduled",
        "DataVolume ns/dv: ImportInProgress 1.00%",
        "DataVolume ns/dv: ImportInProgress 20.00%",
        "DataVolume ns/dv: Succeeded 100.0%",
    ]
    assert len(progress.history) == 6
    assert lines[1].startswith("[") and "+0.5s]" in lines[1]


def test_each_wait_of_a_task_is_quiet_when_satisfied_at_first_look(lines):
    clock = Clock()
    progress = Progress(clock=clock, min_interval=3)
    for subject in ("DataVolume ns/dv", "PersistentVolumeClaim ns/dv"):
        progress.begin()
        progress.observe(subject, "absent")
        progress.finish()
    assert lines == [] and len(progress.history) == 2
    progress.begin()
    progress.observe("VirtualMachine ns/vm", "Stopped")
    clock.now += 1
    progress.observe("VirtualMachine ns/vm", "Running")
    progress.finish()
    assert _states(lines) == ["VirtualMachine ns/vm: Stopped", "VirtualMachine ns/vm: Running"]


def test_conditions_summary_names_each_condition_in_order():
    from ansible_collections.virt.kubevirt.plugins.module_utils._progress import conditions_summary
    summary = conditions_summary("UpToDate", "Progressing")
    cron = {"status": {"conditions": [{"type": "Progressing", "status": "True", "reason": "ImportProgressing"},
                                      {"type": "UpToDate", "status": "False", "reason": "Outdated"}]}}
    assert summary(cron) == "UpToDate=False Outdated, Progressing=True ImportProgressing"
    assert summary({"status": {}}) == "no status yet"
    assert summary(None) == "absent"
