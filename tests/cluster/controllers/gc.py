"""kube-controller-manager's garbage collector and namespace controller.

Garbage collection (pkg/controller/garbagecollector, attemptToDeleteItem): an object whose owners
are all gone (absent, or present with another uid) is deleted with the default Background policy;
owners that still exist keep it, and references to absent owners or to owners waiting for their
dependents are then removed. An owner deleted with ``propagationPolicy=Foreground`` carries the
``foregroundDeletion`` finalizer: its dependents are deleted (foreground themselves when they have
dependents) and the finalizer goes once no dependent with ``blockOwnerDeletion`` remains. Orphan
propagation is done synchronously by ObjectService. Dependents are found with the store's owner
index, so the cost is proportional to the objects involved, not to the cluster size.

Namespace teardown (pkg/controller/namespace/deletion): a namespace with a deletionTimestamp has
all its content deleted, reports NamespaceContentRemaining / NamespaceFinalizersRemaining
conditions while objects (or their finalizers) remain, then its ``kubernetes`` finalizer is removed
and the namespace disappears.
"""
from __future__ import annotations

import logging
from collections import Counter
from typing import Iterable, Optional

from ..api import errors
from ..api.objects import now_rfc3339, set_condition
from ..api.resources import GR, ResourceType
from ..api.store import Event
from .keys import NAMESPACE
from .runtime import Controller, ObjKey, Runtime

log = logging.getLogger("cluster.gc")

FOREGROUND = "foregroundDeletion"
_OWNER = "owner"  # marker in the namespace slot of keys for foreground-deleting owners


def _foreground(obj: dict) -> bool:
    meta = obj["metadata"]
    return bool(meta.get("deletionTimestamp")) and FOREGROUND in (meta.get("finalizers") or [])


class GarbageCollector(Controller):
    name = "gc"

    def setup(self, rt: Runtime) -> None:
        self.rt = rt
        self._kinds: dict[tuple[str, str], Optional[ResourceType]] = {}

    def _rtype(self, ref: dict) -> Optional[ResourceType]:
        """The served type an ownerReference names (cached: looked up for every owned object)."""
        api_version = ref.get("apiVersion") or ""
        key = (api_version.split("/", 1)[0] if "/" in api_version else "", ref.get("kind") or "")
        if key not in self._kinds:
            self._kinds[key] = self.rt.registry.by_kind(*key)
        return self._kinds[key]

    # -- event mapping (runs on every commit: keep it O(1) per event) ---------------------------
    def keys_for(self, event: Event) -> Iterable[ObjKey]:
        obj = event.obj
        meta = obj["metadata"]
        namespace = meta.get("namespace") or ""
        if event.gr == NAMESPACE:
            if event.type != "DELETED" and meta.get("deletionTimestamp"):
                yield (NAMESPACE, "", meta["name"])
            return
        refs = meta.get("ownerReferences") or []
        if event.type == "DELETED":
            for dep_gr, dep in self.rt.store.dependents(meta["uid"]):
                yield (dep_gr, dep["metadata"].get("namespace") or "", dep["metadata"]["name"])
            for owner in self._owners_waiting(refs, namespace):
                yield owner
            if namespace:
                ns = self.rt.store.get(NAMESPACE, None, namespace)
                if ns is not None and ns["metadata"].get("deletionTimestamp"):
                    yield (NAMESPACE, "", namespace)
            return
        old_refs = (event.old or {}).get("metadata", {}).get("ownerReferences") or []
        if refs and (event.type == "ADDED" or refs != old_refs):
            yield (event.gr, namespace, meta["name"])
        if _foreground(obj) and (event.old is None or not _foreground(event.old)):
            yield (event.gr, namespace, meta["name"])

    def _owners_waiting(self, refs: list[dict], namespace: str) -> Iterable[ObjKey]:
        """Owners in foreground deletion that a vanished dependent may have been holding."""
        for ref in refs:
            found = self._lookup(ref, namespace)
            if found is not None and _foreground(found[1]):
                gr, owner = found
                yield (gr, owner["metadata"].get("namespace") or "", owner["metadata"]["name"])

    # -- reconcile -----------------------------------------------------------------------------
    def reconcile(self, rt: Runtime, gr: GR, namespace: str, name: str) -> None:
        if gr == NAMESPACE:
            self._teardown_namespace(rt, name)
            return
        obj = rt.store.get(gr, namespace or None, name)
        if obj is None:
            return
        if _foreground(obj):
            self._process_foreground(rt, gr, obj)
            obj = rt.store.get(gr, namespace or None, name)
            if obj is None:
                return
        self._attempt_to_delete(rt, gr, obj)

    def _lookup(self, ref: dict, namespace: str) -> Optional[tuple[GR, dict]]:
        """The owner a reference points at (by kind and name), or None if it does not exist."""
        rtype = self._rtype(ref)
        if rtype is None:
            return None
        owner = self.rt.store.get(rtype.gr, namespace if rtype.namespaced else None, ref.get("name") or "")
        if owner is None:
            return None
        return rtype.gr, owner

    def _known_kind(self, ref: dict) -> bool:
        return self._rtype(ref) is not None

    def _attempt_to_delete(self, rt: Runtime, gr: GR, obj: dict) -> None:
        meta = obj["metadata"]
        refs = meta.get("ownerReferences") or []
        if not refs:
            return
        namespace = meta.get("namespace") or ""
        solid, dangling, waiting = [], [], []
        for ref in refs:
            if not self._known_kind(ref):  # unresolvable owner kinds are never collected
                solid.append(ref)
                continue
            found = self._lookup(ref, namespace)
            if found is None or found[1]["metadata"].get("uid") != ref.get("uid"):
                dangling.append(ref)
            elif _foreground(found[1]):
                waiting.append(ref)
            else:
                solid.append(ref)
        if solid:
            if dangling or waiting:
                drop = {r.get("uid") for r in dangling + waiting}

                def keep_solid(o: dict) -> None:
                    kept = [r for r in o["metadata"].get("ownerReferences") or [] if r.get("uid") not in drop]
                    o["metadata"]["ownerReferences"] = kept
                rt.service.mutate(gr, namespace or None, meta["name"], keep_solid)
            return
        if meta.get("deletionTimestamp"):
            return
        policy = "Foreground" if waiting and rt.store.dependents(meta["uid"]) else "Background"
        log.debug("gc deleting %s %s/%s (%s)", gr, namespace, meta["name"], policy)
        self._delete(rt, gr, namespace, meta["name"], policy)

    def _process_foreground(self, rt: Runtime, gr: GR, owner: dict) -> None:
        uid = owner["metadata"]["uid"]
        for dep_gr, dep in rt.store.dependents(uid):
            self._attempt_to_delete(rt, dep_gr, dep)
        for _, dep in rt.store.dependents(uid):
            for ref in dep["metadata"].get("ownerReferences") or []:
                if ref.get("uid") == uid and ref.get("blockOwnerDeletion"):
                    return  # still blocked; the dependent's DELETED event wakes us again
        meta = owner["metadata"]
        rt.service.remove_finalizer(gr, meta.get("namespace") or None, meta["name"], FOREGROUND)

    @staticmethod
    def _delete(rt: Runtime, gr: GR, namespace: str, name: str, policy: str) -> None:
        try:
            rt.service.delete(gr, namespace or None, name, propagation=policy)
        except errors.ApiError as exc:
            if exc.code != 404:
                raise

    # -- namespaces ----------------------------------------------------------------------------
    def _teardown_namespace(self, rt: Runtime, name: str) -> None:
        ns = rt.store.get(NAMESPACE, None, name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        remaining: Counter[str] = Counter()
        finalizers: Counter[str] = Counter()
        for rtype in rt.registry.types():
            if not rtype.namespaced:
                continue
            for obj in rt.store.list(rtype.gr, name)[0]:
                if not obj["metadata"].get("deletionTimestamp"):
                    self._delete(rt, rtype.gr, name, obj["metadata"]["name"], "Background")
            for obj in rt.store.list(rtype.gr, name)[0]:
                remaining[f"{rtype.plural}.{rtype.group}"] += 1
                for finalizer in obj["metadata"].get("finalizers") or []:
                    finalizers[finalizer] += 1
        if remaining:
            self._report_remaining(rt, name, remaining, finalizers)
            return
        self._report_remaining(rt, name, remaining, finalizers)

        def finalize(o: dict) -> None:
            o["spec"]["finalizers"] = [f for f in o["spec"].get("finalizers") or [] if f != "kubernetes"]
        rt.service.mutate(NAMESPACE, None, name, finalize)

    def _report_remaining(self, rt: Runtime, name: str, remaining: Counter, finalizers: Counter) -> None:
        if remaining:
            content = ("True", "SomeResourcesRemain", "Some resources are remaining: " + ", ".join(
                f"{gr} has {n} resource instances" for gr, n in sorted(remaining.items())))
        else:
            content = ("False", "ContentRemoved", "All content successfully removed")
        if finalizers:
            held = ("True", "SomeFinalizersRemain", "Some content in the namespace has finalizers remaining: "
                    + ", ".join(f"{f} in {n} resource instances" for f, n in sorted(finalizers.items())))
        else:
            held = ("False", "ContentHasNoFinalizers", "All content-preserving finalizers finished")
        wanted = [
            ("NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered", "All resources successfully discovered"),
            ("NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions",
             "All legacy kube types successfully parsed"),
            ("NamespaceDeletionContentFailure", "False", "ContentDeleted",
             "All content successfully deleted, may be waiting on finalization"),
            ("NamespaceContentRemaining",) + content,
            ("NamespaceFinalizersRemaining",) + held,
        ]

        def update(o: dict) -> None:
            conditions = list(o.setdefault("status", {}).get("conditions") or [])
            for ctype, status, reason, message in wanted:
                conditions = set_condition(conditions, {"type": ctype, "status": status, "reason": reason,
                                                        "message": message, "lastTransitionTime": now_rfc3339()})
            o["status"]["conditions"] = conditions
        rt.service.mutate(NAMESPACE, None, name, update, subresource="status")
