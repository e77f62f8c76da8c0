"""CDI's PVC-side workers: importer, upload server and host-assisted clone pods, with their kubelet.

What CDI's import-controller / upload-controller / clone-controller do for a PVC annotated by the
DataVolume controller (v1.61, non-populator path: this cluster serves no CSIDriver objects, so CDI
would not use volume populators): name and create the worker pod once the claim is bound (or at
once on a WaitForFirstConsumer class when HonorWaitForFirstConsumer is off: the pod is then the
first consumer), copy the pod's phase, restarts and running condition into the PVC's
``cdi.kubevirt.io/storage.*`` annotations (``setAnnotationsFromPodWithPrefix``), emit ErrImportFailed
/ ImportSucceeded events and delete the pod when done.

The pods' lifecycle is simulated here as a kubelet would run them: Pending -> Running -> Succeeded,
import/clone progress advancing each transition; an unreachable source (host ``*.invalid``, or
``localhost:1``) fails the importer right away with the importer's termination message and it is
restarted (CrashLoopBackOff) every few transitions, the pod staying Running as with
``restartPolicy: OnFailure``. Upload pods become ready and wait for the upload proxy to deliver.
"""
from __future__ import annotations

import base64
import json
import logging
from typing import Any, Optional
from urllib.parse import urlparse

from ..api import errors
from ..api.objects import now_rfc3339, owner_reference
from . import cdi_render as r
from .cdi_fetch import Fetch, HttpSource, is_loopback, start_fetch
from .disks import claim_key
from .keys import CDICONFIG, CONFIGMAP, DATASOURCE, DV, NODE, POD, PV, PVC, SC, SECRET
from .pacing import Pacer
from .runtime import Controller, Runtime

log = logging.getLogger("cluster.cdi")

RUNNING_REASON = "Pod is running"
CRASH_STEPS = 2  # transitions a failed importer waits in CrashLoopBackOff before the next restart


def worker_kind(pvc: dict) -> str:
    anns = pvc["metadata"].get("annotations") or {}
    if r.ANN_SOURCE in anns or r.ANN_ENDPOINT in anns:
        return "import"
    if r.ANN_UPLOAD_REQUEST in anns:
        return "upload"
    if r.ANN_CLONE_REQUEST in anns:
        return "clone"
    return ""


def worker_pod_name(pvc: dict, kind: str) -> str:
    anns = pvc["metadata"].get("annotations") or {}
    if kind == "import":
        return anns.get(r.ANN_IMPORT_POD) or f"importer-{pvc['metadata']['name']}"
    return f"cdi-upload-{pvc['metadata']['name']}"


def source_failure(anns: dict, flavor: str) -> Optional[str]:
    """The importer's termination message when the source cannot be reached (deterministic rules:
    a host under ``.invalid`` does not resolve; ``localhost:1`` refuses connections)."""
    source, endpoint = anns.get(r.ANN_SOURCE), anns.get(r.ANN_ENDPOINT) or ""
    if source not in ("http", "s3", "gcs", "registry", "imageio"):
        return None
    parsed = urlparse(endpoint if "://" in endpoint else "//" + endpoint)
    host = parsed.hostname or ""
    try:
        port = parsed.port
    except ValueError:
        port = None
    dns = "10.96.0.10:53" if flavor == "kubernetes" else "172.30.0.10:53"
    if host == "invalid" or host.endswith(".invalid"):
        dial = f"dial tcp: lookup {host} on {dns}: no such host"
    elif host in ("localhost", "127.0.0.1", "::1") and port == 1:
        dial = f"dial tcp {'127.0.0.1' if host == '127.0.0.1' else '[::1]'}:1: connect: connection refused"
    else:
        return None
    if source == "registry":
        return (f"Unable to process data: Unable to transfer source data to scratch space: Failed to read registry "
                f'image: Error retrieving image: pinging container registry {host}: Get "https://{host}/v2/": {dial}')
    if source == "s3":
        path = parsed.path.lstrip("/")
        return (f'Unable to connect to s3 data source: could not get s3 object: "{path}": RequestError: send '
                f'request failed\ncaused by: Get "{endpoint}": {dial}')
    return f'Unable to connect to {source} data source: HTTP request errored: Get "{endpoint}": {dial}'


class Transfers:
    """Worker pods per PVC. ``ctrl`` is the DataVolume controller that owns the work queue."""

    def __init__(self, ctrl: Controller) -> None:
        self.ctrl = ctrl
        self.pacer = Pacer()
        self.progress: dict[str, float] = {}  # pvc uid -> percent reported by the worker's metrics
        self.fetches: dict[str, Fetch] = {}  # pvc uid -> a real http import (loopback URLs)
        self._events = r.EventsOnce("import-controller")

    # -- reconcile -----------------------------------------------------------------------------
    def reconcile(self, rt: Runtime, namespace: str, name: str) -> None:
        pvc = rt.store.get(PVC, namespace, name)
        if pvc is None:
            return
        kind = worker_kind(pvc)
        if not kind:
            return
        anns = pvc["metadata"].get("annotations") or {}
        pod_name = worker_pod_name(pvc, kind)
        pod = rt.store.get(POD, namespace, pod_name)
        if pvc["metadata"].get("deletionTimestamp"):
            self._cleanup(rt, pvc, pod)
            return
        if anns.get(r.ANN_POD_PHASE) == "Succeeded":
            if pod is not None and anns.get(r.ANN_RETAIN_POD) != "true":
                self._cleanup(rt, pvc, pod)
            return
        if pod is None:
            self._start(rt, pvc, kind, pod_name)
            return
        pod = self._advance(rt, pvc, kind, pod)
        self._sync_annotations(rt, pvc, kind, pod)

    def _start(self, rt: Runtime, pvc: dict, kind: str, pod_name: str) -> None:
        meta = pvc["metadata"]
        anns = meta.get("annotations") or {}
        sc = rt.store.get(SC, None, pvc["spec"].get("storageClassName") or "")
        wffc = sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer"
        bound = (pvc.get("status") or {}).get("phase") == "Bound"
        immediate = "cdi.kubevirt.io/storage.bind.immediate.requested" in anns  # virtctl --force-bind
        if not bound and not (wffc and (immediate or not r.honor_wffc(rt.store))):
            return  # the worker pod waits for binding, or is itself the first consumer
        source = None
        if kind == "clone":
            src_ns, _, src_name = anns.get(r.ANN_CLONE_REQUEST, "").partition("/")
            source = rt.store.get(PVC, src_ns, src_name)
            if source is None and not _from_snapshot(rt, pvc):
                return
        node = self._node_for(rt, pvc)
        pod = self._create_pod(rt, self._pod(rt, pvc, kind, pod_name, node))
        if pod is None:
            return
        if source is not None and kind == "clone":
            self._create_pod(rt, self._clone_source_pod(rt, pvc, source))
        self._sync_annotations(rt, pvc, kind, pod)

    # -- simulated kubelet ---------------------------------------------------------------------
    def _advance(self, rt: Runtime, pvc: dict, kind: str, pod: dict) -> dict:
        status = pod.get("status") or {}
        phase = status.get("phase")
        key = (PVC, pvc["metadata"]["namespace"], pvc["metadata"]["name"])
        uid = pvc["metadata"]["uid"]
        container = (status.get("containerStatuses") or [{}])[0]
        state = container.get("state") or {}
        restarts = container.get("restartCount", 0)
        if phase == "Pending":
            if not pod["spec"].get("nodeName") or not self.pacer.ready(rt, self.ctrl, key, "pending", track=uid):
                return pod
            failure = source_failure(pvc["metadata"].get("annotations") or {}, rt.options.get("flavor", "openshift"))
            if kind == "import" and failure:
                return set_container(rt, pod, "Running", _terminated(1, "Error", failure), ready=False)
            self.progress[uid] = 0.0
            self._start_fetch(rt, pvc)
            return set_container(rt, pod, "Running", {"running": {"startedAt": now_rfc3339()}},
                                       ready=kind != "upload")
        if phase != "Running":
            return pod
        if "terminated" in state:  # failed importer: back-off, then restart and fail again
            if self.pacer.ready(rt, self.ctrl, key, f"failed-{restarts}", track=uid):
                message = (f"back-off {10 * 2 ** min(restarts, 5)}s restarting failed container="
                           f"{container.get('name')} pod={pod['metadata']['name']}_{pod['metadata']['namespace']}"
                           f"({pod['metadata']['uid']})")
                return set_container(rt, pod, "Running", {"waiting": {"reason": "CrashLoopBackOff",
                                                                            "message": message}},
                                           ready=False, last=state)
            return pod
        if "waiting" in state:
            if uid in self.fetches and self.pacer.ready(rt, self.ctrl, key, f"backoff-{restarts}", CRASH_STEPS,
                                                        track=uid):
                self._start_fetch(rt, pvc)  # the restarted importer reads the source again
                return set_container(rt, pod, "Running", {"running": {"startedAt": now_rfc3339()}}, ready=True,
                                     restarts=restarts + 1, last=container.get("lastState"))
            if self.pacer.ready(rt, self.ctrl, key, f"backoff-{restarts}", CRASH_STEPS, track=uid):
                failure = source_failure(pvc["metadata"].get("annotations") or {},
                                         rt.options.get("flavor", "openshift")) or "Unable to process data"
                return set_container(rt, pod, "Running", _terminated(1, "Error", failure), ready=False,
                                           restarts=restarts + 1, last=container.get("lastState"))
            return pod
        if kind == "upload":
            if not container.get("ready") and self.pacer.ready(rt, self.ctrl, key, "probing", track=uid):
                return set_container(rt, pod, "Running", state, ready=True)
            return pod
        fetch = self.fetches.get(uid)
        if fetch is not None:
            return self._advance_fetch(rt, pvc, pod, fetch, key)
        done = self.progress.get(uid, 0.0)
        if not self.pacer.ready(rt, self.ctrl, key, f"progress-{done:.4f}", track=uid):
            return pod
        blank = (pvc["metadata"].get("annotations") or {}).get(r.ANN_SOURCE) == "none"
        step = 100.0 if blank else rt.service.rng().uniform(17.0, 34.0)
        done = min(100.0, done + step)
        self.progress[uid] = done
        rt.enqueue(self.ctrl, (DV, pvc["metadata"]["namespace"], pvc["metadata"]["name"]))
        if done < 100.0:
            self.pacer.ready(rt, self.ctrl, key, f"progress-{done:.4f}", track=uid)  # schedules the next step
            return pod
        if kind == "clone":
            self._copy_clone_bytes(rt, pvc)
        message = {"import": "Import Complete", "clone": "Clone Complete"}[kind]
        terminated = _terminated(0, "Completed", json.dumps({"message": message, "preAllocationApplied": False}))
        self._finish_clone_source(rt, pvc)
        return set_container(rt, pod, "Succeeded", terminated, ready=False)

    # -- volume bytes --------------------------------------------------------------------------
    def _start_fetch(self, rt: Runtime, pvc: dict) -> None:
        """Really read a loopback http(s) source into the volume (cdi_fetch); others stay simulated."""
        meta = pvc["metadata"]
        anns = meta.get("annotations") or {}
        if anns.get(r.ANN_SOURCE) != "http" or not is_loopback(anns.get(r.ANN_ENDPOINT) or ""):
            return
        volume = claim_key(rt.store, meta["namespace"], meta["name"])
        if volume is None:
            return
        key = (PVC, meta["namespace"], meta["name"])
        self.fetches[meta["uid"]] = start_fetch(rt.disks, volume, self._http_source(rt, pvc),
                                                lambda: rt.enqueue(self.ctrl, key))

    def _http_source(self, rt: Runtime, pvc: dict) -> HttpSource:
        ns = pvc["metadata"]["namespace"]
        anns = pvc["metadata"].get("annotations") or {}
        source = HttpSource(url=anns.get(r.ANN_ENDPOINT) or "", checksum=anns.get(r.A + "storage.import.checksum", ""),
                            insecure=anns.get(r.A + "storage.import.insecureSkipVerify") == "true")
        headers = sorted((k, v) for k, v in anns.items() if k.startswith(r.A + "storage.import.extraHeaders."))
        source.headers = [v for _, v in headers]
        secret = _secret_data(rt, ns, anns.get(r.ANN_SECRET) or "")
        source.username, source.password = secret.get("accessKeyId", ""), secret.get("secretKey", "")
        http_spec = ((_owner_dv(rt, pvc) or {}).get("spec", {}).get("source") or {}).get("http") or {}
        for name in http_spec.get("secretExtraHeaders") or []:
            source.headers.extend(_secret_data(rt, ns, name).values())
        config_map = rt.store.get(CONFIGMAP, ns, anns.get(r.ANN_CERT_CONFIGMAP) or "") \
            if anns.get(r.ANN_CERT_CONFIGMAP) else None
        source.ca_pems = [v for v in ((config_map or {}).get("data") or {}).values() if v]
        return source

    def _advance_fetch(self, rt: Runtime, pvc: dict, pod: dict, fetch: Fetch, key: tuple) -> dict:
        uid = pvc["metadata"]["uid"]
        if not fetch.done:
            if fetch.progress != self.progress.get(uid):
                self.progress[uid] = fetch.progress
                rt.enqueue(self.ctrl, (DV, pvc["metadata"]["namespace"], pvc["metadata"]["name"]))
            rt.requeue(self.ctrl, *key)
            return pod
        if fetch.error:
            return set_container(rt, pod, "Running", _terminated(1, "Error", fetch.error), ready=False)
        self.progress[uid] = 100.0
        if not self.pacer.ready(rt, self.ctrl, key, "fetched", track=uid):  # ImportInProgress is seen
            return pod
        rt.enqueue(self.ctrl, (DV, pvc["metadata"]["namespace"], pvc["metadata"]["name"]))
        terminated = _terminated(0, "Completed", json.dumps({"message": "Import Complete",
                                                             "preAllocationApplied": False}))
        return set_container(rt, pod, "Succeeded", terminated, ready=False)

    def _copy_clone_bytes(self, rt: Runtime, pvc: dict) -> None:
        """Host-assisted clone: the source's bytes (PVC, or VolumeSnapshot content) into the target."""
        meta = pvc["metadata"]
        target = claim_key(rt.store, meta["namespace"], meta["name"])
        source = self._clone_source_key(rt, pvc)
        if target is not None and source is not None and rt.disks.exists(source):
            rt.disks.copy(source, target)

    def _clone_source_key(self, rt: Runtime, pvc: dict) -> Optional[str]:
        anns = pvc["metadata"].get("annotations") or {}
        src_ns, _, src_name = anns.get(r.ANN_CLONE_REQUEST, "").partition("/")
        if _from_snapshot(rt, pvc):
            from .snapshots import snapshot_volume_key  # the snapshot controller's content bytes
            return snapshot_volume_key(rt.store, src_ns, src_name)
        return claim_key(rt.store, src_ns, src_name)

    # -- PVC annotations (updatePvcFromPod / setAnnotationsFromPodWithPrefix) ------------------
    def _sync_annotations(self, rt: Runtime, pvc: dict, kind: str, pod: dict) -> None:
        meta = pvc["metadata"]
        anns = dict(meta.get("annotations") or {})
        status = pod.get("status") or {}
        containers = status.get("containerStatuses") or []
        if containers:
            first = containers[0]
            anns[r.ANN_POD_RESTARTS] = str(max(int(anns.get(r.ANN_POD_RESTARTS) or 0), first.get("restartCount", 0)))
            state = first.get("state") or {}
            if all("running" in (c.get("state") or {}) for c in containers):
                anns.update({r.ANN_RUNNING: "true", r.ANN_RUNNING_MESSAGE: "", r.ANN_RUNNING_REASON: RUNNING_REASON})
            else:
                anns[r.ANN_RUNNING] = "false"
                waiting, terminated = state.get("waiting"), state.get("terminated")
                if waiting and waiting.get("reason") != "CrashLoopBackOff":
                    anns[r.ANN_RUNNING_MESSAGE] = waiting.get("message") or ""
                    anns[r.ANN_RUNNING_REASON] = waiting.get("reason") or ""
                elif terminated:
                    message = terminated.get("message") or ""
                    if terminated.get("exitCode") == 0:
                        try:
                            message = json.loads(message).get("message") or ""
                        except (ValueError, AttributeError):
                            pass
                    anns[r.ANN_RUNNING_MESSAGE] = message
                    anns[r.ANN_RUNNING_REASON] = terminated.get("reason") or ""
                    if terminated.get("exitCode", 0) > 0:
                        self._events.record(rt, pvc, f"fail-{first.get('restartCount', 0)}", "ErrImportFailed",
                                            message, warning=True)
        if kind == "import":
            anns[r.ANN_IMPORT_POD] = pod["metadata"]["name"]
        phase = status.get("phase") or ""
        anns[r.ANN_POD_PHASE] = phase
        if kind in ("upload", "clone"):
            anns[r.ANN_POD_READY] = "true" if containers and containers[0].get("ready") else "false"
        scheduled = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), None)
        anns[r.ANN_POD_SCHEDULABLE] = "false" if (phase == "Pending" and scheduled is not None
                                                  and scheduled.get("reason") == "Unschedulable") else "true"
        if anns != (meta.get("annotations") or {}):
            def write(o: dict) -> None:
                o["metadata"]["annotations"] = anns
                o["metadata"].setdefault("labels", {})["app"] = "containerized-data-importer"
            rt.service.mutate(PVC, meta["namespace"], meta["name"], write)
        if phase == "Succeeded":
            if kind == "import":
                self._events.record(rt, pvc, "done", "ImportSucceeded", "Import Successful")
            if anns.get(r.ANN_RETAIN_POD) != "true":
                self._cleanup(rt, pvc, pod)

    # -- pods ----------------------------------------------------------------------------------
    def _node_for(self, rt: Runtime, pvc: dict) -> Optional[str]:
        node = (pvc["metadata"].get("annotations") or {}).get("volume.kubernetes.io/selected-node")
        volume = rt.store.get(PV, None, pvc["spec"].get("volumeName") or "") if pvc["spec"].get("volumeName") else None
        terms = (((volume or {}).get("spec", {}).get("nodeAffinity") or {}).get("required") or {}).get(
            "nodeSelectorTerms") or []
        for term in terms:
            for expr in term.get("matchExpressions") or []:
                if expr.get("key") == "kubernetes.io/hostname" and expr.get("values"):
                    return expr["values"][0]
        if node:
            return node
        try:
            from .nodes import schedule  # the scheduler stand-in of the nodes controller
            chosen, _ = schedule(rt.store, {"spec": {}})
            return chosen
        except Exception:  # nodes controller absent or changed: first schedulable node
            log.debug("scheduler stand-in unavailable", exc_info=True)
            nodes = [n for n in rt.store.list(NODE)[0] if not n.get("spec", {}).get("unschedulable")]
            return nodes[0]["metadata"]["name"] if nodes else None

    def _pod(self, rt: Runtime, pvc: dict, kind: str, name: str, node: Optional[str]) -> dict:
        meta = pvc["metadata"]
        anns = meta.get("annotations") or {}
        block = pvc["spec"].get("volumeMode") == "Block"
        upload = kind != "import"
        container_name = "cdi-upload-server" if upload else "importer"
        flavor = rt.options.get("flavor", "openshift")
        image = (f"registry.redhat.io/container-native-virtualization/virt-cdi-{'uploadserver' if upload else 'importer'}"
                 f"-rhel9:v4.17.3") if flavor != "kubernetes" else (
            f"quay.io/kubevirt/cdi-{'uploadserver' if upload else 'importer'}:v1.61.0")
        config = rt.store.get(CDICONFIG, None, "config") or {}
        resources = ((config.get("status") or {}).get("defaultPodResourceRequirements")
                     or {"limits": {"cpu": "750m", "memory": "600M"}, "requests": {"cpu": "100m", "memory": "60M"}})
        env = [{"name": "OWNER_UID", "value": anns.get(r.ANN_CREATED_FOR_DV, meta["uid"])},
               {"name": "FILESYSTEM_OVERHEAD", "value": str(r.filesystem_overhead(rt.store, pvc["spec"].get(
                   "storageClassName")))}]
        if not upload:
            env = [{"name": "IMPORTER_SOURCE", "value": anns.get(r.ANN_SOURCE, "")},
                   {"name": "IMPORTER_ENDPOINT", "value": anns.get(r.ANN_ENDPOINT, "")},
                   {"name": "IMPORTER_CONTENTTYPE", "value": anns.get(r.ANN_CONTENT_TYPE, "kubevirt")},
                   {"name": "IMPORTER_IMAGE_SIZE", "value": pvc["spec"]["resources"]["requests"].get("storage", "")},
                   ] + env
        container: dict[str, Any] = {"name": container_name, "image": image, "imagePullPolicy": "IfNotPresent",
                                     "args": ["-v=1"], "env": env, "resources": resources,
                                     "terminationMessagePath": "/dev/termination-log",
                                     "terminationMessagePolicy": "FallbackToLogsOnError"}
        if block:
            container["volumeDevices"] = [{"name": "cdi-data-vol", "devicePath": "/dev/cdi-block-volume"}]
        else:
            container["volumeMounts"] = [{"name": "cdi-data-vol", "mountPath": "/data"}]
        labels = dict(meta.get("labels") or {})
        labels.update({"app": "containerized-data-importer", "app.kubernetes.io/component": "storage",
                       "app.kubernetes.io/managed-by": "cdi-controller",
                       "cdi.kubevirt.io": "cdi-upload-server" if upload else "importer",
                       "prometheus.cdi.kubevirt.io": "true"})
        if upload:
            labels["service"] = name
        owner = owner_reference(pvc)
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": meta["namespace"], "labels": labels,
                         "annotations": {r.ANN_CREATED_BY: "yes"}, "ownerReferences": [owner]},
            "spec": {"containers": [container], "restartPolicy": "OnFailure", "enableServiceLinks": False,
                     "securityContext": {"runAsNonRoot": True, "runAsUser": 107, "fsGroup": 107,
                                         "seccompProfile": {"type": "RuntimeDefault"}},
                     "volumes": [{"name": "cdi-data-vol", "persistentVolumeClaim": {
                         "claimName": meta["name"], "readOnly": False}}],
                     "schedulerName": "default-scheduler", "terminationGracePeriodSeconds": 30},
            "status": _pending_status(container_name, image, node),
        }
        if node:
            pod["spec"]["nodeName"] = node
        return pod

    def _clone_source_pod(self, rt: Runtime, pvc: dict, source: dict) -> dict:
        """The host-assisted clone's source pod, reading the source claim in its namespace."""
        pod = self._pod(rt, source, "clone", f"{pvc['metadata']['uid']}-source-pod", self._node_for(rt, source))
        pod["metadata"].pop("ownerReferences", None)
        pod["metadata"]["labels"]["cdi.kubevirt.io"] = "cdi-clone-source"
        pod["metadata"]["labels"].pop("service", None)
        container = pod["spec"]["containers"][0]
        container["name"] = "cdi-clone-source"
        container["image"] = container["image"].replace("uploadserver", "cloner")
        pod["spec"]["volumes"][0]["persistentVolumeClaim"]["readOnly"] = True
        pod["status"] = _pending_status("cdi-clone-source", container["image"], pod["spec"].get("nodeName"))
        pod["status"]["phase"] = "Running"
        pod["status"]["containerStatuses"][0].update(state={"running": {"startedAt": now_rfc3339()}},
                                                     ready=True, started=True)
        return pod

    def _finish_clone_source(self, rt: Runtime, pvc: dict) -> None:
        anns = pvc["metadata"].get("annotations") or {}
        if r.ANN_CLONE_REQUEST not in anns:
            return
        src_ns = anns[r.ANN_CLONE_REQUEST].partition("/")[0]
        self._delete_pod(rt, src_ns, f"{pvc['metadata']['uid']}-source-pod")

    def _create_pod(self, rt: Runtime, pod: dict) -> Optional[dict]:
        try:
            return rt.service.create(POD, pod, keep_status=True)
        except errors.ApiError as exc:  # namespace terminating, or a leftover pod
            log.debug("worker pod %s not created: %s", pod["metadata"]["name"], exc.message)
            return None

    def _cleanup(self, rt: Runtime, pvc: dict, pod: Optional[dict]) -> None:
        if pod is not None:
            self._delete_pod(rt, pod["metadata"]["namespace"], pod["metadata"]["name"])
        self._finish_clone_source(rt, pvc)
        uid = pvc["metadata"]["uid"]
        self.pacer.forget(uid)
        self.fetches.pop(uid, None)

    @staticmethod
    def _delete_pod(rt: Runtime, namespace: str, name: str) -> None:
        try:
            rt.service.delete(POD, namespace, name)
        except errors.ApiError as exc:
            if exc.code != 404:
                raise


def _owner_dv(rt: Runtime, pvc: dict) -> Optional[dict]:
    for ref in pvc["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == "DataVolume" and ref.get("controller"):
            return rt.store.get(DV, pvc["metadata"]["namespace"], ref.get("name") or "")
    return None


def _secret_data(rt: Runtime, namespace: str, name: str) -> dict[str, str]:
    secret = rt.store.get(SECRET, namespace, name) if name else None
    out = {}
    for k, v in ((secret or {}).get("data") or {}).items():
        try:
            out[k] = base64.b64decode(v).decode()
        except (ValueError, UnicodeDecodeError):
            continue
    out.update((secret or {}).get("stringData") or {})
    return out


def _from_snapshot(rt: Runtime, pvc: dict) -> bool:
    """Whether the claim's DataVolume clones a VolumeSnapshot (simulated: no source pod needed)."""
    for ref in pvc["metadata"].get("ownerReferences") or []:
        if ref.get("kind") != "DataVolume":
            continue
        dv = rt.store.get(DV, pvc["metadata"]["namespace"], ref.get("name") or "")
        spec = (dv or {}).get("spec") or {}
        if "snapshot" in (spec.get("source") or {}):
            return True
        ref_spec = spec.get("sourceRef") or {}
        if ref_spec:
            ds = rt.store.get(DATASOURCE, ref_spec.get("namespace") or pvc["metadata"]["namespace"],
                              ref_spec.get("name") or "")
            return "snapshot" in (((ds or {}).get("spec") or {}).get("source") or {})
    return False


def finish_upload(rt: Runtime, namespace: str, pvc_name: str) -> bool:
    """The upload server wrote the image and exits (called by the upload proxy). False when the
    upload pod is gone."""
    with rt.store.lock:
        pod = rt.store.get(POD, namespace, f"cdi-upload-{pvc_name}")
        if pod is None:
            return False
        terminated = _terminated(0, "Completed", json.dumps({"message": "Upload Complete", "preAllocationApplied": False}))
        set_container(rt, pod, "Succeeded", terminated, ready=False)
        return True


def set_container(rt: Runtime, pod: dict, phase: str, state: dict, *, ready: bool,
                   restarts: Optional[int] = None, last: Optional[dict] = None) -> dict:
    def update(o: dict) -> None:
        status = o.setdefault("status", {})
        status["phase"] = phase
        stamp = now_rfc3339()
        container = (status.get("containerStatuses") or [{}])[0]
        container.update(state=state, ready=ready, started="running" in state)
        if restarts is not None:
            container["restartCount"] = restarts
        if last is not None:
            container["lastState"] = last
        status["containerStatuses"] = [container]
        flags = {"Initialized": "True", "PodScheduled": "True", "Ready": str(ready), "ContainersReady": str(ready),
                 "PodReadyToStartContainers": "True"}
        status["conditions"] = [{"type": t, "status": v, "lastProbeTime": None, "lastTransitionTime": stamp}
                                for t, v in flags.items()]
        if phase == "Running" and not status.get("startTime"):
            status["startTime"] = stamp
    return rt.service.mutate(POD, pod["metadata"]["namespace"], pod["metadata"]["name"], update,
                             subresource="status") or pod


def _terminated(code: int, reason: str, message: str) -> dict:
    stamp = now_rfc3339()
    return {"terminated": {"exitCode": code, "reason": reason, "message": message, "startedAt": stamp,
                           "finishedAt": stamp}}


def _pending_status(container: str, image: str, node: Optional[str]) -> dict:
    stamp = now_rfc3339()
    if node is None:
        return {"phase": "Pending", "qosClass": "Burstable", "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "lastProbeTime": None,
            "lastTransitionTime": stamp, "message": "0/0 nodes are available: no nodes available to schedule pods."}]}
    return {"phase": "Pending", "qosClass": "Burstable", "startTime": stamp,
            "conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}],
            "containerStatuses": [{"name": container, "image": image, "imageID": "", "ready": False,
                                   "restartCount": 0, "started": False,
                                   "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}]}
