"""Live migration (pkg/virt-controller/watch/migration, the evacuation controller and the
virt-handler source/target sides), simulated, one transition per step.

VMIM phases: "" -> Pending -> Scheduling (target virt-launcher pod created, anti-affine to the
source node, ``addedNodeSelector`` honoured; throttled by the KubeVirt CR's
parallelMigrationsPerCluster and parallelOutboundMigrationsPerNode, extra ones stay Pending) ->
Scheduled (target pod running) -> PreparingTarget (handed off: VMI ``migrationState`` and the
``kubevirt.io/migrationTargetNodeName`` label) -> TargetReady -> Running (``startTimestamp``, mode
PreCopy; the VM shows Migrating) -> Succeeded (VMI on the target node with the target pod's IP,
source pod Completed, ``evacuationNodeName`` cleared). A target pod that stays unschedulable is
deleted after ``kubevirt.io/migrationUnschedulablePodTimeoutSeconds`` (default 300; one second is
one step) and the migration fails. Deleting an unfinished VMIM aborts it: before the hand-off it
fails at once (``migrationAbortRequested`` condition); afterwards the VMI's migrationState gets
``abortRequested`` and then ``abortStatus: Succeeded``, ``failed``, "Live migration has been aborted".
A VMI marked for eviction (``status.evacuationNodeName``) or on a node tainted with the drain
taint gets a ``kubevirt-evacuation-`` migration.
"""
from __future__ import annotations

import math
import time
from typing import Iterator, Optional

from ..api import errors
from ..api.objects import now_rfc3339
from ..api.resources import AdmissionRequest
from ..api.store import Event
from . import launcher
from .keys import NODE, POD, VMI, VMIM
from .migration_policies import policy_configuration
from .pacing import PacedController
from .runtime import ObjKey, Runtime
from .virt import CONTROLLER_USER
from .virtcommon import (EVACUATION_ANNOTATION, MIGRATION_FINALIZER, MIGRATION_JOB_LABEL, MIGRATION_SELECTOR_LABEL,
                         MIGRATION_TARGET_NODE_LABEL, NODE_NAME_LABEL, UNSCHEDULABLE_TIMEOUT_ANNOTATION,
                         eviction_strategy, flavor, get_condition, has_condition, migration_config, parse_quantity,
                         phase_transition, vmi_is_final, vmi_phase)
from .vmi import active_pod, bind_pod, launcher_pods, patch_pod, start_pod

ACTIVE_PHASES = ("Scheduling", "Scheduled", "PreparingTarget", "TargetReady", "Running")
HANDED_OFF = ("PreparingTarget", "TargetReady", "Running")
MIN_TRANSFER_STEPS = 2  # memory transfer: guest memory / bandwidthPerMigration, one step a second
DEFAULT_UNSCHEDULABLE_TIMEOUT = 300
# KubeVirt's own functional-test annotation: virt-launcher fails the migration at once.
FORCE_FAILURE_ANNOTATION = "kubevirt.io/func-test-force-launcher-migration-failure"
# Simulator knob on a VMI: the guest dirties memory faster than it is copied, so the transfer makes
# no progress and virt-launcher aborts it after progressTimeout.
STUCK_ANNOTATION = "sim.virt.kubevirt.io/migration-stuck"


def transfer_steps(store, vmi: dict) -> float:
    """Seconds (steps) to copy the guest's memory at bandwidthPerMigration (at least 2)."""
    # The configuration handed to virt-handler (a matched MigrationPolicy's bandwidth wins), else the cluster's.
    handed = (((vmi.get("status") or {}).get("migrationState") or {}).get("migrationConfiguration") or {})
    limit = handed.get("bandwidthPerMigration", migration_config(store).get("bandwidthPerMigration"))
    bandwidth = parse_quantity(limit) or 64 * 2 ** 20
    return max(float(MIN_TRANSFER_STEPS), math.ceil(launcher.guest_memory(vmi.get("spec") or {}) / bandwidth))


def progress_timeout(store, vmi: dict) -> int:
    """progressTimeout of the migration's configuration (a MigrationPolicy's, else the KubeVirt CR's)."""
    state = (vmi.get("status") or {}).get("migrationState") or {}
    config = state.get("migrationConfiguration") or migration_config(store)
    return int(config.get("progressTimeout") or 150)


def migration_pods(store, vmi: Optional[dict], migration: dict) -> list[dict]:
    if vmi is None:
        return []
    uid = migration["metadata"]["uid"]
    return [p for p in launcher_pods(store, vmi) if (p["metadata"].get("labels") or {}).get(MIGRATION_JOB_LABEL) == uid]


def is_final(migration: dict) -> bool:
    return (migration.get("status") or {}).get("phase") in ("Succeeded", "Failed")


class MigrationController(PacedController):
    name = "migration"
    watches = (VMIM,)

    def __init__(self) -> None:
        super().__init__()
        self._started: dict[str, float] = {}  # target pod uid -> monotonic creation time

    def setup(self, rt: Runtime) -> None:
        self.rt = rt

    def keys_for(self, event: Event) -> Iterator[ObjKey]:
        meta = event.obj["metadata"]
        ns = meta.get("namespace") or ""
        if event.gr == VMIM:
            if event.type == "DELETED":
                self._due.pop((VMIM, ns, meta["name"]), None)
            else:
                yield (VMIM, ns, meta["name"])
            if event.type == "DELETED" or is_final(event.obj):
                for mig in self.rt.store.list(VMIM)[0]:  # a slot may have freed up
                    if (mig.get("status") or {}).get("phase") == "Pending":
                        yield (VMIM, mig["metadata"]["namespace"], mig["metadata"]["name"])
        elif event.gr == VMI and event.type != "DELETED":
            status = event.obj.get("status") or {}
            if status.get("evacuationNodeName") and status.get("evacuationNodeName") == status.get("nodeName"):
                yield (VMI, ns, meta["name"])
            for mig in self.rt.store.list(VMIM, ns)[0]:
                if (mig["metadata"].get("labels") or {}).get(MIGRATION_SELECTOR_LABEL) == meta["name"] and \
                        not is_final(mig):
                    yield (VMIM, ns, mig["metadata"]["name"])
        elif event.gr == NODE and event.type != "DELETED":
            taint = migration_config(self.rt.store).get("nodeDrainTaintKey")
            if any(t.get("key") == taint for t in event.obj.get("spec", {}).get("taints") or ()):
                yield (NODE, "", meta["name"])

    # -- reconcile ------------------------------------------------------------------------------
    def reconcile(self, rt: Runtime, gr, namespace: str, name: str) -> None:
        with rt.store.lock:
            self._reconcile(rt, gr, namespace, name)

    def _reconcile(self, rt: Runtime, gr, namespace: str, name: str) -> None:
        if gr == VMI:
            self._evacuate(rt, rt.store.get(VMI, namespace, name))
            return
        if gr == NODE:
            for vmi in rt.store.list(VMI)[0]:
                if (vmi.get("status") or {}).get("nodeName") == name:
                    self._evacuate(rt, vmi, drain_node=name)
            return
        key = (VMIM, namespace, name)
        migration = rt.store.get(VMIM, namespace, name)
        if migration is None or not self._due_now(rt, key):
            return
        status = migration.get("status") or {}
        phase = status.get("phase") or ""
        vmi = rt.store.get(VMI, namespace, (migration.get("spec") or {}).get("vmiName", ""))
        pods = migration_pods(rt.store, vmi, migration)
        target = next((p for p in pods if not p["metadata"].get("deletionTimestamp")), None)
        deleting = bool(migration["metadata"].get("deletionTimestamp"))
        if phase in ("Succeeded", "Failed"):
            self._finish(rt, migration, vmi)
        elif vmi is None:
            self._fail(rt, migration, "Migration failed because vmi does not exist.")
        elif vmi_is_final(vmi):
            self._fail(rt, migration, "Migration failed vmi shutdown during migration.")
        elif deleting and phase not in HANDED_OFF:
            self._cancel_before_handoff(rt, migration, target)
        elif phase in ACTIVE_PHASES and phase != "Scheduling" and target is None:
            self._fail(rt, migration, "Migration target pod was removed during active migration.")
        elif deleting:
            self._abort(rt, migration, vmi, target)
        elif phase == "":
            self._admit(rt, migration, vmi)
        elif phase == "Pending":
            self._pending(rt, migration, vmi)
        elif phase == "Scheduling":
            self._scheduling(rt, migration, vmi, target)
        elif phase == "Scheduled":
            self._handoff(rt, migration, vmi, target)
        elif phase == "PreparingTarget":
            self._target_ready(rt, migration, vmi, target)
        elif phase == "TargetReady":
            self._begin_transfer(rt, migration, vmi)
        elif phase == "Running":
            self._complete(rt, migration, vmi, target)
        after = rt.store.get(VMIM, namespace, name)
        new_phase = ((after or {}).get("status") or {}).get("phase", phase)
        if after is not None and new_phase != phase:
            if is_final(after):  # record the outcome and release the finalizer right away
                self._finish(rt, after, rt.store.get(VMI, namespace, (after.get("spec") or {}).get("vmiName", "")))
            elif self._due.get(key, 0.0) <= time.monotonic():  # keep a longer step (the memory transfer)
                self._step(rt, key)

    # -- status helpers -------------------------------------------------------------------------
    def _set_phase(self, rt: Runtime, migration: dict, phase: str, extra=None) -> None:
        def apply(obj: dict) -> None:
            status = obj.setdefault("status", {})
            phase_transition(status, phase)
            if extra:
                extra(status)
        rt.service.mutate(VMIM, migration["metadata"]["namespace"], migration["metadata"]["name"], apply,
                          subresource="status")

    def _fail(self, rt: Runtime, migration: dict, message: str, abort: bool = False) -> None:
        def conditions(status: dict) -> None:
            if abort and get_condition({"status": status}, "migrationAbortRequested") is None:
                status["conditions"] = list(status.get("conditions") or []) + [{
                    "type": "migrationAbortRequested", "status": "True", "lastProbeTime": now_rfc3339()}]
        self._set_phase(rt, migration, "Failed", conditions)
        rt.record_event(migration, "FailedMigration", message, event_type="Warning",
                        component="virtualmachine-controller")

    def _finish(self, rt: Runtime, migration: dict, vmi: Optional[dict]) -> None:
        state = ((vmi or {}).get("status") or {}).get("migrationState") or {}
        if state.get("migrationUid") == migration["metadata"]["uid"] and \
                (migration.get("status") or {}).get("migrationState") != state:
            def copy_state(obj: dict) -> None:
                obj["status"]["migrationState"] = dict(state)
            rt.service.mutate(VMIM, migration["metadata"]["namespace"], migration["metadata"]["name"], copy_state,
                              subresource="status")
        if MIGRATION_FINALIZER in (migration["metadata"].get("finalizers") or []):
            rt.service.remove_finalizer(VMIM, migration["metadata"]["namespace"], migration["metadata"]["name"],
                                        MIGRATION_FINALIZER)

    def _delete_pod(self, rt: Runtime, pod: Optional[dict]) -> None:
        if pod is None:
            return
        try:
            rt.service.delete(POD, pod["metadata"]["namespace"], pod["metadata"]["name"])
        except errors.ApiError:
            pass

    # -- phases ---------------------------------------------------------------------------------
    def _admit(self, rt: Runtime, migration: dict, vmi: dict) -> None:
        uid = migration["metadata"]["uid"]
        for other in rt.store.list(VMIM, migration["metadata"]["namespace"])[0]:
            if other["metadata"]["uid"] != uid and (other.get("spec") or {}).get("vmiName") == vmi["metadata"]["name"] \
                    and (other.get("status") or {}).get("phase") not in (None, "", "Succeeded", "Failed"):
                self._fail(rt, migration, "VMI is not eligible for migration because another migration job is in "
                           "progress.")
                return
        self._set_phase(rt, migration, "Pending")

    def _pending(self, rt: Runtime, migration: dict, vmi: dict) -> None:
        if vmi_phase(vmi) != "Running":
            return
        config = migration_config(rt.store)
        running = [m for m in rt.store.list(VMIM)[0] if (m.get("status") or {}).get("phase") in ACTIVE_PHASES]
        if len(running) >= int(config["parallelMigrationsPerCluster"]):
            return  # re-queued when a migration finishes
        source = (vmi.get("status") or {}).get("nodeName")
        outbound = 0
        for m in running:
            other = rt.store.get(VMI, m["metadata"]["namespace"], (m.get("spec") or {}).get("vmiName", ""))
            if other is not None and (other.get("status") or {}).get("nodeName") == source:
                outbound += 1
        if outbound >= int(config["parallelOutboundMigrationsPerNode"]):
            return
        name = f"virt-launcher-{vmi['metadata']['name']}-{rt.service.random_suffix()}"
        pod = launcher.launcher_pod(vmi, name, flavor(rt.options), migration_uid=migration["metadata"]["uid"])
        selector = (migration.get("spec") or {}).get("addedNodeSelector") or {}
        pod["spec"]["nodeSelector"] = {**pod["spec"]["nodeSelector"], **selector}
        pod = rt.service.create(POD, pod, keep_status=True)
        self._started[pod["metadata"]["uid"]] = time.monotonic()
        rt.record_event(migration, "SuccessfulCreate", f"Created migration target pod {name}",
                        component="virtualmachine-controller")
        bind_pod(rt, pod, anti_affinity=(source,))
        self._set_phase(rt, migration, "Scheduling")

    def _scheduling(self, rt: Runtime, migration: dict, vmi: dict, target: Optional[dict]) -> None:
        key = (VMIM, migration["metadata"]["namespace"], migration["metadata"]["name"])
        if target is None:
            self._fail(rt, migration, "Migration target pod was removed during active migration.")
            return
        if not target["spec"].get("nodeName"):
            source = (vmi.get("status") or {}).get("nodeName")
            if bind_pod(rt, target, anti_affinity=(source,)):
                self._step(rt, key)
                return
            vmi_ref = f"{vmi['metadata']['namespace']}/{vmi['metadata']['name']}"
            rt.record_event(migration, "migrationTargetPodUnschedulable",
                            f"Migration target pod for VMI [{vmi_ref}] is currently unschedulable.",
                            event_type="Warning", component="virtualmachine-controller")
            timeout = int((migration["metadata"].get("annotations") or {}).get(UNSCHEDULABLE_TIMEOUT_ANNOTATION,
                                                                              DEFAULT_UNSCHEDULABLE_TIMEOUT))
            started = self._started.setdefault(target["metadata"]["uid"], time.monotonic())
            if time.monotonic() - started >= timeout * rt.time_scale - 1e-6:
                self._delete_pod(rt, target)
                rt.record_event(migration, "SuccessfulDelete", f"unschedulable pod {target['metadata']['namespace']}/"
                                f"{target['metadata']['name']} timeout period exceeded",
                                component="virtualmachine-controller")
                self._fail(rt, migration, "Migration target pod was removed during active migration.")
                return
            self._step(rt, key, min(10, max(timeout, 1)))
            return
        if target["status"].get("phase") == "Pending":
            start_pod(rt, target, network_status=True)
            self._step(rt, key)
            return
        self._set_phase(rt, migration, "Scheduled")

    def _handoff(self, rt: Runtime, migration: dict, vmi: dict, target: dict) -> None:
        source_pod = active_pod(rt.store, vmi)
        config, policy_name = policy_configuration(rt.store, vmi, migration_config(rt.store))

        def handoff(obj: dict) -> None:
            status = obj["status"]
            status["migrationState"] = {
                "migrationUid": migration["metadata"]["uid"], "sourceNode": status.get("nodeName"),
                "targetNode": target["spec"]["nodeName"], "targetPod": target["metadata"]["name"],
                "sourcePod": (source_pod or {}).get("metadata", {}).get("name", ""),
                "migrationConfiguration": {k: config[k] for k in (
                    "allowAutoConverge", "allowPostCopy", "bandwidthPerMigration", "completionTimeoutPerGiB",
                    "nodeDrainTaintKey", "parallelMigrationsPerCluster", "parallelOutboundMigrationsPerNode",
                    "progressTimeout", "unsafeMigrationOverride")},
            }
            if policy_name:
                status["migrationState"]["migrationPolicyName"] = policy_name
            obj["metadata"].setdefault("labels", {})[MIGRATION_TARGET_NODE_LABEL] = target["spec"]["nodeName"]
        rt.service.mutate(VMI, vmi["metadata"]["namespace"], vmi["metadata"]["name"], handoff)
        rt.record_event(migration, "SuccessfulHandOver", "Migration target pod is ready for preparation by "
                        "virt-handler.", component="virtualmachine-controller")
        self._set_phase(rt, migration, "PreparingTarget")

    def _target_ready(self, rt: Runtime, migration: dict, vmi: dict, target: dict) -> None:
        node = rt.store.get(NODE, None, target["spec"]["nodeName"]) or {}
        address = next((a["address"] for a in node.get("status", {}).get("addresses") or ()
                        if a.get("type") == "InternalIP"), "")

        def prepared(obj: dict) -> None:
            obj["status"]["migrationState"].update(targetNodeAddress=address, targetNodeDomainDetected=False,
                                                   targetDirectMigrationNodePorts={"36789": 49152, "44393": 0})
        rt.service.mutate(VMI, vmi["metadata"]["namespace"], vmi["metadata"]["name"], prepared)
        self._set_phase(rt, migration, "TargetReady")

    def _begin_transfer(self, rt: Runtime, migration: dict, vmi: dict) -> None:
        def started(obj: dict) -> None:
            obj["status"]["migrationState"].update(startTimestamp=now_rfc3339(), mode="PreCopy")
        rt.service.mutate(VMI, vmi["metadata"]["namespace"], vmi["metadata"]["name"], started)
        self._set_phase(rt, migration, "Running")
        steps = transfer_steps(rt.store, vmi)
        if STUCK_ANNOTATION in (vmi["metadata"].get("annotations") or {}):
            steps = progress_timeout(rt.store, vmi) + 1  # virt-launcher aborts once no progress for longer
        self._step(rt, (VMIM, migration["metadata"]["namespace"], migration["metadata"]["name"]), steps)

    def _complete(self, rt: Runtime, migration: dict, vmi: dict, target: dict) -> None:
        state = (vmi.get("status") or {}).get("migrationState") or {}
        if state.get("abortRequested"):
            self._abort(rt, migration, vmi, target)
            return
        annotations = vmi["metadata"].get("annotations") or {}
        if FORCE_FAILURE_ANNOTATION in annotations:
            self._launcher_failed(rt, migration, vmi, target, "Failed migration to satisfy functional test condition", "")
            return
        if STUCK_ANNOTATION in annotations:
            self._launcher_failed(rt, migration, vmi, target, "Live migration stuck for %d seconds and has been aborted"
                                  % (progress_timeout(rt.store, vmi) + 1), "Succeeded")
            return
        source_name = state.get("sourcePod")
        node = target["spec"]["nodeName"]
        stamp = now_rfc3339()

        def done(obj: dict) -> None:
            status = obj["status"]
            status["migrationState"].update(completed=True, endTimestamp=stamp, targetNodeDomainDetected=True,
                                            targetNodeDomainReadyTimestamp=stamp)
            status["nodeName"] = node
            status["activePods"] = {target["metadata"]["uid"]: node}
            status.pop("evacuationNodeName", None)
            labels = obj["metadata"].setdefault("labels", {})
            labels[NODE_NAME_LABEL] = node
            labels.pop(MIGRATION_TARGET_NODE_LABEL, None)
            agent = has_condition(obj, "AgentConnected", "True")
            status["interfaces"] = launcher.interfaces(obj, target["status"].get("podIP", ""), agent=agent,
                                                       pod=target)
            status["conditions"] = [c for c in status.get("conditions") or () if c.get("type") != "EvictionRequested"]
        rt.service.mutate(VMI, vmi["metadata"]["namespace"], vmi["metadata"]["name"], done)
        source = rt.store.get(POD, vmi["metadata"]["namespace"], source_name) if source_name else None
        if source is not None:
            patch_pod(rt, source, status=lambda o: o.update(
                status=launcher.pod_completed_status(o.get("status") or {})))
        rt.record_event(vmi, "Migrated", f"The VirtualMachineInstance migrated to node {node}.",
                        component="virt-handler")
        rt.record_event(migration, "SuccessfulMigration", "Source node reported migration succeeded",
                        component="virtualmachine-controller")
        self._set_phase(rt, migration, "Succeeded")

    def _launcher_failed(self, rt: Runtime, migration: dict, vmi: dict, target: Optional[dict], reason: str,
                         abort_status: str) -> None:
        """virt-launcher's setMigrationResult(failed): the VMI stays on the source, the target pod goes."""
        stamp = now_rfc3339()

        def failed(obj: dict) -> None:
            state = obj["status"]["migrationState"]
            state.update(failed=True, completed=True, endTimestamp=stamp, failureReason=reason)
            if abort_status:
                state["abortStatus"] = abort_status
            obj["metadata"].get("labels", {}).pop(MIGRATION_TARGET_NODE_LABEL, None)
        rt.service.mutate(VMI, vmi["metadata"]["namespace"], vmi["metadata"]["name"], failed)
        self._delete_pod(rt, target)
        rt.record_event(vmi, "Migrated", f"VirtualMachineInstance migration uid {migration['metadata']['uid']} failed. "
                        f"reason:{reason}", event_type="Warning", component="virt-handler")
        self._fail(rt, migration, "source node reported migration failed")

    # -- cancellation ---------------------------------------------------------------------------
    def _cancel_before_handoff(self, rt: Runtime, migration: dict, target: Optional[dict]) -> None:
        if target is not None:
            self._delete_pod(rt, target)
            ref = f"{target['metadata']['namespace']}/{target['metadata']['name']}"
            rt.record_event(migration, "SuccessfulDelete", f"migration canceled and pod {ref} is deleted",
                            component="virtualmachine-controller")
        self._fail(rt, migration, "Migration failed due to being canceled", abort=True)

    def _abort(self, rt: Runtime, migration: dict, vmi: dict, target: Optional[dict]) -> None:
        """After the hand-off: ask virt-handler to abort, then report it aborted."""
        key = (VMIM, migration["metadata"]["namespace"], migration["metadata"]["name"])
        state = (vmi.get("status") or {}).get("migrationState") or {}
        if state.get("migrationUid") != migration["metadata"]["uid"]:
            self._fail(rt, migration, "VMI's migration state was cleared during the active migration.")
            return
        if not state.get("abortRequested"):
            rt.service.mutate(VMI, vmi["metadata"]["namespace"], vmi["metadata"]["name"],
                              lambda o: o["status"]["migrationState"].update(abortRequested=True))
            if not has_condition(migration, "migrationAbortRequested"):
                self._set_phase(rt, migration, (migration.get("status") or {}).get("phase", "Running"),
                                lambda st: st.update(conditions=list(st.get("conditions") or []) + [{
                                    "type": "migrationAbortRequested", "status": "True",
                                    "lastProbeTime": now_rfc3339()}]))
            rt.record_event(migration, "SuccessfulAbortMigration", "Migration is ready to be canceled by virt-handler.",
                            component="virtualmachine-controller")
            self._step(rt, key)
            return
        stamp = now_rfc3339()

        def aborted(obj: dict) -> None:
            obj["status"]["migrationState"].update(abortStatus="Succeeded", failed=True, completed=True,
                                                   endTimestamp=stamp, failureReason="Live migration has been aborted")
            obj["metadata"].get("labels", {}).pop(MIGRATION_TARGET_NODE_LABEL, None)
        rt.service.mutate(VMI, vmi["metadata"]["namespace"], vmi["metadata"]["name"], aborted)
        self._delete_pod(rt, target)
        rt.record_event(vmi, "Migrated", "VirtualMachineInstance is aborting migration.", event_type="Warning",
                        component="virt-handler")
        self._fail(rt, migration, "source node reported migration failed")

    # -- evacuation -----------------------------------------------------------------------------
    def _evacuate(self, rt: Runtime, vmi: Optional[dict], drain_node: str = "") -> None:
        if vmi is None or vmi_is_final(vmi) or vmi["metadata"].get("deletionTimestamp"):
            return
        status = vmi.get("status") or {}
        node = drain_node or status.get("evacuationNodeName")
        if not node or status.get("nodeName") != node or vmi_phase(vmi) != "Running":
            return
        strategy = eviction_strategy(rt.store, vmi)
        migratable = has_condition(vmi, "LiveMigratable", "True")
        if drain_node and not (strategy == "LiveMigrate" or (strategy == "LiveMigrateIfPossible" and migratable)):
            return
        if not migratable:
            return
        ns, name = vmi["metadata"]["namespace"], vmi["metadata"]["name"]
        for mig in rt.store.list(VMIM, ns)[0]:
            if (mig.get("spec") or {}).get("vmiName") == name and not is_final(mig):
                return
        migration = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceMigration",
                     "metadata": {"generateName": "kubevirt-evacuation-", "namespace": ns,
                                  "annotations": {EVACUATION_ANNOTATION: node}},
                     "spec": {"vmiName": name}}
        try:
            rt.registry.admit(AdmissionRequest("CREATE", VMIM, ns, None, CONTROLLER_USER, False), migration, None)
            created = rt.service.create(VMIM, migration)
        except errors.ApiError as exc:
            rt.record_event(vmi, "FailedCreate", f"Error creating a Migration: {exc.message}", event_type="Warning",
                            component="virtualmachine-controller")
            return
        rt.record_event(vmi, "SuccessfulCreate", f"Created Migration {created['metadata']['name']}",
                        component="virtualmachine-controller")
