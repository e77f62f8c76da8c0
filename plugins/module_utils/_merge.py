# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure dict algebra for declarative resources: deep merge, "already applied?" and ownership."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

# A path into an object: map keys, and for list items the item's ``name`` (or, in other keyed
# lists, the key JSON of fieldsV1). In a pattern, ``*`` stands for any one step.
Path = Tuple[str, ...]
ANY = "*"
_MISSING = object()


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


# -- partial tasks: keep what a task does not declare ------------------------------------------
def _matches(pattern: Path, path: Path) -> bool:
    return len(pattern) <= len(path) and all(step in (ANY, have) for step, have in zip(pattern, path))


@dataclass(frozen=True)
class Declared:
    """The parts of an object a request is authoritative for.

    ``paths`` are patterns: a path they cover (the pattern itself or anything below it) is exactly
    what the request says, so what we applied there before and no longer send is released.
    ``kept`` carves exceptions out of them (the cloud-init disk inside a declared disk list).
    """

    paths: Tuple[Path, ...] = ()
    kept: Tuple[Path, ...] = ()

    def covers(self, path: Path) -> bool:
        return any(_matches(p, path) for p in self.paths) and not any(_matches(k, path) for k in self.kept)

    def reaches_below(self, path: Path) -> bool:
        """Some pattern declares a part of ``path`` only (a few fields of one list item)."""
        return any(len(p) > len(path) and _matches(p[:len(path)], path) for p in self.paths)


def leaf_paths(value: Any, prefix: Path = ()) -> List[Path]:
    """The paths a partial object sets: keys down to scalars, nulls, empty maps and lists.

    Items of lists of named dicts are addressed by name (so a list given in part declares only
    the items it names); any other list is one value.
    """
    if isinstance(value, dict) and value:
        return [path for key, child in value.items() for path in leaf_paths(child, prefix + (str(key),))]
    if _named(value):
        return [
            path for item in value
            for path in leaf_paths({k: v for k, v in item.items() if k != "name"}, prefix + (str(item["name"]),))
        ]
    return [prefix]


def without_nulls(value: Any) -> Any:
    """``value`` without null map entries (at any depth): a null means "not set"."""
    if isinstance(value, dict):
        return {key: without_nulls(child) for key, child in value.items() if child is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def _has_keys(item: Any, keys: Mapping[str, Any]) -> bool:
    return isinstance(item, dict) and all(item.get(k) == v for k, v in keys.items())


def _same_keys(names: List[str]) -> Callable[[Any, Any], bool]:
    return lambda a, b: isinstance(a, dict) and isinstance(b, dict) and all(a.get(k) == b.get(k) for k in names)


def _keyed_position(items: List[Any], keys: Mapping[str, Any]) -> Optional[int]:
    return next((position for position, item in enumerate(items) if _has_keys(item, keys)), None)


def _insert_in_live_order(out: List[Any], item: Any, live: List[Any], index: int, same: Callable[[Any, Any], bool]) -> None:
    """Put ``live[index]`` (as ``item``) into ``out`` before the next live item ``out`` holds."""
    for later in live[index + 1:]:
        position = next((n for n, have in enumerate(out) if same(have, later)), None)
        if position is not None:
            out.insert(position, item)
            return
    out.append(item)


def _carried_leaf(live: Any, desired: Any) -> Any:
    if _named(live):
        # An atomic list of named items: merged item by item by _merge_named_lists.
        return desired if isinstance(desired, list) else []
    if isinstance(live, dict) and isinstance(desired, dict):
        # An atomic map (or an empty map we set): the map the request builds stands.
        return desired
    return copy.deepcopy(live)


def _carried_items(fields: Mapping[str, Any], live: List[Any], desired: Any, path: Path, declared: Declared) -> Any:
    out = list(desired) if isinstance(desired, list) else []
    for token, child in fields.items():
        kind, raw = token[:1], token[2:]
        try:
            ident = json.loads(raw)
        except ValueError:
            continue
        if kind == "k" and isinstance(ident, dict):
            position = _keyed_position(live, ident)
            if position is None:
                continue
            step = str(ident["name"]) if list(ident) == ["name"] else raw
            mine = _keyed_position(out, ident)
            value = _carried(child, live[position], out[mine] if mine is not None else _MISSING, path + (step,), declared)
            if value is _MISSING:
                continue
            if mine is None:
                _insert_in_live_order(out, value, live, position, _same_keys(list(ident)))
            else:
                out[mine] = value
        elif kind == "v" and ident in live and ident not in out and not declared.covers(path + (raw,)):
            out.append(ident)
    return out if (out or isinstance(desired, list)) else _MISSING


def _carried(fields: Mapping[str, Any], live: Any, desired: Any, path: Path, declared: Declared) -> Any:
    """``desired`` (or _MISSING) plus the values at the paths of ``fields`` in ``live`` that
    ``declared`` does not cover."""
    if declared.covers(path):
        return desired
    children = {token: child for token, child in fields.items() if token != "."}
    if not children:
        return _carried_leaf(live, desired)
    if isinstance(live, list):
        return _carried_items(children, live, desired, path, declared)
    if not isinstance(live, dict):
        return desired
    out = dict(desired) if isinstance(desired, dict) else {}
    for token, child in children.items():
        key = token[2:]
        if not token.startswith("f:") or key not in live or (not path and key in ("apiVersion", "kind", "status")):
            continue
        value = _carried(child, live[key], out.get(key, _MISSING), path + (key,), declared)
        if value is not _MISSING:
            out[key] = value
    return out if (out or "." in fields or isinstance(desired, dict)) else _MISSING


def _merge_items(wanted: List[Dict[str, Any]], live: List[Dict[str, Any]], path: Path, declared: Declared) -> List[Any]:
    """``wanted`` with the undeclared items of ``live``: live items keep their values and their
    place (before the live item that followed them), declared ones are as ``wanted`` has them."""
    live_by_name = {item["name"]: item for item in live}
    out: List[Any] = []
    for item in wanted:
        here = path + (str(item["name"]),)
        have = live_by_name.get(item["name"])
        if have is None or declared.covers(here):
            out.append(item)
        elif declared.reaches_below(here):
            out.append(deep_merge(have, item))
        else:
            out.append(copy.deepcopy(have))
    present = {item["name"] for item in out}
    for index, item in enumerate(live):
        if item["name"] not in present and not declared.covers(path + (str(item["name"]),)):
            _insert_in_live_order(out, copy.deepcopy(item), live, index, _same_keys(["name"]))
            present.add(item["name"])
    return out


def _merge_named_lists(desired: Any, live: Any, path: Path, declared: Declared) -> Any:
    if declared.covers(path):
        return desired
    if isinstance(desired, dict) and isinstance(live, dict):
        return {
            key: _merge_named_lists(value, live[key], path + (key,), declared) if key in live else value
            for key, value in desired.items()
        }
    if isinstance(desired, list) and _named(live) and all(isinstance(i, dict) and "name" in i for i in desired):
        return _merge_items(desired, live, path, declared)
    return desired


def carry_forward(
    live: Optional[Mapping[str, Any]], manager: str, desired: Mapping[str, Any], declared: Declared
) -> Dict[str, Any]:
    """The configuration to apply so that only the ``declared`` parts of ``desired`` change.

    Server-side apply removes what ``manager`` applied before and no longer sends. To keep
    everything a partial request does not mention, the values ``live`` holds at the fields
    ``manager`` owns (managedFields, operation Apply) outside the declared paths are copied into
    ``desired``; there they also win over the request's own fill-ins. Atomic lists are owned as a
    whole: a list of named items that the request declares only in part (or not at all) is
    merged item by item, whoever owns it, because applying the list replaces all of it.
    """
    if live is None:
        return copy.deepcopy(dict(desired))
    owned = managed_fields_of(live, manager)
    carried = _carried(owned, live, copy.deepcopy(dict(desired)), (), declared)
    return _merge_named_lists(carried, live, (), declared)
