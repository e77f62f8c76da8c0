# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Callback for tests/integration/bench_task_cost.py: when each task and each loop item ended.

Enabled with ANSIBLE_CALLBACK_PLUGINS pointing at this folder and ANSIBLE_CALLBACKS_ENABLED=
task_cost_timer. At the end of the run it writes ``{"tasks": [{"name", "start", "items": [{"end",
"status"}]}]}`` (wall-clock seconds from time.perf_counter, in the controller process) to the file
named by TASK_COST_TIMER_OUTPUT. A loop runs its items one after another in one worker, and the
worker reports each item as it finishes, so the gaps between item reports are per-item costs. A
task without a loop gets one item, its end, so the gaps between tasks are per-task costs (each
task a worker of its own, as in a fleet playbook).
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: task_cost_timer
type: aggregate
short_description: per-item timestamps for the task cost benchmark
description: Writes task start and loop item end times to the file in E(TASK_COST_TIMER_OUTPUT).
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_cost_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tasks = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._tasks.append({"name": task.get_name(), "start": time.perf_counter(), "items": []})

    def _item(self, status):
        if self._tasks:
            self._tasks[-1]["items"].append({"end": time.perf_counter(), "status": status})

    def v2_runner_item_on_ok(self, result):
        self._item("changed" if result._result.get("changed") else "ok")

    def v2_runner_item_on_failed(self, result):
        self._item("failed")

    def v2_runner_item_on_skipped(self, result):
        self._item("skipped")

    def v2_runner_on_ok(self, result):
        if not result._task.loop:  # a loop's own end repeats its last item
            self._item("changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not result._task.loop:
            self._item("failed")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("TASK_COST_TIMER_OUTPUT")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump({"tasks": self._tasks}, handle)
