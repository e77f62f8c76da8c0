# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module base: shared options, client construction, check/diff plumbing and error mapping.

A module declares its own argument spec and one ``run(module) -> dict`` function; everything
else (auth options, ``wait``/``wait_timeout``, dry run in check mode, fail_json on KubeApiError)
lives here.
"""

from __future__ import annotations

import copy
import importlib.util
from typing import Any, Callable, Dict, Mapping, Optional

from ansible.module_utils.basic import AnsibleModule, _load_params, missing_required_lib

from ansible_collections.virt.kubevirt.plugins.module_utils._api import ResourceClient
from ansible_collections.virt.kubevirt.plugins.module_utils._auth import auth_arg_spec, auth_params, secret_values
from ansible_collections.virt.kubevirt.plugins.module_utils._client import create_api_client
from ansible_collections.virt.kubevirt.plugins.module_utils._diff import make_diff
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._progress import Progress
from ansible_collections.virt.kubevirt.plugins.module_utils._validate_shape import relaxed, shape_problem
from ansible_collections.virt.kubevirt.plugins.module_utils._waiter import Waiter

# Found, not imported: with static credentials a task never imports the client (_direct_client.py).
KUBERNETES_IMPORT_ERROR = None if importlib.util.find_spec("kubernetes") else "No module named 'kubernetes'"

DEFAULT_WAIT_TIMEOUT = 120

WAIT_ARG_SPEC: Dict[str, Dict[str, Any]] = {
    "wait": {"type": "bool", "default": False},
    "wait_timeout": {"type": "int", "default": DEFAULT_WAIT_TIMEOUT},
}


def build_argument_spec(own: Mapping[str, Any], wait: bool = True) -> Dict[str, Any]:
    """Auth options (+ wait options) + the module's own; the module's own win on a clash."""
    spec = auth_arg_spec()
    if wait:
        spec.update(copy.deepcopy(WAIT_ARG_SPEC))
    spec.update(copy.deepcopy(dict(own)))
    return spec


def _raw_params() -> Dict[str, Any]:
    """The task's arguments before AnsibleModule converts them; {} when there are none to read
    (ansible-test's argument spec introspection), so AnsibleModule reports that itself."""
    try:
        params = _load_params()
    except Exception:  # pylint: disable=broad-exception-caught
        return {}
    return params if isinstance(params, dict) else {}


class KubevirtModule:
    """Thin wrapper over AnsibleModule with the engine wired in."""

    def __init__(self, argument_spec: Mapping[str, Any], wait: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("supports_check_mode", True)
        spec = build_argument_spec(argument_spec, wait)
        # AnsibleModule crashes on `cpu: 2` and leaves nested "dictionary requested" unnamed.
        problem = shape_problem(spec, _raw_params())
        if problem:
            AnsibleModule(argument_spec=relaxed(spec), **kwargs).fail_json(msg=problem[1])
        self.ansible = AnsibleModule(argument_spec=spec, **kwargs)
        if KUBERNETES_IMPORT_ERROR:
            self.ansible.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
        # The token sent is stripped of surrounding whitespace: mask that form too, not only the given one.
        self.ansible.no_log_values.update(secret_values(self.params))
        if wait and self.params["wait_timeout"] < 0:
            self.ansible.fail_json(msg="wait_timeout must be zero or more seconds, got %s" % self.params["wait_timeout"])
        self._client: Optional[ResourceClient] = None
        self.progress = Progress()

    @property
    def params(self) -> Dict[str, Any]:
        return self.ansible.params

    @property
    def check_mode(self) -> bool:
        return bool(self.ansible.check_mode)

    @property
    def diff_mode(self) -> bool:
        return bool(getattr(self.ansible, "_diff", False))

    @property
    def client(self) -> ResourceClient:
        """The resource client; in check mode every write it sends is a server dry run."""
        if self._client is None:
            api_client = create_api_client(auth_params(self.params))
            self._client = ResourceClient(api_client, dry_run=self.check_mode)
        return self._client

    def waiter(self) -> Waiter:
        """A waiter whose observations go to this task's progress (result ``progress``, live lines)."""
        return Waiter(self.client, progress=self.progress)

    def add_diff(self, result: Dict[str, Any], before: Any, after: Any) -> Dict[str, Any]:
        if self.diff_mode:
            result["diff"] = make_diff(before, after)
        return result

    def warn(self, msg: str) -> None:
        """A warning shown with the task's result (the task still succeeds)."""
        self.ansible.warn(msg)

    def fail(self, msg: str, **kwargs: Any) -> None:
        self.ansible.fail_json(msg=msg, **kwargs)

    def execute(self, run: Callable[["KubevirtModule"], Dict[str, Any]]) -> None:
        """Run the module body; map KubeApiError to fail_json, everything else is a bug."""
        try:
            result = run(self)
        except KubeApiError as err:
            self.ansible.fail_json(**self._with_progress(err.to_result()))
        self.ansible.exit_json(**self._with_progress(result))

    def _with_progress(self, result: Dict[str, Any]) -> Dict[str, Any]:
        """The states observed while waiting, when the task waited."""
        if self.progress.history:
            result = dict(result, progress=self.progress.history)
        return result
