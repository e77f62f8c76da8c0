"""dataimportcron-validate.cdi.kubevirt.io (pkg/apiserver/webhooks/dataimportcron-validate.go).

The spec is immutable after creation; at creation the template needs a registry or pvc source
and none of sourceRef / contentType / checkpoints, the schedule must be a standard 5-field cron
expression, importsToKeep >= 0, garbageCollect Outdated or Never, and managedDataSource a DNS-1035
label. Messages and causes are CDI's.
"""
from __future__ import annotations

import re
from typing import Optional

WEBHOOK = "dataimportcron-validate.cdi.kubevirt.io"
_FIELD = re.compile(r"^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?$")
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES = ({}, {}, {}, {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())},
          {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())})
_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def _value(text: str, names: dict, low: int, high: int) -> bool:
    if text.isdigit():
        return low <= int(text) <= high
    return text.lower() in names


def valid_schedule(schedule: str) -> bool:
    """What cronexpr.ParseStandard accepts, closely enough: 5 fields of lists, ranges and steps."""
    if schedule.strip() in _MACROS:
        return True
    fields = schedule.split()
    if len(fields) != 5:
        return False
    for text, (low, high), names in zip(fields, _RANGES, _NAMES):
        for part in text.split(","):
            match = _FIELD.match(part)
            if not match:
                return False
            base = match.group(1)
            if base in ("*", "?"):
                continue
            if not all(_value(v, names, low, high) for v in base.split("-")):
                return False
    return True


def _cause(message: str, field: str, reason: str = "FieldValueInvalid") -> dict:
    return {"reason": reason, "message": message, "field": field}


def validate(cron: dict, old: Optional[dict]) -> list[dict]:
    name = (cron.get("metadata") or {}).get("name") or ""
    if len(name) > 63:
        return [_cause("Name cannot be longer than 63 characters", "")]
    spec = cron.get("spec") or {}
    if old is not None:
        if spec != (old.get("spec") or {}):
            return [_cause("Cannot update DataImportCron Spec", "DataImportCron.Spec", "FieldValueDuplicate")]
        return []
    template = (spec.get("template") or {}).get("spec") or {}
    source = template.get("source") or {}
    if not (source.get("registry") or source.get("pvc")):
        return [_cause("Missing source", "spec.Template")]
    if template.get("sourceRef") or template.get("contentType") or template.get("checkpoints") or \
            template.get("finalCheckpoint"):
        return [_cause("Unsettable fields: SourceRef, ContentType, Checkpoints, FinalCheckpoint", "spec.Template")]
    if not (template.get("pvc") or template.get("storage")):
        return [_cause("Missing Data volume PVC", "Template.PVC")]
    if spec.get("schedule") and not valid_schedule(spec["schedule"]):
        return [_cause("Illegal cron schedule", "spec.Schedule")]
    if spec.get("importsToKeep") is not None and spec["importsToKeep"] < 0:
        return [_cause("Illegal ImportsToKeep value", "spec.ImportsToKeep")]
    if spec.get("garbageCollect") is not None and spec["garbageCollect"] not in ("Never", "Outdated"):
        return [_cause("Illegal GarbageCollect value", "spec.GarbageCollect")]
    managed = spec.get("managedDataSource") or ""
    if not managed:
        return [_cause("Illegal ManagedDataSource value", "spec.ManagedDataSource")]
    if len(managed) > 63:
        return [_cause("Name cannot be longer than 63 characters", "")]
    return []

