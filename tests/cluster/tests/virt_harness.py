"""In-process harness for the simulated KubeVirt controllers: ``Sim`` is an ``InProcessCluster``
(harness.py) running the node and KubeVirt controllers (or all of them), with the namespace "demo",
subresource calls, evictions and VM status waits. Used by test_virt_*.py, test_nodes.py,
test_migration.py and test_seed.py."""
from __future__ import annotations

import copy
from typing import Any, Callable, Optional

from tests.cluster.api.errors import ApiError
from tests.cluster.api.resources import AdmissionRequest, SubresourceCall
from tests.cluster.controllers import all_controllers
from tests.cluster.controllers.migration import MigrationController
from tests.cluster.controllers.nodes import NodeController
from tests.cluster.controllers.virt import VirtualMachineController
from tests.cluster.controllers.virtapi import VirtApi
from tests.cluster.controllers.vmi import VirtualMachineInstanceController
from tests.cluster.tests.harness import EVENT, NS, POD, PVC, VM, VMI, InProcessCluster


class Sim(InProcessCluster):
    poll_interval = 0.003

    def __init__(self, flavor: str = "kubernetes", time_scale: float = 0.01, full: bool = False,
                 **options: Any) -> None:
        """``full``: every controller of the cluster (storage, CDI, GC ...), not only nodes + KubeVirt."""
        controllers = all_controllers(strict=False) if full else (
            NodeController(), VirtApi(), VirtualMachineController(), VirtualMachineInstanceController(),
            MigrationController())
        super().__init__(controllers, flavor=flavor, time_scale=time_scale, options={"flavor": flavor, **options})
        self.service.create(NS, {"metadata": {"name": "demo"}})
        self.rt.start()

    def close(self) -> None:
        super().close()
        assert not self.rt.errors, self.rt.errors

    # -- API-like writes (admission first, as the REST handlers do) --------------------------------
    def create(self, gr: tuple, obj: dict, *, dry_run: bool = False, user: str = "admin") -> dict:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if self.registry.get(gr).namespaced:
            meta.setdefault("namespace", "demo")
        return self.admitted_create(gr, obj, dry_run=dry_run, user=user)

    def update(self, gr: tuple, namespace: Optional[str], name: str, fn: Callable[[dict], None]) -> dict:
        with self.store.lock:
            old = self.service.get(gr, namespace, name)
            new = copy.deepcopy(old)
            fn(new)
            return self.admitted_update(gr, new, old)

    def delete(self, gr: tuple, namespace: Optional[str], name: str, **kw: Any) -> None:
        self.service.delete(gr, namespace, name, **kw)

    def call(self, plural: str, name: str, sub: str, body: Any = None, *, method: str = "PUT",
             namespace: str = "demo", dry_run: bool = False) -> tuple[int, Any]:
        handler = self.registry.find_subresource("subresources.kubevirt.io", plural, sub)
        assert handler is not None, sub
        call = SubresourceCall(method, ("subresources.kubevirt.io", plural), "v1", namespace, name, sub, body, {},
                               "admin", dry_run)
        return handler(call)

    def evict(self, pod: str, namespace: str = "demo", body: Optional[dict] = None, dry_run: bool = False) -> None:
        """POST pods/<pod>/eviction: admission, then the pod goes (PDBs: tests/cluster/tests/test_disruption.py, over HTTP)."""
        eviction = body or {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod,
                                                                                         "namespace": namespace}}
        self.registry.admit(AdmissionRequest("CREATE", POD, namespace, pod, "admin", dry_run, subresource="eviction"),
                            eviction, None)
        if not dry_run:
            self.service.delete(POD, namespace, pod)

    # -- reads and waits -------------------------------------------------------------------------
    def get(self, gr: tuple, name: str, namespace: Optional[str] = "demo") -> Optional[dict]:
        return self.store.get(gr, namespace if self.registry.get(gr).namespaced else None, name)

    def vm_status(self, name: str, namespace: str = "demo") -> str:
        return ((self.get(VM, name, namespace) or {}).get("status") or {}).get("printableStatus", "")

    def wait_printable(self, name: str, status: str, timeout: float = 5.0, namespace: str = "demo") -> dict:
        self.wait(lambda: self.vm_status(name, namespace) == status, timeout,
                  f"VM {name} {status} (now {self.vm_status(name, namespace)})")
        return self.get(VM, name, namespace)

    def watch_printable(self, name: str, until: str, timeout: float = 5.0, namespace: str = "demo") -> list[str]:
        """Every printableStatus the VM shows from now until ``until`` (consecutive duplicates
        dropped), read from the store's event stream so that short-lived states are not missed."""
        return self.observe(VM, namespace, name, lambda o: (o.get("status") or {}).get("printableStatus", ""), until,
                            timeout, keep_empty=False)

    def vmi_phase(self, name: str, namespace: str = "demo") -> str:
        return ((self.get(VMI, name, namespace) or {}).get("status") or {}).get("phase", "")

    def events(self, reason: str) -> list[dict]:
        return [e for e in self.store.list(EVENT)[0] if e.get("reason") == reason]

    def bound_pvc(self, name: str, modes: tuple[str, ...] = ("ReadWriteMany",), size: str = "10Gi",
                  namespace: str = "demo") -> dict:
        return self.service.create(PVC, {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"accessModes": list(modes), "resources": {"requests": {"storage": size}},
                     "storageClassName": "standard", "volumeMode": "Filesystem", "volumeName": f"pv-{name}"},
            "status": {"phase": "Bound", "accessModes": list(modes), "capacity": {"storage": size}}}, keep_status=True)


def vm_manifest(name: str = "vm1", run_strategy: Optional[str] = "Always", *, memory: str = "1Gi",
                image: str = "quay.io/containerdisks/fedora:41", volumes: Optional[list] = None,
                disks: Optional[list] = None, running: Optional[bool] = None, **template_spec: Any) -> dict:
    spec: dict = {"template": {"metadata": {"labels": {"kubevirt.io/domain": name}}, "spec": {
        "domain": {"devices": {"disks": disks if disks is not None else [
            {"name": "rootdisk", "disk": {"bus": "virtio"}}]},
                   "memory": {"guest": memory}},
        "volumes": volumes if volumes is not None else [{"name": "rootdisk", "containerDisk": {"image": image}}],
        **template_spec}}}
    if run_strategy is not None:
        spec["runStrategy"] = run_strategy
    if running is not None:
        spec["running"] = running
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name, "namespace": "demo"},
            "spec": spec}


def api_error(fn: Callable[[], Any]) -> ApiError:
    try:
        fn()
    except ApiError as exc:
        return exc
    raise AssertionError("no ApiError raised")
