"""VirtualMachineExport (export.kubevirt.io/v1beta1), as KubeVirt's pkg/storage/export/export does it.

- Status starts Pending with Ready False ``Initializing`` and ``ttlExpirationTime`` = creation +
  ``spec.ttlDuration`` (default 2h); at that time the export is deleted (its token Secret, exporter
  pod, service and restored claims go with it through their ownerReferences).
- Sources: PersistentVolumeClaim (PVCReady condition: PVCNotFound / PVCPending / PVCBound; Ready
  False ``InUse`` "PersistentVolumeClaim ns/x is in use" while a running pod mounts it),
  VirtualMachine (``VMNotFound``, ``VMNoVolumes``, ``VolumesNotPopulated``, ``InUse`` "Virtual Machine
  ns/x is running" while its VMI exists), VirtualMachineSnapshot (``VMSnapshotNotFound``; claims
  ``<export>-<claim>`` restored from the snapshot's VolumeSnapshots, VolumesCreated condition).
- Token: ``spec.tokenSecretRef`` names the user's Secret (key ``token``); without it the controller
  makes ``export-token-<name>`` (owned by the export, SecretCreated event) and names it in
  ``status.tokenSecretRef`` (KubeVirt >= 1.3; older versions required the spec field).
- Once the source is usable: service and exporter pod ``virt-export-<name>`` (pod Pending for one
  transition, then Running and ready), phase Ready, Ready True ``PodReady``, ``status.links``:
  internal ``https://virt-export-<name>.<ns>.svc/volumes/<claim>/disk.img`` (and ``disk.img.gz``,
  manifests under ``/internal/manifests/{all,secret}`` for VM and snapshot sources) with the export
  CA as ``cert``; external the same under ``https://<proxy host>/api/export.kubevirt.io/v1beta1/
  namespaces/<ns>/virtualmachineexports/<name>``. The virt-exportproxy Route's host is this API
  server's address and its cert the cluster CA, so the external links are reachable in tests.
- KubeVirt 1.9's OCI export, when the KubeVirt CR enables the alpha feature gate ``OCIExport``
  (VirtualMachine and VirtualMachineSnapshot sources, as supportsOCI): the exporter pod is made with
  ``EXPORT_OCI_URI=/export.oci.tar`` and gets ready only once the server has computed the image's
  digests; meanwhile phase Pending, Ready False ``Unknown`` (KubeVirt's reason for a running pod that
  is not ready) and ``OCIReady`` False ``DigestsPending`` (also while the source is not ready), then
  ``OCIReady`` True ``DigestsComputed`` with Ready. Both links get a manifest ``{"type": "oci", "url":
  "https://<base>/export.oci.tar"}`` (after ``all`` and ``auth-header-secret``; no ``internal/`` or
  ``external/`` segment, as links.go). OCIReady follows the gate and the pod's readiness: an export made
  before the gate was enabled gets OCIReady True but no oci link (its pod has no EXPORT_OCI_URI).
The export server itself is in vm_export_server.py, the OCI image in vm_export_oci.py. Not simulated:
dir / tar.gz formats (archive content claims), VirtualMachineTemplate sources, backups, certificate
rotation.
"""
from __future__ import annotations

import base64
import secrets
import time
from datetime import datetime, timezone
from typing import Iterable, Optional

from ..api import errors
from ..api.objects import condition, now_rfc3339, owner_reference, set_condition
from ..api.resources import GR
from ..api.store import Event
from .keys import DV, NODE, POD, PVC, SECRET, SERVICE, VM, VMI
from .pacing import Pacer
from .runtime import Controller, ObjKey, Runtime
from .storage import apply_pvc_admission, pod_active, pod_claims
from .virtcommon import feature_gates, volume_claim_name
from .vm_export_oci import OCI_ENV, OCI_URI
from .vm_snapshots import parse_duration

VMEXPORT: GR = ("export.kubevirt.io", "virtualmachineexports")
VMSNAPSHOT: GR = ("snapshot.kubevirt.io", "virtualmachinesnapshots")
VMSNAPSHOTCONTENT: GR = ("snapshot.kubevirt.io", "virtualmachinesnapshotcontents")
DEFAULT_TTL = 7200.0  # exportv1.DefaultDurationTTL
EXPORT_PREFIX = "virt-export"
EXTERNAL_PATH = "/api/export.kubevirt.io/v1beta1/namespaces/{ns}/virtualmachineexports/{name}"
CONTENT_TYPE = "cdi.kubevirt.io/storage.contentType"
COMPONENT = "virt-controller"
OCI_GATE = "OCIExport"
OCI_SOURCES = ("VirtualMachine", "VirtualMachineSnapshot")  # supportsOCI (and VirtualMachineTemplate)


def export_resource_name(name: str) -> str:
    """getExportServiceName: the service and pod name (dots are not allowed in DNS-1035 labels)."""
    return f"{EXPORT_PREFIX}-{name.replace('.', '-')}"


def token_secret_name(name: str) -> str:
    return f"export-token-{name}"[:63]


def export_volumes(rt: Runtime, export: dict) -> list[tuple[str, str]]:
    """(link volume name, claim name) of a Ready export: what the server serves."""
    return _served(rt, export)


def _served(rt: Runtime, export: dict) -> list[tuple[str, str]]:
    namespace, name = export["metadata"]["namespace"], export["metadata"]["name"]
    source = export["spec"].get("source") or {}
    kind = source.get("kind")
    if kind == "PersistentVolumeClaim":
        return [(source.get("name", ""), source.get("name", ""))]
    if kind == "VirtualMachine":
        vm = rt.store.get(VM, namespace, source.get("name", "")) or {}
        return [(c, c) for c in _vm_claims(vm)]
    if kind == "VirtualMachineSnapshot":
        return [(c, f"{name}-{c}") for c in _snapshot_claims(rt, namespace, source.get("name", ""))]
    return []


def _vm_claims(vm: dict) -> list[str]:
    volumes = ((((vm.get("spec") or {}).get("template") or {}).get("spec") or {}).get("volumes")) or []
    return [c for c in (volume_claim_name(v) for v in volumes) if c]


def _snapshot_backups(rt: Runtime, namespace: str, snapshot: str) -> list[dict]:
    snap = rt.store.get(VMSNAPSHOT, namespace, snapshot) or {}
    content_name = (snap.get("status") or {}).get("virtualMachineSnapshotContentName")
    content = rt.store.get(VMSNAPSHOTCONTENT, namespace, content_name) if content_name else None
    return list(((content or {}).get("spec") or {}).get("volumeBackups") or [])


def _snapshot_claims(rt: Runtime, namespace: str, snapshot: str) -> list[str]:
    return [b["persistentVolumeClaim"]["metadata"]["name"] for b in _snapshot_backups(rt, namespace, snapshot)
            if b.get("volumeSnapshotName")]


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


class ExportController(Controller):
    name = "vm-exports"
    watches = (VMEXPORT, PVC, VM, VMI, VMSNAPSHOT, DV, POD)

    def __init__(self) -> None:
        self.pacer = Pacer()

    def setup(self, rt: Runtime) -> None:
        self.rt = rt
        from .vm_export_server import ExportServer  # the endpoints, on this API server's port
        self.server = ExportServer(rt)
        rt.registry.add_route("/api/export.kubevirt.io/", self.server.handle)

    def keys_for(self, event: Event) -> Iterable[ObjKey]:
        meta = event.obj.get("metadata") or {}
        namespace = meta.get("namespace") or ""
        if event.gr == VMEXPORT:
            return [(VMEXPORT, namespace, meta["name"])] if event.type != "DELETED" else []
        if event.gr == POD and not (meta.get("labels") or {}).get("kubevirt.io") and not pod_claims(event.obj):
            return []
        return [(VMEXPORT, namespace, e["metadata"]["name"]) for e in self.rt.store.list(VMEXPORT, namespace)[0]]

    # -- reconcile -----------------------------------------------------------------------------
    def reconcile(self, rt: Runtime, gr: GR, namespace: str, name: str) -> None:
        export = rt.store.get(VMEXPORT, namespace, name)
        if export is None or export["metadata"].get("deletionTimestamp"):
            self.server.forget(namespace, name)
            return
        status = export.get("status") or {}
        if not status.get("ttlExpirationTime"):
            self._initial_status(rt, export)
            return
        remaining = _epoch(status["ttlExpirationTime"]) - time.time()
        if remaining <= 0:
            self._delete(rt, namespace, name)
            return
        rt.enqueue(self, (VMEXPORT, namespace, name), delay=remaining + 0.05)
        kind = (export["spec"].get("source") or {}).get("kind")
        if kind == "PersistentVolumeClaim":
            ready, source_cond = self._pvc_source(rt, export)
        elif kind == "VirtualMachine":
            ready, source_cond = self._vm_source(rt, export)
        elif kind == "VirtualMachineSnapshot":
            ready, source_cond = self._snapshot_source(rt, export)
        else:
            return
        self._update(rt, export, ready, source_cond)

    def _initial_status(self, rt: Runtime, export: dict) -> None:
        created = _epoch(export["metadata"]["creationTimestamp"])
        ttl = export["spec"].get("ttlDuration")
        expire = created + (DEFAULT_TTL if ttl is None else parse_duration(ttl))
        new_status = {"phase": "Pending", "conditions": [condition("Ready", "False", "Initializing", probe=True)],
                      "ttlExpirationTime": _rfc3339(expire)}
        self._write_status(rt, export, new_status)

    def _delete(self, rt: Runtime, namespace: str, name: str) -> None:
        try:
            rt.service.delete(VMEXPORT, namespace, name, propagation="Background")
        except errors.ApiError as exc:
            if exc.code != 404:
                raise

    # -- sources: (Ready condition while not ready or None when usable, source condition) --------
    def _claim_in_use(self, rt: Runtime, export: dict, claim: str) -> bool:
        own = export_resource_name(export["metadata"]["name"])
        for pod in rt.store.list(POD, export["metadata"]["namespace"])[0]:
            if pod["metadata"]["name"] != own and claim in pod_claims(pod) and pod_active(pod):
                return True
        return False

    def _pvc_source(self, rt: Runtime, export: dict) -> tuple[Optional[dict], Optional[dict]]:
        namespace, claim = export["metadata"]["namespace"], export["spec"]["source"].get("name", "")
        pvc = rt.store.get(PVC, namespace, claim)
        if pvc is None:
            return (condition("Ready", "False", "Initializing", probe=True),
                    condition("PVCReady", "False", "PVCNotFound", f"PersistentVolumeClaim {namespace}/{claim} not found",
                              probe=True))
        source = _pvc_condition(pvc)
        if self._claim_in_use(rt, export, claim):
            return condition("Ready", "False", "InUse", f"PersistentVolumeClaim {namespace}/{claim} is in use",
                             probe=True), source
        if not _populated(rt, pvc):
            return condition("Ready", "False", "PVCPending", f"PersistentVolumeClaim {namespace}/{claim} is not populated",
                             probe=True), source
        return None, source

    def _vm_source(self, rt: Runtime, export: dict) -> tuple[Optional[dict], Optional[dict]]:
        namespace, vm_name = export["metadata"]["namespace"], export["spec"]["source"].get("name", "")
        vm = rt.store.get(VM, namespace, vm_name)
        if vm is None:
            return condition("Ready", "False", "VMNotFound", f"Virtual Machine {namespace}/{vm_name} not found",
                             probe=True), None
        claims = _vm_claims(vm)
        if not claims:
            return condition("Ready", "False", "VMNoVolumes", f"Virtual Machine {namespace}/{vm_name} has no volumes",
                             probe=True), None
        pvcs = [rt.store.get(PVC, namespace, c) for c in claims]
        source = _pvc_condition(pvcs[0]) if all(pvcs) else \
            condition("PVCReady", "False", "PVCNotFound", "", probe=True)
        if not all(p is not None and _populated(rt, p) for p in pvcs):
            return condition("Ready", "False", "VolumesNotPopulated",
                             f"Not all volumes in the Virtual Machine {namespace}/{vm_name} are populated",
                             probe=True), source
        if rt.store.get(VMI, namespace, vm_name) is not None:
            return condition("Ready", "False", "InUse", f"Virtual Machine {namespace}/{vm_name} is running",
                             probe=True), source
        return None, source

    def _snapshot_source(self, rt: Runtime, export: dict) -> tuple[Optional[dict], Optional[dict]]:
        namespace, name = export["metadata"]["namespace"], export["metadata"]["name"]
        snap_name = export["spec"]["source"].get("name", "")
        snap = rt.store.get(VMSNAPSHOT, namespace, snap_name)
        if snap is None:
            return (condition("Ready", "False", "VMSnapshotNotFound",
                              f"VirtualMachineSnapshot {namespace}/{snap_name} not found", probe=True),
                    condition("VolumesCreated", "False", "VMSnapshotNoVolumes",
                              f"VirtualMachineSnapshot {namespace}/{snap_name} does not contain any volume snapshots",
                              probe=True))
        if not (snap.get("status") or {}).get("readyToUse"):
            message = f"VirtualMachineSnapshot {namespace}/{snap_name} is not ready to use"
            return (condition("Ready", "False", "NotAllPVCsCreated", message, probe=True),
                    condition("VolumesCreated", "False", "NotAllPVCsCreated", message, probe=True))
        backups = [b for b in _snapshot_backups(rt, namespace, snap_name) if b.get("volumeSnapshotName")]
        if not backups:
            return (condition("Ready", "False", "Initializing", probe=True),
                    condition("VolumesCreated", "False", "VMSnapshotNoVolumes",
                              f"VirtualMachineSnapshot {namespace}/{snap_name} does not contain any volume snapshots",
                              probe=True))
        populated = True
        for backup in backups:
            claim = f"{name}-{backup['persistentVolumeClaim']['metadata']['name']}"
            pvc = rt.store.get(PVC, namespace, claim) or self._restore_claim(rt, export, backup, claim)
            populated = populated and pvc is not None and _populated(rt, pvc)
        if not populated:
            return (condition("Ready", "False", "Initializing", probe=True),
                    condition("VolumesCreated", "False", "NotAllPVCsReady", "Not all PVCs are ready", probe=True))
        return None, condition("VolumesCreated", "True", "AllPVCsReady", "", probe=True)

    def _restore_claim(self, rt: Runtime, export: dict, backup: dict, claim: str) -> Optional[dict]:
        """CreateRestorePVCDef: the backup's claim spec, its VolumeSnapshot as dataSource, owned by the export."""
        spec = dict(backup["persistentVolumeClaim"].get("spec") or {})
        spec.pop("volumeName", None)
        spec.pop("dataSourceRef", None)
        spec["dataSource"] = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
                              "name": backup["volumeSnapshotName"]}
        anns = (backup["persistentVolumeClaim"].get("metadata") or {}).get("annotations") or {}
        pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": claim, "namespace": export["metadata"]["namespace"],
                            "annotations": {k: v for k, v in anns.items() if k == CONTENT_TYPE},
                            "ownerReferences": [owner_reference(export)]},
               "spec": spec}
        apply_pvc_admission(rt.store, pvc)
        try:
            return rt.service.create(PVC, pvc)
        except errors.ApiError:
            return None

    # -- the exporter --------------------------------------------------------------------------
    def _update(self, rt: Runtime, export: dict, not_ready: Optional[dict], source_cond: Optional[dict]) -> None:
        namespace, name = export["metadata"]["namespace"], export["metadata"]["name"]
        status = dict(export.get("status") or {})
        conditions = list(status.get("conditions") or [])
        if source_cond is not None:
            conditions = set_condition(conditions, source_cond)
        spec_secret = export["spec"].get("tokenSecretRef")
        if spec_secret:
            status["tokenSecretRef"] = spec_secret
        if export["spec"]["source"].get("kind") == "VirtualMachine":
            status["virtualMachineName"] = export["spec"]["source"].get("name")
        key = (VMEXPORT, namespace, name)
        pod_name = export_resource_name(name)
        oci = OCI_GATE in feature_gates(rt.store) and export["spec"]["source"].get("kind") in OCI_SOURCES
        if not_ready is not None:
            self._stop_exporter(rt, namespace, name, pod_name)
            status.update(phase="Pending", links={})
            conditions = set_condition(conditions, not_ready)
            self.pacer.forget(key)
            self.pacer.forget((key, "oci"))
        else:
            if not spec_secret:
                status["tokenSecretRef"] = self._ensure_token(rt, export)
            service = self._ensure(rt, SERVICE, self._service(export, pod_name))
            pod = self._ensure(rt, POD, self._pod(rt, export, pod_name, oci))
            status["serviceName"] = (service or {}).get("metadata", {}).get("name", pod_name)
            if not self.pacer.ready(rt, self, key, "pod-pending"):
                status.update(phase="Pending", links={})
                conditions = set_condition(conditions, condition("Ready", "False", "PodPending", probe=True))
            elif not self._pod_ready(rt, export, pod):
                status.update(phase="Pending", links={})
                conditions = set_condition(conditions, condition("Ready", "False", "Unknown", probe=True))
            else:
                status.update(phase="Ready", links=self._links(rt, export))
                conditions = set_condition(conditions, condition("Ready", "True", "PodReady", probe=True))
        if oci:
            computed = status.get("phase") == "Ready"
            conditions = set_condition(conditions, condition("OCIReady", "True" if computed else "False",
                                                             "DigestsComputed" if computed else "DigestsPending",
                                                             probe=True))
        status["conditions"] = conditions
        if status != export.get("status"):
            self._write_status(rt, export, status)

    def _ensure_token(self, rt: Runtime, export: dict) -> str:
        namespace, name = export["metadata"]["namespace"], export["metadata"]["name"]
        secret_name = (export.get("status") or {}).get("tokenSecretRef") or token_secret_name(name)
        if rt.store.get(SECRET, namespace, secret_name) is None:
            secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                      "metadata": {"name": secret_name, "namespace": namespace,
                                   "ownerReferences": [owner_reference(export)]},
                      "data": {"token": _b64(secrets.token_urlsafe(24))}}
            if self._ensure(rt, SECRET, secret) is not None:
                rt.record_event(export, "SecretCreated", f"Created default secret {namespace}/{secret_name}",
                                component=COMPONENT)
        return secret_name

    @staticmethod
    def _ensure(rt: Runtime, gr: GR, obj: dict) -> Optional[dict]:
        meta = obj["metadata"]
        found = rt.store.get(gr, meta["namespace"], meta["name"])
        if found is not None:
            return found
        try:
            return rt.service.create(gr, obj, keep_status=gr == POD)
        except errors.ApiError:
            return None

    def _pod_ready(self, rt: Runtime, export: dict, pod: Optional[dict]) -> bool:
        """The readiness probe: with EXPORT_OCI_URI it fails until the OCI digests are computed (and
        one transition has passed, so DigestsPending is seen); then the pod is marked ready."""
        if pod is None:
            return False
        conditions = (pod.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            return True
        key = (VMEXPORT, export["metadata"]["namespace"], export["metadata"]["name"])
        image = self.server.oci_image(export, lambda: rt.enqueue(self, key))
        if image is None or not image.ready.is_set() or not self.pacer.ready(rt, self, key, "digests", track=(key, "oci")):
            return False

        def ready(obj: dict) -> None:
            obj.setdefault("status", {})["conditions"] = [{"type": "Ready", "status": "True"}]
        rt.service.mutate(POD, pod["metadata"]["namespace"], pod["metadata"]["name"], ready, subresource="status")
        return True

    def _stop_exporter(self, rt: Runtime, namespace: str, name: str, pod_name: str) -> None:
        self.server.forget(namespace, name)
        if rt.store.get(POD, namespace, pod_name) is not None:
            try:
                rt.service.delete(POD, namespace, pod_name)
            except errors.ApiError:
                pass

    @staticmethod
    def _service(export: dict, name: str) -> dict:
        return {"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": export["metadata"]["namespace"],
                             "labels": {"kubevirt.io.virt-export-service": export["metadata"]["name"]},
                             "ownerReferences": [owner_reference(export)]},
                "spec": {"ports": [{"name": "export", "port": 443, "protocol": "TCP", "targetPort": 8443}],
                         "selector": {"kubevirt.io.virt-export-service": export["metadata"]["name"]}}}

    def _pod(self, rt: Runtime, export: dict, name: str, oci: bool) -> dict:
        claims = [c for _, c in _served(rt, export)]
        nodes = [n["metadata"]["name"] for n in rt.store.list(NODE)[0] if not n.get("spec", {}).get("unschedulable")]
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": export["metadata"]["namespace"],
                             "labels": {"kubevirt.io": "virt-exporter",
                                        "kubevirt.io.virt-export-service": export["metadata"]["name"]},
                             "ownerReferences": [owner_reference(export)]},
                "spec": {"nodeName": nodes[0] if nodes else None, "restartPolicy": "Never",
                         "containers": [{"name": "exporter", "image": "quay.io/kubevirt/virt-exportserver:v1.6.0",
                                         "env": [{"name": OCI_ENV, "value": OCI_URI}] if oci else [],
                                         "volumeMounts": [{"name": c, "mountPath": f"/export-volumes/{c}"}
                                                          for c in claims]}],
                         "volumes": [{"name": c, "persistentVolumeClaim": {"claimName": c, "readOnly": True}}
                                     for c in claims]},
                "status": {"phase": "Running", "startTime": now_rfc3339(),
                           "conditions": [{"type": "Ready", "status": "False" if oci else "True"}]}}

    def _links(self, rt: Runtime, export: dict) -> dict:
        namespace, name = export["metadata"]["namespace"], export["metadata"]["name"]
        internal_host = f"{export_resource_name(name)}.{namespace}.svc"
        proxy_host = str(rt.options.get("url", "")).split("://", 1)[-1].rstrip("/")
        external_base = proxy_host + EXTERNAL_PATH.format(ns=namespace, name=name)
        cert = str(rt.options.get("ca_pem", "")).strip()
        with_manifests = export["spec"]["source"].get("kind") != "PersistentVolumeClaim"
        oci = self.server.exporter_pod(export) is not None
        return {"internal": _link(internal_host, "internal", cert, _served(rt, export), with_manifests, oci),
                "external": _link(external_base, "external", cert, _served(rt, export), with_manifests, oci)}

    @staticmethod
    def _write_status(rt: Runtime, export: dict, status: dict) -> None:
        def apply(obj: dict) -> None:
            obj["status"] = status
        try:
            rt.service.mutate(VMEXPORT, export["metadata"]["namespace"], export["metadata"]["name"], apply,
                              subresource="status")
        except errors.ApiError as exc:
            if exc.code not in (404, 409):
                raise


def _link(base: str, kind: str, cert: str, volumes: list[tuple[str, str]], manifests: bool, oci: bool) -> dict:
    link: dict = {"cert": cert, "volumes": [
        {"name": vol, "formats": [{"format": "raw", "url": f"https://{base}/volumes/{vol}/disk.img"},
                                  {"format": "gzip", "url": f"https://{base}/volumes/{vol}/disk.img.gz"}]}
        for vol, _ in volumes]}
    if manifests:
        link["manifests"] = [{"type": "all", "url": f"https://{base}/{kind}/manifests/all"},
                             {"type": "auth-header-secret", "url": f"https://{base}/{kind}/manifests/secret"}]
    if oci:
        link.setdefault("manifests", []).append({"type": "oci", "url": f"https://{base}{OCI_URI}"})
    return link


def _pvc_condition(pvc: dict) -> dict:
    phase = (pvc.get("status") or {}).get("phase")
    if phase == "Bound":
        return condition("PVCReady", "True", "PVCBound", probe=True)
    if phase == "Pending":
        return condition("PVCReady", "False", "PVCPending", probe=True)
    return condition("PVCReady", "False", "Unknown", probe=True)


def _populated(rt: Runtime, pvc: dict) -> bool:
    """A bound claim whose DataVolume (if any) has Succeeded."""
    if (pvc.get("status") or {}).get("phase") != "Bound":
        return False
    dv = rt.store.get(DV, pvc["metadata"]["namespace"], pvc["metadata"]["name"])
    return dv is None or (dv.get("status") or {}).get("phase") == "Succeeded"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
