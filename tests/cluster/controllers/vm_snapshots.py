"""VirtualMachineSnapshots and their contents (snapshot.kubevirt.io/v1beta1), as virt-controller's
snapshot controller does it (KubeVirt pkg/storage/snapshot/snapshot.go, source.go; the
vmsnapshot-validator webhook).

- A snapshot gets the ``vmsnapshot-protection`` finalizer and ``status`` (readyToUse false,
  phase InProgress, conditions Progressing/Ready). Without its source VM it stays InProgress with
  Progressing False "Source does not exist".
- The VM is locked once its claims exist, are bound and populated (an offline VM also needs no pod
  using them; one snapshot at a time): VM ``status.snapshotInProgress`` and the
  ``snapshot-source-protection`` finalizer; Progressing True "Source locked and operation in progress".
- A VirtualMachineSnapshotContent ``vmsnapshot-content-<snapshot uid>`` keeps the VM (simplified
  metadata and spec) and one volumeBackup per claim whose StorageClass has a VolumeSnapshotClass;
  the others are left out (``status.snapshotVolumes.excludedVolumes``, indication PartialSnapshot).
- The content freezes a running guest with an agent (VMI ``fsFreezeStatus``), creates the
  VolumeSnapshots ``vmsnapshot-<snapshot uid>-volume-<volume>`` (owned by the content; their bytes
  are cut by snapshots.py), sets ``creationTime`` and unfreezes once all are cut, ``readyToUse`` once
  all are ready. A failed freeze (knob: VMI annotation ``sim.virt.kubevirt.io/freeze-error``) sets
  the content error "Failed freezing vm <vm>: ..." and is retried every 5 s; the snapshot shows
  indication QuiesceFailed (as KubeVirt did while it matched "Failed freezing vm" in the error).
- Indications while in progress: Online (a VMI exists), Paused, GuestAgent (AgentConnected) or
  NoGuestAgent.
- ``failureDeadline`` (default 5m, 0 = none; one second is one transition): phase Failed,
  condition Failure "snapshot deadline exceeded", Progressing False "Operation failed".
- Deleting a snapshot deletes its content (deletionPolicy Delete, the default, or an unready
  content), unfreezes and unlocks the VM; the GC removes the content's VolumeSnapshots.
"""
from __future__ import annotations

import re
import time
from typing import Iterable, Optional

from ..api.objects import now_rfc3339
from ..api.resources import GR, AdmissionRequest
from ..api.store import Event
from .keys import PVC, VM, VMI
from .runtime import Controller, ObjKey, Runtime
from .snapshots import VOLUMESNAPSHOT
from .virtcommon import webhook_denied
from .vm_snapshot_source import FAILED_FREEZE, VMSource, simplified_meta, snapshot_class_for, snapshot_claim, vm_claims

VMSNAPSHOT: GR = ("snapshot.kubevirt.io", "virtualmachinesnapshots")
VMSNAPSHOTCONTENT: GR = ("snapshot.kubevirt.io", "virtualmachinesnapshotcontents")
SNAPSHOT_FINALIZER = "snapshot.kubevirt.io/vmsnapshot-protection"
CONTENT_FINALIZER = "snapshot.kubevirt.io/vmsnapshotcontent-protection"
SOURCE_NAME_LABEL = "snapshot.kubevirt.io/source-vm-name"
SOURCE_NAMESPACE_LABEL = "snapshot.kubevirt.io/source-vm-namespace"
DEADLINE_EXCEEDED = "snapshot deadline exceeded"
WEBHOOK = "virtualmachinesnapshot-validator.snapshot.kubevirt.io"
COMPONENT = "snapshot-controller"
RETRY_SECONDS = 5
DEFAULT_DEADLINE = 300.0
INDICATION_MESSAGES = {
    "Online": "Snapshot taken while the VM was running. Consistency depends on guest-agent quiescing.",
    "GuestAgent": "Guest agent was active and attempted to quiesce the filesystem for application consistency.",
    "NoGuestAgent": "Guest agent was not available. Snapshot is crash-consistent and may not be "
                    "application-consistent.",
    "QuiesceFailed": "Guest agent failed to quiesce the filesystem. Snapshot is crash-consistent and may not be "
                     "application-consistent.",
    "Paused": "Snapshot taken while the VM was paused. Snapshot is crash-consistent and may not be "
              "application-consistent.",
    "PartialSnapshot": "Not all snapshotable volumes were included in the snapshot. Check status.snapshotVolumes "
                       "for excluded volumes and VM VolumeSnapshotStatus for details.",
}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")


def parse_duration(text: Optional[str]) -> float:
    """A metav1.Duration ("5m", "1m30s", "0s") in seconds; None means the default."""
    if text is None:
        return DEFAULT_DEADLINE
    total, rest = 0.0, str(text)
    for number, unit in _DURATION.findall(rest):
        total += float(number) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return total


def content_name(snap: dict) -> str:
    return ((snap.get("status") or {}).get("virtualMachineSnapshotContentName")
            or f"vmsnapshot-content-{snap['metadata']['uid']}")


def _condition(conditions: list[dict], ctype: str, status: str, reason: str) -> list[dict]:
    """updateCondition: replace the type's entry; the transition time moves only when it changes."""
    old = next((c for c in conditions if c.get("type") == ctype), None)
    if old is not None and old.get("status") == status and old.get("reason") == reason:
        return conditions
    stamp = now_rfc3339()
    new = {"type": ctype, "status": status, "reason": reason, "lastProbeTime": None, "lastTransitionTime": stamp}
    return [c for c in conditions if c.get("type") != ctype] + [new]


class VMSnapshotController(Controller):
    name = "vm-snapshots"
    watches = (VMSNAPSHOT, VMSNAPSHOTCONTENT)

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}  # snapshot uid -> monotonic time first seen (the deadline's start)

    def setup(self, rt: Runtime) -> None:
        self.rt = rt
        rt.registry.add_validating(VMSNAPSHOT, self._admit)

    @staticmethod
    def _admit(request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if new is None or request.subresource or new["metadata"].get("deletionTimestamp"):
            return
        spec = new.get("spec") or {}
        if request.operation == "UPDATE":
            if old is not None and spec != (old.get("spec") or {}):
                raise webhook_denied(WEBHOOK, "spec in immutable after creation", 422, "Invalid",
                                     [{"reason": "FieldValueInvalid", "message": "spec in immutable after creation",
                                       "field": "spec"}])
            return
        source = spec.get("source") or {}
        if not source.get("apiGroup"):
            cause = ("missing apiGroup", "spec.source.apiGroup")
        elif source["apiGroup"] != "kubevirt.io":
            cause = ("invalid apiGroup", "spec.source.apiGroup")
        elif source.get("kind") != "VirtualMachine":
            cause = ("invalid kind", "spec.source.kind")
        else:
            return
        raise webhook_denied(WEBHOOK, cause[0], 422, "Invalid",
                             [{"reason": "FieldValueInvalid", "message": cause[0], "field": cause[1]}])

    # -- wiring ---------------------------------------------------------------------------------
    def keys_for(self, event: Event) -> Iterable[ObjKey]:
        meta = event.obj["metadata"]
        ns = meta.get("namespace") or ""
        if event.gr == VMSNAPSHOT:
            yield (VMSNAPSHOT, ns, meta["name"])
            yield (VMSNAPSHOTCONTENT, ns, content_name(event.obj))
        elif event.gr == VMSNAPSHOTCONTENT:
            yield (VMSNAPSHOTCONTENT, ns, meta["name"])
            snap = (event.obj.get("spec") or {}).get("virtualMachineSnapshotName")
            if snap:
                yield (VMSNAPSHOT, ns, snap)
        elif event.gr == VOLUMESNAPSHOT:
            for ref in meta.get("ownerReferences") or ():
                if ref.get("kind") == "VirtualMachineSnapshotContent":
                    yield (VMSNAPSHOTCONTENT, ns, ref["name"])
        elif event.gr in (VM, VMI, PVC):  # a lock waits for claims; indications follow the VMI
            for snap in self.rt.store.list(VMSNAPSHOT, ns)[0]:
                status = snap.get("status") or {}
                source = ((snap.get("spec") or {}).get("source") or {}).get("name")
                unfinished = status.get("phase") not in ("Succeeded", "Failed") or snap["metadata"].get(
                    "deletionTimestamp")
                if unfinished and (event.gr == PVC or source == meta["name"]):
                    yield (VMSNAPSHOT, ns, snap["metadata"]["name"])
                    yield (VMSNAPSHOTCONTENT, ns, content_name(snap))

    def reconcile(self, rt: Runtime, gr: GR, namespace: str, name: str) -> None:
        with rt.store.lock:
            if gr == VMSNAPSHOT:
                snap = rt.store.get(VMSNAPSHOT, namespace, name)
                if snap is not None:
                    self._snapshot(rt, snap)
            elif gr == VMSNAPSHOTCONTENT:
                content = rt.store.get(VMSNAPSHOTCONTENT, namespace, name)
                if content is not None:
                    self._content(rt, content)

    # -- helpers --------------------------------------------------------------------------------
    def _source(self, rt: Runtime, snap: dict) -> Optional[VMSource]:
        source = (snap.get("spec") or {}).get("source") or {}
        vm = rt.store.get(VM, snap["metadata"]["namespace"], source.get("name") or "")
        return VMSource(rt, vm, snap["metadata"]["name"]) if vm is not None else None

    def _remaining(self, rt: Runtime, snap: dict) -> Optional[float]:
        """timeUntilDeadline in real seconds (None: no deadline)."""
        deadline = parse_duration((snap.get("spec") or {}).get("failureDeadline"))
        if deadline <= 0:
            return None
        start = self._seen.setdefault(snap["metadata"]["uid"], time.monotonic())
        return start + deadline * rt.time_scale - time.monotonic()

    def _phase(self, snap: dict) -> str:
        return (snap.get("status") or {}).get("phase") or ""

    def _progressing(self, snap: dict) -> bool:
        return self._phase(snap) not in ("Succeeded", "Failed")

    def _deadline_exceeded(self, rt: Runtime, snap: dict) -> bool:
        if self._phase(snap) == "Failed":
            return True
        if not self._progressing(snap):
            return False
        remaining = self._remaining(rt, snap)
        return remaining is not None and remaining < 0

    def _terminating(self, rt: Runtime, snap: dict) -> bool:
        return bool(snap["metadata"].get("deletionTimestamp")) or self._deadline_exceeded(rt, snap)

    @staticmethod
    def _delete_policy(snap: dict, content: Optional[dict]) -> bool:
        """shouldDeleteContent: policy Delete (the default) or a content that never got ready."""
        policy = (snap.get("spec") or {}).get("deletionPolicy") or "Delete"
        return policy == "Delete" or not ((content or {}).get("status") or {}).get("readyToUse")

    # -- the snapshot ---------------------------------------------------------------------------
    def _snapshot(self, rt: Runtime, snap: dict) -> None:
        ns, name = snap["metadata"]["namespace"], snap["metadata"]["name"]
        source = self._source(rt, snap)
        content = rt.store.get(VMSNAPSHOTCONTENT, ns, content_name(snap))
        terminating = self._terminating(rt, snap)
        if not terminating and SNAPSHOT_FINALIZER not in (snap["metadata"].get("finalizers") or []):
            snap = rt.service.mutate(VMSNAPSHOT, ns, name, lambda o: o["metadata"].__setitem__(
                "finalizers", list(o["metadata"].get("finalizers") or []) + [SNAPSHOT_FINALIZER])) or snap
        can_remove = True
        retry: Optional[float] = None
        if snap.get("status") is not None and source is not None:
            if self._progressing(snap) and not terminating:
                if not source.locked:
                    source.lock()
                    retry = RETRY_SECONDS
                elif content is None:
                    self._create_content(rt, snap, source)
                can_remove = False
            else:
                if not self._progressing(snap) or (terminating and (content is None or not self._delete_policy(
                        snap, content))):
                    source.unlock()
                can_remove = not source.locked
        if terminating and content is not None and self._delete_policy(snap, content) and \
                not content["metadata"].get("deletionTimestamp"):
            rt.service.delete(VMSNAPSHOTCONTENT, ns, content["metadata"]["name"])
        snap = self._update_status(rt, snap, source) or snap
        if snap["metadata"].get("deletionTimestamp") and can_remove and \
                SNAPSHOT_FINALIZER in (snap["metadata"].get("finalizers") or []):
            rt.service.remove_finalizer(VMSNAPSHOT, ns, name, SNAPSHOT_FINALIZER)
            self._seen.pop(snap["metadata"]["uid"], None)
            return
        if retry is not None:
            rt.requeue(self, VMSNAPSHOT, ns, name, steps=retry)
        elif self._progressing(snap):
            remaining = self._remaining(rt, snap)
            if remaining is not None:
                rt.enqueue(self, (VMSNAPSHOT, ns, name), delay=max(remaining, 0.0) + 1e-3)

    def _create_content(self, rt: Runtime, snap: dict, source: VMSource) -> None:
        ns = snap["metadata"]["namespace"]
        backups = []
        for volume_name, claim in vm_claims(source.vm).items():
            pvc = snapshot_claim(rt.store, ns, claim)
            if pvc is None:
                continue
            backups.append({"volumeName": volume_name,
                            "persistentVolumeClaim": {"metadata": simplified_meta(pvc["metadata"]),
                                                      "spec": dict(pvc.get("spec") or {})},
                            "volumeSnapshotName": f"vmsnapshot-{snap['metadata']['uid']}-volume-{volume_name}"})
        name = content_name(snap)
        rt.service.create(VMSNAPSHOTCONTENT, {
            "apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshotContent",
            "metadata": {"name": name, "namespace": ns, "finalizers": [CONTENT_FINALIZER]},
            "spec": {"virtualMachineSnapshotName": snap["metadata"]["name"],
                     "source": {"virtualMachine": source.spec()}, "volumeBackups": backups}})
        rt.record_event(snap, "SuccessfulVirtualMachineSnapshotContentCreate",
                        f"Successfully created VirtualMachineSnapshotContent {name}", component=COMPONENT)

    def _update_status(self, rt: Runtime, snap: dict, source: Optional[VMSource]) -> Optional[dict]:
        ns = snap["metadata"]["namespace"]
        old = snap.get("status")
        status = dict(old) if old is not None else {"readyToUse": False}
        content = rt.store.get(VMSNAPSHOTCONTENT, ns, content_name(snap))
        if source is not None:
            status["sourceUID"] = source.vm["metadata"]["uid"]
        cstatus = (content or {}).get("status")
        if content is not None and cstatus is not None:
            status["virtualMachineSnapshotContentName"] = content["metadata"]["name"]
            for key in ("creationTime", "readyToUse", "error"):
                if cstatus.get(key) is not None:
                    status[key] = cstatus[key]
                else:
                    status.pop(key, None)
        conditions = list(status.get("conditions") or [])
        probe = {**snap, "status": status}
        if self._deadline_exceeded(rt, probe):
            status["phase"] = "Failed"
            conditions = _condition(conditions, "Failure", "True", DEADLINE_EXCEEDED)
            conditions = _condition(conditions, "Progressing", "False", "Operation failed")
        elif status.get("phase") == "Succeeded" or status.get("creationTime"):
            status["phase"] = "Succeeded"
            conditions = _condition(conditions, "Progressing", "False", "Operation complete")
            self._snapshot_volumes(rt, status, content)
        else:
            status["phase"] = "InProgress"
            if source is not None:
                conditions = _condition(conditions, "Progressing", "True" if source.locked else "False",
                                        source.message())
                self._indications(status, source)
            else:
                conditions = _condition(conditions, "Progressing", "False", "Source does not exist")
            if snap["metadata"].get("deletionTimestamp"):
                status["phase"] = "Deleting"
                conditions = _condition(conditions, "Progressing", "False", "VM snapshot is deleting")
        ready = bool(status.get("readyToUse"))
        conditions = _condition(conditions, "Ready", "True" if ready else "False", "Ready" if ready else "Not ready")
        if status.get("error"):
            conditions = _condition(conditions, "Progressing", "False", "In error state")
        status["conditions"] = conditions
        if status == old:
            return None
        return rt.service.mutate(VMSNAPSHOT, ns, snap["metadata"]["name"], lambda o: o.__setitem__("status", status),
                                 subresource="status")

    @staticmethod
    def _indications(status: dict, source: VMSource) -> None:
        if not source.online:
            status.pop("indications", None)
            status.pop("sourceIndications", None)
            return
        found = set(status.get("indications") or []) | {"Online"}
        if source.paused:
            found.add("Paused")
        elif source.guest_agent:
            found.add("GuestAgent")
            if FAILED_FREEZE in ((status.get("error") or {}).get("message") or ""):
                found.add("QuiesceFailed")
        else:
            found.add("NoGuestAgent")
        listed = sorted(found)
        status["indications"] = listed
        status["sourceIndications"] = [{"indication": i, "message": INDICATION_MESSAGES[i]} for i in listed]

    @staticmethod
    def _snapshot_volumes(rt: Runtime, status: dict, content: Optional[dict]) -> None:
        """updateSnapshotSnapshotableVolumes: included/excluded volumes; PartialSnapshot when a
        PVC/DataVolume volume was left out."""
        if content is None:
            return
        vm = ((content.get("spec") or {}).get("source") or {}).get("virtualMachine") or {}
        volumes = (((vm.get("spec") or {}).get("template") or {}).get("spec") or {}).get("volumes") or []
        backed = {b.get("volumeName") for b in (content.get("spec") or {}).get("volumeBackups") or ()}
        included = [v["name"] for v in volumes if v.get("name") in backed]
        excluded = [v["name"] for v in volumes if v.get("name") not in backed]
        lists = {}
        if included:
            lists["includedVolumes"] = included
        if excluded:
            lists["excludedVolumes"] = excluded
        status["snapshotVolumes"] = lists
        claims = vm_claims(vm)
        if any(name in claims for name in excluded) and "PartialSnapshot" not in (status.get("indications") or []):
            status["indications"] = list(status.get("indications") or []) + ["PartialSnapshot"]
            status["sourceIndications"] = list(status.get("sourceIndications") or []) + [
                {"indication": "PartialSnapshot", "message": INDICATION_MESSAGES["PartialSnapshot"]}]

    # -- the content ----------------------------------------------------------------------------
    def _content(self, rt: Runtime, content: dict) -> None:
        ns, name = content["metadata"]["namespace"], content["metadata"]["name"]
        snap_name = (content.get("spec") or {}).get("virtualMachineSnapshotName") or ""
        snap = rt.store.get(VMSNAPSHOT, ns, snap_name)
        source = self._source(rt, snap) if snap is not None else None
        if snap is None or self._terminating(rt, snap):
            if source is not None:
                source.unfreeze()
            if CONTENT_FINALIZER in (content["metadata"].get("finalizers") or []):
                rt.service.remove_finalizer(VMSNAPSHOTCONTENT, ns, name, CONTENT_FINALIZER)
            if snap is not None and self._delete_policy(snap, content):
                return
            content = rt.store.get(VMSNAPSHOTCONTENT, ns, name)
            if content is None:
                return
        if content["metadata"].get("deletionTimestamp"):
            return
        old = content.get("status")
        status = dict(old or {})
        created_before = bool(status.get("creationTime"))
        statuses, deleted, skipped = [], [], []
        froze = False
        for backup in (content.get("spec") or {}).get("volumeBackups") or ():
            vs_name = backup.get("volumeSnapshotName")
            if not vs_name:
                continue
            vs = rt.store.get(VOLUMESNAPSHOT, ns, vs_name)
            if vs is None:
                if created_before:
                    rt.record_event(content, "VolumeSnapshotMissing", f"VolumeSnapshot {vs_name} no longer exists",
                                    event_type="Warning", component=COMPONENT)
                    deleted.append(vs_name)
                    continue
                if snap is None or snap["metadata"].get("deletionTimestamp"):
                    skipped.append(vs_name)
                    continue
                if not froze:
                    if source is None:
                        return
                    error = source.freeze()
                    if error:
                        status.update(readyToUse=False, error={"message": error, "time": now_rfc3339()})
                        self._write_content(rt, content, old, status)
                        rt.requeue(self, VMSNAPSHOTCONTENT, ns, name, steps=RETRY_SECONDS)
                        return
                    froze = True
                vs = self._create_volume_snapshot(rt, content, backup)
                if vs is None:
                    continue
            vs_status = vs.get("status") or {}
            entry = {"volumeSnapshotName": vs_name}
            for key in ("readyToUse", "creationTime"):
                if vs_status.get(key) is not None:
                    entry[key] = vs_status[key]
            if vs_status.get("error"):
                entry["error"] = {k: v for k, v in vs_status["error"].items() if k in ("message", "time")}
            statuses.append(entry)
        created = ready = True
        message = ""
        if deleted:
            created = ready = False
            message = f"VolumeSnapshots ({','.join(deleted)}) missing"
        elif skipped:
            created = ready = False
            message = f"VolumeSnapshots ({','.join(skipped)}) skipped because vm snapshot is deleted"
        else:
            for entry in statuses:
                created = created and bool(entry.get("creationTime"))
                ready = ready and bool(entry.get("readyToUse"))
                if (entry.get("error") or {}).get("message"):
                    message = f"VolumeSnapshot {entry['volumeSnapshotName']} error: {entry['error']['message']}"
                    break
        if created and not status.get("creationTime"):
            status["creationTime"] = now_rfc3339()
            if source is not None:
                source.unfreeze()
        if message and not ready:
            if (status.get("error") or {}).get("message") != message:
                status["error"] = {"message": message, "time": now_rfc3339()}
        elif not message:
            status.pop("error", None)
        status["readyToUse"] = ready
        if statuses:
            status["volumeSnapshotStatus"] = statuses
        else:
            status.pop("volumeSnapshotStatus", None)
        self._write_content(rt, content, old, status)

    @staticmethod
    def _write_content(rt: Runtime, content: dict, old: Optional[dict], status: dict) -> None:
        if status != old:
            rt.service.mutate(VMSNAPSHOTCONTENT, content["metadata"]["namespace"], content["metadata"]["name"],
                              lambda o: o.__setitem__("status", status), subresource="status")

    def _create_volume_snapshot(self, rt: Runtime, content: dict, backup: dict) -> Optional[dict]:
        claim = backup.get("persistentVolumeClaim") or {}
        storage_class = (claim.get("spec") or {}).get("storageClassName")
        if not storage_class:
            return None
        class_name = snapshot_class_for(rt.store, storage_class)[0]
        if not class_name:
            return None
        vm = ((content.get("spec") or {}).get("source") or {}).get("virtualMachine") or {}
        vm_meta = vm.get("metadata") or {}
        meta = content["metadata"]
        created = rt.service.create(VOLUMESNAPSHOT, {
            "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
            "metadata": {"name": backup["volumeSnapshotName"], "namespace": meta["namespace"],
                         "labels": {SOURCE_NAME_LABEL: vm_meta.get("name", ""),
                                    SOURCE_NAMESPACE_LABEL: vm_meta.get("namespace", "")},
                         "ownerReferences": [{"apiVersion": "snapshot.kubevirt.io/v1beta1",
                                              "kind": "VirtualMachineSnapshotContent", "name": meta["name"],
                                              "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}]},
            "spec": {"source": {"persistentVolumeClaimName": (claim.get("metadata") or {}).get("name")},
                     "volumeSnapshotClassName": class_name}})
        rt.record_event(content, "SuccessfulVolumeSnapshotCreate",
                        f"Successfully created VolumeSnapshot {backup['volumeSnapshotName']}", component=COMPONENT)
        return created
