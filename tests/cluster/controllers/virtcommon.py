"""Facts and small helpers shared by the simulated KubeVirt controllers (virt, vmi, migration,
virt-api) and the seeder: KubeVirt's label/annotation/finalizer names, the KubeVirt CR (where it
lives, its defaults, reading its configuration), quantities and conditions. Resource keys: keys.py.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, Iterable, Optional

from ..api import errors
from ..api.objects import now_rfc3339
from ..api.store import Store
from .keys import KUBEVIRT, NAMESPACE


# -- names KubeVirt uses (staging/src/kubevirt.io/api/core/v1/types.go) --------------------------
APP_LABEL = "kubevirt.io"
CREATED_BY_LABEL = "kubevirt.io/created-by"
NODE_NAME_LABEL = "kubevirt.io/nodeName"
MIGRATION_TARGET_NODE_LABEL = "kubevirt.io/migrationTargetNodeName"
MIGRATION_JOB_LABEL = "kubevirt.io/migrationJobUID"
MIGRATION_SELECTOR_LABEL = "kubevirt.io/vmi-name"
VM_NAME_LABEL = "vm.kubevirt.io/name"  # DeprecatedVirtualMachineNameLabel: the pod's hostname
VMI_ID_LABEL = "vmi.kubevirt.io/id"  # VirtualMachineInstanceIDLabel (v1.7)
DOMAIN_ANNOTATION = "kubevirt.io/domain"
VM_GENERATION_ANNOTATION = "kubevirt.io/vm-generation"
EVACUATION_ANNOTATION = "kubevirt.io/evacuationMigration"
UNSCHEDULABLE_TIMEOUT_ANNOTATION = "kubevirt.io/migrationUnschedulablePodTimeoutSeconds"
VMI_FINALIZER = "kubevirt.io/foregroundDeleteVirtualMachine"
VM_CONTROLLER_FINALIZER = "kubevirt.io/virtualMachineControllerFinalize"
MIGRATION_FINALIZER = "kubevirt.io/migrationJobFinalize"
# Simulation-only: a guest "powers itself off" (there is no guest to run `shutdown` in).
GUEST_SHUTDOWN_ANNOTATION = "sim.virt.kubevirt.io/guest-shutdown"

LAUNCHER_IMAGE = {
    "openshift": "registry.redhat.io/container-native-virtualization/virt-launcher-rhel9@sha256:"
                 "5e0c6a3bcb1f2b7f5b2f4c1e7f0e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29",
    "kubernetes": "quay.io/kubevirt/virt-launcher:v1.7.0",
}
KUBEVIRT_VERSION = "v1.7.0"
MACHINE_TYPE = {"openshift": "pc-q35-rhel9.6.0", "kubernetes": "q35"}


def flavor(options: dict) -> str:
    return "openshift" if options.get("flavor", "openshift") == "openshift" else "kubernetes"


# -- KubeVirt CR --------------------------------------------------------------------------------
def kubevirt_location(options: dict) -> tuple[str, str]:
    """(namespace, name) of the KubeVirt CR: HCO's on OpenShift, the upstream sample otherwise."""
    if flavor(options) == "openshift":
        return "openshift-cnv", "kubevirt-kubevirt-hyperconverged"
    return "kubevirt", "kubevirt"


def build_kubevirt_cr(options: dict) -> dict:
    namespace, name = kubevirt_location(options)
    openshift = flavor(options) == "openshift"
    configuration: dict[str, Any] = {
        "developerConfiguration": {"featureGates": (
            ["DataVolumes", "SRIOV", "CPUManager", "CPUNodeDiscovery", "Snapshot", "HotplugVolumes",
             "ExpandDisks", "GPU", "HostDevices", "VMExport", "VMLiveUpdateFeatures",
             "VolumesUpdateStrategy", "VolumeMigration"]
            if openshift else ["HotplugVolumes", "ExpandDisks", "Snapshot", "VMExport"])},
        "migrations": {
            "allowAutoConverge": False, "allowPostCopy": False, "bandwidthPerMigration": "64Mi",
            "completionTimeoutPerGiB": 150, "parallelMigrationsPerCluster": 5,
            "parallelOutboundMigrationsPerNode": 2, "progressTimeout": 150,
        },
        "vmRolloutStrategy": "LiveUpdate",
        "network": {"defaultNetworkInterface": "masquerade"},
    }
    if openshift:  # HCO's default on clusters with more than one worker
        configuration["evictionStrategy"] = "LiveMigrate"
    labels = {"app.kubernetes.io/component": "compute", "app.kubernetes.io/managed-by": "hco-operator",
              "app.kubernetes.io/part-of": "hyperconverged-cluster", "app": "kubevirt-hyperconverged"} \
        if openshift else {}
    stamp = now_rfc3339()
    ready = [("Available", "True", "All components are ready."), ("Progressing", "False", "All components are ready."),
             ("Degraded", "False", "All components are ready."), ("Created", "True", "All resources were created.")]
    return {
        "apiVersion": "kubevirt.io/v1", "kind": "KubeVirt",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"certificateRotateStrategy": {}, "configuration": configuration, "customizeComponents": {},
                 "imagePullPolicy": "IfNotPresent",
                 "workloadUpdateStrategy": {"workloadUpdateMethods": ["LiveMigrate"], "batchEvictionSize": 10,
                                            "batchEvictionInterval": "1m0s"} if openshift else {}},
        "status": {
            "phase": "Deployed",
            "conditions": [{"type": t, "status": s, "reason": "AllComponentsReady", "message": m,
                            "lastProbeTime": stamp, "lastTransitionTime": stamp} for t, s, m in ready],
            "observedKubeVirtVersion": KUBEVIRT_VERSION, "targetKubeVirtVersion": KUBEVIRT_VERSION,
            "operatorVersion": KUBEVIRT_VERSION, "observedGeneration": 1, "defaultArchitecture": "amd64",
            "observedDeploymentID": "sim", "targetDeploymentID": "sim",
        },
    }


def ensure_kubevirt_cr(service: Any, options: dict) -> None:
    """Create the KubeVirt CR (and its namespace) once, with status Deployed."""
    namespace, name = kubevirt_location(options)
    try:
        service.create(NAMESPACE, {"metadata": {"name": namespace}})
    except errors.ApiError as exc:
        if exc.code != 409:
            raise
    if service.store.get(KUBEVIRT, namespace, name) is None:
        service.create(KUBEVIRT, build_kubevirt_cr(options), keep_status=True)


def kubevirt_config(store: Store) -> dict:
    """spec.configuration of the (only) KubeVirt CR, or {} when there is none."""
    for kv in store.list(KUBEVIRT)[0]:
        return kv.get("spec", {}).get("configuration") or {}
    return {}


def feature_gates(store: Store) -> set[str]:
    return set((kubevirt_config(store).get("developerConfiguration") or {}).get("featureGates") or [])


def migration_config(store: Store) -> dict:
    defaults = {"parallelMigrationsPerCluster": 5, "parallelOutboundMigrationsPerNode": 2,
                "bandwidthPerMigration": "64Mi", "completionTimeoutPerGiB": 150, "progressTimeout": 150,
                "allowAutoConverge": False, "allowPostCopy": False, "unsafeMigrationOverride": False,
                "nodeDrainTaintKey": "kubevirt.io/drain"}
    return {**defaults, **(kubevirt_config(store).get("migrations") or {})}


def eviction_strategy(store: Store, vmi: dict) -> Optional[str]:
    """migrations.VMIEvictionStrategy: the VMI's own, else the cluster-wide one."""
    return (vmi.get("spec") or {}).get("evictionStrategy") or kubevirt_config(store).get("evictionStrategy")


# -- run strategy -------------------------------------------------------------------------------
RUN_STRATEGIES = ("Always", "RerunOnFailure", "Manual", "Halted", "Once", "WaitAsReceiver")


def run_strategy(vm: dict) -> str:
    """VirtualMachine.RunStrategy(): runStrategy, else the deprecated running flag, else Halted."""
    spec = vm.get("spec") or {}
    if spec.get("runStrategy"):
        return spec["runStrategy"]
    if spec.get("running") is True:
        return "Always"
    return "Halted"


# -- VMI state ----------------------------------------------------------------------------------
def vmi_phase(vmi: Optional[dict]) -> str:
    return ((vmi or {}).get("status") or {}).get("phase") or ""


def vmi_is_final(vmi: Optional[dict]) -> bool:
    return vmi_phase(vmi) in ("Succeeded", "Failed")


def controller_ref(obj: dict) -> Optional[dict]:
    for ref in obj.get("metadata", {}).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def is_controlled_by(obj: dict, owner: dict) -> bool:
    ref = controller_ref(obj)
    return ref is not None and ref.get("uid") == owner["metadata"]["uid"]


# -- conditions ---------------------------------------------------------------------------------
def get_condition(obj: Optional[dict], ctype: str) -> Optional[dict]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or ():
        if cond.get("type") == ctype:
            return cond
    return None


def has_condition(obj: Optional[dict], ctype: str, status: Optional[str] = None,
                  reason: Optional[str] = None) -> bool:
    cond = get_condition(obj, ctype)
    return cond is not None and (status is None or cond.get("status") == status) and \
        (reason is None or cond.get("reason") == reason)


def remove_condition(conditions: list[dict], ctype: str) -> list[dict]:
    return [c for c in conditions if c.get("type") != ctype]


# -- quantities ---------------------------------------------------------------------------------
_SUFFIX = {
    "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
    "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
    "E": 1e18,
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|K|M|G|T|P|E)?$")


def parse_quantity(value: Any) -> float:
    """A Kubernetes resource.Quantity as a number of base units (cores, bytes)."""
    if value is None:
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise ValueError(f"quantities must match the regular expression "
                         f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {value!r}")
    number, suffix = match.groups()
    return float(number) * _SUFFIX[suffix or ""]


def format_bytes(value: float) -> str:
    """Bytes as the shortest exact binary quantity (``2Gi``, ``2304Mi``, ``123Ki``, ``1000``)."""
    n = int(math.ceil(value))
    for suffix, size in (("Ti", 2 ** 40), ("Gi", 2 ** 30), ("Mi", 2 ** 20), ("Ki", 2 ** 10)):
        if n and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


def format_cpu(cores: float) -> str:
    milli = int(round(cores * 1000))
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


# -- misc ---------------------------------------------------------------------------------------
def clone(value: Any) -> Any:
    """A deep copy of JSON data (several times faster than copy.deepcopy)."""
    return json.loads(json.dumps(value))


def volume_claim_name(volume: dict) -> str:
    """PVCNameFromVirtVolume: the claim behind a persistentVolumeClaim or dataVolume volume."""
    if volume.get("persistentVolumeClaim"):
        return volume["persistentVolumeClaim"].get("claimName", "")
    if volume.get("dataVolume"):
        return volume["dataVolume"].get("name", "")
    return ""


def is_hotpluggable(volume: dict) -> bool:
    return bool((volume.get("persistentVolumeClaim") or {}).get("hotpluggable")
                or (volume.get("dataVolume") or {}).get("hotpluggable"))


def phase_transition(status: dict, phase: str) -> None:
    """Set ``phase`` and append KubeVirt's phaseTransitionTimestamps entry when it changes."""
    if status.get("phase") == phase:
        return
    status["phase"] = phase
    stamps = list(status.get("phaseTransitionTimestamps") or [])
    stamps.append({"phase": phase, "phaseTransitionTimestamp": now_rfc3339()})
    status["phaseTransitionTimestamps"] = stamps


def conflict(resource: str, name: str, message: str) -> errors.ApiError:
    """errors.NewConflict(v1.Resource(resource), name, err) as virt-api writes it."""
    return errors.ApiError(409, "Conflict",
                           f'Operation cannot be fulfilled on {resource}.kubevirt.io "{name}": {message}',
                           {"name": name, "group": "kubevirt.io", "kind": resource})


def not_found(resource: str, name: str) -> errors.ApiError:
    """errors.NewNotFound(v1.Resource(resource), name) as virt-api writes it."""
    return errors.ApiError(404, "NotFound", f'{resource}.kubevirt.io "{name}" not found',
                           {"name": name, "group": "kubevirt.io", "kind": resource})


def webhook_denied(webhook: str, message: str, code: int = 400, reason: str = "",
                   causes: Optional[list[dict]] = None) -> errors.ApiError:
    """How kube-apiserver reports a denial from a validating webhook (webhookerrors.ToStatusErr)."""
    details = {"causes": causes} if causes else None
    return errors.ApiError(code, reason, f'admission webhook "{webhook}" denied the request: {message}', details)


def names(objs: Iterable[dict]) -> list[str]:
    return [o["metadata"]["name"] for o in objs]
