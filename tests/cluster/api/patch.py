"""JSON patch, JSON merge patch and strategic merge patch, with kube-apiserver's errors.

Error mapping follows k8s.io/apiserver/pkg/endpoints/handlers/patch.go:
- a JSON patch body that is not a list of operations is 400 BadRequest (``DecodePatch`` error);
- a JSON patch operation that does not apply (failed ``test``, missing path...) is
  ``NewGenericServerResponse(422, ...)``: reason Invalid, message "the server rejected our request
  due to an error in our request", the evanphx/json-patch v4 error as an UnexpectedServerResponse
  cause;
- a merge patch that is not a JSON object is 400 "Invalid JSON Patch" (``ErrBadJSONPatch``);
- strategic merge patch is refused with 415 on custom resources; malformed directives are 400
  (``interpretStrategicMergePatchError``), a list element without its merge key is a plain error,
  i.e. 500.
Paths follow the evanphx/json-patch v4 semantics Kubernetes vendors (``replace`` of a missing
object key adds it; ``-`` appends).
"""
from __future__ import annotations

import copy
from typing import Any, Optional

from . import errors
from .resources import ResourceType
from .schemas import sub_schema

_MISSING = object()


class PatchError(Exception):
    pass


def _rejected(message: str) -> errors.ApiError:
    return errors.ApiError(422, "Invalid", "the server rejected our request due to an error in our request",
                           {"causes": [{"reason": "UnexpectedServerResponse", "message": message}]})


# -- RFC 6902 JSON patch -----------------------------------------------------------------------
def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _container(doc: Any, path: str) -> tuple[Any, str]:
    """(parent container, last key) like evanphx findObject; parent None when unreachable."""
    parts = path.split("/")
    if len(parts) < 2:
        return None, ""
    node = doc
    for raw in parts[1:-1]:
        token = _unescape(raw)
        if isinstance(node, dict):
            node = node.get(token, _MISSING)
        elif isinstance(node, list):
            try:
                index = int(token)
            except ValueError:
                return None, ""
            node = node[index] if 0 <= index < len(node) else _MISSING
        else:
            return None, ""
        if not isinstance(node, (dict, list)):
            return None, ""
    return node, _unescape(parts[-1])


def _index(key: str, size: int, for_add: bool = False) -> int:
    try:
        index = int(key)
    except ValueError:
        raise PatchError(f"strconv.Atoi: parsing {key!r}: invalid syntax".replace("'", '"')) from None
    if index < 0 or index > size or (index == size and not for_add):
        raise PatchError(f"Unable to access invalid index: {index}: invalid index referenced")
    return index


def _get(parent: Any, key: str) -> Any:
    if isinstance(parent, dict):
        return parent.get(key, _MISSING)
    return parent[_index(key, len(parent))]


def _add(parent: Any, key: str, value: Any, path: str) -> None:
    if isinstance(parent, dict):
        parent[key] = value
        return
    if key == "-":
        parent.append(value)
        return
    try:
        parent.insert(_index(key, len(parent), for_add=True), value)
    except PatchError as exc:
        raise PatchError(f"error in add for path: '{path}': {exc}") from None


def _remove(parent: Any, key: str, path: str, verb: str = "remove") -> Any:
    try:
        if isinstance(parent, dict):
            if key not in parent:
                raise PatchError(f"Unable to remove nonexistent key: {key}: missing value")
            return parent.pop(key)
        return parent.pop(_index(key, len(parent)))
    except PatchError as exc:
        raise PatchError(f"error in {verb} for path: '{path}': {exc}") from None


def _field(op: dict, name: str, verb: str) -> str:
    value = op.get(name)
    if not isinstance(value, str):
        what = "path" if name == "path" else "from"
        raise PatchError(f"{verb} operation failed to decode {what}: "
                         + ("operation missing path field: missing value" if name == "path"
                            else "operation, missing from field: missing value"))
    return value


def _apply_op(doc: Any, op: dict) -> None:
    kind = op.get("op") if isinstance(op.get("op"), str) else "unknown"
    if kind == "add":
        path = _field(op, "path", "add")
        parent, key = _container(doc, path)
        if parent is None:
            raise PatchError(f'add operation does not apply: doc is missing path: "{path}": missing value')
        _add(parent, key, copy.deepcopy(op.get("value")), path)
    elif kind == "remove":
        path = _field(op, "path", "remove")
        parent, key = _container(doc, path)
        if parent is None:
            raise PatchError(f'remove operation does not apply: doc is missing path: "{path}": missing value')
        _remove(parent, key, path)
    elif kind == "replace":
        path = _field(op, "path", "replace")
        parent, key = _container(doc, path)
        if parent is None:
            raise PatchError(f"replace operation does not apply: doc is missing path: {path}: missing value")
        if isinstance(parent, list):
            try:
                parent[_index(key, len(parent))] = copy.deepcopy(op.get("value"))
            except PatchError:
                raise PatchError(f"replace operation does not apply: doc is missing key: {path}: missing value") from None
        else:
            parent[key] = copy.deepcopy(op.get("value"))
    elif kind == "test":
        path = _field(op, "path", "test")
        parent, key = _container(doc, path)
        if parent is None:
            raise PatchError(f"test operation does not apply: is missing path: {path}: missing value")
        try:
            current = _get(parent, key)
        except PatchError as exc:
            raise PatchError(f"error in test for path: '{path}': {exc}") from None
        expected = op.get("value", _MISSING)
        if current is _MISSING or current is None:
            if expected is None:
                return
            raise PatchError(f"testing value {path} failed: test failed")
        if expected is _MISSING or not _json_equal(current, expected):
            raise PatchError(f"testing value {path} failed: test failed")
    elif kind in ("move", "copy"):
        source = _field(op, "from", kind)
        parent, key = _container(doc, source)
        if parent is None:
            raise PatchError(f"{kind} operation does not apply: doc is missing from path: {source}: missing value")
        if kind == "move":
            value = _remove(parent, key, key, verb="move")
        else:
            try:
                value = copy.deepcopy(_get(parent, key))
            except PatchError as exc:
                raise PatchError(f"error in copy for from: '{source}': {exc}") from None
            if value is _MISSING:
                raise PatchError(f"error in copy for from: '{source}': missing value")
        path = _field(op, "path", kind)
        parent, key = _container(doc, path)
        if parent is None:
            raise PatchError(f"{kind} operation does not apply: doc is missing destination path: {path}: missing value")
        _add(parent, key, value, path)
    else:
        raise PatchError(f"Unexpected kind: {kind}")


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def json_patch(doc: dict, ops: Any) -> dict:
    """Apply an RFC 6902 patch to a copy of ``doc``."""
    if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
        kind = "object" if isinstance(ops, dict) else ("array" if isinstance(ops, list) else "string")
        raise errors.bad_request(f"json: cannot unmarshal {kind} into Go value of type jsonpatch.Patch")
    if len(ops) > 10000:
        raise errors.ApiError(413, "RequestEntityTooLarge",
                              f"Request entity too large: The allowed maximum operations in a JSON patch is "
                              f"10000, got {len(ops)}")
    work = copy.deepcopy(doc)
    for op in ops:
        try:
            _apply_op(work, op)
        except PatchError as exc:
            raise _rejected(str(exc)) from None
    return work


# -- RFC 7386 merge patch ----------------------------------------------------------------------
def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def merge_patch(doc: dict, patch: Any) -> dict:
    if not isinstance(patch, dict):
        raise errors.bad_request("Invalid JSON Patch")
    return _merge(copy.deepcopy(doc), patch)


# -- strategic merge patch ---------------------------------------------------------------------
# patchMergeKey / patchStrategy of k8s.io/api types (the schema package flattens most of them).
_CONTAINER = {"ports": ("containerPort", "merge"), "env": ("name", "merge"), "volumeMounts": ("mountPath", "merge"),
              "volumeDevices": ("devicePath", "merge")}
_POD_SPEC = {"containers": ("name", "merge"), "initContainers": ("name", "merge"),
             "ephemeralContainers": ("name", "merge"), "volumes": ("name", "merge,retainKeys"),
             "imagePullSecrets": ("name", "merge"), "hostAliases": ("ip", "merge"),
             "topologySpreadConstraints": ("topologyKey", "merge"), "resourceClaims": ("name", "merge,retainKeys"),
             "schedulingGates": ("name", "merge")}
_CONDITIONS = {"conditions": ("type", "merge")}
_META = {"ownerReferences": ("uid", "merge"), "finalizers": (None, "merge")}

PATCH_META: dict[tuple[str, str], dict[str, tuple[Optional[str], str]]] = {
    ("", "Pod"): {
        **{f"spec.{k}": v for k, v in _POD_SPEC.items()},
        **{f"spec.{c}[].{k}": v for c in ("containers", "initContainers", "ephemeralContainers")
           for k, v in _CONTAINER.items()},
        "status.conditions": ("type", "merge"), "status.podIPs": ("ip", "merge"), "status.hostIPs": ("ip", "merge"),
    },
    ("", "Service"): {"spec.ports": ("port", "merge"), "status.conditions": ("type", "merge")},
    ("", "Node"): {"spec.podCIDRs": (None, "merge"), "status.conditions": ("type", "merge"),
                   "status.addresses": ("type", "merge")},
    ("", "Namespace"): {"status.conditions": ("type", "merge")},
    ("", "PersistentVolumeClaim"): {"status.conditions": ("type", "merge")},
    ("", "ServiceAccount"): {"secrets": ("name", "merge")},
    ("policy", "PodDisruptionBudget"): {"status.conditions": ("type", "merge")},
}

_DIRECTIVE = "$patch"
_RETAIN = "$retainKeys"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_SET_ORDER = "$setElementOrder/"


def _meta_for(rtype: ResourceType, path: str, schema: Optional[dict]) -> tuple[Optional[str], str]:
    if path.startswith("metadata."):
        return _META.get(path[len("metadata."):], (None, ""))
    found = PATCH_META.get((rtype.group, rtype.kind), {}).get(path)
    if found is not None:
        return found
    if schema is not None:
        return schema.get("x-kubernetes-patch-merge-key"), schema.get("x-kubernetes-patch-strategy", "")
    return None, ""


def _items(schema: Optional[dict]) -> Optional[dict]:
    return schema.get("items") if isinstance(schema, dict) and isinstance(schema.get("items"), dict) else None


class _SMP:
    def __init__(self, rtype: ResourceType) -> None:
        self.rtype = rtype

    def strip(self, value: Any) -> Any:
        """A patch value going in as new content: directives removed."""
        if isinstance(value, dict):
            if value.get(_DIRECTIVE) == "delete":
                return _MISSING
            return {k: self.strip(v) for k, v in value.items()
                    if not k.startswith("$") and self.strip(v) is not _MISSING}
        if isinstance(value, list):
            return [s for s in (self.strip(v) for v in value) if s is not _MISSING]
        return value

    def merge_map(self, original: dict, patch: dict, path: str, schema: Optional[dict]) -> Any:
        patch = dict(patch)
        directive = patch.pop(_DIRECTIVE, None)
        if directive == "replace":
            return self.strip(patch)
        if directive == "delete":
            return _MISSING
        if directive not in (None, "merge"):
            raise errors.bad_request(f'unknown patch type: "{directive}" in map: {_go_map(patch)}')
        result = dict(original)
        if _RETAIN in patch:
            retain = patch.pop(_RETAIN)
            if not isinstance(retain, list):
                raise errors.bad_request("invalid patch format for retainKeys")
            for key in patch:
                if not key.startswith("$") and key not in retain:
                    raise _rejected("doesn't match the $retainKeys")
            result = {k: v for k, v in result.items() if k in retain}
        orders: dict[str, list] = {}
        for key in list(patch):
            if key.startswith(_DELETE_PRIMITIVE):
                name = key[len(_DELETE_PRIMITIVE):]
                doomed = patch.pop(key)
                if not isinstance(doomed, list):
                    raise errors.bad_request("invalid patch format for primitive list")
                if isinstance(result.get(name), list):
                    result[name] = [v for v in result[name] if v not in doomed]
            elif key.startswith(_SET_ORDER):
                orders[key[len(_SET_ORDER):]] = patch.pop(key)
        for key, value in patch.items():
            sub_path = f"{path}.{key}" if path else key
            child_schema = sub_schema(schema, key)
            if value is None:
                result.pop(key, None)
                continue
            current = result.get(key, _MISSING)
            if isinstance(value, dict) and isinstance(current, dict):
                merged = self.merge_map(current, value, sub_path, child_schema)
            elif isinstance(value, list):
                merged = self.merge_list(current if isinstance(current, list) else [], value, sub_path, child_schema)
            elif isinstance(value, dict):
                merged = self.merge_map({}, value, sub_path, child_schema)
            else:
                merged = value
            if merged is _MISSING:
                result.pop(key, None)
            else:
                result[key] = merged
        for key, order in orders.items():
            if isinstance(result.get(key), list):
                merge_key, _ = _meta_for(self.rtype, f"{path}.{key}" if path else key, sub_schema(schema, key))
                result[key] = _reorder(result[key], order, merge_key)
        return result

    def merge_list(self, original: list, patch: list, path: str, schema: Optional[dict]) -> Any:
        merge_key, strategy = _meta_for(self.rtype, path, schema)
        for element in patch:
            if isinstance(element, dict) and element.get(_DIRECTIVE) == "replace":
                return self.strip([e for e in patch if e is not element])
        if "merge" not in (strategy or "").split(","):
            return self.strip(patch)
        if merge_key is None:  # a list of primitives with the merge strategy: union
            merged = list(original)
            for element in patch:
                if element not in merged:
                    merged.append(element)
            return merged
        result = [copy.deepcopy(e) for e in original]
        item_schema = _items(schema)
        for element in patch:
            if not isinstance(element, dict):
                raise errors.bad_request("invalid patch format for primitive list")
            if merge_key not in element:
                raise errors.internal(f"map: {_go_map(element)} does not contain declared merge key: {merge_key}")
            matches = [i for i, e in enumerate(result) if isinstance(e, dict) and e.get(merge_key) == element[merge_key]]
            if element.get(_DIRECTIVE) == "delete":
                result = [e for i, e in enumerate(result) if i not in matches]
                continue
            if matches:
                merged = self.merge_map(result[matches[0]], element, f"{path}[]", item_schema)
                result[matches[0]] = merged
            else:
                stripped = self.strip(element)
                if stripped is not _MISSING:
                    result.append(stripped)
        return [e for e in result if e is not _MISSING]


def _reorder(items: list, order: list, merge_key: Optional[str]) -> list:
    def ident(item: Any) -> Any:
        return item.get(merge_key) if merge_key and isinstance(item, dict) else item
    wanted = [ident(o) for o in order]
    ranked = [i for i in items if ident(i) in wanted]
    ranked.sort(key=lambda i: wanted.index(ident(i)))
    return ranked + [i for i in items if ident(i) not in wanted]


def _go_map(value: dict) -> str:
    return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(value.items())) + "]"


def strategic_merge_patch(doc: dict, patch: Any, rtype: ResourceType) -> dict:
    """Strategic merge patch of a built-in type (custom resources answer 415 like a real server)."""
    if rtype.custom:
        raise errors.unsupported_media_type("application/strategic-merge-patch+json")
    if not isinstance(patch, dict):
        raise errors.bad_request("invalid JSON document")
    result = _SMP(rtype).merge_map(copy.deepcopy(doc), patch, "", rtype.schema)
    return result if isinstance(result, dict) else {}
