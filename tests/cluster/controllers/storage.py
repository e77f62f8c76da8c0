"""Simulated storage: kube-controller-manager's PV controller plus CSI provisioners, and CDI's
StorageProfile / CDIConfig reconcilers.

- At start: the StorageClasses of ``storage_catalog``, their StorageProfiles, CDIConfig ``config``
  and the CDI CR.
- PVC -> PV binding: static PVs first (matching class, modes, size); otherwise dynamic provisioning.
  Immediate classes bind one transition after the claim appears (events ExternalProvisioning,
  Provisioning, ProvisioningSucceeded); WaitForFirstConsumer classes stay Pending (event
  WaitForFirstConsumer) until a Pod with ``spec.nodeName`` mounts the claim, then the scheduler's
  ``volume.kubernetes.io/selected-node`` annotation is set and the PV gets that node's affinity.
  A claim naming a missing class stays Pending with a ProvisioningFailed warning.
- Admission (as the DefaultStorageClass, StorageObjectInUseProtection and
  PersistentVolumeClaimResize plugins): default class on create, pvc/pv-protection finalizers,
  expansion only where the class allows it.
- Reclaim: a released dynamically provisioned PV (reclaim Delete) is deleted; the protection
  finalizers go once no pod uses the claim / no claim is bound.
- Expansion: a larger request on a Bound claim of an expandable class grows PV and claim capacity.
"""
from __future__ import annotations

import logging
from typing import Any, Iterable, Optional

from ..api import errors
from ..api.objects import now_rfc3339
from ..api.resources import GR, AdmissionRequest
from ..api.store import Event, Store
from . import storage_catalog as cat
from .disks import pv_key
from .keys import CDI, CDICONFIG, POD, PV, PVC, SC, SP
from .pacing import Pacer
from .quantity import MiB, format_binary, parse_bytes, round_up
from .runtime import Controller, ObjKey, Runtime

log = logging.getLogger("cluster.storage")


PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
CSI_FINALIZER = "external-provisioner.volume.kubernetes.io/finalizer"
ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node"
ANN_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
ANN_PROVISIONER_BETA = "volume.beta.kubernetes.io/storage-provisioner"
ANN_BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
ANN_BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
PV_CONTROLLER = "persistentvolume-controller"
WFFC_MESSAGE = "waiting for first consumer to be created before binding"
URL_POLLS = 100  # CDIConfig waits up to ~10 s for rt.options["url"] (set once the server listens)


def pod_claims(pod: dict) -> list[str]:
    """Names of the PVCs a pod mounts."""
    names = []
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim:
            names.append(claim)
    return names


def apply_pvc_admission(store: Store, pvc: dict) -> None:
    """What kube-apiserver's admission does to a new claim: the DefaultStorageClass plugin names
    the default class when none is given (``null``/absent, not ``""``), and
    StorageObjectInUseProtection adds the pvc-protection finalizer. Controllers creating claims
    through ObjectService call this themselves."""
    spec = pvc.setdefault("spec", {})
    if spec.get("storageClassName") is None:
        default = cat.default_class(store.list(SC)[0])
        if default is not None:
            spec["storageClassName"] = default["metadata"]["name"]
    finalizers = pvc.setdefault("metadata", {}).setdefault("finalizers", [])
    if PVC_PROTECTION not in finalizers:
        finalizers.append(PVC_PROTECTION)


def pod_active(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


class StorageController(Controller):
    name = "storage"
    watches = (PVC, PV, SC, SP, CDICONFIG, POD)

    def __init__(self) -> None:
        self.pacer = Pacer()
        self._emitted: set[tuple[str, str]] = set()  # (uid, reason) of once-only events
        self._available: set[str] = set()  # PVs that static binding may use
        self._provisioner_ids: dict[str, str] = {}
        self._url_polls = 0

    # -- wiring --------------------------------------------------------------------------------
    def setup(self, rt: Runtime) -> None:
        self.rt = rt
        rt.registry.add_mutating(PVC, self._admit_pvc)
        rt.registry.add_validating(PVC, self._validate_pvc_resize)
        rt.registry.add_mutating(PV, self._admit_pv)

    def start(self, rt: Runtime) -> None:
        with rt.store.lock:
            for spec in cat.STORAGE_CLASSES:
                if rt.store.get(SC, None, spec["metadata"]["name"]) is None:
                    rt.service.create(SC, cat.class_object(spec))
            cr = cat.cdi_cr(rt.options.get("flavor", "openshift"))
            if rt.store.get(CDI, None, cr["metadata"]["name"]) is None:
                stamp = now_rfc3339()
                for cond in cr["status"]["conditions"]:
                    cond.update(lastTransitionTime=stamp, lastHeartbeatTime=stamp)
                rt.service.create(CDI, cr, keep_status=True)
            if rt.store.get(CDICONFIG, None, "config") is None:
                config = {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "CDIConfig",
                          "metadata": {"name": "config", "labels": dict(cat.CDI_LABELS)},
                          "spec": {"featureGates": ["HonorWaitForFirstConsumer"]}}
                config["status"] = self._config_status(rt, config["spec"])
                rt.service.create(CDICONFIG, config, keep_status=True)
            for sc in rt.service.list(SC):
                self._reconcile_profile(rt, sc["metadata"]["name"])
        rt.enqueue(self, (CDICONFIG, "", "config"))

    def keys_for(self, event: Event) -> Iterable[ObjKey]:
        gr, obj = event.gr, event.obj
        meta = obj["metadata"]
        if gr == PVC:
            yield (PVC, meta["namespace"], meta["name"])
            if event.type == "DELETED" and obj.get("spec", {}).get("volumeName"):
                yield (PV, "", obj["spec"]["volumeName"])  # the volume is released
        elif gr == PV:
            self._track_available(event)
            yield (PV, "", meta["name"])
            ref = obj.get("spec", {}).get("claimRef") or {}
            if ref.get("name") and ref.get("namespace"):
                yield (PVC, ref["namespace"], ref["name"])
            if obj["spec"].get("storageClassName") and event.type != "MODIFIED":
                yield (SC, "", obj["spec"]["storageClassName"])  # no-provisioner profiles follow PVs
            if meta["name"] in self._available and _phase(event.old or {}) != "Available":
                class_name = obj["spec"].get("storageClassName") or ""
                for pvc in self.rt.store.list(PVC)[0]:  # a new Available volume: claims may bind now
                    if _phase(pvc) == "Pending" and (pvc["spec"].get("storageClassName") or "") == class_name:
                        yield (PVC, pvc["metadata"]["namespace"], pvc["metadata"]["name"])
        elif gr == SC:
            yield (SC, "", meta["name"])
            yield (CDICONFIG, "", "config")
            if event.type == "ADDED":  # claims waiting for this class can now provision
                for pvc in self.rt.store.list(PVC)[0]:
                    if pvc["spec"].get("storageClassName") == meta["name"] and _phase(pvc) != "Bound":
                        yield (PVC, pvc["metadata"]["namespace"], pvc["metadata"]["name"])
        elif gr in (SP, CDICONFIG):
            if event.type != "DELETED" and (event.old is None or event.old.get("spec") != obj.get("spec")):
                yield (gr, "", meta["name"])
        elif gr == POD:
            yield from self._claims_to_wake(event)
        elif gr == ("snapshot.storage.k8s.io", "volumesnapshots"):  # claims restoring it may provision now
            for pvc in self.rt.store.list(PVC, meta["namespace"])[0]:
                source = pvc["spec"].get("dataSourceRef") or pvc["spec"].get("dataSource") or {}
                if source.get("kind") == "VolumeSnapshot" and source.get("name") == meta["name"] and _phase(pvc) != "Bound":
                    yield (PVC, meta["namespace"], pvc["metadata"]["name"])

    def _claims_to_wake(self, event: Event) -> Iterable[ObjKey]:
        pod = event.obj
        namespace = pod["metadata"].get("namespace") or ""
        for claim in pod_claims(pod):
            pvc = self.rt.store.get(PVC, namespace, claim)
            if pvc is None:
                continue
            if pvc["metadata"].get("deletionTimestamp") or _phase(pvc) != "Bound":
                yield (PVC, namespace, claim)

    def _track_available(self, event: Event) -> None:
        name = event.obj["metadata"]["name"]
        if event.type != "DELETED" and _phase(event.obj) == "Available":
            self._available.add(name)
        else:
            self._available.discard(name)

    def reconcile(self, rt: Runtime, gr: GR, namespace: str, name: str) -> None:
        if gr == PVC:
            self._reconcile_pvc(rt, namespace, name)
        elif gr == PV:
            self._reconcile_pv(rt, name)
        elif gr in (SC, SP):
            self._reconcile_profile(rt, name)
        elif gr == CDICONFIG:
            self._reconcile_config(rt)

    # -- admission -----------------------------------------------------------------------------
    def _admit_pvc(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if request.operation == "CREATE" and new is not None and not request.subresource:
            apply_pvc_admission(self.rt.store, new)

    def _admit_pv(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if request.operation == "CREATE" and new is not None and not request.subresource:
            finalizers = new.setdefault("metadata", {}).setdefault("finalizers", [])
            if PV_PROTECTION not in finalizers:
                finalizers.append(PV_PROTECTION)

    def _validate_pvc_resize(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if request.operation != "UPDATE" or new is None or old is None or request.subresource:
            return
        before = parse_bytes(_request(old))
        after = parse_bytes(_request(new))
        if before is None or after is None or after == before:
            return
        name = new["metadata"].get("name", "")
        if _phase(old) != "Bound":
            raise errors.invalid("PersistentVolumeClaim", "", name, [{
                "reason": "FieldValueForbidden", "field": "spec",
                "message": "Forbidden: spec is immutable after creation except resources.requests and "
                           "volumeAttributesClassName for bound claims"}])
        if after < before:
            raise errors.invalid("PersistentVolumeClaim", "", name, [{
                "reason": "FieldValueForbidden", "field": "spec.resources.requests.storage",
                "message": "Forbidden: field can not be less than status.capacity"}])
        sc = self.rt.store.get(SC, None, new["spec"].get("storageClassName") or "")
        if sc is None or not sc.get("allowVolumeExpansion"):
            raise errors.ApiError(
                403, "Forbidden",
                f'persistentvolumeclaims "{name}" is forbidden: only dynamically provisioned pvc can be '
                "resized and the storageclass that provisions the pvc must support resize",
                {"name": name, "kind": "persistentvolumeclaims"})

    # -- PVCs ----------------------------------------------------------------------------------
    def _reconcile_pvc(self, rt: Runtime, namespace: str, name: str) -> None:
        pvc = rt.store.get(PVC, namespace, name)
        if pvc is None:
            return
        key = (PVC, namespace, name)
        if pvc["metadata"].get("deletionTimestamp"):
            self._release_protection(rt, pvc)
            return
        phase = _phase(pvc)
        if phase == "Bound":
            self._check_bound(rt, pvc, key)
            return
        if phase == "Lost":
            return
        if phase != "Pending":
            rt.service.mutate(PVC, namespace, name, lambda o: o.setdefault("status", {}).update(phase="Pending"),
                              subresource="status")
            return
        spec = pvc["spec"]
        if spec.get("storageClassName") is None:
            default = cat.default_class(rt.service.list(SC))
            if default is not None:  # retroactive default class assignment (k8s 1.28+)
                rt.service.mutate(PVC, namespace, name,
                                  lambda o: o["spec"].update(storageClassName=default["metadata"]["name"]))
                return
        class_name = spec.get("storageClassName") or ""
        pv = self._find_static(rt, pvc, class_name)
        if pv is not None:
            if self.pacer.ready(rt, self, key, "bind-static"):
                self._bind(rt, pvc, pv)
            return
        if not class_name:
            self._event_once(rt, pvc, "FailedBinding",
                             "no persistent volumes available for this claim and no storage class is set")
            return
        sc = rt.store.get(SC, None, class_name)
        if sc is None:
            self._event_once(rt, pvc, "ProvisioningFailed",
                             f'storageclass.storage.k8s.io "{class_name}" not found', warning=True)
            return
        node = (pvc["metadata"].get("annotations") or {}).get(ANN_SELECTED_NODE)
        if sc.get("volumeBindingMode") == "WaitForFirstConsumer" and not node:
            consumer = self._consumer_node(rt, namespace, name)
            if consumer is None:
                self._event_once(rt, pvc, "WaitForFirstConsumer", WFFC_MESSAGE)
                return
            rt.service.mutate(PVC, namespace, name, lambda o: o["metadata"].setdefault("annotations", {})
                              .update({ANN_SELECTED_NODE: consumer}))
            return
        provisioner = sc.get("provisioner", "")
        if provisioner == cat.NO_PROVISIONER:
            return
        annotations = pvc["metadata"].get("annotations") or {}
        if annotations.get(ANN_PROVISIONER) != provisioner:
            def mark(o: dict) -> None:
                o["metadata"].setdefault("annotations", {}).update(
                    {ANN_PROVISIONER_BETA: provisioner, ANN_PROVISIONER: provisioner})
            rt.service.mutate(PVC, namespace, name, mark)
            self._event_once(rt, pvc, "ExternalProvisioning",
                             f"Waiting for a volume to be created either by the external provisioner "
                             f"'{provisioner}' or manually by the system administrator. If volume creation "
                             f"is delayed, please verify that the provisioner is running and correctly registered.")
            self.pacer.ready(rt, self, key, "provisioning")
            return
        if not self.pacer.ready(rt, self, key, "provisioning"):
            return
        restore = self._snapshot_source(rt, pvc, sc)
        if restore is False:
            return
        self._provision(rt, pvc, sc, node)
        pvc = rt.store.get(PVC, namespace, name) or pvc
        if restore and pvc["spec"].get("volumeName"):  # the CSI driver restores the snapshot's bytes
            rt.disks.copy(restore, pv_key(pvc["spec"]["volumeName"]))

    def _snapshot_source(self, rt: Runtime, pvc: dict, sc: dict) -> "str | None | bool":
        """The bytes key of a ``dataSource`` VolumeSnapshot to restore; None without one; False (and
        external-provisioner's ProvisioningFailed) while it is missing or not ready."""
        source = pvc["spec"].get("dataSourceRef") or pvc["spec"].get("dataSource") or {}
        if source.get("kind") != "VolumeSnapshot" or source.get("apiGroup") != "snapshot.storage.k8s.io":
            return None
        from .snapshots import VOLUMESNAPSHOT, snapshot_volume_key
        ns, name = pvc["metadata"]["namespace"], source.get("name") or ""
        snap = rt.store.get(VOLUMESNAPSHOT, ns, name)
        key = snapshot_volume_key(rt.store, ns, name)
        if key is not None:
            return key
        problem = (f"error getting snapshot {name} from api server: volumesnapshots.snapshot.storage.k8s.io "
                   f'"{name}" not found') if snap is None else f"snapshot {name} is not Ready"
        self._event_once(rt, pvc, f"ProvisioningFailed-{problem}", "", warning=True,
                         text=(f'failed to provision volume with StorageClass "{sc["metadata"]["name"]}": error getting '
                               f"handle for DataSource Type VolumeSnapshot by Name {name}: {problem}"),
                         component=self._provisioner_id(rt, sc["provisioner"]))
        return False

    def _check_bound(self, rt: Runtime, pvc: dict, key: ObjKey) -> None:
        volume = pvc["spec"].get("volumeName") or ""
        pv = rt.store.get(PV, None, volume) if volume else None
        if pv is None and volume:
            rt.service.mutate(PVC, key[1], key[2], lambda o: o["status"].update(phase="Lost"), subresource="status")
            rt.record_event(pvc, "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
                            event_type="Warning", component=PV_CONTROLLER)
            return
        if pv is None:
            return
        wanted = parse_bytes(_request(pvc)) or 0
        have = parse_bytes((pvc.get("status") or {}).get("capacity", {}).get("storage")) or 0
        if wanted > have:
            if self.pacer.ready(rt, self, key, f"resize-{wanted}"):
                self._resize(rt, pvc, pv, wanted)

    def _resize(self, rt: Runtime, pvc: dict, pv: dict, wanted: int) -> None:
        sc = rt.store.get(SC, None, pv["spec"].get("storageClassName") or "") or {}
        size = format_binary(_provisioned_size(sc.get("provisioner", ""), wanted))
        rt.disks.ensure(pv_key(pv["metadata"]["name"]), parse_bytes(size) or 0)  # the volume grows, data kept
        rt.service.mutate(PV, None, pv["metadata"]["name"], lambda o: o["spec"]["capacity"].update(storage=size))
        rt.service.mutate(PVC, pvc["metadata"]["namespace"], pvc["metadata"]["name"],
                          lambda o: o["status"].setdefault("capacity", {}).update(storage=size),
                          subresource="status")
        rt.record_event(pvc, "VolumeResizeSuccessful", "MountVolume.NodeExpandVolume succeeded for volume "
                        f'"{pv["metadata"]["name"]}"', component="kubelet")

    def _release_protection(self, rt: Runtime, pvc: dict) -> None:
        meta = pvc["metadata"]
        if PVC_PROTECTION not in (meta.get("finalizers") or []):
            return
        for pod in rt.store.list(POD, meta["namespace"])[0]:
            if meta["name"] in pod_claims(pod) and pod_active(pod):
                return
        rt.service.remove_finalizer(PVC, meta["namespace"], meta["name"], PVC_PROTECTION)

    def _consumer_node(self, rt: Runtime, namespace: str, claim: str) -> Optional[str]:
        for pod in rt.store.list(POD, namespace)[0]:
            node = pod.get("spec", {}).get("nodeName")
            if node and claim in pod_claims(pod) and pod_active(pod) and not pod["metadata"].get("deletionTimestamp"):
                return node
        return None

    def _find_static(self, rt: Runtime, pvc: dict, class_name: str) -> Optional[dict]:
        """An Available PV satisfying the claim (pre-bound ones first), as the PV controller finds it."""
        meta, spec = pvc["metadata"], pvc["spec"]
        if spec.get("volumeName"):
            pv = rt.store.get(PV, None, spec["volumeName"])
            return pv if pv is not None and _phase(pv) in ("Available", "") else None
        wanted = parse_bytes(_request(pvc)) or 0
        modes = set(spec.get("accessModes") or [])
        volume_mode = spec.get("volumeMode") or "Filesystem"
        best: Optional[dict] = None
        for name in sorted(self._available):
            pv = rt.store.get(PV, None, name)
            if pv is None or _phase(pv) != "Available":
                continue
            ref = pv["spec"].get("claimRef") or {}
            if ref and (ref.get("namespace"), ref.get("name")) != (meta["namespace"], meta["name"]):
                continue
            if (pv["spec"].get("storageClassName") or "") != class_name:
                continue
            if not modes <= set(pv["spec"].get("accessModes") or []):
                continue
            if (pv["spec"].get("volumeMode") or "Filesystem") != volume_mode:
                continue
            size = parse_bytes(pv["spec"].get("capacity", {}).get("storage")) or 0
            if size < wanted:
                continue
            if ref:
                return pv
            if best is None or size < parse_bytes(best["spec"]["capacity"]["storage"]):
                best = pv
        return best

    def _provision(self, rt: Runtime, pvc: dict, sc: dict, node: Optional[str]) -> None:
        meta = pvc["metadata"]
        provisioner = sc["provisioner"]
        component = self._provisioner_id(rt, provisioner)
        rt.record_event(pvc, "Provisioning", f'External provisioner is provisioning volume for claim '
                        f'"{meta["namespace"]}/{meta["name"]}"', component=component)
        pv_name = f"pvc-{meta['uid']}"
        pv = rt.store.get(PV, None, pv_name)
        if pv is None:
            pv = rt.service.create(PV, self._pv_for(rt, pvc, sc, pv_name, node), keep_status=True)
        rt.disks.ensure(pv_key(pv_name), parse_bytes(pv["spec"]["capacity"]["storage"]) or 0)  # sparse: zeroes
        rt.record_event(pvc, "ProvisioningSucceeded", f"Successfully provisioned volume {pv_name}", component=component)
        self._bind(rt, pvc, pv)

    def _pv_for(self, rt: Runtime, pvc: dict, sc: dict, pv_name: str, node: Optional[str]) -> dict:
        meta, spec = pvc["metadata"], pvc["spec"]
        provisioner = sc["provisioner"]
        size = _provisioned_size(provisioner, parse_bytes(_request(pvc)) or 0)
        volume_mode = spec.get("volumeMode") or "Filesystem"
        handle = rt.service.new_uid()
        csi: dict[str, Any] = {"driver": provisioner, "volumeHandle": handle,
                               "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity":
                                                    self._provisioner_id(rt, provisioner)}}
        if volume_mode == "Filesystem":
            csi["fsType"] = (sc.get("parameters") or {}).get("csi.storage.k8s.io/fstype", "ext4")
        for key in ("clusterID", "pool", "fsName", "storagePool"):
            if key in (sc.get("parameters") or {}):
                csi["volumeAttributes"][key] = sc["parameters"][key]
        pv: dict[str, Any] = {
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "annotations": {ANN_PROVISIONED_BY: provisioner,
                                                         "volume.kubernetes.io/provisioner-deletion-secret-name": "",
                                                         "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""},
                         "finalizers": [CSI_FINALIZER, PV_PROTECTION]},
            "spec": {
                "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
                "capacity": {"storage": format_binary(size)},
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": meta["name"],
                             "namespace": meta["namespace"], "uid": meta["uid"],
                             "resourceVersion": meta["resourceVersion"]},
                "csi": csi,
                "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
                "storageClassName": sc["metadata"]["name"],
                "volumeMode": volume_mode,
            },
            "status": {"phase": "Bound", "lastPhaseTransitionTime": now_rfc3339()},
        }
        if node:
            pv["spec"]["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
        return pv

    def _bind(self, rt: Runtime, pvc: dict, pv: dict) -> None:
        meta = pvc["metadata"]
        pv_name = pv["metadata"]["name"]
        # a static PV gets its (sparse) file when first bound
        rt.disks.ensure(pv_key(pv_name), parse_bytes((pv["spec"].get("capacity") or {}).get("storage")) or 0)
        if not pv["spec"].get("claimRef") or _phase(pv) != "Bound":
            def claim(o: dict) -> None:
                o["spec"]["claimRef"] = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": meta["name"],
                                         "namespace": meta["namespace"], "uid": meta["uid"],
                                         "resourceVersion": meta["resourceVersion"]}
            rt.service.mutate(PV, None, pv_name, claim)
            rt.service.mutate(PV, None, pv_name, lambda o: o.setdefault("status", {}).update(
                phase="Bound", lastPhaseTransitionTime=now_rfc3339()), subresource="status")
            pv = rt.store.get(PV, None, pv_name) or pv

        def bind(o: dict) -> None:
            o["spec"]["volumeName"] = pv_name
            anns = o["metadata"].setdefault("annotations", {})
            anns[ANN_BIND_COMPLETED] = "yes"
            anns[ANN_BOUND_BY_CONTROLLER] = "yes"
        rt.service.mutate(PVC, meta["namespace"], meta["name"], bind)

        def bound(o: dict) -> None:
            o["status"] = {"phase": "Bound", "accessModes": list(pv["spec"].get("accessModes") or []),
                           "capacity": dict(pv["spec"].get("capacity") or {})}
        rt.service.mutate(PVC, meta["namespace"], meta["name"], bound, subresource="status")

    # -- PVs -----------------------------------------------------------------------------------
    def _reconcile_pv(self, rt: Runtime, name: str) -> None:
        pv = rt.store.get(PV, None, name)
        if pv is None:
            self.pacer.forget((PV, "", name))
            rt.disks.delete(pv_key(name))  # the volume's bytes go with it
            return
        key = (PV, "", name)
        meta, spec = pv["metadata"], pv["spec"]
        if meta.get("deletionTimestamp"):
            if _phase(pv) != "Bound":
                for finalizer in (CSI_FINALIZER, PV_PROTECTION):
                    if finalizer in (meta.get("finalizers") or []):
                        rt.service.remove_finalizer(PV, None, name, finalizer)
            return
        ref = spec.get("claimRef") or {}
        phase = _phase(pv)
        if not ref or (not ref.get("uid") and phase in ("", "Pending")):  # unbound or pre-bound
            if phase != "Available":
                self._set_pv_phase(rt, name, "Available")
            return
        claim = rt.store.get(PVC, ref.get("namespace"), ref.get("name", ""))
        claim_gone = claim is None or (ref.get("uid") and claim["metadata"]["uid"] != ref["uid"])
        if not claim_gone:
            if phase not in ("Bound", "Available"):
                self._set_pv_phase(rt, name, "Available")
            return
        if phase == "Bound" or (phase == "Available" and ref.get("uid")):
            self._set_pv_phase(rt, name, "Released")
            self.pacer.ready(rt, self, key, "released")
            return
        if phase == "Released" and spec.get("persistentVolumeReclaimPolicy") == "Delete":
            if self.pacer.ready(rt, self, key, "released"):
                rt.service.delete(PV, None, name)
                for finalizer in (CSI_FINALIZER, PV_PROTECTION):
                    rt.service.remove_finalizer(PV, None, name, finalizer)

    def _set_pv_phase(self, rt: Runtime, name: str, phase: str) -> None:
        rt.service.mutate(PV, None, name, lambda o: o.setdefault("status", {}).update(
            phase=phase, lastPhaseTransitionTime=now_rfc3339()), subresource="status")

    # -- StorageProfiles and CDIConfig ---------------------------------------------------------
    def _reconcile_profile(self, rt: Runtime, name: str) -> None:
        sc = rt.store.get(SC, None, name)
        profile = rt.store.get(SP, None, name)
        if sc is None:
            if profile is not None:
                rt.service.delete(SP, None, name)
            return
        pvs = rt.service.list(PV) if sc.get("provisioner") == cat.NO_PROVISIONER else []
        status = cat.profile_status(sc, (profile or {}).get("spec") or {}, pvs)
        if profile is None:
            rt.service.create(SP, cat.profile_object(sc, status), keep_status=True)
        elif profile.get("status") != status:
            rt.service.mutate(SP, None, name, lambda o: o.__setitem__("status", status), subresource="status")

    def _config_status(self, rt: Runtime, spec: dict) -> dict:
        return cat.cdiconfig_status(spec, rt.service.list(SC), self._upload_proxy_host(rt))

    @staticmethod
    def _upload_proxy_host(rt: Runtime) -> Optional[str]:
        """CDI publishes the upload proxy Route host (no scheme); virtctl adds https://."""
        url = rt.options.get("upload_proxy_url") or rt.options.get("url")
        if not url:
            return None
        return str(url).split("://", 1)[-1].rstrip("/")

    def _reconcile_config(self, rt: Runtime) -> None:
        config = rt.store.get(CDICONFIG, None, "config")
        if config is None:
            return
        if self._upload_proxy_host(rt) is None and self._url_polls < URL_POLLS:
            # the server's address is known only once it listens (after the controllers start)
            self._url_polls += 1
            rt.enqueue(self, (CDICONFIG, "", "config"), delay=0.1)
        status = self._config_status(rt, config.get("spec") or {})
        if config.get("status") != status:
            rt.service.mutate(CDICONFIG, None, "config", lambda o: o.__setitem__("status", status),
                              subresource="status")

    # -- helpers -------------------------------------------------------------------------------
    def _event_once(self, rt: Runtime, obj: dict, reason: str, message: str, warning: bool = False,
                    text: str = "", component: str = PV_CONTROLLER) -> None:
        """``reason`` may carry a ``-tag`` (once per tag); ``text`` then is the message."""
        mark = (obj["metadata"]["uid"], reason)
        if mark in self._emitted:
            return
        self._emitted.add(mark)
        rt.record_event(obj, reason.split("-", 1)[0], text or message, event_type="Warning" if warning else "Normal",
                        component=component)

    def _provisioner_id(self, rt: Runtime, provisioner: str) -> str:
        """The CSI provisioner identity that signs its events and PVs."""
        if provisioner not in self._provisioner_ids:
            pod = "csi-rbdplugin-provisioner" if "rbd" in provisioner else (
                "csi-cephfsplugin-provisioner" if "cephfs" in provisioner else "hostpath-provisioner-csi")
            self._provisioner_ids[provisioner] = (f"{provisioner}_{pod}-{rt.service.random_suffix(10)}-"
                                                  f"{rt.service.random_suffix(5)}_{rt.service.new_uid()}")
        return self._provisioner_ids[provisioner]


def _phase(obj: dict) -> str:
    return (obj.get("status") or {}).get("phase") or ""


def _request(pvc: dict) -> Any:
    return ((pvc.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage")


def _provisioned_size(provisioner: str, requested: int) -> int:
    """Ceph CSI rounds volumes up to whole MiB; other drivers give what was asked."""
    if "ceph.com" in provisioner:
        return round_up(max(requested, 1), MiB)
    return requested
