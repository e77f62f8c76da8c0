# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._migration_policy_spec import (
    build_policy,
    policy_summary,
    validate_policy_params,
)

OPTIONS = ("labels", "annotations", "vmi_selector", "namespace_selector", "bandwidth_per_migration",
           "completion_timeout_per_gib", "allow_auto_converge", "allow_post_copy", "allow_workload_disruption",
           "max_downtime_ms")


def _params(**extra):
    params = dict.fromkeys(OPTIONS)
    params["name"] = "p"
    params.update(extra)
    return params


def test_build_sends_only_given_settings_and_always_selectors():
    assert build_policy(_params())["spec"] == {"selectors": {}}
    body = build_policy(_params(vmi_selector={"app": "db"}, bandwidth_per_migration="0", allow_post_copy=False,
                                labels={"team": "a"}))
    assert body["metadata"] == {"name": "p", "labels": {"team": "a"}}
    assert "namespace" not in body["metadata"] and body["apiVersion"] == "migrations.kubevirt.io/v1alpha1"
    assert body["spec"] == {"selectors": {"virtualMachineInstanceSelector": {"app": "db"}},
                            "bandwidthPerMigration": "0", "allowPostCopy": False}


def test_summary_names_options_and_nulls_unset():
    summary = policy_summary({"metadata": {"name": "p"}, "spec": {
        "selectors": {"namespaceSelector": {"env": "prod"}}, "completionTimeoutPerGiB": 300}})
    assert summary["completion_timeout_per_gib"] == 300 and summary["allow_auto_converge"] is None
    assert summary["namespace_selector"] == {"env": "prod"} and summary["vmi_selector"] == {}


@pytest.mark.parametrize("extra,option", [
    ({"bandwidth_per_migration": "1 Gi"}, "bandwidth_per_migration"),
    ({"completion_timeout_per_gib": 0}, "completion_timeout_per_gib"),
    ({"max_downtime_ms": 0}, "max_downtime_ms"),
    ({"max_downtime_ms": 2000001}, "max_downtime_ms"),
    ({"namespace_selector": {"env": "a b"}}, "namespace_selector.env"),
    ({"vmi_selector": {"/x": "y"}}, "vmi_selector"),
    ({"name": "UPPER"}, "name"),
])
def test_validation_names_the_option(extra, option):
    with pytest.raises(KubeApiError) as err:
        validate_policy_params(_params(**extra))
    assert option in str(err.value)


def test_zero_bandwidth_is_no_limit_and_valid():
    validate_policy_params(_params(bandwidth_per_migration="0", max_downtime_ms=2000000, completion_timeout_per_gib=1))
