"""The Node Maintenance Operator (medik8s/node-maintenance-operator, nodemaintenance.medik8s.io/v1beta1),
served on the openshift flavour only (an OpenShift add-on; on kubernetes the API is absent: 404).

Webhook ``vnodemaintenance.kb.io`` (internal/webhook/v1beta1): a create is refused when the node does
not exist, when another NodeMaintenance names the node, or (control-plane nodes) when the
``openshift-etcd`` guard budget allows no disruption and the node's guard pod is ready; an update may
not change ``spec.nodeName``. Refusals are controller-runtime's 403 denials.

Reconcile (internal/controller/nodemaintenance_controller.go), one step at a time: the
``foregroundDeleteNodeMaintenance`` finalizer (event BeginMaintenance); the status initialised once
(phase Running, pendingPods/pendingPodsRefs and evictionPods from the drain's pod filters, totalpods);
a missing node fails the maintenance (phase Failed, lastError ``nodes "X" not found``, event
FailedMaintenance); the owner reference to the Node, the ``remediation.medik8s.io/exclude-from-remediation``
label, the ``node.kubernetes.io/unschedulable`` and ``medik8s.io/drain`` NoSchedule taints and the cordon;
then kubectl's drain helper (Force, IgnoreAllDaemonSets, DeleteEmptyDirData, Timeout 30 s): every pod
but mirror and running DaemonSet pods is evicted through the API's eviction path (KubeVirt's 429 for
a migratable VMI starts its evacuation, a budget's 429), a 429 is retried every 5 s, an evicted pod is
waited for until it is gone. A drain round that does not finish within 30 s ends with lastError (the
helper's aggregated errors, "global timeout reached: 30s"), pendingPods and drainProgress updated, and
the next round starts 5 s later; phase stays Running. An empty node: phase Succeeded, drainProgress 100
(event SucceedMaintenance). The lease NMO takes on the node (coordination.k8s.io) is not simulated:
errorOnLeaseCount stays 0. Deletion: taints removed, node uncordoned, label removed (event UncordonNode
on the Node), finalizer removed (event RemovedMaintenance). One step is one second.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable, Optional

from ..api import disruption, errors
from ..api.objects import now_rfc3339
from ..api.resources import GR, AdmissionRequest
from ..api.store import Event
from ..api.subresources import evict_pod
from .keys import NODE, POD
from .runtime import Controller, ObjKey, Runtime
from .virtcommon import webhook_denied

NM: GR = ("nodemaintenance.medik8s.io", "nodemaintenances")
FINALIZER = "foregroundDeleteNodeMaintenance"
WEBHOOK = "vnodemaintenance.kb.io"
DRAIN_TAINT = "medik8s.io/drain"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
EXCLUDE_LABEL = "remediation.medik8s.io/exclude-from-remediation"
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
ETCD_NAMESPACE = "openshift-etcd"
USER = "system:serviceaccount:openshift-workload-availability:node-maintenance-operator-controller-manager"
DRAIN_TIMEOUT = 30  # drainer.Timeout, seconds (steps)
RETRY = 5  # kubectl drain's retry after a 429, and waitDurationOnDrainError
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


@dataclass
class _Round:
    """One drain.RunNodeDrain call: the pods it listed at its start and what each goroutine is at."""

    started: float
    pods: list[tuple[str, str]]
    next_try: dict[tuple[str, str], float] = field(default_factory=dict)
    evicted: set[tuple[str, str]] = field(default_factory=set)
    done: set[tuple[str, str]] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


def pods_for_deletion(store, node: str) -> list[dict]:
    """drain.GetPodsForDeletion with NMO's settings: mirror pods and running DaemonSet pods are skipped."""
    out = []
    for pod in store.list(POD)[0]:
        if (pod.get("spec") or {}).get("nodeName") != node:
            continue
        meta = pod["metadata"]
        if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
            continue
        finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        daemon = any(o.get("controller") and o.get("kind") == "DaemonSet" for o in meta.get("ownerReferences") or [])
        if daemon and not finished:
            continue
        out.append(pod)
    return sorted(out, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"]))


def _aggregate(messages: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message as is, several in brackets."""
    return messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"


class NodeMaintenanceController(Controller):
    name = "node-maintenance-operator"
    watches = (NM,)

    def __init__(self) -> None:
        self._rounds: dict[str, _Round] = {}  # NodeMaintenance uid -> the drain round in progress

    def setup(self, rt: Runtime) -> None:
        self.rt = rt
        rt.registry.add_validating(NM, self._admit)

    # -- webhook --------------------------------------------------------------------------------
    def _admit(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if new is None or request.subresource:
            return
        node_name = (new.get("spec") or {}).get("nodeName") or ""
        if request.operation == "UPDATE":
            if old is not None and node_name != ((old.get("spec") or {}).get("nodeName") or ""):
                raise webhook_denied(WEBHOOK, "updating spec.NodeName isn't allowed", 403, "Forbidden")
            return
        if request.operation != "CREATE":
            return
        store = self.rt.store
        node = store.get(NODE, None, node_name)
        if node is None:
            raise webhook_denied(WEBHOOK, "invalid nodeName, no node with name %s found" % node_name, 403, "Forbidden")
        if any((nm.get("spec") or {}).get("nodeName") == node_name for nm in store.list(NM)[0]):
            raise webhook_denied(WEBHOOK, "invalid nodeName, a NodeMaintenance for node %s already exists" % node_name,
                                 403, "Forbidden")
        if not self._quorum_allows(node):
            raise webhook_denied(WEBHOOK, "can not put master/control-plane node into maintenance at this moment, "
                                 "disrupting node %s will violate etcd quorum" % node_name, 403, "Forbidden")

    def _quorum_allows(self, node: dict) -> bool:
        """medik8s common etcd.IsEtcdDisruptionAllowed, for control-plane nodes only."""
        labels = node["metadata"].get("labels") or {}
        if not any(key in labels for key in CONTROL_PLANE_LABELS):
            return True
        store = self.rt.store
        budgets = store.list(disruption.PDB, ETCD_NAMESPACE)[0]
        if len(budgets) != 1:
            return False  # none or several: "can't check if the etcd quorum will be violated!"
        pods = store.list(POD, ETCD_NAMESPACE)[0]
        desired, healthy = disruption.budget_numbers(budgets[0], pods)
        if healthy - desired >= 1:
            return True
        selector = (budgets[0].get("spec") or {}).get("selector")
        for pod in pods:
            if pod["spec"].get("nodeName") == node["metadata"]["name"] and \
                    disruption.selects(selector, pod["metadata"].get("labels") or {}):
                return not any(c.get("type") == "Ready" and c.get("status") in ("True", "Unknown")
                               for c in (pod.get("status") or {}).get("conditions") or [])
        return True

    # -- wiring ---------------------------------------------------------------------------------
    def keys_for(self, event: Event) -> Iterable[ObjKey]:
        if event.gr == NM and event.type != "DELETED":
            yield (NM, "", event.obj["metadata"]["name"])

    def reconcile(self, rt: Runtime, gr: GR, namespace: str, name: str) -> None:
        with rt.store.lock:
            nm = rt.store.get(NM, None, name)
            if nm is None:
                return
            if nm["metadata"].get("deletionTimestamp"):
                self._stop(rt, nm)
                return
            self._maintain(rt, nm)

    # -- maintenance ----------------------------------------------------------------------------
    def _maintain(self, rt: Runtime, nm: dict) -> None:
        name = nm["metadata"]["name"]
        if FINALIZER not in (nm["metadata"].get("finalizers") or []):
            rt.service.mutate(NM, None, name, lambda o: o["metadata"].__setitem__(
                "finalizers", list(o["metadata"].get("finalizers") or []) + [FINALIZER]))
            rt.record_event(nm, "BeginMaintenance", "Begin a node maintenance", component="NodeMaintenance")
            return
        status = nm.get("status") or {}
        node_name = (nm.get("spec") or {}).get("nodeName") or ""
        if not status.get("phase"):
            pending = pods_for_deletion(rt.store, node_name)
            total = [p for p in rt.store.list(POD)[0] if (p.get("spec") or {}).get("nodeName") == node_name]
            self._status(rt, name, phase="Running", lastUpdate=now_rfc3339(), evictionPods=len(pending),
                         totalpods=len(total), **self._pending(pending))
            rt.requeue(self, NM, None, name)
            return
        if status.get("phase") == "Failed":
            return
        node = rt.store.get(NODE, None, node_name)
        if node is None:
            rt.record_event(nm, "FailedMaintenance", "Failed a node maintenance", event_type="Warning",
                            component="NodeMaintenance")
            self._status(rt, name, phase="Failed", lastError='nodes "%s" not found' % node_name,
                         lastUpdate=now_rfc3339())
            return
        self._own(rt, nm, node)
        self._cordon(rt, node, True)
        if status.get("phase") == "Succeeded":
            return
        self._drain(rt, nm, node_name)

    def _own(self, rt: Runtime, nm: dict, node: dict) -> None:
        uid = node["metadata"]["uid"]
        if any(r.get("uid") == uid for r in nm["metadata"].get("ownerReferences") or []):
            return
        ref = {"apiVersion": "v1", "kind": "Node", "name": node["metadata"]["name"], "uid": uid,
               "blockOwnerDeletion": False, "controller": False}
        rt.service.mutate(NM, None, nm["metadata"]["name"], lambda o: o["metadata"].__setitem__(
            "ownerReferences", list(o["metadata"].get("ownerReferences") or []) + [ref]))

    @staticmethod
    def _cordon(rt: Runtime, node: dict, on: bool) -> None:
        """AddOrRemoveTaint, RunCordonOrUncordon and the exclude-from-remediation label, in one write."""
        def edit(obj: dict) -> None:
            taints = [t for t in obj["spec"].get("taints") or [] if t.get("key") not in (DRAIN_TAINT, UNSCHEDULABLE_TAINT)]
            labels = obj["metadata"].setdefault("labels", {})
            if on:
                taints += [{"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}, {"key": DRAIN_TAINT, "effect": "NoSchedule"}]
                labels[EXCLUDE_LABEL] = "true"
            else:
                labels.pop(EXCLUDE_LABEL, None)
            obj["spec"]["unschedulable"] = on
            if taints:
                obj["spec"]["taints"] = taints
            else:
                obj["spec"].pop("taints", None)
        keys = {t.get("key") for t in node["spec"].get("taints") or []}
        current = bool(node["spec"].get("unschedulable")) and {DRAIN_TAINT, UNSCHEDULABLE_TAINT} <= keys and \
            (node["metadata"].get("labels") or {}).get(EXCLUDE_LABEL) == "true"
        gone = not node["spec"].get("unschedulable") and not keys & {DRAIN_TAINT, UNSCHEDULABLE_TAINT} and \
            EXCLUDE_LABEL not in (node["metadata"].get("labels") or {})
        if (on and not current) or (not on and not gone):
            rt.service.mutate(NODE, None, node["metadata"]["name"], edit)

    def _drain(self, rt: Runtime, nm: dict, node_name: str) -> None:
        uid, name = nm["metadata"]["uid"], nm["metadata"]["name"]
        now = time.monotonic()
        step = rt.time_scale
        current = self._rounds.get(uid)
        if current is None:
            pods = [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods_for_deletion(rt.store, node_name)]
            current = self._rounds[uid] = _Round(started=now, pods=pods)
        for key in current.pods:
            if key in current.done:
                continue
            pod = rt.store.get(POD, key[0], key[1])
            if pod is None:
                current.done.add(key)
            elif key not in current.evicted and now >= current.next_try.get(key, 0.0):
                self._evict(rt, current, key, now + RETRY * step)
        timed_out = now - current.started >= DRAIN_TIMEOUT * step
        if len(current.done) == len(current.pods) and not current.errors:
            del self._rounds[uid]
            rt.record_event(nm, "SucceedMaintenance", "Node maintenance was succeeded", component="NodeMaintenance")
            self._status(rt, name, phase="Succeeded", drainProgress=100, lastUpdate=now_rfc3339(),
                         pendingPods=None, pendingPodsRefs=None)
            return
        if len(current.done) == len(current.pods) or timed_out:
            del self._rounds[uid]
            failures = list(current.errors) + ['error when evicting pods/"%s" -n "%s": global timeout reached: %ds'
                                               % (k[1], k[0], DRAIN_TIMEOUT) for k in current.pods if k not in current.done]
            pending = pods_for_deletion(rt.store, node_name)
            total = int((nm.get("status") or {}).get("evictionPods") or 0)
            progress = {"drainProgress": (total - len(pending)) * 100 // total} if total else {}
            self._status(rt, name, lastError=_aggregate(failures), lastUpdate=now_rfc3339(),
                         **dict(self._pending(pending), **progress))
            rt.requeue(self, NM, None, name, steps=RETRY)
            return
        rt.requeue(self, NM, None, name)  # waitForDelete polls every second; retries are 5 s apart

    @staticmethod
    def _evict(rt: Runtime, current: _Round, key: tuple[str, str], retry_at: float) -> None:
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": key[1], "namespace": key[0]}}
        try:
            evict_pod(rt.registry, rt.store, rt.service, key[0], key[1], body, USER, False)
        except errors.ApiError as exc:
            if exc.code == 404:
                current.done.add(key)
            elif exc.code == 429:
                current.next_try[key] = retry_at  # "error when evicting pods/... (will retry after 5s)"
            else:
                current.done.add(key)
                current.errors.append('error when evicting pods/"%s" -n "%s": %s' % (key[1], key[0], exc.message))
            return
        current.evicted.add(key)

    @staticmethod
    def _pending(pods: list[dict]) -> dict:
        names = [p["metadata"]["name"] for p in pods]
        refs = [{"namespace": p["metadata"]["namespace"], "name": p["metadata"]["name"]} for p in pods]
        return {"pendingPods": names or None, "pendingPodsRefs": refs or None}

    @staticmethod
    def _status(rt: Runtime, name: str, **fields: object) -> None:
        def edit(obj: dict) -> None:
            status = obj.setdefault("status", {})
            for key, value in fields.items():
                if value is None:
                    status.pop(key, None)
                else:
                    status[key] = value
        rt.service.mutate(NM, None, name, edit, subresource="status")

    # -- deletion -------------------------------------------------------------------------------
    def _stop(self, rt: Runtime, nm: dict) -> None:
        self._rounds.pop(nm["metadata"]["uid"], None)
        if FINALIZER not in (nm["metadata"].get("finalizers") or []):
            return
        node = rt.store.get(NODE, None, (nm.get("spec") or {}).get("nodeName") or "")
        if node is not None:
            self._cordon(rt, node, False)
            rt.record_event(node, "UncordonNode", "Uncordon a node", component="NodeMaintenance")
        rt.service.remove_finalizer(NM, None, nm["metadata"]["name"], FINALIZER)
        rt.record_event(nm, "RemovedMaintenance", "Removed a node maintenance", component="NodeMaintenance")
