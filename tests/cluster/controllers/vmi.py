"""KubeVirt's VMI controller and virt-handler, simulated (pkg/virt-controller/watch/vmi, pkg/virt-handler).

Lifecycle, one transition per step: "" -> Pending (virt-launcher pod created) -> Scheduling (the pod
is bound to a node by ``nodes.schedule``; PodScheduled=False/Unschedulable with the scheduler's
message when nothing fits, retried every 10 steps) -> the pod starts once its PVCs are Bound and
DataVolumes Succeeded (a WaitForFirstConsumer claim binds because the bound pod references it) ->
Scheduled (nodeName, ``kubevirt.io/nodeName`` label) -> Running (interfaces, volumeStatus,
LiveMigratable ...) -> AgentConnected + guestOSInfo one step later for recognised guests.
A missing PVC leaves the VMI Pending with Synchronized=False/FailedPvcNotFound. Deleting a VMI
shuts the guest down (Succeeded), deletes its pods, then drops the finalizer. A vanished launcher
pod fails a running VMI; the annotation ``sim.virt.kubevirt.io/guest-shutdown: "true"`` stands in
for a shutdown inside the guest (Succeeded). Hot-plugged volumes go Bound -> AttachedToNode (an
``hp-volume-`` attachment pod) -> MountedToPod -> Ready, and Detaching on removal.
"""
from __future__ import annotations

from typing import Iterator, Optional

from ..api import errors
from ..api.objects import now_rfc3339
from ..api.store import Event
from . import launcher, multus_ipam
from .guestos import guest_os_info
from .hotplug import delete_pod, hotplug_step
from .keys import DV, NAD, NODE, POD, PVC, VM, VMI
from .nodes import allocate_pod_ip, schedule
from .pacing import PacedController
from .runtime import ObjKey, Runtime
from .virtcommon import (DOMAIN_ANNOTATION, GUEST_SHUTDOWN_ANNOTATION, MIGRATION_JOB_LABEL, NODE_NAME_LABEL,
                         VM_CONTROLLER_FINALIZER, VMI_FINALIZER, controller_ref, flavor, format_bytes, get_condition,
                         is_hotpluggable, phase_transition, remove_condition, vmi_is_final, vmi_phase,
                         volume_claim_name)

UNSCHEDULABLE_RETRY_STEPS = 10
WAIT_STEPS = 5


def launcher_pods(store, vmi: dict) -> list[dict]:
    return [obj for gr, obj in store.dependents(vmi["metadata"]["uid"])
            if gr == POD and (obj["metadata"].get("labels") or {}).get("kubevirt.io") == "virt-launcher"]


def active_pod(store, vmi: dict) -> Optional[dict]:
    """The launcher pod running (or about to run) the guest: on status.nodeName once scheduled,
    otherwise the one that is not a migration target."""
    node = (vmi.get("status") or {}).get("nodeName")
    for pod in launcher_pods(store, vmi):
        if pod["metadata"].get("deletionTimestamp") or pod["status"].get("phase") in ("Succeeded", "Failed"):
            continue
        labels = pod["metadata"].get("labels") or {}
        if node and pod["spec"].get("nodeName") == node:
            return pod
        if not node and MIGRATION_JOB_LABEL not in labels:
            return pod
    return None


def hint_strings(store, vmi: dict) -> list[str]:
    """Names that reveal the guest OS: DataVolume sources and claim names."""
    hints = []
    ns = vmi["metadata"]["namespace"]
    for volume in (vmi.get("spec") or {}).get("volumes") or ():
        claim = volume_claim_name(volume)
        if not claim:
            continue
        hints.append(claim)
        dv = store.get(DV, ns, claim)
        source = ((dv or {}).get("spec") or {}).get("source") or {}
        for kind in ("http", "registry", "s3", "gcs", "imageio", "vddk"):
            if source.get(kind):
                hints.append(str(source[kind].get("url", "")))
        for kind in ("pvc", "snapshot"):
            if source.get(kind):
                hints.append(str(source[kind].get("name", "")))
        ref = ((dv or {}).get("spec") or {}).get("sourceRef") or {}
        hints.append(ref.get("name", ""))
    return hints


def detect_guest(store, vmi: dict) -> Optional[dict]:
    return guest_os_info(vmi, hint_strings(store, vmi))


def pod_lookup(store, namespace: str):
    return lambda claim: store.get(PVC, namespace, claim)


class VirtualMachineInstanceController(PacedController):
    name = "vmi"
    watches = (VMI,)

    def setup(self, rt: Runtime) -> None:
        self.rt = rt

    def keys_for(self, event: Event) -> Iterator[ObjKey]:
        meta = event.obj["metadata"]
        ns = meta.get("namespace") or ""
        if event.gr == VMI:
            if event.type == "DELETED":
                self._due.pop((VMI, ns, meta["name"]), None)
            else:
                yield (VMI, ns, meta["name"])
        elif event.gr == POD:
            if (meta.get("labels") or {}).get("kubevirt.io") == "virt-launcher":
                name = (meta.get("annotations") or {}).get(DOMAIN_ANNOTATION)
                if name:
                    yield (VMI, ns, name)
        elif event.gr in (PVC, DV) and hasattr(self, "rt"):
            for vmi in self.rt.store.list(VMI, ns)[0]:
                if vmi_phase(vmi) in ("Pending", "Scheduling") and any(
                        volume_claim_name(v) == meta["name"] for v in vmi.get("spec", {}).get("volumes") or ()):
                    yield (VMI, ns, vmi["metadata"]["name"])

    # -- reconcile ------------------------------------------------------------------------------
    def reconcile(self, rt: Runtime, gr, namespace: str, name: str) -> None:
        with rt.store.lock:
            self._reconcile(rt, namespace, name)

    def _reconcile(self, rt: Runtime, namespace: str, name: str) -> None:
        key = (VMI, namespace, name)
        vmi = rt.store.get(VMI, namespace, name)
        if vmi is None:
            self._due.pop(key, None)
            return
        if not self._due_now(rt, key):
            return
        phase = vmi_phase(vmi)
        if vmi_is_final(vmi):
            self._finalize(rt, vmi, key)
        elif vmi["metadata"].get("deletionTimestamp"):
            self._shutdown(rt, vmi, key, deleted=True)
        elif phase == "Running" and (vmi["metadata"].get("annotations") or {}).get(GUEST_SHUTDOWN_ANNOTATION) == "true":
            self._shutdown(rt, vmi, key, deleted=False)
        elif phase in ("", "Pending"):
            self._pending(rt, vmi, key)
        elif phase == "Scheduling":
            self._scheduling(rt, vmi, key)
        elif phase == "Scheduled":
            self._scheduled(rt, vmi, key)
        elif phase == "Running":
            self._running(rt, vmi, key)

    def _write(self, rt: Runtime, vmi: dict, fn) -> Optional[dict]:
        return rt.service.mutate(VMI, vmi["metadata"]["namespace"], vmi["metadata"]["name"], fn)

    def _fail(self, rt: Runtime, vmi: dict, key: tuple) -> None:
        def fail(obj: dict) -> None:
            status = obj.setdefault("status", {})
            phase_transition(status, "Failed")
            status["conditions"] = _set(status.get("conditions") or [], _ready("False", "PodTerminating",
                                                                             "virt-launcher pod is terminating"))
        self._write(rt, vmi, fail)
        rt.record_event(vmi, "Stopped", "The VirtualMachineInstance crashed.", event_type="Warning",
                        component="virt-handler")
        self._step(rt, key)

    # -- phases ---------------------------------------------------------------------------------
    def _missing_claims(self, rt: Runtime, vmi: dict) -> list[str]:
        ns = vmi["metadata"]["namespace"]
        claims = [volume_claim_name(v) for v in vmi.get("spec", {}).get("volumes") or () if not is_hotpluggable(v)]
        return [c for c in claims if c and rt.store.get(PVC, ns, c) is None and rt.store.get(DV, ns, c) is None]

    def _missing_nad(self, rt: Runtime, vmi: dict) -> str:
        """NetworkToResource: the first Multus network whose NetworkAttachmentDefinition is missing."""
        ns = vmi["metadata"]["namespace"]
        for _, ref, _ in launcher.multus_networks(vmi):
            nad_ns, _, nad_name = ref.rpartition("/")
            if rt.store.get(NAD, nad_ns or ns, nad_name) is None:
                return f"{nad_ns or ns}/{nad_name}"
        return ""

    def _pending(self, rt: Runtime, vmi: dict, key: tuple) -> None:
        missing = self._missing_claims(rt, vmi)
        nad = "" if missing else self._missing_nad(rt, vmi)
        if nad:
            message = f"failed to render launch manifest: failed to locate network attachment definition {nad}"

            def nad_missing(obj: dict) -> None:
                status = obj.setdefault("status", {})
                phase_transition(status, "Pending")
                status["conditions"] = _set(_set(status.get("conditions") or [], _ready(
                    "False", "PodNotExists", "virt-launcher pod has not yet been scheduled")), {
                    "type": "Synchronized", "status": "False", "reason": "FailedCreate", "message": message,
                    "lastProbeTime": None, "lastTransitionTime": now_rfc3339()})
            if self._write(rt, vmi, nad_missing) is not vmi:
                rt.record_event(vmi, "FailedCreate", f"Error creating pod: {message}", event_type="Warning",
                                component="virtualmachine-controller")
            self._step(rt, key, WAIT_STEPS)
            return
        if missing:
            message = f"failed to render launch manifest: the pvc {missing[0]} doesn't exist"

            def pvc_missing(obj: dict) -> None:
                status = obj.setdefault("status", {})
                phase_transition(status, "Pending")
                conditions = _set(status.get("conditions") or [], _ready("False", "PodNotExists",
                                                                       "virt-launcher pod has not yet been scheduled"))
                conditions = _set(conditions, {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                               "message": message, "lastProbeTime": None, "lastTransitionTime": None})
                status["conditions"] = _set(conditions, {"type": "Synchronized", "status": "False",
                                                         "reason": "FailedPvcNotFound", "message": message,
                                                         "lastProbeTime": None, "lastTransitionTime": now_rfc3339()})
            if self._write(rt, vmi, pvc_missing) is not vmi:
                rt.record_event(vmi, "FailedPvcNotFound", message, event_type="Warning",
                                component="virtualmachine-controller")
            self._step(rt, key, WAIT_STEPS)
            return
        pod = active_pod(rt.store, vmi)
        if pod is None:
            pod = self._create_pod(rt, vmi)
            if pod is None:
                return

            def pending(obj: dict) -> None:
                status = obj.setdefault("status", {})
                phase_transition(status, "Pending")
                conditions = remove_condition(remove_condition(status.get("conditions") or [], "Synchronized"),
                                              "PodScheduled")
                status["conditions"] = _set(conditions, _ready("False", "PodNotExists",
                                                               "virt-launcher pod has not yet been scheduled"))
                status.setdefault("guestOSInfo", {})
            self._write(rt, vmi, pending)
            self._step(rt, key)
            return
        scheduled = self._bind(rt, vmi, pod)

        def scheduling(obj: dict) -> None:
            status = obj.setdefault("status", {})
            phase_transition(status, "Scheduling")
            status["conditions"] = _set(status.get("conditions") or [], _ready(
                "False", "GuestNotRunning", "Guest VM is not reported as running"))
            self._mirror_pod_scheduled(status, rt.store.get(POD, pod["metadata"]["namespace"], pod["metadata"]["name"]))
        self._write(rt, vmi, scheduling)
        self._step(rt, key, 1 if scheduled else UNSCHEDULABLE_RETRY_STEPS)

    def _scheduling(self, rt: Runtime, vmi: dict, key: tuple) -> None:
        pod = active_pod(rt.store, vmi)
        if pod is None:
            self._fail(rt, vmi, key)
            return
        if not pod["spec"].get("nodeName"):
            scheduled = self._bind(rt, vmi, pod)
            pod = rt.store.get(POD, pod["metadata"]["namespace"], pod["metadata"]["name"]) or pod

            def mirror(obj: dict) -> None:
                self._mirror_pod_scheduled(obj.setdefault("status", {}), pod)
            self._write(rt, vmi, mirror)
            self._step(rt, key, 1 if scheduled else UNSCHEDULABLE_RETRY_STEPS)
            return
        if pod["status"].get("phase") == "Pending":
            if not self._volumes_ready(rt, vmi):
                self._step(rt, key, WAIT_STEPS)
                return
            self._start_pod(rt, pod)
            self._step(rt, key)
            return
        node = pod["spec"]["nodeName"]
        ns = vmi["metadata"]["namespace"]

        def scheduled(obj: dict) -> None:
            status = obj.setdefault("status", {})
            phase_transition(status, "Scheduled")
            status["conditions"] = remove_condition(status.get("conditions") or [], "PodScheduled")
            obj["metadata"].setdefault("labels", {})[NODE_NAME_LABEL] = node
            status.update(nodeName=node, activePods={pod["metadata"]["uid"]: node}, qosClass="Burstable",
                          migrationTransport="Unix",
                          volumeStatus=launcher.volume_status(obj, pod_lookup(rt.store, ns), running=False))
        self._write(rt, vmi, scheduled)
        self._step(rt, key)

    def _scheduled(self, rt: Runtime, vmi: dict, key: tuple) -> None:
        pod = active_pod(rt.store, vmi)
        if pod is None:
            self._fail(rt, vmi, key)
            return
        ns = vmi["metadata"]["namespace"]

        def running(obj: dict) -> None:
            status = launcher.running_status(obj, pod, pod["spec"]["nodeName"], pod_lookup(rt.store, ns),
                                             flavor=flavor(rt.options), guest_os=None)
            phase_transition(obj["status"], "Running")
            status["phaseTransitionTimestamps"] = obj["status"]["phaseTransitionTimestamps"]
            if obj["spec"].get("startStrategy") == "Paused":
                status["conditions"] = _set(status["conditions"], _paused_condition())
            obj["status"] = status
        self._write(rt, vmi, running)
        rt.record_event(vmi, "Started", "VirtualMachineInstance started.", component="virt-handler")
        self._step(rt, key)

    def _running(self, rt: Runtime, vmi: dict, key: tuple) -> None:
        pod = active_pod(rt.store, vmi)
        if pod is None:
            self._fail(rt, vmi, key)
            return
        paused = get_condition(vmi, "Paused") is not None
        gate = get_condition(pod, launcher.UNPAUSED_GATE)
        if gate is not None and (gate.get("status") == "False") != paused:
            self._sync_pod_pause(rt, pod, paused)
            self._step(rt, key)
            return
        # _running_update replaces status keys, never edits nested values: a shallow copy will do
        work = dict(vmi, metadata=dict(vmi["metadata"]), status=dict(vmi.get("status") or {}))
        self._running_update(rt, work, pod)
        if work["status"] != vmi.get("status"):  # most reconciles of a running guest change nothing
            rt.service.update(VMI, work, check_rv=False)
            self._step(rt, key)

    def _running_update(self, rt: Runtime, vmi: dict, pod: dict) -> None:
        """One step of what virt-handler keeps reporting for a running guest."""
        status = vmi["status"]
        conditions = status.get("conditions") or []
        ready_pod = get_condition(pod, "Ready") or {}
        conditions = _set(conditions, {"type": "Ready", "status": ready_pod.get("status", "False"),
                                       "reason": ready_pod.get("reason", ""), "message": ready_pod.get("message", ""),
                                       "lastProbeTime": None, "lastTransitionTime": now_rfc3339()})
        agent = get_condition(vmi, "AgentConnected") is not None
        paused = get_condition(vmi, "Paused") is not None  # a paused guest's agent does not answer
        guest = detect_guest(rt.store, vmi) if not agent and not paused else None
        if guest is not None:
            conditions = _set(conditions, {"type": "AgentConnected", "status": "True", "lastProbeTime": None,
                                           "lastTransitionTime": now_rfc3339()})
            status["guestOSInfo"] = guest
            agent = True
        hotplug_step(rt, vmi, pod)
        volumes = status.get("volumeStatus") or []
        conditions = _set(conditions, launcher.live_migratable(vmi, volumes))
        status["conditions"] = conditions
        status["interfaces"] = launcher.interfaces(vmi, pod["status"].get("podIP", ""), agent=agent, pod=pod)
        spec = vmi.get("spec") or {}
        status["currentCPUTopology"] = launcher.cpu_topology(spec)
        memory = format_bytes(launcher.guest_memory(spec))
        if status.get("memory"):
            status["memory"] = dict(status["memory"], guestCurrent=memory, guestRequested=memory)
        if status.get("evacuationNodeName"):
            conditions = _set(status["conditions"], {
                "type": "EvictionRequested", "status": "True", "reason": "EvictionRequested",
                "message": "VMI is marked for eviction", "lastProbeTime": now_rfc3339(),
                "lastTransitionTime": now_rfc3339()})
        else:
            conditions = remove_condition(status["conditions"], "EvictionRequested")
        status["conditions"] = conditions

    # -- deletion and shutdown ------------------------------------------------------------------
    def _shutdown(self, rt: Runtime, vmi: dict, key: tuple, deleted: bool) -> None:
        running = vmi_phase(vmi) in ("Running", "Scheduled")
        for pod in launcher_pods(rt.store, vmi):
            if pod["status"].get("phase") not in ("Succeeded", "Failed"):
                patch_pod(rt, pod, status=_complete_pod)

        def stop(obj: dict) -> None:
            status = obj.setdefault("status", {})
            phase_transition(status, "Succeeded" if running else "Failed")
            conditions = [c for c in status.get("conditions") or []
                          if c.get("type") not in ("AgentConnected", "PodScheduled", "Synchronized")]
            status["conditions"] = _set(conditions, _ready("False", "PodTerminating",
                                                           "virt-launcher pod is terminating"))
        self._write(rt, vmi, stop)
        if running:
            rt.record_event(vmi, "ShuttingDown" if deleted else "Stopped",
                            "Signaled Graceful Shutdown" if deleted else "The VirtualMachineInstance was shut down.",
                            component="virt-handler")
        self._step(rt, key)

    def _finalize(self, rt: Runtime, vmi: dict, key: tuple) -> None:
        """Final VMI: attachment pods go; when the VMI is deleted its launcher pods go too, then
        the finalizers."""
        deleting = bool(vmi["metadata"].get("deletionTimestamp"))
        pods = launcher_pods(rt.store, vmi)
        for pod in pods:
            for gr, dep in rt.store.dependents(pod["metadata"]["uid"]):
                if gr == POD:
                    delete_pod(rt, dep)
            if deleting:
                delete_pod(rt, pod)
                rt.record_event(vmi, "SuccessfulDelete", f"Deleted virtual machine pod {pod['metadata']['name']}",
                                component="virtualmachine-controller")
        if deleting and pods:
            self._step(rt, key)
            return
        finalizers = list(vmi["metadata"].get("finalizers") or [])
        keep = [f for f in finalizers if f not in (VMI_FINALIZER, "foregroundDeleteVirtualMachine")]
        owner = controller_ref(vmi)
        if VM_CONTROLLER_FINALIZER in keep and (owner is None or owner.get("kind") != "VirtualMachine" or
                                                rt.store.get(VM, vmi["metadata"]["namespace"], owner["name"]) is None):
            keep.remove(VM_CONTROLLER_FINALIZER)
        if keep != finalizers and not pods:
            def drop(obj: dict) -> None:
                if keep:
                    obj["metadata"]["finalizers"] = keep
                else:
                    obj["metadata"].pop("finalizers", None)
            self._write(rt, vmi, drop)

    # -- pods -----------------------------------------------------------------------------------
    def _create_pod(self, rt: Runtime, vmi: dict) -> Optional[dict]:
        name = f"virt-launcher-{vmi['metadata']['name']}-{rt.service.random_suffix()}"
        pod = launcher.launcher_pod(vmi, name, flavor(rt.options))
        try:
            created = rt.service.create(POD, pod, keep_status=True)
        except errors.ApiError as exc:
            rt.record_event(vmi, "FailedCreate", f"Error creating pod: {exc.message}", event_type="Warning",
                            component="virtualmachine-controller")
            return None
        rt.record_event(vmi, "SuccessfulCreate", f"Created virtual machine pod {name}",
                        component="virtualmachine-controller")
        return created

    def _bind(self, rt: Runtime, vmi: dict, pod: dict, anti_affinity: tuple = ()) -> bool:
        return bind_pod(rt, pod, anti_affinity)

    @staticmethod
    def _mirror_pod_scheduled(status: dict, pod: Optional[dict]) -> None:
        cond = get_condition(pod, "PodScheduled") if pod else None
        conditions = status.get("conditions") or []
        if cond is not None and cond.get("status") == "False":
            status["conditions"] = _set(conditions, dict(cond))
        else:
            status["conditions"] = remove_condition(conditions, "PodScheduled")

    def _volumes_ready(self, rt: Runtime, vmi: dict) -> bool:
        ns = vmi["metadata"]["namespace"]
        for volume in vmi.get("spec", {}).get("volumes") or ():
            claim = volume_claim_name(volume)
            if not claim or is_hotpluggable(volume):
                continue
            pvc = rt.store.get(PVC, ns, claim)
            if pvc is None or (pvc.get("status") or {}).get("phase") != "Bound":
                return False
            dv = rt.store.get(DV, ns, claim)
            if dv is not None and (dv.get("status") or {}).get("phase") not in ("Succeeded", "PendingPopulation"):
                return False
        return True

    def _start_pod(self, rt: Runtime, pod: dict) -> None:
        start_pod(rt, pod, network_status=True)

    @staticmethod
    def _sync_pod_pause(rt: Runtime, pod: dict, paused: bool) -> None:
        node = rt.store.get(NODE, None, pod["spec"]["nodeName"]) or {}
        host_ip = next((a["address"] for a in node.get("status", {}).get("addresses") or ()
                        if a.get("type") == "InternalIP"), "")
        patch_pod(rt, pod, status=lambda o: o.update(
            status=launcher.pod_running_status(o, host_ip, o["status"].get("podIP", ""), paused=paused)))

# -- shared with the migration controller ----------------------------------------------------------
def bind_pod(rt: Runtime, pod: dict, anti_affinity: tuple = ()) -> bool:
    """Run the scheduler for ``pod``: bind it (PodScheduled, host IP) or record why it cannot be."""
    node_name, message = schedule(rt.store, pod, anti_affinity=anti_affinity)
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    if node_name is None:
        old = get_condition(pod, "PodScheduled")
        if old is None or old.get("message") != message:
            patch_pod(rt, pod, status=lambda o: o.update(status=launcher.pod_unschedulable_status(message)))
            rt.record_event(pod, "FailedScheduling", message, event_type="Warning", component="default-scheduler")
        return False
    node = rt.store.get(NODE, None, node_name) or {}
    host_ip = next((a["address"] for a in node.get("status", {}).get("addresses") or ()
                    if a.get("type") == "InternalIP"), "")

    patch_pod(rt, pod, spec=lambda o: o["spec"].update(nodeName=node_name),
              status=lambda o: o.update(status=launcher.pod_scheduled_status(host_ip)))
    rt.record_event(pod, "Scheduled", f"Successfully assigned {ns}/{name} to {node_name}",
                    component="default-scheduler")
    return True


def start_pod(rt: Runtime, pod: dict, network_status: bool = True) -> dict:
    """The kubelet starts the pod's containers: Running, Ready, a pod IP from the node's CIDR."""
    node = rt.store.get(NODE, None, pod["spec"]["nodeName"]) or {}
    host_ip = next((a["address"] for a in node.get("status", {}).get("addresses") or ()
                    if a.get("type") == "InternalIP"), "")
    with rt.store.lock:
        ip = allocate_pod_ip(rt.store, pod["spec"]["nodeName"])
        vmi = rt.store.get(VMI, pod["metadata"]["namespace"],
                           (pod["metadata"].get("annotations") or {}).get(DOMAIN_ANNOTATION, ""))

        def annotate(obj: dict) -> None:
            if network_status and vmi is not None:
                multus_ips = {launcher.nad_ref(vmi, net): multus_ipam.allocate(rt.store, rt.options, vmi, net)
                              for _, net, _ in launcher.multus_networks(vmi)}
                obj["metadata"].setdefault("annotations", {})["k8s.v1.cni.cncf.io/network-status"] = \
                    launcher.network_status_annotation(vmi, ip, multus_ips)
        return patch_pod(rt, pod, spec=annotate,
                         status=lambda o: o.update(status=launcher.pod_running_status(o, host_ip, ip))) or pod


def patch_pod(rt: Runtime, pod: dict, *, spec=None, status=None) -> Optional[dict]:
    """Pods have a status subresource: metadata/spec and status are separate writes."""
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    result = None
    if spec is not None:
        result = rt.service.mutate(POD, ns, name, spec)
    if status is not None:
        result = rt.service.mutate(POD, ns, name, status, subresource="status")
    return result


def _complete_pod(pod: dict) -> None:
    pod["status"] = launcher.pod_completed_status(pod.get("status") or {})


def _ready(status: str, reason: str, message: str) -> dict:
    return {"type": "Ready", "status": status, "reason": reason, "message": message, "lastProbeTime": None,
            "lastTransitionTime": now_rfc3339()}


def _paused_condition() -> dict:
    return {"type": "Paused", "status": "True", "reason": "PausedByUser", "message": "VMI was paused by user",
            "lastProbeTime": now_rfc3339(), "lastTransitionTime": now_rfc3339()}


def _set(conditions: list[dict], new: dict) -> list[dict]:
    """Replace a condition, keeping the old one untouched when status/reason/message are equal."""
    new = {k: v for k, v in new.items() if v != "" or k in ("status", "type")}
    out, replaced = [], False
    for cond in conditions:
        if cond.get("type") == new["type"]:
            replaced = True
            same = all(cond.get(k, "") == new.get(k, "") for k in ("status", "reason", "message"))
            out.append(cond if same else new)
        else:
            out.append(cond)
    if not replaced:
        out.append(new)
    return out
