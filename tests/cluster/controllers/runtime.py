"""Controller runtime: one worker thread, a timer heap and level-based reconcilers.

Every store commit is offered to each controller (``keys_for``), which answers the object keys it
wants reconciled. Reconcilers look at the current state, advance it by at most one transition and
ask to be called again ``steps`` transitions later (``Runtime.requeue``). A transition lasts
``time_scale`` seconds (tests: 0.05, the demo: about 1). A single worker and a (due, sequence)
ordered heap keep behaviour deterministic for a given sequence of requests.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import traceback
from typing import Iterable, Optional

from ..api.objects import ObjectService, now_rfc3339
from ..api.resources import GR, Registry
from ..api.store import Event, Store
from .disks import Disks

log = logging.getLogger("cluster.controllers")

ObjKey = tuple[GR, str, str]  # (gr, namespace or "", name)


class Controller:
    """Base class. Subclasses set ``name`` and ``watches`` and implement ``reconcile``."""

    name = "controller"
    watches: tuple[GR, ...] = ()

    def setup(self, rt: "Runtime") -> None:
        """Register admission hooks, subresource handlers and routes on ``rt.registry``."""

    def keys_for(self, event: Event) -> Iterable[ObjKey]:
        """Keys to reconcile after ``event``; by default the object itself if watched."""
        if event.gr in self.watches:
            meta = event.obj["metadata"]
            yield (event.gr, meta.get("namespace") or "", meta["name"])

    def reconcile(self, rt: "Runtime", gr: GR, namespace: str, name: str) -> None:
        raise NotImplementedError

    def start(self, rt: "Runtime") -> None:
        """Called once the cluster is serving: create initial objects (nodes, classes, ...)."""


class Runtime:
    def __init__(self, store: Store, registry: Registry, service: ObjectService,
                 time_scale: float = 0.05, options: Optional[dict] = None) -> None:
        self.store = store
        self.registry = registry
        self.service = service
        self.time_scale = time_scale
        self.options = options or {}
        self.controllers: list[Controller] = []
        self._heap: list[tuple[float, int, str, ObjKey]] = []
        self._pending: set[tuple[str, ObjKey]] = set()  # immediate (not delayed) entries queued
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stop = False
        self._thread: Optional[threading.Thread] = None
        self._by_name: dict[str, Controller] = {}
        self.errors: list[str] = []
        self.disks = Disks(self.options.get("volumes_dir"))  # volume bytes (sparse files)
        store.add_listener(self._on_event)

    # -- wiring --------------------------------------------------------------------------------
    def add(self, controller: Controller) -> None:
        self.controllers.append(controller)
        self._by_name[controller.name] = controller
        controller.setup(self)

    def start(self) -> None:
        for controller in self.controllers:
            controller.start(self)
        self._thread = threading.Thread(target=self._run, name="controllers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._thread:
            self._thread.join(timeout=5)
        self.disks.close()

    # -- scheduling ----------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        for controller in self.controllers:
            try:
                keys = list(controller.keys_for(event))
            except Exception:  # a bad mapper must not break the API write that triggered it
                log.exception("keys_for failed in %s", controller.name)
                continue
            for key in keys:
                self.enqueue(controller, key)

    def enqueue(self, controller: Controller | str, key: ObjKey, delay: float = 0.0) -> None:
        name = controller if isinstance(controller, str) else controller.name
        with self._cv:
            if delay <= 0:
                if (name, key) in self._pending:
                    return
                self._pending.add((name, key))
            heapq.heappush(self._heap, (time.monotonic() + max(delay, 0.0), next(self._seq), name, key))
            self._cv.notify()

    def requeue(self, controller: Controller | str, gr: GR, namespace: str | None, name: str,
                steps: float = 1.0) -> None:
        """Reconcile this object again after ``steps`` transitions."""
        self.enqueue(controller, (gr, namespace or "", name), delay=steps * self.time_scale)

    def transition_seconds(self, steps: float = 1.0) -> float:
        return steps * self.time_scale

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stop:
                    if self._heap:
                        wait = self._heap[0][0] - time.monotonic()
                        if wait <= 0:
                            break
                        self._cv.wait(timeout=wait)
                    else:
                        self._cv.wait()
                if self._stop:
                    return
                _, _, name, key = heapq.heappop(self._heap)
                self._pending.discard((name, key))
            controller = self._by_name[name]
            gr, namespace, obj_name = key
            try:
                controller.reconcile(self, gr, namespace, obj_name)
            except Exception:  # keep the cluster alive; retry later like a real controller
                message = f"{name} reconcile {key} failed:\n{traceback.format_exc()}"
                log.error(message)
                self.errors.append(message)
                self.enqueue(controller, key, delay=5 * self.time_scale)

    def idle(self) -> bool:
        """True when nothing is due now (tests may wait for this)."""
        with self._cv:
            return not self._heap or self._heap[0][0] > time.monotonic()

    # -- helpers for controllers ---------------------------------------------------------------
    def record_event(self, involved: dict, reason: str, message: str, *, event_type: str = "Normal",
                     component: str = "") -> None:
        """Create a core v1 Event about ``involved``, as controllers' event recorders do."""
        meta = involved["metadata"]
        namespace = meta.get("namespace") or "default"
        if self.store.get(("", "namespaces"), None, namespace) is None:
            return
        stamp = now_rfc3339()
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{self.service.random_suffix(16)}", "namespace": namespace},
            "involvedObject": {
                "apiVersion": involved.get("apiVersion"),
                "kind": involved.get("kind"),
                "name": meta["name"],
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "reason": reason,
            "message": message,
            "type": event_type,
            "source": {"component": component} if component else {},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "reportingComponent": component,
            "reportingInstance": "",
        }
        try:
            self.service.create(("", "events"), event)
        except Exception:  # events are best effort, as in client-go's recorder
            log.debug("event dropped", exc_info=True)
