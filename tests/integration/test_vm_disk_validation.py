# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.vm_disk input mistakes: each fails with one line naming the option, before any request.

All cases run as tasks of one play (one ansible-playbook start-up); since none may send a
request, the play as a whole must send none.
"""

from __future__ import annotations

import pytest

from .test_vm_disk_helpers import run_batch

BASE = {"vm_name": "vm1", "namespace": "disk-validation", "name": "data", "data_volume": "vm1-data"}

# (id, options over a valid task (None removes one), the start of the message).
CASES = [
    ("bus-virtio", {"bus": "virtio"}, "bus: KubeVirt hot-plugs disks only on the scsi bus"),
    ("name-uppercase", {"name": "Data"}, "name: must be lowercase letters, digits and '-'"),
    ("name-empty", {"name": ""}, "name: must not be empty"),
    ("name-dotted", {"name": "a.b"}, "name: must be lowercase letters, digits and '-'"),
    ("vm-name-path", {"vm_name": "a/b"}, "vm_name: must be an object name, not a path"),
    ("namespace-empty", {"namespace": ""}, "namespace: must not be empty"),
    ("data-volume-underscore", {"data_volume": "vm1_data"}, "data_volume: must be lowercase letters, digits, '-' and '.'"),
    ("pvc-path", {"data_volume": None, "persistent_volume_claim": ".."}, "persistent_volume_claim: must be an object name"),
    ("serial-space", {"serial": "bad serial"}, "serial: must be made up of the characters A-Z a-z 0-9 _ . + -"),
    ("cache-unknown", {"cache": "unsafe"}, "value of cache must be one of: none, writethrough, writeback, got: unsafe"),
    ("method-unknown", {"method": "hotplug"}, "value of method must be one of: declarative, subresource, got: hotplug"),
    ("two-sources", {"persistent_volume_claim": "pvc1"}, "parameters are mutually exclusive: data_volume|persistent_volume_claim"),
    ("no-source", {"data_volume": None}, "state is present but any of the following are missing: data_volume, persistent_volume_claim"),
    ("declarative-not-persisted", {"persist": False}, "persist: false needs method: subresource"),
    ("negative-timeout", {"wait_timeout": -1}, "wait_timeout must be zero or more seconds, got -1"),
]


def _args(extra):
    args = dict(BASE)
    for key, value in extra.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return args


@pytest.fixture(scope="module")
def outcomes(runner):
    results, requests = run_batch(runner, [_args(extra) for _id, extra, _msg in CASES])
    return {case[0]: result for case, result in zip(CASES, results)}, requests


@pytest.mark.parametrize("case_id, extra, message", CASES, ids=[case[0] for case in CASES])
def test_bad_input_fails_with_one_line_naming_the_option(outcomes, case_id, extra, message):
    result = outcomes[0][case_id]
    assert result.get("failed"), result
    assert result["msg"].startswith(message), result["msg"]
    assert "\n" not in result["msg"]


def test_no_case_sent_a_request(outcomes):
    assert outcomes[1] == [], [(r["method"], r["path"]) for r in outcomes[1]]


def test_cases_are_unique():
    assert len({case[0] for case in CASES}) == len(CASES)
