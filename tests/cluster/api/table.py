"""Server-side printing: ``meta.k8s.io/v1`` Tables for ``kubectl get``.

Custom resources follow apiextensions-apiserver's tableconvertor: a Name column, then the CRD's
additionalPrinterColumns (or Age when it has none), cells from the first JSONPath result,
``date`` cells rendered as a human duration. Built-in types follow kube-apiserver's printers
(pkg/printers/internalversion) for the columns and cells kubectl shows. All columns are returned
whatever ``wide`` says: kubectl hides priority > 0 columns itself unless ``-o wide``.
"""
from __future__ import annotations

import datetime as _dt
import json
import re
from typing import Any, Callable, Optional

from .resources import ResourceType

_NAME_DOC = ("Name must be unique within a namespace. Is required when creating resources, although some resources "
             "may allow a client to request the generation of an appropriate name automatically. Name is primarily "
             "intended for creation idempotence and configuration definition. Cannot be updated. More info: "
             "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
_AGE_DOC = ("CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
            "guaranteed to be set in happens-before order across separate operations. Clients may not set this "
            "value. It is represented in RFC3339 form and is in UTC.")
_MISSING = object()


# -- durations ---------------------------------------------------------------------------------
def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, (hours // 24) % 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def _parse_time(value: Any) -> Optional[_dt.datetime]:
    if not isinstance(value, str) or not value:
        return None
    try:
        return _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def age(value: Any, now: Optional[_dt.datetime] = None) -> str:
    when = _parse_time(value)
    if when is None:
        return "<unknown>"
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return human_duration((now - when).total_seconds())


# -- JSONPath (the subset CRD printer columns use) ---------------------------------------------
_TOKEN = re.compile(r"\.\.?([A-Za-z0-9_\-/]+)|\[\?\((.+?)\)\]|\[(-?\d+|\*)\]|\['([^']+)'\]|\.(\*)")
_FILTER = re.compile(r"""^@((?:\.[A-Za-z0-9_\-]+)+)\s*(==|!=)\s*(?:'([^']*)'|"([^"]*)"|(\S+))$|^@((?:\.[A-Za-z0-9_\-]+)+)$""")


def _dig(value: Any, dotted: str) -> Any:
    for part in dotted.strip(".").split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _literal(raw: str) -> Any:
    if raw in ("true", "false"):
        return raw == "true"
    try:
        return int(raw)
    except ValueError:
        try:
            return float(raw)
        except ValueError:
            return raw


def jsonpath(obj: Any, expression: str) -> list[Any]:
    """All results of ``expression`` (``.status.conditions[?(@.type=='Ready')].status``)."""
    expression = expression.strip()
    if expression.startswith("{") and expression.endswith("}"):
        expression = expression[1:-1]
    current = [obj]
    pos = 0
    while pos < len(expression):
        match = _TOKEN.match(expression, pos)
        if match is None:
            return []
        pos = match.end()
        field, condition, index, quoted, star = match.groups()
        nxt: list[Any] = []
        for value in current:
            if field is not None or quoted is not None:
                key = field if field is not None else quoted
                if isinstance(value, dict) and key in value:
                    nxt.append(value[key])
            elif star is not None or index == "*":
                nxt.extend(value.values() if isinstance(value, dict) else value if isinstance(value, list) else [])
            elif index is not None:
                i = int(index)
                if isinstance(value, list) and -len(value) <= i < len(value):
                    nxt.append(value[i])
            elif condition is not None and isinstance(value, list):
                nxt.extend(item for item in value if _matches(item, condition))
        current = nxt
    return current


def _matches(item: Any, condition: str) -> bool:
    match = _FILTER.match(condition.strip())
    if match is None:
        return False
    path, op, single, double, bare, exists = match.groups()
    if exists:
        return _dig(item, exists) is not _MISSING
    actual = _dig(item, path)
    expected = single if single is not None else double if double is not None else _literal(bare)
    return (actual == expected) if op == "==" else (actual != expected and actual is not _MISSING)


# -- custom resources --------------------------------------------------------------------------
def _go_print(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _cell(column: dict[str, Any], obj: dict, now: _dt.datetime) -> Any:
    results = jsonpath(obj, column["jsonPath"])
    if not results or results[0] is None:
        return None
    value = results[0]
    kind = column.get("type", "string")
    if kind == "string":
        return _go_print(value)
    if kind == "integer":
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if kind == "number":
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if kind == "date":
        return age(value, now) if _parse_time(value) else ("<invalid>" if isinstance(value, str) else None)
    return None


def _custom_columns(rtype: ResourceType) -> list[dict[str, Any]]:
    return list(rtype.printer_columns) or [
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp", "description": _AGE_DOC}]


# -- built-in printers -------------------------------------------------------------------------
Printer = Callable[[dict, _dt.datetime], list[Any]]


def _col(name: str, kind: str = "string", priority: int = 0, description: str = "", fmt: str = "") -> dict:
    return {"name": name, "type": kind, "format": fmt, "description": description or name, "priority": priority}


def _none(value: Any) -> str:
    return str(value) if value not in (None, "", [], {}) else "<none>"


def _ago(obj: dict, now: _dt.datetime) -> str:
    return age(obj.get("metadata", {}).get("creationTimestamp"), now)


def _pod(obj: dict, now: _dt.datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    statuses = status.get("containerStatuses") or []
    total = len(spec.get("containers") or [])
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
    reason = status.get("reason") or status.get("phase") or "Pending"
    for cs in statuses:
        state = cs.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason"):
            reason = state["terminated"]["reason"]
    if obj.get("metadata", {}).get("deletionTimestamp"):
        reason = "Terminating"
    gates = spec.get("readinessGates") or []
    return [f"{ready}/{total}", reason, str(restarts), _ago(obj, now), _none(status.get("podIP")),
            _none(spec.get("nodeName")), _none(status.get("nominatedNodeName")),
            f"{len(gates)}/{len(gates)}" if gates else "<none>"]


def _node(obj: dict, now: _dt.datetime) -> list[Any]:
    status = obj.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    state = "Unknown" if ready is None else "Ready" if ready.get("status") == "True" else "NotReady"
    if (obj.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    labels = obj.get("metadata", {}).get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k)
    roles += sorted(v for k, v in labels.items() if k == "kubernetes.io/role" and v)
    info = status.get("nodeInfo") or {}
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    return [state, ",".join(roles) or "<none>", _ago(obj, now), info.get("kubeletVersion", ""),
            _none(addresses.get("InternalIP")), _none(addresses.get("ExternalIP")), _none(info.get("osImage")),
            _none(info.get("kernelVersion")), _none(info.get("containerRuntimeVersion"))]


def _service(obj: dict, now: _dt.datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    ports = []
    for port in spec.get("ports") or []:
        text = str(port.get("port"))
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        ports.append(f"{text}/{port.get('protocol', 'TCP')}")
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = spec.get("externalIPs") or [i.get("ip") or i.get("hostname") for i in ingress]
    if spec.get("type") == "ExternalName":
        external = [spec.get("externalName")]
    elif spec.get("type") == "LoadBalancer" and not external:
        external = ["<pending>"]
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    return [spec.get("type", "ClusterIP"), _none(spec.get("clusterIP")), ",".join(external) or "<none>",
            ",".join(ports) or "<none>", _ago(obj, now), selector or "<none>"]


_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


def _modes(modes: Any) -> str:
    return ",".join(_MODES.get(m, m) for m in modes or [])


def _pvc(obj: dict, now: _dt.datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    phase = "Terminating" if obj.get("metadata", {}).get("deletionTimestamp") else status.get("phase", "Pending")
    bound = status.get("phase") == "Bound"
    return [phase, spec.get("volumeName", ""), (status.get("capacity") or {}).get("storage", "") if bound else "",
            _modes(status.get("accessModes")) if bound else "", spec.get("storageClassName", ""),
            spec.get("volumeAttributesClassName") or "<unset>", _ago(obj, now), spec.get("volumeMode", "Filesystem")]


def _pv(obj: dict, now: _dt.datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    claim = spec.get("claimRef") or {}
    return [(spec.get("capacity") or {}).get("storage", ""), _modes(spec.get("accessModes")),
            spec.get("persistentVolumeReclaimPolicy", "Retain"), status.get("phase", "Pending"),
            f"{claim.get('namespace')}/{claim.get('name')}" if claim else "", spec.get("storageClassName", ""),
            spec.get("volumeAttributesClassName") or "<unset>", status.get("reason", ""), _ago(obj, now),
            spec.get("volumeMode", "Filesystem")]


def _event(obj: dict, now: _dt.datetime) -> list[Any]:
    involved = obj.get("involvedObject") or obj.get("regarding") or {}
    source = obj.get("source") or {}
    last = obj.get("lastTimestamp") or obj.get("eventTime") or (obj.get("series") or {}).get("lastObservedTime")
    first = obj.get("firstTimestamp") or obj.get("eventTime")
    return [age(last, now) if last else "<unknown>", obj.get("type", ""), obj.get("reason", ""),
            f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}", involved.get("fieldPath", ""),
            ", ".join(v for v in (source.get("component"), source.get("host")) if v) or obj.get("reportingController", ""),
            (obj.get("message") or obj.get("note") or "").strip(), age(first, now) if first else "<unknown>",
            int(obj.get("count") or 1), obj.get("metadata", {}).get("name", "")]


def _storage_class(obj: dict, now: _dt.datetime) -> list[Any]:
    return [obj.get("provisioner", ""), obj.get("reclaimPolicy", "Delete"),
            obj.get("volumeBindingMode", "Immediate"), bool(obj.get("allowVolumeExpansion", False)), _ago(obj, now)]


_BUILTIN: dict[tuple[str, str], tuple[list[dict[str, Any]], Printer]] = {
    ("", "Pod"): ([_col("Ready", description="The aggregate readiness state of this pod for accepting traffic."),
                   _col("Status", description="The aggregate status of the containers in this pod."),
                   _col("Restarts", "string", description="The number of times the containers in this pod have been "
                        "restarted and when the last container in this pod has restarted."),
                   _col("Age", description=_AGE_DOC), _col("IP", priority=1), _col("Node", priority=1),
                   _col("Nominated Node", priority=1), _col("Readiness Gates", priority=1)], _pod),
    ("", "Node"): ([_col("Status"), _col("Roles"), _col("Age", description=_AGE_DOC), _col("Version"),
                    _col("Internal-IP", priority=1), _col("External-IP", priority=1), _col("OS-Image", priority=1),
                    _col("Kernel-Version", priority=1), _col("Container-Runtime", priority=1)], _node),
    ("", "Namespace"): ([_col("Status"), _col("Age", description=_AGE_DOC)],
                        lambda o, n: [(o.get("status") or {}).get("phase", "Active"), _ago(o, n)]),
    ("", "Service"): ([_col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"),
                       _col("Age", description=_AGE_DOC), _col("Selector", priority=1)], _service),
    ("", "PersistentVolumeClaim"): ([_col("Status"), _col("Volume"), _col("Capacity"), _col("Access Modes"),
                                     _col("StorageClass"), _col("VolumeAttributesClass"),
                                     _col("Age", description=_AGE_DOC), _col("VolumeMode", priority=1)], _pvc),
    ("", "PersistentVolume"): ([_col("Capacity"), _col("Access Modes"), _col("Reclaim Policy"), _col("Status"),
                                _col("Claim"), _col("StorageClass"), _col("VolumeAttributesClass"), _col("Reason"),
                                _col("Age", description=_AGE_DOC), _col("VolumeMode", priority=1)], _pv),
    ("", "Secret"): ([_col("Type"), _col("Data", "string"), _col("Age", description=_AGE_DOC)],
                     lambda o, n: [o.get("type", "Opaque"), len(o.get("data") or {}), _ago(o, n)]),
    ("", "ConfigMap"): ([_col("Data", "string"), _col("Age", description=_AGE_DOC)],
                        lambda o, n: [len(o.get("data") or {}) + len(o.get("binaryData") or {}), _ago(o, n)]),
    ("", "ServiceAccount"): ([_col("Secrets", "string"), _col("Age", description=_AGE_DOC)],
                             lambda o, n: [len(o.get("secrets") or []), _ago(o, n)]),
    ("", "Event"): ([_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Subobject", priority=1),
                     _col("Source", priority=1), _col("Message"), _col("First Seen", priority=1),
                     _col("Count", "string", priority=1), _col("Name", priority=1)], _event),
    ("storage.k8s.io", "StorageClass"): ([_col("Provisioner"), _col("ReclaimPolicy"), _col("VolumeBindingMode"),
                                          _col("AllowVolumeExpansion"), _col("Age", description=_AGE_DOC)],
                                         _storage_class),
}
_BUILTIN[("events.k8s.io", "Event")] = _BUILTIN[("", "Event")]


def _name_cell(rtype: ResourceType, obj: dict) -> str:
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    if rtype.gr == ("storage.k8s.io", "storageclasses") and (meta.get("annotations") or {}).get(
            "storageclass.kubernetes.io/is-default-class") == "true":
        return f"{name} (default)"
    return name


def _row_object(obj: dict, include_object: str) -> Optional[dict]:
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj
    meta = {k: v for k, v in (obj.get("metadata") or {}).items()}
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}


def to_table(rtype: ResourceType, objects: list[dict], *, include_object: str = "Metadata",
             wide: bool = False) -> dict[str, Any]:
    """A meta.k8s.io/v1 Table of ``objects``; the caller fills ``metadata`` (resourceVersion,
    continue, remainingItemCount) like a list's."""
    now = _dt.datetime.now(_dt.timezone.utc)
    name_col = {"name": "Name", "type": "string", "format": "name", "description": _NAME_DOC, "priority": 0}
    builtin = None if rtype.custom or rtype.group.endswith("openshift.io") else _BUILTIN.get((rtype.group, rtype.kind))
    if builtin is not None:
        columns, printer = builtin
        definitions = [name_col] + [dict(c) for c in columns]
        rows_cells = [[_name_cell(rtype, o)] + printer(o, now) for o in objects]
        if rtype.kind == "Event":  # the Event printer has no leading Name column
            definitions = definitions[1:]
            rows_cells = [cells[1:] for cells in rows_cells]
    else:
        columns = _custom_columns(rtype)
        definitions = [name_col] + [{"name": c["name"], "type": c.get("type", "string"), "format": c.get("format", ""),
                                     "description": c.get("description", c["name"]),
                                     "priority": int(c.get("priority", 0))} for c in columns]
        rows_cells = [[_name_cell(rtype, o)] + [_cell(c, o, now) for c in columns] for o in objects]
    rows = []
    for obj, cells in zip(objects, rows_cells):
        row: dict[str, Any] = {"cells": cells}
        embedded = _row_object(obj, include_object)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "columnDefinitions": definitions,
            "rows": rows}
