"""Seed a cluster with many VMs quickly (``--seed-vms N --seed-namespaces M``).

The objects are written straight through ``ObjectService`` in the state the controllers would
converge to (so the controllers find nothing to change afterwards), shaped by the same builders the
controllers use: ``virt.vmi_from_vm`` + ``virtapi.default_vm/default_vmi`` for specs,
``launcher.launcher_pod/pod_running_status/running_status`` for the running VMI and its pod.

Mix (deterministic for a given ``rng``): ~80% running (VMI Running on a node, pod IP, guest agent
with guestOSInfo), the rest stopped (runStrategy Halted); guests fedora / rhel9 / rhel8 / centos
stream / ubuntu and a few Windows Server (``vm.kubevirt.io/os`` annotation, WinRM Service);
labels ``app``, ``env``, ``os``, ``tier``; ~10% of the running VMs get an SSH Service (NodePort or
LoadBalancer selecting ``kubevirt.io/domain``, port 22). Extra worker nodes are added so that no
node carries more than ``VMS_PER_NODE`` running VMs.
"""
from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass, field
from typing import Any, Optional

from .api import errors
from .api.objects import now_rfc3339
from .controllers import launcher
from .controllers.guestos import guest_os_info
from .controllers.keys import NAMESPACE, NODE, POD, SERVICE, VM, VMI
from .controllers.nmstate import ensure_node_network_state
from .controllers.nodes import build_node, node_name, pod_ip
from .controllers.virt import vmi_from_vm
from .controllers.virtapi import default_vm, default_vmi
from .controllers.vm_snapshot_source import volume_snapshot_statuses
from .controllers.virtcommon import NODE_NAME_LABEL, VM_CONTROLLER_FINALIZER, ensure_kubevirt_cr, flavor

log = logging.getLogger("cluster.seed")

VMS_PER_NODE = 110
RUNNING_RATIO = 0.8
SSH_RATIO = 0.1
BATCH = 500
# (os label, containerDisk image, weight)
GUESTS = [
    ("fedora", "quay.io/containerdisks/fedora:41", 30),
    ("rhel9", "registry.redhat.io/rhel9/rhel-guest-image:9.6", 25),
    ("centos-stream9", "quay.io/containerdisks/centos-stream:9", 15),
    ("ubuntu", "quay.io/containerdisks/ubuntu:24.04", 12),
    ("rhel8", "registry.redhat.io/rhel8/rhel-guest-image:8.10", 13),
    ("windows2k22", "registry.example.com/windows/win2k22-containerdisk:latest", 5),
]
APPS = ["web", "db", "cache", "api", "batch", "queue"]
ENVS = ["prod", "staging", "dev"]


@dataclass
class SeedResult:
    namespaces: list[str] = field(default_factory=list)
    vms: int = 0
    running: int = 0
    windows: int = 0
    services: int = 0
    nodes: int = 0


def _target(cluster_or_service: Any) -> tuple[Any, dict]:
    """(ObjectService, runtime options) from a Cluster, a Runtime or an ObjectService."""
    service = getattr(cluster_or_service, "service", cluster_or_service)
    runtime = getattr(cluster_or_service, "runtime", None) or getattr(cluster_or_service, "rt", None)
    options = dict(getattr(runtime, "options", None) or getattr(cluster_or_service, "options", None) or {})
    if not isinstance(options, dict):  # a Cluster's ClusterOptions dataclass
        options = {"flavor": getattr(options, "flavor", "openshift")}
    return service, options


def _ensure_nodes(service: Any, options: dict, running: int) -> list[dict]:
    store = service.store
    nodes = store.list(NODE)[0]
    wanted = max(len(nodes), math.ceil(running / VMS_PER_NODE))
    index = len(nodes)
    while len(store.list(NODE)[0]) < wanted:
        index += 1
        if store.get(NODE, None, node_name(index)) is None:
            service.create(NODE, build_node(index, options), keep_status=True)
    for node in store.list(NODE)[0]:  # kubernetes-nmstate's handler reports each node's network state
        ensure_node_network_state(service, node)
    return [n for n in store.list(NODE)[0] if not n.get("spec", {}).get("unschedulable")]


def _vm_manifest(name: str, namespace: str, guest: tuple[str, str, int], rng: random.Random,
                 running: bool, options: dict) -> dict:
    os_label, image, _ = guest
    app, env = rng.choice(APPS), rng.choice(ENVS)
    windows = os_label.startswith("windows")
    labels = {"app": app, "env": env, "os": os_label, "tier": "backend" if app in ("db", "cache", "queue") else
              "frontend"}
    cpu = rng.choice((1, 2, 2, 4)) if not windows else 4
    memory = rng.choice(("1Gi", "2Gi", "2Gi", "4Gi")) if not windows else "8Gi"
    template_annotations = {"vm.kubevirt.io/os": os_label, "vm.kubevirt.io/workload": "server",
                            "vm.kubevirt.io/flavor": "small" if cpu <= 2 else "medium"}
    volumes = [{"name": "rootdisk", "containerDisk": {"image": image}}]
    disks = [{"name": "rootdisk", "disk": {"bus": "sata" if windows else "virtio"}, "bootOrder": 1}]
    if not windows:
        volumes.append({"name": "cloudinitdisk", "cloudInitNoCloud": {
            "userData": f"#cloud-config\nhostname: {name}\n"
                        "ssh_authorized_keys:\n  - ssh-ed25519 AAAAC3Nz seed@local\n"}})
        disks.append({"name": "cloudinitdisk", "disk": {"bus": "virtio"}})
    vm = {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": namespace, "labels": labels, "finalizers": [VM_CONTROLLER_FINALIZER],
                     "annotations": {"kubevirt.io/latest-observed-api-version": "v1",
                                     "kubevirt.io/storage-observed-api-version": "v1"}},
        "spec": {
            "runStrategy": "Always" if running else "Halted",
            "template": {
                "metadata": {"labels": {"kubevirt.io/domain": name, "app": app, "env": env},
                             "annotations": template_annotations},
                "spec": {
                    "domain": {"cpu": {"cores": 1, "sockets": cpu, "threads": 1},
                               "memory": {"guest": memory},
                               "devices": {"disks": disks,
                                           "interfaces": [{"name": "default", "masquerade": {}, "model": "virtio"}]},
                               "features": {"acpi": {},
                                            **({"hyperv": {"relaxed": {}, "vapic": {}}} if windows else {})}},
                    "networks": [{"name": "default", "pod": {}}],
                    "evictionStrategy": "LiveMigrate",
                    "terminationGracePeriodSeconds": 3600 if windows else 180,
                    "volumes": volumes,
                }}}}
    default_vm(vm, options)
    return vm


def _service(vm: dict, port: int, name_suffix: str, kind: str, ip: str, node_port: int, lb_ip: str) -> dict:
    name = vm["metadata"]["name"]
    spec: dict[str, Any] = {"type": kind, "selector": {"kubevirt.io/domain": name}, "clusterIP": ip,
                            "clusterIPs": [ip], "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                            "sessionAffinity": "None", "externalTrafficPolicy": "Cluster",
                            "internalTrafficPolicy": "Cluster",
                            "ports": [{"name": name_suffix, "port": port, "protocol": "TCP", "targetPort": port,
                                       "nodePort": node_port}]}
    status: dict[str, Any] = {"loadBalancer": {}}
    if kind == "LoadBalancer":
        spec["allocateLoadBalancerNodePorts"] = True
        status = {"loadBalancer": {"ingress": [{"ip": lb_ip, "ipMode": "VIP"}]}}
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"{name}-{name_suffix}", "namespace": vm["metadata"]["namespace"],
                         "labels": {"app": vm["metadata"]["labels"]["app"]}},
            "spec": spec, "status": status}


def seed(cluster_or_service: Any, vms: int, namespaces: int = 1, rng: Optional[random.Random] = None,
         *, prefix: str = "vms") -> SeedResult:
    """Create ``vms`` VMs spread round-robin over ``namespaces`` namespaces named ``<prefix>-0001``..."""
    service, options = _target(cluster_or_service)
    store = service.store
    rng = rng or random.Random(int(options.get("seed", 0)))
    flv = flavor(options)
    ensure_kubevirt_cr(service, options)
    result = SeedResult()
    plan = [(i, rng.random() < RUNNING_RATIO) for i in range(vms)]
    nodes = _ensure_nodes(service, options, sum(1 for _, running in plan if running))
    result.nodes = len(store.list(NODE)[0])
    next_ip = {n["metadata"]["name"]: _used(store, n["metadata"]["name"]) for n in nodes}
    hosts = {n["metadata"]["name"]: next((a["address"] for a in n["status"]["addresses"]
                                          if a["type"] == "InternalIP"), "") for n in nodes}
    for i in range(max(namespaces, 1)):
        name = f"{prefix}-{i + 1:04d}"
        result.namespaces.append(name)
        if store.get(NAMESPACE, None, name) is None:
            service.create(NAMESPACE, {"apiVersion": "v1", "kind": "Namespace",
                                       "metadata": {"name": name, "labels": {"purpose": "seed"}}})
    svc_base = "172.30" if flv == "openshift" else "10.96"
    # Hold the store lock per batch: the controllers (and API threads) wait instead of interleaving
    # with every single write, which would cost a GIL hand-off per object.
    for start in range(0, len(plan), BATCH):
        with store.lock:
            for index, running in plan[start:start + BATCH]:
                _seed_one(service, result, index, running, rng, nodes, next_ip, hosts, svc_base, flv, options)
    return result


def _seed_one(service: Any, result: SeedResult, index: int, running: bool, rng: random.Random, nodes: list[dict],
              next_ip: dict[str, int], hosts: dict[str, str], svc_base: str, flv: str, options: dict) -> None:
    namespace = result.namespaces[index % len(result.namespaces)]
    guest = rng.choices(GUESTS, [g[2] for g in GUESTS])[0]
    windows = guest[0].startswith("windows")
    name = f"{guest[0].split('-')[0]}-{APPS[index % len(APPS)]}-{index:05d}"
    vm = _vm_manifest(name, namespace, guest, rng, running, options)
    result.vms += 1
    result.windows += windows
    if not running:
        vm["status"] = {"created": False, "ready": False, "printableStatus": "Stopped", "conditions": [{
            "type": "Ready", "status": "False", "reason": "VMINotExists", "message": "VMI does not exist",
            "lastProbeTime": None, "lastTransitionTime": now_rfc3339()}],
            "volumeSnapshotStatuses": volume_snapshot_statuses(service.store, vm)}
        service.create(VM, vm, keep_status=True)
        return
    node = nodes[result.running % len(nodes)]
    result.running += 1
    node_name_ = node["metadata"]["name"]
    ip = pod_ip(node, next_ip[node_name_])
    next_ip[node_name_] += 1
    _create_running(service, vm, node_name_, hosts[node_name_], ip, flv, options)
    if rng.random() < SSH_RATIO or windows:
        kind = rng.choice(("NodePort", "LoadBalancer"))
        n = result.services
        svc = _service(vm, 5986 if windows else 22, "winrm" if windows else "ssh", kind,
                       f"{svc_base}.{(n // 250) % 250 + 1}.{n % 250 + 2}", 30000 + n % 2767,
                       f"192.168.200.{n % 250 + 2}")
        try:
            service.create(SERVICE, svc, keep_status=True)
            result.services += 1
        except errors.ApiError as exc:  # seeded twice
            log.debug("service %s: %s", svc["metadata"]["name"], exc.message)


def _used(store, node: str) -> int:
    return sum(1 for p in store.list(POD)[0] if p.get("spec", {}).get("nodeName") == node)


def _create_running(service: Any, vm: dict, node: str, host_ip: str, ip: str, flv: str, options: dict) -> None:
    """VM + VMI + virt-launcher pod of a running VM, converged."""
    store = service.store
    vm["metadata"].update(uid="", generation=1)  # create() assigns the real ones
    vmi = vmi_from_vm(store, vm)
    default_vmi(vmi, options)
    guest = guest_os_info(vmi)
    lookup = lambda claim: store.get(("", "persistentvolumeclaims"), vm["metadata"]["namespace"], claim)  # noqa: E731
    pod_stub = {"metadata": {"uid": ""}, "spec": {"containers": [{"image": launcher.LAUNCHER_IMAGE[flv]}]},
                "status": {"podIP": ip}}
    status = launcher.running_status(vmi, pod_stub, node, lookup, flavor=flv, guest_os=guest)
    ready = status["conditions"][0]
    vm["status"] = {"conditions": [dict(ready)] + [dict(c) for c in status["conditions"][1:]],
                    "created": True, "ready": True, "runStrategy": "Always", "observedGeneration": 1,
                    "desiredGeneration": 1, "printableStatus": "Running",
                    "volumeSnapshotStatuses": volume_snapshot_statuses(store, vm)}
    created_vm = service.create(VM, vm, keep_status=True)
    vmi["metadata"]["ownerReferences"][0]["uid"] = created_vm["metadata"]["uid"]
    vmi["metadata"]["labels"][NODE_NAME_LABEL] = node
    stamp = now_rfc3339()
    status["phaseTransitionTimestamps"] = [{"phase": p, "phaseTransitionTimestamp": stamp}
                                           for p in ("Pending", "Scheduling", "Scheduled", "Running")]
    status["virtualMachineRevisionName"] = f"revision-start-vm-{created_vm['metadata']['uid']}-1"
    status.pop("activePods", None)
    vmi["status"] = status
    created_vmi = service.create(VMI, vmi, keep_status=True)
    pod = launcher.launcher_pod(created_vmi, f"virt-launcher-{vm['metadata']['name']}-{service.random_suffix()}", flv)
    pod["spec"]["nodeName"] = node
    pod["status"] = launcher.pod_running_status(pod, host_ip, ip)
    pod["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"] = \
        launcher.network_status_annotation(created_vmi, ip)
    created_pod = service.create(POD, pod, keep_status=True)
    final = dict(created_vmi)
    final["metadata"] = dict(created_vmi["metadata"])
    final["status"] = dict(created_vmi["status"], activePods={created_pod["metadata"]["uid"]: node})
    service.update(VMI, final, check_rv=False)
