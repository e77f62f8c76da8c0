"""Resources computed from others rather than stored: CustomResourceDefinitions and Projects.

- ``apiextensions.k8s.io/v1 customresourcedefinitions``: one CRD per served custom type, built
  from the registry (names, scope, versions with their openAPIV3Schema, subresources, printer
  columns, deprecation), read-only (kubectl apply reads them when a group is absent from
  /openapi/v3).
- ``project.openshift.io/v1 projects``: OpenShift's view of namespaces. Listing shows only the
  namespaces the user may use (the restricted user sees its own, no 403, as the projects API does);
  create/delete/patch act on the namespace.
"""
from __future__ import annotations

import copy
import uuid
from typing import TYPE_CHECKING, Optional

from . import errors, schemas
from . import patch as patch_mod
from .request import Request, Response, encode
from .resources import ResourceType
from .rest import negotiate, selection, to_table

if TYPE_CHECKING:  # pragma: no cover
    from ..cluster import Cluster

CRD_GR = ("apiextensions.k8s.io", "customresourcedefinitions")
PROJECT_GR = ("project.openshift.io", "projects")
NAMESPACES = ("", "namespaces")
_CREATED = "2026-01-01T00:00:00Z"


# -- CustomResourceDefinitions -------------------------------------------------------------------
def crd_for(rtype: ResourceType, rv: str) -> dict:
    name = f"{rtype.plural}.{rtype.group}"
    versions = []
    for version in rtype.served_versions or (rtype.version,):
        entry: dict = {"name": version, "served": True, "storage": version == rtype.version}
        if version in rtype.deprecated_versions:
            entry["deprecated"] = True
            entry["deprecationWarning"] = rtype.deprecated_versions[version]
        schema = schemas.schema_for(rtype, version)
        entry["schema"] = {"openAPIV3Schema": schema or {"type": "object",
                                                         "x-kubernetes-preserve-unknown-fields": True}}
        subresources: dict = {}
        if "status" in rtype.subresources:
            subresources["status"] = {}
        if "scale" in rtype.subresources:
            subresources["scale"] = {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
                                     "labelSelectorPath": ".status.labelSelector"}
        if subresources:
            entry["subresources"] = subresources
        if rtype.printer_columns:
            entry["additionalPrinterColumns"] = [dict(c) for c in rtype.printer_columns]
        versions.append(entry)
    names: dict = {"plural": rtype.plural, "singular": rtype.singular or rtype.kind.lower(), "kind": rtype.kind,
                   "listKind": rtype.list_kind}
    if rtype.short_names:
        names["shortNames"] = list(rtype.short_names)
    if rtype.categories:
        names["categories"] = list(rtype.categories)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name, "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"crd:{name}")),
                     "resourceVersion": rv, "generation": 1, "creationTimestamp": _CREATED},
        "spec": {"group": rtype.group, "names": names,
                 "scope": "Namespaced" if rtype.namespaced else "Cluster",
                 "versions": versions, "conversion": {"strategy": "None"}},
        "status": {
            "acceptedNames": names,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "lastTransitionTime": _CREATED,
                 "reason": "NoConflicts", "message": "no conflicts found"},
                {"type": "Established", "status": "True", "lastTransitionTime": _CREATED,
                 "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
            ],
            "storedVersions": [rtype.version],
        },
    }


class CustomResourceDefinitions:
    def __init__(self, cluster: "Cluster") -> None:
        self.cluster = cluster
        self._objects: Optional[list[dict]] = None
        self._list_bytes: Optional[bytes] = None

    def objects(self) -> list[dict]:
        if self._objects is None:
            types = [t for t in self.cluster.registry.types() if t.custom]
            self._objects = sorted((crd_for(t, "1") for t in types), key=lambda o: o["metadata"]["name"])
        return self._objects

    def handle(self, req: Request, rtype: ResourceType, version: str) -> Response:
        info = req.info
        if req.verb == "get" and not info.subresource:
            for obj in self.objects():
                if obj["metadata"]["name"] == info.name:
                    return Response(200, obj)
            raise errors.not_found(rtype.group, rtype.plural, info.name)
        if req.verb == "list":
            select = selection(req, rtype)
            items = [o for o in self.objects() if select(o)]
            mode = negotiate(req.accept)
            if mode == "table":
                table = to_table(self.cluster, rtype, items, req)
                if table is not None:
                    table["metadata"] = {"resourceVersion": "1"}
                    return Response(200, table)
            if select.empty and mode == "json":
                if self._list_bytes is None:
                    self._list_bytes = encode({"kind": "CustomResourceDefinitionList",
                                               "apiVersion": "apiextensions.k8s.io/v1",
                                               "metadata": {"resourceVersion": "1"}, "items": items})
                return Response(200, self._list_bytes)
            return Response(200, {"kind": "CustomResourceDefinitionList", "apiVersion": "apiextensions.k8s.io/v1",
                                  "metadata": {"resourceVersion": "1"}, "items": items})
        raise errors.method_not_allowed(
            f"customresourcedefinitions are read-only on this cluster (the served types are fixed): "
            f"{req.verb} is not supported")


# -- Projects -----------------------------------------------------------------------------------
def project_of(namespace: dict) -> dict:
    meta = {k: v for k, v in namespace["metadata"].items() if k != "managedFields"}
    return {"kind": "Project", "apiVersion": "project.openshift.io/v1", "metadata": meta,
            "spec": {"finalizers": list((namespace.get("spec") or {}).get("finalizers") or [])},
            "status": {"phase": (namespace.get("status") or {}).get("phase", "Active")}}


class Projects:
    def __init__(self, cluster: "Cluster") -> None:
        self.cluster = cluster

    def _visible(self, req: Request, name: str) -> bool:
        allowed = self.cluster.auth.visible_namespaces(req.user)
        return allowed is None or name in allowed

    def _namespace(self, req: Request, name: str) -> dict:
        ns = self.cluster.store.get(NAMESPACES, None, name)
        if ns is None:
            raise errors.not_found("project.openshift.io", "projects", name)
        return ns

    def handle(self, req: Request, rtype: ResourceType, version: str,
               drop_after: Optional[float]) -> Optional[Response]:
        from . import writes
        info = req.info
        verb = req.verb
        if info.subresource:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
        if verb == "get":
            return Response(200, project_of(self._namespace(req, info.name)))
        if verb == "list":
            select = selection(req, rtype)
            items, rv = self.cluster.store.list(NAMESPACES)
            projects = [project_of(ns) for ns in items if self._visible(req, ns["metadata"]["name"])]
            projects = [p for p in projects if select(p)]
            if negotiate(req.accept) == "table":
                table = to_table(self.cluster, rtype, projects, req)
                if table is not None:
                    table["metadata"] = {"resourceVersion": str(rv)}
                    return Response(200, table)
            return Response(200, {"kind": "ProjectList", "apiVersion": "project.openshift.io/v1",
                                  "metadata": {"resourceVersion": str(rv)}, "items": projects})
        if verb == "watch":
            from .watch import WatchStream

            def convert(ns: dict) -> Optional[dict]:
                return project_of(ns) if self._visible(req, ns["metadata"]["name"]) else None
            WatchStream(self.cluster, req, rtype, version, None, drop_after=drop_after, convert=convert,
                        source_gr=NAMESPACES).serve()
            return None
        ns_type = self.cluster.registry.get(NAMESPACES)
        if verb == "create":
            opts = writes.write_options(req, "CreateOptions")
            body = req.json_body()
            if not isinstance(body, dict) or not (body.get("metadata") or {}).get("name"):
                raise errors.invalid("Project", "project.openshift.io", "", [{
                    "reason": "FieldValueRequired", "field": "metadata.name",
                    "message": "Required value: name or generateName is required"}])
            name = body["metadata"]["name"]
            writes.validate_name(rtype, name)
            meta = {k: copy.deepcopy(v) for k, v in body["metadata"].items() if k in ("name", "labels", "annotations")}
            namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}
            writes.admit(self.cluster, req, ns_type, "CREATE", None, name, namespace, None, "v1", opts.dry_run)
            writes.track(ns_type, None, namespace, opts)
            if self.cluster.store.get(NAMESPACES, None, name) is not None:
                raise errors.already_exists("project.openshift.io", "projects", name)
            created = self.cluster.service.create(NAMESPACES, namespace, dry_run=opts.dry_run)
            return Response(201, project_of(created))
        if verb == "delete":
            opts = writes.delete_options(req)
            self._namespace(req, info.name)
            writes.delete(self.cluster, req, ns_type, "v1", None, info.name, opts)
            return Response(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
        if verb in ("update", "patch"):
            return self._modify(req, rtype, info.name)
        raise errors.method_not_allowed()

    def _modify(self, req: Request, rtype: ResourceType, name: str) -> Response:
        """Projects accept label/annotation changes, stored on their namespace."""
        from . import writes
        kind = "PatchOptions" if req.verb == "patch" else "UpdateOptions"
        opts = writes.write_options(req, kind)
        current = self._namespace(req, name)
        project = project_of(current)
        body = req.json_body()
        if req.verb == "update":
            new_project = body if isinstance(body, dict) else {}
        else:
            if req.content_type == "application/json-patch+json":
                new_project = patch_mod.json_patch(copy.deepcopy(project), body)
            elif req.content_type == "application/merge-patch+json":
                new_project = patch_mod.merge_patch(copy.deepcopy(project), body)
            elif req.content_type == "application/strategic-merge-patch+json":
                new_project = patch_mod.strategic_merge_patch(copy.deepcopy(project), body, rtype)
            else:
                raise errors.ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown "
                                      "format - accepted media types include: application/json-patch+json, "
                                      "application/merge-patch+json, application/strategic-merge-patch+json", {})
        new_meta = (new_project or {}).get("metadata") or {}
        namespace = copy.deepcopy(current)
        for key in ("labels", "annotations"):
            if new_meta.get(key):
                namespace["metadata"][key] = copy.deepcopy(new_meta[key])
            else:
                namespace["metadata"].pop(key, None)
        namespace["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        ns_type = self.cluster.registry.get(NAMESPACES)
        writes.admit(self.cluster, req, ns_type, "UPDATE", None, name, namespace, current, "v1", opts.dry_run)
        writes.track(ns_type, current, namespace, opts)
        result = self.cluster.service.update(NAMESPACES, namespace, dry_run=opts.dry_run, check_rv=False)
        return Response(200, project_of(result))
