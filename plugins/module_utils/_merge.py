# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure dict algebra for declarative resources: deep merge, "already applied?" and ownership."""

from __future__ import annotations

import copy
import json
from typing import Any, Dict, List, Mapping, Optional


def _named(items: Any) -> bool:
    return isinstance(items, list) and bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def deep_merge(base: Any, override: Any) -> Any:
    """``override`` merged onto ``base`` (neither is modified).

    Dicts merge key by key; lists of dicts that all carry ``name`` (disks, volumes, networks,
    interfaces, dataVolumeTemplates' metadata aside) merge item by item on that name; any other
    value in ``override`` replaces the one in ``base``.
    """
    if isinstance(base, dict) and isinstance(override, dict):
        merged = copy.deepcopy(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    if _named(base) and _named(override):
        merged_list = [copy.deepcopy(item) for item in base]
        index = {item["name"]: pos for pos, item in enumerate(merged_list)}
        for item in override:
            if item["name"] in index:
                merged_list[index[item["name"]]] = deep_merge(merged_list[index[item["name"]]], item)
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(override)


def is_subset(desired: Any, actual: Any) -> bool:
    """True when every value in ``desired`` is already in ``actual``.

    Server defaults added to ``actual`` (extra keys, also inside list items) do not count as a
    difference; a list must have the same length and match item by item, because KubeVirt's
    lists are atomic: applying one replaces the whole list.
    """
    if isinstance(desired, dict):
        if not isinstance(actual, dict):
            return False
        return all(key in actual and is_subset(value, actual[key]) for key, value in desired.items())
    if isinstance(desired, list):
        if not isinstance(actual, list) or len(desired) != len(actual):
            return False
        return all(is_subset(want, have) for want, have in zip(desired, actual))
    if isinstance(desired, bool) or isinstance(actual, bool):
        return desired is actual
    if isinstance(desired, (int, float)) and isinstance(actual, (int, float)):
        return desired == actual
    return desired == actual


def managed_fields_of(obj: Mapping[str, Any], manager: str, operation: str = "Apply") -> Dict[str, Any]:
    """The fieldsV1 set owned by ``manager`` through ``operation`` (empty if none)."""
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == operation:
            return entry.get("fieldsV1") or {}
    return {}


def _find_keyed(items: List[Any], key_json: str) -> Optional[Any]:
    try:
        keys = json.loads(key_json)
    except ValueError:
        return None
    for item in items:
        if isinstance(item, dict) and all(item.get(k) == v for k, v in keys.items()):
            return item
    return None


def released_fields(owned: Mapping[str, Any], desired: Any, path: str = "") -> List[str]:
    """Paths we own (per server-side apply fieldsV1) that ``desired`` no longer sets.

    Applying ``desired`` would remove them, so their presence means a change is due even when
    ``desired`` is a subset of the live object.
    """
    missing: List[str] = []
    for key, child in owned.items():
        if key == ".":
            continue
        if key.startswith("f:"):
            name = key[2:]
            here = "%s.%s" % (path, name) if path else name
            if not isinstance(desired, dict) or name not in desired:
                missing.append(here)
            elif child:
                missing.extend(released_fields(child, desired[name], here))
        elif key.startswith("k:"):
            item = _find_keyed(desired if isinstance(desired, list) else [], key[2:])
            here = "%s[%s]" % (path, key[2:])
            if item is None:
                missing.append(here)
            elif child:
                missing.extend(released_fields(child, item, here))
        elif key.startswith("v:"):
            try:
                value = json.loads(key[2:])
            except ValueError:
                continue
            if not isinstance(desired, list) or value not in desired:
                missing.append("%s[%s]" % (path, key[2:]))
        elif key.startswith("i:"):
            try:
                index = int(key[2:])
            except ValueError:
                continue
            if not isinstance(desired, list) or index >= len(desired):
                missing.append("%s[%d]" % (path, index))
            elif child:
                missing.extend(released_fields(child, desired[index], "%s[%d]" % (path, index)))
    return missing


def needs_apply(desired: Mapping[str, Any], live: Optional[Mapping[str, Any]], manager: str) -> bool:
    """Would server-side applying ``desired`` as ``manager`` change ``live``?"""
    if live is None:
        return True
    body = {key: value for key, value in desired.items() if key not in ("apiVersion", "kind")}
    if not is_subset(body, live):
        return True
    return bool(released_fields(managed_fields_of(live, manager), desired))
