# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shape of options with sub-options, checked before AnsibleModule sees them.

AnsibleModule's own validation crashes with a traceback when an option with sub-options gets a
scalar (``cpu: 2``), and for nested ones reports "dictionary requested" without saying which
option. ``shape_problem`` finds the first such value and says where it is and what it expects.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible.module_utils.common.validation import check_type_dict


def _expected(spec: Mapping[str, Any]) -> str:
    names = sorted(spec.get("options") or {})
    return "a dictionary with %s" % ", ".join(names) if names else "a dictionary"


def _example(name: str, spec: Mapping[str, Any]) -> str:
    options = spec.get("options") or {}
    first = next((key for key, sub in options.items() if sub.get("required")), None) or next(iter(options), "key")
    shape = "{%s: ...}" % first
    return "%s: [%s]" % (name, shape) if spec.get("type") == "list" else "%s: %s" % (name, shape)


def has_secret(spec: Mapping[str, Any]) -> bool:
    """Whether any sub-option is no_log: then a wrong value is never shown (it may be the secret)."""
    return any(sub.get("no_log") or has_secret(sub) for sub in (spec.get("options") or {}).values())


def _shown(value: Any, secret: bool = False) -> str:
    if secret:
        return "a %s" % type(value).__name__
    text = repr(value)
    return "%s (%s)" % (text if len(text) <= 40 else text[:37] + "...", type(value).__name__)


def _as_dict(value: Any) -> Optional[Dict[str, Any]]:
    """The value as AnsibleModule would convert it (dicts, JSON or k=v strings), or None."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        return None
    try:
        return check_type_dict(value)
    except (TypeError, ValueError):
        return None


def _check_options(path: str, options: Mapping[str, Any], value: Mapping[str, Any]) -> Optional[str]:
    for name, sub_spec in options.items():
        found = value.get(name)
        for alias in sub_spec.get("aliases") or ():
            found = value.get(alias, found)
        if found is not None and sub_spec.get("options"):
            problem = _check("%s.%s" % (path, name) if path else name, sub_spec, found)
            if problem:
                return problem
    return None


def _check(path: str, spec: Mapping[str, Any], value: Any) -> Optional[str]:
    name = path.rsplit(".", 1)[-1]
    secret = has_secret(spec)
    if spec.get("type") == "list":
        if not isinstance(value, list):
            return "%s must be a list of dictionaries (each %s), for example %s; got %s" % (
                path, _expected(spec), _example(name, spec), _shown(value, secret))
        for index, item in enumerate(value):
            converted = _as_dict(item)
            where = "%s[%d]" % (path, index)
            if converted is None:
                return "%s must be %s, got %s" % (where, _expected(spec), _shown(item, secret))
            problem = _check_options(where, spec["options"], converted)
            if problem:
                return problem
        return None
    converted = _as_dict(value)
    if converted is None:
        return "%s must be %s, for example %s; got %s" % (path, _expected(spec), _example(name, spec), _shown(value, secret))
    return _check_options(path, spec["options"], converted)


def shape_problem(argument_spec: Mapping[str, Any], params: Mapping[str, Any]) -> Optional[Tuple[str, str]]:
    """(top-level option, message) for the first option with sub-options given a wrong shape."""
    for name, spec in argument_spec.items():
        if not spec.get("options"):
            continue
        value = None
        for key in [name] + list(spec.get("aliases") or ()):
            value = params.get(key, value)
        if value is None:
            continue
        problem = _check(name, spec, value)
        if problem:
            return name, problem
    return None


def relaxed(argument_spec: Mapping[str, Any]) -> Dict[str, Any]:
    """The spec with every option that has sub-options accepting anything, so AnsibleModule can
    start and report the first problem (a second wrongly shaped option would stop it with its own
    unnamed "dictionary requested")."""
    spec: Dict[str, Any] = copy.deepcopy(dict(argument_spec))
    kept: List[str] = ["aliases", "no_log"]
    for option in [name for name, sub in spec.items() if sub.get("options")]:
        loose = dict({key: spec[option][key] for key in kept if key in spec[option]}, type="raw")
        if has_secret(spec[option]):
            loose["no_log"] = True  # the value may hold the secret its sub-options would have masked
        spec[option] = loose
    return spec
