"""Field errors as k8s.io/apimachinery/pkg/util/validation/field prints them, as Status causes."""
from __future__ import annotations

import json
from typing import Any

Path = tuple  # of str keys and int indexes


def path_str(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def go_value(value: Any) -> str:
    """A bad value as field.Error prints it (%q strings, %v scalars, %#v the rest)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, int):
        return str(value)
    if value is None:
        return '"null"'
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(k)}:{_go_any(v)}" for k, v in value.items())
        return "map[string]interface {}{" + inner + "}"
    return "[]interface {}{" + ", ".join(_go_any(v) for v in value) + "}"


def _go_any(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return go_value(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}"
    return "interface {}(nil)" if value is None else repr(value)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def cause(reason: str, path: Path, body: str) -> dict[str, Any]:
    return {"reason": reason, "message": body, "field": path_str(path), "_path": path}


def invalid(path: Path, value: Any, detail: str) -> dict[str, Any]:
    return cause("FieldValueInvalid", path, f"Invalid value: {go_value(value)}: {detail}")


def required(path: Path, detail: str = "") -> dict[str, Any]:
    return cause("FieldValueRequired", path, "Required value" + (f": {detail}" if detail else ""))


def not_supported(path: Path, value: Any, allowed: list[Any]) -> dict[str, Any]:
    quoted = ", ".join(json.dumps(a if isinstance(a, str) else json.dumps(a)) for a in allowed)
    return cause("FieldValueNotSupported", path, f"Unsupported value: {go_value(value)}: supported values: {quoted}")
