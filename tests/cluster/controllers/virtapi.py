"""virt-api: KubeVirt's admission webhooks and the ``subresources.kubevirt.io`` API.

Mutating (as users see their effect): VMs get ``architecture: amd64`` and the cluster's default
machine type; VMIs get KubeVirt's defaults (finalizer, firmware UUID, CPU topology, guest memory and
memory request, virtio disk bus, a disk per volume, the default masquerade pod network,
terminationGracePeriodSeconds 180, ACPI); migrations get the ``kubevirt.io/vmi-name`` label and
their finalizer. Validating: VMs (template present, running vs runStrategy, run strategy values,
instance type / preference matchers and conflicts (a missing one is admitted, as KubeVirt >= 1.6
does: the VM controller reports the Failure condition), the spec checks of ``vmispec_admission``,
unreferenced dataVolumeTemplates); VMIs (memory requested, the same spec checks); migrations (VMI
exists, not final, live-migratable, no migration in flight); pod eviction of virt-launcher pods
(429 and an evacuation, ``pod-eviction-admitter.go``). Denials read as kube-apiserver reports
webhook denials: ``admission webhook "<name>" denied the request: <message>``.
"""
from __future__ import annotations

import copy
import uuid
from typing import Optional

from ..api.resources import AdmissionRequest
from .instancetypes import CONFLICT_FMT, FindError, apply_to_vmi_spec, find_instancetype, find_preference
from .keys import POD, VM, VMI, VMIM
from .runtime import Controller, Runtime
from .virtcommon import (DOMAIN_ANNOTATION, MACHINE_TYPE, MIGRATION_FINALIZER, MIGRATION_SELECTOR_LABEL, RUN_STRATEGIES,
                         VMI_FINALIZER, eviction_strategy, flavor, format_bytes, has_condition, parse_quantity,
                         run_strategy, vmi_is_final, webhook_denied)
from . import virtsubresources
from .vmispec_admission import spec_causes

FIRMWARE_UUID_NS = uuid.UUID("6a1a24a1-4061-4607-8bf4-a3963d0c5895")


def legacy_firmware_uuid(name: str) -> str:
    """CalculateLegacyUUID: the stable firmware UUID KubeVirt derives from the VMI name."""
    return str(uuid.uuid5(FIRMWARE_UUID_NS, name))


# -- defaults -----------------------------------------------------------------------------------
def default_vm(vm: dict, options: dict) -> None:
    template_spec = ((vm.get("spec") or {}).get("template") or {}).get("spec")
    if template_spec is None:
        return
    template_spec.setdefault("architecture", "amd64")
    domain = template_spec.setdefault("domain", {})
    machine = domain.get("machine") or {}
    if not machine.get("type"):
        domain["machine"] = dict(machine, type=MACHINE_TYPE[flavor(options)])


def default_volume_disks(spec: dict) -> None:
    """SetDefaultVolumeDisk: a disk for every volume that has none."""
    disks = spec.setdefault("domain", {}).setdefault("devices", {}).setdefault("disks", [])
    names = {d.get("name") for d in disks}
    for volume in spec.get("volumes") or ():
        if volume["name"] not in names and not volume.get("memoryDump"):
            disks.append({"name": volume["name"]})


def default_network(spec: dict) -> None:
    """SetDefaultNetworkInterface: the pod network with the cluster's default (masquerade) binding."""
    devices = spec.setdefault("domain", {}).setdefault("devices", {})
    autoattach = devices.get("autoattachPodInterface") is not False
    if not devices.get("interfaces") and not spec.get("networks") and autoattach:
        devices["interfaces"] = [{"name": "default", "masquerade": {}}]
        spec["networks"] = [{"name": "default", "pod": {}}]


def default_vmi(vmi: dict, options: dict) -> None:
    """KubeVirt's VMI defaulting (mutating webhook + SetDefaults_*), in place."""
    meta = vmi.setdefault("metadata", {})
    if VMI_FINALIZER not in (meta.get("finalizers") or []):
        meta["finalizers"] = list(meta.get("finalizers") or []) + [VMI_FINALIZER]
    annotations = meta.setdefault("annotations", {})
    annotations.setdefault("kubevirt.io/latest-observed-api-version", "v1")
    annotations.setdefault("kubevirt.io/storage-observed-api-version", "v1")
    spec = vmi.setdefault("spec", {})
    spec.setdefault("architecture", "amd64")
    spec.setdefault("terminationGracePeriodSeconds", 180)
    domain = spec.setdefault("domain", {})
    machine = domain.get("machine") or {}
    if not machine.get("type"):
        domain["machine"] = dict(machine, type=MACHINE_TYPE[flavor(options)])
    cpu = domain.setdefault("cpu", {})
    for key in ("cores", "sockets", "threads"):
        cpu[key] = int(cpu.get(key) or 1)
    cpu.setdefault("model", "host-model")
    cpu.setdefault("maxSockets", cpu["sockets"] * 4)
    memory = domain.get("memory") or {}
    resources = domain.setdefault("resources", {})
    requests = resources.get("requests") or {}
    if not memory.get("guest") and requests.get("memory"):
        memory = dict(memory, guest=requests["memory"])
    if memory.get("guest") and not requests.get("memory"):
        resources["requests"] = dict(requests, memory=memory["guest"])
    if memory.get("guest") and not memory.get("maxGuest"):
        memory["maxGuest"] = format_bytes(parse_quantity(memory["guest"]) * 4)
    if memory:
        domain["memory"] = memory
    domain.setdefault("features", {}).setdefault("acpi", {}).setdefault("enabled", True)
    firmware = domain.setdefault("firmware", {})
    firmware.setdefault("uuid", legacy_firmware_uuid(meta.get("name", "")))
    devices = domain.setdefault("devices", {})
    default_volume_disks(spec)
    default_network(spec)
    for disk in devices["disks"]:
        if not any(k in disk for k in ("disk", "cdrom", "lun")):
            disk["disk"] = {}
        for kind in ("disk", "lun"):
            if kind in disk:
                disk[kind].setdefault("bus", "virtio" if kind == "disk" else "scsi")
        if "cdrom" in disk:
            disk["cdrom"].setdefault("bus", "sata")
            disk["cdrom"].setdefault("readonly", True)
            disk["cdrom"].setdefault("tray", "closed")
    status = vmi.setdefault("status", {})
    status.setdefault("guestOSInfo", {})
    status.setdefault("currentCPUTopology", {k: cpu[k] for k in ("cores", "sockets", "threads")})
    if memory.get("guest"):
        status.setdefault("memory", {"guestAtBoot": memory["guest"], "guestCurrent": memory["guest"],
                                     "guestRequested": memory["guest"]})


# -- validation ---------------------------------------------------------------------------------
def _cause(reason: str, message: str, field: str) -> dict:
    cause = {"reason": reason, "message": message}
    if field:
        cause["field"] = field
    return cause


def validate_vm(store, vm: dict) -> list[dict]:
    """ValidateVirtualMachineSpec and the instancetype admitter for a VM; returns causes."""
    spec = vm.get("spec") or {}
    template = spec.get("template")
    if template is None:
        return [_cause("FieldValueRequired", "missing virtual machine template.", "spec.template")]
    work = copy.deepcopy(vm)
    for label, matcher_kind in (("instancetype", "InstancetypeMatcher"), ("preference", "PreferenceMatcher")):
        matcher = spec.get(label)
        if matcher is not None and not matcher.get("name") and not matcher.get("inferFromVolume"):
            return [_cause("FieldValueNotFound", f"Either Name or InferFromVolume should be provided within the "
                           f"{matcher_kind}", f"spec.{label}")]
    # KubeVirt >= 1.6 admits a VM whose instance type or preference cannot be found (the admitter only
    # logs it); the VM controller then reports a FailedFindInstancetype/FailedFindPreference Failure.
    instancetype, preference = _find_or_none(find_instancetype, store, work), _find_or_none(find_preference, store, work)
    if instancetype is not None or preference is not None:
        work_template = work["spec"]["template"]
        conflicts = apply_to_vmi_spec(instancetype, preference, work_template.setdefault("spec", {}),
                                      work_template.setdefault("metadata", {}))
        if conflicts:
            return [_cause("FieldValueInvalid", CONFLICT_FMT.format(path), path) for path in conflicts]
    tspec = work["spec"]["template"].get("spec") or {}
    default_network(tspec)  # SetDefaultVirtualMachineInstanceSpec runs on the copy before validation
    causes = spec_causes("spec.template.spec", tspec)
    claims = {(v.get("persistentVolumeClaim") or {}).get("claimName") for v in tspec.get("volumes") or ()} | \
        {(v.get("dataVolume") or {}).get("name") for v in tspec.get("volumes") or ()}
    for idx, dvt in enumerate(spec.get("dataVolumeTemplates") or ()):
        if (dvt.get("metadata") or {}).get("name") not in claims:
            causes.append(_cause("FieldValueRequired",
                                 f"DataVolumeTemplate entry spec.dataVolumeTemplate[{idx}] must be referenced in the "
                                 "VMI template's 'volumes' list", f"spec.dataVolumeTemplate[{idx}]"))
    if spec.get("running") is not None and spec.get("runStrategy") is not None:
        causes.append(_cause("FieldValueInvalid", "Running and RunStrategy are mutually exclusive. Note that Running "
                             "is deprecated, please use RunStrategy instead", "spec.running"))
    if spec.get("running") is None and spec.get("runStrategy") is None:
        causes.append(_cause("FieldValueInvalid", "RunStrategy must be specified", "spec.running"))
    strategy = spec.get("runStrategy")
    if strategy == "WaitAsReceiver":
        causes.append(_cause("FieldValueInvalid", "Invalid RunStrategy (WaitAsReceiver), DecentralizedLiveMigration "
                             "feature gate is not enabled in kubevirt resource", "spec.runStrategy"))
    elif strategy is not None and strategy not in RUN_STRATEGIES:
        causes.append(_cause("FieldValueInvalid", f"Invalid RunStrategy ({strategy})", "spec.runStrategy"))
    return causes


def _find_or_none(find, store, vm: dict) -> Optional[dict]:
    try:
        return find(store, vm)[0]
    except FindError:
        return None


def validate_vmi(vmi: dict) -> list[dict]:
    spec = vmi.get("spec") or {}
    domain = spec.get("domain") or {}
    if parse_quantity(((domain.get("resources") or {}).get("requests") or {}).get("memory")) == 0 and \
            not (domain.get("memory") or {}).get("guest") and not (domain.get("memory") or {}).get("hugepages"):
        return [_cause("FieldValueRequired", "no memory requested, at least one of 'spec.domain.memory.guest', "
                       "'spec.domain.memory.hugepages.pageSize' or 'spec.domain.resources.requests.memory' "
                       "must be set", "")]
    return spec_causes("spec", spec)


def summary(causes: list[dict]) -> str:
    """webhookutils.ToAdmissionResponse: the first ten messages joined by ', '."""
    message = ", ".join(c["message"] for c in causes[:10])
    if len(causes) > 10:
        message += f", and {len(causes) - 10} more validation errors"
    return message


class VirtApi(Controller):
    name = "virt-api"
    watches = ()

    def setup(self, rt: Runtime) -> None:
        self.rt = rt
        registry = rt.registry
        registry.add_mutating(VM, self.mutate_vm)
        registry.add_validating(VM, self.validate_vm)
        registry.add_mutating(VMI, self.mutate_vmi)
        registry.add_validating(VMI, self.validate_vmi)
        registry.add_mutating(VMIM, self.mutate_migration)
        registry.add_validating(VMIM, self.validate_migration)
        registry.add_validating(POD, self.admit_eviction)
        virtsubresources.register(rt)

    # -- VirtualMachines ------------------------------------------------------------------------
    def mutate_vm(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if request.operation in ("CREATE", "UPDATE") and not request.subresource and new is not None \
                and not new.get("metadata", {}).get("deletionTimestamp"):
            default_vm(new, self.rt.options)

    def validate_vm(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if request.operation not in ("CREATE", "UPDATE") or request.subresource or new is None:
            return
        if new.get("metadata", {}).get("deletionTimestamp"):
            return
        causes = validate_vm(self.rt.store, new)
        restoring = ((old or {}).get("status") or {}).get("restoreInProgress")
        if request.operation == "UPDATE" and restoring and old is not None and \
                run_strategy(old) != run_strategy(new):  # vm-storage-status.go validateRestoreStatus
            causes.append(_cause("FieldValueNotSupported",
                                 f'Cannot update VM runStrategy until restore "{restoring}" completes', "spec"))
        if causes:
            raise webhook_denied("virtualmachine-validator.kubevirt.io", summary(causes), 422, "Invalid", causes)
        if (new.get("spec") or {}).get("running") is not None:
            request.warnings.append("spec.running is deprecated, please use spec.runStrategy instead.")

    # -- VirtualMachineInstances ----------------------------------------------------------------
    def mutate_vmi(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if request.operation == "CREATE" and new is not None:
            default_vmi(new, self.rt.options)

    def validate_vmi(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if request.operation == "CREATE" and new is not None:
            causes = validate_vmi(new)
            if causes:
                raise webhook_denied("virtualmachineinstances-create-validator.kubevirt.io", summary(causes),
                                     422, "Invalid", causes)
        elif request.operation == "UPDATE" and new is not None and old is not None and not request.subresource \
                and (new.get("spec") or {}) != (old.get("spec") or {}) and not request.user.startswith(
                    ("system:serviceaccount:kubevirt:", "system:serviceaccount:openshift-cnv:")):
            # Only KubeVirt's service accounts change a VMI spec (through the subresources).
            causes = [_cause("FieldValueNotSupported", "update of VMI object is restricted", "")]
            raise webhook_denied("virtualmachineinstances-update-validator.kubevirt.io", summary(causes),
                                 422, "Invalid", causes)

    # -- migrations -----------------------------------------------------------------------------
    def mutate_migration(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if request.operation != "CREATE" or new is None:
            return
        meta = new.setdefault("metadata", {})
        meta.setdefault("labels", {})[MIGRATION_SELECTOR_LABEL] = (new.get("spec") or {}).get("vmiName", "")
        if MIGRATION_FINALIZER not in (meta.get("finalizers") or []):
            meta["finalizers"] = list(meta.get("finalizers") or []) + [MIGRATION_FINALIZER]

    def validate_migration(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if request.operation != "CREATE" or new is None:
            return
        message = migration_admission_error(self.rt.store, request.namespace or "", new)
        if message:
            raise webhook_denied("migration-create-validator.kubevirt.io", message)

    # -- pods/eviction --------------------------------------------------------------------------
    def admit_eviction(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if request.subresource != "eviction":
            return
        message = evict_launcher(self.rt, request.namespace or "", request.name or "", new or {}, request.dry_run)
        if message:
            raise webhook_denied("virt-launcher-eviction-interceptor.kubevirt.io", message, 429)


def migration_admission_error(store, namespace: str, migration: dict) -> str:
    """MigrationCreateAdmitter.Admit: "" when admitted, else the denial message."""
    vmi_name = (migration.get("spec") or {}).get("vmiName", "")
    vmi = store.get(VMI, namespace, vmi_name)
    if vmi is None:
        return f'the VMI "{namespace}/{vmi_name}" does not exist'
    if vmi_is_final(vmi):
        return "Cannot migrate VMI in finalized state."
    for cond in (vmi.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "LiveMigratable" and cond.get("status") == "False":
            return f"Cannot migrate VMI, Reason: {cond.get('reason', '')}, Message: {cond.get('message', '')}"
    for mig in store.list(VMIM, namespace)[0]:
        if (mig.get("metadata", {}).get("labels") or {}).get(MIGRATION_SELECTOR_LABEL) == vmi_name and \
                (mig.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
            return (f"in-flight migration detected. Active migration job ({mig['metadata']['uid']}) is currently "
                    f"already in progress for VMI {vmi_name}.")
    return ""


def evict_launcher(rt: Runtime, namespace: str, pod_name: str, eviction: dict, dry_run: bool) -> str:
    """PodEvictionAdmitter: "" lets the eviction through; otherwise the 429 denial message. Marks the
    VMI for evacuation (status.evacuationNodeName) unless dry-run."""
    store = rt.store
    pod = store.get(POD, namespace, pod_name)
    if pod is None or (pod.get("metadata", {}).get("labels") or {}).get("kubevirt.io") != "virt-launcher":
        return ""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return ""
    vmi_name = (pod["metadata"].get("annotations") or {}).get(DOMAIN_ANNOTATION)
    if not vmi_name:
        return ""
    with store.lock:
        vmi = store.get(VMI, namespace, vmi_name)
        if vmi is None:
            return (f'kubevirt failed getting the vmi: virtualmachineinstances.kubevirt.io "{vmi_name}" not found')
        strategy = eviction_strategy(store, vmi)
        migratable = has_condition(vmi, "LiveMigratable", "True")
        if strategy == "LiveMigrate":
            if not migratable:
                return f"VMI {vmi_name} is configured with an eviction strategy but is not live-migratable"
        elif not (strategy == "LiveMigrateIfPossible" and migratable) and strategy != "External":
            return ""
        evict_fmt = f'Eviction triggered evacuation of VMI "{namespace}/{vmi_name}"'
        status = vmi.get("status") or {}
        if status.get("evacuationNodeName"):
            return "Evacuation in progress: " + evict_fmt
        if status.get("nodeName") != pod["spec"].get("nodeName"):
            return "Eviction request for target Pod"
        options_dry = ((eviction.get("deleteOptions") or {}).get("dryRun") or [])
        if not (dry_run or options_dry[:1] == ["All"]):
            node = pod["spec"].get("nodeName")

            def mark(obj: dict) -> None:
                obj.setdefault("status", {})["evacuationNodeName"] = node
                if (eviction.get("metadata", {}).get("annotations") or {}).get("requested-by") == \
                        "sigs.k8s.io/descheduler":
                    obj["metadata"].setdefault("annotations", {})["kubevirt.io/eviction-source"] = "descheduler"
            rt.service.mutate(VMI, namespace, vmi_name, mark)
        return evict_fmt
