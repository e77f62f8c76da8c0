"""The VM side of a VirtualMachineSnapshot (KubeVirt pkg/storage/snapshot/source.go and the volume
helpers of snapshot.go): source state, lock/unlock, freeze/unfreeze, which claims can be
snapshotted, the VolumeSnapshotClass of a StorageClass and the VM's ``volumeSnapshotStatuses``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Optional

from .keys import DV, POD, PVC, SC, SP, VM, VMI
from .runtime import Runtime
from .snapshots import ANN_DEFAULT, VOLUMESNAPSHOTCLASS
from .virtcommon import get_condition, has_condition, volume_claim_name

SOURCE_FINALIZER = "snapshot.kubevirt.io/snapshot-source-protection"
# Simulator knob on a VMI: the guest agent's fsfreeze fails with this text (virt-handler's error).
FREEZE_ERROR_ANNOTATION = "sim.virt.kubevirt.io/freeze-error"
FAILED_FREEZE = "Failed freezing vm"


def snapshot_class_for(store, storage_class: str) -> tuple[str, str]:
    """getVolumeSnapshotClassName: (class name or "", error text). The StorageProfile's
    snapshotClass wins, else the one class whose driver is the provisioner (or the default of several)."""
    sc = store.get(SC, None, storage_class)
    if sc is None:
        return "", ""
    profile_class = (((store.get(SP, None, storage_class) or {}).get("status") or {}).get("snapshotClass")) or ""
    if profile_class:
        return (profile_class, "") if store.get(VOLUMESNAPSHOTCLASS, None, profile_class) else ("", "")
    matches = [c for c in store.list(VOLUMESNAPSHOTCLASS)[0] if c.get("driver") == sc.get("provisioner")]
    if len(matches) == 1:
        return matches[0]["metadata"]["name"], ""
    for found in matches:
        if ANN_DEFAULT in (found["metadata"].get("annotations") or {}):
            return found["metadata"]["name"], ""
    if matches:
        return "", f"{len(matches)} matching VolumeSnapshotClasses for {storage_class}"
    return "", ""


def _snapshottable(volume: dict) -> bool:
    return bool(volume.get("persistentVolumeClaim") or volume.get("dataVolume") or volume.get("memoryDump"))


def _claim_of(volume: dict) -> str:
    return volume_claim_name(volume) or (volume.get("memoryDump") or {}).get("claimName", "")


def volume_storage_class(store, vm: dict, volume: dict) -> tuple[str, str]:
    """getVolumeStorageClass: (class, error). A DataVolume's own class, then its VM template's, then the claim's."""
    ns = vm["metadata"]["namespace"]
    claim = _claim_of(volume)
    if volume.get("dataVolume"):
        dv_spec = (store.get(DV, ns, claim) or {}).get("spec") or {}
        named = (dv_spec.get("pvc") or {}).get("storageClassName")
        if named:
            return named, ""
        for template in (vm.get("spec") or {}).get("dataVolumeTemplates") or ():
            if (template.get("metadata") or {}).get("name") == claim and \
                    ((template.get("spec") or {}).get("pvc") or {}).get("storageClassName"):
                return template["spec"]["pvc"]["storageClassName"], ""
    pvc = store.get(PVC, ns, claim)
    if pvc is None:
        return "", "PVC not found"
    return (pvc.get("spec") or {}).get("storageClassName") or "", ""


def volume_snapshot_statuses(store, vm: dict) -> list[dict]:
    """status.volumeSnapshotStatuses of a VM (updateVolumeSnapshotStatuses)."""
    out = []
    tspec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
    for volume in tspec.get("volumes") or ():
        name = volume.get("name", "")
        if not _snapshottable(volume):
            out.append({"name": name, "enabled": False,
                        "reason": f"Snapshot is not supported for this volumeSource type [{name}]"})
            continue
        storage_class, error = volume_storage_class(store, vm, volume)
        snap_class = ""
        if not error:
            snap_class, error = snapshot_class_for(store, storage_class)
        if error:
            out.append({"name": name, "enabled": False, "reason": error})
        elif not snap_class:
            out.append({"name": name, "enabled": False, "reason": "No VolumeSnapshotClass: Volume snapshots are not "
                        f"configured for this StorageClass [{storage_class}] [{name}]"})
        else:
            out.append({"name": name, "enabled": True})
    return out


def vm_claims(vm: dict) -> dict[str, str]:
    """GetPVCsFromVolumes: volume name -> claim name (PVC, DataVolume and memory dump volumes)."""
    tspec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
    return {v["name"]: _claim_of(v) for v in tspec.get("volumes") or () if _snapshottable(v) and _claim_of(v)}


def snapshot_claim(store, namespace: str, claim: str) -> Optional[dict]:
    """getSnapshotPVC: a bound claim whose StorageClass has a VolumeSnapshotClass, else None (left out)."""
    pvc = store.get(PVC, namespace, claim)
    if pvc is None or (pvc.get("status") or {}).get("phase") != "Bound":
        return None
    storage_class = (pvc.get("spec") or {}).get("storageClassName")
    if not storage_class:
        return None
    return pvc if snapshot_class_for(store, storage_class)[0] else None


def simplified_meta(meta: dict) -> dict:
    """getSimplifiedMetaObject: the identity and labels/annotations, without server-set fields."""
    out = {k: copy.deepcopy(meta[k]) for k in ("name", "namespace", "labels", "annotations") if meta.get(k)}
    return out


@dataclass
class VMSource:
    """vmSnapshotSource with its sourceState, read fresh for each reconcile."""
    rt: Runtime
    vm: dict
    snapshot_name: str
    lock_msg: str = ""

    @property
    def vmi(self) -> Optional[dict]:
        return self.rt.store.get(VMI, self.vm["metadata"]["namespace"], self.vm["metadata"]["name"])

    @property
    def online(self) -> bool:
        return self.vmi is not None

    @property
    def paused(self) -> bool:
        vmi = self.vmi
        return vmi is not None and has_condition(vmi, "Paused", "True")

    @property
    def guest_agent(self) -> bool:
        vmi = self.vmi
        return vmi is not None and get_condition(vmi, "AgentConnected") is not None

    @property
    def locked(self) -> bool:
        return (self.vm.get("status") or {}).get("snapshotInProgress") == self.snapshot_name and \
            SOURCE_FINALIZER in (self.vm["metadata"].get("finalizers") or [])

    def message(self) -> str:
        if self.lock_msg:
            return self.lock_msg
        return "Source locked and operation in progress" if self.locked else "Source not locked"

    def _volumes_problem(self) -> str:
        ns = self.vm["metadata"]["namespace"]
        for claim in vm_claims(self.vm).values():
            pvc = self.rt.store.get(PVC, ns, claim)
            if pvc is None:
                return f"volume doesnt exist: {claim}"
            if pvc["metadata"].get("deletionTimestamp"):
                return f"volume is being deleted: {claim}"
            if (pvc.get("status") or {}).get("phase") != "Bound":
                return f"volume not bound: {claim}"
            dv = self.rt.store.get(DV, ns, claim)
            if dv is not None and (dv.get("status") or {}).get("phase") != "Succeeded":
                return f"volume not populated: {claim}"
        return ""

    def _pods_using_claims(self) -> int:
        claims = set(vm_claims(self.vm).values())
        count = 0
        for pod in self.rt.store.list(POD, self.vm["metadata"]["namespace"])[0]:
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            used = {(v.get("persistentVolumeClaim") or {}).get("claimName") for v in pod["spec"].get("volumes") or ()}
            count += bool(used & claims)
        return count

    def lock(self) -> bool:
        """Lock(): VM status.snapshotInProgress and the source finalizer, once the volumes allow it."""
        if self.locked:
            return True
        meta = self.vm["metadata"]
        base = "Source not locked"
        problem = self._volumes_problem()
        if problem:
            self.lock_msg = f"{base} source {meta['namespace']}/{meta['name']} {problem}"
            return False
        if not self.online:
            pods = self._pods_using_claims()
            if pods:
                self.lock_msg = f"{base} source is offline but {pods} pods using PVCs {sorted(vm_claims(self.vm).values())}"
                return False
        in_progress = (self.vm.get("status") or {}).get("snapshotInProgress")
        if in_progress and in_progress != self.snapshot_name:
            self.lock_msg = f'{base} snapshot "{in_progress}" in progress'
            return False
        svc = self.rt.service
        if not in_progress:
            svc.mutate(VM, meta["namespace"], meta["name"],
                       lambda o: o.setdefault("status", {}).__setitem__("snapshotInProgress", self.snapshot_name),
                       subresource="status")
        if SOURCE_FINALIZER not in (meta.get("finalizers") or []):
            svc.mutate(VM, meta["namespace"], meta["name"], lambda o: o["metadata"].__setitem__(
                "finalizers", list(o["metadata"].get("finalizers") or []) + [SOURCE_FINALIZER]))
        self.vm = self.rt.store.get(VM, meta["namespace"], meta["name"]) or self.vm
        self.lock_msg = ""
        return True

    def unlock(self) -> None:
        meta = self.vm["metadata"]
        if (self.vm.get("status") or {}).get("snapshotInProgress") != self.snapshot_name:
            return
        if SOURCE_FINALIZER in (meta.get("finalizers") or []):
            self.rt.service.remove_finalizer(VM, meta["namespace"], meta["name"], SOURCE_FINALIZER)
        self.rt.service.mutate(VM, meta["namespace"], meta["name"],
                               lambda o: (o.get("status") or {}).pop("snapshotInProgress", None), subresource="status")
        self.vm = self.rt.store.get(VM, meta["namespace"], meta["name"]) or self.vm

    def freeze(self) -> str:
        """Freeze(): "" when frozen (or nothing to freeze: offline, paused, no agent), else the error."""
        if not self.locked:
            return "attempting to freeze unlocked VM"
        vmi = self.vmi
        if vmi is None or self.paused or not self.guest_agent:
            return ""
        error = (vmi["metadata"].get("annotations") or {}).get(FREEZE_ERROR_ANNOTATION)
        if error:
            return f"{FAILED_FREEZE} {self.vm['metadata']['name']}: {error}"
        self._fs_freeze("frozen")
        return ""

    def unfreeze(self) -> None:
        if self.locked and self.guest_agent and not self.paused:
            self._fs_freeze("")

    def _fs_freeze(self, state: str) -> None:
        def apply(obj: dict) -> None:
            status = obj.setdefault("status", {})
            if state:
                status["fsFreezeStatus"] = state
            else:
                status.pop("fsFreezeStatus", None)
        meta = self.vm["metadata"]
        self.rt.service.mutate(VMI, meta["namespace"], meta["name"], apply)

    def spec(self) -> dict:
        """Spec(): the VM (simplified metadata, spec, empty status) as the content keeps it."""
        return {"metadata": simplified_meta(self.vm["metadata"]), "spec": copy.deepcopy(self.vm.get("spec") or {}),
                "status": {}}
