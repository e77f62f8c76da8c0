"""The cluster's storage offer and CDI's view of it: StorageClasses, StorageProfiles, CDIConfig, CDI CR.

StorageClasses mirror an OpenShift Data Foundation + hostpath-provisioner install. StorageProfile
status is computed as CDI v1.61's storageprofile-controller does (pkg/storagecapabilities): claim
property sets per provisioner, clone strategy and DataImportCron source format. The advised
``snapshot`` formats are reported as ``pvc`` (the DataImportCron controller here imports to PVCs
only), although the rbd driver has a VolumeSnapshotClass. CDIConfig status follows config-controller.go.
"""
from __future__ import annotations

import copy
from typing import Any, Optional

ANN_DEFAULT = "storageclass.kubernetes.io/is-default-class"
ANN_DEFAULT_VIRT = "storageclass.kubevirt.io/is-default-virt-class"
NO_PROVISIONER = "kubernetes.io/no-provisioner"

RBD = "openshift-storage.rbd.csi.ceph.com"
CEPHFS = "openshift-storage.cephfs.csi.ceph.com"
HOSTPATH = "kubevirt.io.hostpath-provisioner"

DEFAULT_FS_OVERHEAD = "0.055"  # common.DefaultGlobalOverhead in CDI v1.61
CDI_CR_NAME = "cdi-kubevirt-hyperconverged"
CDI_LABELS = {
    "app": "containerized-data-importer",
    "app.kubernetes.io/component": "storage",
    "app.kubernetes.io/managed-by": "cdi-controller",
    "app.kubernetes.io/part-of": "hyperconverged-cluster",
}

_ODF_SECRETS = "openshift-storage"


def _ceph_params(kind: str) -> dict[str, str]:
    secret = "rook-csi-rbd" if kind == "rbd" else "rook-csi-cephfs"
    params = {
        "clusterID": "openshift-storage",
        "csi.storage.k8s.io/controller-expand-secret-name": f"{secret}-provisioner",
        "csi.storage.k8s.io/controller-expand-secret-namespace": _ODF_SECRETS,
        "csi.storage.k8s.io/node-stage-secret-name": f"{secret}-node",
        "csi.storage.k8s.io/node-stage-secret-namespace": _ODF_SECRETS,
        "csi.storage.k8s.io/provisioner-secret-name": f"{secret}-provisioner",
        "csi.storage.k8s.io/provisioner-secret-namespace": _ODF_SECRETS,
    }
    if kind == "rbd":
        params.update({
            "csi.storage.k8s.io/fstype": "ext4",
            "imageFeatures": "layering,deep-flatten,exclusive-lock,object-map,fast-diff",
            "imageFormat": "2",
            "mapOptions": "krbd:rxbounce",
            "mounter": "rbd",
            "pool": "ocs-storagecluster-cephblockpool",
        })
    else:
        params["fsName"] = "ocs-storagecluster-cephfilesystem"
    return params


# The classes created at start. Names are relied on by fixtures, seeds and tests.
DEFAULT_VIRT_CLASS = "ocs-storagecluster-ceph-rbd-virtualization"
RWX_FILESYSTEM_CLASS = "ocs-storagecluster-cephfs"
WFFC_CLASS = "local-wffc"

STORAGE_CLASSES: tuple[dict[str, Any], ...] = (
    {
        "metadata": {"name": DEFAULT_VIRT_CLASS, "annotations": {
            "description": "Provides RWO and RWX Block volumes suitable for Virtual Machine disks",
            ANN_DEFAULT: "true", ANN_DEFAULT_VIRT: "true"}},
        "provisioner": RBD, "parameters": _ceph_params("rbd"), "reclaimPolicy": "Delete",
        "allowVolumeExpansion": True, "volumeBindingMode": "Immediate",
    },
    {
        "metadata": {"name": RWX_FILESYSTEM_CLASS, "annotations": {
            "description": "Provides RWO and RWX Filesystem volumes"}},
        "provisioner": CEPHFS, "parameters": _ceph_params("cephfs"), "reclaimPolicy": "Delete",
        "allowVolumeExpansion": True, "volumeBindingMode": "Immediate",
    },
    {
        "metadata": {"name": WFFC_CLASS, "annotations": {
            "description": "Node-local hostpath volumes, bound where the first consumer runs"}},
        "provisioner": HOSTPATH, "parameters": {"storagePool": "local"}, "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    },
)

_RWX, _RWO, _ROX = "ReadWriteMany", "ReadWriteOnce", "ReadOnlyMany"
_BLOCK, _FILE = "Block", "Filesystem"
# storagecapabilities.CapabilitiesByProvisionerKey (subset), order preserved: the first set is the
# default CDI applies to DataVolumes that omit accessModes and volumeMode.
CAPABILITIES: dict[str, list[tuple[str, str]]] = {
    "kubernetes.io/rbd": [(_RWX, _BLOCK), (_RWO, _BLOCK), (_RWO, _FILE)],
    "rbd.csi.ceph.com": [(_RWX, _BLOCK), (_RWO, _BLOCK), (_RWO, _FILE)],
    RBD: [(_RWX, _BLOCK), (_RWO, _BLOCK), (_RWO, _FILE)],
    "cephfs.csi.ceph.com": [(_RWX, _FILE)],
    CEPHFS: [(_RWX, _FILE)],
    HOSTPATH: [(_RWO, _FILE)],
    "kubevirt.io/hostpath-provisioner": [(_RWO, _FILE)],
    "topolvm.io": [(_RWO, _BLOCK), (_RWO, _FILE)],
    "csi.trident.netapp.io": [(_RWX, _FILE), (_RWO, _FILE)],
    "nfs.csi.k8s.io": [(_RWX, _FILE)],
}
CLONE_STRATEGY = {RBD: "csi-clone", "rook-ceph.rbd.csi.ceph.com": "csi-clone", CEPHFS: "csi-clone",
                  "cephfs.csi.ceph.com": "csi-clone", "topolvm.io": "copy"}


def class_object(spec: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(spec)
    obj["apiVersion"] = "storage.k8s.io/v1"
    obj["kind"] = "StorageClass"
    return obj


def is_true(value: Any) -> bool:
    return str(value).lower() == "true"


def default_class(classes: list[dict], virt: bool = False) -> Optional[dict]:
    """The default class as Kubernetes / CDI pick it: newest first, then by name."""
    key = ANN_DEFAULT_VIRT if virt else ANN_DEFAULT
    marked = [c for c in classes if is_true((c["metadata"].get("annotations") or {}).get(key))]
    if not marked:
        return None
    marked.sort(key=lambda c: c["metadata"]["name"])
    marked.sort(key=lambda c: c["metadata"].get("creationTimestamp", ""), reverse=True)
    return marked[0]


def profile_status(sc: dict, spec: dict[str, Any], pvs: list[dict]) -> dict[str, Any]:
    """StorageProfile status for ``sc`` honouring the profile's ``spec`` overrides."""
    provisioner = sc.get("provisioner", "")
    name = sc["metadata"]["name"]
    status: dict[str, Any] = {"storageClass": name, "provisioner": provisioner}
    annotation_strategy = (sc["metadata"].get("annotations") or {}).get("cdi.kubevirt.io/clone-strategy")
    strategy = spec.get("cloneStrategy") or annotation_strategy or CLONE_STRATEGY.get(provisioner, "copy")
    if strategy == "snapshot":  # no VolumeSnapshotClass on this cluster
        strategy = "copy"
    status["cloneStrategy"] = strategy
    status["dataImportCronSourceFormat"] = spec.get("dataImportCronSourceFormat") or "pvc"
    sets = spec.get("claimPropertySets")
    if sets and all(s.get("volumeMode") and s.get("accessModes") for s in sets):
        status["claimPropertySets"] = copy.deepcopy(sets)
        return status
    if provisioner == NO_PROVISIONER:
        caps = _capabilities_from_pvs(name, pvs)
    else:
        caps = CAPABILITIES.get(provisioner, [])
    if caps:
        status["claimPropertySets"] = [{"accessModes": [mode], "volumeMode": vol} for mode, vol in caps]
    return status


def _capabilities_from_pvs(class_name: str, pvs: list[dict]) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    for pv in pvs:
        if pv["spec"].get("storageClassName") != class_name:
            continue
        for mode in pv["spec"].get("accessModes") or []:
            item = (mode, pv["spec"].get("volumeMode") or _FILE)
            if item not in seen:
                seen.append(item)
    return seen


def profile_object(sc: dict, status: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "StorageProfile",
        "metadata": {"name": sc["metadata"]["name"], "labels": dict(CDI_LABELS, **{"cdi.kubevirt.io": ""})},
        "spec": {}, "status": status,
    }


def cdiconfig_status(spec: dict[str, Any], classes: list[dict], upload_proxy: str | None) -> dict[str, Any]:
    """CDIConfig status as config-controller.go (v1.61) reconciles it from the spec."""
    global_overhead = DEFAULT_FS_OVERHEAD
    overhead_spec = spec.get("filesystemOverhead") or {}
    if overhead_spec.get("global"):
        global_overhead = str(overhead_spec["global"])
    per_class = overhead_spec.get("storageClass") or {}
    names = [c["metadata"]["name"] for c in classes]
    scratch = ""
    if spec.get("scratchSpaceStorageClass") in names:
        scratch = spec["scratchSpaceStorageClass"]
    else:
        default = default_class(classes)
        scratch = default["metadata"]["name"] if default else ""
    requests = {"cpu": "100m", "memory": "60M"}
    limits = {"cpu": "750m", "memory": "600M"}
    pod_spec = spec.get("podResourceRequirements") or {}
    limits.update({k: v for k, v in (pod_spec.get("limits") or {}).items() if k in ("cpu", "memory")})
    requests.update({k: v for k, v in (pod_spec.get("requests") or {}).items() if k in ("cpu", "memory")})
    status: dict[str, Any] = {
        "defaultPodResourceRequirements": {"limits": limits, "requests": requests},
        "filesystemOverhead": {"global": global_overhead,
                               "storageClass": {n: str(per_class.get(n, global_overhead)) for n in sorted(names)}},
        "importProxy": dict({"HTTPProxy": "", "HTTPSProxy": "", "noProxy": "", "trustedCAProxy": ""},
                            **(spec.get("importProxy") or {})),
        "preallocation": bool(spec.get("preallocation")),
        "scratchSpaceStorageClass": scratch,
    }
    if spec.get("imagePullSecrets"):
        status["imagePullSecrets"] = copy.deepcopy(spec["imagePullSecrets"])
    proxy = spec.get("uploadProxyURLOverride") or upload_proxy
    if proxy:
        status["uploadProxyURL"] = proxy
    return status


def cdi_cr(flavor: str = "openshift") -> dict[str, Any]:
    """The CDI custom resource (HyperConverged's on OpenShift, ``cdi`` upstream), reporting a deployed CDI."""
    name = "cdi" if flavor == "kubernetes" else CDI_CR_NAME
    version = "v1.61.1" if flavor == "kubernetes" else "v4.17.3"
    return {
        "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "CDI",
        "metadata": {"name": name, "labels": {"app": "kubevirt-hyperconverged",
                                                     "app.kubernetes.io/component": "storage",
                                                     "app.kubernetes.io/managed-by": "hco-operator",
                                                     "app.kubernetes.io/part-of": "hyperconverged-cluster"},
                     "finalizers": ["operator.cdi.kubevirt.io"]},
        "spec": {"certConfig": {"ca": {"duration": "48h0m0s", "renewBefore": "24h0m0s"},
                                "server": {"duration": "24h0m0s", "renewBefore": "12h0m0s"}},
                 "config": {"featureGates": ["HonorWaitForFirstConsumer", "DataVolumeClaimAdoption"]},
                 "infra": {}, "uninstallStrategy": "BlockUninstallIfWorkloadsExist", "workload": {}},
        "status": {"phase": "Deployed", "operatorVersion": version, "targetVersion": version,
                   "observedVersion": version,
                   "conditions": [
                       {"type": "Available", "status": "True", "reason": "", "message": ""},
                       {"type": "Progressing", "status": "False", "reason": "", "message": ""},
                       {"type": "Degraded", "status": "False", "reason": "", "message": ""}]},
    }
