# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the ``virt.kubevirt.kubevirt`` inventory reads from one cluster, in as few requests as possible.

One cluster-wide paginated list per resource type (VirtualMachines, VirtualMachineInstances and,
only when needed, Services), sent concurrently: the request count does not grow with the number
of namespaces. A user who may not list cluster-wide (403) falls back to the namespaces they can
see (OpenShift Projects, else Namespaces) or to the ``namespaces`` option, listed concurrently
with a bounded pool. Objects are trimmed to what the inventory uses, which also keeps the
inventory cache small.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._inventory_hosts import (
    RUNNING_PHASE,
    is_candidate_service,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    NAMESPACE,
    PROJECT,
    SERVICE,
    VIRTUAL_MACHINE,
    VIRTUAL_MACHINE_INSTANCE,
    DNS_CONFIG,
    ResourceRef,
)

DEFAULT_API_VERSION = "kubevirt.io/v1"
DEFAULT_WORKERS = 8
PAGE_SIZE = 500
# 2: the clusters are one JSON document in a string (see cache_entry).
CACHE_FORMAT = 2

VMS, VMIS, SERVICES = "vms", "vmis", "services"
_METADATA_KEYS = ("name", "namespace", "uid", "labels", "annotations", "resourceVersion")


@dataclass(frozen=True)
class FetchSpec:
    """What to read from a cluster."""

    namespaces: Optional[Tuple[str, ...]] = None
    label_selector: Optional[str] = None
    api_version: str = DEFAULT_API_VERSION
    services: bool = True
    base_domain: bool = False
    workers: int = DEFAULT_WORKERS
    page_size: int = PAGE_SIZE


@dataclass
class ClusterData:
    """Trimmed objects of one cluster; ``to_cache``/``from_cache`` round-trip through JSON."""

    name: str
    server: str
    vms: List[Dict[str, Any]] = field(default_factory=list)
    vmis: List[Dict[str, Any]] = field(default_factory=list)
    services: List[Dict[str, Any]] = field(default_factory=list)
    base_domain: Optional[str] = None
    warnings: List[str] = field(default_factory=list)
    requests: int = 0

    def to_cache(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "server": self.server,
            "vms": self.vms,
            "vmis": self.vmis,
            "services": self.services,
            "base_domain": self.base_domain,
        }

    @classmethod
    def from_cache(cls, data: Mapping[str, Any]) -> "ClusterData":
        return cls(
            name=data["name"],
            server=data["server"],
            vms=list(data.get("vms") or []),
            vmis=list(data.get("vmis") or []),
            services=list(data.get("services") or []),
            base_domain=data.get("base_domain"),
        )


def cache_entry(fetch_key: str, clusters: Sequence[ClusterData]) -> Dict[str, Any]:
    """The inventory cache value: the objects as one compact JSON string.

    ansible-core's cache layer encodes and decodes every value with its own pure-Python JSON
    profile, visiting each node (about 2.5 s to write and 0.8 s to read 10,000 VMs); one string is
    a single node, and the stdlib's C codec does the rest. Strings decoded by ``json.loads`` carry
    no trust, so cached values stay as untrusted as fetched ones.
    """
    payload = json.dumps([cluster.to_cache() for cluster in clusters], separators=(",", ":"))
    return {"format": CACHE_FORMAT, "key": fetch_key, "clusters": payload}


def clusters_from_cache(cached: Any, fetch_key: str) -> Optional[List[ClusterData]]:
    """The clusters of a cache value written by ``cache_entry`` for ``fetch_key``, else None."""
    if not isinstance(cached, dict) or cached.get("format") != CACHE_FORMAT or cached.get("key") != fetch_key:
        return None
    payload = cached.get("clusters")
    if not isinstance(payload, str):
        return None
    try:
        return [ClusterData.from_cache(cluster) for cluster in json.loads(str(payload))]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def kubevirt_refs(api_version: str) -> Tuple[ResourceRef, ResourceRef]:
    """VirtualMachine and VirtualMachineInstance refs for ``api_version`` (``group/version``)."""
    group, sep, version = (api_version or "").partition("/")
    if not sep or not group or not version or "/" in version:
        raise ValueError("api_version must look like kubevirt.io/v1, got %r" % api_version)
    return (
        replace(VIRTUAL_MACHINE, group=group, version=version),
        replace(VIRTUAL_MACHINE_INSTANCE, group=group, version=version),
    )


def _slim_metadata(obj: Mapping[str, Any]) -> Dict[str, Any]:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return {}
    return {key: metadata[key] for key in _METADATA_KEYS if key in metadata}


def slim_vm(vm: Mapping[str, Any]) -> Dict[str, Any]:
    """Metadata, status, and the instancetype/preference references of a VirtualMachine."""
    spec = vm.get("spec") if isinstance(vm.get("spec"), dict) else {}
    slim: Dict[str, Any] = {"metadata": _slim_metadata(vm), "spec": {}}
    for key in ("instancetype", "preference"):
        if key in spec:
            slim["spec"][key] = spec[key]
    if "status" in vm:
        slim["status"] = vm["status"]
    return slim


def slim_vmi(vmi: Mapping[str, Any]) -> Dict[str, Any]:
    slim: Dict[str, Any] = {"metadata": _slim_metadata(vmi)}
    if "status" in vmi:
        slim["status"] = vmi["status"]
    return slim


def slim_service(service: Mapping[str, Any]) -> Dict[str, Any]:
    spec = service["spec"]
    status = service.get("status") if isinstance(service.get("status"), dict) else {}
    return {
        "metadata": _slim_metadata(service),
        "spec": {"type": spec.get("type"), "ports": spec.get("ports"), "selector": spec.get("selector")},
        "status": {"loadBalancer": status.get("loadBalancer") or {}},
    }


def _trim(kind: str, items: Iterable[Any]) -> List[Dict[str, Any]]:
    if kind == SERVICES:
        return [slim_service(item) for item in items if is_candidate_service(item)]
    slim = slim_vm if kind == VMS else slim_vmi
    return [slim(item) for item in items if isinstance(item, dict)]


class _Fetcher:
    """One cluster's reads: shares the client, the worker pool and the warnings."""

    def __init__(self, client: Any, spec: FetchSpec, pool: ThreadPoolExecutor) -> None:
        self.client = client
        self.spec = spec
        self.pool = pool
        self.warnings: List[str] = []
        vm_ref, vmi_ref = kubevirt_refs(spec.api_version)
        self.refs = {VMS: vm_ref, VMIS: vmi_ref, SERVICES: SERVICE}

    def list(self, kind: str, namespace: Optional[str] = None) -> List[Dict[str, Any]]:
        selector = self.spec.label_selector if kind != SERVICES else None
        items: List[Dict[str, Any]] = []
        for page in self.client.list_pages(
            self.refs[kind], namespace=namespace, label_selector=selector, limit=self.spec.page_size
        ):
            items.extend(_trim(kind, page))
        return items

    def cluster_wide(self, kinds: Sequence[str]) -> Tuple[Dict[str, List[Dict[str, Any]]], Dict[str, KubeApiError]]:
        """Each kind in one paginated call chain, concurrently; 403s are returned, not raised."""
        futures = {kind: self.pool.submit(self.list, kind) for kind in kinds}
        results: Dict[str, List[Dict[str, Any]]] = {}
        forbidden: Dict[str, KubeApiError] = {}
        failure: Optional[KubeApiError] = None
        for kind, future in futures.items():
            try:
                results[kind] = future.result()
            except KubeApiError as err:
                if err.status == 403:
                    forbidden[kind] = err
                elif failure is None:
                    failure = err
        if failure is not None:
            raise failure
        return results, forbidden

    def per_namespace(self, kinds: Sequence[str], namespaces: Sequence[str], explicit: bool) -> Dict[str, List[Dict[str, Any]]]:
        """Each kind in each namespace, concurrently, merged in namespace order.

        A 403 in a namespace the user named is an error; in a discovered namespace (a Project the
        user can see without reading its VMs) it is skipped with a warning; Services are optional.
        """
        futures = [(kind, ns, self.pool.submit(self.list, kind, ns)) for ns in namespaces for kind in kinds]
        results: Dict[str, List[Dict[str, Any]]] = {kind: [] for kind in kinds}
        skipped: List[Tuple[str, str]] = []
        failure: Optional[KubeApiError] = None
        for kind, namespace, future in futures:
            try:
                results[kind].extend(future.result())
            except KubeApiError as err:
                if err.status == 403 and (kind == SERVICES or not explicit):
                    skipped.append((kind, namespace))
                elif failure is None:
                    failure = err.with_context("namespace %s" % namespace) if err.status == 403 else err
        if failure is not None:
            raise failure
        for kind, namespace in skipped:
            self.warnings.append("skipped %s in namespace %s: forbidden" % (self.refs[kind].plural, namespace))
        return results

    def visible_namespaces(self, cause: KubeApiError) -> List[str]:
        """The namespaces the user can see: OpenShift Projects, else Namespaces."""
        for ref in (PROJECT, NAMESPACE):
            try:
                items = self.client.list(ref, limit=self.spec.page_size)
            except KubeApiError as err:
                if err.status in (403, 404):
                    continue
                raise
            return sorted(
                item["metadata"]["name"] for item in items
                if isinstance(item.get("metadata"), dict) and item["metadata"].get("name")
            )
        raise KubeApiError(
            "%s, and neither projects nor namespaces can be listed to fall back to; "
            "set the namespaces option to the namespaces this user may read" % cause.message,
            status=403,
            reason="Forbidden",
        )

    def base_domain(self) -> Optional[str]:
        """``spec.baseDomain`` of OpenShift's ``DNS/cluster``; None elsewhere or when not readable."""
        try:
            dns = self.client.get(DNS_CONFIG, "cluster")
        except KubeApiError:
            # Optional: without it host names are built without the base domain.
            return None
        spec = dns.get("spec") if isinstance(dns, dict) else None
        value = spec.get("baseDomain") if isinstance(spec, dict) else None
        return value if isinstance(value, str) and value else None


def running_namespaces(vmis: Iterable[Mapping[str, Any]]) -> List[str]:
    """Namespaces with a running VMI: the only ones whose Services matter."""
    found = set()
    for vmi in vmis:
        status = vmi.get("status")
        if isinstance(status, dict) and status.get("phase") == RUNNING_PHASE:
            found.add(vmi["metadata"].get("namespace"))
    return sorted(ns for ns in found if isinstance(ns, str) and ns)


def fetch_cluster(client: Any, spec: FetchSpec, name: str, server: str) -> ClusterData:
    """Read one cluster. ``client`` is a ResourceClient; KubeApiError propagates for real failures."""
    data = ClusterData(name=name, server=server)
    with ThreadPoolExecutor(max_workers=max(1, spec.workers)) as pool:
        fetcher = _Fetcher(client, spec, pool)
        domain_future = pool.submit(fetcher.base_domain) if spec.base_domain else None
        kinds = [VMS, VMIS]
        if spec.namespaces is not None:
            results = fetcher.per_namespace(kinds, spec.namespaces, explicit=True)
        else:
            cluster_kinds = kinds + [SERVICES] if spec.services else kinds
            results, forbidden = fetcher.cluster_wide(cluster_kinds)
            retry = [kind for kind in kinds if kind in forbidden]
            if retry:
                namespaces = fetcher.visible_namespaces(forbidden[retry[0]])
                results.update(fetcher.per_namespace(retry, namespaces, explicit=False))
        if spec.services and SERVICES not in results:
            # Per-namespace Services only where a VM runs: the rest could never match a host.
            namespaces = running_namespaces(results[VMIS])
            results.update(fetcher.per_namespace([SERVICES], namespaces, explicit=True))
        data.base_domain = domain_future.result() if domain_future is not None else None
    data.vms, data.vmis = results[VMS], results[VMIS]
    data.services = results.get(SERVICES, [])
    data.warnings = fetcher.warnings
    data.requests = getattr(client, "request_count", 0)
    return data
