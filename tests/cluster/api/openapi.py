"""/openapi/v3 index and per group-version documents, in kube-apiserver's shape.

kubectl ``apply`` (default ``--validate=strict``) reads ``/openapi/v3``, then the document of the
object's group-version (or ``api/v1`` for the Namespace probe) and looks for a PATCH operation
whose ``x-kubernetes-group-version-kind`` is the object's with a ``fieldValidation`` query
parameter; when found it leaves validation to the server (``fieldValidation=Strict``). The
documents also carry the object schemas (``kubectl explain``). ``/openapi/v2`` is not served
(kubectl tolerates its 404), as ``v2_document`` returning None says.
"""
from __future__ import annotations

import copy
import hashlib
import json
from typing import Any, Optional

from . import schemas
from .resources import Registry, ResourceType

OBJECT_META_REF = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_K8S_VERSION = "v1.33.0"
_CACHE: dict[tuple[int, str, str], dict[str, Any]] = {}

# Go package paths of the built-in groups, as component names use them.
_BUILTIN_PREFIX = {"": "io.k8s.api.core", "storage.k8s.io": "io.k8s.api.storage", "events.k8s.io": "io.k8s.api.events",
                   "policy": "io.k8s.api.policy",
                   "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
                   "project.openshift.io": "com.github.openshift.api.project",
                   "route.openshift.io": "com.github.openshift.api.route"}

_PARAM_DOCS = {
    "dryRun": "When present, indicates that modifications should not be persisted. An invalid or unrecognized "
              "dryRun directive will result in an error response and no further processing of the request. "
              "Valid values are: - All: all dry run stages will be processed",
    "fieldManager": "fieldManager is a name associated with the actor or entity that is making these changes.",
    "fieldValidation": "fieldValidation instructs the server on how to handle objects in the request "
                       "(POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn "
                       "(default) - Strict",
    "force": "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned "
             "by other people. Force flag must be unset for non-apply patch requests.",
    "pretty": "If 'true', then the output is pretty printed.",
}
_LIST_PARAMS = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit", "resourceVersion",
                "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds", "watch")
_BOOL_PARAMS = {"allowWatchBookmarks", "force", "sendInitialEvents", "watch"}
_INT_PARAMS = {"limit", "timeoutSeconds", "gracePeriodSeconds"}


def component_name(rtype: ResourceType, version: Optional[str] = None, kind: Optional[str] = None) -> str:
    version = version or rtype.version
    prefix = _BUILTIN_PREFIX.get(rtype.group)
    if prefix is None:
        prefix = ".".join(reversed(rtype.group.split(".")))
    return f"{prefix}.{version}.{kind or rtype.kind}"


def _param(name: str, where: str = "query", required: bool = False) -> dict[str, Any]:
    kind = "boolean" if name in _BOOL_PARAMS else "integer" if name in _INT_PARAMS else "string"
    param: dict[str, Any] = {"name": name, "in": where, "description": _PARAM_DOCS.get(name, name),
                             "schema": {"type": kind, "uniqueItems": True}}
    if required:
        param["required"] = True
    return param


def _op_id(verb: str, rtype: ResourceType, version: str, suffix: str = "") -> str:
    group = "Core" if not rtype.group else "".join(
        part[:1].upper() + part[1:] for part in rtype.group.replace("-", ".").split("."))
    scope = "Namespaced" if rtype.namespaced and verb != "listForAllNamespaces" else ""
    if verb == "listForAllNamespaces":
        return f"list{group}{version.capitalize()}{rtype.kind}ForAllNamespaces"
    return f"{verb}{group}{version.capitalize()}{scope}{rtype.kind}{suffix}"


def _responses(ref: str, codes: tuple[str, ...] = ("200",)) -> dict[str, Any]:
    names = {"200": "OK", "201": "Created", "202": "Accepted"}
    body = {"schema": {"$ref": ref}}
    return {code: {"description": names[code], "content": {"application/json": body, "application/yaml": body}}
            for code in codes} | {"401": {"description": "Unauthorized"}}


def _operation(verb: str, action: str, rtype: ResourceType, version: str, ref: str, params: list[str],
               codes: tuple[str, ...] = ("200",), body: Optional[dict] = None, suffix: str = "") -> dict[str, Any]:
    tag = ("core" if not rtype.group else rtype.group.replace(".", "_")) + f"_{version}"
    op: dict[str, Any] = {
        "tags": [tag], "description": f"{action} {rtype.kind}", "operationId": _op_id(verb, rtype, version, suffix),
        "parameters": [_param(p) for p in params], "responses": _responses(ref, codes),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": rtype.group, "version": version, "kind": rtype.kind},
    }
    if body is not None:
        op["requestBody"] = body
    return op


def _paths(rtype: ResourceType, version: str) -> dict[str, Any]:
    base = f"/api/{version}" if not rtype.group else f"/apis/{rtype.group}/{version}"
    ref = "#/components/schemas/" + component_name(rtype, version)
    list_ref = "#/components/schemas/" + component_name(rtype, version, rtype.list_kind)
    status_ref = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Status"
    patch_body = {"content": {t: {"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}}
                              for t in ("application/apply-patch+yaml", "application/json-patch+json",
                                        "application/merge-patch+json", "application/strategic-merge-patch+json")}}
    if rtype.custom:
        del patch_body["content"]["application/strategic-merge-patch+json"]
    obj_body = {"content": {"application/json": {"schema": {"$ref": ref}}, "application/yaml": {"schema": {"$ref": ref}}},
                "required": True}
    write = ["dryRun", "fieldManager", "fieldValidation"]
    scope = f"{base}/namespaces/{{namespace}}/{rtype.plural}" if rtype.namespaced else f"{base}/{rtype.plural}"
    scope_params = ([_param("namespace", "path", True)] if rtype.namespaced else []) + [_param("pretty")]
    item_params = [_param("name", "path", True)] + scope_params
    paths: dict[str, Any] = {
        scope: {"get": _operation("list", "list", rtype, version, list_ref, list(_LIST_PARAMS)),
                "post": _operation("create", "post", rtype, version, ref, write, ("200", "201", "202"), obj_body),
                "delete": _operation("deleteCollection", "deletecollection", rtype, version, status_ref,
                                     ["dryRun", "gracePeriodSeconds", "propagationPolicy"] + list(_LIST_PARAMS[:-1])),
                "parameters": scope_params},
        f"{scope}/{{name}}": {
            "get": _operation("read", "get", rtype, version, ref, []),
            "put": _operation("replace", "put", rtype, version, ref, write, ("200", "201"), obj_body),
            "delete": _operation("delete", "delete", rtype, version, status_ref,
                                 ["dryRun", "gracePeriodSeconds", "propagationPolicy"], ("200", "202")),
            "patch": _operation("patch", "patch", rtype, version, ref, write + ["force"], ("200", "201"), patch_body),
            "parameters": item_params},
    }
    if rtype.namespaced:
        paths[f"{base}/{rtype.plural}"] = {
            "get": _operation("listForAllNamespaces", "list", rtype, version, list_ref, list(_LIST_PARAMS)),
            "parameters": [_param("pretty")]}
    if rtype.has_status:
        paths[f"{scope}/{{name}}/status"] = {
            "get": _operation("read", "get", rtype, version, ref, [], suffix="Status"),
            "put": _operation("replace", "put", rtype, version, ref, write, ("200", "201"), obj_body, "Status"),
            "patch": _operation("patch", "patch", rtype, version, ref, write + ["force"], ("200", "201"), patch_body,
                                "Status"),
            "parameters": item_params}
    return paths


def _public(schema: Any) -> Any:
    """The schema as served: private markers removed."""
    if isinstance(schema, dict):
        return {k: _public(v) for k, v in schema.items() if not k.startswith("x-cluster-")}
    if isinstance(schema, list):
        return [_public(v) for v in schema]
    return schema


def _object_component(rtype: ResourceType, version: str) -> dict[str, Any]:
    schema = _public(schemas.schema_for(rtype, version))
    props = dict(schema.get("properties") or {})
    props["metadata"] = {"description": "Standard object's metadata.", "default": {},
                         "allOf": [{"$ref": OBJECT_META_REF}]}
    schema["properties"] = props
    schema["x-kubernetes-group-version-kind"] = [{"group": rtype.group, "kind": rtype.kind, "version": version}]
    return schema


def _list_component(rtype: ResourceType, version: str) -> dict[str, Any]:
    return {"description": f"{rtype.list_kind} is a list of {rtype.kind}", "type": "object", "required": ["items"],
            "properties": {
                "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/" + component_name(rtype, version)}},
                "metadata": {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"}],
                             "default": {}}},
            "x-kubernetes-group-version-kind": [{"group": rtype.group, "kind": rtype.list_kind, "version": version}]}


_COMMON = {
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": _public(schemas.OBJECT_META),
    "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta": {"type": "object", "properties": {
        "continue": {"type": "string"}, "remainingItemCount": {"type": "integer", "format": "int64"},
        "resourceVersion": {"type": "string"}, "selfLink": {"type": "string"}}},
    "io.k8s.apimachinery.pkg.apis.meta.v1.Patch": {
        "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
        "type": "object"},
    "io.k8s.apimachinery.pkg.apis.meta.v1.Status": {"type": "object", "properties": {
        "apiVersion": {"type": "string"}, "code": {"type": "integer", "format": "int32"},
        "details": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "kind": {"type": "string"}, "message": {"type": "string"},
        "metadata": {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"}]},
        "reason": {"type": "string"}, "status": {"type": "string"}},
        "x-kubernetes-group-version-kind": [{"group": "", "kind": "Status", "version": "v1"}]},
}


def _group_versions(registry: Registry) -> dict[str, list[tuple[ResourceType, str]]]:
    out: dict[str, list[tuple[ResourceType, str]]] = {}
    for rtype in registry.types():
        for version in rtype.served_versions or (rtype.version,):
            key = f"api/{version}" if not rtype.group else f"apis/{rtype.group}/{version}"
            out.setdefault(key, []).append((rtype, version))
    return out


def _hash(members: list[tuple[ResourceType, str]]) -> str:
    text = json.dumps(sorted((t.group, v, t.kind, t.plural, t.namespaced, sorted(t.subresources))
                             for t, v in members))
    return hashlib.sha512((_K8S_VERSION + text).encode()).hexdigest().upper()


def v3_index(registry: Registry) -> dict[str, Any]:
    """``GET /openapi/v3``."""
    paths = {key: {"serverRelativeURL": f"/openapi/v3/{key}?hash={_hash(members)}"}
             for key, members in sorted(_group_versions(registry).items())}
    return {"paths": paths}


def v3_document(registry: Registry, path: str) -> Optional[dict[str, Any]]:
    """``GET /openapi/v3/{path}`` for ``api/v1`` or ``apis/{group}/{version}``; None when unknown."""
    path = path.strip("/")
    members = _group_versions(registry).get(path)
    if not members:
        return None
    key = (id(registry), path, _hash(members))
    cached = _CACHE.get(key)
    if cached is None:
        components = copy.deepcopy(_COMMON)
        doc_paths: dict[str, Any] = {}
        for rtype, version in sorted(members, key=lambda m: m[0].plural):
            components[component_name(rtype, version)] = _object_component(rtype, version)
            components[component_name(rtype, version, rtype.list_kind)] = _list_component(rtype, version)
            doc_paths.update(_paths(rtype, version))
        cached = {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": _K8S_VERSION},
                  "paths": dict(sorted(doc_paths.items())),
                  "components": {"schemas": dict(sorted(components.items())),
                                 "securitySchemes": {"BearerToken": {
                                     "type": "apiKey", "description": "Bearer Token authentication",
                                     "name": "authorization", "in": "header"}}}}
        _CACHE[key] = cached
    return cached


def v2_document(registry: Registry) -> Optional[dict[str, Any]]:
    """``GET /openapi/v2``: not served (404), as kubectl only needs v3 from a v1.27+ server."""
    return None
