"""What the cluster tests share: resource keys, polling with a deadline, and the in-process cluster.

``InProcessCluster`` is the cluster without HTTP: a Store, the served-type registry, an
ObjectService and a Runtime running the controllers under test, with writes that go through the
registry's admission hooks the way the REST handlers do. ``StorageEnv`` (storage_env.py) and
``Sim`` (virt_harness.py) build on it; the HTTP tests poll with ``wait_for`` too.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Optional

from tests.cluster.api.catalog import build_registry
from tests.cluster.api.objects import ObjectService
from tests.cluster.api.resources import GR, AdmissionRequest
from tests.cluster.api.store import Store
from tests.cluster.controllers.runtime import Controller, Runtime

# Written out here rather than imported from the controllers, so a wrong key there fails a test.
NS: GR = ("", "namespaces")
NODE: GR = ("", "nodes")
POD: GR = ("", "pods")
PVC: GR = ("", "persistentvolumeclaims")
PV: GR = ("", "persistentvolumes")
EVENT: GR = ("", "events")
CONFIGMAPS: GR = ("", "configmaps")
SECRETS: GR = ("", "secrets")
SERVICE: GR = ("", "services")
VM: GR = ("kubevirt.io", "virtualmachines")
VMI: GR = ("kubevirt.io", "virtualmachineinstances")
VMIM: GR = ("kubevirt.io", "virtualmachineinstancemigrations")
KV: GR = ("kubevirt.io", "kubevirts")
CIT: GR = ("instancetype.kubevirt.io", "virtualmachineclusterinstancetypes")
CPREF: GR = ("instancetype.kubevirt.io", "virtualmachineclusterpreferences")
DV: GR = ("cdi.kubevirt.io", "datavolumes")
DS: GR = ("cdi.kubevirt.io", "datasources")
SP: GR = ("cdi.kubevirt.io", "storageprofiles")
CDICONFIG: GR = ("cdi.kubevirt.io", "cdiconfigs")
CDI: GR = ("cdi.kubevirt.io", "cdis")
UTR: GR = ("upload.cdi.kubevirt.io", "uploadtokenrequests")
SC: GR = ("storage.k8s.io", "storageclasses")


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05,
             message: str = "condition", detail: Optional[Callable[[], str]] = None) -> Any:
    """Poll ``predicate`` until it answers something truthy (returned); AssertionError at the
    deadline, with ``detail()`` appended when given."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}" + (f"; {detail()}" if detail else ""))
        time.sleep(interval)


class InProcessCluster:
    """Store + registry + ObjectService + Runtime with ``controllers``; a context manager."""

    poll_interval = 0.005

    def __init__(self, controllers: Iterable[Controller], *, flavor: str, time_scale: float, options: dict,
                 seed: int = 0) -> None:
        self.store = Store()
        self.registry = build_registry(flavor)
        self.service = ObjectService(self.store, self.registry, seed=seed)
        self.rt = Runtime(self.store, self.registry, self.service, time_scale=time_scale, options=options)
        for controller in controllers:
            self.rt.add(controller)

    def close(self) -> None:
        self.rt.stop()

    def __enter__(self) -> "InProcessCluster":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- API-like writes (admission first, as the REST handlers do) --------------------------------
    def admitted_create(self, gr: GR, obj: dict, *, dry_run: bool = False, user: str = "admin",
                        version: str = "") -> dict:
        meta = obj["metadata"]
        self.registry.admit(AdmissionRequest("CREATE", gr, meta.get("namespace"), meta.get("name"), user, dry_run,
                                             version=version), obj, None)
        return self.service.create(gr, obj, dry_run=dry_run)

    def admitted_update(self, gr: GR, new: dict, old: Optional[dict]) -> dict:
        meta = new["metadata"]
        self.registry.admit(AdmissionRequest("UPDATE", gr, meta.get("namespace"), meta["name"], "admin", False),
                            new, old)
        return self.service.update(gr, new)

    # -- waits -----------------------------------------------------------------------------------
    def wait(self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
        return wait_for(predicate, timeout, self.poll_interval, what or str(predicate),
                        lambda: f"runtime errors: {self.rt.errors}")

    def observe(self, gr: GR, namespace: str, name: str, read: Callable[[dict], str], until: str,
                timeout: float = 5.0, *, keep_empty: bool = True) -> list[str]:
        """Distinct consecutive values of ``read(object)`` from now until ``until``, read from the
        store's event stream so that short-lived values are not missed (empty ones only with
        ``keep_empty``)."""
        watcher, _ = self.store.watch(gr, namespace, None)
        try:
            seen: list[str] = []
            current = self.store.get(gr, namespace, name)
            if current is not None and (keep_empty or read(current)):
                seen.append(read(current))
            deadline = time.monotonic() + timeout
            while not seen or seen[-1] != until:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{name} never reached {until}; saw {seen}; errors: {self.rt.errors}")
                event = watcher.next(remaining)
                if event is None or event.obj["metadata"]["name"] != name:
                    continue
                value = read(event.obj)
                if (keep_empty or value) and (not seen or seen[-1] != value):
                    seen.append(value)
            return seen
        finally:
            watcher.close()
