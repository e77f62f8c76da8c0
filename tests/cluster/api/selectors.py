"""Label and field selectors with apimachinery's grammar, supported fields and error messages.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``,
``a>1``, ``a<2``, comma-separated (AND). Field selectors: ``f=v``, ``f==v``, ``f!=v`` on the fields
each type supports: ``metadata.name`` and ``metadata.namespace`` everywhere, plus the handful the
built-in types register (pods ``spec.nodeName``/``status.phase``..., events ``involvedObject.*``...).
Custom resources support only the metadata fields: anything else is 400
``field label not supported: spec.x``, as on a real cluster.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

from . import errors
from .resources import GR

# -- label selectors ---------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(?:(!=|==|=|!|\(|\)|,|<|>)|([^\s!=(),<>]+))")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # exists, !, =, !=, in, notin, gt, lt
    values: tuple[str, ...] = ()

    def matches(self, labels: dict) -> bool:
        op = self.op
        if op == "exists":
            return self.key in labels
        if op == "!":
            return self.key not in labels
        value = labels.get(self.key)
        if op in ("=", "in"):
            return value is not None and value in self.values
        if op in ("!=", "notin"):
            return value is None or value not in self.values
        if value is None:
            return False
        try:
            number = int(value)
        except ValueError:
            return False
        return number > int(self.values[0]) if op == "gt" else number < int(self.values[0])


def _check_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    problems = []
    if not name or len(name) > 63 or not _QUALIFIED.match(name):
        problems.append("name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
                        "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
                        "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        problems.append("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                        "characters, '-' or '.', and must start and end with an alphanumeric character")
    if problems:
        raise errors.bad_request(f'unable to parse requirement: key: Invalid value: "{key}": {"; ".join(problems)}')


def _check_value(key: str, index: int, value: str) -> None:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise errors.bad_request(
            f'unable to parse requirement: values[{index}][{key}]: Invalid value: "{value}": a valid label '
            "must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start "
            "and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
            "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            if text[pos:].strip() == "":
                break
            raise errors.bad_request(f"unable to parse requirement: found '{text[pos:]}', expected: identifier")
        out.append(match.group(1) or match.group(2))
        pos = match.end()
    return out


def parse_labels(text: Optional[str]) -> Optional[list[Requirement]]:
    """None for an empty selector (matches everything)."""
    if text is None or not text.strip():
        return None
    toks = _tokens(text)
    reqs: list[Requirement] = []
    i = 0

    def peek(k: int = 0) -> Optional[str]:
        return toks[i + k] if i + k < len(toks) else None

    while i < len(toks):
        tok = toks[i]
        if tok == "!":
            key = peek(1)
            if key is None or key in "=!(),<>":
                raise errors.bad_request(f"unable to parse requirement: found '{key or ''}', expected: identifier")
            _check_key(key)
            reqs.append(Requirement(key, "!"))
            i += 2
        elif tok in "=!(),<>" or tok in ("==", "!="):
            raise errors.bad_request(f"found '{tok}', expected: !, identifier, or 'end of string'")
        else:
            key = tok
            _check_key(key)
            op = peek(1)
            if op is None or op == ",":
                reqs.append(Requirement(key, "exists"))
                i += 1
            elif op in ("=", "==", "!="):
                value = peek(2)
                if value is None or value == ",":
                    value_str, i = "", i + 2
                elif value in "=!()<>":
                    raise errors.bad_request(f"unable to parse requirement: found '{value}', expected: identifier")
                else:
                    value_str, i = value, i + 3
                _check_value(key, 0, value_str)
                reqs.append(Requirement(key, "!=" if op == "!=" else "=", (value_str,)))
            elif op in ("in", "notin"):
                if peek(2) != "(":
                    raise errors.bad_request(f"unable to parse requirement: found '{peek(2) or ''}' expected: '('")
                i += 3
                values: list[str] = []
                expect_value = True
                while True:
                    t = peek()
                    if t is None:
                        raise errors.bad_request(
                            "unable to parse requirement: found '', expected: ',', ')' or identifier")
                    i += 1
                    if t == ")":
                        if expect_value and values:
                            values.append("")
                        break
                    if t == ",":
                        if expect_value:
                            values.append("")
                        expect_value = True
                        continue
                    values.append(t)
                    expect_value = False
                if not values:
                    raise errors.bad_request(
                        "unable to parse requirement: values: Invalid value: []string{}: for 'in', 'notin' "
                        "operators, values set can't be empty")
                for index, value in enumerate(values):
                    _check_value(key, index, value)
                reqs.append(Requirement(key, op, tuple(values)))
            elif op in ("<", ">"):
                value = peek(2) or ""
                if not value.lstrip("-").isdigit():
                    raise errors.bad_request(
                        f"unable to parse requirement: values[0]: Invalid value: \"{value}\": for 'Gt', 'Lt' "
                        "operators, the value must be an integer")
                reqs.append(Requirement(key, "gt" if op == ">" else "lt", (value,)))
                i += 3
            else:
                raise errors.bad_request(f"found '{op}', expected: in, notin, =, ==, !=, gt, lt")
        if i < len(toks):
            if toks[i] != ",":
                raise errors.bad_request(f"found '{toks[i]}', expected: ',' or 'end of string'")
            i += 1
            if i >= len(toks):
                raise errors.bad_request("found '', expected: identifier after ','")
    return reqs


def labels_match(requirements: Optional[list[Requirement]], obj: dict) -> bool:
    if not requirements:
        return True
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(req.matches(labels) for req in requirements)


# -- field selectors ---------------------------------------------------------------------------
def _path(*keys: str) -> Callable[[dict], Any]:
    def get(obj: dict) -> Any:
        cur: Any = obj
        for key in keys:
            if not isinstance(cur, dict):
                return None
            cur = cur.get(key)
        return cur
    return get


def _pod_ips(obj: dict) -> Any:
    ips = (obj.get("status") or {}).get("podIPs") or []
    return ips[0].get("ip") if ips else None


_COMMON: dict[str, Callable[[dict], Any]] = {
    "metadata.name": _path("metadata", "name"),
    "metadata.namespace": _path("metadata", "namespace"),
}
_EVENT_FIELDS = {
    **{f"involvedObject.{k}": _path("involvedObject", k) for k in
       ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
    "reason": _path("reason"),
    "reportingComponent": _path("reportingComponent"),
    "source": _path("source", "component"),
    "type": _path("type"),
}
# What kube-apiserver's registries accept besides metadata (their GetAttrs / field label conversions).
_TYPE_FIELDS: dict[GR, dict[str, Callable[[dict], Any]]] = {
    ("", "pods"): {
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": _path("spec", "hostNetwork"),
        "status.phase": _path("status", "phase"),
        "status.podIP": _pod_ips,
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    ("", "events"): _EVENT_FIELDS,
    ("", "secrets"): {"type": _path("type")},
    ("", "namespaces"): {"status.phase": _path("status", "phase")},
    ("", "nodes"): {"spec.unschedulable": _path("spec", "unschedulable")},
    ("", "services"): {"spec.clusterIP": _path("spec", "clusterIP"), "spec.type": _path("spec", "type")},
    ("", "persistentvolumeclaims"): {},
    ("", "persistentvolumes"): {},
}


@dataclass(frozen=True)
class FieldTerm:
    field: str
    equal: bool
    value: str
    getter: Callable[[dict], Any]

    def matches(self, obj: dict) -> bool:
        raw = self.getter(obj)
        if raw is None:
            actual = "false" if self.field == "spec.unschedulable" or self.field == "spec.hostNetwork" else ""
        elif isinstance(raw, bool):
            actual = "true" if raw else "false"
        else:
            actual = str(raw)
        return (actual == self.value) == self.equal


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, cur, escaped = [], [], False
    for ch in text:
        if escaped:
            cur.append("\\" + ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if escaped:
        cur.append("\\")
    parts.append("".join(cur))
    return parts


def _unescape(value: str, selector: str) -> str:
    out, escaped = [], False
    for ch in value:
        if escaped:
            if ch not in "\\,=":
                raise errors.bad_request(f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            raise errors.bad_request(f"invalid selector: '{selector}'; can't understand '{value}'")
        else:
            out.append(ch)
    return "".join(out)


def parse_fields(text: Optional[str], gr: GR, custom: bool) -> Optional[list[FieldTerm]]:
    if text is None or not text.strip():
        return None
    supported = dict(_COMMON)
    if not custom:
        supported.update(_TYPE_FIELDS.get(gr, {}))
    terms: list[FieldTerm] = []
    for part in _split_unescaped(text, ","):
        if not part:
            continue
        for op in ("!=", "==", "="):
            idx = part.find(op)
            if idx > 0:
                field, value = part[:idx], part[idx + len(op):]
                break
        else:
            raise errors.bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field = field.strip()
        getter = supported.get(field)
        if getter is None:
            raise errors.bad_request(f"field label not supported: {field}")
        terms.append(FieldTerm(field, op != "!=", _unescape(value, text), getter))
    return terms or None


def fields_match(terms: Optional[list[FieldTerm]], obj: dict) -> bool:
    if not terms:
        return True
    return all(term.matches(obj) for term in terms)


def exact_name(terms: Optional[list[FieldTerm]]) -> Optional[str]:
    """The name a ``metadata.name=X`` term pins (lets list/watch skip the scan)."""
    for term in terms or ():
        if term.field == "metadata.name" and term.equal:
            return term.value
    return None


class Selection:
    """Label + field selection of one list/watch request."""

    def __init__(self, labels: Optional[list[Requirement]], fields: Optional[list[FieldTerm]]) -> None:
        self.labels = labels
        self.fields = fields
        self.empty = not labels and not fields

    @classmethod
    def from_query(cls, label_selector: Optional[str], field_selector: Optional[str], gr: GR,
                   custom: bool) -> "Selection":
        return cls(parse_labels(label_selector), parse_fields(field_selector, gr, custom))

    def __call__(self, obj: dict) -> bool:
        return self.empty or (labels_match(self.labels, obj) and fields_match(self.fields, obj))
