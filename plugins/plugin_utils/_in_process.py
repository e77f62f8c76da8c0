# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a virt.kubevirt module inside the controller's worker process when that is where it would run.

Why: these modules talk to an API server, so nearly every task runs on the controller
(``hosts: localhost`` / ``connection: local``). There, the usual path costs a new Python process,
an AnsiballZ payload and the module's source compiled from scratch on every task (about 0.3 s
before the first request; see docs/task-cost-benchmark.md). The worker that Ansible forks for the
task already has Python and ansible-core loaded, and the installed collection's bytecode is cached
on disk, so the same module code runs there in a few milliseconds.

What stays the same: the module's own code path (AnsibleModule argument validation, no_log
masking, warnings, check and diff mode) is untouched. The task's arguments go in through the
serialization ansible-core uses for a module (``get_module_encoder``) and the module's JSON comes
back through ``ActionBase._parse_returned_data``, exactly as if it had been read from a process.
The task's ``environment`` (K8S_AUTH_* for instance) is set in os.environ while the module runs.

When it falls back to the usual module execution (each reason shown at -vvv):
- the connection is not ``local`` (the module must run on that host);
- the Python the module would run under is not this controller's own (another venv may hold other
  libraries); ``auto`` interpreter discovery counts as this Python;
- ``async`` or ``become`` (they only exist for a separate process);
- the variable ``virt_kubevirt_in_process`` is false.

A long wait can report progress while it runs (live progress): the module's engine writes to the
sink in ``_progress`` when one is installed, and here the sink is Ansible's display, so the lines
appear in the play output while the task runs. Run as a separate process, the module has no sink.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import shutil
import sys
from typing import Any, Dict, Iterator, Optional

from ansible import constants as C
from ansible.module_utils import basic
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.common.json import Direction, get_module_encoder
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action.normal import ActionModule as NormalAction
from ansible.utils.display import Display

from ansible_collections.virt.kubevirt.plugins.module_utils import _progress

display = Display()

SWITCH_VARIABLE = "virt_kubevirt_in_process"
# Modules without METADATA use ansible-core's "legacy" serialization profile.
PROFILE = "legacy"


def _python_environment(interpreter: str) -> Optional[str]:
    """The venv an interpreter belongs to (its pyvenv.cfg folder), else the real interpreter file.

    Two venvs link the same base Python but hold different libraries, so the file alone is not enough.
    """
    path = interpreter if os.path.isabs(interpreter) else shutil.which(interpreter)
    if not path or not os.path.exists(path):
        return None
    prefix = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    if os.path.exists(os.path.join(prefix, "pyvenv.cfg")):
        return os.path.realpath(prefix)
    return os.path.realpath(path)


def _clear_module_warnings() -> None:
    """Module warnings and deprecations are process globals: a loop runs many modules in one worker."""
    for name in ("_global_warnings", "_global_deprecations"):
        pending = getattr(module_warnings, name, None)
        if hasattr(pending, "clear"):
            pending.clear()


@contextlib.contextmanager
def _task_environment(environment: Dict[str, str]) -> Iterator[None]:
    """os.environ with the task's environment for the module's run, as it was afterwards."""
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class InProcessModuleAction(NormalAction):
    """Action plugin of every virt.kubevirt module: in-process on the controller, else a normal module."""

    def run(self, tmp: Any = None, task_vars: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        task_vars = task_vars if task_vars is not None else {}
        module_name = self._task.resolved_action or self._task.action
        reason = self._remote_reason(task_vars)
        if reason:
            display.vvv("%s runs as a module process: %s" % (module_name, reason), host=self._play_context.remote_addr)
            return super().run(tmp, task_vars)
        result = super(NormalAction, self).run(tmp, task_vars)  # ActionBase checks (check mode support)
        display.vvv("%s runs in the controller's worker process" % module_name, host=self._play_context.remote_addr)
        result.update(self._run_in_process(module_name, task_vars))
        return result

    def _remote_reason(self, task_vars: Dict[str, Any]) -> Optional[str]:
        """Why this task must run as a separate module process; None when it can run here."""
        if not boolean(self._templar.template(task_vars.get(SWITCH_VARIABLE, True)), strict=False):
            return "%s is false" % SWITCH_VARIABLE
        if self._connection.transport != "local":
            return "connection %s" % self._connection.transport
        if self._task.async_val:
            return "async"
        if self._play_context.become:
            return "become"
        interpreter = task_vars.get("ansible_python_interpreter")
        if interpreter is None:
            interpreter = C.config.get_config_value("INTERPRETER_PYTHON", variables=task_vars)
        interpreter = str(self._templar.template(interpreter)).strip()
        if interpreter.startswith("auto"):
            return None
        if _python_environment(interpreter) != _python_environment(sys.executable):
            return "interpreter %s is not the controller's Python %s" % (interpreter, sys.executable)
        return None

    def _run_in_process(self, module_name: str, task_vars: Dict[str, Any]) -> Dict[str, Any]:
        module_args = dict(self._task.args)
        self._update_module_args(module_name, module_args, task_vars)
        collection, short_name = module_name.rsplit(".", 1)
        module = importlib.import_module("ansible_collections.%s.plugins.modules.%s" % (collection, short_name))
        payload = json.dumps({"ANSIBLE_MODULE_ARGS": module_args}, cls=get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE))

        saved = (basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE)  # pylint: disable=protected-access
        basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE = payload.encode(), PROFILE  # pylint: disable=protected-access
        _clear_module_warnings()
        stdout, stderr, rc = io.StringIO(), io.StringIO(), 0
        _progress.set_sink(lambda line: display.display("%s: %s" % (self._task.get_name(), line)))
        try:
            with _task_environment(self._environment()), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                module.main()
        except SystemExit as exited:
            rc = exited.code if isinstance(exited.code, int) else 1
        finally:
            _progress.set_sink(None)
            basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE = saved  # pylint: disable=protected-access
            _clear_module_warnings()
        return self._module_result({"rc": rc, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()})

    def _environment(self) -> Dict[str, str]:
        """The task's ``environment``, templated and merged as for a module process."""
        environment: Dict[str, Any] = {}
        self._compute_environment_string(raw_environment_out=environment)
        return {str(key): str(value) for key, value in environment.items()}

    def _module_result(self, res: Dict[str, Any]) -> Dict[str, Any]:
        """The module's output as ``_execute_module`` returns it (2.21: UnifiedTaskResult; 2.19/2.20: dict)."""
        parsed = self._parse_returned_data(res, PROFILE)
        if hasattr(parsed, "as_result_dict"):
            parsed.remove_internal_keys()
            return parsed.as_result_dict(for_round_trip=True)
        from ansible.vars.clean import remove_internal_keys  # pylint: disable=import-outside-toplevel

        remove_internal_keys(parsed)
        return parsed
