"""Server-side apply and managedFields, after sigs.k8s.io/structured-merge-diff and
k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager.

Field sets are Python sets of paths; a path is a tuple of FieldsV1 tokens (``f:spec``,
``k:{"name":"x"}`` for list-map items, ``v:"a"`` for set items). What is recorded follows
structured-merge-diff: leaves, list items and map entries (``ToFieldSet`` for Apply; ``Compare``'s
added/modified for Update, where new maps are members too, hence ``.: {}``); struct fields that
only hold others are not members. Lists are atomic unless the schema (or, for built-ins, the Go
``patchStrategy``) makes them associative. Stripped as the apiserver strips them: apiVersion,
kind, metadata.name/namespace/uid/... and the parts a status subresource resets.
"""
from __future__ import annotations

import copy
import json
from typing import Any, Iterable, Optional

from . import errors
from .objects import now_rfc3339
from .patch import PATCH_META
from .resources import ResourceType
from .schemas import OBJECT_META, sub_schema

Path = tuple[str, ...]
FieldSet = set[Path]

_STRIPPED_META = {"name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation",
                  "managedFields", "resourceVersion"}
# list-map keys of built-in lists whose keys differ from their patchMergeKey
_BUILTIN_LIST_KEYS = {("", "Pod", "spec.containers[].ports"): ["containerPort", "protocol"],
                      ("", "Pod", "spec.initContainers[].ports"): ["containerPort", "protocol"],
                      ("", "Service", "spec.ports"): ["port", "protocol"]}
_KEY_DEFAULTS = {"protocol": "TCP"}
_META_FIELDS = set(OBJECT_META["properties"])


# -- schema helpers ----------------------------------------------------------------------------
def _is_struct(schema: Optional[dict]) -> bool:
    return bool(isinstance(schema, dict) and schema.get("properties"))


def _declared(schema: Optional[dict], key: str) -> bool:
    return bool(isinstance(schema, dict) and key in (schema.get("properties") or {}))


class _Schema:
    """Answers list/map types at a (dotted, ``[]`` for items) path of one resource type."""

    def __init__(self, rtype: ResourceType) -> None:
        self.rtype = rtype

    def list_type(self, dotted: str, schema: Optional[dict]) -> tuple[str, list[str]]:
        if dotted in ("metadata.ownerReferences",):
            return "map", ["uid"]
        if dotted == "metadata.finalizers":
            return "set", []
        key = (self.rtype.group, self.rtype.kind, dotted)
        if key in _BUILTIN_LIST_KEYS:
            return "map", _BUILTIN_LIST_KEYS[key]
        if isinstance(schema, dict) and schema.get("x-kubernetes-list-type"):
            kind = schema["x-kubernetes-list-type"]
            return kind, list(schema.get("x-kubernetes-list-map-keys") or [])
        if not self.rtype.custom:
            merge_key, strategy = PATCH_META.get((self.rtype.group, self.rtype.kind), {}).get(dotted, (None, ""))
            if "merge" in (strategy or ""):
                return ("map", [merge_key]) if merge_key else ("set", [])
        return "atomic", []

    @staticmethod
    def atomic_map(schema: Optional[dict]) -> bool:
        return bool(isinstance(schema, dict) and schema.get("x-kubernetes-map-type") == "atomic")


def _dot(dotted: str, key: str) -> str:
    return f"{dotted}.{key}" if dotted else key


def _item_token(item: Any, list_type: str, keys: list[str]) -> Optional[str]:
    if list_type == "set":
        return "v:" + json.dumps(item, separators=(",", ":"), sort_keys=True)
    if not isinstance(item, dict):
        return None
    values = {k: item.get(k, _KEY_DEFAULTS.get(k)) for k in keys}
    if any(v is None for v in values.values()):
        return None
    return "k:" + json.dumps(values, separators=(",", ":"), sort_keys=True)


# -- field sets --------------------------------------------------------------------------------
def _walk_set(value: Any, schema: Optional[dict], path: Path, dotted: str, types: _Schema, out: FieldSet,
              mark_maps: bool) -> None:
    """ToFieldSet (mark_maps=False) or the ``added`` side of Compare (mark_maps=True)."""
    if isinstance(value, dict) and not types.atomic_map(schema):
        if mark_maps and not _is_struct(schema) and path:
            out.add(path)
        for key, item in value.items():
            sub = sub_schema(schema, key)
            child = path + ("f:" + key,)
            _walk_set(item, sub, child, _dot(dotted, key), types, out, mark_maps)
            if item is None or item == {} or not _declared(schema, key):
                out.add(child)
        return
    if isinstance(value, list):
        list_type, keys = types.list_type(dotted, schema)
        if list_type != "atomic":
            items = schema.get("items") if isinstance(schema, dict) else None
            for item in value:
                token = _item_token(item, list_type, keys)
                if token is None:
                    out.add(path)
                    continue
                child = path + (token,)
                if list_type == "map":
                    _walk_set(item, items, child, dotted + "[]", types, out, False)
                out.add(child)
            return
    out.add(path)


def _compare(old: Any, new: Any, schema: Optional[dict], path: Path, dotted: str, types: _Schema,
             added: FieldSet, modified: FieldSet, removed: FieldSet) -> None:
    if isinstance(old, dict) and isinstance(new, dict) and not types.atomic_map(schema):
        for key, item in new.items():
            sub = sub_schema(schema, key)
            child = path + ("f:" + key,)
            if key not in old:
                _walk_set(item, sub, child, _dot(dotted, key), types, added, True)
                added.add(child) if (item == {} or item is None or not _declared(schema, key)) else None
            else:
                _compare(old[key], item, sub, child, _dot(dotted, key), types, added, modified, removed)
        for key, item in old.items():
            if key not in new:
                child = path + ("f:" + key,)
                _walk_set(item, sub_schema(schema, key), child, _dot(dotted, key), types, removed, True)
                removed.add(child)
        return
    if isinstance(old, list) and isinstance(new, list):
        list_type, keys = types.list_type(dotted, schema)
        if list_type != "atomic":
            items = schema.get("items") if isinstance(schema, dict) else None
            before = {_item_token(i, list_type, keys): i for i in old}
            after = {_item_token(i, list_type, keys): i for i in new}
            if None not in before and None not in after:
                for token, item in after.items():
                    child = path + (token,)
                    if token not in before:
                        if list_type == "map":
                            _walk_set(item, items, child, dotted + "[]", types, added, True)
                        added.add(child)
                    elif list_type == "map":
                        _compare(before[token], item, items, child, dotted + "[]", types, added, modified, removed)
                for token, item in before.items():
                    if token not in after:
                        child = path + (token,)
                        if list_type == "map":
                            _walk_set(item, items, child, dotted + "[]", types, removed, True)
                        removed.add(child)
                return
    if old != new or type(old) is not type(new):
        modified.add(path)


def _ignored(path: Path, rtype: ResourceType, subresource: str) -> bool:
    if not path:
        return True
    if path[0] in ("f:apiVersion", "f:kind"):
        return True
    if path[0] == "f:metadata" and (len(path) == 1 or path[1][2:] in _STRIPPED_META):
        return True
    if rtype.has_status:
        in_status = path[0] == "f:status"
        return in_status if subresource != "status" else not in_status
    return False


def _clean(paths: Iterable[Path], rtype: ResourceType, subresource: str) -> FieldSet:
    return {p for p in paths if not _ignored(p, rtype, subresource)}


# -- FieldsV1 ----------------------------------------------------------------------------------
def encode_fields(paths: FieldSet) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for token in path:
            node = node.setdefault(token, {})
    def mark(node: dict[str, Any], prefix: Path) -> None:
        for token, child in node.items():
            here = prefix + (token,)
            if child and here in paths:
                child["."] = {}
            mark(child, here) if token != "." else None
    mark(root, ())
    return _sorted_dict(root)


def _sorted_dict(node: dict[str, Any]) -> dict[str, Any]:
    return {k: _sorted_dict(v) for k, v in sorted(node.items())}


def decode_fields(fields: Any, prefix: Path = ()) -> FieldSet:
    out: FieldSet = set()
    if not isinstance(fields, dict):
        return out
    for token, child in fields.items():
        if token == ".":
            out.add(prefix)
            continue
        here = prefix + (token,)
        if not child:
            out.add(here)
        else:
            out |= decode_fields(child, here)
    return out


def path_string(path: Path) -> str:
    """fieldpath.Path.String(): ``.spec.containers[name="x"].image``."""
    out = ""
    for token in path:
        kind, _, rest = token.partition(":")
        if kind == "f":
            out += "." + rest
        elif kind == "k":
            keys = json.loads(rest)
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]"
        elif kind == "v":
            out += "[=" + rest + "]"
        else:
            out += f"[{rest}]"
    return out


# -- managed entries ---------------------------------------------------------------------------
class _Entry:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.manager = raw.get("manager", "")
        self.operation = raw.get("operation", "Update")
        self.api_version = raw.get("apiVersion", "")
        self.time = raw.get("time")
        self.subresource = raw.get("subresource", "")
        self.fields = decode_fields(raw.get("fieldsV1"))

    def ident(self) -> tuple[str, str, str, str]:
        return (self.manager, self.operation, "" if self.operation == "Apply" else self.api_version, self.subresource)

    def describe(self) -> str:
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text

    def encode(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version}
        if self.time:
            entry["time"] = self.time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = encode_fields(self.fields)
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def _entries(live: Optional[dict], new: Optional[dict] = None) -> list[_Entry]:
    """decodeLiveOrNew: the request's managedFields win when set, ``[{}]`` resets them."""
    sent = ((new or {}).get("metadata") or {}).get("managedFields")
    if sent == [{}]:
        return []
    if sent:
        return [_Entry(e) for e in sent if isinstance(e, dict)]
    return [_Entry(e) for e in ((live or {}).get("metadata") or {}).get("managedFields") or [] if isinstance(e, dict)]


def _store(obj: dict, entries: list[_Entry]) -> None:
    kept = [e for e in entries if e.fields]
    kept.sort(key=lambda e: (e.operation, e.time or "", e.manager, e.api_version, e.subresource))
    meta = obj.setdefault("metadata", {})
    if kept:
        meta["managedFields"] = [e.encode() for e in kept]
    else:
        meta.pop("managedFields", None)


def _find(entries: list[_Entry], ident: tuple[str, str, str, str]) -> Optional[_Entry]:
    return next((e for e in entries if e.ident() == ident), None)


# -- Update ------------------------------------------------------------------------------------
def track_update(rtype: ResourceType, old: Optional[dict], new: dict, *, manager: str, operation: str = "Update",
                 subresource: str = "") -> None:
    """Record in ``new``'s managedFields the fields this create/update/patch changed. The manager
    takes them over from others (updates never conflict); nothing changes when nothing changed."""
    entries = _entries(old, new)
    types = _Schema(rtype)
    added: FieldSet = set()
    modified: FieldSet = set()
    removed: FieldSet = set()
    before = {k: v for k, v in (old or {}).items()}
    after = {k: v for k, v in new.items()}
    _compare(before, after, rtype.schema, (), "", types, added, modified, removed)
    changed = _clean(added | modified, rtype, subresource)
    removed = _clean(removed, rtype, subresource)
    for entry in entries:
        entry.fields -= changed | removed
    if changed or removed:
        version = new.get("apiVersion") or rtype.api_version()
        ident = (manager, operation, version, subresource)
        entry = _find(entries, ident)
        if entry is None and changed:
            entry = _Entry({"manager": manager, "operation": operation, "apiVersion": version,
                            **({"subresource": subresource} if subresource else {})})
            entries.append(entry)
        if entry is not None:
            previous = {e.ident(): e for e in _entries(old, new)}.get(ident)
            entry.fields = ((previous.fields if previous else set()) - removed) | changed
            if changed:
                entry.time = now_rfc3339()
    _store(new, entries)


# -- Apply -------------------------------------------------------------------------------------
def _merge(live: Any, config: Any, schema: Optional[dict], dotted: str, types: _Schema) -> Any:
    if isinstance(live, dict) and isinstance(config, dict) and not types.atomic_map(schema):
        out = dict(live)
        for key, item in config.items():
            sub = sub_schema(schema, key)
            out[key] = _merge(live[key], item, sub, _dot(dotted, key), types) if key in live else copy.deepcopy(item)
        return out
    if isinstance(live, list) and isinstance(config, list):
        list_type, keys = types.list_type(dotted, schema)
        if list_type == "set":
            return list(live) + [copy.deepcopy(i) for i in config if i not in live]
        if list_type == "map":
            items = schema.get("items") if isinstance(schema, dict) else None
            out_list = list(live)
            index = {_item_token(i, "map", keys): n for n, i in enumerate(live)}
            for item in config:
                token = _item_token(item, "map", keys)
                if token is not None and token in index:
                    out_list[index[token]] = _merge(live[index[token]], item, items, dotted + "[]", types)
                else:
                    out_list.append(copy.deepcopy(item))
            return out_list
    return copy.deepcopy(config)


def _remove_path(obj: Any, path: Path, keep: FieldSet) -> None:
    """Remove the value at ``path``; empty parents nobody owns go too."""
    if not path:
        return
    parents: list[tuple[Any, str]] = []
    node = obj
    for token in path[:-1]:
        node_next = _step(node, token)
        if node_next is None:
            return
        parents.append((node, token))
        node = node_next
    _drop(node, path[-1])
    for depth in range(len(parents) - 1, -1, -1):
        parent, token = parents[depth]
        child = _step(parent, token)
        if child in ({}, []) and path[:depth + 1] not in keep:
            _drop(parent, token)
        else:
            break


def _step(node: Any, token: str) -> Any:
    kind, _, rest = token.partition(":")
    if kind == "f" and isinstance(node, dict):
        return node.get(rest)
    if isinstance(node, list):
        for item in node:
            if kind == "k" and isinstance(item, dict) and all(
                    item.get(k, _KEY_DEFAULTS.get(k)) == v for k, v in json.loads(rest).items()):
                return item
            if kind == "v" and item == json.loads(rest):
                return item
    return None


def _drop(node: Any, token: str) -> None:
    kind, _, rest = token.partition(":")
    if kind == "f" and isinstance(node, dict):
        node.pop(rest, None)
    elif isinstance(node, list):
        target = _step(node, token)
        if target is not None:
            node.remove(target)


def _owned_below(path: Path, owned: FieldSet) -> bool:
    size = len(path)
    return any(p[:size] == path for p in owned)


def apply(rtype: ResourceType, current: Optional[dict], applied: dict, *, manager: str, force: bool,
          version: str) -> dict:
    """Server-side apply of ``applied`` (already decoded) over ``current`` (None: create).

    Returns the new object with managedFields; raises 409 Conflict with FieldManagerConflict
    causes when another manager owns a field whose value this apply changes (unless ``force``).
    Fields this manager applied before and no longer applies are removed unless someone else
    owns them. A no-op apply returns an object equal to ``current`` (managedFields included)."""
    from .validation import prune  # local: validation imports schemas, keep this module light

    if not manager:
        raise errors.bad_request("PATCH, application/apply-patch+yaml requires fieldManager to be set")
    config = copy.deepcopy(applied)
    meta = config.get("metadata") or {}
    if meta.get("managedFields"):
        raise errors.bad_request("metadata.managedFields must be nil")
    unknown: list[str] = [f"metadata.{k}" for k in meta if k not in _META_FIELDS]
    prune(config, rtype.schema, (), rtype.custom, unknown, root=True)
    if unknown:
        # structured-merge-diff's typed conversion of the applied configuration refuses unknown
        # fields whatever fieldValidation says; the plain error becomes a 500 without reason
        group_version = rtype.api_version(version)
        where = f"{meta.get('namespace')}/{meta.get('name')}" if meta.get("namespace") else meta.get("name", "")
        raise errors.ApiError(500, "", f"failed to create typed patch object ({where}; {group_version}, "
                              f"Kind={rtype.kind}): " + "\n".join(f".{p}: field not declared in schema"
                                                                   for p in sorted(unknown)))
    types = _Schema(rtype)
    api_version = config.get("apiVersion") or rtype.api_version(version)
    subresource = ""
    applied_set: FieldSet = set()
    _walk_set(config, rtype.schema, (), "", types, applied_set, False)
    applied_set = _clean(applied_set, rtype, subresource)
    ident = (manager, "Apply", "", subresource)

    if current is None:
        new = config
        new.setdefault("metadata", {}).pop("managedFields", None)
        entry = _Entry({"manager": manager, "operation": "Apply", "apiVersion": api_version, "time": now_rfc3339()})
        entry.fields = applied_set
        _store(new, [entry])
        return new

    entries = _entries(current)
    mine = _find(entries, ident)
    last = set(mine.fields) if mine else set()
    live = copy.deepcopy(current)
    live.get("metadata", {}).pop("managedFields", None)
    config.get("metadata", {}).pop("managedFields", None)
    merged = _merge(live, config, rtype.schema, "", types)

    # drop what this manager stopped applying, unless another manager (or this apply) owns it
    others: FieldSet = set()
    for entry in entries:
        if entry is not mine:
            others |= entry.fields
    keep = others | applied_set
    for path in sorted(last - applied_set, key=len, reverse=True):
        if not _owned_below(path, keep):
            _remove_path(merged, path, keep)

    added: FieldSet = set()
    modified: FieldSet = set()
    removed: FieldSet = set()
    _compare(live, merged, rtype.schema, (), "", types, added, modified, removed)
    changed = _clean(added | modified, rtype, subresource)
    removed = _clean(removed, rtype, subresource)
    conflicts: list[tuple[_Entry, Path]] = []
    for entry in entries:
        if entry is mine:
            continue
        for path in sorted(entry.fields & changed):
            conflicts.append((entry, path))
    if conflicts and not force:
        raise _conflict_error(conflicts)
    for entry in entries:
        if entry is not mine:
            entry.fields -= changed | removed
    if mine is None:
        mine = _Entry({"manager": manager, "operation": "Apply", "apiVersion": api_version})
        entries.append(mine)
    unchanged = merged == live and mine.fields == applied_set and mine.api_version == api_version
    mine.fields = applied_set
    mine.api_version = api_version
    if not unchanged:
        mine.time = now_rfc3339()
    _store(merged, entries)
    if unchanged:
        merged["metadata"]["managedFields"] = copy.deepcopy((current.get("metadata") or {}).get("managedFields"))
        if merged["metadata"]["managedFields"] is None:
            merged["metadata"].pop("managedFields")
    return merged


def _conflict_error(conflicts: list[tuple[_Entry, Path]]) -> errors.ApiError:
    conflicts.sort(key=lambda c: (c[0].describe(), c[1]))
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {entry.describe()}",
               "field": path_string(path)} for entry, path in conflicts]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {entry.describe()}: {path_string(path)}"
    else:
        lines: list[str] = []
        by_manager: dict[str, list[str]] = {}
        for entry, path in conflicts:
            by_manager.setdefault(entry.describe(), []).append(path_string(path))
        for who in sorted(by_manager):
            lines.append(f"conflicts with {who}:")
            lines.extend(f"- {p}" for p in by_manager[who])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return errors.ApiError(409, "Conflict", message, {"causes": causes})
