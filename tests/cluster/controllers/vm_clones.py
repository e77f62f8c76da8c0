"""VirtualMachineClone (clone.kubevirt.io/v1beta1), as KubeVirt's virt-controller clone controller
(pkg/virt-controller/watch/clone) and the virt-api clone mutator/admitter do it.

- Admission: a missing target (or target name) becomes ``clone-<source>-<5 random chars>``; filters
  may use ``!`` only first and ``*`` only last; source kind VirtualMachine or VirtualMachineSnapshot,
  target kind VirtualMachine, target name not the source VM's; MAC addresses and patches checked.
- Phases: "" -> SnapshotInProgress (a source VM is snapshotted first, ``tmp-snapshot-<clone uid>``,
  owned by the clone; a VM whose ``volumeSnapshotStatuses`` has a disabled volume stays pending with
  VMVolumeSnapshotsInvalid) -> RestoreInProgress (a ``tmp-restore-<clone uid>`` VirtualMachineRestore
  to the target name with the generated patches: MAC addresses from ``newMacAddresses`` (else
  cleared), SMBIOS serial, firmware UUID cleared, labels/annotations removed unless a filter keeps
  them - filters are Go regular expressions, ``*`` alone is everything, ``!`` excludes - then
  ``spec.patches``) -> CreatingTargetVM -> Succeeded, then the temporary restore and snapshot are
  deleted once the restored claims are bound. Conditions Progressing/Ready ("Still processing",
  "Ready", "Pending", "Failed"); events SnapshotCreated, SnapshotReady, RestoreCreated, RestoreReady,
  TargetVMCreated, PVCBound, SourceDoesNotExist. A target that already exists is refused by the
  restore (``restore source and restore target are different but restore target already exists``),
  so the clone stays in RestoreInProgress. A Succeeded clone whose target VM is gone is deleted.
"""
from __future__ import annotations

import copy
import json
import re
from typing import Iterable, Optional

from ..api.objects import now_rfc3339
from ..api.resources import GR, AdmissionRequest
from ..api.store import Event
from .keys import PVC, VM
from .pacing import PacedController
from .runtime import ObjKey, Runtime
from .vm_restores import VMRESTORE, VMSNAPSHOT, VMSNAPSHOTCONTENT, restore_done, snapshot_ready

VMCLONE: GR = ("clone.kubevirt.io", "virtualmachineclones")
COMPONENT = "clone-controller"
MAC = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$")


def _owner(clone: dict) -> dict:
    return {"apiVersion": "clone.kubevirt.io/v1beta1", "kind": "VirtualMachineClone",
            "name": clone["metadata"]["name"], "uid": clone["metadata"]["uid"], "controller": True,
            "blockOwnerDeletion": True}


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def filter_removals(values: Optional[dict], filters: Optional[list], base: str) -> list[dict]:
    """addRemovePatchesFromFilter: remove every key no filter keeps (no filters: keep all)."""
    if filters is None:
        return []
    regular = [".*" if f == "*" else f for f in filters if not f.startswith("!") or f == "*"]
    negated = [f[1:] for f in filters if f.startswith("!")]

    def match(rx: str, key: str) -> bool:
        try:
            return re.search(rx, key) is not None
        except re.error:
            return False
    kept = {k for k in values or {} if any(match(f, k) for f in regular) and not any(match(f, k) for f in negated)}
    return [{"op": "remove", "path": f"{base}/{_escape(k)}"} for k in sorted(values or {}) if k not in kept]


def clone_patches(vm: dict, spec: dict) -> list[str]:
    """generatePatches: the clone's own patches after the generated ones, as JSON strings."""
    tspec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
    tmeta = ((vm.get("spec") or {}).get("template") or {}).get("metadata") or {}
    domain = tspec.get("domain") or {}
    macs = spec.get("newMacAddresses") or {}
    ops: list[dict] = []
    for i, iface in enumerate((domain.get("devices") or {}).get("interfaces") or []):
        ops.append({"op": "replace", "path": f"/spec/template/spec/domain/devices/interfaces/{i}/macAddress",
                    "value": macs.get(iface.get("name"), "")})
    firmware = domain.get("firmware")
    if firmware is not None:
        ops.append({"op": "replace", "path": "/spec/template/spec/domain/firmware/serial",
                    "value": spec.get("newSMBiosSerial") or ""})
    annotations = {k: v for k, v in ((vm.get("metadata") or {}).get("annotations") or {}).items()
                   if k != "restore.kubevirt.io/lastRestoreUID"}
    ops += filter_removals((vm.get("metadata") or {}).get("labels"), spec.get("labelFilters"), "/metadata/labels")
    ops += filter_removals(annotations, spec.get("annotationFilters"), "/metadata/annotations")
    template = spec.get("template") or {}
    ops += filter_removals(tmeta.get("labels"), template.get("labelFilters"), "/spec/template/metadata/labels")
    ops += filter_removals(tmeta.get("annotations"), template.get("annotationFilters"),
                           "/spec/template/metadata/annotations")
    if firmware is not None:
        ops.append({"op": "replace", "path": "/spec/template/spec/domain/firmware/uuid", "value": ""})
    return [json.dumps(op, separators=(",", ":")) for op in ops] + list(spec.get("patches") or [])


def filter_causes(filters: Optional[list], field: str) -> list[tuple[str, str]]:
    out = []
    for f in filters or []:
        if len(f) == 1:
            if f == "!":
                out.append(("a negation character is not a valid filter", field))
            continue
        rules = "%s filter %s is invalid: cannot contain a %s character (%s); FilterRules: %s"
        if "!" in f[1:]:
            out.append((rules % (field, f, "negation", "!", "NegationChar can be only used at the beginning of the filter"),
                        field))
        if "*" in f[:-1]:
            out.append((rules % (field, f, "wildcard", "*", "WildcardChar can be only at the end of the filter"), field))
    return out


class CloneController(PacedController):
    name = "vm-clones"
    watches = (VMCLONE,)

    def setup(self, rt: Runtime) -> None:
        self.rt = rt
        rt.registry.add_mutating(VMCLONE, self.mutate)
        rt.registry.add_validating(VMCLONE, self.validate)

    # -- admission -------------------------------------------------------------------------------
    def mutate(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if request.operation != "CREATE" or new is None or request.subresource:
            return
        spec = new.setdefault("spec", {})
        source = spec.get("source") or {}
        target = spec.get("target")
        name = f"clone-{source.get('name', '')}-{self.rt.service.random_suffix(5)}"
        if target is None:
            spec["target"] = {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": name}
        elif not target.get("name"):
            target["name"] = name

    def validate(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if request.operation != "CREATE" or new is None or request.subresource:
            return
        spec = new.get("spec") or {}
        template = spec.get("template") or {}
        causes = filter_causes(spec.get("annotationFilters"), "spec.annotations")
        causes += filter_causes(spec.get("labelFilters"), "spec.labels")
        causes += filter_causes(template.get("annotationFilters"), "spec.template.annotations")
        causes += filter_causes(template.get("labelFilters"), "spec.template.labels")
        source, target = spec.get("source") or {}, spec.get("target") or {}
        if source.get("kind") not in ("VirtualMachine", "VirtualMachineSnapshot"):
            causes.append(("Source kind is not supported", "spec.Source.Kind"))
        if target and target.get("kind") != "VirtualMachine":
            causes.append(("Target kind is not supported", "spec.Target.Kind"))
        if not source.get("apiGroup"):
            causes.append(("Source's APIGroup cannot be empty", "spec.Source.APIGroup"))
        if not source.get("name"):
            causes.append(("Source's name cannot be empty", "spec.Source.Name"))
        if source.get("kind") == "VirtualMachine" and target.get("kind") == "VirtualMachine" and \
                target.get("name") == source.get("name"):
            causes.append(("Target name cannot be equal to source name when both are VirtualMachines",
                           "spec.target.name"))
        for iface, mac in sorted((spec.get("newMacAddresses") or {}).items()):
            if mac and not MAC.match(mac):
                causes.append((f"interface {iface} has malformed MAC address ({mac}).", f"spec.newMacAddresses.{iface}"))
        for i, patch in enumerate(spec.get("patches") or []):
            try:
                json.loads(patch)
            except ValueError:
                causes.append((f"patch is not valid JSON ({patch})", f"spec.patches[{i}]"))
        if causes:
            from .vm_restores import _denied
            raise _denied(causes, "virtualmachineclone-validator.kubevirt.io")

    # -- event mapping ---------------------------------------------------------------------------
    def keys_for(self, event: Event) -> Iterable[ObjKey]:
        meta = event.obj["metadata"]
        ns = meta.get("namespace") or ""
        if event.gr == VMCLONE:
            yield (VMCLONE, ns, meta["name"])
            return
        if event.gr not in (VM, VMSNAPSHOT, VMRESTORE, PVC):
            return
        for owner in meta.get("ownerReferences") or []:
            if owner.get("kind") == "VirtualMachineClone":
                yield (VMCLONE, ns, owner["name"])
        for clone in self.rt.store.list(VMCLONE, ns)[0]:
            spec, status = clone.get("spec") or {}, clone.get("status") or {}
            if meta["name"] in ((spec.get("source") or {}).get("name"), (spec.get("target") or {}).get("name")) or \
                    (event.gr == PVC and status.get("restoreName")):
                yield (VMCLONE, ns, clone["metadata"]["name"])

    # -- reconcile -------------------------------------------------------------------------------
    def reconcile(self, rt: Runtime, gr: GR, namespace: str, name: str) -> None:
        key = (gr, namespace, name)
        clone = rt.store.get(VMCLONE, namespace, name)
        if clone is None or clone["metadata"].get("deletionTimestamp") or not self._due_now(rt, key):
            return
        status = clone.get("status") or {}
        if status.get("phase") == "Succeeded" and rt.store.get(VM, namespace, status.get("targetName") or "") is None:
            rt.service.delete(VMCLONE, namespace, name)
            return
        info = self._sync(rt, clone)
        if self._update_status(rt, clone, info):
            self._step(rt, key)

    def _sync(self, rt: Runtime, clone: dict) -> dict:
        ns = clone["metadata"]["namespace"]
        spec, status = clone["spec"], clone.get("status") or {}
        source = spec.get("source") or {}
        info: dict = {}
        source_vm = snapshot = None
        if source.get("kind") == "VirtualMachine":
            source_vm = rt.store.get(VM, ns, source.get("name") or "")
            if source_vm is None:
                return {"pending": ("SourceDoesNotExist", f"Source doesnt exist: VirtualMachine {ns}/{source.get('name')}")}
            snapshot_name = status.get("snapshotName")
        else:
            snapshot = rt.store.get(VMSNAPSHOT, ns, source.get("name") or "")
            if snapshot is None:
                return {"pending": ("SourceDoesNotExist",
                                    f"Source doesnt exist: VirtualMachineSnapshot {ns}/{source.get('name')}")}
            snapshot_name = snapshot["metadata"]["name"]
        phase = status.get("phase") or ""
        if phase in ("", "SnapshotInProgress"):
            if source_vm is not None and not snapshot_name:
                return self._create_snapshot(rt, clone, source_vm)
            snapshot = rt.store.get(VMSNAPSHOT, ns, snapshot_name or "")
            if snapshot is None:
                return {"error": f"snapshot {snapshot_name} is not created yet for clone {clone['metadata']['name']}"}
            if not snapshot_ready(snapshot):
                return info
            problem = self._content_problem(rt, snapshot)
            if problem:
                return {"failing": ("SnapshotContentInvalid", problem)}
            self._event(rt, clone, "SnapshotReady",
                        f"snapshot {snapshot_name} for clone {clone['metadata']['name']} is ready to use")
            info["snapshotReady"] = True
            phase = "RestoreInProgress"
        if phase == "RestoreInProgress":
            snapshot = snapshot or rt.store.get(VMSNAPSHOT, ns, snapshot_name or "")
            if snapshot is None:
                return dict(info, failing=("SnapshotDeleted", f"snapshot {snapshot_name} does not exist anymore"))
            if not status.get("restoreName"):
                return dict(info, **self._create_restore(rt, clone, snapshot))
            restore = rt.store.get(VMRESTORE, ns, status["restoreName"])
            if restore is None:
                return dict(info, error=f"restore {status['restoreName']} is not created yet for clone "
                            f"{clone['metadata']['name']}")
            if not restore_done(restore):
                return info
            self._event(rt, clone, "RestoreReady",
                        f"restore {status['restoreName']} for clone {clone['metadata']['name']} is ready to use")
            info.update(restoreReady=True, targetVMName=restore["spec"]["target"]["name"])
            phase = "CreatingTargetVM"
        if phase == "CreatingTargetVM":
            target = (spec.get("target") or {}).get("name") or ""
            if rt.store.get(VM, ns, target) is None:
                return dict(info, error=f"target VM {target} is not created yet for clone {clone['metadata']['name']}")
            self._event(rt, clone, "TargetVMCreated", f"created target VM {target} for clone {clone['metadata']['name']}")
            info["targetVMCreated"] = True
            phase = "Succeeded"
        if phase == "Succeeded" and status.get("restoreName"):
            restore = rt.store.get(VMRESTORE, ns, status["restoreName"])
            if restore is None:
                return dict(info, error=f"restore {status['restoreName']} is not created yet for clone "
                            f"{clone['metadata']['name']}")
            for item in (restore.get("status") or {}).get("restores") or []:
                pvc = rt.store.get(PVC, ns, item["persistentVolumeClaim"])
                if pvc is None or (pvc.get("status") or {}).get("phase") != "Bound":
                    return info
            self._event(rt, clone, "PVCBound", f"all PVC for clone {clone['metadata']['name']} are bound")
            info["pvcBound"] = True
            rt.service.delete(VMRESTORE, ns, status["restoreName"])
            if source.get("kind") == "VirtualMachine" and status.get("snapshotName") and \
                    rt.store.get(VMSNAPSHOT, ns, status["snapshotName"]) is not None:
                rt.service.delete(VMSNAPSHOT, ns, status["snapshotName"])
        return info

    def _create_snapshot(self, rt: Runtime, clone: dict, vm: dict) -> dict:
        volumes = (((vm.get("spec") or {}).get("template") or {}).get("spec") or {}).get("volumes") or []
        statuses = {s.get("name"): s for s in (vm.get("status") or {}).get("volumeSnapshotStatuses") or []}
        problems = []
        for volume in volumes:
            if volume.get("persistentVolumeClaim") or volume.get("dataVolume"):
                found = statuses.get(volume.get("name"))
                if found is None:
                    problems.append(f"Virtual Machine volume {volume['name']} snapshot support unknown")
                elif not found.get("enabled"):
                    problems.append(f"Virtual Machine volume {volume['name']} does not support snapshots")
        if problems:
            return {"pending": ("VMVolumeSnapshotsInvalid", "\n".join(problems))}
        ns, name = clone["metadata"]["namespace"], f"tmp-snapshot-{clone['metadata']['uid']}"
        if rt.store.get(VMSNAPSHOT, ns, name) is None:
            rt.service.create(VMSNAPSHOT, {
                "apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot",
                "metadata": {"name": name, "namespace": ns, "ownerReferences": [_owner(clone)]},
                "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": vm["metadata"]["name"]}}})
            self._event(rt, clone, "SnapshotCreated", f"created snapshot {name} for clone {clone['metadata']['name']}")
        return {"snapshotName": name}

    def _content_problem(self, rt: Runtime, snapshot: dict) -> str:
        ns = snapshot["metadata"]["namespace"]
        content_name = (snapshot.get("status") or {}).get("virtualMachineSnapshotContentName") or ""
        content = rt.store.get(VMSNAPSHOTCONTENT, ns, content_name)
        if content is None:
            return f"snapshot content {content_name} in namespace {ns} does not exist"
        vm = ((content.get("spec") or {}).get("source") or {}).get("virtualMachine") or {}
        backed = {b.get("volumeName") for b in (content.get("spec") or {}).get("volumeBackups") or []}
        volumes = ((((vm.get("spec") or {}).get("template") or {}).get("spec")) or {}).get("volumes") or []
        return "\n".join(f"volume {v['name']} is not backed up in snapshot {snapshot['metadata']['name']}"
                         for v in volumes if (v.get("persistentVolumeClaim") or v.get("dataVolume"))
                         and v.get("name") not in backed)

    def _create_restore(self, rt: Runtime, clone: dict, snapshot: dict) -> dict:
        ns = clone["metadata"]["namespace"]
        content_name = (snapshot.get("status") or {}).get("virtualMachineSnapshotContentName") or ""
        content = rt.store.get(VMSNAPSHOTCONTENT, ns, content_name) or {}
        vm = ((content.get("spec") or {}).get("source") or {}).get("virtualMachine") or {}
        name = f"tmp-restore-{clone['metadata']['uid']}"
        target = copy.deepcopy(clone["spec"].get("target") or {})
        spec = {"target": target, "virtualMachineSnapshotName": snapshot["metadata"]["name"],
                "patches": clone_patches(copy.deepcopy(vm), clone["spec"])}
        policy = clone["spec"].get("volumeNamePolicy")
        if policy:
            spec["volumeRestorePolicy"] = policy if policy in ("RandomizeNames", "PrefixTargetName") else "RandomizeNames"
        if rt.store.get(VMRESTORE, ns, name) is None:
            from ..api import errors
            try:
                rt.service.create(VMRESTORE, {"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineRestore",
                                              "metadata": {"name": name, "namespace": ns,
                                                           "ownerReferences": [_owner(clone)]}, "spec": spec})
            except errors.ApiError as exc:
                message = f"failed creating restore {name} for clone {clone['metadata']['name']}: {exc}"
                rt.record_event(clone, "RestoreCreationFailed", message, event_type="Warning", component=COMPONENT)
                return {"error": message}
            self._event(rt, clone, "RestoreCreated", f"created restore {name} for clone {clone['metadata']['name']}")
        return {"restoreName": name}

    # -- status (updateStatus) -------------------------------------------------------------------
    def _update_status(self, rt: Runtime, clone: dict, info: dict) -> bool:
        status = copy.deepcopy(clone.get("status") or {})
        status.setdefault("creationTime", clone["metadata"].get("creationTimestamp") or now_rfc3339())
        if info.get("pending"):
            event, reason = info["pending"]
            self._event(rt, clone, event, reason)
            self._conditions(status, ("False", "Pending"), ("False", reason))
        elif info.get("failing"):
            event, reason = info["failing"]
            self._event(rt, clone, event, reason)
            status["phase"] = "Failed"
            self._conditions(status, ("False", "Failed"), ("False", reason))
        else:
            self._conditions(status, ("True", "Still processing"), ("False", "Still processing"))
        phase = status.get("phase") or ""
        if phase == "" and not info.get("pending"):
            phase = "SnapshotInProgress"
        # each phase records its object's name, then moves on when it is ready (as assignPhase does, in order)
        for current, name_key, field, done_key, following in (
                ("SnapshotInProgress", "snapshotName", "snapshotName", "snapshotReady", "RestoreInProgress"),
                ("RestoreInProgress", "restoreName", "restoreName", "restoreReady", "CreatingTargetVM"),
                ("CreatingTargetVM", "targetVMName", "targetName", "targetVMCreated", "Succeeded")):
            if phase == current:
                if info.get(name_key):
                    status[field] = info[name_key]
                if info.get(done_key):
                    phase = following
        if phase:
            status["phase"] = phase
        if phase == "Succeeded":
            self._conditions(status, ("False", "Ready"), ("True", "Ready"))
        if info.get("pvcBound"):
            status.pop("snapshotName", None)
            status.pop("restoreName", None)
        if status == (clone.get("status") or {}):
            return bool(info.get("error")) and phase not in ("Succeeded", "Failed")
        ns, name = clone["metadata"]["namespace"], clone["metadata"]["name"]
        rt.service.mutate(VMCLONE, ns, name, lambda o: o.__setitem__("status", status), subresource="status")
        return phase not in ("Succeeded", "Failed") or bool(status.get("restoreName"))

    def _conditions(self, status: dict, progressing: tuple[str, str], ready: tuple[str, str]) -> None:
        conds = [dict(c) for c in status.get("conditions") or []]
        for ctype, (value, reason) in (("Progressing", progressing), ("Ready", ready)):
            new = {"type": ctype, "status": value, "reason": reason, "lastProbeTime": None,
                   "lastTransitionTime": now_rfc3339()}
            index = next((i for i, c in enumerate(conds) if c.get("type") == ctype), None)
            if index is None:
                conds.append(new)
            elif conds[index].get("status") != value or conds[index].get("reason") != reason:
                conds[index] = new
        status["conditions"] = conds

    def _event(self, rt: Runtime, clone: dict, reason: str, message: str) -> None:
        """logAndRecord; the recorder's aggregation is approximated by recording a message once."""
        seen = self.__dict__.setdefault("_seen", set())
        key = (clone["metadata"]["uid"], reason, message)
        if key in seen:
            return
        seen.add(key)
        rt.record_event(clone, reason, message, component=COMPONENT)
