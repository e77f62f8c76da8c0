"""REST writes: create, update (PUT), patch, delete, deletecollection — apiserver's write pipeline.

decode -> (patch: current object + json/merge/strategic patch or server-side apply) ->
``validation.prepare`` (pruning, defaults, schema, fieldValidation) -> admission (mutating, then
validating) -> managedFields -> ``ObjectService``. ``dryRun=All`` runs everything but stores
nothing. Option errors are 422 Invalid on ``CreateOptions``/``PatchOptions``/..., as apiserver's
parameter validation answers them.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from . import apply as apply_mod
from . import errors, validation
from . import patch as patch_mod
from .objectmeta import name_rule
from .request import Request, Response
from .resources import AdmissionRequest, ResourceType
from .rest import served

if TYPE_CHECKING:  # pragma: no cover
    from ..cluster import Cluster

_FIELD_VALIDATION = ("", "Ignore", "Strict", "Warn")
_PROPAGATION = ("Foreground", "Background", "Orphan")
# Types whose DELETE answers the object even once it is gone (registry ReturnDeletedObject).
_RETURNS_DELETED = {("", "pods"), ("", "services"), ("", "persistentvolumeclaims"), ("", "persistentvolumes"),
                    ("", "namespaces")}
_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
                "application/strategic-merge-patch+json", "application/apply-patch+yaml")


@dataclass
class WriteOptions:
    dry_run: bool
    field_validation: str
    field_manager: str
    force: Optional[bool] = None


class _StorageError(errors.ApiError):
    """A storage-layer error apiserver passes through as a bare 500 (no reason)."""

    def __init__(self, message: str) -> None:
        super().__init__(500, "", message)

    def status(self) -> dict:
        body = super().status()
        body.pop("reason", None)
        return body


def _reject_resource_version_on_create(obj: dict) -> None:
    raw = str((obj.get("metadata") or {}).get("resourceVersion") or "")
    if raw.isdigit() and int(raw) != 0:
        raise _StorageError("resourceVersion should not be set on objects to be created")


def _options_error(kind: str, causes: list[dict]) -> errors.ApiError:
    return errors.invalid(kind, "meta.k8s.io", "", causes)


def write_options(req: Request, kind: str, dry_run_values: Optional[list[str]] = None) -> WriteOptions:
    """Parse and validate dryRun / fieldValidation / fieldManager / force like apiserver."""
    causes: list[dict] = []
    dry = dry_run_values if dry_run_values is not None else req.query.get("dryRun", [])
    if any(v != "All" for v in dry):
        values = ", ".join(f'"{v}"' for v in dry)
        causes.append({"reason": "FieldValueNotSupported", "field": "dryRun",
                       "message": f'Unsupported value: []string{{{values}}}: supported values: "All"'})
    validation = req.param("fieldValidation", "") or ""
    if validation not in _FIELD_VALIDATION:
        causes.append({"reason": "FieldValueNotSupported", "field": "fieldValidation",
                       "message": f'Unsupported value: "{validation}": supported values: "", "Ignore", '
                                  '"Strict", "Warn"'})
    manager = req.param("fieldManager", "") or ""
    if len(manager) > 128:
        causes.append({"reason": "FieldValueTooLong", "field": "fieldManager",
                       "message": "Too long: may not be more than 128 bytes"})
    force_raw = req.param("force")
    force = None if force_raw is None else force_raw.lower() in ("true", "1")
    if kind == "PatchOptions":
        if req.content_type == "application/apply-patch+yaml":
            if not manager:
                causes.insert(0, {"reason": "FieldValueRequired", "field": "fieldManager",
                                  "message": "Required value: is required for apply patch"})
        elif force is not None:
            causes.insert(0, {"reason": "FieldValueForbidden", "field": "force",
                              "message": "Forbidden: may not be specified for non-apply patch"})
    if causes:
        raise _options_error(kind, causes)
    req.dry_run = bool(dry)
    if not manager:
        manager = "".join(ch for ch in req.user_agent.split("/")[0] if ch.isprintable())[:128]
    return WriteOptions(bool(dry), validation or "Warn", manager, force)


def validate_name(rtype: ResourceType, name: str) -> None:
    pattern, limit, message = name_rule(rtype.gr)
    causes = []
    if len(name) > limit:
        causes.append(f"must be no more than {limit} characters")
    if not pattern.match(name):
        causes.append(message)
    if causes:
        raise errors.invalid(rtype.kind, rtype.group, name, [
            {"reason": "FieldValueInvalid", "field": "metadata.name",
             "message": f'Invalid value: "{name}": {cause}'} for cause in causes])


def _decode_object(req: Request, rtype: ResourceType, version: str, namespace: Optional[str]) -> dict:
    body = req.json_body()
    if not isinstance(body, dict):
        raise errors.bad_request(f"the object provided is unrecognized (must be of type {rtype.kind}): "
                                 "couldn't get version/kind; json parse error")
    _check_type(body, rtype, version)
    meta = body.get("metadata")
    if meta is None or not isinstance(meta, dict):
        meta = body["metadata"] = {}
    if rtype.namespaced:
        if meta.get("namespace") and namespace and meta["namespace"] != namespace:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                     "on the request")
        if namespace:
            meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    return body


def _check_type(body: dict, rtype: ResourceType, version: str) -> None:
    api_version = body.get("apiVersion")
    kind = body.get("kind")
    if api_version:
        group, _, ver = api_version.rpartition("/")
        if group != rtype.group or ver not in (rtype.served_versions or (rtype.version,)):
            raise errors.bad_request(f"the API version in the data ({api_version}) does not match the expected "
                                     f"API version ({rtype.api_version(version)})")
    if kind and kind != rtype.kind:
        raise errors.bad_request(f"{kind} in version \"{version}\" cannot be handled as a {rtype.kind}: "
                                 f"converting (v1.{kind}) to ({rtype.kind}): unknown conversion")
    body["apiVersion"] = rtype.api_version()  # stored in the storage version
    body["kind"] = rtype.kind


def prepare(rtype: ResourceType, obj: dict, version: str, operation: str, opts: WriteOptions,
            req: Request, old: Optional[dict] = None, decode_prefix: bool = True, subresource: str = "") -> None:
    """Schema validation/pruning/defaulting; strict-decoding errors get apiserver's decode prefix
    on create/update (not on patch, where apiserver reports them bare)."""
    try:
        extra = {"subresource": subresource} if subresource else {}
        warnings = validation.prepare(rtype, obj, version=version, operation=operation,
                                      field_validation=opts.field_validation, old=old, **extra)
    except errors.ApiError as exc:
        if decode_prefix and exc.code == 400 and exc.message.startswith("strict decoding error"):
            exc.message = f'{rtype.kind} in version "{version}" cannot be handled as a {rtype.kind}: {exc.message}'
        raise
    req.warnings.extend(warnings or ())


def admit(cluster: "Cluster", req: Request, rtype: ResourceType, operation: str, namespace: Optional[str],
          name: Optional[str], new: Optional[dict], old: Optional[dict], version: str, dry_run: bool,
          subresource: str = "") -> None:
    request = AdmissionRequest(operation=operation, gr=rtype.gr, namespace=namespace, name=name,
                               user=req.user or "", dry_run=dry_run, subresource=subresource, version=version)
    cluster.registry.admit(request, new, old)
    # webhook warnings (e.g. KubeVirt's spec.running deprecation) reach the client as Warning headers
    req.warnings.extend(request.warnings)


def track(rtype: ResourceType, old: Optional[dict], new: dict, opts: WriteOptions, subresource: str = "") -> None:
    apply_mod.track_update(rtype, old, new, manager=opts.field_manager, operation="Update", subresource=subresource)


def _normalize_subresource(rtype: ResourceType, new: dict, old: dict, subresource: str) -> None:
    """Main endpoint keeps the stored status; /status keeps everything else (before managedFields)."""
    if not rtype.has_status:
        return
    if subresource == "status":
        for key in list(new):
            if key not in ("status", "metadata", "apiVersion", "kind"):
                del new[key]
        for key, value in old.items():
            if key not in ("status", "metadata"):
                new[key] = copy.deepcopy(value)
    elif "status" in old:
        new["status"] = copy.deepcopy(old["status"])
    else:
        new.pop("status", None)


# -- verbs ---------------------------------------------------------------------------------------
def create(cluster: "Cluster", req: Request, rtype: ResourceType, version: str,
           namespace: Optional[str]) -> Response:
    opts = write_options(req, "CreateOptions")
    obj = _decode_object(req, rtype, version, namespace)
    name = obj["metadata"].get("name")
    if name:
        validate_name(rtype, name)
    elif not obj["metadata"].get("generateName"):
        raise errors.invalid(rtype.kind, rtype.group, "", [{
            "reason": "FieldValueRequired", "field": "metadata.name",
            "message": "Required value: name or generateName is required"}])
    prepare(rtype, obj, version, "CREATE", opts, req)
    admit(cluster, req, rtype, "CREATE", namespace, name, obj, None, version, opts.dry_run)
    track(rtype, None, obj, opts)
    _reject_resource_version_on_create(obj)
    result = cluster.service.create(rtype.gr, obj, dry_run=opts.dry_run)
    return Response(201, served(result, rtype, version))


def update(cluster: "Cluster", req: Request, rtype: ResourceType, version: str, namespace: Optional[str],
           name: str, subresource: str = "") -> Response:
    opts = write_options(req, "UpdateOptions")
    obj = _decode_object(req, rtype, version, namespace)
    meta = obj["metadata"]
    if meta.get("name") != name:
        raise errors.bad_request(f"the name of the object ({meta.get('name', '')}) does not match the name on "
                                 f"the URL ({name})")
    if rtype.custom and not meta.get("resourceVersion"):
        raise errors.invalid(rtype.kind, rtype.group, name, [{
            "reason": "FieldValueInvalid", "field": "metadata.resourceVersion",
            "message": "Invalid value: 0x0: must be specified for an update"}])
    ns = namespace if rtype.namespaced else None
    old = cluster.store.get(rtype.gr, ns, name)
    if old is None:
        raise errors.not_found(rtype.group, rtype.plural, name)
    _normalize_subresource(rtype, obj, old, subresource)
    prepare(rtype, obj, version, "UPDATE", opts, req, old=old, subresource=subresource)
    admit(cluster, req, rtype, "UPDATE", ns, name, obj, old, version, opts.dry_run, subresource)
    track(rtype, old, obj, opts, subresource)
    result = cluster.service.update(rtype.gr, obj, subresource=subresource, dry_run=opts.dry_run)
    return Response(200, served(result, rtype, version))


def _unsupported_patch(rtype: ResourceType) -> errors.ApiError:
    accepted = [t for t in _PATCH_TYPES if not (rtype.custom and "strategic" in t)]
    return errors.ApiError(415, "UnsupportedMediaType",
                           "the body of the request was in an unknown format - accepted media types include: "
                           + ", ".join(accepted), {})


def patch(cluster: "Cluster", req: Request, rtype: ResourceType, version: str, namespace: Optional[str],
          name: str, subresource: str = "") -> Response:
    content_type = req.content_type
    if content_type not in _PATCH_TYPES or (rtype.custom and content_type == _PATCH_TYPES[2]):
        raise _unsupported_patch(rtype)
    opts = write_options(req, "PatchOptions")
    apply_patch = content_type == "application/apply-patch+yaml"
    body = req.json_body(allow_yaml=apply_patch)
    if body is None:
        raise errors.bad_request("error decoding patch: unexpected end of JSON input")
    ns = namespace if rtype.namespaced else None
    for attempt in range(8):
        current = cluster.store.get(rtype.gr, ns, name)
        try:
            if apply_patch:
                return _apply(cluster, req, rtype, version, ns, name, body, current, opts, subresource)
            if current is None:
                raise errors.not_found(rtype.group, rtype.plural, name)
            return _patch_once(cluster, req, rtype, version, ns, name, body, current, opts, subresource)
        except errors.ApiError as exc:
            # apiserver retries a patch that lost a race (the patch itself named no resourceVersion)
            if exc.reason != "Conflict" or getattr(exc, "user_rv", False) or attempt == 7 or \
                    (current is not None and cluster.store.get(rtype.gr, ns, name) is current):
                raise
    raise AssertionError("unreachable")


def _patch_once(cluster: "Cluster", req: Request, rtype: ResourceType, version: str, ns: Optional[str],
                name: str, body: Any, current: dict, opts: WriteOptions, subresource: str) -> Response:
    doc = copy.deepcopy(current)
    doc["apiVersion"] = rtype.api_version(version)
    content_type = req.content_type
    if content_type == "application/json-patch+json":
        if not isinstance(body, list):
            raise errors.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        patched = patch_mod.json_patch(doc, body)
    elif not isinstance(body, dict):
        raise errors.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
    elif content_type == "application/merge-patch+json":
        patched = patch_mod.merge_patch(doc, body)
    else:
        patched = patch_mod.strategic_merge_patch(doc, body, rtype)
    if not isinstance(patched, dict):
        raise errors.bad_request("the patch produced an object that is not a JSON object")
    meta = patched.setdefault("metadata", {})
    if meta.get("name") != name:
        raise errors.bad_request(f"the name of the object ({meta.get('name', '')}) does not match the name on "
                                 f"the URL ({name})")
    if rtype.namespaced and meta.get("namespace") != ns:
        raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the "
                                 "request")
    user_rv = meta.get("resourceVersion") not in (None, current["metadata"]["resourceVersion"])
    _check_type(patched, rtype, version)
    _normalize_subresource(rtype, patched, current, subresource)
    prepare(rtype, patched, version, "UPDATE", opts, req, old=current, decode_prefix=False, subresource=subresource)
    admit(cluster, req, rtype, "UPDATE", ns, name, patched, current, version, opts.dry_run, subresource)
    track(rtype, current, patched, opts, subresource)
    try:
        result = cluster.service.update(rtype.gr, patched, subresource=subresource, dry_run=opts.dry_run)
    except errors.ApiError as exc:
        exc.user_rv = user_rv  # type: ignore[attr-defined]
        raise
    return Response(200, served(result, rtype, version))


def _apply(cluster: "Cluster", req: Request, rtype: ResourceType, version: str, ns: Optional[str], name: str,
           body: Any, current: Optional[dict], opts: WriteOptions, subresource: str) -> Response:
    if not isinstance(body, dict):
        raise errors.bad_request("error decoding patch: the applied configuration is not an object")
    body = copy.deepcopy(body)
    if not body.get("apiVersion") or not body.get("kind"):
        raise errors.bad_request(
            "error decoding patch: Object 'Kind' is missing in the applied configuration" if not body.get("kind")
            else "error decoding patch: Object 'apiVersion' is missing in the applied configuration")
    meta = body.setdefault("metadata", {})
    if meta.get("name") not in (None, name):
        raise errors.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL "
                                 f"({name})")
    meta["name"] = name
    if rtype.namespaced:
        if meta.get("namespace") not in (None, "", ns):
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent on "
                                     "the request")
        meta["namespace"] = ns
    group, _, ver = str(body["apiVersion"]).rpartition("/")
    if group != rtype.group or body["kind"] != rtype.kind or ver not in (rtype.served_versions or (rtype.version,)):
        raise errors.bad_request(f"the API version in the data ({body['apiVersion']}) does not match the "
                                 f"expected API version ({rtype.api_version(version)})")
    if current is None:
        validate_name(rtype, name)
    base = None
    if current is not None:
        base = copy.deepcopy(current)
        base["apiVersion"] = rtype.api_version(version)
    new = apply_mod.apply(rtype, base, body, manager=opts.field_manager, force=bool(opts.force), version=version)
    new["apiVersion"] = rtype.api_version()
    new["kind"] = rtype.kind
    if current is None:
        prepare(rtype, new, version, "CREATE", opts, req, decode_prefix=False)
        admit(cluster, req, rtype, "CREATE", ns, name, new, None, version, opts.dry_run)
        _reject_resource_version_on_create(body)
        result = cluster.service.create(rtype.gr, new, dry_run=opts.dry_run)
        return Response(201, served(result, rtype, version))
    _normalize_subresource(rtype, new, current, subresource)
    prepare(rtype, new, version, "UPDATE", opts, req, old=current, decode_prefix=False, subresource=subresource)
    admit(cluster, req, rtype, "UPDATE", ns, name, new, current, version, opts.dry_run, subresource)
    if not meta.get("resourceVersion"):  # an applied resourceVersion is a precondition; none: no conflict
        new.setdefault("metadata", {})["resourceVersion"] = current["metadata"]["resourceVersion"]
    result = cluster.service.update(rtype.gr, new, subresource=subresource, dry_run=opts.dry_run)
    return Response(200, served(result, rtype, version))


# -- delete ----------------------------------------------------------------------------------------
@dataclass
class DeleteOptions:
    propagation: Optional[str]
    orphan_dependents: Optional[bool]
    preconditions: dict
    dry_run: bool
    grace_period: Optional[int]


def delete_options(req: Request) -> DeleteOptions:
    body = req.json_body()
    if body is not None and not isinstance(body, dict):
        raise errors.bad_request("decoded object cannot be converted to DeleteOptions")
    body = body or {}
    if body.get("kind") not in (None, "DeleteOptions"):
        raise errors.bad_request("decoded object cannot be converted to DeleteOptions")
    propagation = req.param("propagationPolicy") or body.get("propagationPolicy")
    orphan_raw = req.param("orphanDependents")
    orphan = body.get("orphanDependents") if orphan_raw is None else orphan_raw.lower() in ("true", "1")
    dry = req.query.get("dryRun") or body.get("dryRun") or []
    grace_raw = req.param("gracePeriodSeconds")
    grace = body.get("gracePeriodSeconds") if grace_raw is None else int(grace_raw) if grace_raw.lstrip(
        "-").isdigit() else None
    causes = []
    if propagation is not None and propagation not in _PROPAGATION:
        causes.append({"reason": "FieldValueNotSupported", "field": "propagationPolicy",
                       "message": f'Unsupported value: "{propagation}": supported values: "Foreground", '
                                  '"Background", "Orphan", "nil"'})
    if propagation is not None and orphan is not None:
        causes.append({"reason": "FieldValueInvalid", "field": "propagationPolicy",
                       "message": f'Invalid value: "{propagation}": orphanDependents and deletionPropagation '
                                  'cannot be both set'})
    if any(v != "All" for v in dry):
        causes.append({"reason": "FieldValueNotSupported", "field": "dryRun",
                       "message": "Unsupported value: []string{" + ", ".join(f'"{v}"' for v in dry) +
                                  '}: supported values: "All"'})
    if causes:
        raise _options_error("DeleteOptions", causes)
    if propagation is None and orphan is not None:
        propagation = "Orphan" if orphan else "Background"
    req.dry_run = bool(dry)
    return DeleteOptions(propagation, orphan, body.get("preconditions") or {}, bool(dry), grace)


def _success_status(rtype: ResourceType, obj: dict) -> dict:
    details = {"name": obj["metadata"]["name"], "kind": rtype.plural, "uid": obj["metadata"].get("uid")}
    if rtype.group:
        details = {"name": details["name"], "group": rtype.group, "kind": rtype.plural,
                   "uid": details["uid"]}
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


def delete(cluster: "Cluster", req: Request, rtype: ResourceType, version: str, namespace: Optional[str],
           name: str, opts: Optional[DeleteOptions] = None) -> Response:
    opts = opts or delete_options(req)
    ns = namespace if rtype.namespaced else None
    current = cluster.store.get(rtype.gr, ns, name)
    if current is None:
        raise errors.not_found(rtype.group, rtype.plural, name)
    admit(cluster, req, rtype, "DELETE", ns, name, None, current, version, opts.dry_run)
    obj, gone = cluster.service.delete(rtype.gr, ns, name, propagation=opts.propagation, dry_run=opts.dry_run,
                                       preconditions=opts.preconditions)
    status = 202 if not gone and opts.orphan_dependents is False else 200
    if gone and not rtype.custom and rtype.gr not in _RETURNS_DELETED:
        return Response(status, _success_status(rtype, obj))
    return Response(status, served(obj, rtype, version))


def delete_collection(cluster: "Cluster", req: Request, rtype: ResourceType, version: str,
                      namespace: Optional[str]) -> Response:
    from .rest import selection, validate_list_options
    validate_list_options(req, watch=False)
    opts = delete_options(req)
    select = selection(req, rtype)
    items, rv = cluster.store.list(rtype.gr, namespace if rtype.namespaced else None)
    deleted = []
    for obj in items:
        if not select(obj):
            continue
        meta = obj["metadata"]
        try:
            response = delete(cluster, req, rtype, version, meta.get("namespace"), meta["name"], opts)
        except errors.ApiError as exc:
            if exc.code == 404:
                continue
            raise
        if isinstance(response.body, dict) and response.body.get("kind") != "Status":
            deleted.append(response.body)
        else:
            deleted.append(served(obj, rtype, version))
    return Response(200, {"kind": rtype.list_kind, "apiVersion": rtype.api_version(version),
                          "metadata": {"resourceVersion": str(cluster.store.resource_version)}, "items": deleted})
