# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The options of an inventory source, checked strictly before anything is read.

ansible-core converts inventory options leniently: a boolean that is not one turns into false
(so ``validate_certs: maybe`` silently disabled TLS verification), unknown keys are ignored and
empty strings pass. These checks run on the file's raw values, after templating, and raise
OptionError with one line that names the option (and the ``connections`` entry).
"""

from __future__ import annotations

import difflib
from typing import Any, Callable, Dict, Iterable, List, Mapping, Sequence

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import check_dns_label
from ansible_collections.virt.kubevirt.plugins.module_utils._label_selector import (
    SelectorError,
    check_label_selector,
)

# Options whose values may be templates (lookups, filters; extra vars with use_extra_vars), at
# the top level and in each connections entry. Everything else is taken literally.
TEMPLATED_OPTIONS = (
    "kubeconfig", "context", "host", "api_key", "username", "password", "client_cert", "client_key",
    "ca_cert", "validate_certs", "proxy", "no_proxy", "proxy_headers", "impersonate_user",
    "impersonate_groups", "name", "namespaces", "label_selector",
)
# Keys of a connections entry besides the connection options.
ENTRY_EXTRA_OPTIONS = ("name", "namespaces")
_BOOL_TYPES = ("bool", "boolean")
_TEXT_TYPES = ("str", "string", "path", "tmppath", "tmp", "pathspec")
# Empty on purpose for some users; api_key has its own message in _auth.
_MAY_BE_EMPTY = ("cache_prefix", "api_key")

Render = Callable[[str, Any], Any]


class OptionError(ValueError):
    """One line naming the option and what it expects."""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return " (did you mean %s?)" % close[0] if close else ""


def option_names(definitions: Mapping[str, Mapping[str, Any]]) -> Dict[str, str]:
    """Every accepted key (option names and aliases) -> the option name."""
    names: Dict[str, str] = {}
    for name, definition in definitions.items():
        names[name] = name
        for alias in definition.get("aliases") or ():
            names[alias] = name
    return names


def canonical(config: Mapping[str, Any], names: Mapping[str, str], where: str = "", top_level: Sequence[str] = ()) -> Dict[str, Any]:
    """``config`` keyed by option names; unknown keys and an option given twice are errors."""
    values: Dict[str, Any] = {}
    given: Dict[str, str] = {}
    for key in config:
        if not isinstance(key, str):
            raise OptionError("%soption names must be strings, got %s" % (where, _short(key)))
        name = names.get(key)
        if name is None:
            if key in top_level:
                raise OptionError("%s%s applies to the whole source: set it at the top level, not in a connections entry"
                                  % (where, key))
            raise OptionError("%sunknown option %s%s" % (where, key, did_you_mean(key, names)))
        if name in given and config[key] is not None and config[given[name]] is not None:
            raise OptionError("%s%s and %s are the same option (an alias): set only one" % (where, given[name], key))
        if config[key] is not None or name not in values:
            given[name] = key
            values[name] = config[key]
    return values


def check_bool(label: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise OptionError("%s must be true or false, got %s" % (label, _short(value))) from None


def check_text(label: str, value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # name: 2024 is the string "2024", as ansible-core converts it
    if not isinstance(value, str):
        raise OptionError("%s must be a string, got %s" % (label, _short(value)))
    if not value.strip():
        raise OptionError("%s is empty: give a value or leave the option out" % label)
    return value


def check_namespaces(label: str, value: Any) -> List[str]:
    """A list of namespace names (a comma-separated string too, as ansible-core reads lists)."""
    if isinstance(value, str):
        value = [item.strip() for item in value.split(",")]
    if not isinstance(value, list):
        raise OptionError("%s must be a list of namespace names, got %s" % (label, _short(value)))
    if not value:
        raise OptionError("%s is empty: list namespaces, or leave it out to read all namespaces" % label)
    for index, name in enumerate(value):
        try:
            check_dns_label("%s[%d]" % (label, index), name)
        except KubeApiError as err:
            raise OptionError(err.message) from None
    return list(value)


def check_selector(label: str, value: Any) -> str:
    check_text(label, value)
    try:
        check_label_selector(value)
    except SelectorError as exc:
        raise OptionError("%s %s is not a valid label selector: %s" % (label, _short(value), exc)) from None
    return value


def check_values(values: Mapping[str, Any], definitions: Mapping[str, Mapping[str, Any]], where: str = "") -> None:
    """Types the lenient conversion would let through: booleans, blank strings, namespaces, selectors."""
    for name, value in values.items():
        if value is None:
            continue
        label = where + name
        kind = (definitions.get(name) or {}).get("type") or "str"
        if name == "namespaces":
            check_namespaces(label, value)
        elif name == "label_selector":
            check_selector(label, value)
        elif name == "exclude_host_vars" and isinstance(value, list):
            for index, pattern in enumerate(value):
                check_text("%s[%d]" % (label, index), pattern)
        elif kind in _BOOL_TYPES:
            check_bool(label, value)
        elif kind in _TEXT_TYPES and name not in _MAY_BE_EMPTY:
            check_text(label, value)
        elif name == "kubeconfig" and not isinstance(value, dict):
            check_text(label, value)


def check_env_booleans(params: Mapping[str, Any], spec: Mapping[str, Mapping[str, Any]], environ: Mapping[str, str]) -> None:
    """Booleans the argument spec would read from K8S_AUTH_* variables, named with the variable."""
    for name, definition in spec.items():
        fallback = definition.get("fallback")
        if definition.get("type") != "bool" or params.get(name) is not None or not fallback:
            continue
        for variable in fallback[1]:
            if variable in environ:
                check_bool("%s (from %s)" % (name, variable), environ[variable])
                break


def render_values(values: Dict[str, Any], render: Render, where: str = "") -> Dict[str, Any]:
    """``values`` with the templated options rendered; others untouched."""
    rendered = dict(values)
    for name in TEMPLATED_OPTIONS:
        if rendered.get(name) is not None:
            rendered[name] = render(where + name, rendered[name])
    return rendered
