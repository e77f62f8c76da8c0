# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._module import WAIT_ARG_SPEC, build_argument_spec
from ansible_collections.virt.kubevirt.plugins.module_utils._quantity import is_quantity, quantity_error
from ansible_collections.virt.kubevirt.plugins.module_utils._query import run_query


@pytest.mark.parametrize("value", ["1Gi", "512Mi", "1.5Gi", "100m", "2G", "1e3", "0", 1024, ".5Gi"])
def test_valid_quantities(value):
    assert is_quantity(value)


@pytest.mark.parametrize("value", ["2GB", "1 Gi", "Gi", "", "-1Gi", "1.2.3", True, None, -5, "1gi"])
def test_invalid_quantities(value):
    assert not is_quantity(value)


def test_quantity_error_names_option_and_value():
    assert quantity_error("memory", "2GB").startswith("memory: '2GB' is not a valid Kubernetes quantity")


def test_run_query_projects_and_filters():
    data = [{"metadata": {"name": "a"}, "vmi": {"phase": "Running"}}, {"metadata": {"name": "b"}, "vmi": None}]
    assert run_query("[?vmi.phase=='Running'].metadata.name", data) == ["a"]


def test_run_query_rejects_bad_expressions():
    with pytest.raises(KubeApiError, match="query: invalid JMESPath expression"):
        run_query("[?", [])


def test_build_argument_spec_merges_auth_wait_and_own():
    spec = build_argument_spec({"name": {"type": "str", "required": True}, "wait_timeout": {"type": "int", "default": 5}})
    assert spec["api_key"]["no_log"] is True
    assert spec["wait"] == WAIT_ARG_SPEC["wait"]
    assert spec["wait_timeout"]["default"] == 5
    assert WAIT_ARG_SPEC["wait_timeout"]["default"] == 120
    assert "wait" not in build_argument_spec({}, wait=False)
