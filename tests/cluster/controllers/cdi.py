"""CDI's DataVolume and DataSource controllers (v1.61 behaviour, non-populator path).

A DataVolume gets a PVC of the same name (controller ownerReference, CDI's labels and
annotations, spec rendered by ``cdi_render``); its status is then derived from that PVC the way
``ReconcilerBase.updateStatus`` does it: Pending / WaitForFirstConsumer while unbound, PVCBound,
then the source's phases from the worker pod (ImportScheduled -> ImportInProgress -> Succeeded,
CloneScheduled -> CloneInProgress -> Succeeded, UploadScheduled -> UploadReady -> Succeeded), with
``progress`` ("N/A", "NN.NN%", "100.0%"), ``restartCount``, ``claimName`` and the Bound / Ready /
Running conditions and their events. Clones wait, without a phase, with CloneWithoutSource while
the source PVC or VolumeSnapshot is missing (and in CloneScheduled until a snapshot is readyToUse).
DataSources are Ready when their source PVC / DataVolume / VolumeSnapshot is.
The worker pods themselves live in ``cdi_transfer``.
"""
from __future__ import annotations

import copy
import logging
import threading
from typing import Any, Iterable, Optional

from ..api import errors
from ..api.objects import now_rfc3339, owner_reference
from ..api.resources import GR, AdmissionRequest
from ..api.store import Event
from . import cdi_render as r
from .cdi_auth import authorize_clone
from .cdi_transfer import Transfers
from .keys import CDICONFIG, DATASOURCE, DV, POD, PVC, SC, SP
from .quantity import parse_bytes
from .quota import check_claim
from .runtime import Controller, ObjKey, Runtime
from .snapshots import VOLUMESNAPSHOT, snapshot_ready
from .storage import apply_pvc_admission

log = logging.getLogger("cluster.cdi")

COMPONENT = "datavolume-import-controller"
# the event source of each DataVolume controller (its recorder name in CDI)
COMPONENTS = {"import": "datavolume-import-controller", "upload": "datavolume-upload-controller",
              "clone": "datavolume-pvc-clone-controller", "snapshot": "datavolume-snapshot-clone-controller",
              "sourceRef": "datavolume-pvc-clone-controller"}

# (event reason, message format) per worker pod phase, for each kind of DataVolume
_PHASES = {
    "import": {"Pending": ("ImportScheduled", "Import into {pvc} scheduled"),
               "Running": ("ImportInProgress", "Import into {pvc} in progress"),
               "Failed": ("ImportFailed", "Failed to import into PVC {pvc}"),
               "Succeeded": ("ImportSucceeded", "Successfully imported into PVC {pvc}")},
    "upload": {"Pending": ("UploadScheduled", "Upload into {pvc} scheduled"),
               "Running": ("UploadReady", "Upload into {pvc} ready"),
               "Failed": ("UploadFailed", "Upload into {pvc} failed"),
               "Succeeded": ("UploadSucceeded", "Successfully uploaded into {pvc}")},
    "clone": {"Pending": ("CloneScheduled", "Cloning from {src_ns}/{src} into {ns}/{pvc} scheduled"),
              "Running": ("CloneInProgress", "Cloning from {src_ns}/{src} into {ns}/{pvc} in progress"),
              "Failed": ("CloneFailed", "Cloning from {src_ns}/{src} into {ns}/{pvc} failed"),
              "Succeeded": ("CloneSucceeded", "Successfully cloned from {src_ns}/{src} into {ns}/{pvc}")},
}
_REQUEST_ANNOTATION = {"import": r.ANN_IMPORT_POD, "upload": r.ANN_UPLOAD_REQUEST, "clone": r.ANN_CLONE_REQUEST}


def update_condition(conditions: list[dict], ctype: str, status: str, message: str, reason: str) -> list[dict]:
    """CDI's updateCondition: transition time on status change, heartbeat on any change."""
    out = [dict(c) for c in conditions]
    cond = next((c for c in out if c.get("type") == ctype), None)
    if cond is None:
        cond = {"type": ctype}
        out.append(cond)
    stamp = now_rfc3339()
    if cond.get("status") != status:
        cond["lastTransitionTime"] = stamp
        cond["lastHeartbeatTime"] = stamp
        _set_text(cond, message, reason)
    elif cond.get("message", "") != message or cond.get("reason", "") != reason:
        cond["lastHeartbeatTime"] = stamp
        _set_text(cond, message, reason)
    cond["status"] = status
    return out


def _set_text(cond: dict, message: str, reason: str) -> None:
    for key, value in (("message", message), ("reason", reason)):
        if value:
            cond[key] = value
        else:
            cond.pop(key, None)


class DataVolumeController(Controller):
    name = "cdi"
    watches = (DV, DATASOURCE, PVC, POD)

    def __init__(self) -> None:
        self.transfers = Transfers(self)
        self._waiting: dict[tuple[str, str, str], set[ObjKey]] = {}  # ("pvc"|"ds", ns, name) -> keys
        self._blocked: set[ObjKey] = set()  # DataVolumes whose PVC could not be rendered
        self._lock = threading.Lock()
        self._events = r.EventsOnce(COMPONENT)

    def setup(self, rt: Runtime) -> None:
        self.rt = rt
        rt.registry.add_mutating(DV, self._authorize_clone)
        rt.registry.add_validating(DV, self._admit_dv)

    def _authorize_clone(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if request.operation == "CREATE" and new is not None and not request.subresource:
            authorize_clone(self.rt.store, request, new, list(self.rt.options.get("restricted_namespaces") or []))

    # -- admission (datavolume-validate.cdi.kubevirt.io) ---------------------------------------
    def _admit_dv(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if new is None or request.subresource or request.operation not in ("CREATE", "UPDATE"):
            return
        if request.operation == "UPDATE" and new["metadata"].get("deletionTimestamp"):
            return
        causes = r.validate_dv(new, old if request.operation == "UPDATE" else None)
        if not causes and request.operation == "CREATE":
            meta = new["metadata"]
            pvc = self.rt.store.get(PVC, request.namespace or meta.get("namespace"), meta.get("name") or "")
            if pvc is not None and not self._adoptable(pvc, new):
                owner = next((o for o in pvc["metadata"].get("ownerReferences") or [] if o.get("controller")), None)
                if owner is None or owner.get("kind") != "DataVolume":
                    causes = [{"reason": "FieldValueDuplicate", "field": "DataVolume.Name",
                               "message": f"Destination PVC {pvc['metadata']['namespace']}/{meta['name']} already exists"}]
        if causes:
            raise r.reject(causes)

    def _adoptable(self, pvc: dict, dv: dict) -> bool:
        anns = pvc["metadata"].get("annotations") or {}
        if anns.get("cdi.kubevirt.io/storage.populatedFor") == dv["metadata"]["name"]:
            return True
        if (dv["metadata"].get("annotations") or {}).get("cdi.kubevirt.io/allowClaimAdoption") == "true":
            return True
        config = self.rt.store.get(CDICONFIG, None, "config") or {}
        return "DataVolumeClaimAdoption" in ((config.get("spec") or {}).get("featureGates") or [])

    # -- event mapping -------------------------------------------------------------------------
    def keys_for(self, event: Event) -> Iterable[ObjKey]:
        gr, obj = event.gr, event.obj
        meta = obj["metadata"]
        ns = meta.get("namespace") or ""
        if gr == DV:
            yield (DV, ns, meta["name"])
            yield from self._wake(("pvc", ns, meta["name"]))
        elif gr == PVC:
            yield (PVC, ns, meta["name"])
            for ref in meta.get("ownerReferences") or []:
                if ref.get("kind") == "DataVolume" and ref.get("controller"):
                    yield (DV, ns, ref["name"])
            yield from self._wake(("pvc", ns, meta["name"]))
        elif gr == POD:
            for ref in meta.get("ownerReferences") or []:
                if ref.get("kind") == "PersistentVolumeClaim":
                    yield (PVC, ns, ref["name"])
        elif gr == DATASOURCE:
            yield (DATASOURCE, ns, meta["name"])
            yield from self._wake(("ds", ns, meta["name"]))
        elif gr == VOLUMESNAPSHOT:
            yield from self._wake(("snap", ns, meta["name"]))
        elif gr in (SC, SP) and event.type != "DELETED":
            with self._lock:
                blocked, self._blocked = self._blocked, set()
            yield from blocked

    def _wake(self, dependency: tuple[str, str, str]) -> Iterable[ObjKey]:
        with self._lock:
            return list(self._waiting.pop(dependency, ()))

    def _wait(self, dependency: tuple[str, str, str], key: ObjKey) -> None:
        with self._lock:
            self._waiting.setdefault(dependency, set()).add(key)

    def reconcile(self, rt: Runtime, gr: GR, namespace: str, name: str) -> None:
        if gr == DV:
            self._reconcile_dv(rt, namespace, name)
        elif gr == PVC:
            self.transfers.reconcile(rt, namespace, name)
        elif gr == DATASOURCE:
            self._reconcile_ds(rt, namespace, name)

    # -- DataVolumes ---------------------------------------------------------------------------
    def _reconcile_dv(self, rt: Runtime, ns: str, name: str) -> None:
        dv = rt.store.get(DV, ns, name)
        if dv is None or dv["metadata"].get("deletionTimestamp"):
            return
        key = (DV, ns, name)
        spec = dv.get("spec") or {}
        kind = r.source_kind(spec)
        source: Optional[tuple[str, str]] = None
        if kind == "sourceRef":
            ref = spec["sourceRef"]
            ds_ns = ref.get("namespace") or ns
            self._wait(("ds", ds_ns, ref.get("name") or ""), key)
            ds = rt.store.get(DATASOURCE, ds_ns, ref.get("name") or "")
            resolved, _ = resolve_data_source(rt.store, ds) if ds is not None else (None, None)
            if resolved is not None and resolved is not ds:
                self._wait(("ds", resolved["metadata"]["namespace"], resolved["metadata"]["name"]), key)
            ds_source = ((resolved or {}).get("spec") or {}).get("source") or {}
            ds_ns = ((resolved or {}).get("metadata") or {}).get("namespace") or ds_ns
            if "pvc" in ds_source:
                kind, source = "clone", (ds_source["pvc"].get("namespace") or ds_ns, ds_source["pvc"].get("name", ""))
            elif "snapshot" in ds_source:
                kind, source = "snapshot", (ds_source["snapshot"].get("namespace") or ds_ns,
                                            ds_source["snapshot"].get("name", ""))
            else:
                return  # CDI has no controller for a DataVolume whose DataSource does not resolve
        elif kind in ("clone", "snapshot"):
            src = spec["source"]["pvc" if kind == "clone" else "snapshot"] or {}
            source = (src.get("namespace") or ns, src.get("name") or "")
        if not self._annotate_dv(rt, dv, kind):
            return
        pvc = rt.store.get(PVC, ns, name)
        if pvc is None and "cdi.kubevirt.io/storage.prePopulated" in (dv["metadata"].get("annotations") or {}):
            return  # handlePvcCreation: someone else (a VM restore) populates this claim
        if pvc is None:
            pvc = self._create_pvc(rt, dv, kind, source)
            if pvc is None:
                return
        elif not self._owned(rt, dv, pvc):
            return
        status, event = self._status_from_pvc(rt, dv, pvc, kind, source)
        self._write_status(rt, dv, status, event)

    def _annotate_dv(self, rt: Runtime, dv: dict, kind: str) -> bool:
        """Metadata CDI writes on the DataVolume before the status (syncUpdate). False if written."""
        anns = dict(dv["metadata"].get("annotations") or {})
        wanted = dict(anns)
        wanted.setdefault(r.ANN_USE_POPULATOR, "false")
        if kind in ("clone", "snapshot"):
            wanted[r.ANN_CLONE_TYPE] = "copy"
        if wanted == anns:
            return True
        rt.service.mutate(DV, dv["metadata"]["namespace"], dv["metadata"]["name"],
                          lambda o: o["metadata"].__setitem__("annotations", wanted))
        return False

    def _owned(self, rt: Runtime, dv: dict, pvc: dict) -> bool:
        meta = pvc["metadata"]
        if meta.get("deletionTimestamp"):
            self._events.record(rt, dv, f"deleting-{meta['uid']}", "ErrResourceMarkedForDeletion",
                                f'Resource "{meta["name"]}" marked for deletion', warning=True)
            return False
        if any(o.get("uid") == dv["metadata"]["uid"] and o.get("controller") for o in meta.get("ownerReferences") or []):
            return True
        if self._adoptable(pvc, dv):
            def adopt(o: dict) -> None:
                refs = [x for x in o["metadata"].get("ownerReferences") or [] if not x.get("controller")]
                o["metadata"]["ownerReferences"] = refs + [owner_reference(dv)]
                o["metadata"].setdefault("annotations", {})["cdi.kubevirt.io/storage.populatedFor"] = dv["metadata"]["name"]
            rt.service.mutate(PVC, meta["namespace"], meta["name"], adopt)
            return False
        self._events.record(rt, dv, f"exists-{meta['uid']}", "ErrResourceExists",
                            f'Resource "{meta["name"]}" already exists and is not managed by DataVolume', warning=True)
        return False

    def _create_pvc(self, rt: Runtime, dv: dict, kind: str, source: Optional[tuple[str, str]]) -> Optional[dict]:
        meta = dv["metadata"]
        key = (DV, meta["namespace"], meta["name"])
        clone_size = None
        if kind == "clone" and source is not None:
            src = rt.store.get(PVC, *source)
            self._wait(("pvc", *source), key)
            if src is None:
                self._fail(rt, dv, dv.get("status", {}).get("phase", ""), "CloneWithoutSource",
                           f"The source pvc {source[1]} doesn't exist")
                return None
            if not self._populated(rt, src):
                self._events.record(rt, dv, f"notready-{src['metadata']['uid']}", "ImportPVCNotReady",
                                    "The source PVC is not fully imported")
                self._fail(rt, dv, "CloneScheduled", "", "")
                return None
            problem = _clone_problem(src, dv)
            if problem:
                self._fail(rt, dv, dv.get("status", {}).get("phase", ""), "CloneValidationFailed",
                           f"The clone doesn't meet the validation requirements: {problem}")
                return None
            clone_size = parse_bytes(src["spec"].get("resources", {}).get("requests", {}).get("storage"))
        elif kind == "snapshot" and source is not None and _serves_snapshots(rt):
            self._wait(("snap", *source), key)
            snap = rt.store.get(VOLUMESNAPSHOT, *source)
            if snap is None:
                self._fail(rt, dv, dv.get("status", {}).get("phase", ""), "CloneWithoutSource",
                           f"The source snapshot {source[1]} doesn't exist")
                return None
            if not snapshot_ready(snap):  # the restore waits for readyToUse
                self._fail(rt, dv, "CloneScheduled", "", "")
                return None
        try:
            pvc_spec = r.render_pvc_spec(rt.store, dv, clone_size)
        except r.RenderError as exc:
            with self._lock:
                self._blocked.add(key)
            self._events.record(rt, dv, f"render-{exc.event}", "ErrClaimNotValid", exc.event, warning=True)
            self._fail(rt, dv, "", "ErrClaimNotValid", exc.message)
            return None
        pvc = self._pvc_object(rt, dv, kind, source, pvc_spec)
        try:
            check_claim(rt.store, pvc["metadata"]["namespace"], pvc)  # the apiserver's quota admission
            return rt.service.create(PVC, pvc, keep_status=True)
        except errors.ApiError as exc:
            if exc.code == 403:  # e.g. ResourceQuota or a terminating namespace
                self._events.record(rt, dv, f"create-{exc.message}", "ErrExceededQuota" if "quota" in exc.message
                                    else "ErrClaimNotValid", exc.message, warning=True)
                return None
            raise

    def _pvc_object(self, rt: Runtime, dv: dict, kind: str, source: Optional[tuple[str, str]],
                    pvc_spec: dict) -> dict:
        meta = dv["metadata"]
        spec = dv.get("spec") or {}
        labels = {"app": "containerized-data-importer", "app.kubernetes.io/component": "storage",
                  "app.kubernetes.io/managed-by": "cdi-controller"}
        if (pvc_spec.get("volumeMode") or "Filesystem") == "Filesystem":
            labels["alerts.k8s.io/KubePersistentVolumeFillingUp"] = "disabled"
        labels.update(meta.get("labels") or {})
        anns = dict(meta.get("annotations") or {})
        anns.pop(r.ANN_CLONE_TYPE, None)
        anns.update({r.ANN_POD_RESTARTS: "0", r.ANN_CONTENT_TYPE: spec.get("contentType") or "kubevirt",
                     r.ANN_PREALLOCATION: "true" if spec.get("preallocation") else "false",
                     r.ANN_CREATED_FOR_DV: meta["uid"]})
        if spec.get("priorityClassName"):
            anns["cdi.kubevirt.io/storage.pod.priorityclassname"] = spec["priorityClassName"]
        if kind == "import":
            anns.update(r.import_annotations(spec.get("source") or {}))
        elif kind == "upload":
            anns[r.ANN_UPLOAD_REQUEST] = ""
        elif kind in ("clone", "snapshot") and source is not None:
            anns[r.ANN_CLONE_REQUEST] = f"{source[0]}/{source[1]}"
            anns[r.ANN_CLONE_TYPE] = "copy"
        pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": meta["name"], "namespace": meta["namespace"], "labels": labels,
                            "annotations": anns, "ownerReferences": [owner_reference(dv)]},
               "spec": pvc_spec, "status": {"phase": "Pending"}}
        apply_pvc_admission(rt.store, pvc)
        return pvc

    def _populated(self, rt: Runtime, pvc: dict) -> bool:
        """IsPopulated: a claim made for a DataVolume is ready once that DataVolume succeeded."""
        for ref in pvc["metadata"].get("ownerReferences") or []:
            if ref.get("kind") == "DataVolume" and ref.get("controller"):
                owner = rt.store.get(DV, pvc["metadata"]["namespace"], ref["name"])
                return owner is not None and (owner.get("status") or {}).get("phase") == "Succeeded"
        return True

    # -- status --------------------------------------------------------------------------------
    def _status_from_pvc(self, rt: Runtime, dv: dict, pvc: dict, kind: str,
                         source: Optional[tuple[str, str]]) -> tuple[dict, Optional[tuple]]:
        status = copy.deepcopy(dv.get("status") or {})
        phase = status.get("phase", "")
        event: Optional[tuple] = None
        anns = pvc["metadata"].get("annotations") or {}
        status["claimName"] = pvc["metadata"]["name"]
        adopted = anns.get("cdi.kubevirt.io/storage.populatedFor") == dv["metadata"]["name"]
        work = (kind in _PHASES or kind in ("snapshot", "sourceRef")) and not adopted
        op = "clone" if kind in ("snapshot", "sourceRef") else kind
        pvc_phase = (pvc.get("status") or {}).get("phase")
        if kind == "" and not adopted:  # externally populated (spec.storage.dataSourceRef)
            phase = "Succeeded" if pvc_phase == "Bound" else "PendingPopulation"
        elif anns.get(r.ANN_POD_PHASE) == "Succeeded" and work:
            phase, event = self._worker_phase(dv, pvc, op, phase, source)
            if op in ("import", "clone"):
                status["progress"] = "100.0%"
        elif pvc_phase == "Pending":
            if not work:
                phase = "Succeeded"
            else:
                sc = rt.store.get(SC, None, pvc["spec"].get("storageClassName") or "")
                wffc = sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer"
                phase = "WaitForFirstConsumer" if (wffc and r.honor_wffc(rt.store)) else "Pending"
        elif pvc_phase == "Bound":
            if phase in ("", "Pending", "WaitForFirstConsumer", "Unknown"):
                phase = "PVCBound"
            if work:
                phase, event = self._worker_phase(dv, pvc, op, phase, source)
            else:
                phase = "Succeeded"
        elif pvc_phase == "Lost":
            phase = "Failed"
            event = ("Warning", "ErrClaimLost", f"PVC {pvc['metadata']['name']} lost")
        elif pvc_phase:
            phase = "Unknown"
        status["phase"] = phase
        restarts = int(anns.get(r.ANN_POD_RESTARTS) or 0)
        if restarts > 0:
            status["restartCount"] = restarts
        if not status.get("progress"):
            status["progress"] = "N/A"
        if op in ("import", "clone") and phase not in ("Succeeded", "Failed") and anns.get(r.ANN_POD_PHASE) == "Running":
            done = self.transfers.progress.get(pvc["metadata"]["uid"])
            if done is not None:
                status["progress"] = f"{done:.2f}%"
        status["conditions"] = self._conditions(status, pvc, "", "")
        return status, event

    def _worker_phase(self, dv: dict, pvc: dict, op: str, phase: str,
                      source: Optional[tuple[str, str]]) -> tuple[str, Optional[tuple]]:
        """updateStatusPhase of the import / upload / clone DataVolume controllers."""
        anns = pvc["metadata"].get("annotations") or {}
        pod_phase = anns.get(r.ANN_POD_PHASE)
        bound = (pvc.get("status") or {}).get("phase") == "Bound"
        if pod_phase != "Succeeded":
            if _REQUEST_ANNOTATION[op] not in anns or not bound:
                return phase, None
        phase = {"import": "ImportScheduled", "upload": "UploadScheduled", "clone": "CloneScheduled"}[op]
        if not pod_phase or pod_phase not in _PHASES[op]:
            return phase, None
        if op == "upload" and pod_phase == "Running" and anns.get(r.ANN_POD_READY) != "true":
            return phase, None
        reason, template = _PHASES[op][pod_phase]
        src_ns, src = source or ("", "")
        message = template.format(pvc=pvc["metadata"]["name"], ns=pvc["metadata"]["namespace"], src_ns=src_ns, src=src)
        new_phase = {"Pending": phase, "Failed": phase, "Succeeded": "Succeeded",
                     "Running": {"import": "ImportInProgress", "upload": "UploadReady", "clone": "CloneInProgress"}[op]}
        return new_phase[pod_phase], ("Warning" if pod_phase == "Failed" else "Normal", reason, message)

    def _conditions(self, status: dict, pvc: Optional[dict], reason: str, message: str) -> list[dict]:
        """updateConditions: Bound from the PVC, Ready from the phase, Running from the worker."""
        conds = list(status.get("conditions") or [])
        phase = status.get("phase", "")
        ready = {"Succeeded": "True", "Unknown": "Unknown"}.get(phase, "False")
        anns = (pvc or {}).get("metadata", {}).get("annotations") or {}
        if pvc is None:
            conds = update_condition(conds, "Bound", "False", message or "No PVC found", reason or "NotFound")
            conds = update_condition(conds, "Ready", "False", "", "")
        else:
            pvc_phase = (pvc.get("status") or {}).get("phase")
            name = pvc["metadata"]["name"]
            if pvc_phase == "Bound":
                conds = update_condition(conds, "Bound", "True", f"PVC {name} Bound", "Bound")
            elif pvc_phase == "Pending":
                conds = update_condition(conds, "Bound", "False", f"PVC {name} Pending", "Pending")
                conds = update_condition(conds, "Ready", "False", "", "")
            elif pvc_phase == "Lost":
                conds = update_condition(conds, "Bound", "False", "Claim Lost", "ClaimLost")
                conds = update_condition(conds, "Ready", "False", "", "")
            else:
                conds = update_condition(conds, "Bound", "False", "", "")
                conds = update_condition(conds, "Ready", "False", "", "")
        conds = update_condition(conds, "Ready", ready, message, reason)
        if anns.get(r.ANN_POD_SCHEDULABLE) == "false":
            conds = update_condition(conds, "Running", "False", "Importer pod cannot be scheduled", "Unschedulable")
        elif anns.get(r.ANN_RUNNING, "").lower() == "true":
            conds = update_condition(conds, "Running", "True", anns.get(r.ANN_RUNNING_MESSAGE, ""),
                                     anns.get(r.ANN_RUNNING_REASON, ""))
            conds = update_condition(conds, "Ready", "False", "", "TransferRunning")
        elif r.ANN_RUNNING in anns and anns[r.ANN_RUNNING].lower() != "false":
            conds = update_condition(conds, "Running", "Unknown", anns.get(r.ANN_RUNNING_MESSAGE, ""),
                                     anns.get(r.ANN_RUNNING_REASON, ""))
        else:
            conds = update_condition(conds, "Running", "False", anns.get(r.ANN_RUNNING_MESSAGE, ""),
                                     anns.get(r.ANN_RUNNING_REASON, ""))
        return conds

    def _fail(self, rt: Runtime, dv: dict, phase: str, reason: str, message: str) -> None:
        """Status without a PVC (updateDataVolumeStatusPhaseWithEvent with pvc == nil)."""
        status = copy.deepcopy(dv.get("status") or {})
        if phase:
            status["phase"] = phase
        else:
            status.pop("phase", None)
        status["conditions"] = self._conditions(status, None, reason, message)
        self._write_status(rt, dv, status, None)

    def _write_status(self, rt: Runtime, dv: dict, status: dict, event: Optional[tuple]) -> None:
        """Write the status if it changed and emit CDI's events (emitEvent / emitConditionEvent)."""
        old = dv.get("status") or {}
        if status == old:
            return
        meta = dv["metadata"]
        component = COMPONENTS.get(r.source_kind(dv.get("spec") or {}), COMPONENT)
        stored = rt.service.mutate(DV, meta["namespace"], meta["name"], lambda o: o.__setitem__("status", status),
                                   subresource="status") or dv
        if event is not None and old.get("phase", "") != status.get("phase", ""):
            rt.record_event(stored, event[1], event[2], event_type=event[0], component=component)
        old_conds = {c["type"]: c for c in old.get("conditions") or []}
        new_conds = {c["type"]: c for c in status.get("conditions") or []}
        bound, was = new_conds.get("Bound"), old_conds.get("Bound")
        if bound is not None and (was is None or any(bound.get(k) != was.get(k) for k in ("status", "reason", "message"))):
            if bound.get("reason"):
                rt.record_event(stored, bound["reason"], bound.get("message", ""), component=component)
        ready, running, was_running = new_conds.get("Ready"), new_conds.get("Running"), old_conds.get("Running")
        in_progress = bound is not None and (bound.get("status") == "True" or status.get("phase") in (
            "ImportInProgress", "CloneInProgress", "UploadReady"))
        if ready and running and ready.get("status") == "False" and running.get("status") == "False" and in_progress:
            message = running.get("message", "")
            if message and (was_running is None or was_running.get("message") != message):
                rt.record_event(stored, running.get("reason", ""), message, event_type="Warning", component=component)

    # -- DataSources ---------------------------------------------------------------------------
    def _reconcile_ds(self, rt: Runtime, ns: str, name: str) -> None:
        ds = rt.store.get(DATASOURCE, ns, name)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return
        key = (DATASOURCE, ns, name)
        status = copy.deepcopy(ds.get("status") or {})
        resolved, problem = resolve_data_source(rt.store, ds)
        ref = ((ds.get("spec") or {}).get("source") or {}).get("dataSource")
        if ref is not None:  # wake up when the referenced DataSource changes
            self._wait(("ds", ref.get("namespace") or ns, ref.get("name") or ""), key)
        source = ((resolved or ds).get("spec") or {}).get("source") or {}
        src_ns_default = ((resolved or ds).get("metadata") or {}).get("namespace") or ns
        if problem is not None:
            ready = ("False",) + problem
        elif "pvc" in source:
            src_ns = source["pvc"].get("namespace") or src_ns_default
            src_name = source["pvc"].get("name") or ""
            self._wait(("pvc", src_ns, src_name), key)
            pvc = rt.store.get(PVC, src_ns, src_name)
            dv = rt.store.get(DV, src_ns, src_name)
            if dv is not None:
                phase = (dv.get("status") or {}).get("phase", "")
                ready = ("True", "Ready", "DataSource is ready to be consumed") if phase == "Succeeded" else (
                    "False", phase, f"Import DataVolume phase {phase}")
            elif pvc is None:
                ready = ("False", "NotFound", "PVC not found")
            else:
                ready = ("True", "Ready", "DataSource is ready to be consumed")
        elif "snapshot" in source:
            snap_ns = source["snapshot"].get("namespace") or src_ns_default
            snap_name = source["snapshot"].get("name") or ""
            self._wait(("snap", snap_ns, snap_name), key)
            snap = rt.store.get(VOLUMESNAPSHOT, snap_ns, snap_name)
            if snap is None:  # handleSnapshotSource
                ready = ("False", "NotFound", "Snapshot not found")
            elif snapshot_ready(snap):
                ready = ("True", "Ready", "DataSource is ready to be consumed")
            else:
                ready = ("False", "SnapshotNotReady", "Snapshot phase is not ready")
        else:
            ready = ("False", "NoSource", "No source PVC set")
        status["conditions"] = update_condition(status.get("conditions") or [], "Ready", ready[0], ready[2], ready[1])
        # status.source: the resolved source, cleared while the DataSource is not ready (as CDI does)
        status["source"] = copy.deepcopy(source) if ready[0] == "True" else {}
        if status != (ds.get("status") or {}):
            rt.service.mutate(DATASOURCE, ns, name, lambda o: o.__setitem__("status", status), subresource="status")


def resolve_data_source(store: Any, ds: dict) -> tuple[Optional[dict], Optional[tuple[str, str]]]:
    """ResolveDataSourceChain: a DataSource may point at one other DataSource of its namespace.

    Returns the DataSource whose pvc/snapshot source counts and, when the chain is broken,
    the Ready condition's (reason, message) instead.
    """
    ref = ((ds.get("spec") or {}).get("source") or {}).get("dataSource")
    if ref is None:
        return ds, None
    meta = ds["metadata"]
    ref_ns = ref.get("namespace") or meta["namespace"]
    if ref_ns != meta["namespace"]:
        return ds, ("CrossNamespaceReference", "DataSource cannot reference a DataSource in another namespace")
    if ref.get("name") == meta["name"]:
        return None, ("SelfReference", "DataSource cannot self-reference")
    target = store.get(DATASOURCE, ref_ns, ref.get("name") or "")
    if target is None:
        return None, ("NotFound", f'datasources.cdi.kubevirt.io "{ref.get("name") or ""}" not found')
    if ((target.get("spec") or {}).get("source") or {}).get("dataSource") is not None:
        return None, ("MaxReferenceDepthReached", "DataSource reference chain exceeds maximum depth of 1")
    return target, None


def _serves_snapshots(rt: Runtime) -> bool:
    try:
        rt.registry.get(VOLUMESNAPSHOT)
        return True
    except KeyError:
        return False


def _clone_problem(source: dict, dv: dict) -> str:
    """validateClone: content types must match; an explicit target size must fit the source."""
    spec = dv.get("spec") or {}
    source_type = (source["metadata"].get("annotations") or {}).get(r.ANN_CONTENT_TYPE) or "kubevirt"
    target_type = spec.get("contentType") or "kubevirt"
    if source_type != target_type:
        return f"Source contentType ({source_type}) and target contentType ({target_type}) do not match"
    target = spec.get("pvc") if spec.get("pvc") is not None else spec.get("storage") or {}
    wanted = parse_bytes(((target.get("resources") or {}).get("requests") or {}).get("storage"))
    have = parse_bytes(((source.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage"))
    explicit = spec.get("pvc") is not None
    block = source["spec"].get("volumeMode") == "Block"
    if explicit or (wanted is not None and block):
        if wanted is None or have is None:
            return "source/target missing storage resource requests"
        if have > wanted:
            return f"target resources requests storage size is smaller than the source {wanted} < {have}"
    return ""


