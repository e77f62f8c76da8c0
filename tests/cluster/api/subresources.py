"""Subresources beyond status: ``pods/eviction`` and the controllers' custom ones.

Eviction (``POST .../pods/NAME/eviction``, policy/v1 Eviction) runs admission on
``("", "pods")`` with subresource ``eviction`` first, so KubeVirt's admission can answer 429 for a
live-migratable VMI's launcher pod, then checks the pod's PodDisruptionBudget (``disruption.py``: 429
with the DisruptionBudget cause), then deletes the pod and answers 201 with a Success Status.
Custom subresources (``subresources.kubevirt.io`` start/stop/migrate/..., or any handler a
controller registers) are dispatched to ``registry.find_subresource``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from . import disruption, errors
from .request import Request, Response
from .resources import AdmissionRequest, SubresourceCall
from .rest import not_found_path

if TYPE_CHECKING:  # pragma: no cover
    from ..cluster import Cluster

SUBRESOURCE_GROUP = "subresources.kubevirt.io"
VIRT_API_VERSION = {
    "gitVersion": "v1.7.0", "gitCommit": "7b9d4e3f1c2a", "gitTreeState": "clean",
    "buildDate": "2026-01-15T10:00:00Z", "goVersion": "go1.24.9", "compiler": "gc", "platform": "linux/amd64",
}


def evict(cluster: "Cluster", req: Request, namespace: str, name: str) -> Response:
    from . import writes
    body = req.json_body()
    if not isinstance(body, dict):
        raise errors.bad_request("the object provided is unrecognized (must be of type Eviction): couldn't get "
                                 "version/kind; json parse error")
    body_name = (body.get("metadata") or {}).get("name")
    if body_name and body_name != name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    delete_opts = body.get("deleteOptions") or {}
    dry = list(req.query.get("dryRun", [])) or list(delete_opts.get("dryRun") or [])
    opts = writes.write_options(req, "CreateOptions", dry)
    evict_pod(cluster.registry, cluster.store, cluster.service, namespace, name, body, req.user or "", opts.dry_run)
    return Response(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})


def evict_pod(registry, store, service, namespace: str, name: str, body: dict, user: str, dry_run: bool) -> None:
    """The eviction REST after decoding: admission (KubeVirt's 429), the pod's budget, the deletion.
    Controllers that evict (the Node Maintenance Operator's drain) call it as their client would."""
    delete_opts = body.get("deleteOptions") or {}
    pod = store.get(("", "pods"), namespace, name)
    if pod is None:
        raise errors.not_found("", "pods", name)
    registry.admit(AdmissionRequest(operation="CREATE", gr=("", "pods"), namespace=namespace, name=name,
                                    user=user, dry_run=dry_run, subresource="eviction", version="v1"), body, pod)
    if pod["metadata"].get("deletionTimestamp") is None:
        disruption.check_eviction(store, namespace, pod)
        service.delete(("", "pods"), namespace, name, propagation=delete_opts.get("propagationPolicy"),
                       dry_run=dry_run, preconditions=delete_opts.get("preconditions") or None)


def custom(cluster: "Cluster", req: Request, group: str, version: str, plural: str, namespace: Optional[str],
           name: str, subresource: str) -> Response:
    registry = cluster.registry
    handler = registry.find_subresource(group, plural, subresource)
    target_group = group
    if group == SUBRESOURCE_GROUP:
        target_group = "kubevirt.io"
        handler = handler or registry.find_subresource(target_group, plural, subresource)
    if handler is None:
        raise not_found_path()
    body = None
    raw = req.body()
    if raw.strip():
        try:
            body = req.json_body()
        except errors.ApiError:
            body = raw
    dry = req.query.get("dryRun", [])
    if isinstance(body, dict) and isinstance(body.get("dryRun"), list):
        dry = dry or body["dryRun"]
    req.dry_run = "All" in dry
    call = SubresourceCall(method=req.method, gr=(target_group, plural), version=version, namespace=namespace,
                           name=name, subresource=subresource, body=body, query=req.query, user=req.user or "",
                           dry_run=req.dry_run)
    status, out = handler(call)
    if isinstance(out, (bytes, bytearray)):
        return Response(status, bytes(out), content_type="application/octet-stream")
    if isinstance(out, str):
        return Response(status, out.encode(), content_type="text/plain; charset=utf-8")
    return Response(status, out)


def virt_api_info(req: Request, resource: str) -> Optional[Response]:
    """virt-api's own non-namespaced endpoints under subresources.kubevirt.io/{v}."""
    if req.method != "GET":
        return None
    if resource == "version":
        return Response(200, VIRT_API_VERSION)
    if resource == "healthz":
        return Response(200, {"apiserver": {"connectivity": "ok", "version": VIRT_API_VERSION["gitVersion"]}})
    return None
