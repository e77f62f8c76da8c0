"""Object lifecycle semantics shared by REST handlers and controllers.

Create/update/delete as kube-apiserver's generic registry does them: uid, creationTimestamp,
generation (bumped on changes outside metadata, and outside status when the type has a status
subresource), no-op writes that change nothing (not even resourceVersion), resourceVersion
preconditions (409 Conflict), finalizers and deletionTimestamp, ownerReference propagation
policies. Validation, defaulting, admission and patch computation happen before, in the handlers.
Controllers use ``mutate`` for atomic read-modify-write of their own objects.
"""
from __future__ import annotations

import copy
import datetime as _dt
import random
import threading
import uuid
from typing import Any, Callable, Optional

from . import errors
from .resources import GR, Registry, ResourceType
from .store import Store

_IGNORED_FOR_NOOP = ("resourceVersion", "managedFields")


def now_rfc3339() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _strip(obj: dict, drop_status: bool) -> dict:
    """The parts of an object that count for no-op detection."""
    out = {k: v for k, v in obj.items() if not (drop_status and k == "status")}
    meta = {k: v for k, v in obj.get("metadata", {}).items() if k not in _IGNORED_FOR_NOOP}
    out["metadata"] = meta
    return out


def _spec_part(obj: dict, has_status: bool) -> dict:
    """What bumps generation: everything but metadata (and status when it is a subresource)."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "apiVersion", "kind") and
            not (has_status and k == "status")}


class ObjectService:
    def __init__(self, store: Store, registry: Registry, seed: int = 0) -> None:
        self.store = store
        self.registry = registry
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()

    # -- helpers -------------------------------------------------------------------------------
    def rtype(self, gr: GR) -> ResourceType:
        return self.registry.get(gr)

    def new_uid(self) -> str:
        with self._rng_lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def random_suffix(self, n: int = 5) -> str:
        # apiserver's generateName alphabet has no vowels and no confusable digits
        alphabet = "bcdfghjklmnpqrstvwxz2456789"
        with self._rng_lock:
            return "".join(self._rng.choice(alphabet) for _ in range(n))

    def rng(self) -> random.Random:
        """A deterministic RNG for controllers (IPs, MACs, choices)."""
        return self._rng

    # -- reads ---------------------------------------------------------------------------------
    def get(self, gr: GR, namespace: str | None, name: str) -> dict:
        obj = self.store.get(gr, namespace, name)
        if obj is None:
            raise errors.not_found(gr[0], gr[1], name)
        return copy.deepcopy(obj)

    def try_get(self, gr: GR, namespace: str | None, name: str) -> dict | None:
        obj = self.store.get(gr, namespace, name)
        return copy.deepcopy(obj) if obj is not None else None

    def list(self, gr: GR, namespace: str | None = None) -> list[dict]:
        """Read-only references, sorted by namespace/name. Do not mutate them."""
        return self.store.list(gr, namespace)[0]

    # -- create --------------------------------------------------------------------------------
    def create(self, gr: GR, obj: dict, *, dry_run: bool = False, keep_status: bool = False) -> dict:
        """Create ``obj`` (taken over, not copied). ``keep_status`` lets controllers create with
        a status (apiserver drops status on create for types with a status subresource)."""
        rtype = self.rtype(gr)
        meta = obj.setdefault("metadata", {})
        obj["apiVersion"] = obj.get("apiVersion") or rtype.api_version()
        obj["kind"] = obj.get("kind") or rtype.kind
        with self.store.lock:
            namespace = meta.get("namespace") if rtype.namespaced else None
            if rtype.namespaced:
                if not namespace:
                    raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
                ns_obj = self.store.get(("", "namespaces"), None, namespace)
                if ns_obj is None:
                    raise errors.not_found("", "namespaces", namespace)
                if ns_obj["metadata"].get("deletionTimestamp"):
                    raise errors.ApiError(
                        403, "Forbidden",
                        f'{rtype.plural} "{meta.get("name") or meta.get("generateName", "")}" is forbidden: '
                        f"unable to create new content in namespace {namespace} because it is being terminated",
                        {"name": meta.get("name", ""), "group": rtype.group, "kind": rtype.plural,
                         "causes": [{"reason": "NamespaceTerminating",
                                     "message": f"namespace {namespace} is being terminated",
                                     "field": "metadata.namespace"}]})
            else:
                meta.pop("namespace", None)
            if not meta.get("name"):
                if meta.get("generateName"):
                    meta["name"] = meta["generateName"] + self.random_suffix()
                else:
                    raise errors.invalid(rtype.kind, rtype.group, "", [{
                        "reason": "FieldValueRequired", "message": "Required value: name or generateName is required",
                        "field": "metadata.name"}])
            if self.store.get(gr, namespace, meta["name"]) is not None:
                raise errors.already_exists(rtype.group, rtype.plural, meta["name"])
            meta["uid"] = self.new_uid()
            meta["creationTimestamp"] = now_rfc3339()
            meta["generation"] = 1
            for transient in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
                meta.pop(transient, None)
            if rtype.has_status and not keep_status:
                obj.pop("status", None)
            if gr == ("", "services") and not keep_status:
                obj["status"] = {"loadBalancer": {}}  # the service registry resets status on create
            if gr == ("", "namespaces"):
                # the namespace registry strategy: lifecycle finalizer, Active phase, name label
                obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
                obj["status"] = {"phase": "Active"}
                meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            if dry_run:
                meta["resourceVersion"] = str(self.store.resource_version)
                return obj
            return self.store.commit(gr, "ADDED", obj)

    # -- update --------------------------------------------------------------------------------
    def update(self, gr: GR, obj: dict, *, subresource: str = "", dry_run: bool = False,
               check_rv: bool = True) -> dict:
        """Replace the stored object with ``obj`` (taken over). Returns the stored result; a no-op
        returns the unchanged stored object (same resourceVersion)."""
        rtype = self.rtype(gr)
        meta = obj.setdefault("metadata", {})
        with self.store.lock:
            namespace = meta.get("namespace") if rtype.namespaced else None
            old = self.store.get(gr, namespace, meta.get("name", ""))
            if old is None:
                raise errors.not_found(rtype.group, rtype.plural, meta.get("name", ""))
            sent_rv = meta.get("resourceVersion")
            if check_rv and sent_rv and sent_rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rtype.group, rtype.plural, meta["name"])
            new = self._merge_for_update(rtype, old, obj, subresource)
            if _strip(new, False) == _strip(old, False):
                return old
            if _spec_part(new, rtype.has_status) != _spec_part(old, rtype.has_status):
                new["metadata"]["generation"] = int(old["metadata"].get("generation", 1)) + 1
            if dry_run:
                new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
                return new
            if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers") and not (
                    gr == ("", "namespaces") and (new.get("spec") or {}).get("finalizers")):
                # a terminating namespace goes only once spec.finalizers is emptied too (finalize)
                return self.store.commit(gr, "DELETED", new)
            return self.store.commit(gr, "MODIFIED", new)

    @staticmethod
    def _merge_for_update(rtype: ResourceType, old: dict, obj: dict, subresource: str) -> dict:
        if subresource == "status":
            new = copy.deepcopy(old)
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
            if "managedFields" in obj.get("metadata", {}):  # tracked for this status write
                new["metadata"]["managedFields"] = obj["metadata"]["managedFields"]
            return new
        new = obj
        meta = new["metadata"]
        old_meta = old["metadata"]
        for immutable in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                          "namespace", "generation"):
            if immutable in old_meta:
                meta[immutable] = old_meta[immutable]
            else:
                meta.pop(immutable, None)
        meta.pop("generateName", None) if "generateName" not in old_meta else meta.__setitem__(
            "generateName", old_meta["generateName"])
        new["apiVersion"] = old["apiVersion"]
        new["kind"] = old["kind"]
        if rtype.has_status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        return new

    def mutate(self, gr: GR, namespace: str | None, name: str, fn: Callable[[dict], Any], *,
               subresource: str = "") -> dict | None:
        """Atomic read-modify-write for controllers: ``fn`` edits a copy in place. Returns the
        stored result, or None when the object does not exist."""
        with self.store.lock:
            current = self.store.get(gr, namespace, name)
            if current is None:
                return None
            work = copy.deepcopy(current)
            fn(work)
            return self.update(gr, work, subresource=subresource, check_rv=False)

    # -- delete --------------------------------------------------------------------------------
    def delete(self, gr: GR, namespace: str | None, name: str, *, propagation: str | None = None,
               dry_run: bool = False, preconditions: Optional[dict] = None) -> tuple[dict, bool]:
        """Delete or mark for deletion. Returns (object, gone_now)."""
        rtype = self.rtype(gr)
        with self.store.lock:
            ns = namespace if rtype.namespaced else None
            current = self.store.get(gr, ns, name)
            if current is None:
                raise errors.not_found(rtype.group, rtype.plural, name)
            preconditions = preconditions or {}
            if preconditions.get("uid") and preconditions["uid"] != current["metadata"]["uid"]:
                raise errors.ApiError(
                    409, "Conflict",
                    f'Operation cannot be fulfilled on {errors.resource_label(rtype.group, rtype.plural)} "{name}": '
                    f'Precondition failed: UID in precondition: {preconditions["uid"]}, '
                    f'UID in object meta: {current["metadata"]["uid"]}')
            if (preconditions.get("resourceVersion")
                    and preconditions["resourceVersion"] != current["metadata"]["resourceVersion"]):
                raise errors.conflict(rtype.group, rtype.plural, name)
            obj = copy.deepcopy(current)
            meta = obj["metadata"]
            finalizers = list(meta.get("finalizers") or [])
            if gr == ("", "namespaces"):
                if "kubernetes" not in (obj.get("spec", {}).get("finalizers") or []):
                    obj.setdefault("spec", {})["finalizers"] = ["kubernetes"]
                obj.setdefault("status", {})["phase"] = "Terminating"
                finalizers = finalizers or []
                pending = True
            else:
                if propagation == "Foreground" and "foregroundDeletion" not in finalizers:
                    if self.store.dependents(meta["uid"]):
                        finalizers.append("foregroundDeletion")
                pending = bool(finalizers)
            if dry_run:
                return obj, not pending
            if propagation == "Orphan":
                self._orphan_dependents(meta["uid"])
            if pending:
                if meta.get("deletionTimestamp"):
                    if finalizers != (meta.get("finalizers") or []):
                        meta["finalizers"] = finalizers
                        return self.store.commit(gr, "MODIFIED", obj), False
                    return current, False
                meta["deletionTimestamp"] = now_rfc3339()
                meta["deletionGracePeriodSeconds"] = 0
                if finalizers:
                    meta["finalizers"] = finalizers
                return self.store.commit(gr, "MODIFIED", obj), False
            return self.store.commit(gr, "DELETED", obj), True

    def _orphan_dependents(self, owner_uid: str) -> None:
        for dep_gr, dep in self.store.dependents(owner_uid):
            def drop(o: dict, uid: str = owner_uid) -> None:
                refs = [r for r in o["metadata"].get("ownerReferences", []) if r.get("uid") != uid]
                if refs:
                    o["metadata"]["ownerReferences"] = refs
                else:
                    o["metadata"].pop("ownerReferences", None)
            meta = dep["metadata"]
            self.mutate(dep_gr, meta.get("namespace"), meta["name"], drop)

    def remove_finalizer(self, gr: GR, namespace: str | None, name: str, finalizer: str) -> dict | None:
        """Controllers: drop one finalizer; the object goes when the last one does."""
        def drop(o: dict) -> None:
            fins = [f for f in o["metadata"].get("finalizers") or [] if f != finalizer]
            if fins:
                o["metadata"]["finalizers"] = fins
            else:
                o["metadata"].pop("finalizers", None)
        return self.mutate(gr, namespace, name, drop)


def owner_reference(owner: dict, controller: bool = True, block_owner_deletion: bool = True) -> dict:
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": controller,
        "blockOwnerDeletion": block_owner_deletion,
    }


def condition(ctype: str, status: str, reason: str = "", message: str = "", *,
              probe: bool = False) -> dict:
    """A status condition in KubeVirt's shape (lastProbeTime null, lastTransitionTime now)."""
    cond = {"type": ctype, "status": status, "lastTransitionTime": now_rfc3339()}
    if probe:
        cond["lastProbeTime"] = None
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def set_condition(conditions: list[dict], new: dict) -> list[dict]:
    """Replace the condition of the same type, keeping lastTransitionTime if status is unchanged."""
    out = []
    replaced = False
    for cond in conditions:
        if cond.get("type") == new["type"]:
            replaced = True
            if cond.get("status") == new["status"]:
                new = dict(new, lastTransitionTime=cond.get("lastTransitionTime", new["lastTransitionTime"]))
            out.append(new)
        else:
            out.append(cond)
    if not replaced:
        out.append(new)
    return out


