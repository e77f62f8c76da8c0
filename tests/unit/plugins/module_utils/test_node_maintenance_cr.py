# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""node_maintenance with method=node_maintenance_cr: the CR it creates, the progress line, the failure
message, and the option checks made before any request."""

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._node_maintenance_cr import body, failure, schedulable, summary
from ansible_collections.virt.kubevirt.plugins.modules.node_maintenance import ARGUMENT_SPEC, _node_names


def params(**kw):
    out = {k: v.get("default") for k, v in ARGUMENT_SPEC.items()}
    out.update(name="worker-1", **kw)
    return out


def cr(**status):
    return {"metadata": {"name": "worker-1"}, "spec": {"nodeName": "worker-1"}, "status": status}


def test_body_names_the_cr_after_the_node_and_carries_the_reason_only_when_given():
    assert body("worker-1", "firmware") == {
        "apiVersion": "nodemaintenance.medik8s.io/v1beta1", "kind": "NodeMaintenance",
        "metadata": {"name": "worker-1"}, "spec": {"nodeName": "worker-1", "reason": "firmware"}}
    assert body("worker-1", None)["spec"] == {"nodeName": "worker-1"}


def test_summary_shows_phase_drain_progress_and_pending_pods():
    assert summary(None) == "absent"
    assert summary(cr()) == "no status yet"
    assert summary(cr(phase="Running", drainProgress=50, pendingPodsRefs=[{"namespace": "web", "name": "web-1"}],
                      pendingPods=["web-1"])) == "Running, drain 50%, 1 pod pending (web/web-1)"
    assert summary(cr(phase="Running", pendingPods=["a", "b"])) == "Running, drain 0%, 2 pods pending (a, b)"
    assert summary(cr(phase="Succeeded", drainProgress=100)) == "Succeeded, drain 100%"


def test_failure_quotes_last_error():
    err = failure(cr(phase="Running", drainProgress=0, pendingPods=["db-1"], lastError="global timeout reached: 30s"),
                  "did not succeed within wait_timeout", "Timeout")
    assert str(err) == ("NodeMaintenance worker-1 did not succeed within wait_timeout: Running, drain 0%, 1 pod pending "
                        "(db-1); lastError: global timeout reached: 30s")
    assert err.reason == "Timeout"


def test_schedulable_needs_no_cordon_and_no_drain_taint():
    assert schedulable({"spec": {}})
    assert not schedulable({"spec": {"unschedulable": True}})
    assert not schedulable({"spec": {"taints": [{"key": "medik8s.io/drain", "effect": "NoSchedule"}]}})
    assert not schedulable(None)


def test_leave_and_a_reason_without_the_cr_method_are_refused():
    with pytest.raises(KubeApiError, match="^non_migratable: leave is not possible with method=node_maintenance_cr"):
        _node_names(params(method="node_maintenance_cr", non_migratable="leave"))
    with pytest.raises(KubeApiError, match="^reason: is the NodeMaintenance's spec.reason: it needs method=node_"):
        _node_names(params(reason="firmware"))
    assert _node_names(params(method="node_maintenance_cr", reason="firmware", non_migratable="stop")) == ["worker-1"]
