"""VolumeSnapshots (snapshot.storage.k8s.io/v1): the common snapshot controller plus the CSI snapshotter.

As external-snapshotter does it (pkg/common-controller, pkg/sidecar-controller), for dynamically
provisioned snapshots (``spec.source.persistentVolumeClaimName``):

- the class: ``spec.volumeSnapshotClassName``, else the one default class
  (``snapshot.storage.kubernetes.io/is-default-class``) whose driver is the claim's PV driver,
  written into the spec; otherwise ``status.error`` and a Warning event (GetSnapshotClassFailed,
  SetDefaultSnapshotClassFailed with ``cannot find default snapshot class`` or the claim lookup error,
  SnapshotPVCSourceMissing, SnapshotContentCreationFailed for an unbound claim);
- the bound/as-source finalizers, a VolumeSnapshotContent ``snapcontent-<snapshot uid>`` (Delete or
  Retain policy of the class), ``status.boundVolumeSnapshotContentName`` and, one transition later,
  ``readyToUse: true``, ``creationTime``, ``restoreSize`` on both objects; events CreatingSnapshot,
  SnapshotCreated, SnapshotReady;
- the claim's bytes are copied into the content (``disks.snapshot_key``) when it is cut, so later
  writes to the claim do not change the snapshot; restores copy them back (storage / CDI);
- deleting the snapshot deletes a Delete-policy content and its bytes.

Only the ceph-rbd driver has a VolumeSnapshotClass (``ocs-storagecluster-rbdplugin-snapclass``, as
ODF installs it); cephfs and hostpath claims get the real "no default class" failure.
Pre-provisioned snapshots (``volumeSnapshotContentName``) and group snapshots are not simulated.
"""
from __future__ import annotations

import time
from typing import Iterable, Optional

from ..api.objects import now_rfc3339
from ..api.resources import GR
from ..api.store import Event, Store
from . import storage_catalog as cat
from .disks import pv_key, snapshot_key
from .keys import PV, PVC
from .pacing import Pacer
from .quantity import parse_bytes
from .runtime import Controller, ObjKey, Runtime

VOLUMESNAPSHOT: GR = ("snapshot.storage.k8s.io", "volumesnapshots")
VOLUMESNAPSHOTCLASS: GR = ("snapshot.storage.k8s.io", "volumesnapshotclasses")
VOLUMESNAPSHOTCONTENT: GR = ("snapshot.storage.k8s.io", "volumesnapshotcontents")
ANN_DEFAULT = "snapshot.storage.kubernetes.io/is-default-class"
BOUND_FINALIZER = "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"
SOURCE_FINALIZER = "snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection"
CONTENT_FINALIZER = "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"
COMPONENT = "snapshot-controller"
RBD_SNAPCLASS = "ocs-storagecluster-rbdplugin-snapclass"


def snapshot_volume_key(store: Store, namespace: str, name: str) -> Optional[str]:
    """The bytes key of a ready snapshot's content, None when there is none."""
    snap = store.get(VOLUMESNAPSHOT, namespace, name)
    status = (snap or {}).get("status") or {}
    content = status.get("boundVolumeSnapshotContentName")
    return snapshot_key(content) if content and status.get("readyToUse") else None


def snapshot_ready(snap: Optional[dict]) -> bool:
    return bool(((snap or {}).get("status") or {}).get("readyToUse"))


def _class_object() -> dict:
    return {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
            "metadata": {"name": RBD_SNAPCLASS, "annotations": {ANN_DEFAULT: "true"}},
            "driver": cat.RBD, "deletionPolicy": "Delete",
            "parameters": {"clusterID": "openshift-storage",
                           "csi.storage.k8s.io/snapshotter-secret-name": "rook-csi-rbd-provisioner",
                           "csi.storage.k8s.io/snapshotter-secret-namespace": "openshift-storage"}}


class SnapshotController(Controller):
    name = "snapshots"
    watches = (VOLUMESNAPSHOT, VOLUMESNAPSHOTCLASS, PVC)

    def __init__(self) -> None:
        self.pacer = Pacer()

    def start(self, rt: Runtime) -> None:
        self.rt = rt
        try:
            rt.registry.get(VOLUMESNAPSHOTCLASS)
        except KeyError:
            return
        with rt.store.lock:
            if rt.store.get(VOLUMESNAPSHOTCLASS, None, RBD_SNAPCLASS) is None:
                rt.service.create(VOLUMESNAPSHOTCLASS, _class_object())

    def keys_for(self, event: Event) -> Iterable[ObjKey]:
        meta = event.obj["metadata"]
        if event.gr == VOLUMESNAPSHOT:
            yield (VOLUMESNAPSHOT, meta["namespace"], meta["name"])
        elif event.gr in (PVC, VOLUMESNAPSHOTCLASS):  # failed snapshots retry once these change
            namespace = meta.get("namespace") if event.gr == PVC else None
            for snap in self.rt.store.list(VOLUMESNAPSHOT, namespace)[0]:
                if snapshot_ready(snap):
                    continue
                claim = ((snap.get("spec") or {}).get("source") or {}).get("persistentVolumeClaimName")
                if event.gr == VOLUMESNAPSHOTCLASS or claim == meta["name"]:
                    yield (VOLUMESNAPSHOT, snap["metadata"]["namespace"], snap["metadata"]["name"])

    def reconcile(self, rt: Runtime, gr: GR, namespace: str, name: str) -> None:
        if gr != VOLUMESNAPSHOT:
            return
        snap = rt.store.get(VOLUMESNAPSHOT, namespace, name)
        if snap is None:
            return
        if snap["metadata"].get("deletionTimestamp"):
            self._delete(rt, snap)
            return
        status = snap.get("status") or {}
        if status.get("readyToUse"):
            return
        if status.get("boundVolumeSnapshotContentName"):
            if self.pacer.ready(rt, self, (gr, namespace, name), "cutting"):
                self._ready(rt, snap)
            return
        self._create_content(rt, snap)

    # -- steps ---------------------------------------------------------------------------------
    def _error(self, rt: Runtime, snap: dict, reason: str, message: str) -> None:
        """updateSnapshotErrorStatusWithEvent: status.error once per message, a Warning event."""
        if ((snap.get("status") or {}).get("error") or {}).get("message") == message:
            return

        def write(o: dict) -> None:
            o.setdefault("status", {})["error"] = {"message": message, "time": now_rfc3339()}
            o["status"].setdefault("readyToUse", False)
        stored = rt.service.mutate(VOLUMESNAPSHOT, snap["metadata"]["namespace"], snap["metadata"]["name"], write,
                                   subresource="status") or snap
        rt.record_event(stored, reason, message, event_type="Warning", component=COMPONENT)

    def _class_for(self, rt: Runtime, snap: dict, pv: Optional[dict], claim_error: str) -> Optional[dict]:
        class_name = (snap.get("spec") or {}).get("volumeSnapshotClassName")
        if class_name:
            found = rt.store.get(VOLUMESNAPSHOTCLASS, None, class_name)
            if found is None:
                self._error(rt, snap, "GetSnapshotClassFailed", "Failed to get snapshot class with error "
                            f'volumesnapshotclass.snapshot.storage.k8s.io "{class_name}" not found')
            return found
        if claim_error:
            self._error(rt, snap, "SetDefaultSnapshotClassFailed",
                        f"Failed to set default snapshot class with error {claim_error}")
            return None
        driver = (((pv or {}).get("spec") or {}).get("csi") or {}).get("driver", "")
        defaults = [c for c in rt.store.list(VOLUMESNAPSHOTCLASS)[0]
                    if cat.is_true((c["metadata"].get("annotations") or {}).get(ANN_DEFAULT)) and c.get("driver") == driver]
        if len(defaults) != 1:
            problem = "cannot find default snapshot class" if not defaults else \
                f"{len(defaults)} default snapshot classes were found"
            self._error(rt, snap, "SetDefaultSnapshotClassFailed",
                        f"Failed to set default snapshot class with error {problem}")
            return None
        chosen = defaults[0]
        rt.service.mutate(VOLUMESNAPSHOT, snap["metadata"]["namespace"], snap["metadata"]["name"],
                          lambda o: o["spec"].__setitem__("volumeSnapshotClassName", chosen["metadata"]["name"]))
        return None  # reconciled again after the spec write

    def _create_content(self, rt: Runtime, snap: dict) -> None:
        meta = snap["metadata"]
        ns, name = meta["namespace"], meta["name"]
        claim_name = ((snap.get("spec") or {}).get("source") or {}).get("persistentVolumeClaimName")
        if not claim_name:
            self._error(rt, snap, "SnapshotPVCSourceMissing", f"PVC source for snapshot {ns}/{name} is missing")
            return
        pvc = rt.store.get(PVC, ns, claim_name)
        pv = rt.store.get(PV, None, (pvc or {}).get("spec", {}).get("volumeName") or "") \
            if (pvc or {}).get("spec", {}).get("volumeName") else None
        claim_error = "" if pvc is not None else \
            f'failed to retrieve PVC {claim_name} from the lister: "persistentvolumeclaim \\"{claim_name}\\" not found"'
        sc = self._class_for(rt, snap, pv, claim_error)
        if sc is None:
            return
        if pvc is None or pv is None or (pvc.get("status") or {}).get("phase") != "Bound":
            self._error(rt, snap, "SnapshotContentCreationFailed", "Failed to create snapshot content with error "
                        f'failed to get input parameters to create snapshot {name}: "the PVC {claim_name} is not '
                        'yet bound to a PV, will not attempt to take a snapshot"')
            return
        if not pv["spec"].get("csi"):
            self._error(rt, snap, "SnapshotContentCreationFailed", "Failed to create snapshot content with error "
                        f"cannot find CSI PersistentVolumeSource for volume {pv['metadata']['name']}")
            return
        content_name = f"snapcontent-{meta['uid']}"
        if rt.store.get(VOLUMESNAPSHOTCONTENT, None, content_name) is None:
            rt.disks.copy(pv_key(pv["metadata"]["name"]), snapshot_key(content_name))  # cut now
            rt.service.create(VOLUMESNAPSHOTCONTENT, {
                "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
                "metadata": {"name": content_name, "finalizers": [CONTENT_FINALIZER]},
                "spec": {"deletionPolicy": sc.get("deletionPolicy") or "Delete", "driver": sc["driver"],
                         "source": {"volumeHandle": pv["spec"]["csi"].get("volumeHandle", "")},
                         "sourceVolumeMode": pv["spec"].get("volumeMode") or "Filesystem",
                         "volumeSnapshotClassName": sc["metadata"]["name"],
                         "volumeSnapshotRef": {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
                                               "name": name, "namespace": ns, "uid": meta["uid"],
                                               "resourceVersion": meta.get("resourceVersion")}}})
        finalizers = list(meta.get("finalizers") or [])
        wanted = finalizers + [f for f in (SOURCE_FINALIZER, BOUND_FINALIZER) if f not in finalizers]
        if wanted != finalizers:
            rt.service.mutate(VOLUMESNAPSHOT, ns, name, lambda o: o["metadata"].__setitem__("finalizers", wanted))
        stored = rt.service.mutate(VOLUMESNAPSHOT, ns, name, lambda o: o.__setitem__("status", {
            "boundVolumeSnapshotContentName": content_name, "readyToUse": False}), subresource="status") or snap
        rt.record_event(stored, "CreatingSnapshot", f"Waiting for a snapshot {ns}/{name} to be created by the CSI "
                        "driver.", component=COMPONENT)
        self.pacer.ready(rt, self, (VOLUMESNAPSHOT, ns, name), "cutting")

    def _ready(self, rt: Runtime, snap: dict) -> None:
        meta = snap["metadata"]
        ns, name = meta["namespace"], meta["name"]
        content_name = snap["status"]["boundVolumeSnapshotContentName"]
        content = rt.store.get(VOLUMESNAPSHOTCONTENT, None, content_name)
        if content is None:
            self._error(rt, snap, "SnapshotContentMissing", "VolumeSnapshotContent is missing")
            return
        key = snapshot_key(content_name)
        size = rt.disks.size(key) if rt.disks.exists(key) else 0
        pvc = rt.store.get(PVC, ns, snap["spec"]["source"].get("persistentVolumeClaimName") or "") or {}
        size = parse_bytes(((pvc.get("status") or {}).get("capacity") or {}).get("storage")) or size
        stamp = now_rfc3339()
        rt.service.mutate(VOLUMESNAPSHOTCONTENT, None, content_name, lambda o: o.__setitem__("status", {
            "creationTime": time.time_ns(), "readyToUse": True, "restoreSize": size,
            "snapshotHandle": f"0001-0011-openshift-storage-0000000000000001-{content['metadata']['uid']}"}),
            subresource="status")
        quantity = ((pvc.get("status") or {}).get("capacity") or {}).get("storage") or str(size)
        stored = rt.service.mutate(VOLUMESNAPSHOT, ns, name, lambda o: o.__setitem__("status", {
            "boundVolumeSnapshotContentName": content_name, "creationTime": stamp, "readyToUse": True,
            "restoreSize": quantity}), subresource="status") or snap
        rt.record_event(stored, "SnapshotCreated", f"Snapshot {ns}/{name} was successfully created by the CSI driver.",
                        component=COMPONENT)
        rt.record_event(stored, "SnapshotReady", f"Snapshot {ns}/{name} is ready to use.", component=COMPONENT)

    def _delete(self, rt: Runtime, snap: dict) -> None:
        meta = snap["metadata"]
        content_name = (snap.get("status") or {}).get("boundVolumeSnapshotContentName")
        content = rt.store.get(VOLUMESNAPSHOTCONTENT, None, content_name) if content_name else None
        if content is not None and (content.get("spec") or {}).get("deletionPolicy") == "Delete":
            rt.service.remove_finalizer(VOLUMESNAPSHOTCONTENT, None, content_name, CONTENT_FINALIZER)
            if rt.store.get(VOLUMESNAPSHOTCONTENT, None, content_name) is not None:
                rt.service.delete(VOLUMESNAPSHOTCONTENT, None, content_name)
            rt.disks.delete(snapshot_key(content_name))
        for finalizer in (SOURCE_FINALIZER, BOUND_FINALIZER):
            if finalizer in (meta.get("finalizers") or []):
                rt.service.remove_finalizer(VOLUMESNAPSHOT, meta["namespace"], meta["name"], finalizer)
