# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The vm / vm_info option checks of _validate_vm.py (the full table runs in tests/integration)."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._validate_vm import (
    check_interface_name,
    check_port_name,
    check_restart,
    check_vm_name,
    validate_vm_info_params,
    validate_vm_params,
)
from ansible_collections.virt.kubevirt.plugins.modules import vm as vm_module
from ansible_collections.virt.kubevirt.plugins.modules import vm_info as vm_info_module


def _examples(module):
    for task in yaml.safe_load(module.EXAMPLES):
        for key, args in task.items():
            if key.startswith("virt.kubevirt."):
                yield args


def _vm_defaults(args):
    params = {"state": "present", "restart": False, "wait_timeout": 120}
    params.update(args)
    keys = (params.get("cloud_init") or {}).get("ssh_authorized_keys")
    if keys:  # the examples read the key with a lookup; this is what it returns
        params["cloud_init"] = dict(params["cloud_init"], ssh_authorized_keys=["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 me@laptop"])
    return params


@pytest.mark.parametrize("args", list(_examples(vm_module)), ids=lambda a: a.get("name"))
def test_documented_vm_examples_pass(args):
    validate_vm_params(_vm_defaults(args))


@pytest.mark.parametrize("args", list(_examples(vm_info_module)), ids=lambda a: str(sorted(a)))
def test_documented_vm_info_examples_pass(args):
    validate_vm_info_params(args)


def test_vm_name_is_a_label_value_too():
    assert check_vm_name("name", "a" * 63)
    with pytest.raises(KubeApiError, match="name: must be at most 63 characters .*kubevirt.io/domain.*got 64"):
        check_vm_name("name", "a" * 64)


@pytest.mark.parametrize("name", ["default", "Nic_1", "a-b"])
def test_interface_names_follow_kubevirt(name):
    assert check_interface_name("n", name) == name


@pytest.mark.parametrize("name", ["my net", "a.b", "a/b"])
def test_interface_names_rejected(name):
    with pytest.raises(KubeApiError, match="^n: must be letters, digits"):
        check_interface_name("n", name)


@pytest.mark.parametrize("name, ok", [("ssh", True), ("http-alt", True), ("a" * 15, True), ("a" * 16, False),
                                      ("SSH", False), ("a--b", False), ("123", False), ("-a", False)])
def test_port_names_are_iana_service_names(name, ok):
    if ok:
        assert check_port_name("p", name) == name
    else:
        with pytest.raises(KubeApiError, match="^p: must be at most 15 lowercase"):
            check_port_name("p", name)


@pytest.mark.parametrize("given, live, fails", [
    ("Halted", None, True), ("Once", None, True), (None, "Halted", True), ("Always", "Halted", False),
    (None, "Always", False), (None, "Manual", False), (None, None, False),
])
def test_restart_of_a_vm_that_stays_stopped(given, live, fails):
    params = {"restart": True, "run_strategy": given}
    if fails:
        with pytest.raises(KubeApiError, match="^restart: the (task sets|VM has) run_strategy (Halted|Once)"):
            check_restart(params, live)
    else:
        check_restart(params, live)
    check_restart(dict(params, restart=False), live)


def test_absent_checks_only_what_deletion_uses():
    params = _vm_defaults({"name": "vm1", "namespace": "ns", "state": "absent", "memory": "nonsense"})
    validate_vm_params(params)
    with pytest.raises(KubeApiError, match="^delete_options.gracePeriodSeconds: must be 0 or more"):
        validate_vm_params(dict(params, delete_options={"gracePeriodSeconds": -1}))


def test_first_problem_wins_in_option_order():
    params = _vm_defaults({"name": "vm1", "namespace": "ns", "memory": "0", "disks": [{"name": "", "pvc": "x"}]})
    with pytest.raises(KubeApiError, match="^memory:"):
        validate_vm_params(params)


def test_vm_info_namespace_empty_and_selectors():
    with pytest.raises(KubeApiError, match="^namespace: must not be empty; omit it to read every namespace"):
        validate_vm_info_params({"namespace": ""})
    with pytest.raises(KubeApiError, match=r"^label_selectors\[1\]: 'a,' is not a valid label selector: expected a label key, found the end"):
        validate_vm_info_params({"label_selectors": ["app=web", "a,"]})
    validate_vm_info_params({"namespaces": ["a", "b"], "label_selectors": [], "field_selectors": []})
