# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The in-process action plugin's helpers, and that every module has that action plugin."""

from __future__ import annotations

import importlib
import os
import sys
import venv
from pathlib import Path

import pytest
import yaml

from ansible_collections.virt.kubevirt.plugins.plugin_utils import _in_process
from ansible_collections.virt.kubevirt.plugins.plugin_utils._in_process import InProcessModuleAction, _python_environment, _task_environment

COLLECTION = Path(_in_process.__file__).resolve().parents[2]
# Host-side modules run on the managed host and take no Kubernetes auth options: outside the action group.
HOST_MODULES = {"linux_bridge"}
MODULES = sorted(p.stem for p in (COLLECTION / "plugins" / "modules").glob("*.py")
                 if not p.stem.startswith("_") and p.stem not in HOST_MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_every_module_has_the_in_process_action_plugin(module):
    action = importlib.import_module("ansible_collections.virt.kubevirt.plugins.action.%s" % module)
    assert issubclass(action.ActionModule, InProcessModuleAction)


@pytest.mark.parametrize("module", MODULES)
def test_every_module_is_in_the_action_group(module):
    runtime = yaml.safe_load((COLLECTION / "meta" / "runtime.yml").read_text())
    assert module in runtime["action_groups"]["kubevirt"]


def test_python_environment_tells_venvs_apart(tmp_path):
    venv.create(tmp_path / "a", with_pip=False, symlinks=True)
    venv.create(tmp_path / "b", with_pip=False, symlinks=True)
    a, b = tmp_path / "a" / "bin" / "python", tmp_path / "b" / "bin" / "python"
    assert _python_environment(str(a)) == _python_environment(str(tmp_path / "a" / "bin" / "python3"))
    assert _python_environment(str(a)) != _python_environment(str(b))
    assert _python_environment(str(a)) != _python_environment(sys.base_prefix + "/bin/python3")


def test_python_environment_of_a_missing_interpreter_is_none(tmp_path):
    assert _python_environment(str(tmp_path / "nope")) is None
    assert _python_environment("no-such-python-anywhere") is None


def test_task_environment_is_set_for_the_run_and_restored(monkeypatch):
    monkeypatch.setenv("VIRT_KUBEVIRT_T_KEPT", "before")
    monkeypatch.delenv("VIRT_KUBEVIRT_T_NEW", raising=False)
    with _task_environment({"VIRT_KUBEVIRT_T_KEPT": "during", "VIRT_KUBEVIRT_T_NEW": "x"}):
        assert os.environ["VIRT_KUBEVIRT_T_KEPT"] == "during" and os.environ["VIRT_KUBEVIRT_T_NEW"] == "x"
    assert os.environ["VIRT_KUBEVIRT_T_KEPT"] == "before" and "VIRT_KUBEVIRT_T_NEW" not in os.environ
