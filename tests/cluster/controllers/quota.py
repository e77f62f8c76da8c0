"""ResourceQuota for claims: kube-apiserver's quota admission and the quota controller's status.

A PVC create that would take a namespace past a quota's ``requests.storage``,
``persistentvolumeclaims`` or their per-class forms (``<class>.storageclass.storage.k8s.io/...``)
is refused with 403 Forbidden and the apiserver's message (``exceeded quota: NAME, requested:
..., used: ..., limited: ...``), which CDI turns into an ErrExceededQuota event on the DataVolume.
``status.hard`` / ``status.used`` follow the claims, as the resource quota controller keeps them.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

from ..api import errors
from ..api.resources import GR, AdmissionRequest
from ..api.store import Event
from .keys import PVC
from .quantity import format_binary, parse_bytes
from .runtime import Controller, ObjKey, Runtime

QUOTA: GR = ("", "resourcequotas")
_CLASS = ".storageclass.storage.k8s.io/"


def _charges(pvc: dict) -> dict[str, int]:
    spec = pvc.get("spec") or {}
    size = parse_bytes(((spec.get("resources") or {}).get("requests") or {}).get("storage")) or 0
    charges = {"requests.storage": size, "persistentvolumeclaims": 1}
    if spec.get("storageClassName"):
        prefix = spec["storageClassName"] + _CLASS
        charges.update({prefix + "requests.storage": size, prefix + "persistentvolumeclaims": 1})
    return charges


def _shown(key: str, value: int) -> str:
    return f"{key}={format_binary(value) if key.endswith('storage') else value}"


def used_in(store: Any, namespace: str) -> dict[str, int]:
    used: dict[str, int] = {}
    for pvc in store.list(PVC, namespace)[0]:
        for key, amount in _charges(pvc).items():
            used[key] = used.get(key, 0) + amount
    return used


def check_claim(store: Any, namespace: str, pvc: dict) -> None:
    """Quota admission of a claim create (also for controllers' creates: CDI's go through the apiserver)."""
    quotas = store.list(QUOTA, namespace)[0] if _served(store) else []
    if not quotas:
        return
    wanted, used = _charges(pvc), used_in(store, namespace)
    name = pvc["metadata"].get("name", "")
    for quota in sorted(quotas, key=lambda q: q["metadata"]["name"]):
        hard = {k: parse_bytes(v) or 0 for k, v in ((quota.get("spec") or {}).get("hard") or {}).items()}
        over = sorted(k for k in wanted if k in hard and used.get(k, 0) + wanted[k] > hard[k])
        if over:
            raise errors.ApiError(403, "Forbidden", 'persistentvolumeclaims "%s" is forbidden: exceeded quota: %s, '
                                  "requested: %s, used: %s, limited: %s" % (
                                      name, quota["metadata"]["name"], ",".join(_shown(k, wanted[k]) for k in over),
                                      ",".join(_shown(k, used.get(k, 0)) for k in over),
                                      ",".join(_shown(k, hard[k]) for k in over)),
                                  {"name": name, "kind": "persistentvolumeclaims"})


def _served(store: Any) -> bool:
    try:
        store.list(QUOTA, None)
        return True
    except Exception:  # a harness without the quota type
        return False


class QuotaController(Controller):
    name = "quota"
    watches = (QUOTA, PVC)

    def setup(self, rt: Runtime) -> None:
        self.rt = rt
        rt.registry.add_validating(PVC, self._admit)

    def _admit(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if request.operation != "CREATE" or request.subresource or new is None:  # dry runs are checked too
            return
        check_claim(self.rt.store, request.namespace or new["metadata"].get("namespace") or "", new)

    def keys_for(self, event: Event) -> Iterable[ObjKey]:
        meta = event.obj["metadata"]
        if event.gr == QUOTA:
            yield (QUOTA, meta["namespace"], meta["name"])
        elif event.gr == PVC:
            for quota in self.rt.store.list(QUOTA, meta["namespace"])[0]:
                yield (QUOTA, meta["namespace"], quota["metadata"]["name"])

    def reconcile(self, rt: Runtime, gr: GR, namespace: str, name: str) -> None:
        quota = rt.store.get(QUOTA, namespace, name)
        if quota is None:
            return
        hard = dict((quota.get("spec") or {}).get("hard") or {})
        used = used_in(rt.store, namespace)
        status = {"hard": hard, "used": {k: (format_binary(used.get(k, 0)) if k.endswith("storage")
                                             else str(used.get(k, 0))) for k in hard}}
        if status != quota.get("status"):
            rt.service.mutate(QUOTA, namespace, name, lambda o: o.__setitem__("status", status), subresource="status")
