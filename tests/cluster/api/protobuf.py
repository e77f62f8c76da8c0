"""Decoder for Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``).

kubectl 1.37 sends the built-in objects it builds itself as protobuf (``kubectl create namespace``,
``create configmap/secret/serviceaccount/service/poddisruptionbudget``, the DeleteOptions of
``drain --disable-eviction``); its evictions, ``delete`` and patches are JSON. This module turns such a
body into the dict the JSON path would have produced, so the write pipeline stays one.

Wire layout: the 4-byte magic ``k8s\\x00``, then a ``runtime.Unknown`` message
(typeMeta{apiVersion=1, kind=2}=1, raw=2, contentEncoding=3, contentType=4) whose ``raw`` is the
object's own message. Field numbers come from the ``generated.proto`` files of k8s.io/api
(core/v1, policy/v1) and k8s.io/apimachinery (meta/v1, runtime, util/intstr).

Go's gogo-protobuf marshaller writes every non-pointer field, zero or not, and pointer fields only
when set; encoding/json drops zero ``omitempty`` fields. So a table entry says whether the Go field is
a pointer (kept whenever present) and whether its JSON tag has ``omitempty`` (zero value dropped).
Fields a table does not know are skipped, as protobuf readers do; only ``status`` messages are left
without tables on purpose (a create ignores status).
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator, Optional

MAGIC = b"k8s\x00"

# wire types
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


class ProtobufError(ValueError):
    """The bytes are not a well-formed Kubernetes protobuf message."""


class UnsupportedKind(ProtobufError):
    """A well-formed envelope of a kind this decoder has no field table for."""


@dataclass(frozen=True)
class Envelope:
    api_version: str
    kind: str
    raw: bytes
    content_encoding: str
    content_type: str


# -- wire format -----------------------------------------------------------------------------------
def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("unexpected EOF")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("integer overflow")


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value): int for varint/64-bit/32-bit, bytes for length-delimited."""
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("illegal tag 0")
        if wire == _VARINT:
            value, pos = read_varint(buf, pos)
        elif wire == _I64:
            if pos + 8 > len(buf):
                raise ProtobufError("unexpected EOF")
            value, pos = int.from_bytes(buf[pos:pos + 8], "little"), pos + 8
        elif wire == _LEN:
            length, pos = read_varint(buf, pos)
            if pos + length > len(buf):
                raise ProtobufError("unexpected EOF")
            value, pos = bytes(buf[pos:pos + length]), pos + length
        elif wire == _I32:
            if pos + 4 > len(buf):
                raise ProtobufError("unexpected EOF")
            value, pos = int.from_bytes(buf[pos:pos + 4], "little"), pos + 4
        else:  # 3/4 are deprecated groups, never produced by Kubernetes types
            raise ProtobufError(f"illegal wireType {wire} for field {number}")
        yield number, wire, value


def _signed(value: int, bits: int = 64) -> int:
    value &= (1 << 64) - 1  # int32 negatives are sign-extended to 10-byte varints
    if bits == 32:
        value &= 0xFFFFFFFF
        return value - (1 << 32) if value >= 1 << 31 else value
    return value - (1 << 64) if value >= 1 << 63 else value


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtobufError("invalid UTF-8 in string field") from None


# -- envelope --------------------------------------------------------------------------------------
def decode_envelope(data: bytes) -> Envelope:
    if not data:
        raise ProtobufError("empty data")
    if not data.startswith(MAGIC):
        raise ProtobufError("provided data does not appear to be a protobuf message, expected prefix "
                            f"[{' '.join(str(b) for b in MAGIC)}]")
    if len(data) == len(MAGIC):
        raise ProtobufError("empty body")
    api_version = kind = encoding = ctype = ""
    raw = b""
    for number, wire, value in iter_fields(data[len(MAGIC):]):
        if wire != _LEN:
            continue
        if number == 1:
            for n, w, v in iter_fields(value):
                if w == _LEN and n == 1:
                    api_version = _text(v)
                elif w == _LEN and n == 2:
                    kind = _text(v)
        elif number == 2:
            raw = value
        elif number == 3:
            encoding = _text(value)
        elif number == 4:
            ctype = _text(value)
    return Envelope(api_version, kind, raw, encoding, ctype)


# -- field tables ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class F:
    """One proto field: its JSON name, type and JSON presence rules.

    type: string, bytes (base64 in JSON), int32, int64, bool, time (meta/v1 Time), intorstr,
    json (bytes holding JSON, as FieldsV1), msg (sub = table name), map (sub = value type string|bytes).
    """
    name: str
    type: str
    sub: str = ""
    repeated: bool = False
    pointer: bool = False  # Go pointer: written only when set, kept even when zero
    omitempty: bool = True


_OBJECT_META = "meta.ObjectMeta"
_META = F("metadata", "msg", _OBJECT_META)
_STATUS_UNDECODED = "status.Undecoded"

TABLES: dict[str, dict[int, F]] = {
    # k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto
    _OBJECT_META: {
        1: F("name", "string"), 2: F("generateName", "string"), 3: F("namespace", "string"),
        4: F("selfLink", "string"), 5: F("uid", "string"), 6: F("resourceVersion", "string"),
        7: F("generation", "int64"), 8: F("creationTimestamp", "time", omitempty=False),
        9: F("deletionTimestamp", "time", pointer=True), 10: F("deletionGracePeriodSeconds", "int64", pointer=True),
        11: F("labels", "map", "string"), 12: F("annotations", "map", "string"),
        13: F("ownerReferences", "msg", "meta.OwnerReference", repeated=True),
        14: F("finalizers", "string", repeated=True),
        17: F("managedFields", "msg", "meta.ManagedFieldsEntry", repeated=True),
    },
    "meta.OwnerReference": {
        5: F("apiVersion", "string", omitempty=False), 1: F("kind", "string", omitempty=False),
        3: F("name", "string", omitempty=False), 4: F("uid", "string", omitempty=False),
        6: F("controller", "bool", pointer=True), 7: F("blockOwnerDeletion", "bool", pointer=True),
    },
    "meta.ManagedFieldsEntry": {
        1: F("manager", "string"), 2: F("operation", "string"), 3: F("apiVersion", "string"),
        4: F("time", "time", pointer=True), 6: F("fieldsType", "string"),
        7: F("fieldsV1", "msg", "meta.FieldsV1", pointer=True), 8: F("subresource", "string"),
    },
    "meta.FieldsV1": {1: F("Raw", "json")},  # flattened to its JSON value below
    "meta.DeleteOptions": {
        1: F("gracePeriodSeconds", "int64", pointer=True),
        2: F("preconditions", "msg", "meta.Preconditions", pointer=True),
        3: F("orphanDependents", "bool", pointer=True), 4: F("propagationPolicy", "string", pointer=True),
        5: F("dryRun", "string", repeated=True),
        6: F("ignoreStoreReadErrorWithClusterBreakingPotential", "bool", pointer=True),
    },
    "meta.Preconditions": {1: F("uid", "string", pointer=True), 2: F("resourceVersion", "string", pointer=True)},
    "meta.LabelSelector": {
        1: F("matchLabels", "map", "string"),
        2: F("matchExpressions", "msg", "meta.LabelSelectorRequirement", repeated=True),
    },
    "meta.LabelSelectorRequirement": {
        1: F("key", "string", omitempty=False), 2: F("operator", "string", omitempty=False),
        3: F("values", "string", repeated=True),
    },
    # k8s.io/api/core/v1/generated.proto
    "core.Namespace": {1: _META, 2: F("spec", "msg", "core.NamespaceSpec", omitempty=False),
                       3: F("status", "msg", _STATUS_UNDECODED, omitempty=False)},
    "core.NamespaceSpec": {1: F("finalizers", "string", repeated=True)},
    "core.ConfigMap": {1: _META, 4: F("immutable", "bool", pointer=True), 2: F("data", "map", "string"),
                       3: F("binaryData", "map", "bytes")},
    "core.Secret": {1: _META, 5: F("immutable", "bool", pointer=True), 2: F("data", "map", "bytes"),
                    4: F("stringData", "map", "string"), 3: F("type", "string")},
    "core.ServiceAccount": {
        1: _META, 2: F("secrets", "msg", "core.ObjectReference", repeated=True),
        3: F("imagePullSecrets", "msg", "core.LocalObjectReference", repeated=True),
        4: F("automountServiceAccountToken", "bool", pointer=True),
    },
    "core.ObjectReference": {
        1: F("kind", "string"), 2: F("namespace", "string"), 3: F("name", "string"), 4: F("uid", "string"),
        5: F("apiVersion", "string"), 6: F("resourceVersion", "string"), 7: F("fieldPath", "string"),
    },
    "core.LocalObjectReference": {1: F("name", "string")},
    "core.Service": {1: _META, 2: F("spec", "msg", "core.ServiceSpec", omitempty=False),
                     3: F("status", "msg", _STATUS_UNDECODED, omitempty=False)},
    "core.ServiceSpec": {
        1: F("ports", "msg", "core.ServicePort", repeated=True), 2: F("selector", "map", "string"),
        3: F("clusterIP", "string"), 18: F("clusterIPs", "string", repeated=True), 4: F("type", "string"),
        5: F("externalIPs", "string", repeated=True), 7: F("sessionAffinity", "string"),
        8: F("loadBalancerIP", "string"), 9: F("loadBalancerSourceRanges", "string", repeated=True),
        10: F("externalName", "string"), 11: F("externalTrafficPolicy", "string"),
        12: F("healthCheckNodePort", "int32"), 13: F("publishNotReadyAddresses", "bool"),
        14: F("sessionAffinityConfig", "msg", "core.SessionAffinityConfig", pointer=True),
        19: F("ipFamilies", "string", repeated=True), 17: F("ipFamilyPolicy", "string", pointer=True),
        20: F("allocateLoadBalancerNodePorts", "bool", pointer=True),
        21: F("loadBalancerClass", "string", pointer=True), 22: F("internalTrafficPolicy", "string", pointer=True),
        23: F("trafficDistribution", "string", pointer=True),
    },
    "core.ServicePort": {
        1: F("name", "string"), 2: F("protocol", "string"), 6: F("appProtocol", "string", pointer=True),
        3: F("port", "int32", omitempty=False),
        4: F("targetPort", "intorstr", omitempty=False),  # a struct: encoding/json keeps it despite omitempty
        5: F("nodePort", "int32"),
    },
    "core.SessionAffinityConfig": {1: F("clientIP", "msg", "core.ClientIPConfig", pointer=True)},
    "core.ClientIPConfig": {1: F("timeoutSeconds", "int32", pointer=True)},
    # k8s.io/api/policy/v1/generated.proto
    "policy.Eviction": {1: _META, 2: F("deleteOptions", "msg", "meta.DeleteOptions", pointer=True)},
    "policy.PodDisruptionBudget": {1: _META, 2: F("spec", "msg", "policy.PodDisruptionBudgetSpec", omitempty=False),
                                   3: F("status", "msg", _STATUS_UNDECODED, omitempty=False)},
    "policy.PodDisruptionBudgetSpec": {
        1: F("minAvailable", "intorstr", pointer=True), 2: F("selector", "msg", "meta.LabelSelector", pointer=True),
        3: F("maxUnavailable", "intorstr", pointer=True), 4: F("unhealthyPodEvictionPolicy", "string", pointer=True),
    },
    _STATUS_UNDECODED: {},
}

# (apiVersion, kind) of the envelope -> root table. DeleteOptions is registered in every group version.
ROOTS: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "core.Namespace",
    ("v1", "ConfigMap"): "core.ConfigMap",
    ("v1", "Secret"): "core.Secret",
    ("v1", "ServiceAccount"): "core.ServiceAccount",
    ("v1", "Service"): "core.Service",
    ("policy/v1", "Eviction"): "policy.Eviction",
    ("policy/v1", "PodDisruptionBudget"): "policy.PodDisruptionBudget",
}


def root_table(api_version: str, kind: str) -> Optional[str]:
    if kind == "DeleteOptions":
        return "meta.DeleteOptions"
    return ROOTS.get((api_version, kind))


# -- decoding ----------------------------------------------------------------------------------------
_ZERO = ("", 0, False, None)


def _time(value: bytes) -> Optional[str]:
    if not value:
        return None  # Go's zero Time marshals to nothing; its JSON is null
    seconds = 0
    for number, wire, v in iter_fields(value):
        if number == 1 and wire == _VARINT:
            seconds = _signed(v)
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_or_string(value: bytes) -> Any:
    kind, int_val, str_val = 0, 0, ""
    for number, wire, v in iter_fields(value):
        if number == 1 and wire == _VARINT:
            kind = _signed(v)
        elif number == 2 and wire == _VARINT:
            int_val = _signed(v, 32)
        elif number == 3 and wire == _LEN:
            str_val = _text(v)
    return str_val if kind == 1 else int_val


def _map_entry(value: bytes, value_type: str) -> tuple[str, Any]:
    key, val = "", b""
    for number, wire, v in iter_fields(value):
        if number == 1 and wire == _LEN:
            key = _text(v)
        elif number == 2 and wire == _LEN:
            val = v
    return key, base64.b64encode(val).decode("ascii") if value_type == "bytes" else _text(val)


def _scalar(spec: F, wire: int, value: Any) -> Any:
    expected = _VARINT if spec.type in ("int32", "int64", "bool") else _LEN
    if wire != expected:
        raise ProtobufError(f"wrong wireType = {wire} for field {spec.name}")
    if spec.type == "string":
        return _text(value)
    if spec.type == "bytes":
        return base64.b64encode(value).decode("ascii")
    if spec.type == "int64":
        return _signed(value)
    if spec.type == "int32":
        return _signed(value, 32)
    if spec.type == "bool":
        return value != 0
    if spec.type == "time":
        return _time(value)
    if spec.type == "intorstr":
        return _int_or_string(value)
    if spec.type == "json":
        try:
            return json.loads(value) if value else None
        except ValueError:
            raise ProtobufError(f"invalid JSON in field {spec.name}") from None
    raise ProtobufError(f"no decoder for type {spec.type}")  # pragma: no cover - table error


def decode_message(data: bytes, table_name: str) -> dict:
    """One message as its JSON dict (camelCase keys, fields in wire order)."""
    table = TABLES[table_name]
    out: dict[str, Any] = {}
    for number, wire, value in iter_fields(data):
        spec = table.get(number)
        if spec is None:
            continue
        if spec.type == "map":
            if wire != _LEN:
                raise ProtobufError(f"wrong wireType = {wire} for field {spec.name}")
            key, val = _map_entry(value, spec.sub)
            out.setdefault(spec.name, {})[key] = val
            continue
        if spec.type == "msg":
            if wire != _LEN:
                raise ProtobufError(f"wrong wireType = {wire} for field {spec.name}")
            item: Any = decode_message(value, spec.sub)
            if spec.sub == "meta.FieldsV1":
                item = item.get("Raw") or {}
        elif spec.repeated and wire == _LEN and spec.type in ("int32", "int64", "bool"):  # packed
            pos, items = 0, []
            while pos < len(value):
                v, pos = read_varint(value, pos)
                items.append(_scalar(spec, _VARINT, v))
            out.setdefault(spec.name, []).extend(items)
            continue
        else:
            item = _scalar(spec, wire, value)
        if spec.repeated:
            out.setdefault(spec.name, []).append(item)
        elif spec.pointer or not spec.omitempty or item not in _ZERO:
            out[spec.name] = item
    return out


def decode(data: bytes) -> dict:
    """A ``k8s\\x00``-prefixed body as the JSON dict of the object (apiVersion and kind first).

    Raises UnsupportedKind for a kind without a field table and ProtobufError for malformed bytes.
    """
    envelope = decode_envelope(data)
    if envelope.content_encoding:
        raise UnsupportedKind(f"unsupported content encoding {envelope.content_encoding!r}")
    table = root_table(envelope.api_version, envelope.kind)
    if table is None:
        raise UnsupportedKind(f"no protobuf decoding for {envelope.api_version}, Kind={envelope.kind}")
    obj: dict[str, Any] = {"kind": envelope.kind, "apiVersion": envelope.api_version}
    try:
        obj.update(decode_message(envelope.raw, table))
    except ProtobufError as exc:  # apiserver's transformDecodeError wording
        version = envelope.api_version.rpartition("/")[2]
        raise ProtobufError(f'{envelope.kind} in version "{version}" cannot be handled as a {envelope.kind}: '
                            f'{exc}') from None
    return obj
