"""Service allocations over HTTP: clusterIP, nodePorts, LoadBalancer ingress."""
from __future__ import annotations

import time

from kubernetes import client


def _svc(name: str, kind: str, **port) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": kind, "selector": {"kubevirt.io/domain": name},
                     "ports": [{"port": 22, "targetPort": 22, "protocol": "TCP", **port}]}}


def test_cluster_ip_and_node_ports_are_allocated(cluster, fresh_namespace):
    core = client.CoreV1Api(cluster.api_client())
    ip_svc = core.create_namespaced_service(fresh_namespace, _svc("plain", "ClusterIP"))
    node_svc = core.create_namespaced_service(fresh_namespace, _svc("ssh", "NodePort"))
    assert ip_svc.spec.cluster_ip.startswith("172.30.") and ip_svc.spec.cluster_ips == [ip_svc.spec.cluster_ip]
    assert node_svc.spec.cluster_ip != ip_svc.spec.cluster_ip
    assert 30000 <= node_svc.spec.ports[0].node_port <= 32767
    assert ip_svc.spec.ports[0].node_port is None


def test_node_port_collision_is_invalid(cluster, fresh_namespace):
    core = client.CoreV1Api(cluster.api_client())
    first = core.create_namespaced_service(fresh_namespace, _svc("a", "NodePort"))
    taken = first.spec.ports[0].node_port
    try:
        core.create_namespaced_service(fresh_namespace, _svc("b", "NodePort", nodePort=taken))
    except client.ApiException as exc:
        assert exc.status == 422 and "provided port is already allocated" in exc.body
    else:
        raise AssertionError("duplicate nodePort accepted")


def test_load_balancer_gets_an_ingress_address(cluster, fresh_namespace):
    core = client.CoreV1Api(cluster.api_client())
    created = core.create_namespaced_service(fresh_namespace, _svc("lb", "LoadBalancer"))
    assert not (created.status.load_balancer and created.status.load_balancer.ingress)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        svc = core.read_namespaced_service("lb", fresh_namespace)
        if svc.status.load_balancer and svc.status.load_balancer.ingress:
            assert svc.status.load_balancer.ingress[0].ip.startswith("192.168.200.")
            return
        time.sleep(0.05)
    raise AssertionError("LoadBalancer Service never got an ingress address")
