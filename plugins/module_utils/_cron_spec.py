# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The DataImportCron (cdi.kubevirt.io/v1beta1) a task asks for: options, checks, body, comparison.

CDI's webhook refuses any change of a DataImportCron's spec ("Cannot update DataImportCron
Spec"), so a changed spec is named option by option before any write; ``recreate`` deletes and
creates the cron instead (with retentionPolicy RetainAll its DataSource and imports stay). The
template is a DataVolume spec: its fields come from the same table as virt.kubevirt.datavolume.
CDI's webhook accepts registry (and pvc) sources only: http imports are not scheduled by CDI.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._ds_spec import (
    DEFAULT_LABEL_OPTIONS,
    build_metadata,
    check_default_labels,
    declared_metadata,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_options import DV_ARGUMENT_SPEC
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_spec import dv_fields, get_path
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_validate import check_source, check_storage
from ansible_collections.virt.kubevirt.plugins.module_utils._merge import Declared, is_subset
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import DATA_IMPORT_CRON
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import (
    check_annotations,
    check_dns_label,
    check_int_range,
    check_labels,
    check_resource_name,
    check_text,
    invalid,
)

CRON_ARGUMENT_SPEC: Dict[str, Any] = dict(
    {
        "name": {"type": "str", "required": True},
        "namespace": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "force": {"type": "bool", "default": False},
        "recreate": {"type": "bool", "default": False},
        "labels": {"type": "dict"},
        "annotations": {"type": "dict"},
        "schedule": {"type": "str"},
        "managed_data_source": {"type": "str"},
        "registry": DV_ARGUMENT_SPEC["registry"],
        "storage": DV_ARGUMENT_SPEC["storage"],
        "imports_to_keep": {"type": "int"},
        "garbage_collect": {"type": "str", "choices": ["Outdated", "Never"]},
        "retention_policy": {"type": "str", "choices": ["RetainAll", "None"]},
        "service_account_name": {"type": "str"},
    },
    **DEFAULT_LABEL_OPTIONS
)
# Option -> field of spec (the template's fields come from dv_fields).
_SPEC_FIELDS: Tuple[Tuple[str, str], ...] = (
    ("schedule", "schedule"),
    ("managed_data_source", "managedDataSource"),
    ("imports_to_keep", "importsToKeep"),
    ("garbage_collect", "garbageCollect"),
    ("retention_policy", "retentionPolicy"),
    ("service_account_name", "serviceAccountName"),
)
_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
# minute, hour, day of month, month, day of week: the ranges of a standard cron line.
_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_CRON_NAMES = {3: "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec", 4: "sun|mon|tue|wed|thu|fri|sat"}
_ITEM = re.compile(r"^(?:\*|\?|(\w+)(?:-(\w+))?)(?:/(\d+))?$")


def check_schedule(option: str, value: Any) -> str:
    """A standard 5-field cron line (or a macro such as @daily), as CDI's webhook parses it."""
    check_text(option, value)
    if value.strip() in _MACROS:
        return value
    fields = value.split()
    if len(fields) != 5:
        raise invalid(option, "must be a cron line of 5 fields (minute hour day-of-month month day-of-week), for "
                      "example '0 */12 * * *', or one of %s; got %r" % (", ".join(_MACROS), value))
    for index, (field, (what, low, high)) in enumerate(zip(fields, _CRON_FIELDS)):
        names = _CRON_NAMES.get(index, "")
        for item in field.split(","):
            match = _ITEM.match(item)
            bounds = [b for b in (match.groups()[:2] if match else ("?",)) if b is not None]
            if not match or not all(b.isdigit() and low <= int(b) <= high or
                                    (names and re.fullmatch(names, b.lower())) for b in bounds):
                raise invalid(option, "%s field %r is not valid (%d-%d, lists, ranges and steps such as */15); "
                              "got %r" % (what, item, low, high, value))
    return value


def validate_cron_params(params: Mapping[str, Any]) -> None:
    check_resource_name("name", params["name"], max_length=63)
    check_dns_label("namespace", params["namespace"])
    check_labels("labels", params.get("labels"))
    check_annotations("annotations", params.get("annotations"))
    check_default_labels(params)
    if params["state"] == "absent":
        return
    for option in ("schedule", "managed_data_source", "registry"):
        if not params.get(option):
            raise invalid(option, "is required with state=present")
    check_schedule("schedule", params["schedule"])
    check_dns_label("managed_data_source", params["managed_data_source"])  # CDI: a DNS-1035 label
    check_source(params, "registry")
    check_storage(params, "registry")
    if params.get("imports_to_keep") is not None:
        check_int_range("imports_to_keep", params["imports_to_keep"], 0)
    if params.get("service_account_name") is not None:
        check_resource_name("service_account_name", params["service_account_name"])


def build_spec(params: Mapping[str, Any]) -> Dict[str, Any]:
    spec: Dict[str, Any] = {key: params[option] for option, key in _SPEC_FIELDS if params.get(option) is not None}
    template: Dict[str, Any] = {"spec": {"storage": {}}}
    for _option, path, value in dv_fields({"registry": params["registry"], "storage": params.get("storage"),
                                           "namespace": params["namespace"]}):
        target = template
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
    spec["template"] = template
    return spec


def build_cron(params: Mapping[str, Any], with_spec: bool = True) -> Dict[str, Any]:
    body: Dict[str, Any] = {"apiVersion": DATA_IMPORT_CRON.api_version, "kind": DATA_IMPORT_CRON.kind,
                            "metadata": build_metadata(params)}
    if with_spec:
        body["spec"] = build_spec(params)
    return body


def metadata_declared(params: Mapping[str, Any]) -> Declared:
    return Declared(declared_metadata(params))


def _leaves(value: Any, prefix: Tuple[str, ...] = ()) -> List[Tuple[Tuple[str, ...], Any]]:
    if isinstance(value, dict) and value:
        return [leaf for key, child in value.items() for leaf in _leaves(child, prefix + (key,))]
    return [(prefix, value)]


def spec_changes(params: Mapping[str, Any], live: Mapping[str, Any]) -> List[str]:
    """``spec.path: live -> wanted`` for each field the task sets differently (empty: unchanged)."""
    wanted = build_spec(params)
    have = live.get("spec") or {}
    if is_subset(wanted, have):
        return []
    changes = []
    for path, value in _leaves(wanted):
        current = get_path(have, path)
        if not is_subset(value, current):
            changes.append("spec.%s: %r -> %r" % (".".join(path), current, value))
    return changes or ["spec"]


def describe_changes(params: Mapping[str, Any], changes: List[str]) -> str:
    return ("DataImportCron %s/%s has a different spec (%s), and CDI refuses any change of it (Cannot update "
            "DataImportCron Spec); set recreate: true to delete and create it again" % (
                params["namespace"], params["name"], "; ".join(changes)))


def retains_nothing(live: Optional[Mapping[str, Any]]) -> bool:
    """retentionPolicy None: deleting the cron deletes its DataSource and every import it made."""
    return ((live or {}).get("spec") or {}).get("retentionPolicy") == "None"
