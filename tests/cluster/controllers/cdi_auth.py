"""CDI's clone authorisation (datavolume-mutate.cdi.kubevirt.io, AuthorizeUser in authorize_utils.go).

A DataVolume cloning a PVC or a VolumeSnapshot (directly or through a ``sourceRef`` DataSource)
is admitted only when the requesting user may ``create`` ``datavolumes/source``
(cdi.kubevirt.io) — or ``pods`` — in the source namespace; CDI asks with SubjectAccessReviews.
Here the answer comes from the two users' RBAC (api/auth.py): ``admin`` may, ``restricted`` may in
its namespaces only. A denial is the webhook's rejection naming ``spec.source.PVC.namespace``.
"""
from __future__ import annotations

from typing import Optional

from ..api import errors
from ..api.resources import AdmissionRequest
from ..api.store import Store
from .keys import DATASOURCE

WEBHOOK = "datavolume-mutate.cdi.kubevirt.io"


def clone_source_namespace(store: Store, dv: dict, namespace: str) -> Optional[str]:
    """The namespace a DataVolume clones from, None when it clones nothing."""
    spec = dv.get("spec") or {}
    source = spec.get("source") or {}
    for kind in ("pvc", "snapshot"):
        if kind in source:
            return (source[kind] or {}).get("namespace") or namespace
    ref = spec.get("sourceRef") or {}
    if ref.get("kind") == "DataSource" and ref.get("name"):
        ds_ns = ref.get("namespace") or namespace
        ds = store.get(DATASOURCE, ds_ns, ref["name"])
        ds_source = ((ds or {}).get("spec") or {}).get("source") or {}
        for kind in ("pvc", "snapshot"):
            if kind in ds_source:
                return (ds_source[kind] or {}).get("namespace") or ds_ns
    return None


def may_clone_from(user: str, namespace: str, restricted_namespaces: list[str]) -> bool:
    if user == "admin":
        return True
    return user == "restricted" and namespace in restricted_namespaces


def authorize_clone(store: Store, request: AdmissionRequest, dv: dict, restricted_namespaces: list[str]) -> None:
    namespace = request.namespace or dv.get("metadata", {}).get("namespace") or ""
    source_ns = clone_source_namespace(store, dv, namespace)
    if source_ns is None or may_clone_from(request.user, source_ns, restricted_namespaces):
        return
    message = f"User {request.user} has insufficient permissions in clone source namespace {source_ns}"
    causes = [{"reason": "FieldValueInvalid", "message": message, "field": "spec.source.PVC.namespace"}]
    raise errors.ApiError(422, "", f'admission webhook "{WEBHOOK}" denied the request:  {message}', {"causes": causes})
