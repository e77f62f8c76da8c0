"""Services: what kube-apiserver allocates on create and what a load-balancer controller reports.

The apiserver's service registry gives every non-headless Service a clusterIP from the service CIDR
(OpenShift 172.30.0.0/16, Kubernetes 10.96.0.0/12) and every NodePort/LoadBalancer port a nodePort
from 30000-32767, keeping earlier allocations on update. A MetalLB-like controller then publishes
``status.loadBalancer.ingress`` for LoadBalancer Services one transition later.
"""
from __future__ import annotations

import ipaddress
from typing import Any, Iterable, Optional

from ..api import errors
from ..api.resources import AdmissionRequest
from .keys import SERVICE
from .runtime import Controller, Runtime
from .virtcommon import flavor

NODE_PORT_RANGE = range(30000, 32768)
LB_POOL = ipaddress.ip_network("192.168.200.0/24")  # the seed's pool too; never contacted


def _service_cidr(options: dict) -> ipaddress.IPv4Network:
    return ipaddress.ip_network("172.30.0.0/16" if flavor(options) == "openshift" else "10.96.0.0/12")


def _first_free(candidates: Iterable[Any], used: set) -> Any:
    for candidate in candidates:
        if candidate not in used:
            return candidate
    return None


class ServiceController(Controller):
    name = "services"
    watches = (SERVICE,)

    def __init__(self) -> None:
        self._waited: set[tuple[str, str]] = set()

    def setup(self, rt: Runtime) -> None:
        self.rt = rt
        rt.registry.add_mutating(SERVICE, self.allocate)

    # -- apiserver-side allocation (runs on HTTP threads) --------------------------------------
    def allocate(self, request: AdmissionRequest, new: Optional[dict], old: Optional[dict]) -> None:
        if new is None or request.operation not in ("CREATE", "UPDATE"):
            return
        spec = new.setdefault("spec", {})
        kind = spec.setdefault("type", "ClusterIP")
        old_spec = (old or {}).get("spec") or {}
        with self.rt.store.lock:
            if kind != "ExternalName":
                self._cluster_ip(spec, old_spec)
            if kind in ("NodePort", "LoadBalancer"):
                self._node_ports(spec, old_spec, request)

    def _services(self) -> list[dict]:
        return self.rt.service.list(SERVICE)

    def _cluster_ip(self, spec: dict, old_spec: dict) -> None:
        if not spec.get("clusterIP") and old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
        if spec.get("clusterIP") in (None, ""):
            used = {s.get("spec", {}).get("clusterIP") for s in self._services()}
            hosts = _service_cidr(self.rt.options).hosts()
            next(hosts)  # .1 is the kubernetes Service
            free = _first_free((str(ip) for ip in hosts), used)
            if free is None:
                raise errors.internal("failed to allocate a serviceIP: range is full")
            spec["clusterIP"] = free
        if spec["clusterIP"] != "None":
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")

    def _node_ports(self, spec: dict, old_spec: dict, request: AdmissionRequest) -> None:
        previous = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in old_spec.get("ports") or []}
        used = {p.get("nodePort") for s in self._services() for p in s.get("spec", {}).get("ports") or []
                if not (s["metadata"]["name"] == request.name and s["metadata"].get("namespace") == request.namespace)}
        for port in spec.get("ports") or []:
            if port.get("nodePort"):
                if port["nodePort"] in used:
                    raise errors.invalid("Service", "", request.name or "", [{
                        "reason": "FieldValueInvalid", "field": "spec.ports[0].nodePort",
                        "message": f"Invalid value: {port['nodePort']}: provided port is already allocated"}])
            else:
                port["nodePort"] = previous.get((port.get("port"), port.get("protocol", "TCP"))) or \
                    _first_free(NODE_PORT_RANGE, used)
            used.add(port["nodePort"])

    # -- load-balancer controller --------------------------------------------------------------
    def reconcile(self, rt: Runtime, gr, namespace: str, name: str) -> None:
        svc = rt.store.get(SERVICE, namespace, name)
        key = (namespace, name)
        if svc is None or svc.get("spec", {}).get("type") != "LoadBalancer":
            self._waited.discard(key)
            return
        if (svc.get("status") or {}).get("loadBalancer", {}).get("ingress"):
            return
        if key not in self._waited:  # the address shows up one transition after the Service
            self._waited.add(key)
            rt.requeue(self, SERVICE, namespace, name, steps=1)
            return
        used = {i.get("ip") for s in rt.service.list(SERVICE)
                for i in (s.get("status") or {}).get("loadBalancer", {}).get("ingress") or []}
        free = _first_free((str(ip) for ip in LB_POOL.hosts()), used)
        if free is None:
            return  # pool exhausted: stays <pending>, as with MetalLB
        ingress = {"loadBalancer": {"ingress": [{"ip": free, "ipMode": "VIP"}]}}
        rt.service.mutate(SERVICE, namespace, name, lambda o: o.__setitem__("status", ingress),
                          subresource="status")
