"""KubeVirt's VirtualMachine controller (pkg/virt-controller/watch/vm/vm.go), simulated.

Keeps one VMI per VM according to the run strategy (Always, RerunOnFailure, Manual, Halted, Once,
and the deprecated ``spec.running``), honouring ``status.stateChangeRequests`` written by the
start/stop/restart subresources; creates the DataVolumes of ``spec.dataVolumeTemplates`` (owned by
the VM) and waits for them; resolves instance types and preferences; applies hot-plug volume
requests; and reports ``status`` the way virt-controller does: printableStatus with KubeVirt's
precedence, ready/created/runStrategy, conditions mirrored from the VMI plus Ready (VMINotExists),
Failure and RestartRequired, observedGeneration/desiredGeneration. The VM controller acts at once;
the VMI and migration controllers pace the transitions.
"""
from __future__ import annotations

import copy
import logging
from typing import Iterator, Optional

from ..api import errors
from ..api.objects import now_rfc3339, owner_reference
from ..api.resources import AdmissionRequest
from ..api.store import Event
from . import common_instancetypes
from .instancetypes import FindError, apply_to_vmi_spec, find_instancetype, find_preference, status_ref
from .keys import DATASOURCE, DV, PVC, VM, VMI
from .runtime import Controller, ObjKey, Runtime
from .virtcommon import (CREATED_BY_LABEL, VM_CONTROLLER_FINALIZER, VM_GENERATION_ANNOTATION, clone, controller_ref,
                         ensure_kubevirt_cr, feature_gates, has_condition, is_controlled_by, is_hotpluggable,
                         remove_condition, run_strategy, vmi_is_final, vmi_phase, volume_claim_name)
from .virtapi import default_network, default_volume_disks, legacy_firmware_uuid
from .virtsubresources import apply_volume_request
from .vm_snapshot_source import volume_snapshot_statuses
from .vmstatus import (RESTART_REQUIRED_MESSAGE, dv_ready, printable_status, trim_state_change_requests,
                       trim_volume_requests, vm_conditions)

log = logging.getLogger("cluster.virt")
CONTROLLER_USER = "system:serviceaccount:kubevirt:kubevirt-controller"


# -- builders (shared with the seeder) ----------------------------------------------------------
def expanded_template(store, vm: dict) -> tuple[dict, list[str]]:
    """(template {metadata, spec} with instance type and preference applied, conflicts). Without an
    instance type or preference this is the VM's own (frozen) template: do not modify it."""
    template = (vm.get("spec") or {}).get("template") or {}
    instancetype, _ = find_instancetype(store, vm)
    preference, _ = find_preference(store, vm)
    if instancetype is None and preference is None:
        return template, []
    template = clone(template)
    conflicts = apply_to_vmi_spec(instancetype, preference, template.setdefault("spec", {}),
                                  template.setdefault("metadata", {}))
    return template, conflicts


def vmi_from_vm(store, vm: dict, *, start_paused: bool = False) -> dict:
    """SetupVMIFromVM + startVMI: default disks and pod network, then the instance type and
    preference: the VMI the controller creates (before admission)."""
    template = clone((vm.get("spec") or {}).get("template") or {})
    tspec = template.setdefault("spec", {})
    default_volume_disks(tspec)
    default_network(tspec)
    instancetype, _ = find_instancetype(store, vm)
    preference, _ = find_preference(store, vm)
    conflicts = apply_to_vmi_spec(instancetype, preference, tspec, template.setdefault("metadata", {}))
    if conflicts:
        raise FindError("VMI conflicts with instancetype spec in fields: [" + ", ".join(conflicts) + "]")
    meta = template.get("metadata") or {}
    vmi = {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
        "metadata": {"name": vm["metadata"]["name"], "namespace": vm["metadata"]["namespace"],
                     "labels": dict(meta.get("labels") or {}),
                     "annotations": {**(meta.get("annotations") or {}),
                                     VM_GENERATION_ANNOTATION: str(vm["metadata"].get("generation", 1))},
                     "ownerReferences": [owner_reference(vm)], "finalizers": [VM_CONTROLLER_FINALIZER]},
        "spec": template.get("spec") or {},
        "status": {"virtualMachineRevisionName":
                   f"revision-start-vm-{vm['metadata']['uid']}-{vm['metadata'].get('generation', 1)}"},
    }
    if start_paused:
        vmi["spec"]["startStrategy"] = "Paused"
    vmi["spec"].setdefault("domain", {}).setdefault("firmware", {}).setdefault(
        "uuid", legacy_firmware_uuid(vm["metadata"]["name"]))
    return vmi


def datavolume_from_template(store, vm: dict, template: dict) -> dict:
    """CreateDataVolumeManifest: the template, owned by the VM, sourceRef resolved when possible."""
    meta = template.get("metadata") or {}
    spec = clone(template.get("spec") or {})
    ref = spec.get("sourceRef")
    if ref and ref.get("kind", "DataSource") == "DataSource":
        source = store.get(DATASOURCE, ref.get("namespace") or vm["metadata"]["namespace"], ref.get("name", ""))
        resolved = ((source or {}).get("spec") or {}).get("source") or {}
        if resolved.get("pvc") or resolved.get("snapshot"):
            kind = "pvc" if resolved.get("pvc") else "snapshot"
            spec.pop("sourceRef")
            spec["source"] = {kind: dict(resolved[kind])}
            spec["source"][kind].setdefault("namespace", source["metadata"]["namespace"])
    labels = dict(meta.get("labels") or {})
    labels[CREATED_BY_LABEL] = vm["metadata"]["uid"]
    annotations = dict(meta.get("annotations") or {})
    annotations["cdi.kubevirt.io/allowClaimAdoption"] = "true"
    return {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
            "metadata": {"name": meta.get("name"), "namespace": vm["metadata"]["namespace"], "labels": labels,
                         "annotations": annotations, "ownerReferences": [owner_reference(vm)]},
            "spec": spec}


def vm_and_vmi(store, namespace: str, name: str) -> tuple[Optional[dict], Optional[dict], bool]:
    """The VM, the VMI of the same name (None without the VM) and whether the VM controls that VMI."""
    vm = store.get(VM, namespace, name)
    vmi = store.get(VMI, namespace, name) if vm is not None else None
    return vm, vmi, vmi is not None and is_controlled_by(vmi, vm)


def _live_updatable_stripped(spec: dict) -> dict:
    """The template spec without what LiveUpdate may change in a running VM (a new dict that shares
    the untouched parts of ``spec``; the caller must not modify either)."""
    out = {k: v for k, v in spec.items() if k not in ("nodeSelector", "affinity", "tolerations")}
    domain = dict(out.get("domain") or {})
    for key, drop in (("cpu", "sockets"), ("memory", "guest"), ("firmware", "uuid")):
        if key in domain:
            domain[key] = {k: v for k, v in (domain[key] or {}).items() if k != drop}
    hot = {v.get("name") for v in out.get("volumes") or () if is_hotpluggable(v)}
    if hot:
        out["volumes"] = [v for v in out.get("volumes") or () if v.get("name") not in hot]
        devices = dict(domain.get("devices") or {})
        devices["disks"] = [d for d in devices.get("disks") or () if d.get("name") not in hot]
        domain["devices"] = devices
    out["domain"] = domain
    return out


class VirtualMachineController(Controller):
    name = "virt"
    watches = (VM,)

    def __init__(self) -> None:
        # VMI uid -> (expanded template spec it started with, the same without live-updatable fields)
        self._start_specs: dict[str, tuple[dict, dict]] = {}
        self._spec_cache: dict[str, tuple[tuple, dict]] = {}  # VM uid -> ((uid, generation), expanded spec)
        self._reported: set[tuple[str, str]] = set()  # (dv uid, event reason) already recorded

    def start(self, rt: Runtime) -> None:
        ensure_kubevirt_cr(rt.service, rt.options)
        common_instancetypes.deploy(rt.service, rt.options)  # virt-operator's install, KubeVirt >= 1.4

    def keys_for(self, event: Event) -> Iterator[ObjKey]:
        meta = event.obj["metadata"]
        ns = meta.get("namespace") or ""
        if event.gr == VM:
            if event.type == "DELETED":
                self._spec_cache.pop(meta["uid"], None)
            yield (VM, ns, meta["name"])
        elif event.gr == VMI:
            yield (VM, ns, meta["name"])
        elif event.gr == DV:
            ref = controller_ref(event.obj)
            if ref and ref.get("kind") == "VirtualMachine":
                yield (VM, ns, ref["name"])
        elif event.gr == PVC:
            claim = meta["name"]
            for vm in event_store_vms(self, ns):
                tspec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
                if any(volume_claim_name(v) == claim for v in tspec.get("volumes") or ()):
                    yield (VM, ns, vm["metadata"]["name"])

    def setup(self, rt: Runtime) -> None:
        self.rt = rt

    # -- reconcile ------------------------------------------------------------------------------
    def reconcile(self, rt: Runtime, gr, namespace: str, name: str) -> None:
        with rt.store.lock:  # one consistent view against virt-api handlers and the seeder
            self._reconcile(rt, namespace, name)

    def _reconcile(self, rt: Runtime, namespace: str, name: str) -> None:
        store = rt.store
        vm, vmi, owned = vm_and_vmi(store, namespace, name)
        if vm is None:
            return
        if vmi is not None and not owned:
            if controller_ref(vmi) or vm["metadata"].get("deletionTimestamp") or vmi["metadata"].get(
                    "deletionTimestamp"):
                vmi = None  # another owner's, or orphaned by an Orphan delete of this VM: left alone
            else:  # ClaimVirtualMachineInstanceByName: adopt an orphan of the same name
                vmi = rt.service.mutate(VMI, namespace, name, lambda o: o["metadata"].setdefault(
                    "ownerReferences", []).append(owner_reference(vm)))
        failure: Optional[tuple[str, str]] = None
        if vm["metadata"].get("deletionTimestamp"):
            if vmi is None:
                rt.service.remove_finalizer(VM, namespace, name, VM_CONTROLLER_FINALIZER)
            elif not vmi["metadata"].get("deletionTimestamp"):
                self._stop_vmi(rt, vm, vmi)
            self._update_status(rt, namespace, name, None)
            return
        annotations = vm["metadata"].get("annotations") or {}
        if VM_CONTROLLER_FINALIZER not in (vm["metadata"].get("finalizers") or []) or \
                annotations.get("kubevirt.io/latest-observed-api-version") != "v1":
            def adopt(obj: dict) -> None:
                meta = obj["metadata"]
                meta.setdefault("annotations", {}).update({"kubevirt.io/latest-observed-api-version": "v1",
                                                           "kubevirt.io/storage-observed-api-version": "v1"})
                if VM_CONTROLLER_FINALIZER not in (meta.get("finalizers") or []):
                    meta["finalizers"] = list(meta.get("finalizers") or []) + [VM_CONTROLLER_FINALIZER]
            vm = rt.service.mutate(VM, namespace, name, adopt) or vm
        try:
            find_instancetype(store, vm)
        except FindError as exc:
            failure = ("FailedFindInstancetype", str(exc))
        if failure is None:
            try:
                find_preference(store, vm)
            except FindError as exc:
                failure = ("FailedFindPreference", str(exc))
        if vmi is not None and vmi["metadata"].get("uid") not in self._start_specs:
            self._remember_start(rt, vm, vmi)
        if failure is None:
            failure = self._sync(rt, vm, vmi)
        self._update_status(rt, namespace, name, failure)

    def _sync(self, rt: Runtime, vm: dict, vmi: Optional[dict]) -> Optional[tuple[str, str]]:
        strategy = run_strategy(vm)
        ready, failure = self._handle_data_volumes(rt, vm)
        if failure:
            return failure
        if not ready and strategy != "Halted":
            return None
        failure = self._sync_run_strategy(rt, vm, vmi, strategy)
        if failure:
            return failure
        vm = rt.store.get(VM, vm["metadata"]["namespace"], vm["metadata"]["name"]) or vm
        vmi = rt.store.get(VMI, vm["metadata"]["namespace"], vm["metadata"]["name"])
        self._apply_volume_requests(rt, vm, vmi)
        if vmi is not None and not vmi["metadata"].get("deletionTimestamp") and not vmi_is_final(vmi):
            self._live_update(rt, vm, vmi)
        return None

    # -- DataVolumes ----------------------------------------------------------------------------
    def _handle_data_volumes(self, rt: Runtime, vm: dict) -> tuple[bool, Optional[tuple[str, str]]]:
        ready = True
        ns = vm["metadata"]["namespace"]
        for template in (vm.get("spec") or {}).get("dataVolumeTemplates") or ():
            dv_name = (template.get("metadata") or {}).get("name", "")
            dv = rt.store.get(DV, ns, dv_name)
            if dv is None:
                ready = False
                try:
                    rt.service.create(DV, datavolume_from_template(rt.store, vm, template))
                except errors.ApiError as exc:
                    if exc.code == 409 and rt.store.get(PVC, ns, dv_name) is not None:
                        continue
                    rt.record_event(vm, "FailedDataVolumeCreate", f"Error creating DataVolume {dv_name}: {exc.message}",
                                    event_type="Warning", component="virtualmachine-controller")
                    return False, ("FailedCreate", "Error encountered while creating DataVolumes: failed to create "
                                   f"DataVolume: {exc.message}")
                rt.record_event(vm, "SuccessfulDataVolumeCreate", f"Created DataVolume {dv_name}",
                                component="virtualmachine-controller")
                continue
            if dv_ready(dv):
                continue
            if (dv.get("status") or {}).get("phase") == "Failed" and \
                    (dv["metadata"]["uid"], "failed") not in self._reported:
                self._reported.add((dv["metadata"]["uid"], "failed"))
                rt.record_event(vm, "FailedDataVolumeImport", f"DataVolume {dv_name} failed to import disk image",
                                event_type="Warning", component="virtualmachine-controller")
            ready = False
        return ready, None

    # -- run strategies -------------------------------------------------------------------------
    def _sync_run_strategy(self, rt: Runtime, vm: dict, vmi: Optional[dict],
                           strategy: str) -> Optional[tuple[str, str]]:
        requests = (vm.get("status") or {}).get("stateChangeRequests") or []
        first = requests[0] if requests else {}
        stop_for_vmi = vmi is not None and first.get("action") == "Stop" and first.get("uid") == vmi["metadata"]["uid"]
        start_requested = first.get("action") == "Start"
        if strategy == "Always":
            if vmi is not None:
                if stop_for_vmi or vmi_is_final(vmi):
                    self._stop_vmi(rt, vm, vmi)
                return None
            return self._start_vmi(rt, vm)
        if strategy == "RerunOnFailure":
            if vmi is not None:
                failed, succeeded = vmi_phase(vmi) == "Failed", vmi_phase(vmi) == "Succeeded"
                if not vmi["metadata"].get("deletionTimestamp") and (stop_for_vmi or failed or succeeded):
                    self._stop_vmi(rt, vm, vmi)
                    if failed:
                        self._patch_status(rt, vm, lambda st: st.setdefault("stateChangeRequests", []).append(
                            {"action": "Start"}))
                return None
            if start_requested or (vm.get("status") or {}).get("runStrategy") != strategy:
                return self._start_vmi(rt, vm)
            return None
        if strategy == "Manual":
            if vmi is not None:
                if stop_for_vmi:
                    self._stop_vmi(rt, vm, vmi)
            elif start_requested:
                return self._start_vmi(rt, vm)
            return None
        if strategy == "Halted":
            if vmi is None:
                if start_requested:
                    def to_always(obj: dict) -> None:
                        if obj["spec"].get("runStrategy") is not None:
                            obj["spec"]["runStrategy"] = "Always"
                        else:
                            obj["spec"]["running"] = True
                    rt.service.mutate(VM, vm["metadata"]["namespace"], vm["metadata"]["name"], to_always)
                return None
            self._stop_vmi(rt, vm, vmi)
            return None
        if strategy == "Once":
            if vmi is None:
                return self._start_vmi(rt, vm)
            return None
        return ("FailedCreate", f"unknown runstrategy: {strategy}")

    def _start_vmi(self, rt: Runtime, vm: dict) -> Optional[tuple[str, str]]:
        requests = (vm.get("status") or {}).get("stateChangeRequests") or []
        paused = bool(requests) and requests[0].get("action") == "Start" and \
            (requests[0].get("data") or {}).get("paused") == "true"
        ns, name = vm["metadata"]["namespace"], vm["metadata"]["name"]
        try:
            vmi = vmi_from_vm(rt.store, vm, start_paused=paused)
            rt.registry.admit(AdmissionRequest("CREATE", VMI, ns, name, CONTROLLER_USER, False), vmi, None)
            created = rt.service.create(VMI, vmi, keep_status=True)
        except (errors.ApiError, FindError) as exc:
            message = exc.message if isinstance(exc, errors.ApiError) else str(exc)
            rt.record_event(vm, "FailedCreate", f"Error creating virtual machine instance: {message}",
                            event_type="Warning", component="virtualmachine-controller")
            return ("FailedCreate", f"Failure while starting VMI: {message}")
        self._patch_status(rt, vm, lambda st: st.update(conditions=remove_condition(
            st.get("conditions") or [], "RestartRequired")))
        self._remember_start(rt, vm, created)
        rt.record_event(vm, "SuccessfulCreate", "Started the virtual machine by creating the new virtual machine "
                        f"instance {name}", component="virtualmachine-controller")
        return None

    def _stop_vmi(self, rt: Runtime, vm: dict, vmi: dict) -> None:
        if vmi["metadata"].get("deletionTimestamp"):
            return
        try:
            rt.service.delete(VMI, vmi["metadata"]["namespace"], vmi["metadata"]["name"])
        except errors.ApiError:
            return
        self._patch_status(rt, vm, lambda st: st.update(conditions=remove_condition(
            st.get("conditions") or [], "RestartRequired")))
        rt.record_event(vm, "SuccessfulDelete", "Stopped the virtual machine by deleting the virtual machine "
                        f"instance {vmi['metadata']['uid']}", component="virtualmachine-controller")

    def _patch_status(self, rt: Runtime, vm: dict, fn) -> None:
        def apply(obj: dict) -> None:
            fn(obj.setdefault("status", {}))
        rt.service.mutate(VM, vm["metadata"]["namespace"], vm["metadata"]["name"], apply, subresource="status")

    # -- restart required, live updates, hot-plug ------------------------------------------------
    def _current_spec(self, rt: Runtime, vm: dict) -> Optional[dict]:
        """The VM's template spec with its instance type applied (cached per VM resourceVersion)."""
        key = (vm["metadata"]["uid"], vm["metadata"].get("generation"))
        cached = self._spec_cache.get(vm["metadata"]["uid"])
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            template, _ = expanded_template(rt.store, vm)
        except FindError:
            return None
        spec = template.get("spec") or {}
        self._spec_cache[vm["metadata"]["uid"]] = (key, spec)
        return spec

    def _remember_start(self, rt: Runtime, vm: dict, vmi: dict) -> None:
        spec = self._current_spec(rt, vm)
        if spec is None:
            spec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
        self._start_specs[vmi["metadata"]["uid"]] = (spec, _live_updatable_stripped(spec))

    def _restart_required(self, rt: Runtime, vm: dict, vmi: Optional[dict]) -> bool:
        if vmi is None or vmi_is_final(vmi):
            return False
        started = self._start_specs.get(vmi["metadata"]["uid"])
        spec = self._current_spec(rt, vm)
        if started is None or spec is None or spec is started[0]:
            return False
        return _live_updatable_stripped(spec) != started[1]

    def _apply_volume_requests(self, rt: Runtime, vm: dict, vmi: Optional[dict]) -> None:
        """handleVolumeRequests: apply status.volumeRequests to the VM template and the running VMI."""
        requests = (vm.get("status") or {}).get("volumeRequests") or []
        if not requests:
            return
        ns, name = vm["metadata"]["namespace"], vm["metadata"]["name"]

        def apply_template(obj: dict) -> None:
            for request in requests:
                apply_volume_request(obj["spec"].setdefault("template", {}).setdefault("spec", {}), request)
        rt.service.mutate(VM, ns, name, apply_template)
        if vmi is None or vmi["metadata"].get("deletionTimestamp") or vmi_is_final(vmi):
            return

        def apply_vmi(obj: dict) -> None:
            present = {v.get("name") for v in obj["spec"].get("volumes") or ()}
            for request in requests:
                add, rem = request.get("addVolumeOptions"), request.get("removeVolumeOptions")
                if (add and add["name"] not in present) or (rem and rem["name"] in present):
                    apply_volume_request(obj["spec"], request)
        rt.service.mutate(VMI, ns, name, apply_vmi)

    def _live_update(self, rt: Runtime, vm: dict, vmi: dict) -> None:
        """LiveUpdate rollout: push placement, CPU sockets and guest memory changes (and, with the
        DeclarativeHotplugVolumes gate, hot-pluggable volumes) to the running VMI, unless a restart
        is required anyway."""
        tspec = self._current_spec(rt, vm)
        if tspec is None or self._restart_required(rt, vm, vmi):
            return
        started = self._start_specs.get(vmi["metadata"]["uid"])
        if started is not None and started[0] is tspec:
            return  # nothing changed since the VMI started
        declarative = "DeclarativeHotplugVolumes" in feature_gates(rt.store)
        spec = vmi.get("spec") or {}
        desired = {key: tspec[key] for key in ("nodeSelector", "affinity", "tolerations") if key in tspec}
        current = {key: spec[key] for key in ("nodeSelector", "affinity", "tolerations") if key in spec}
        sockets = ((tspec.get("domain") or {}).get("cpu") or {}).get("sockets")
        guest = ((tspec.get("domain") or {}).get("memory") or {}).get("guest")
        wanted = {v["name"]: v for v in tspec.get("volumes") or () if is_hotpluggable(v)} if declarative else {}
        present = {v["name"] for v in spec.get("volumes") or ()}
        plugged = {v["name"] for v in spec.get("volumes") or () if is_hotpluggable(v)}
        domain = spec.get("domain") or {}
        changed = (desired != current or (sockets and sockets != domain.get("cpu", {}).get("sockets"))
                   or (guest and guest != domain.get("memory", {}).get("guest"))
                   or (declarative and (set(wanted) - present or plugged - set(wanted))))
        if not changed:
            return

        def sync(obj: dict) -> None:
            vspec = obj["spec"]
            for key in ("nodeSelector", "affinity", "tolerations"):
                if key in desired:
                    vspec[key] = copy.deepcopy(desired[key])
                else:
                    vspec.pop(key, None)
            if sockets:
                vspec.setdefault("domain", {}).setdefault("cpu", {})["sockets"] = sockets
            if guest:
                vspec.setdefault("domain", {}).setdefault("memory", {})["guest"] = guest
            if declarative:
                disks = {d.get("name"): d for d in (tspec.get("domain") or {}).get("devices", {}).get("disks") or ()}
                for vname, volume in wanted.items():
                    if vname not in present:
                        source = copy.deepcopy({k: v for k, v in volume.items() if k != "name"})
                        apply_volume_request(vspec, {"addVolumeOptions": {
                            "name": vname, "disk": disks.get(vname, {"name": vname, "disk": {"bus": "scsi"}}),
                            "volumeSource": source}})
                for vname in plugged - set(wanted):
                    apply_volume_request(vspec, {"removeVolumeOptions": {"name": vname}})
        rt.service.mutate(VMI, vmi["metadata"]["namespace"], vmi["metadata"]["name"], sync)

    # -- status ---------------------------------------------------------------------------------
    def _update_status(self, rt: Runtime, namespace: str, name: str, failure: Optional[tuple[str, str]]) -> None:
        store = rt.store
        vm, vmi, owned = vm_and_vmi(store, namespace, name)
        if vm is None:
            return
        if not owned:
            vmi = None
        status = dict(vm.get("status") or {})  # keys are replaced, nested values never edited
        status["created"] = vmi is not None
        status["ready"] = vmi is not None and has_condition(vmi, "Ready", "True")
        strategy = run_strategy(vm)
        if status.get("runStrategy") or status["created"]:
            status["runStrategy"] = strategy
        if vmi is not None:
            generation = (vmi["metadata"].get("annotations") or {}).get(VM_GENERATION_ANNOTATION)
            if generation is not None:
                started = self._start_specs.get(vmi["metadata"]["uid"])
                if started is not None and int(generation) != vm["metadata"].get("generation", 1) and \
                        started[0] == self._current_spec(rt, vm):
                    generation = str(vm["metadata"].get("generation", 1))
                    self._bump_generation(rt, vmi, generation)
                status["observedGeneration"] = int(generation)
                status["desiredGeneration"] = vm["metadata"].get("generation", 1)
        trim_state_change_requests(status, vmi)
        trim_volume_requests(vm, status)
        conditions = vm_conditions(status.get("conditions") or [], vmi, failure)
        if self._restart_required(rt, vm, vmi):
            if not has_condition({"status": {"conditions": conditions}}, "RestartRequired"):
                conditions.append({"type": "RestartRequired", "status": "True", "lastProbeTime": None,
                                   "lastTransitionTime": now_rfc3339(), "message": RESTART_REQUIRED_MESSAGE})
        else:
            conditions = remove_condition(conditions, "RestartRequired")
        status["conditions"] = conditions
        try:
            it, it_gr = find_instancetype(store, vm)
            pref, pref_gr = find_preference(store, vm)
        except FindError:
            it = pref = it_gr = pref_gr = None
        for key, ref in (("instancetypeRef", status_ref(it, it_gr)), ("preferenceRef", status_ref(pref, pref_gr))):
            if ref is not None:
                status[key] = ref
            elif not (vm["spec"].get("instancetype" if key == "instancetypeRef" else "preference")):
                status.pop(key, None)
        snapshots = volume_snapshot_statuses(store, vm)
        if snapshots:
            status["volumeSnapshotStatuses"] = snapshots
        else:
            status.pop("volumeSnapshotStatuses", None)
        status["printableStatus"] = printable_status(store, vm, vmi)
        if status != (vm.get("status") or {}):
            def write(obj: dict) -> None:
                obj["status"] = status
            rt.service.mutate(VM, namespace, name, write, subresource="status")
        if vmi is not None and (vmi_is_final(vmi) or vmi["metadata"].get("deletionTimestamp") and
                                vmi_phase(vmi) == "WaitingForSync") \
                and VM_CONTROLLER_FINALIZER in (vmi["metadata"].get("finalizers") or []):
            rt.service.remove_finalizer(VMI, namespace, name, VM_CONTROLLER_FINALIZER)
            self._start_specs.pop(vmi["metadata"]["uid"], None)

    @staticmethod
    def _bump_generation(rt: Runtime, vmi: dict, generation: str) -> None:
        def bump(obj: dict) -> None:
            obj["metadata"].setdefault("annotations", {})[VM_GENERATION_ANNOTATION] = generation
        rt.service.mutate(VMI, vmi["metadata"]["namespace"], vmi["metadata"]["name"], bump)

def event_store_vms(controller: VirtualMachineController, namespace: str) -> list[dict]:
    rt = getattr(controller, "rt", None)
    return rt.store.list(VM, namespace)[0] if rt is not None else []
