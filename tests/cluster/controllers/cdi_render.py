"""CDI's DataVolume plumbing that is not a state machine: annotation names, source kinds, the
validating webhook and the target PVC rendering.

Ported from CDI v1.61 (pkg/controller/common/util.go, pkg/controller/datavolume/util.go,
pkg/apiserver/webhooks/datavolume-validate.go). Rendering applies StorageProfile defaults when
``spec.storage`` omits access or volume mode, the default virt class when no class is named, the
CDIConfig filesystem overhead to Filesystem sizes, and CDI's messages for what it cannot render.
"""
from __future__ import annotations

import copy
import math
from typing import Any, Optional
from urllib.parse import urlparse

from ..api import errors
from ..api.store import Store
from . import storage_catalog as cat
from .keys import CDICONFIG, SC, SP
from .quantity import MiB, format_decimal, parse_bytes, round_up
from .runtime import Runtime

# cdi.kubevirt.io annotations (pkg/controller/common/util.go)
A = "cdi.kubevirt.io/"
ANN_POD_PHASE = A + "storage.pod.phase"
ANN_POD_READY = A + "storage.pod.ready"
ANN_POD_RESTARTS = A + "storage.pod.restarts"
ANN_POD_SCHEDULABLE = A + "storage.pod.schedulable"
ANN_RETAIN_POD = A + "storage.pod.retainAfterCompletion"
ANN_RUNNING = A + "storage.condition.running"
ANN_RUNNING_MESSAGE = ANN_RUNNING + ".message"
ANN_RUNNING_REASON = ANN_RUNNING + ".reason"
ANN_CONTENT_TYPE = A + "storage.contentType"
ANN_SOURCE = A + "storage.import.source"
ANN_ENDPOINT = A + "storage.import.endpoint"
ANN_SECRET = A + "storage.import.secretName"
ANN_CERT_CONFIGMAP = A + "storage.import.certConfigMap"
ANN_IMPORT_POD = A + "storage.import.importPodName"
ANN_UPLOAD_REQUEST = A + "storage.upload.target"
ANN_CLONE_REQUEST = "k8s.io/CloneRequest"
ANN_CLONE_TYPE = A + "cloneType"
ANN_PREALLOCATION = A + "storage.preallocation.requested"
ANN_CREATED_FOR_DV = A + "createdForDataVolume"
ANN_USE_POPULATOR = A + "storage.usePopulator"
ANN_CREATED_BY = A + "storage.createdByController"
ANN_MIN_PVC_SIZE = A + "minimumSupportedPvcSize"
HONOR_WFFC = "HonorWaitForFirstConsumer"

WEBHOOK = "datavolume-validate.cdi.kubevirt.io"
MESSAGE_SC_NOT_FOUND = "PVC spec is missing accessMode and no storageClass to choose profile"
_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
IMPORT_SOURCES = ("http", "s3", "gcs", "registry", "blank", "imageio", "vddk")


class EventsOnce:
    """Records an event once per (object uid, tag): reconcilers revisit the same state many times."""

    def __init__(self, component: str) -> None:
        self.component = component
        self._seen: set[tuple[str, str]] = set()

    def record(self, rt: Runtime, obj: dict, tag: str, reason: str, message: str, warning: bool = False) -> None:
        mark = (obj["metadata"]["uid"], tag)
        if mark in self._seen:
            return
        self._seen.add(mark)
        rt.record_event(obj, reason, message, event_type="Warning" if warning else "Normal", component=self.component)


class RenderError(Exception):
    """CDI could not render the target PVC; ``event`` is the ErrClaimNotValid event text."""

    def __init__(self, message: str, event: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.event = event or message


def source_kind(spec: dict) -> str:
    """import | upload | clone | snapshot | sourceRef | "" for a DataVolume spec."""
    if spec.get("sourceRef"):
        return "sourceRef"
    source = spec.get("source") or {}
    if "upload" in source:
        return "upload"
    if "pvc" in source:
        return "clone"
    if "snapshot" in source:
        return "snapshot"
    if any(k in source for k in IMPORT_SOURCES):
        return "import"
    return ""


def _credential_annotations(src: dict, anns: dict[str, str]) -> None:
    """The import pod's secret and CA config map, as named by an http/s3/gcs/registry source."""
    if src.get("secretRef"):
        anns[ANN_SECRET] = src["secretRef"]
    if src.get("certConfigMap"):
        anns[ANN_CERT_CONFIGMAP] = src["certConfigMap"]


def import_annotations(source: dict) -> dict[str, str]:
    """PVC annotations the import DataVolume controller sets (UpdateHTTPAnnotations & co)."""
    anns: dict[str, str] = {}
    for kind in ("http", "s3", "gcs"):
        if kind in source:
            src = source[kind] or {}
            anns[ANN_ENDPOINT] = src.get("url", "")
            anns[ANN_SOURCE] = kind
            _credential_annotations(src, anns)
            if kind == "http":
                if src.get("checksum"):
                    anns[A + "storage.import.checksum"] = src["checksum"]
                if src.get("insecureSkipVerify"):
                    anns[A + "storage.import.insecureSkipVerify"] = "true"
                for i, header in enumerate(src.get("extraHeaders") or []):
                    anns[f"{A}storage.import.extraHeaders.{i}"] = header
            return anns
    if "registry" in source:
        src = source["registry"] or {}
        anns[ANN_SOURCE] = "registry"
        if src.get("pullMethod"):
            anns[A + "storage.import.registryImportMethod"] = src["pullMethod"]
        if src.get("url"):
            anns[ANN_ENDPOINT] = src["url"]
        elif src.get("imageStream"):
            anns[ANN_ENDPOINT] = src["imageStream"]
            anns[A + "storage.import.registryImageStream"] = "true"
        _credential_annotations(src, anns)
        return anns
    if "blank" in source:
        anns[ANN_SOURCE] = "none"
        return anns
    for kind in ("imageio", "vddk"):
        if kind in source:
            anns[ANN_ENDPOINT] = (source[kind] or {}).get("url", "")
            anns[ANN_SOURCE] = kind
    return anns


# -- validating webhook ------------------------------------------------------------------------
def _cause(message: str, field: str) -> dict[str, str]:
    return {"reason": "FieldValueInvalid", "message": message, "field": field}


def reject(causes: list[dict[str, str]], webhook: str = WEBHOOK) -> errors.ApiError:
    """The error kube-apiserver returns for a CDI webhook rejection (toRejectedAdmissionResponse)."""
    joined = "".join(f" {c['message']}" for c in causes)
    return errors.ApiError(422, "", f'admission webhook "{webhook}" denied the request: {joined}',
                           {"causes": causes})


def validate_dv(dv: dict, old: Optional[dict]) -> list[dict[str, str]]:
    """Causes datavolume-validate would reject ``dv`` with (empty when admitted)."""
    spec = dv.get("spec") or {}
    if old is not None and spec != (old.get("spec") or {}):
        return [{"reason": "FieldValueDuplicate", "message": "Cannot update DataVolume Spec",
                 "field": "DataVolume.Spec"}]
    name = dv.get("metadata", {}).get("name") or ""
    if len(name) > 253:
        return [_cause("Name cannot be longer than 253 characters", "")]
    pvc, storage = spec.get("pvc"), spec.get("storage")
    if pvc is None and storage is None:
        return [_cause("Missing Data volume PVC", "spec.PVC")]
    if pvc is not None and storage is not None:
        return [_cause("Duplicate storage definition, both target storage and target pvc defined", "spec.PVC.Storage")]
    target, label = (pvc, "PVC") if pvc is not None else (storage, "Storage")
    kind = source_kind(spec)
    is_clone = kind in ("clone", "snapshot", "sourceRef")
    size = parse_bytes(((target.get("resources") or {}).get("requests") or {}).get("storage"))
    size_field = f"spec.{label}.resources.requests.size"
    if size is not None:
        if size <= 0:
            return [_cause(f"{label} size can't be equal or less than zero", size_field)]
        if size < MiB:
            return [_cause(f"{label} size should be at least 1MiB", size_field)]
    elif storage is None or not is_clone:
        return [_cause(f"{label} size is missing", size_field)]
    modes = target.get("accessModes") or []
    if pvc is not None:
        if not modes:
            return [_cause("Required value: at least 1 access mode is required", "spec.PVC.accessModes")]
        if len(modes) > 1:
            return [_cause("PVC multiple accessModes", "spec.PVC.accessModes")]
    for mode in modes:
        if mode not in _MODES:
            return [_cause(f'Unsupported value: "{mode}": supported values: "ReadOnlyMany", "ReadWriteMany", '
                           f'"ReadWriteOnce", "ReadWriteOncePod"', f"spec.{label}.accessModes")]
    if target.get("dataSourceRef") or target.get("dataSource"):
        if spec.get("source") or spec.get("sourceRef"):
            return [_cause("External population is incompatible with Source and SourceRef", "spec.source")]
        return []
    source, ref = spec.get("source"), spec.get("sourceRef")
    if (source is None and ref is None) or (source is not None and ref is not None):
        return [_cause("Data volume should have either Source or SourceRef, or be externally populated", "spec.source")]
    if ref is not None:
        if not ref.get("kind"):
            return [_cause("Missing sourceRef kind", "spec.sourceRef.Kind")]
        if ref["kind"] != "DataSource":
            return [_cause(f"Unsupported sourceRef kind {ref['kind']}, currently only DataSource is supported",
                           "spec.sourceRef.Kind")]
        if not ref.get("name"):
            return [_cause("Missing sourceRef name", "spec.sourceRef.Name")]
        return []
    kinds = [k for k in ("http", "s3", "gcs", "registry", "pvc", "upload", "blank", "imageio", "vddk", "snapshot")
             if k in source]
    if not kinds:
        return [_cause("Missing Data volume source", "spec.source")]
    if len(kinds) > 1:
        return [_cause("Multiple Data volume sources", "spec.source")]
    content = spec.get("contentType") or "kubevirt"
    if content not in ("kubevirt", "archive"):
        return [_cause(f"ContentType not one of: {', '.join(['kubevirt', 'archive'])}", "spec.contentType")]
    for kind, label_ in (("http", "HTTP"), ("s3", "S3"), ("gcs", "GCS")):
        if kind in source:
            problem = _url_problem((source[kind] or {}).get("url") or "")
            if problem:
                return [_cause(f"spec.source {problem}", f"spec.source.{label_}.url")]
    if "blank" in source and content == "archive":
        return [_cause("SourceType cannot be blank and the contentType be archive", "spec.contentType")]
    if "registry" in source:
        if content != "kubevirt":
            return [_cause("ContentType must be kubevirt when Source is Registry", "spec.contentType")]
        reg = source["registry"] or {}
        if bool(reg.get("url")) == bool(reg.get("imageStream")):
            return [_cause("Source registry should have either URL or ImageStream", "spec.source.registry")]
    for kind, label_ in (("pvc", "PVC"), ("snapshot", "Snapshot")):
        if kind in source:
            src = source[kind] or {}
            if not src.get("namespace") or not src.get("name"):
                return [_cause(f"spec.source.{label_} source {kind if kind == 'snapshot' else 'PVC'} is not valid",
                               f"spec.source.{label_}")]
    return []


def _url_problem(url: str) -> str:
    if not url:
        return "source URL is empty"
    parsed = urlparse(url)
    if not parsed.scheme or not (parsed.netloc or parsed.path.startswith("/")):
        return f"Invalid source URL: {url}"
    if parsed.scheme not in ("http", "https", "gs"):
        return f"Invalid source URL scheme: {url}"
    return ""


# -- rendering ---------------------------------------------------------------------------------
def storage_class_for(store: Store, name: Optional[str], content_type: str) -> Optional[dict]:
    """getStorageClassByName: the named class, else the virt default (kubevirt content), else the
    Kubernetes default."""
    if name is not None:
        return store.get(SC, None, name)
    classes = store.list(SC)[0]
    if content_type == "kubevirt":
        virt = cat.default_class(classes, virt=True)
        if virt is not None:
            return virt
    return cat.default_class(classes)


def filesystem_overhead(store: Store, class_name: Optional[str]) -> float:
    if class_name == "":
        return 0.0
    config = store.get(CDICONFIG, None, "config")
    overhead = ((config or {}).get("status") or {}).get("filesystemOverhead") or {}
    value = (overhead.get("storageClass") or {}).get(class_name or "", overhead.get("global", "0"))
    try:
        return float(value)
    except ValueError:
        return 0.0


def honor_wffc(store: Store) -> bool:
    config = store.get(CDICONFIG, None, "config")
    return HONOR_WFFC in (((config or {}).get("spec") or {}).get("featureGates") or [])


def render_pvc_spec(store: Store, dv: dict, clone_size: Optional[int] = None) -> dict[str, Any]:
    """The target PVC spec (renderPvcSpec). Raises RenderError with CDI's message."""
    spec = dv.get("spec") or {}
    if spec.get("pvc") is not None:
        return copy.deepcopy(spec["pvc"])
    storage = spec.get("storage")
    if storage is None:
        raise RenderError("datavolume one of {pvc, storage} field is required")
    pvc_spec = {k: copy.deepcopy(v) for k, v in storage.items()
                if k in ("accessModes", "selector", "resources", "volumeName", "storageClassName",
                         "volumeMode", "dataSource", "dataSourceRef")}
    content = spec.get("contentType") or "kubevirt"
    if content == "archive":
        if pvc_spec.get("volumeMode") == "Block":
            raise RenderError("ContentType Archive cannot have block volumeMode")
        pvc_spec["volumeMode"] = "Filesystem"
    sc = storage_class_for(store, pvc_spec.get("storageClassName"), content)
    if sc is None:
        if not pvc_spec.get("accessModes"):
            raise RenderError(MESSAGE_SC_NOT_FOUND)
    else:
        _apply_profile(store, sc, pvc_spec)
    kind = source_kind(spec)
    requests = pvc_spec.setdefault("resources", {}).setdefault("requests", {})
    size = parse_bytes(requests.get("storage"))
    if size is None:
        if kind not in ("clone", "snapshot", "sourceRef") or not clone_size:
            # snapshots are not simulated, so their restoreSize is unknown: a size must be given
            raise RenderError("PVC Spec is not valid - missing storage size")
        size = clone_size or 0
        requests["storage"] = format_decimal(size)
        return pvc_spec
    if size < MiB:
        raise RenderError("PVC Spec is not valid - storage size should be at least 1MiB")
    if (pvc_spec.get("volumeMode") or "Filesystem") == "Filesystem":
        overhead = filesystem_overhead(store, pvc_spec.get("storageClassName"))
        size = math.ceil(round_up(size, MiB) * (1 + overhead))
    profile = store.get(SP, None, sc["metadata"]["name"]) if sc is not None else None
    minimum = parse_bytes(((profile or {}).get("metadata", {}).get("annotations") or {}).get(ANN_MIN_PVC_SIZE))
    if minimum and size < minimum:
        size = minimum
    requests["storage"] = format_decimal(size)
    return pvc_spec


def _apply_profile(store: Store, sc: dict, pvc_spec: dict) -> None:
    name = sc["metadata"]["name"]
    pvc_spec["storageClassName"] = name
    profile = store.get(SP, None, name)
    sets = ((profile or {}).get("status") or {}).get("claimPropertySets") or []
    modes, volume_mode = pvc_spec.get("accessModes"), pvc_spec.get("volumeMode")
    if not volume_mode and not modes:
        if profile is None:
            raise RenderError(f'cannot get StorageProfile: storageprofiles.cdi.kubevirt.io "{name}" not found',
                              f"Spec is missing accessMode and volumeMode, cannot get access mode from StorageProfile {name}")
        if not sets or not sets[0].get("accessModes"):
            raise RenderError(f"no accessMode specified in StorageProfile {name}",
                              f"Spec is missing accessMode and volumeMode, cannot get access mode from StorageProfile {name}")
        pvc_spec["accessModes"] = list(sets[0]["accessModes"])
        if sets[0].get("volumeMode"):
            pvc_spec["volumeMode"] = sets[0]["volumeMode"]
    elif not modes:
        for item in sets:
            if item.get("volumeMode") == volume_mode and item.get("accessModes"):
                pvc_spec["accessModes"] = list(item["accessModes"])
                return
        raise RenderError(f"no matching accessMode specified in StorageProfile {name}",
                          f"Spec is missing accessMode and cannot get access mode from StorageProfile {name}")
    elif not volume_mode:
        for item in sets:
            if set(item.get("accessModes") or []) & set(modes):
                if item.get("volumeMode"):
                    pvc_spec["volumeMode"] = item["volumeMode"]
                return
