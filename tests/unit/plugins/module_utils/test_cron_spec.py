# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._cron_spec import (
    build_cron,
    check_schedule,
    retains_nothing,
    spec_changes,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError


def _params(**extra):
    params = {"name": "c", "namespace": "images", "state": "present", "labels": None, "annotations": None,
              "schedule": "0 */12 * * *", "managed_data_source": "fedora",
              "registry": {"url": "docker://quay.io/containerdisks/fedora:41", "image_stream": None, "pull_method": "node",
                           "secret_ref": None, "cert_config_map": None},
              "storage": {"size": "5Gi", "class": None, "access_modes": None, "volume_mode": None},
              "imports_to_keep": 2, "garbage_collect": None, "retention_policy": None, "service_account_name": None,
              "default_instancetype": None, "default_instancetype_kind": None, "default_preference": None,
              "default_preference_kind": None}
    params.update(extra)
    return params


def test_build_cron_template_is_a_datavolume_spec():
    spec = build_cron(_params())["spec"]
    assert spec["schedule"] == "0 */12 * * *" and spec["managedDataSource"] == "fedora" and spec["importsToKeep"] == 2
    assert spec["template"]["spec"]["source"] == {"registry": {"url": "docker://quay.io/containerdisks/fedora:41",
                                                               "pullMethod": "node"}}
    assert spec["template"]["spec"]["storage"] == {"resources": {"requests": {"storage": "5Gi"}}}
    assert "spec" not in build_cron(_params(), with_spec=False)


def test_spec_changes_ignore_server_defaults_and_name_each_field():
    live = {"spec": dict(build_cron(_params())["spec"], garbageCollect="Outdated", retentionPolicy="RetainAll")}
    assert spec_changes(_params(), live) == []
    assert spec_changes(_params(schedule="@daily", imports_to_keep=3), live) == [
        "spec.schedule: '0 */12 * * *' -> '@daily'", "spec.importsToKeep: 2 -> 3"]


@pytest.mark.parametrize("value", ["0 */12 * * *", "@daily", "*/15 1-5 1,15 jan-mar mon-fri", "0 0 * * 7"])
def test_check_schedule_accepts_standard_lines(value):
    assert check_schedule("schedule", value) == value


@pytest.mark.parametrize("value, message", [
    ("61 * * * *", "schedule: minute field '61' is not valid"),
    ("* 24 * * *", "schedule: hour field '24' is not valid"),
    ("* * * foo *", "schedule: month field 'foo' is not valid"),
    ("* * *", "schedule: must be a cron line of 5 fields"),
])
def test_check_schedule_names_the_bad_field(value, message):
    with pytest.raises(KubeApiError) as err:
        check_schedule("schedule", value)
    assert err.value.message.startswith(message), err.value.message


def test_retains_nothing_only_for_retention_none():
    assert retains_nothing({"spec": {"retentionPolicy": "None"}})
    assert not retains_nothing({"spec": {}}) and not retains_nothing(None)
