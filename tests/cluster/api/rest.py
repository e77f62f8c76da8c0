"""REST reads (get, list) and what every verb shares: served versions, content negotiation, options.

Stored objects are served without copying when the requested version is the stored one; lists
serialize only the requested page. Built-in types' list items carry no apiVersion/kind (typed Go
lists omit them), custom resources' items do, as on a real cluster. ``Accept`` may ask for a
``meta.k8s.io`` Table (kubectl get) or PartialObjectMetadata; plain JSON otherwise.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Optional

from . import errors, pagination, table
from .request import Request, Response
from .resources import ResourceType
from .selectors import Selection, exact_name

if TYPE_CHECKING:  # pragma: no cover
    from ..cluster import Cluster

log = logging.getLogger("cluster.api")

def not_found_path() -> errors.ApiError:
    return errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})


def served(obj: dict, rtype: ResourceType, version: str) -> dict:
    """``obj`` as served in ``version`` (a shallow copy only when apiVersion differs)."""
    api_version = rtype.api_version(version)
    if obj.get("apiVersion") == api_version:
        return obj
    out = dict(obj)
    out["apiVersion"] = api_version
    return out


def list_item(obj: dict, rtype: ResourceType, version: str) -> dict:
    if rtype.custom:
        return served(obj, rtype, version)
    return {k: v for k, v in obj.items() if k != "apiVersion" and k != "kind"}


# -- content negotiation -----------------------------------------------------------------------
def negotiate(accept: str) -> str:
    """"table", "partial" (PartialObjectMetadata) or "json"; 406 when nothing acceptable."""
    if not accept:
        return "json"
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        params = dict(p.split("=", 1) for p in pieces[1:] if "=" in p)
        as_kind = params.get("as")
        if as_kind:
            if params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
                if as_kind == "Table":
                    return "table"
                if as_kind in ("PartialObjectMetadata", "PartialObjectMetadataList"):
                    return "partial"
            continue
        if media in ("application/json", "*/*", "application/*", "application/json-patch+json",
                     "application/merge-patch+json", "application/strategic-merge-patch+json"):
            return "json"
    raise errors.ApiError(406, "NotAcceptable", "only the following media types are accepted: "
                          "application/json, application/yaml, application/vnd.kubernetes.protobuf", {})


def to_table(cluster: "Cluster", rtype: ResourceType, objects: list[dict], req: Request) -> Optional[dict]:
    include = req.param("includeObject") or "Metadata"
    if include not in ("None", "Metadata", "Object"):
        raise errors.invalid("TableOptions", "meta.k8s.io", "", [{
            "reason": "FieldValueInvalid", "field": "includeObject",
            "message": f"Invalid value: \"{include}\": must be 'Metadata', 'Object', 'None', or empty"}])
    return table.to_table(rtype, objects, include_object=include, wide=True)


def partial(obj: dict) -> dict:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


# -- list options --------------------------------------------------------------------------------
def list_options_error(causes: list[dict]) -> errors.ApiError:
    return errors.invalid("ListOptions", "meta.k8s.io", "", causes)


def validate_list_options(req: Request, watch: bool) -> None:
    match = req.param("resourceVersionMatch")
    rv = req.param("resourceVersion")
    cont = req.param("continue")
    send_initial = req.param("sendInitialEvents")
    causes: list[dict] = []

    def forbid(field: str, message: str) -> None:
        causes.append({"reason": "FieldValueForbidden", "field": field, "message": f"Forbidden: {message}"})

    if watch:
        if send_initial is not None and match != "NotOlderThan":
            forbid("resourceVersionMatch", "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
        if match:
            if send_initial is None:
                forbid("resourceVersionMatch", "resourceVersionMatch is forbidden for watch unless sendInitialEvents "
                       "is provided")
            if match != "NotOlderThan":
                causes.append({"reason": "FieldValueNotSupported", "field": "resourceVersionMatch",
                               "message": f'Unsupported value: "{match}": supported values: "NotOlderThan"'})
            if cont:
                forbid("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided")
    else:
        if match:
            if not rv:
                forbid("resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided")
            if cont:
                forbid("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided")
            if match not in ("Exact", "NotOlderThan"):
                causes.append({"reason": "FieldValueNotSupported", "field": "resourceVersionMatch",
                               "message": f'Unsupported value: "{match}": supported values: "Exact", '
                                          '"NotOlderThan", ""'})
            if match == "Exact" and rv == "0":
                forbid("resourceVersionMatch", 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"')
        if send_initial is not None:
            forbid("sendInitialEvents", "sendInitialEvents is forbidden for list")
    if causes:
        raise list_options_error(causes)


def int_param(req: Request, name: str) -> Optional[int]:
    value = req.param(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise errors.bad_request(f'strconv.ParseInt: parsing "{value}": invalid syntax') from None


def selection(req: Request, rtype: ResourceType) -> Selection:
    return Selection.from_query(req.param("labelSelector"), req.param("fieldSelector"), rtype.gr, rtype.custom)


# -- verbs ---------------------------------------------------------------------------------------
def get(cluster: "Cluster", req: Request, rtype: ResourceType, version: str, namespace: Optional[str],
        name: str) -> Response:
    obj = cluster.store.get(rtype.gr, namespace if rtype.namespaced else None, name)
    if obj is None:
        raise errors.not_found(rtype.group, rtype.plural, name)
    mode = negotiate(req.accept)
    if mode == "table":
        table = to_table(cluster, rtype, [obj], req)
        if table is not None:
            return Response(200, table)
    elif mode == "partial":
        return Response(200, partial(obj))
    return Response(200, served(obj, rtype, version))


def list_objects(cluster: "Cluster", req: Request, rtype: ResourceType, version: str,
                 namespace: Optional[str]) -> Response:
    validate_list_options(req, watch=False)
    select = selection(req, rtype)
    limit = int_param(req, "limit") or 0
    page = pagination.list_page(
        cluster.store, cluster.lists, rtype.gr, namespace if rtype.namespaced else None, rtype.namespaced,
        match=select, selective=not select.empty, limit=max(limit, 0), continue_token=req.param("continue"),
        resource_version=req.param("resourceVersion"), rv_match=req.param("resourceVersionMatch"),
        oldest=cluster.oldest_rv(), name=exact_name(select.fields))
    return list_response(cluster, req, rtype, version, page)


def list_meta(page: pagination.Page) -> dict:
    meta: dict[str, Any] = {"resourceVersion": str(page.resource_version)}
    if page.continue_token:
        meta["continue"] = page.continue_token
    if page.remaining is not None:
        meta["remainingItemCount"] = page.remaining
    return meta


def list_response(cluster: "Cluster", req: Request, rtype: ResourceType, version: str,
                  page: pagination.Page) -> Response:
    mode = negotiate(req.accept)
    if mode == "table":
        table = to_table(cluster, rtype, page.items, req)
        if table is not None:
            table["metadata"] = list_meta(page)
            return Response(200, table)
    elif mode == "partial":
        return Response(200, {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                              "metadata": list_meta(page), "items": [partial(o) for o in page.items]})
    return Response(200, {
        "kind": rtype.list_kind,
        "apiVersion": rtype.api_version(version),
        "metadata": list_meta(page),
        "items": [list_item(obj, rtype, version) for obj in page.items],
    })


def empty_list(rtype: ResourceType, version: str, rv: int) -> Response:
    return Response(200, {"kind": rtype.list_kind, "apiVersion": rtype.api_version(version),
                          "metadata": {"resourceVersion": str(rv)}, "items": []})
