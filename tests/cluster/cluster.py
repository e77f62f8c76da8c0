"""Assembles the local test cluster: registry + schemas, store, object service, controllers, API server.

``Cluster(options).start()`` bootstraps the initial objects (namespaces, the restricted user's
namespaces, OpenShift's DNS config), starts the controllers and serves HTTPS on loopback;
``stop()`` closes watches and stops everything. ``python -m tests.cluster`` and the pytest fixture
drive it.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from .api import catalog, schemas
from .api.auth import Auth
from .api.discovery import Discovery
from .api.handlers import ApiServer
from .api.objects import ObjectService
from .api.pagination import ListCache
from .api.request import Request
from .api.store import HISTORY_SIZE, Store
from .controllers import all_controllers
from .controllers.runtime import Runtime
from .faults import Faults
from .requestlog import RequestLog
from .server import HttpServerThread
from .tls import TlsMaterial, dump_kubeconfig, generate, kubeconfig, write_private

log = logging.getLogger("cluster")

# OpenShift's cluster DNS config: cluster name "local" under the reserved ".test" TLD, so that
# routes/ingresses read as apps.local.ocp.test and nothing can leak to real DNS.
BASE_DOMAIN = "local.ocp.test"


@dataclass
class ClusterOptions:
    port: int = 0
    host: str = "127.0.0.1"
    flavor: str = "openshift"
    time_scale: float = 1.0
    seed_vms: int = 0
    seed_namespaces: int = 1
    faults: str = ""
    restricted_namespaces: tuple[str, ...] = ("restricted-ns",)
    nodes: int = 3
    seed: int = 0
    history_size: int = HISTORY_SIZE
    strict_controllers: bool = True  # every controller module of controllers/__init__.py must exist
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kubevirt_namespace(self) -> str:
        return "openshift-cnv" if self.flavor == "openshift" else "kubevirt"

    @property
    def cdi_namespace(self) -> str:
        return "openshift-cnv" if self.flavor == "openshift" else "cdi"


class Cluster:
    def __init__(self, options: ClusterOptions) -> None:
        if options.flavor not in ("openshift", "kubernetes"):
            raise ValueError(f"unknown flavor {options.flavor!r} (openshift or kubernetes)")
        self.options = options
        self.flavor = options.flavor
        self.registry = catalog.build_registry(options.flavor)
        schemas.attach_schemas(self.registry, options.flavor)
        self.store = Store(history_size=options.history_size)
        self.lists = ListCache(self.store)
        self.service = ObjectService(self.store, self.registry, seed=options.seed)
        self.runtime = Runtime(self.store, self.registry, self.service, time_scale=options.time_scale,
                               options=self._runtime_options())
        self.auth = Auth(options.restricted_namespaces)
        self.faults = Faults(options.faults, seed=options.seed)
        self.requestlog = RequestLog()
        self.tls: TlsMaterial = generate((options.host, "localhost"))
        self.discovery = Discovery(self.registry)
        self.api = ApiServer(self)
        self.stopping = threading.Event()
        self.compacted_rv = 0
        # BOOKMARK cadence: a real apiserver sends one about every minute; scaled like transitions
        self.bookmark_interval = max(1.0, min(60.0, 60.0 * options.time_scale))
        self._http: Optional[HttpServerThread] = None
        self._controllers = all_controllers(strict=options.strict_controllers)

    def _runtime_options(self) -> dict:
        o = self.options
        return {"flavor": o.flavor, "nodes": o.nodes, "time_scale": o.time_scale, "seed": o.seed,
                "kubevirt_namespace": o.kubevirt_namespace, "cdi_namespace": o.cdi_namespace,
                "restricted_namespaces": list(o.restricted_namespaces), "base_domain": BASE_DOMAIN, **o.extra}

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> "Cluster":
        for controller in self._controllers:
            self.runtime.add(controller)
        self._bootstrap()
        self.runtime.start()
        self._http = HttpServerThread(self.options.host, self.options.port, self.api,
                                      self.tls.server_context(), self.log_request)
        self.discovery.server_address = f"{self.options.host}:{self._http.port}"
        self.runtime.options["url"] = self.url  # CDIConfig's uploadProxyURL and the like
        self.runtime.options["ca_pem"] = self.tls.ca_pem.decode()  # the export links' cert
        self._http.start()
        log.info("serving %s (flavor %s, %d controllers)", self.url, self.flavor, len(self._controllers))
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.store.close_watchers()
        if self._http is not None:
            self._http.stop()
        self.runtime.stop()

    def _bootstrap(self) -> None:
        names = ["default", "kube-system", "kube-public", "kube-node-lease", self.options.kubevirt_namespace]
        if self.options.cdi_namespace not in names:
            names.append(self.options.cdi_namespace)
        names.extend(n for n in self.options.restricted_namespaces if n not in names)
        for name in names:
            self.service.create(("", "namespaces"), {"apiVersion": "v1", "kind": "Namespace",
                                                     "metadata": {"name": name}})
        if self.flavor == "openshift":
            self.service.create(("config.openshift.io", "dnses"), {
                "apiVersion": "config.openshift.io/v1", "kind": "DNS",
                "metadata": {"name": "cluster"},
                "spec": {"baseDomain": BASE_DOMAIN, "platform": {"type": ""}},
                "status": {}}, keep_status=True)

    def seed(self, vms: int, namespaces: int) -> None:
        """Create seed VMs through ``tests/cluster/seed.py`` (skipped while it does not exist)."""
        if vms <= 0:
            return
        try:
            from . import seed as seed_module
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.seed":
                raise
            log.warning("tests/cluster/seed.py not present: --seed-vms ignored")
            return
        started = time.monotonic()
        seed_module.seed(self, vms=vms, namespaces=max(namespaces, 1))
        log.info("seeded %d VMs in %d namespaces in %.1fs", vms, namespaces, time.monotonic() - started)

    # -- facts for clients -----------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._http.port if self._http else 0

    @property
    def url(self) -> str:
        return f"https://{self.options.host}:{self.port}"

    @property
    def admin_token(self) -> str:
        return self.auth.admin_token

    @property
    def restricted_token(self) -> str:
        return self.auth.restricted_token

    def kubeconfig(self) -> dict:
        restricted = self.options.restricted_namespaces[0] if self.options.restricted_namespaces else "default"
        return kubeconfig(self.url, self.tls.ca_pem, self.admin_token, self.restricted_token, restricted)

    def write_kubeconfig(self, path: str) -> None:
        write_private(path, dump_kubeconfig(self.kubeconfig()))

    # -- services for the API handlers -----------------------------------------------------------
    def log_request(self, req: Request, status: int) -> None:
        if req.loggable:
            self.requestlog.record(method=req.method, path=req.path, query=req.raw_query,
                                   content_type=req.content_type_full, status=status, user=req.user,
                                   verb=req.verb, dry_run=req.dry_run)

    def oldest_rv(self) -> int:
        """Resource versions below this are gone (history bound or the last compaction): 410."""
        return max(self.store.oldest_rv, self.compacted_rv)

    def compact(self) -> int:
        """Forget the history up to now, as an etcd compaction does: every resourceVersion handed
        out so far (list, continue token, watch) is then too old."""
        self.compacted_rv = self.store.next_rv()
        return self.compacted_rv

    def state(self) -> dict:
        return {"resourceVersion": str(self.store.resource_version), "compactedResourceVersion": self.compacted_rv,
                "watches": len(getattr(self.store, "_watchers", ())), "controllersIdle": self.runtime.idle(),
                "controllers": [c.name for c in self.runtime.controllers],
                "controllerErrors": list(self.runtime.errors)[-20:]}

