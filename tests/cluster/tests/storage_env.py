"""In-process harness for the storage, snapshot, CDI, upload and GC controllers (no HTTP).

``StorageEnv`` is an ``InProcessCluster`` (harness.py) running those controllers, with two
schedulable nodes, the namespace "demo" and client-like writes that complete the object
(apiVersion, kind) the way a client does.
"""
from __future__ import annotations

from typing import Any, Optional

from tests.cluster.api.resources import GR
from tests.cluster.controllers.cdi import DataVolumeController
from tests.cluster.controllers.dataimportcron import DataImportCronController
from tests.cluster.controllers.gc import GarbageCollector
from tests.cluster.controllers.runtime import Controller
from tests.cluster.controllers.snapshots import SnapshotController
from tests.cluster.controllers.storage import StorageController
from tests.cluster.controllers.upload import UploadProxy
from tests.cluster.tests.harness import EVENT, NODE, NS, InProcessCluster


def node(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                  "node-role.kubernetes.io/worker": ""}},
            "spec": {}, "status": {"allocatable": {"cpu": "16", "memory": "64Gi", "pods": "250"},
                                   "capacity": {"cpu": "16", "memory": "64Gi", "pods": "250"},
                                   "conditions": [{"type": "Ready", "status": "True"}]}}


class StorageEnv(InProcessCluster):
    def __init__(self, time_scale: float = 0.02, extra: tuple[Controller, ...] = (), options: Optional[dict] = None,
                 nodes: int = 2) -> None:
        self.storage = StorageController()
        self.gc = GarbageCollector()
        self.cdi = DataVolumeController()
        self.upload = UploadProxy()
        self.snapshots = SnapshotController()
        self.crons = DataImportCronController()
        super().__init__((self.storage, self.gc, *extra, self.snapshots, self.cdi, self.crons, self.upload), flavor="openshift",
                         time_scale=time_scale, options=dict(options or {"url": "https://127.0.0.1:6443"}), seed=1)
        for i in range(1, nodes + 1):
            self.service.create(NODE, node(f"node{i:02d}"), keep_status=True)
        self.rt.start()
        self.namespace("demo")

    # -- client-like writes (admission included) -----------------------------------------------
    def create(self, gr: GR, obj: dict, dry_run: bool = False) -> dict:
        obj.setdefault("metadata", {})
        rtype = self.registry.get(gr)
        obj.setdefault("apiVersion", rtype.api_version())
        obj.setdefault("kind", rtype.kind)
        return self.admitted_create(gr, obj, dry_run=dry_run, version=rtype.version)

    def update(self, gr: GR, obj: dict) -> dict:
        meta = obj["metadata"]
        return self.admitted_update(gr, obj, self.store.get(gr, meta.get("namespace"), meta["name"]))

    def namespace(self, name: str) -> dict:
        return self.service.create(NS, {"metadata": {"name": name}})

    def get(self, gr: GR, namespace: Optional[str], name: str) -> Optional[dict]:
        return self.store.get(gr, namespace, name)

    def events(self, namespace: str, name: Optional[str] = None) -> list[dict]:
        return [e for e in self.store.list(EVENT, namespace)[0]
                if name is None or e["involvedObject"]["name"] == name]

    def reasons(self, namespace: str, name: str) -> list[str]:
        return [e["reason"] for e in sorted(self.events(namespace, name),
                                            key=lambda e: int(e["metadata"]["resourceVersion"]))]

    def phases(self, gr: GR, namespace: str, name: str, until: str, timeout: float = 5.0) -> list[str]:
        """Distinct ``status.phase`` values observed (by watch) until ``until``."""
        return self.observe(gr, namespace, name, lambda o: (o.get("status") or {}).get("phase", ""), until, timeout)


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
