# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._ds_spec import (
    build_ds,
    declared_metadata,
    managing_cron,
    validate_ds_params,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._ds_status import ds_failure, ds_settled, ds_summary
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError


def _params(**extra):
    params = {"name": "fedora", "namespace": "images", "state": "present", "force": False, "labels": None,
              "annotations": None, "pvc": None, "snapshot": None, "data_source": None, "default_instancetype": None,
              "default_instancetype_kind": None, "default_preference": None, "default_preference_kind": None}
    params.update(extra)
    return params


def test_build_ds_fills_the_reference_namespace_and_default_labels():
    body = build_ds(_params(pvc={"name": "fedora-41", "namespace": None}, default_preference="fedora"))
    assert body["spec"] == {"source": {"pvc": {"name": "fedora-41", "namespace": "images"}}}
    assert body["metadata"]["labels"] == {"instancetype.kubevirt.io/default-preference": "fedora"}


def test_declared_metadata_claims_only_the_default_labels_without_labels():
    assert declared_metadata(_params(default_instancetype="u1.small")) == (
        ("metadata", "labels", "instancetype.kubevirt.io/default-instancetype"),)
    assert declared_metadata(_params(labels={"a": "b"}, default_instancetype="u1.small")) == (("metadata", "labels"),)


@pytest.mark.parametrize("extra, message", [
    ({}, "pvc: state=present needs a source"),
    ({"pvc": {"name": "a"}, "snapshot": {"name": "b"}}, "snapshot: a DataSource has one source"),
    ({"data_source": {"name": "fedora"}}, "data_source.name: a DataSource cannot reference itself"),
    ({"data_source": {"name": "x", "namespace": "other"}}, "data_source.namespace: CDI only resolves"),
    ({"pvc": {"name": "a"}, "default_preference_kind": "VirtualMachinePreference"}, "default_preference_kind: is set without"),
    ({"pvc": {"name": "a"}, "default_preference": "x", "labels": {"instancetype.kubevirt.io/default-preference": "y"}},
     "default_preference: is also given as label"),
])
def test_validate_ds_params_names_the_option(extra, message):
    with pytest.raises(KubeApiError) as err:
        validate_ds_params(_params(**extra))
    assert err.value.message.startswith(message), err.value.message


def test_managing_cron_reads_the_cron_label():
    assert managing_cron({"metadata": {"labels": {"cdi.kubevirt.io/dataImportCron": "c"}}}) == "c"
    assert managing_cron(None) is None


def _ds(status, reason, message="m"):
    return {"status": {"conditions": [{"type": "Ready", "status": status, "reason": reason, "message": message}],
                       "source": {"pvc": {"name": "p"}} if status == "True" else {}}}


def test_status_predicates_tell_waiting_from_permanent_reasons():
    assert ds_settled(_ds("True", "Ready")) and ds_failure(_ds("True", "Ready")) is None
    assert not ds_settled(_ds("False", "NotFound"))  # the source may still come
    assert ds_failure(_ds("False", "SelfReference", "DataSource cannot self-reference")) == (
        "DataSource cannot self-reference (reason SelfReference)")
    assert ds_summary(_ds("True", "Ready")) == {"ready": True, "reason": "Ready", "message": "m",
                                                "source": {"pvc": {"name": "p"}}}
    assert ds_summary(None) == {}
