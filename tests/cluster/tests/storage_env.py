"""In-process harness for the storage, CDI, upload and GC controllers (no HTTP).

``StorageEnv`` wires a Store, the served-type registry, ObjectService and a Runtime with the
controllers under test, two schedulable nodes, and offers client-like writes that go through the
registry's admission hooks the way the REST handlers do.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Optional

from tests.cluster.api.catalog import build_registry
from tests.cluster.api.objects import ObjectService
from tests.cluster.api.resources import GR, AdmissionRequest
from tests.cluster.api.store import Store
from tests.cluster.controllers.cdi import DataVolumeController
from tests.cluster.controllers.gc import GarbageCollector
from tests.cluster.controllers.runtime import Controller, Runtime
from tests.cluster.controllers.storage import StorageController
from tests.cluster.controllers.upload import UploadProxy

NS: GR = ("", "namespaces")
NODES: GR = ("", "nodes")
PODS: GR = ("", "pods")
PVC: GR = ("", "persistentvolumeclaims")
PV: GR = ("", "persistentvolumes")
EVENTS: GR = ("", "events")
DV: GR = ("cdi.kubevirt.io", "datavolumes")
DS: GR = ("cdi.kubevirt.io", "datasources")
SC: GR = ("storage.k8s.io", "storageclasses")
SP: GR = ("cdi.kubevirt.io", "storageprofiles")
CONFIGMAPS: GR = ("", "configmaps")
UTR: GR = ("upload.cdi.kubevirt.io", "uploadtokenrequests")


def node(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                  "node-role.kubernetes.io/worker": ""}},
            "spec": {}, "status": {"allocatable": {"cpu": "16", "memory": "64Gi", "pods": "250"},
                                   "capacity": {"cpu": "16", "memory": "64Gi", "pods": "250"},
                                   "conditions": [{"type": "Ready", "status": "True"}]}}


class StorageEnv:
    def __init__(self, time_scale: float = 0.02, extra: tuple[Controller, ...] = (), options: Optional[dict] = None,
                 nodes: int = 2) -> None:
        self.store = Store()
        self.registry = build_registry("openshift")
        self.service = ObjectService(self.store, self.registry, seed=1)
        self.rt = Runtime(self.store, self.registry, self.service, time_scale=time_scale,
                          options=dict(options or {"url": "https://127.0.0.1:6443"}))
        self.storage = StorageController()
        self.gc = GarbageCollector()
        self.cdi = DataVolumeController()
        self.upload = UploadProxy()
        for controller in (self.storage, self.gc, *extra, self.cdi, self.upload):
            self.rt.add(controller)
        for i in range(1, nodes + 1):
            self.service.create(NODES, node(f"node{i:02d}"), keep_status=True)
        self.rt.start()
        self.namespace("demo")

    def stop(self) -> None:
        self.rt.stop()

    # -- client-like writes (admission included) -----------------------------------------------
    def create(self, gr: GR, obj: dict, dry_run: bool = False) -> dict:
        meta = obj.setdefault("metadata", {})
        rtype = self.registry.get(gr)
        obj.setdefault("apiVersion", rtype.api_version())
        obj.setdefault("kind", rtype.kind)
        request = AdmissionRequest("CREATE", gr, meta.get("namespace"), meta.get("name"), "admin", dry_run,
                                   version=rtype.version)
        self.registry.admit(request, obj, None)
        return self.service.create(gr, obj, dry_run=dry_run)

    def update(self, gr: GR, obj: dict) -> dict:
        meta = obj["metadata"]
        old = self.store.get(gr, meta.get("namespace"), meta["name"])
        request = AdmissionRequest("UPDATE", gr, meta.get("namespace"), meta["name"], "admin", False)
        self.registry.admit(request, obj, old)
        return self.service.update(gr, obj)

    def namespace(self, name: str) -> dict:
        return self.service.create(NS, {"metadata": {"name": name}})

    def get(self, gr: GR, namespace: Optional[str], name: str) -> Optional[dict]:
        return self.store.get(gr, namespace, name)

    def events(self, namespace: str, name: Optional[str] = None) -> list[dict]:
        return [e for e in self.store.list(EVENTS, namespace)[0]
                if name is None or e["involvedObject"]["name"] == name]

    def reasons(self, namespace: str, name: str) -> list[str]:
        return [e["reason"] for e in sorted(self.events(namespace, name),
                                            key=lambda e: int(e["metadata"]["resourceVersion"]))]

    def wait(self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or predicate}; runtime errors: {self.rt.errors}")
            time.sleep(0.005)

    def phases(self, gr: GR, namespace: str, name: str, until: str, timeout: float = 5.0) -> list[str]:
        """Distinct ``status.phase`` values observed (by watch) until ``until``."""
        watcher, _ = self.store.watch(gr, namespace, None)
        seen: list[str] = []
        current = self.store.get(gr, namespace, name)
        if current is not None:
            seen.append((current.get("status") or {}).get("phase", ""))
        deadline = time.monotonic() + timeout
        try:
            while not seen or seen[-1] != until:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{name} never reached {until}; saw {seen}; errors: {self.rt.errors}")
                event = watcher.next(remaining)
                if event is None or event.obj["metadata"]["name"] != name:
                    continue
                phase = (event.obj.get("status") or {}).get("phase", "")
                if not seen or seen[-1] != phase:
                    seen.append(phase)
        finally:
            watcher.close()
        return seen


def condition(obj: dict, ctype: str) -> dict:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == ctype), {})


def datavolume(name: str, source: dict, size: Optional[str] = "1Gi", namespace: str = "demo",
               storage: Optional[dict] = None, **spec: Any) -> dict:
    target: dict[str, Any] = dict(storage or {})
    if size is not None:
        target.setdefault("resources", {"requests": {"storage": size}})
    return {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"source": source, "storage": target, **spec}}


def consumer_pod(name: str, claim: str, node_name: str = "node01", namespace: str = "demo") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"nodeName": node_name, "containers": [{"name": "c", "image": "busybox"}],
                     "volumes": [{"name": "disk", "persistentVolumeClaim": {"claimName": claim}}]},
            "status": {"phase": "Running"}}
