"""Decoding-time pruning, defaulting and schema validation, as kube-apiserver does them.

For custom resources this follows apiextensions-apiserver: unknown fields are pruned (reported
per ``fieldValidation``; paths sorted, ObjectMeta's first), nulls of non-nullable fields without a
default are dropped, schema defaults applied, then ObjectMeta validation, structural validation
with kube-openapi's messages (``<path> in body must be of type string: "integer"``), list-type
invariants and the few CEL rules the served CRDs carry. Built-in types are decoded as Go structs
would be: type mismatches are 400 decode errors, nulls are zero values, Go defaulting runs for
the fields clients see; the schema package only describes their top levels (deeper parts are
opaque), so unknown fields are caught there.
"""
from __future__ import annotations

import base64
import binascii
import copy
import datetime as _dt
import ipaddress
import json
import re
from functools import lru_cache
from typing import Any, Callable, Optional

from . import errors, schemas
from .fielderrors import Path, _num, cause, go_value, invalid, json_type, not_supported, path_str, required
from .objectmeta import qualified_name_errors, validate_meta
from .resources import ResourceType

Schema = dict[str, Any]

_META_FIELDS = ("apiVersion", "kind", "metadata")
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")

# The CEL rules the served CRDs carry (x-kubernetes-validations), evaluated natively.
_CEL: dict[str, Callable[[Any], bool]] = {
    "self.startsWith('/')": lambda v: isinstance(v, str) and v.startswith("/"),
    "!self.contains('..')": lambda v: isinstance(v, str) and ".." not in v,
    "self == true": lambda v: v is True,
    "self.all(am, am in ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'])":
        lambda v: all(a in ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod") for a in v),
    "self.all(k, !format.qualifiedName().validate(k).hasValue())":
        lambda v: all(qualified_name_errors(k) == [] for k in v),
    "self in ['','AWS']": lambda v: v in ("", "AWS"),
    "has(self.type) && self.type == 'AWS' ?  has(self.aws) : !has(self.aws)":
        lambda v: ("aws" in v) if v.get("type") == "AWS" else ("aws" not in v),
}


class _Decode(Exception):
    """A value Go's JSON decoder would refuse (built-in types): 400 BadRequest."""


def _is_int_or_string(schema: Schema) -> bool:
    return bool(schema.get("x-kubernetes-int-or-string"))


def _object_parts(schema: Schema, custom: bool) -> tuple[dict[str, Schema], Any, bool]:
    """(properties, additionalProperties, preserve unknown)."""
    props = schema.get("properties") or {}
    addl = schema.get("additionalProperties")
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    if not custom and not props and addl is None:
        preserve = True  # the package flattens deep core structs to {"type": "object"}
    return props, addl, preserve


@lru_cache(maxsize=512)
def _regex(pattern: str) -> Optional[re.Pattern]:
    try:
        return re.compile(pattern)
    except re.error:
        return None


# -- phase 1: pruning --------------------------------------------------------------------------
def prune(value: Any, schema: Optional[Schema], path: Path, custom: bool, out: list[str],
          root: bool = False) -> None:
    """Drop fields the schema does not know, appending their paths to ``out``."""
    if schema is None:
        return
    if isinstance(value, dict):
        props, addl, preserve = _object_parts(schema, custom)
        embedded = root or schema.get("x-kubernetes-embedded-resource")
        for key in list(value):
            if embedded and key in _META_FIELDS:
                continue
            if key in props:
                prune(value[key], props[key], path + (key,), custom, out)
            elif isinstance(addl, dict):
                prune(value[key], addl, path + (key,), custom, out)
            elif not preserve and addl is not True:
                out.append(path_str(path + (key,)))
                del value[key]
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                prune(item, items, path + (i,), custom, out)


def prune_nulls(value: Any, schema: Optional[Schema], custom: bool) -> None:
    """PruneNonNullableNullsWithoutDefaults (CRs); built-ins: a JSON null is Go's zero value."""
    if schema is None:
        return
    if isinstance(value, dict):
        props, addl, preserve = _object_parts(schema, custom)
        for key in list(value):
            sub = props.get(key) or (addl if isinstance(addl, dict) else None)
            if value[key] is None:
                if sub is None and not custom and key not in props:
                    del value[key]
                elif key in props and not sub.get("nullable") and ("default" not in sub or not custom):
                    del value[key]
            else:
                prune_nulls(value[key], sub, custom)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            prune_nulls(item, schema["items"], custom)


# -- phase 2: defaulting -----------------------------------------------------------------------
def apply_defaults(value: Any, schema: Optional[Schema]) -> None:
    """Structural defaulting of custom resources: missing (or null, non-nullable) fields get a
    deep copy of their schema default, then defaulting recurses into every field."""
    if schema is None:
        return
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if "default" in sub and (key not in value or (value[key] is None and not sub.get("nullable"))):
                value[key] = copy.deepcopy(sub["default"])
        addl = schema.get("additionalProperties")
        for key, item in value.items():
            apply_defaults(item, props.get(key) or (addl if isinstance(addl, dict) else None))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(item, schema["items"])


def builtin_defaults(rtype: ResourceType, obj: dict) -> None:
    """The Go defaulting of built-in types whose results clients see."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else None
    key = (rtype.group, rtype.kind)
    if key == ("", "Secret"):
        obj.setdefault("type", "Opaque")
    elif key == ("", "Service") and spec is not None:
        spec.setdefault("type", "ClusterIP")
        if spec["type"] == "ExternalName":
            return
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] in ("ClusterIP", "NodePort", "LoadBalancer"):
            spec.setdefault("internalTrafficPolicy", "Cluster")
        for port in _list(spec.get("ports")):
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                if "port" in port:
                    port.setdefault("targetPort", port["port"])
    elif key == ("", "PersistentVolumeClaim") and spec is not None:
        spec.setdefault("volumeMode", "Filesystem")
    elif key == ("", "PersistentVolume") and spec is not None:
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")
    elif key == ("storage.k8s.io", "StorageClass"):
        obj.setdefault("reclaimPolicy", "Delete")
        obj.setdefault("volumeBindingMode", "Immediate")
    elif key == ("", "Pod") and spec is not None:
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        spec.setdefault("securityContext", {})
        for container in _list(spec.get("containers")) + _list(spec.get("initContainers")):
            if isinstance(container, dict):
                image = str(container.get("image", ""))
                latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
                container.setdefault("imagePullPolicy", "Always" if latest and "@" not in image else "IfNotPresent")
                container.setdefault("terminationMessagePath", "/dev/termination-log")
                container.setdefault("terminationMessagePolicy", "File")
                container.setdefault("resources", {})
    elif key == ("", "Namespace") and isinstance(obj.get("spec", {}), dict):
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


# -- phase 3: validation -----------------------------------------------------------------------
def _check_format(fmt: str, value: str) -> bool:
    try:
        if fmt == "date-time":
            _dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        elif fmt == "date":
            _dt.date.fromisoformat(value)
        elif fmt == "byte":
            base64.b64decode(value, validate=True)
        elif fmt == "ipv4":
            ipaddress.IPv4Address(value)
        elif fmt == "ipv6":
            ipaddress.IPv6Address(value)
        elif fmt == "cidr":
            ipaddress.ip_network(value, strict=False)
        elif fmt == "mac":
            return re.fullmatch(r"([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}", value) is not None
        elif fmt == "uuid":
            return re.fullmatch(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                                r"[0-9a-fA-F]{12}", value) is not None
        elif fmt == "hostname":
            return re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}"
                                r"[A-Za-z0-9])?)*\.?", value) is not None and len(value) <= 255
    except (ValueError, binascii.Error):
        return False
    return True


def _type_ok(expected: str, actual: str) -> bool:
    return expected == actual or (expected == "number" and actual == "integer")


class _Validator:
    def __init__(self, custom: bool) -> None:
        self.custom = custom
        self.causes: list[dict[str, Any]] = []

    def _in_body(self, path: Path, rest: str) -> str:
        return f"{path_str(path)} in body {rest}"

    def type_error(self, path: Path, expected: str, actual: str, value: Any) -> None:
        if not self.custom:
            raise _Decode(f"json: cannot unmarshal {_go_json_kind(actual)} into Go struct field "
                          f".{path_str(path)} of type {_go_type(expected)}")
        self.causes.append(cause("FieldValueTypeInvalid", path, f"Invalid value: {json.dumps(actual)}: "
                                  + self._in_body(path, f"must be of type {expected}: {json.dumps(actual)}")))

    def validate(self, value: Any, schema: Optional[Schema], path: Path) -> None:
        if schema is None:
            return
        actual = json_type(value)
        if value is None:
            if schema.get("nullable") or (not schema.get("type") and not _is_int_or_string(schema)):
                return
        if _is_int_or_string(schema):
            if actual not in ("integer", "string"):
                if not self.custom and actual == "number":
                    raise _Decode(f"json: cannot unmarshal number {value} into Go struct field "
                                  f".{path_str(path)} of type int32")
                self.type_error(path, "integer,string", actual, value)
                return
        elif schema.get("type") and not _type_ok(schema["type"], actual):
            self.type_error(path, schema["type"], actual, value)
            return
        if "enum" in schema and value not in schema["enum"]:
            self.causes.append(not_supported(path, value, schema["enum"]))
        if isinstance(value, str):
            self._string(value, schema, path)
        elif actual in ("integer", "number"):
            self._number(value, schema, path)
        elif isinstance(value, list):
            self._array(value, schema, path)
        elif isinstance(value, dict):
            self._object(value, schema, path)
        for rule in schema.get("x-kubernetes-validations") or ():
            check = _CEL.get(rule.get("rule", ""))
            if check is not None and value is not None:
                try:
                    ok = check(value)
                except (AttributeError, TypeError):
                    ok = True
                if not ok:
                    self.causes.append(invalid(path, schema.get("type", actual), rule.get(
                        "message") or f"failed rule: {rule['rule']}"))

    def _string(self, value: str, schema: Schema, path: Path) -> None:
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            self.causes.append(cause("FieldValueTooLong", path,
                                      f"Too long: may not be more than {schema['maxLength']} bytes"))
        if "minLength" in schema and len(value) < schema["minLength"]:
            self.causes.append(invalid(path, value, self._in_body(
                path, f"should be at least {schema['minLength']} chars long")))
        pattern = schema.get("pattern")
        if pattern and (rx := _regex(pattern)) is not None and rx.search(value) is None:
            self.causes.append(invalid(path, value, self._in_body(path, f"should match '{pattern}'")))
        fmt = schema.get("format")
        if fmt and not _check_format(fmt, value):
            if not self.custom:
                if fmt == "byte":
                    raise _Decode(f"illegal base64 data at input byte {_base64_error_offset(value)}")
                raise _Decode(f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": cannot parse "{value}" '
                              f'as "2006"') if fmt == "date-time" else _Decode(f"invalid {fmt}: {value!r}")
            self.causes.append(invalid(path, value, self._in_body(
                path, f"must be of type {fmt}: {json.dumps(value)}")))
        if schema.get("x-cluster-quantity") and _QUANTITY.match(value) is None:
            raise _Decode("quantities must match the regular expression "
                          "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")

    def _number(self, value: float, schema: Schema, path: Path) -> None:
        if "minimum" in schema:
            low = schema["minimum"]
            if schema.get("exclusiveMinimum") and value <= low:
                self.causes.append(invalid(path, value, self._in_body(path, f"should be greater than {_num(low)}")))
            elif value < low:
                self.causes.append(invalid(path, value, self._in_body(
                    path, f"should be greater than or equal to {_num(low)}")))
        if "maximum" in schema:
            high = schema["maximum"]
            if schema.get("exclusiveMaximum") and value >= high:
                self.causes.append(invalid(path, value, self._in_body(path, f"should be less than {_num(high)}")))
            elif value > high:
                self.causes.append(invalid(path, value, self._in_body(
                    path, f"should be less than or equal to {_num(high)}")))
        if schema.get("multipleOf") and (value / schema["multipleOf"]) % 1:
            self.causes.append(invalid(path, value, self._in_body(
                path, f"should be a multiple of {_num(schema['multipleOf'])}")))

    def _array(self, value: list, schema: Schema, path: Path) -> None:
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            self.causes.append(cause("FieldValueTooMany", path,
                                      f"Too many: {len(value)}: must have at most {schema['maxItems']} items"))
        if "minItems" in schema and len(value) < schema["minItems"]:
            self.causes.append(invalid(path, len(value), self._in_body(
                path, f"should have at least {schema['minItems']} items")))
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                self.validate(item, items, path + (i,))
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "set" or schema.get("uniqueItems"):
            seen: list[Any] = []
            for i, item in enumerate(value):
                if item in seen:
                    self.causes.append(cause("FieldValueDuplicate", path + (i,), f"Duplicate value: {go_value(item)}"))
                seen.append(item)
        elif list_type == "map":
            keys = schema.get("x-kubernetes-list-map-keys") or []
            seen_keys: list[dict] = []
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    continue
                key = {k: item[k] for k in keys if k in item}
                if key in seen_keys:
                    if not self.custom and len(keys) == 1 and keys[0] in item:  # Go validation names the key
                        where, shown = path + (i, keys[0]), go_value(item[keys[0]])
                    else:
                        where, shown = path + (i,), go_value(key)
                    self.causes.append(cause("FieldValueDuplicate", where, f"Duplicate value: {shown}"))
                seen_keys.append(key)

    def _object(self, value: dict, schema: Schema, path: Path) -> None:
        for name in schema.get("required") or ():
            if name not in value:
                self.causes.append(required(path + (name,)))
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            self.causes.append(invalid(path, len(value), self._in_body(
                path, f"should have at most {schema['maxProperties']} properties")))
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            self.causes.append(invalid(path, len(value), self._in_body(
                path, f"should have at least {schema['minProperties']} properties")))
        if schema.get("x-kubernetes-embedded-resource"):
            for name in ("apiVersion", "kind"):
                if name not in value:
                    self.causes.append(required(path + (name,), "must not be empty"))
        props = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        # schema order (alphabetical in the package), so messages do not depend on the client's key order
        ordered = [k for k in props if k in value] + [k for k in value if k not in props]
        for key in ordered:
            if not path and key in _META_FIELDS:
                continue
            sub = props.get(key) or (addl if isinstance(addl, dict) else None)
            self.validate(value[key], sub, path + (key,))


def _go_json_kind(actual: str) -> str:
    return {"integer": "number", "null": "null", "boolean": "bool"}.get(actual, actual)


def _go_type(expected: str) -> str:
    return {"integer": "int64", "number": "float64", "boolean": "bool", "array": "[]interface {}",
            "object": "map[string]interface {}", "integer,string": "intstr.IntOrString"}.get(expected, expected)


def _base64_error_offset(value: str) -> int:
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    for i, ch in enumerate(value):
        if ch == "=":
            return i if len(value) % 4 else i
        if ch not in alphabet:
            return i
    return (len(value) // 4) * 4


def coerce_meta(rtype: ResourceType, obj: dict, unknown: list[str]) -> None:
    """ObjectMeta decoding: unknown metadata fields are dropped and reported; JSON nulls are zero
    values; a value of the wrong type is a decode error."""
    meta = obj.get("metadata")
    if meta is None:
        if "metadata" in obj:
            del obj["metadata"]
        return
    if not isinstance(meta, dict):
        raise _Decode(f"json: cannot unmarshal {_go_json_kind(json_type(meta))} into Go struct field "
                      f"{rtype.kind}.metadata of type v1.ObjectMeta")
    props = schemas.OBJECT_META["properties"]
    for key in list(meta):
        if key not in props:
            unknown.append(f"metadata.{key}")
            del meta[key]
        elif meta[key] is None:
            del meta[key]
    probe = _Validator(custom=False)
    for key, value in meta.items():
        if key in ("managedFields",):
            continue
        probe.validate(value, props[key], ("metadata", key))


# -- entry point -------------------------------------------------------------------------------
def _value_at(obj: Any, path: Path) -> tuple[bool, Any]:
    for part in path:
        if isinstance(part, int):
            if not isinstance(obj, list) or part >= len(obj):
                return False, None
        elif not isinstance(obj, dict) or part not in obj:
            return False, None
        obj = obj[part]
    return True, obj


def prepare(rtype: ResourceType, obj: dict, *, version: str, operation: str, field_validation: str = "Warn",
            old: Optional[dict] = None, subresource: str = "") -> list[str]:
    """Prune, default and validate ``obj`` in place for a write of ``rtype`` in ``version``.

    Returns the warnings to send (``unknown field "spec.foo"`` for fieldValidation=Warn). Raises
    ApiError 400 (decode errors; Strict unknown fields) or 422 Invalid with per-field causes.
    ``operation`` is CREATE or UPDATE (patches and applies are UPDATE or CREATE too); on UPDATE,
    values that are unchanged from ``old`` are not re-validated (CRD validation ratcheting).
    ``subresource="status"`` marks a status write (status is validated then, spec otherwise).
    """
    schema = schemas.schema_for(rtype, version) if rtype.schema is None or version != rtype.version \
        else rtype.schema
    custom = rtype.custom
    label = f'{rtype.kind} in version "{version}" cannot be handled as a {rtype.kind}'
    unknown_meta: list[str] = []
    pruned: list[str] = []
    try:
        coerce_meta(rtype, obj, unknown_meta)
        prune(obj, schema, (), custom, pruned, root=True)
        prune_nulls(obj, schema, custom)
        if custom:
            apply_defaults(obj, schema)
        else:
            builtin_defaults(rtype, obj)
        validator = _Validator(custom)
        validator.validate(obj, schema, ())
    except _Decode as exc:
        raise errors.bad_request(f"{label}: {exc}") from None
    unknown = unknown_meta + sorted(pruned)
    mode = (field_validation or "Warn").capitalize()
    warnings: list[str] = []
    if unknown and mode == "Strict":
        raise errors.bad_request("strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in unknown))
    if unknown and mode == "Warn":
        warnings = [f'unknown field "{p}"' for p in unknown]

    causes: list[dict[str, Any]] = []
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    validate_meta(rtype, meta, causes)
    skip_status = rtype.has_status and subresource != "status"
    for schema_cause in validator.causes:
        path = schema_cause["_path"]
        if skip_status and path[:1] == ("status",):
            continue
        if operation.upper() == "UPDATE" and old is not None and custom:
            found, before = _value_at(old, path)
            if found and _value_at(obj, path) == (True, before):
                continue
        causes.append(schema_cause)
    if causes:
        seen: set[tuple[str, str]] = set()
        unique = []
        for item in causes:
            key = (item["field"], item["message"])
            if key not in seen:
                seen.add(key)
                unique.append({k: v for k, v in item.items() if k != "_path"})
        raise errors.invalid(rtype.kind, rtype.group, meta.get("name") or meta.get("generateName") or "", unique)
    return warnings
