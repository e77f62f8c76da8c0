"""VirtualMachineRestore (snapshot.kubevirt.io/v1beta1), as KubeVirt's pkg/storage/snapshot/restore.go
and the virt-api restore admitter (pkg/storage/admitters/vmrestore.go) do it, one transition a step.

- Admission: ``spec.target.apiGroup`` required (``missing apiGroup``), kind VirtualMachine, a
  ``volumeRestorePolicy`` that exists, overrides with a volume name and a field, and no second
  unfinished restore of the same target (``VirtualMachineRestore "x" in progress``); spec immutable.
- Status starts ``complete: false`` with Progressing/Ready "Initializing VirtualMachineRestore"; the
  restore gets the target VM as owner and the ``snapshot.kubevirt.io/vmrestore-protection`` finalizer.
- A target whose VMI exists is not ready. ``targetReadinessPolicy``: WaitGracePeriod (default: waits,
  then fails 5 minutes - 300 steps - after creation), StopTarget (stops the VM through its stop
  subresource), FailImmediate (Failure condition), WaitEventually (waits as long as it takes); each
  with KubeVirt's messages and the RestoreTargetNotReady event.
- The snapshot must be ready (``VMSnapshot ns/name not ready``); restoring over another existing VM
  than the snapshot's source is an error (``restore source and restore target are different but
  restore target already exists``); errors leave Progressing False with the message and a
  VirtualMachineRestoreError event (``VirtualMachineRestore encountered error ...``) and are retried.
- The target's ``status.restoreInProgress`` is the restore's name while it runs.
- ``status.restores``: one PVC per volume backup, named by ``volumeRestoreOverrides[].restoreName``,
  else ``volumeRestorePolicy`` (RandomizeNames: ``restore-<restore uid>-<volume>``, InPlace: the
  original claim's name, which is deleted first, PrefixTargetName: ``<target>-<volume>``); the claim's
  ``dataSource`` is the VolumeSnapshot (the storage controller copies its bytes back), labels
  ``restore.kubevirt.io/source-vm-name/-namespace``, annotations ``restore.kubevirt.io/name`` and
  ``restore.kubevirt.io/lastRestoreUID``. DataVolume templates are renamed to the restored claims,
  whose DataVolume adopts them (``cdi.kubevirt.io/storage.populatedFor``, prePopulated).
- The target VM is created (Halted) or its spec replaced by the snapshot's, keeping its run
  strategy; ``spec.patches`` (JSON patch strings) apply to a new VM; obsolete DataVolumes are listed
  in ``deletedDataVolumes`` and deleted; then ``complete: true``, ``restoreTime``, Ready True and the
  VirtualMachineRestoreComplete event.
Not simulated: instancetype ControllerRevisions, backend-storage (TPM/EFI) volumes, VolumeOwnershipPolicy.
"""
from __future__ import annotations

import copy
import json
import time
from datetime import datetime, timezone
from typing import Iterable, Optional

from ..api import errors
from ..api.objects import now_rfc3339
from ..api.patch import json_patch
from ..api.resources import GR, AdmissionRequest, SubresourceCall
from ..api.store import Event
from .keys import DV, PVC, SC, VM, VMI
from .pacing import PacedController
from .runtime import ObjKey, Runtime
from .vm_snapshots import VMSNAPSHOT, VMSNAPSHOTCONTENT

VMRESTORE: GR = ("snapshot.kubevirt.io", "virtualmachinerestores")
FINALIZER = "snapshot.kubevirt.io/vmrestore-protection"
ANN_RESTORE_NAME = "restore.kubevirt.io/name"
ANN_LAST_RESTORE = "restore.kubevirt.io/lastRestoreUID"
ANN_POPULATED_FOR = "cdi.kubevirt.io/storage.populatedFor"
ANN_PREPOPULATED = "cdi.kubevirt.io/storage.prePopulated"
LABEL_SOURCE_NAME = "restore.kubevirt.io/source-vm-name"
LABEL_SOURCE_NAMESPACE = "restore.kubevirt.io/source-vm-namespace"
DROPPED_ANNOTATIONS = ("pv.kubernetes.io", "volume.beta.kubernetes.io", "cdi.kubevirt.io", "volume.kubernetes.io",
                       "k8s.io/CloneRequest", "k8s.io/CloneOf")
CONTENT_TYPE = "cdi.kubevirt.io/storage.contentType"
COMPONENT = "restore-controller"
GRACE_STEPS = 300  # snapshotv1.DefaultGracePeriod, 5 minutes: one second is one step
POLICIES = ("RandomizeNames", "InPlace", "PrefixTargetName")
WAIT_EVENTUALLY = "Waiting for target VM to be powered off. Please stop the restore target to proceed with restore"
STOP_TARGET = "Automatically stopping restore target for restore operation"
VMI_EXISTS = "Restore target VMI still exists, please stop the restore target to proceed with restore"
NOT_READY_FAILURE = "Restore target VMI must be powered off before restore operation"
GRACE_EXCEEDED = ("Restore target failed to be ready within 5m0s. Please power off the target VM before "
                  "attempting restore")
WAIT_GRACE = WAIT_EVENTUALLY + ", or the operation will fail after 5m0s"
EXISTING_TARGET = "restore source and restore target are different but restore target already exists"


class RestoreError(Exception):
    """A reconcile error: written to the conditions and an event, retried (doUpdateError)."""


def condition(ctype: str, status: str, reason: str) -> dict:
    return {"type": ctype, "status": status, "lastProbeTime": None, "lastTransitionTime": now_rfc3339(),
            "reason": reason}


def update_condition(conditions: list, new: dict) -> list:
    """snapshot util updateCondition: replaced when status or reason changed, else kept."""
    out = [dict(c) for c in conditions or []]
    for i, c in enumerate(out):
        if c.get("type") == new["type"]:
            if c.get("status") != new["status"] or c.get("reason") != new["reason"]:
                out[i] = new
            return out
    return out + [new]


def set_conditions(status: dict, progressing: str, ready: str, reason: str, failure: bool = False,
                   ready_reason: str = "") -> None:
    conds = update_condition(status.get("conditions") or [], condition("Progressing", progressing, reason))
    conds = update_condition(conds, condition("Ready", ready, ready_reason or reason))
    if failure:
        conds = update_condition(conds, condition("Failure", "True", reason))
    status["conditions"] = conds


def has_condition(obj: Optional[dict], ctype: str, status: str = "True") -> bool:
    return any(c.get("type") == ctype and c.get("status") == status
               for c in ((obj or {}).get("status") or {}).get("conditions") or [])


def restore_done(restore: dict) -> bool:
    """Neither progressing: complete, or failed."""
    return bool((restore.get("status") or {}).get("complete")) or has_condition(restore, "Failure")


def snapshot_ready(snap: Optional[dict]) -> bool:
    status = (snap or {}).get("status") or {}
    return status.get("readyToUse") is True and status.get("phase", "Succeeded") == "Succeeded"


def restore_value(restore: dict) -> str:
    return f"{restore['metadata']['name']}-{restore['metadata']['uid']}"


def volume_claim(volume: dict) -> str:
    return (volume.get("dataVolume") or {}).get("name") or \
        (volume.get("persistentVolumeClaim") or {}).get("claimName") or ""


def restore_volume_name(restore: dict, volume: str, claim: str) -> str:
    """restoreVolumeName: an override, else the policy (RandomizeNames by default)."""
    spec = restore.get("spec") or {}
    for override in spec.get("volumeRestoreOverrides") or []:
        if override.get("volumeName") == volume and override.get("restoreName"):
            return override["restoreName"]
    policy = spec.get("volumeRestorePolicy")
    if policy == "InPlace":
        return claim
    if policy == "PrefixTargetName":
        return _get_name(spec["target"]["name"], volume, 63)
    return f"restore-{restore['metadata']['uid']}-{volume}"


def _get_name(base: str, suffix: str, max_length: int) -> str:
    """openshift library-go naming.GetName: ``base-suffix``, shortened with a hash when too long."""
    import hashlib
    name = f"{base}-{suffix}"
    if len(name) <= max_length:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]  # naming uses a 32-bit fnv; the length is what matters
    return f"{base[:max_length - len(digest) - 1]}-{digest}"


def _ts_age(stamp: str) -> float:
    try:
        then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return 0.0
    return time.time() - then.timestamp()


class RestoreController(PacedController):
    name = "vm-restores"
    watches = (VMRESTORE,)

    def setup(self, rt: Runtime) -> None:
        self.rt = rt
        rt.registry.add_validating(VMRESTORE, self.validate)

    # -- admission (virt-api VMRestoreAdmitter) -------------------------------------------------
    def validate(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if new is None or request.subresource:
            return
        if request.operation == "UPDATE":
            if old is not None and (old.get("spec") or {}) != (new.get("spec") or {}):
                raise _denied([("spec in immutable after creation", "spec")])
            return
        if request.operation != "CREATE":
            return
        spec = new.get("spec") or {}
        target = spec.get("target") or {}
        causes: list[tuple[str, str]] = []
        if target.get("apiGroup") is None:
            causes.append(("missing apiGroup", "spec.target.apiGroup"))
        elif target.get("apiGroup") != "kubevirt.io":
            causes.append(("invalid apiGroup", "spec.target.apiGroup"))
        elif target.get("kind") != "VirtualMachine":
            causes.append(("invalid kind", "spec.target.kind"))
        else:
            for i, override in enumerate(spec.get("volumeRestoreOverrides") or []):
                if not override.get("volumeName"):
                    causes.append(("must provide a volume name", f"spec.volumeRestoreOverrides[{i}].volumeName"))
                if not (override.get("restoreName") or override.get("labels") or override.get("annotations")):
                    causes.append(("must provide at least one overriden field", f"spec.volumeRestoreOverrides[{i}]"))
            policy = spec.get("volumeRestorePolicy")
            if policy is not None and policy not in POLICIES:
                causes.append((f'volume restore policy "{policy}" doesn\'t exist', "spec.volumeRestorePolicy"))
        namespace = request.namespace or new["metadata"].get("namespace")
        for other in self.rt.store.list(VMRESTORE, namespace)[0]:
            if (other.get("spec") or {}).get("target") == target and not (other.get("status") or {}).get("complete"):
                causes.append((f'VirtualMachineRestore "{other["metadata"]["name"]}" in progress', "spec.target"))
        if causes:
            raise _denied(causes)

    # -- event mapping ---------------------------------------------------------------------------
    def keys_for(self, event: Event) -> Iterable[ObjKey]:
        meta = event.obj["metadata"]
        ns = meta.get("namespace") or ""
        if event.gr == VMRESTORE:
            yield (VMRESTORE, ns, meta["name"])
        elif event.gr in (VMI, VM, VMSNAPSHOT, PVC, DV):
            for restore in self.rt.store.list(VMRESTORE, ns)[0]:
                if restore_done(restore) and not restore["metadata"].get("deletionTimestamp"):
                    continue
                spec = restore.get("spec") or {}
                if event.gr in (VMI, VM) and spec.get("target", {}).get("name") != meta["name"]:
                    continue
                if event.gr == VMSNAPSHOT and spec.get("virtualMachineSnapshotName") != meta["name"]:
                    continue
                yield (VMRESTORE, ns, restore["metadata"]["name"])

    # -- reconcile -------------------------------------------------------------------------------
    def reconcile(self, rt: Runtime, gr: GR, namespace: str, name: str) -> None:
        key = (gr, namespace, name)
        restore = rt.store.get(VMRESTORE, namespace, name)
        if restore is None or not self._due_now(rt, key):
            return
        if restore.get("status") is None:
            status = {"complete": False}
            set_conditions(status, "True", "False", "Initializing VirtualMachineRestore")
            self._write_status(rt, restore, status)
            return self._step(rt, key)
        vm = rt.store.get(VM, namespace, restore["spec"]["target"]["name"])
        if restore["metadata"].get("deletionTimestamp"):
            return self._deleting(rt, restore, vm)
        if restore_done(restore):
            return
        if self._own(rt, restore, vm):
            return self._step(rt, key)
        status = copy.deepcopy(restore["status"])
        try:
            progressed = self._advance(rt, restore, vm, status)
        except RestoreError as exc:
            self._error(rt, restore, str(exc))
            return self._step(rt, key, 5)
        if progressed:
            self._step(rt, key)

    def _own(self, rt: Runtime, restore: dict, vm: Optional[dict]) -> bool:
        """Owner reference to the target VM and the finalizer (one metadata update)."""
        meta = restore["metadata"]
        owners = meta.get("ownerReferences") or []
        finalizers = meta.get("finalizers") or []
        if (owners or vm is None) and FINALIZER in finalizers:
            return False

        def write(o: dict) -> None:
            if not o["metadata"].get("ownerReferences") and vm is not None:
                o["metadata"]["ownerReferences"] = [{
                    "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "name": vm["metadata"]["name"],
                    "uid": vm["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
            if FINALIZER not in (o["metadata"].get("finalizers") or []):
                o["metadata"]["finalizers"] = list(o["metadata"].get("finalizers") or []) + [FINALIZER]
        rt.service.mutate(VMRESTORE, meta["namespace"], meta["name"], write)
        return True

    def _advance(self, rt: Runtime, restore: dict, vm: Optional[dict], status: dict) -> bool:
        """One step of updateVMRestore; True when something changed (requeue one step later)."""
        ns = restore["metadata"]["namespace"]
        if vm is not None and rt.store.get(VMI, ns, vm["metadata"]["name"]) is not None:
            return self._not_ready(rt, restore, vm, status)
        snap, content = self._snapshot(rt, restore)
        if vm is not None and not self._restored(restore, vm) and \
                (snap.get("status") or {}).get("sourceUID") not in (None, vm["metadata"]["uid"]):
            raise RestoreError(EXISTING_TARGET)
        if vm is not None and not self._restored(restore, vm):
            current = (vm.get("status") or {}).get("restoreInProgress")
            if current and current != restore["metadata"]["name"]:
                raise RestoreError(f"vm restore {current} in progress")
            if current is None:
                self._vm_status(rt, vm, restore["metadata"]["name"])
                return True
        for step, doing, waiting in ((self._volumes, "Creating new PVCs", "Waiting for new PVCs"),
                                     (self._target, "Updating target spec", "Waiting for target update")):
            if step(rt, restore, vm, content, status):
                set_conditions(status, "True", "False", doing, ready_reason=waiting)
                self._write_status(rt, restore, status)
                return True
        for dv_name in status.get("deletedDataVolumes") or []:
            if rt.store.get(DV, ns, dv_name) is not None:
                rt.service.delete(DV, ns, dv_name)
        vm = rt.store.get(VM, ns, restore["spec"]["target"]["name"])
        if vm is None:
            raise RestoreError("At this point target should exist")
        if (vm.get("status") or {}).get("restoreInProgress") == restore["metadata"]["name"]:
            self._vm_status(rt, vm, None)
        rt.record_event(restore, "VirtualMachineRestoreComplete",
                        f"Successfully completed VirtualMachineRestore {restore['metadata']['name']}", component=COMPONENT)
        status["complete"] = True
        status["restoreTime"] = now_rfc3339()
        set_conditions(status, "False", "True", "Operation complete")
        self._write_status(rt, restore, status)
        return False

    # -- target readiness ------------------------------------------------------------------------
    def _not_ready(self, rt: Runtime, restore: dict, vm: dict, status: dict) -> bool:
        policy = (restore.get("spec") or {}).get("targetReadinessPolicy") or "WaitGracePeriod"
        key = (VMRESTORE, restore["metadata"]["namespace"], restore["metadata"]["name"])
        if policy == "StopTarget":
            self._warn_once(rt, restore, status, STOP_TARGET, STOP_TARGET)
            handler = rt.registry.find_subresource("subresources.kubevirt.io", "virtualmachines", "stop")
            if handler is not None:
                try:
                    handler(SubresourceCall("PUT", ("subresources.kubevirt.io", "virtualmachines"), "v1",
                                            vm["metadata"]["namespace"], vm["metadata"]["name"], "stop", {}, {},
                                            "system:serviceaccount:kubevirt:kubevirt-controller", False))
                except errors.ApiError:
                    pass  # already stopping
            return True
        if policy == "FailImmediate":
            self._fail(rt, restore, status, NOT_READY_FAILURE)
            return False
        if policy == "WaitGracePeriod":
            age = _ts_age(restore["metadata"].get("creationTimestamp", ""))
            if age >= GRACE_STEPS * rt.time_scale:
                self._fail(rt, restore, status, GRACE_EXCEEDED)
                return False
            self._warn_once(rt, restore, status, WAIT_GRACE, VMI_EXISTS)
            self._step(rt, key, max(GRACE_STEPS - age / rt.time_scale, 0.5))
            return False
        self._warn_once(rt, restore, status, WAIT_EVENTUALLY, VMI_EXISTS)  # WaitEventually
        return False

    def _warn_once(self, rt: Runtime, restore: dict, status: dict, reason: str, event: str) -> None:
        before = json.dumps(status.get("conditions"), sort_keys=True)
        set_conditions(status, "False", "False", reason)
        if json.dumps(status["conditions"], sort_keys=True) != before:
            rt.record_event(restore, "RestoreTargetNotReady", event, event_type="Warning", component=COMPONENT)
            self._write_status(rt, restore, status)

    def _fail(self, rt: Runtime, restore: dict, status: dict, message: str) -> None:
        rt.record_event(restore, "Operation failed", f"VirtualMachineRestore failed {message}",
                        event_type="Warning", component=COMPONENT)
        set_conditions(status, "False", "False", message, failure=True)
        self._write_status(rt, restore, status)

    def _error(self, rt: Runtime, restore: dict, message: str) -> None:
        status = copy.deepcopy(restore.get("status") or {})
        before = json.dumps(status.get("conditions"), sort_keys=True)
        set_conditions(status, "False", "False", message)
        if json.dumps(status["conditions"], sort_keys=True) != before:
            rt.record_event(restore, "VirtualMachineRestoreError", f"VirtualMachineRestore encountered error {message}",
                            event_type="Warning", component=COMPONENT)
            self._write_status(rt, restore, status)

    # -- snapshot --------------------------------------------------------------------------------
    def _snapshot(self, rt: Runtime, restore: dict) -> tuple[dict, dict]:
        ns = restore["metadata"]["namespace"]
        name = restore["spec"].get("virtualMachineSnapshotName") or ""
        snap = rt.store.get(VMSNAPSHOT, ns, name)
        where = f"{ns}/{name}"
        if snap is None:
            raise RestoreError(f"VMSnapshot {where} does not exist")
        if has_condition(snap, "Failure") or (snap.get("status") or {}).get("phase") == "Failed":
            raise RestoreError(f"VMSnapshot {where} failed and is invalid to use")
        if not snapshot_ready(snap):
            raise RestoreError(f"VMSnapshot {where} not ready")
        content_name = (snap.get("status") or {}).get("virtualMachineSnapshotContentName")
        if not content_name:
            raise RestoreError(f"no snapshot content name in {where}")
        content = rt.store.get(VMSNAPSHOTCONTENT, ns, content_name)
        if content is None:
            raise RestoreError(f"VMSnapshotContent {ns}/{content_name} does not exist")
        if not ((content.get("status") or {}).get("readyToUse")):
            raise RestoreError(f"VMSnapshotContent {ns}/{content_name} not ready")
        return snap, content

    def _restored(self, restore: dict, obj: Optional[dict]) -> bool:
        return ((obj or {}).get("metadata", {}).get("annotations") or {}).get(ANN_LAST_RESTORE) == restore_value(restore)

    # -- volumes (reconcileVolumeRestores) -------------------------------------------------------
    def _volumes(self, rt: Runtime, restore: dict, vm: Optional[dict], content: dict, status: dict) -> bool:
        ns = restore["metadata"]["namespace"]
        source_vm = (content["spec"].get("source") or {}).get("virtualMachine") or {}
        memory_dumps = {v.get("name") for v in _template_spec(source_vm).get("volumes") or [] if v.get("memoryDump")}
        known = {r["volumeName"]: r for r in status.get("restores") or []}
        wanted = []
        for backup in content["spec"].get("volumeBackups") or []:
            volume = backup.get("volumeName")
            if volume in memory_dumps:
                continue
            if volume in known:
                wanted.append(known[volume])
                continue
            if not backup.get("volumeSnapshotName"):
                raise RestoreError(f"VolumeSnapshotName missing {backup}")
            claim = ((backup.get("persistentVolumeClaim") or {}).get("metadata") or {}).get("name", "")
            wanted.append({"volumeName": volume, "persistentVolumeClaim": restore_volume_name(restore, volume, claim),
                           "volumeSnapshotName": backup["volumeSnapshotName"]})
        if wanted != (status.get("restores") or []):
            status["restores"] = wanted
            return True
        busy = False
        for item in wanted:
            pvc = rt.store.get(PVC, ns, item["persistentVolumeClaim"])
            if pvc is None:
                backup = next(b for b in content["spec"]["volumeBackups"] if b.get("volumeName") == item["volumeName"])
                self._create_pvc(rt, restore, vm, backup, item, source_vm)
                busy = True
            elif (restore["spec"].get("volumeRestorePolicy") == "InPlace") and not self._restored(restore, pvc):
                owner = next((o for o in pvc["metadata"].get("ownerReferences") or [] if o.get("controller")), None)
                if owner and owner.get("kind") == "DataVolume":
                    if item.get("dataVolumeName") is None:
                        item["dataVolumeName"] = owner["name"]
                        busy = True
                        continue
                    if rt.store.get(DV, ns, owner["name"]) is not None:
                        rt.service.mutate(DV, ns, owner["name"], lambda o: o["metadata"].setdefault(
                            "annotations", {}).update({ANN_RESTORE_NAME: restore["metadata"]["name"],
                                                       ANN_PREPOPULATED: owner["name"]}))
                rt.service.delete(PVC, ns, pvc["metadata"]["name"])
                busy = True
            elif (pvc.get("status") or {}).get("phase") == "Pending":
                sc = rt.store.get(SC, None, (pvc.get("spec") or {}).get("storageClassName") or "")
                if sc is None and pvc["spec"].get("storageClassName"):
                    raise RestoreError(f"StorageClass {pvc['spec']['storageClassName']} does not exist")
                if (sc or {}).get("volumeBindingMode", "Immediate") == "Immediate":
                    busy = True
            elif (pvc.get("status") or {}).get("phase") != "Bound":
                raise RestoreError(f"PVC {ns}/{pvc['metadata']['name']} in status "
                                   f"\"{(pvc.get('status') or {}).get('phase')}\"")
        if wanted != (status.get("restores") or []):
            status["restores"] = wanted
        return busy

    def _create_pvc(self, rt: Runtime, restore: dict, vm: Optional[dict], backup: dict, item: dict,
                    source_vm: dict) -> None:
        """CreateRestorePVCDefFromVMRestore: the backed-up claim's spec with the VolumeSnapshot as source."""
        ns = restore["metadata"]["namespace"]
        snap = rt.store.get(("snapshot.storage.k8s.io", "volumesnapshots"), ns, item["volumeSnapshotName"])
        if snap is None:
            raise RestoreError(f"missing volumeSnapshot {item['volumeSnapshotName']}")
        source = backup.get("persistentVolumeClaim") or {}
        smeta, sspec = source.get("metadata") or {}, copy.deepcopy(source.get("spec") or {})
        labels = dict(smeta.get("labels") or {})
        labels.pop("persistentstate.kubevirt.io", None)
        annotations = {k: v for k, v in (smeta.get("annotations") or {}).items()
                       if k == CONTENT_TYPE or not k.startswith(DROPPED_ANNOTATIONS)}
        labels[LABEL_SOURCE_NAME] = (source_vm.get("metadata") or {}).get("name", "")
        labels[LABEL_SOURCE_NAMESPACE] = (source_vm.get("metadata") or {}).get("namespace", ns)
        annotations[ANN_RESTORE_NAME] = restore["metadata"]["name"]
        annotations[ANN_LAST_RESTORE] = restore_value(restore)
        for override in restore["spec"].get("volumeRestoreOverrides") or []:
            if override.get("volumeName") == item["volumeName"]:
                labels.update(override.get("labels") or {})
                annotations.update(override.get("annotations") or {})
        resources = copy.deepcopy(sspec.get("resources") or {"requests": {}})
        size = (snap.get("status") or {}).get("restoreSize")
        if size and not resources.get("requests", {}).get("storage"):
            resources.setdefault("requests", {})["storage"] = size
        ref = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": item["volumeSnapshotName"]}
        pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": item["persistentVolumeClaim"], "namespace": ns, "labels": labels,
                            "annotations": annotations},
               "spec": {k: v for k, v in {"accessModes": sspec.get("accessModes"), "resources": resources,
                                          "storageClassName": sspec.get("storageClassName"),
                                          "volumeMode": sspec.get("volumeMode"), "dataSource": ref,
                                          "dataSourceRef": dict(ref)}.items() if v is not None}}
        if item.get("dataVolumeName"):
            annotations[ANN_POPULATED_FOR] = item["dataVolumeName"]
        elif vm is not None:
            pvc["metadata"]["ownerReferences"] = [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                                                   "name": vm["metadata"]["name"], "uid": vm["metadata"]["uid"],
                                                   "controller": True, "blockOwnerDeletion": True}]
        rt.service.create(PVC, pvc)

    # -- target (vmRestoreTarget.Reconcile) ------------------------------------------------------
    def _target(self, rt: Runtime, restore: dict, vm: Optional[dict], content: dict, status: dict) -> bool:
        if vm is not None and self._restored(restore, vm):
            return False
        ns = restore["metadata"]["namespace"]
        source_vm = (content["spec"].get("source") or {}).get("virtualMachine") or {}
        templates = {t["metadata"]["name"]: t for t in (source_vm.get("spec") or {}).get("dataVolumeTemplates") or []}
        by_volume = {v.get("name"): v for v in _template_spec(source_vm).get("volumes") or []}
        changed = False
        for item in status.get("restores") or []:  # updateVMRestoreRestores: DataVolume template volumes
            dv_name = (by_volume.get(item["volumeName"], {}).get("dataVolume") or {}).get("name")
            if dv_name not in templates:
                continue
            new_dv = restore_volume_name(restore, item["volumeName"], dv_name)
            pvc = rt.store.get(PVC, ns, item["persistentVolumeClaim"])
            if pvc is None:
                raise RestoreError(f"pvc {ns}/{item['persistentVolumeClaim']} does not exist and should")
            if (pvc["metadata"].get("annotations") or {}).get(ANN_POPULATED_FOR) != new_dv:
                def adopt(o: dict, dv: str = new_dv) -> None:
                    o["metadata"].setdefault("annotations", {})[ANN_POPULATED_FOR] = dv
                    o["metadata"].pop("ownerReferences", None)
                rt.service.mutate(PVC, ns, pvc["metadata"]["name"], adopt)
            if item.get("dataVolumeName") != new_dv:
                item["dataVolumeName"] = new_dv
                changed = True
        if changed:
            return True
        restored = self._restored_vm(restore, vm, source_vm, status)
        waiting = False
        for template in (restored["spec"].get("dataVolumeTemplates") or []):
            name = template["metadata"]["name"]
            dv = rt.store.get(DV, ns, name)
            if dv is not None:
                waiting = waiting or (dv.get("status") or {}).get("phase") not in (
                    "Succeeded", "WaitForFirstConsumer", "PendingPopulation")
                continue
            pvc = rt.store.get(PVC, ns, name)
            if pvc is None:
                raise RestoreError(f"when creating restore dv pvc {ns}/{name} does not exist and should")
            if (pvc["metadata"].get("annotations") or {}).get(ANN_POPULATED_FOR) != name or \
                    pvc["metadata"].get("ownerReferences"):
                continue
            meta = copy.deepcopy(template.get("metadata") or {})
            meta.update(namespace=ns)
            meta.setdefault("annotations", {}).update({ANN_RESTORE_NAME: restore["metadata"]["name"],
                                                       ANN_PREPOPULATED: "true"})
            rt.service.create(DV, {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": meta,
                                   "spec": copy.deepcopy(template.get("spec") or {})})
            waiting = True
        if vm is not None:
            new_names = {t["metadata"]["name"] for t in restored["spec"].get("dataVolumeTemplates") or []}
            deleted = [t["metadata"]["name"] for t in (vm.get("spec") or {}).get("dataVolumeTemplates") or []
                       if t["metadata"]["name"] not in new_names]
            if deleted != (status.get("deletedDataVolumes") or []):
                status["deletedDataVolumes"] = deleted
                return True
        if waiting:
            return True
        if vm is None:
            patches = restore["spec"].get("patches") or []
            if patches:
                try:
                    restored = apply_patches(restored, patches)
                except (errors.ApiError, ValueError) as exc:
                    raise RestoreError(f"error patching VM {restored['metadata']['name']}: {exc}") from exc
            rt.service.create(VM, restored)
        else:
            rt.service.mutate(VM, ns, vm["metadata"]["name"], lambda o: (
                o.__setitem__("spec", restored["spec"]),
                o["metadata"].__setitem__("annotations", restored["metadata"]["annotations"])))
        return True

    def _restored_vm(self, restore: dict, vm: Optional[dict], source_vm: dict, status: dict) -> dict:
        """generateRestoredVMSpec: the snapshot's spec with restored claim and DataVolume names."""
        spec = copy.deepcopy(source_vm.get("spec") or {})
        templates = spec.get("dataVolumeTemplates") or []
        restores = {r["volumeName"]: r for r in status.get("restores") or []}
        volumes = []
        for volume in _template_spec(source_vm).get("volumes") or []:
            volume = copy.deepcopy(volume)
            item = restores.get(volume.get("name"))
            if volume.get("memoryDump"):
                continue
            if item and volume.get("persistentVolumeClaim"):
                volume["persistentVolumeClaim"]["claimName"] = item["persistentVolumeClaim"]
            elif item and volume.get("dataVolume"):
                index = next((i for i, t in enumerate(templates) if t["metadata"]["name"] == volume["dataVolume"]["name"]),
                             -1)
                if index >= 0:
                    templates[index]["metadata"]["name"] = item["dataVolumeName"]
                    volume["dataVolume"]["name"] = item["dataVolumeName"]
                else:
                    volume = {"name": volume["name"], "persistentVolumeClaim": {"claimName": item["persistentVolumeClaim"]}}
            volumes.append(volume)
        spec.setdefault("template", {}).setdefault("spec", {})["volumes"] = volumes
        ns, target = restore["metadata"]["namespace"], restore["spec"]["target"]["name"]
        if vm is None:
            smeta = source_vm.get("metadata") or {}
            meta = {"name": target, "namespace": ns, "labels": dict(smeta.get("labels") or {}),
                    "annotations": dict(smeta.get("annotations") or {})}
            if spec.get("running") is not None:
                spec["running"] = False
            else:
                spec["runStrategy"] = "Halted"
        else:
            meta = {"name": target, "namespace": ns, "annotations": dict(vm["metadata"].get("annotations") or {})}
            current = vm.get("spec") or {}
            if current.get("running") is not None:
                spec["running"] = False
                spec.pop("runStrategy", None)
            else:
                spec["runStrategy"] = current.get("runStrategy") or "Halted"
                spec.pop("running", None)
        meta["annotations"][ANN_LAST_RESTORE] = restore_value(restore)
        if (source_vm.get("metadata") or {}).get("name") == target:
            from .virtapi import legacy_firmware_uuid
            firmware = spec["template"]["spec"].setdefault("domain", {}).setdefault("firmware", {})
            firmware.setdefault("uuid", legacy_firmware_uuid(target))
        return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": meta, "spec": spec}

    # -- deletion and writes ---------------------------------------------------------------------
    def _deleting(self, rt: Runtime, restore: dict, vm: Optional[dict]) -> None:
        meta = restore["metadata"]
        if FINALIZER not in (meta.get("finalizers") or []):
            return
        if vm is not None and (vm.get("status") or {}).get("restoreInProgress") == meta["name"]:
            self._vm_status(rt, vm, None)
        rt.service.remove_finalizer(VMRESTORE, meta["namespace"], meta["name"], FINALIZER)

    def _vm_status(self, rt: Runtime, vm: dict, value: Optional[str]) -> None:
        def write(o: dict) -> None:
            status = o.setdefault("status", {})
            if value is None:
                status.pop("restoreInProgress", None)
            else:
                status["restoreInProgress"] = value
        rt.service.mutate(VM, vm["metadata"]["namespace"], vm["metadata"]["name"], write, subresource="status")

    def _write_status(self, rt: Runtime, restore: dict, status: dict) -> None:
        rt.service.mutate(VMRESTORE, restore["metadata"]["namespace"], restore["metadata"]["name"],
                          lambda o: o.__setitem__("status", copy.deepcopy(status)), subresource="status")


def apply_patches(doc: dict, patches: list[str]) -> dict:
    """patchVM with gopkg.in/evanphx/json-patch.v4: a "replace" of a missing object key sets it (v4
    reads a missing key as null), which the clone controller relies on for macAddress and serial."""
    for text in patches:
        op = json.loads(text)
        if op.get("op") == "replace":
            parts = [p.replace("~1", "/").replace("~0", "~") for p in str(op.get("path", "")).split("/")[1:]]
            parent: object = doc
            for part in parts[:-1]:
                parent = parent.get(part) if isinstance(parent, dict) else (
                    parent[int(part)] if isinstance(parent, list) and part.isdigit() and int(part) < len(parent) else None)
            if isinstance(parent, dict) and parts and parts[-1] not in parent:
                op = dict(op, op="add")
        doc = json_patch(doc, [op])
    return doc


def _template_spec(vm: dict) -> dict:
    return (((vm.get("spec") or {}).get("template") or {}).get("spec")) or {}


def _denied(causes: list[tuple[str, str]],
            webhook: str = "virtualmachinerestore-validator.snapshot.kubevirt.io") -> errors.ApiError:
    from .virtapi import summary
    from .virtcommon import webhook_denied
    items = [{"reason": "FieldValueInvalid", "message": m, "field": f} for m, f in causes]
    return webhook_denied(webhook, summary(items), 422, "Invalid", items)
