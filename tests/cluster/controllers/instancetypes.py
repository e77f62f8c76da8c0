"""Instance types and preferences (pkg/instancetype): finding the ones a VM references and
applying them to a VMI spec, with KubeVirt's error and conflict messages.

Applied: instance type cpu.guest (topology from the preference's preferredCPUTopology, sockets by
default), cpu.model/dedicatedCPUPlacement/maxSockets, memory.guest, and the preference's disk bus,
interface model, EFI/secure boot, machine type, termination grace period and clock offset for
fields the VM leaves unset; the instancetype/preference name annotations on the VMI.
Not simulated: ControllerRevisions (no ``controllerRevisionRef``), inferFromVolume, requirements.
"""
from __future__ import annotations

import copy
from typing import Any, Optional

from .keys import CLUSTER_INSTANCETYPE, CLUSTER_PREFERENCE, INSTANCETYPE, PREFERENCE
from .virtcommon import parse_quantity

_KINDS = {
    "instancetype": {"": CLUSTER_INSTANCETYPE, "virtualmachineclusterinstancetype": CLUSTER_INSTANCETYPE,
                     "virtualmachineclusterinstancetypes": CLUSTER_INSTANCETYPE,
                     "virtualmachineinstancetype": INSTANCETYPE, "virtualmachineinstancetypes": INSTANCETYPE},
    "preference": {"": CLUSTER_PREFERENCE, "virtualmachineclusterpreference": CLUSTER_PREFERENCE,
                   "virtualmachineclusterpreferences": CLUSTER_PREFERENCE,
                   "virtualmachinepreference": PREFERENCE, "virtualmachinepreferences": PREFERENCE},
}
_KIND_NAMES = {CLUSTER_INSTANCETYPE: "VirtualMachineClusterInstancetype", INSTANCETYPE: "VirtualMachineInstancetype",
               CLUSTER_PREFERENCE: "VirtualMachineClusterPreference", PREFERENCE: "VirtualMachinePreference"}
CONFLICT_FMT = "VM field(s) {} conflicts with selected instance type"


class FindError(Exception):
    """Find() failures: an unknown kind or a NotFound from the API."""


def _find(store, vm: dict, which: str) -> tuple[Optional[dict], Optional[tuple]]:
    matcher = (vm.get("spec") or {}).get(which)
    if not matcher or not matcher.get("name"):
        return None, None
    kind = (matcher.get("kind") or "").lower()
    gr = _KINDS[which].get(kind)
    if gr is None:
        label = "InstancetypeMatcher" if which == "instancetype" else "PreferenceMatcher"
        raise FindError(f"got unexpected kind in {label}: {matcher.get('kind')}")
    namespace = vm["metadata"].get("namespace") if gr in (INSTANCETYPE, PREFERENCE) else None
    obj = store.get(gr, namespace, matcher["name"])
    if obj is None:
        raise FindError(f'{gr[1]}.{gr[0]} "{matcher["name"]}" not found')
    return obj, gr


def find_instancetype(store, vm: dict) -> tuple[Optional[dict], Optional[tuple]]:
    """(object, gr) of the referenced instance type, (None, None) without one; FindError if missing."""
    return _find(store, vm, "instancetype")


def find_preference(store, vm: dict) -> tuple[Optional[dict], Optional[tuple]]:
    return _find(store, vm, "preference")


def status_ref(obj: Optional[dict], gr: Optional[tuple]) -> Optional[dict]:
    """status.instancetypeRef / preferenceRef."""
    if obj is None or gr is None:
        return None
    return {"kind": _KIND_NAMES[gr], "name": obj["metadata"]["name"]}


def _topology(vcpus: int, preference: dict) -> dict:
    topo = {"cores": 1, "sockets": 1, "threads": 1}
    if vcpus <= 1:
        return topo
    preferred = ((preference.get("cpu") or {}).get("preferredCPUTopology") or "sockets").lower()
    if preferred in ("cores", "prefercores"):
        topo["cores"] = vcpus
    elif preferred in ("threads", "preferthreads"):
        topo["threads"] = vcpus
    elif preferred in ("spread", "preferspread"):
        ratio = int(((preference.get("preferSpreadSocketToCoreRatio")) or 2))
        topo["cores"], topo["sockets"] = ratio, max(vcpus // ratio, 1)
    else:
        topo["sockets"] = vcpus
    return topo


def apply_to_vmi_spec(instancetype: Optional[dict], preference: Optional[dict], spec: dict,
                      meta: dict, base: str = "spec.template.spec") -> list[str]:
    """Apply in place; returns the conflicting field paths (nothing is applied when any conflict)."""
    it_spec: dict[str, Any] = (instancetype or {}).get("spec") or {}
    pref: dict[str, Any] = (preference or {}).get("spec") or {}
    domain = spec.setdefault("domain", {})
    conflicts: list[str] = []
    if instancetype is not None:
        cpu = domain.get("cpu") or {}
        resources = domain.get("resources") or {}
        for key in ("sockets", "cores", "threads"):
            if cpu.get(key):
                conflicts.append(f"{base}.domain.cpu.{key}")
        if "cpu" in (resources.get("requests") or {}):
            conflicts.append(f"{base}.domain.resources.requests.cpu")
        if "cpu" in (resources.get("limits") or {}):
            conflicts.append(f"{base}.domain.resources.limits.cpu")
        memory = domain.get("memory") or {}
        if memory.get("guest"):
            conflicts.append(f"{base}.domain.memory.guest")
        elif "memory" in (resources.get("requests") or {}):
            conflicts.append(f"{base}.domain.resources.requests.memory")
        if conflicts:
            return conflicts
        it_cpu = it_spec.get("cpu") or {}
        new_cpu = dict(cpu, **_topology(int(it_cpu.get("guest") or 1), pref))
        for key in ("model", "dedicatedCPUPlacement", "isolateEmulatorThread", "maxSockets"):
            if key in it_cpu:
                new_cpu[key] = it_cpu[key]
        domain["cpu"] = new_cpu
        guest = (it_spec.get("memory") or {}).get("guest")
        if guest:
            domain["memory"] = dict(memory, guest=guest)
        if it_spec.get("nodeSelector"):
            spec["nodeSelector"] = dict(it_spec["nodeSelector"])
    if preference is not None:
        _apply_preference(pref, spec)
    annotations = meta.setdefault("annotations", {})
    for obj, cluster_key, ns_key in ((instancetype, "kubevirt.io/cluster-instancetype-name",
                                      "kubevirt.io/instancetype-name"),
                                     (preference, "kubevirt.io/cluster-preference-name",
                                      "kubevirt.io/preference-name")):
        if obj is not None:
            key = ns_key if obj["metadata"].get("namespace") else cluster_key
            annotations.setdefault(key, obj["metadata"]["name"])
    return conflicts


def _apply_preference(pref: dict, spec: dict) -> None:
    domain = spec.setdefault("domain", {})
    devices = domain.setdefault("devices", {})
    prefs = pref.get("devices") or {}
    bus = prefs.get("preferredDiskBus")
    if bus:
        for disk in devices.get("disks") or ():
            if not any(k in disk for k in ("cdrom", "lun")):
                target = disk.setdefault("disk", {})
                target.setdefault("bus", bus)
    if prefs.get("preferredCdromBus"):
        for disk in devices.get("disks") or ():
            if "cdrom" in disk:
                disk["cdrom"].setdefault("bus", prefs["preferredCdromBus"])
    if prefs.get("preferredInterfaceModel"):
        for iface in devices.get("interfaces") or ():
            iface.setdefault("model", prefs["preferredInterfaceModel"])
    if prefs.get("preferredRng") is not None and "rng" not in devices:
        devices["rng"] = copy.deepcopy(prefs["preferredRng"])
    if prefs.get("preferredTPM") is not None and "tpm" not in devices:
        devices["tpm"] = copy.deepcopy(prefs["preferredTPM"])
    firmware = pref.get("firmware") or {}
    if (firmware.get("preferredUseEfi") or firmware.get("preferredEfi")) and \
            "bootloader" not in (domain.get("firmware") or {}):
        efi = copy.deepcopy(firmware.get("preferredEfi") or {})
        if "preferredUseSecureBoot" in firmware:
            efi.setdefault("secureBoot", firmware["preferredUseSecureBoot"])
        domain.setdefault("firmware", {})["bootloader"] = {"efi": efi}
    machine = (pref.get("machine") or {}).get("preferredMachineType")
    if machine and not (domain.get("machine") or {}).get("type"):
        domain["machine"] = {"type": machine}
    if "preferredTerminationGracePeriodSeconds" in pref and "terminationGracePeriodSeconds" not in spec:
        spec["terminationGracePeriodSeconds"] = pref["preferredTerminationGracePeriodSeconds"]
    clock = (pref.get("clock") or {}).get("preferredClockOffset")
    if clock and "clock" not in domain:
        domain["clock"] = copy.deepcopy(clock)


def instancetype_memory(instancetype: Optional[dict]) -> float:
    return parse_quantity(((instancetype or {}).get("spec") or {}).get("memory", {}).get("guest"))
