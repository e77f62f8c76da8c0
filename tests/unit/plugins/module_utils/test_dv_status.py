# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._dv_status import (
    claim_capacity_at_least,
    claim_summary,
    dv_failure,
    dv_target,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_usage import describe_users, used_by, users_by_claim
from ansible_collections.virt.kubevirt.plugins.module_utils._quantity import quantity_value

IMPORTER = ('Unable to connect to http data source: HTTP request errored: Get "https://x.invalid/a": dial tcp: '
            "lookup x.invalid on 172.30.0.10:53: no such host")


def _dv(phase, *conditions, **status):
    return {"metadata": {"name": "d"}, "status": dict(status, phase=phase, conditions=[
        {"type": t, "status": s, "reason": r, "message": m} for t, s, r, m in conditions])}


@pytest.mark.parametrize("dv, expected", [
    (_dv("ImportInProgress", ("Running", "False", "Error", IMPORTER), restartCount=2),
     IMPORTER + " (Running=False, reason Error, 2 restarts)"),
    (_dv("Failed", ("Ready", "False", "", "PVC d lost")), "phase Failed: PVC d lost"),
    (_dv("", ("Bound", "False", "ErrClaimNotValid", "PVC spec is missing accessMode and no storageClass to choose profile")),
     "PVC spec is missing accessMode and no storageClass to choose profile (Bound=False, reason ErrClaimNotValid)"),
])
def test_failures_cdi_does_not_recover_from(dv, expected):
    assert dv_failure(dv) == expected
    assert dv_target(False)[0](dv)  # the wait ends


@pytest.mark.parametrize("dv", [
    None,
    _dv("ImportScheduled", ("Running", "False", "", "")),
    _dv("CloneScheduled", ("Bound", "False", "CloneWithoutSource", "The source pvc golden doesn't exist")),
    _dv("ImportInProgress", ("Running", "True", "Pod is running", "")),
])
def test_states_that_may_still_succeed_keep_the_wait_going(dv):
    assert dv_failure(dv) is None
    assert not dv_target(False)[0](dv)


def test_targets_by_kind():
    upload, text = dv_target(True)
    assert upload(_dv("UploadReady")) and "UploadReady" in text
    done, _text = dv_target(False)
    assert not done(_dv("UploadReady")) and done(_dv("Succeeded")) and done(_dv("WaitForFirstConsumer"))


def test_claim_capacity_and_summary():
    pvc = {"metadata": {"name": "d"}, "spec": {"storageClassName": "fast", "accessModes": ["ReadWriteOnce"],
                                               "resources": {"requests": {"storage": "2Gi"}}},
           "status": {"phase": "Bound", "capacity": {"storage": "2Gi"}}}
    assert claim_capacity_at_least("2Gi")(pvc) and claim_capacity_at_least("2147483648")(pvc)
    assert not claim_capacity_at_least("3Gi")(pvc) and not claim_capacity_at_least("1Gi")(None)
    summary = claim_summary(pvc)
    assert (summary["storage_class"], summary["volume_mode"], summary["capacity"]) == ("fast", "Filesystem", "2Gi")
    assert claim_summary(None) is None


def test_quantity_values():
    assert quantity_value("1Gi") == quantity_value("1073741824") == 2 ** 30
    assert quantity_value("1.5G") == 1.5e9 and quantity_value("1e3") == 1000 and quantity_value("1E") == 1e18
    assert quantity_value("1Gi\n") is None and quantity_value("abc") is None


VM = {"metadata": {"name": "web", "namespace": "ns"}, "spec": {
    "dataVolumeTemplates": [{"metadata": {"name": "web-root"}}],
    "template": {"spec": {"volumes": [{"name": "root", "dataVolume": {"name": "web-root"}},
                                      {"name": "data", "persistentVolumeClaim": {"claimName": "shared"}},
                                      {"name": "cloudinitdisk", "cloudInitNoCloud": {}}]}}}}


class _Client:
    def list(self, ref, namespace=None):
        return [VM]


def test_vm_usage():
    users = users_by_claim([VM])
    assert used_by(users, "ns", {"shared"}) == ["web"] and used_by(users, "other", {"shared"}) == []
    assert describe_users(_Client(), "ns", {"web-root"}) == ["web (dataVolumeTemplates, volume root)"]
    assert describe_users(_Client(), "ns", {"nothing"}) == []
