"""virt-api's ``subresources.kubevirt.io`` handlers (pkg/virt-api/rest: lifecycle.go, volumes.go,
expand.go, evacuate_cancel.go, subresource.go), with their status codes and messages.

VM ``start``/``stop``/``restart``/``migrate``/``addvolume``/``removevolume`` answer 202 with an empty
body; VMI ``pause``/``unpause``/``softreboot``/``freeze``/``unfreeze``/``reset`` answer 200 (virt-api
proxies them to virt-handler and writes no status code of its own); ``guestosinfo``/``userlist``/
``filesystemlist`` return the guest agent's data (500 when the agent is not connected, as virt-api
does for GET proxies) and ``expand-spec`` the VM with its instance type and preference applied.
``dryRun`` (in the body or the query) validates and changes nothing. The effects virt-handler
would have (Paused condition, readiness) are applied directly.
"""
from __future__ import annotations

import copy
from typing import Any, Callable

import yaml

from ..api import errors
from ..api.resources import AdmissionRequest, SubresourceCall
from ..api.objects import now_rfc3339
from .instancetypes import CONFLICT_FMT, FindError, apply_to_vmi_spec, find_instancetype, find_preference
from .keys import NODE, VM, VMI, VMIM
from .runtime import Runtime
from .virtcommon import (conflict, controller_ref, feature_gates, get_condition, has_condition, is_hotpluggable,
                         migration_config, not_found, remove_condition, run_strategy, vmi_is_final, vmi_phase)

Handler = Callable[[SubresourceCall], tuple[int, Any]]
HOTPLUG_DISABLED = "Enable DeclarativeHotplugVolumes or HotplugVolumes feature gate to use this API."
RESTART_NOT_ALLOWED = "RunStategy {} does not support manual restart requests"  # sic, as in lifecycle.go


def register(rt: Runtime) -> None:
    api = Subresources(rt)
    routes: list[tuple[str, str, Handler]] = [
        ("virtualmachines", "start", api.start), ("virtualmachines", "stop", api.stop),
        ("virtualmachines", "restart", api.restart), ("virtualmachines", "migrate", api.migrate),
        ("virtualmachines", "addvolume", api.vm_add_volume), ("virtualmachines", "removevolume", api.vm_remove_volume),
        ("virtualmachines", "expand-spec", api.expand_spec),
        ("virtualmachines", "evacuate/cancel", api.vm_evacuate_cancel),
        ("virtualmachineinstances", "pause", api.pause), ("virtualmachineinstances", "unpause", api.unpause),
        ("virtualmachineinstances", "softreboot", api.softreboot), ("virtualmachineinstances", "reset", api.reset),
        ("virtualmachineinstances", "freeze", api.freeze), ("virtualmachineinstances", "unfreeze", api.unfreeze),
        ("virtualmachineinstances", "addvolume", api.vmi_add_volume),
        ("virtualmachineinstances", "removevolume", api.vmi_remove_volume),
        ("virtualmachineinstances", "guestosinfo", api.guestosinfo),
        ("virtualmachineinstances", "userlist", api.userlist),
        ("virtualmachineinstances", "filesystemlist", api.filesystemlist),
        ("virtualmachineinstances", "evacuate/cancel", api.vmi_evacuate_cancel),
    ]
    for group in ("kubevirt.io", "subresources.kubevirt.io"):
        for plural, sub, handler in routes:
            rt.registry.add_subresource(group, plural, sub, handler)


def decode_body(call: SubresourceCall) -> dict:
    """decodeBody: YAML or JSON; an empty body is an empty options struct."""
    body = call.body
    if body is None or body == b"" or body == "":
        return {}
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = yaml.safe_load(body) if body.strip() else {}
        except yaml.YAMLError as exc:
            raise errors.bad_request(f"Can not unmarshal Request body to struct, error: {exc}")
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise errors.bad_request("Can not unmarshal Request body to struct, error: json: cannot unmarshal "
                                 f"{type(body).__name__} into Go value of type v1.Options")
    return body


def _dry(call: SubresourceCall, body: dict) -> bool:
    dry = body.get("dryRun") or []
    return bool(call.dry_run or (isinstance(dry, list) and dry[:1] == ["All"]))


def _method(call: SubresourceCall, *allowed: str) -> None:
    if call.method.upper() not in allowed:
        raise errors.method_not_allowed()


def _put_options(call: SubresourceCall) -> tuple[dict, bool]:
    """A PUT-only subresource's decoded options and whether they (or the request) ask for a dry run."""
    _method(call, "PUT")
    body = decode_body(call)
    return body, _dry(call, body)


def change_requests(vm: dict, *changes: dict) -> dict:
    """getChangeRequestJson applied: the VM status with the new stateChangeRequests."""
    status = copy.deepcopy(vm.get("status") or {})
    existing = status.get("stateChangeRequests") or []
    if not existing:
        status["stateChangeRequests"] = list(changes)
    elif len(changes) == 1 and changes[0]["action"] == "Stop":
        status["stateChangeRequests"] = list(changes)
    else:
        raise errors.internal("unable to complete request: stop/start already underway")
    status.pop("startFailure", None)
    return status


class Subresources:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.store = rt.store
        self.service = rt.service

    # -- helpers --------------------------------------------------------------------------------
    def _vm(self, call: SubresourceCall) -> dict:
        vm = self.store.get(VM, call.namespace, call.name)
        if vm is None:
            raise not_found("virtualmachine", call.name)
        return vm

    def _vmi(self, call: SubresourceCall) -> dict:
        vmi = self.store.get(VMI, call.namespace, call.name)
        if vmi is None:
            raise not_found("virtualmachineinstance", call.name)
        return vmi

    def _write_vm_status(self, vm: dict, status: dict, dry_run: bool) -> None:
        if dry_run:
            return
        def apply(obj: dict) -> None:
            obj["status"] = status
        self.service.mutate(VM, vm["metadata"]["namespace"], vm["metadata"]["name"], apply, subresource="status")

    def _set_running(self, vm: dict, running: bool, dry_run: bool) -> None:
        """getRunningPatch: runStrategy Always/Halted, or the deprecated running flag."""
        if dry_run:
            return
        def apply(obj: dict) -> None:
            if obj["spec"].get("runStrategy") is not None:
                obj["spec"]["runStrategy"] = "Always" if running else "Halted"
            else:
                obj["spec"]["running"] = running
        self.service.mutate(VM, vm["metadata"]["namespace"], vm["metadata"]["name"], apply)

    def _set_grace(self, vmi: dict, seconds: int, dry_run: bool) -> int:
        old = int((vmi.get("spec") or {}).get("terminationGracePeriodSeconds") or 0)
        if not dry_run:
            def apply(obj: dict) -> None:
                obj["spec"]["terminationGracePeriodSeconds"] = seconds
            self.service.mutate(VMI, vmi["metadata"]["namespace"], vmi["metadata"]["name"], apply)
        return old

    # -- VM lifecycle ---------------------------------------------------------------------------
    def start(self, call: SubresourceCall) -> tuple[int, Any]:
        _method(call, "PUT")
        with self.store.lock:
            vm = self._vm(call)
            vmi = self.store.get(VMI, call.namespace, call.name)
            if vmi is not None and not vmi_is_final(vmi) and vmi_phase(vmi) not in ("", "Unknown"):
                raise conflict("virtualmachine", call.name, "VM is already running")
            body = decode_body(call)
            dry = _dry(call, body)
            paused = bool(body.get("paused"))
            start = {"action": "Start"}
            if paused:
                start["data"] = {"paused": "true"}
            strategy = run_strategy(vm)
            if strategy == "Halted":
                template_spec = (vm["spec"].get("template") or {}).get("spec") or {}
                template_paused = template_spec.get("startStrategy") == "Paused"
                if paused and not template_paused:
                    self._write_vm_status(vm, change_requests(vm, start), dry)
                else:
                    self._set_running(vm, True, dry)
            elif strategy in ("RerunOnFailure", "Manual"):
                phase = vmi_phase(vmi)
                if strategy == "RerunOnFailure" and phase == "Failed":
                    raise conflict("virtualmachine", call.name, "RerunOnFailure does not support starting VM from "
                                   "failed state")
                restart = vmi is not None and ((strategy == "RerunOnFailure" and phase == "Succeeded")
                                               or (strategy == "Manual" and vmi_is_final(vmi)))
                changes = ([{"action": "Stop", "uid": vmi["metadata"]["uid"]}, start] if restart else [start])
                self._write_vm_status(vm, change_requests(vm, *changes), dry)
            else:
                raise conflict("virtualmachine", call.name, f"{strategy} does not support manual start requests")
        return 202, None

    def stop(self, call: SubresourceCall) -> tuple[int, Any]:
        body, dry = _put_options(call)
        with self.store.lock:
            vm = self._vm(call)
            strategy = run_strategy(vm)
            vmi = self.store.get(VMI, call.namespace, call.name)
            grace = body.get("gracePeriod")
            old_grace = 0
            if vmi is not None and not vmi_is_final(vmi) and grace is not None:
                old_grace = self._set_grace(vmi, int(grace), dry)
            running = vmi is not None and not vmi_is_final(vmi)
            stop = {"action": "Stop", "uid": (vmi or {}).get("metadata", {}).get("uid")}
            if strategy == "Halted":
                if not running:
                    raise conflict("virtualmachine", call.name, "VM is not running")
                has_grace = (vmi.get("spec") or {}).get("terminationGracePeriodSeconds") is not None
                if grace is None or (has_grace and int(grace) >= old_grace):
                    raise conflict("virtualmachine", call.name,
                                   "Halted only supports manual stop requests with a shorter graceperiod")
                self._write_vm_status(vm, change_requests(vm, stop), dry)
            elif strategy in ("RerunOnFailure", "Manual"):
                if not running:
                    raise conflict("virtualmachine", call.name, "VM is not running")
                self._write_vm_status(vm, change_requests(vm, stop), dry)
            else:
                self._set_running(vm, False, dry)
        return 202, None

    def restart(self, call: SubresourceCall) -> tuple[int, Any]:
        body, dry = _put_options(call)
        grace = body.get("gracePeriodSeconds")
        if grace is not None:
            if int(grace) > 0:
                raise errors.bad_request("For force restart, only gracePeriod=0 is supported for now")
            if int(grace) < 0:
                raise errors.bad_request("gracePeriod has to be greater or equal to 0")
        with self.store.lock:
            vm = self._vm(call)
            strategy = run_strategy(vm)
            if strategy in ("Halted", "Once"):
                raise conflict("virtualmachine", call.name, RESTART_NOT_ALLOWED.format(strategy))
            vmi = self.store.get(VMI, call.namespace, call.name)
            if vmi is None:
                raise conflict("virtualmachine", call.name, "VM is not running: Halted")
            status = change_requests(vm, {"action": "Stop", "uid": vmi["metadata"]["uid"]}, {"action": "Start"})
            if grace is not None:
                self._set_grace(vmi, 1, dry)
            self._write_vm_status(vm, status, dry)
        return 202, None

    def migrate(self, call: SubresourceCall) -> tuple[int, Any]:
        body, dry = _put_options(call)
        self._vm(call)
        vmi = self.store.get(VMI, call.namespace, call.name)
        if vmi is None:
            raise not_found("virtualmachineinstance", call.name)
        if vmi_phase(vmi) != "Running":
            raise conflict("virtualmachine", call.name, "VM is not running")
        spec: dict = {"vmiName": call.name}
        if body.get("addedNodeSelector"):
            spec["addedNodeSelector"] = body["addedNodeSelector"]
        migration = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceMigration",
                     "metadata": {"generateName": "kubevirt-migrate-vm-", "namespace": call.namespace}, "spec": spec}
        try:
            self.rt.registry.admit(AdmissionRequest("CREATE", VMIM, call.namespace, None, call.user, dry),
                                   migration, None)
            self.service.create(VMIM, migration, dry_run=dry)
        except errors.ApiError as exc:
            raise errors.internal(exc.message)
        return 202, None

    def expand_spec(self, call: SubresourceCall) -> tuple[int, Any]:
        _method(call, "GET")
        vm = copy.deepcopy(self._vm(call))
        if not vm["spec"].get("instancetype") and not vm["spec"].get("preference"):
            return 200, vm
        try:
            instancetype, _ = find_instancetype(self.store, vm)
            preference, _ = find_preference(self.store, vm)
        except FindError as exc:
            raise errors.internal(str(exc))
        template = vm["spec"].setdefault("template", {})
        from .virtapi import default_vmi
        tspec = template.setdefault("spec", {})
        conflicts = apply_to_vmi_spec(instancetype, preference, tspec, template.setdefault("metadata", {}))
        if conflicts:
            raise errors.internal(CONFLICT_FMT.format(", ".join(conflicts)))
        shell = {"metadata": {"name": vm["metadata"]["name"]}, "spec": tspec}
        default_vmi(shell, self.rt.options)
        template["spec"] = shell["spec"]
        vm["spec"].pop("instancetype", None)
        vm["spec"].pop("preference", None)
        (vm.get("status") or {}).pop("instancetypeRef", None)
        (vm.get("status") or {}).pop("preferenceRef", None)
        return 200, vm

    # -- VMI lifecycle (proxied to virt-handler) ------------------------------------------------
    def _running_vmi(self, call: SubresourceCall, not_running: str) -> dict:
        vmi = self._vmi(call)
        if vmi_phase(vmi) != "Running":
            raise conflict("virtualmachineinstance", call.name, not_running)
        return vmi

    def _set_paused(self, vmi: dict, paused: bool) -> None:
        def apply(obj: dict) -> None:
            status = obj.setdefault("status", {})
            conditions = remove_condition(status.get("conditions") or [], "Paused")
            if paused:
                conditions.append({"type": "Paused", "status": "True", "lastProbeTime": now_rfc3339(),
                                   "lastTransitionTime": now_rfc3339(), "reason": "PausedByUser",
                                   "message": "VMI was paused by user"})
            status["conditions"] = conditions
        self.service.mutate(VMI, vmi["metadata"]["namespace"], vmi["metadata"]["name"], apply)
        self.rt.record_event(vmi, "Paused" if paused else "Unpaused",
                             "VirtualMachineInstance paused" if paused else "VirtualMachineInstance unpaused",
                             component="virt-handler")

    def pause(self, call: SubresourceCall) -> tuple[int, Any]:
        body, dry = _put_options(call)
        with self.store.lock:
            vmi = self._running_vmi(call, "VM is not running")
            if (vmi["spec"].get("livenessProbe") or {}) and not vmi["spec"]["livenessProbe"].get("guestAgentPing"):
                raise errors.ApiError(403, "Forbidden",
                                      f'virtualmachineinstance.kubevirt.io "{call.name}" is forbidden: '
                                      "Pausing VMIs with a non-GuestAgentPing LivenessProbe is not supported",
                                      {"name": call.name, "group": "kubevirt.io", "kind": "virtualmachineinstance"})
            if get_condition(vmi, "Paused") is not None:
                raise conflict("virtualmachineinstance", call.name, "VMI is already paused")
            if not dry:
                self._set_paused(vmi, True)
        return 200, None

    def unpause(self, call: SubresourceCall) -> tuple[int, Any]:
        body, dry = _put_options(call)
        with self.store.lock:
            vm = self.store.get(VM, call.namespace, call.name)
            if vm is not None and (vm.get("status") or {}).get("snapshotInProgress"):
                raise conflict("virtualmachine", call.name, "VM snapshot is in progress")
            vmi = self._running_vmi(call, "VMI is not running")
            if get_condition(vmi, "Paused") is None:
                raise conflict("virtualmachineinstance", call.name, "VMI is not paused")
            if not dry:
                self._set_paused(vmi, False)
        return 200, None

    def softreboot(self, call: SubresourceCall) -> tuple[int, Any]:
        _method(call, "PUT")
        vmi = self._running_vmi(call, "VM is not running")
        if has_condition(vmi, "Paused", "True"):
            raise conflict("virtualmachineinstance", call.name, "VMI is paused")
        acpi = (((vmi["spec"].get("domain") or {}).get("features") or {}).get("acpi") or {}).get("enabled", True)
        if not has_condition(vmi, "AgentConnected") and acpi is False:
            raise conflict("virtualmachineinstance", call.name,
                           "VMI neither have the agent connected nor the ACPI feature enabled")
        self.rt.record_event(vmi, "SoftRebooted", "VirtualMachineInstance soft rebooted", component="virt-handler")
        return 200, None

    def reset(self, call: SubresourceCall) -> tuple[int, Any]:
        _method(call, "PUT")
        vmi = self._vmi(call)
        phase = vmi_phase(vmi)
        if phase not in ("Running", "Scheduled"):
            raise errors.bad_request(f"Failed to reset non-running VMI with phase {phase}: Unable to connect to "
                                     f"VirtualMachineInstance because phase is {phase} instead of Running or Scheduled")
        self.rt.record_event(vmi, "Reset", "VirtualMachineInstance reset", component="virt-handler")
        return 200, None

    def freeze(self, call: SubresourceCall) -> tuple[int, Any]:
        _method(call, "PUT")
        self._running_vmi(call, "VM is not running")
        return self._fs_freeze(call, "frozen")

    def unfreeze(self, call: SubresourceCall) -> tuple[int, Any]:
        _method(call, "PUT")
        self._running_vmi(call, "VMI is not running")
        return self._fs_freeze(call, "")

    def _fs_freeze(self, call: SubresourceCall, state: str) -> tuple[int, Any]:
        def apply(obj: dict) -> None:
            if state:
                obj.setdefault("status", {})["fsFreezeStatus"] = state
            else:
                obj.setdefault("status", {}).pop("fsFreezeStatus", None)
        self.service.mutate(VMI, call.namespace, call.name, apply)
        return 200, None

    # -- guest agent data -----------------------------------------------------------------------
    def _agent_vmi(self, call: SubresourceCall) -> dict:
        _method(call, "GET")
        vmi = self._vmi(call)
        if vmi_phase(vmi) != "Running":
            raise errors.internal(conflict("virtualmachineinstance", call.name, "VMI is not running").message)
        if get_condition(vmi, "AgentConnected") is None:
            raise errors.internal(conflict("virtualmachineinstance", call.name,
                                           "VMI does not have guest agent connected").message)
        return vmi

    def guestosinfo(self, call: SubresourceCall) -> tuple[int, Any]:
        vmi = self._agent_vmi(call)
        status = vmi.get("status") or {}
        os_info = status.get("guestOSInfo") or {}
        windows = os_info.get("id") == "mswindows"
        return 200, {
            "guestAgentVersion": "107.0.1" if windows else "9.0.0",
            "hostname": vmi["spec"].get("hostname") or vmi["metadata"]["name"],
            "os": os_info, "timezone": "UTC, 0",
            "supportedCommands": [{"name": c, "enabled": True} for c in (
                "guest-ping", "guest-get-osinfo", "guest-get-users", "guest-get-fsinfo", "guest-get-time",
                "guest-shutdown", "guest-network-get-interfaces", "guest-exec", "guest-fsfreeze-freeze")],
            "fsInfo": self._filesystems(vmi), "userList": self._users(vmi),
        }

    def userlist(self, call: SubresourceCall) -> tuple[int, Any]:
        vmi = self._agent_vmi(call)
        return 200, {"kind": "", "apiVersion": "", "metadata": {}, "items": self._users(vmi)}

    def filesystemlist(self, call: SubresourceCall) -> tuple[int, Any]:
        vmi = self._agent_vmi(call)
        return 200, {"kind": "", "apiVersion": "", "metadata": {}, "items": self._filesystems(vmi)["disks"]}

    @staticmethod
    def _users(vmi: dict) -> list[dict]:
        os_id = ((vmi.get("status") or {}).get("guestOSInfo") or {}).get("id", "")
        user = "Administrator" if os_id == "mswindows" else {"rhel": "cloud-user", "centos": "cloud-user"}.get(
            os_id, os_id or "cloud-user")
        domain = "WORKGROUP" if os_id == "mswindows" else ""
        return [{"userName": user, "domain": domain, "loginTime": 1.7e9}]

    @staticmethod
    def _filesystems(vmi: dict) -> dict:
        windows = ((vmi.get("status") or {}).get("guestOSInfo") or {}).get("id") == "mswindows"
        disk = {"diskName": "C:" if windows else "vda1", "mountPoint": "C:\\" if windows else "/",
                "fileSystemType": "NTFS" if windows else "xfs", "usedBytes": 8_589_934_592,
                "totalBytes": 32_212_254_720, "disk": [{"busType": "virtio", "serial": ""}]}
        return {"disks": [disk]}

    # -- hot-plug ------------------------------------------------------------------------------
    def _volume_options(self, call: SubresourceCall, remove: bool) -> tuple[dict, bool]:
        if not feature_gates(self.store) & {"HotplugVolumes", "DeclarativeHotplugVolumes"}:
            raise errors.bad_request(HOTPLUG_DISABLED)
        opts = decode_body(call)  # over HTTP the body is never nil: an empty one decodes to {}
        label = "RemoveVolumeOptions" if remove else "AddVolumeOptions"
        if not opts.get("name"):
            raise errors.bad_request(f"{label} requires name to be set")
        if not remove:
            if opts.get("disk") is None:
                raise errors.bad_request("AddVolumeOptions requires disk to not be nil")
            if opts.get("volumeSource") is None:
                raise errors.bad_request("AddVolumeOptions requires VolumeSource to not be nil")
            opts["disk"] = dict(opts["disk"], name=opts["name"])
            for kind in ("dataVolume", "persistentVolumeClaim"):
                if opts["volumeSource"].get(kind) is not None:
                    opts["volumeSource"][kind] = dict(opts["volumeSource"][kind], hotpluggable=True)
                    break
        return opts, _dry(call, opts)

    def vm_add_volume(self, call: SubresourceCall) -> tuple[int, Any]:
        return self._vm_volume(call, remove=False)

    def vm_remove_volume(self, call: SubresourceCall) -> tuple[int, Any]:
        return self._vm_volume(call, remove=True)

    def vmi_add_volume(self, call: SubresourceCall) -> tuple[int, Any]:
        return self._vmi_volume(call, remove=False)

    def vmi_remove_volume(self, call: SubresourceCall) -> tuple[int, Any]:
        return self._vmi_volume(call, remove=True)

    def _vm_volume(self, call: SubresourceCall, remove: bool) -> tuple[int, Any]:
        _method(call, "PUT")
        opts, dry = self._volume_options(call, remove)
        request = {"removeVolumeOptions" if remove else "addVolumeOptions": opts}
        with self.store.lock:
            vm = self._vm(call)
            tspec = ((vm["spec"].get("template") or {}).get("spec") or {})
            self._verify(tspec.get("volumes") or [], request, "virtualmachine", call.name)
            if "HotplugVolumes" in feature_gates(self.store):
                status = copy.deepcopy(vm.get("status") or {})
                requests = list(status.get("volumeRequests") or [])
                name = opts["name"]
                if remove:
                    kept = []
                    for item in requests:
                        if (item.get("addVolumeOptions") or {}).get("name") == name:
                            continue
                        if (item.get("removeVolumeOptions") or {}).get("name") == name:
                            raise conflict("virtualmachine", call.name, f"a remove volume request for volume [{name}] "
                                           "already exists and is still being processed")
                        kept.append(item)
                    requests = kept
                else:
                    for item in requests:
                        if (item.get("addVolumeOptions") or {}).get("name") == name:
                            raise conflict("virtualmachine", call.name,
                                           f"add volume request for volume [{name}] already exists")
                        if (item.get("removeVolumeOptions") or {}).get("name") == name:
                            raise conflict("virtualmachine", call.name, "unable to add volume since a remove volume "
                                           f"request for volume [{name}] already exists and is still being processed")
                requests.append(request)
                status["volumeRequests"] = requests
                self._write_vm_status(vm, status, dry)
            elif not dry:
                self.service.mutate(VM, call.namespace, call.name,
                                    lambda obj: apply_volume_request(obj["spec"]["template"].setdefault("spec", {}),
                                                                     request))
        return 202, None

    def _vmi_volume(self, call: SubresourceCall, remove: bool) -> tuple[int, Any]:
        _method(call, "PUT")
        opts, dry = self._volume_options(call, remove)
        request = {"removeVolumeOptions" if remove else "addVolumeOptions": opts}
        with self.store.lock:
            vmi = self._vmi(call)
            owner = controller_ref(vmi)
            if owner and owner.get("kind") == "VirtualMachine" and "HotplugVolumes" not in feature_gates(self.store):
                raise errors.bad_request(f"VMI {call.namespace}/{call.name} is owned by a VM")
            if vmi_phase(vmi) != "Running":
                raise conflict("virtualmachineinstance", call.name, "VMI is not running")
            self._verify(vmi["spec"].get("volumes") or [], request, "virtualmachineinstance", call.name)
            if not dry:
                self.service.mutate(VMI, call.namespace, call.name,
                                    lambda obj: apply_volume_request(obj["spec"], request))
        return 202, None

    @staticmethod
    def _verify(volumes: list[dict], request: dict, resource: str, name: str) -> None:
        """verifyVolumeOption."""
        add, rem = request.get("addVolumeOptions"), request.get("removeVolumeOptions")
        if add:
            source = add["volumeSource"]
            src_name = (source.get("dataVolume") or {}).get("name") or \
                (source.get("persistentVolumeClaim") or {}).get("claimName") or ""
            for volume in volumes:
                if volume.get("name") == add["name"]:
                    raise conflict(resource, name, f"Unable to add volume [{add['name']}] because volume with that "
                                   "name already exists")
                if src_name and src_name in ((volume.get("dataVolume") or {}).get("name"),
                                             (volume.get("persistentVolumeClaim") or {}).get("claimName")):
                    raise conflict(resource, name,
                                   f"Unable to add volume source [{src_name}] because it already exists")
            return
        for volume in volumes:
            if rem["name"] in (volume.get("name"), (volume.get("dataVolume") or {}).get("name"),
                               (volume.get("persistentVolumeClaim") or {}).get("claimName")):
                if not is_hotpluggable(volume):
                    raise conflict(resource, name, f"Unable to remove volume [{volume['name']}] because it is not "
                                   "hotpluggable")
                return
        raise conflict(resource, name, f"Unable to remove volume [{rem['name']}] because it does not exist")

    # -- evacuation ----------------------------------------------------------------------------
    def vm_evacuate_cancel(self, call: SubresourceCall) -> tuple[int, Any]:
        vm = self._vm(call)
        if not (vm.get("status") or {}).get("created"):
            raise conflict("virtualmachine", call.name, "VMI is not started")
        return self._evacuate_cancel(call)

    def vmi_evacuate_cancel(self, call: SubresourceCall) -> tuple[int, Any]:
        return self._evacuate_cancel(call)

    def _evacuate_cancel(self, call: SubresourceCall) -> tuple[int, Any]:
        _method(call, "PUT")
        with self.store.lock:
            vmi = self._vmi(call)
            status = vmi.get("status") or {}
            node_name = status.get("evacuationNodeName") or status.get("nodeName")
            node = self.store.get(NODE, None, node_name) if node_name else None
            taint_key = migration_config(self.store).get("nodeDrainTaintKey")
            for taint in (node or {}).get("spec", {}).get("taints") or ():
                if taint.get("key") == taint_key and taint.get("effect") == "NoSchedule":
                    raise errors.bad_request(f'Node "{node_name}" has NodeDrainTaintKey "{taint_key}:NoSchedule"')
            if not status.get("evacuationNodeName"):
                return 200, None
            opts = decode_body(call)
            if opts.get("evacuationNodeName", "") != status["evacuationNodeName"]:
                raise errors.internal("the server rejected our request due to an error in our request")
            if not _dry(call, opts):
                self.service.mutate(VMI, call.namespace, call.name,
                                    lambda obj: obj["status"].pop("evacuationNodeName", None))
        return 200, None


def apply_volume_request(spec: dict, request: dict) -> None:
    """controller.ApplyVolumeRequestOnVMISpec on a VMI spec (or a VM template spec)."""
    volumes = spec.setdefault("volumes", [])
    devices = spec.setdefault("domain", {}).setdefault("devices", {})
    disks = devices.setdefault("disks", [])
    add = request.get("addVolumeOptions")
    if add:
        if any(v.get("name") == add["name"] for v in volumes):
            return
        volume: dict = {"name": add["name"]}
        for kind in ("persistentVolumeClaim", "dataVolume"):
            if (add.get("volumeSource") or {}).get(kind) is not None:
                volume[kind] = dict(add["volumeSource"][kind], hotpluggable=True)
                break
        volumes.append(volume)
        if add.get("disk") is not None:
            disks.append(dict(copy.deepcopy(add["disk"]), name=add["name"]))
        return
    name = (request.get("removeVolumeOptions") or {}).get("name")
    spec["volumes"] = [v for v in volumes if v.get("name") != name]
    devices["disks"] = [d for d in disks if d.get("name") != name]
