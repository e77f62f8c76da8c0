"""ObjectMeta validation (apimachinery's ValidateObjectMeta): names, labels, annotations,
ownerReferences and finalizers, with its messages."""
from __future__ import annotations

import re
from typing import Any

from .fielderrors import cause, invalid
from .resources import ResourceType

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                  "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                  "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
              "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
              "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
_DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
_QNAME_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
              "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
              "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                    "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")

# Name rules of the built-ins that differ from the DNS-1123 subdomain default.
_NAME_RULES: dict[tuple[str, str], tuple[re.Pattern, int, str]] = {
    ("", "namespaces"): (_DNS1123_LABEL, 63, _LABEL_MSG),
    ("", "services"): (_DNS1035_LABEL, 63, _DNS1035_MSG),
    ("project.openshift.io", "projects"): (_DNS1123_LABEL, 63, _LABEL_MSG),
}


def name_rule(gr: tuple[str, str]) -> tuple[re.Pattern, int, str]:
    """(pattern, maximum length, message) that ``metadata.name`` of this resource must satisfy."""
    return _NAME_RULES.get(gr, (_DNS1123_SUBDOMAIN, 253, _SUBDOMAIN_MSG))


def qualified_name_errors(key: str) -> list[str]:
    msgs: list[str] = []
    prefix, _, name = key.rpartition("/") if "/" in key else ("", "", key)
    if "/" in key and key.count("/") > 1:
        return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and "
                "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix "
                "and '/' (e.g. 'example.com/MyName')"]
    if "/" in key:
        if not prefix:
            msgs.append("prefix part must be non-empty")
        elif len(prefix) > 253:
            msgs.append("prefix part must be no more than 253 characters")
        elif not _DNS1123_SUBDOMAIN.match(prefix):
            msgs.append("prefix part " + _SUBDOMAIN_MSG)
    if not name:
        msgs.append("name part must be non-empty")
    elif len(name) > 63:
        msgs.append("name part must be no more than 63 characters")
    elif not _QUALIFIED_NAME.match(name):
        msgs.append(_QNAME_MSG)
    return msgs


def _validate_name(rtype: ResourceType, meta: dict, causes: list[dict[str, Any]]) -> None:
    pattern, max_len, msg = name_rule(rtype.gr)
    for field in ("name", "generateName"):
        value = meta.get(field)
        if not isinstance(value, str) or not value:
            continue
        check = value[:-1] if field == "generateName" and value.endswith("-") else value
        if field == "generateName" and not check:
            continue
        if not pattern.match(check):
            causes.append(invalid(("metadata", field), value, msg))
        elif len(value) > max_len:
            causes.append(invalid(("metadata", field), value, f"must be no more than {max_len} characters"))


def validate_meta(rtype: ResourceType, meta: dict, causes: list[dict[str, Any]]) -> None:
    _validate_name(rtype, meta, causes)
    labels = meta.get("labels") or {}
    for key, value in labels.items():
        for msg in qualified_name_errors(key):
            causes.append(invalid(("metadata", "labels"), key, msg))
        if len(value) > 63:
            causes.append(invalid(("metadata", "labels"), value, "must be no more than 63 characters"))
        elif not _LABEL_VALUE.match(value):
            causes.append(invalid(("metadata", "labels"), value, _LABEL_VALUE_MSG))
    annotations = meta.get("annotations") or {}
    for key in annotations:
        for msg in qualified_name_errors(key.lower()):
            causes.append(invalid(("metadata", "annotations"), key, msg))
    total = sum(len(k) + len(v) for k, v in annotations.items())
    if total > 262144:
        causes.append(cause("FieldValueTooLong", ("metadata", "annotations"),
                             "Too long: may not be more than 262144 bytes"))
    for i, ref in enumerate(meta.get("ownerReferences") or ()):
        for name in ("apiVersion", "kind", "name", "uid"):
            if not ref.get(name):
                causes.append(invalid(("metadata", "ownerReferences", i, name), "", f"{name} must not be empty"
                                      if name != "uid" else "uid must not be empty"))
    for i, fin in enumerate(meta.get("finalizers") or ()):
        if "/" not in fin and fin not in ("kubernetes", "orphan", "foregroundDeletion"):
            causes.append(invalid(("metadata", "finalizers", i), fin,
                                  "name is neither a standard finalizer name nor is it fully qualified"))
