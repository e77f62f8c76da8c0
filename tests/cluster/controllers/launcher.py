"""Builders for what virt-controller and virt-handler put on the cluster for a running VMI: the
virt-launcher pod (spec and the kubelet's status), and the VMI status fields virt-handler reports
(interfaces, volumeStatus, LiveMigratable, machine/CPU/memory). Pure functions: the VMI and
migration controllers and the seeder all shape objects through these, never by hand.
"""
from __future__ import annotations

import hashlib
import json
import zlib
from typing import Callable, Optional

from ..api.objects import now_rfc3339, owner_reference
from .virtcommon import (APP_LABEL, CREATED_BY_LABEL, DOMAIN_ANNOTATION, LAUNCHER_IMAGE, MIGRATION_JOB_LABEL,
                         NODE_NAME_LABEL, VM_NAME_LABEL, VMI_ID_LABEL, format_bytes, format_cpu, parse_quantity,
                         volume_claim_name)

UNPAUSED_GATE = "kubevirt.io/virtual-machine-unpaused"
# virt-launcher's fixed memory overhead: monitor 25Mi + launcher 100Mi + virtlogd 25Mi + virtqemud
# 40Mi + qemu 30Mi, plus 16Mi of video RAM (pkg/virt-controller/services/resourcerenderer.go).
BASE_OVERHEAD = 236 * 2 ** 20
CPU_ALLOCATION_RATIO = 10

PvcLookup = Callable[[str], Optional[dict]]


# -- sizing -------------------------------------------------------------------------------------
def cpu_topology(spec: dict) -> dict:
    cpu = (spec.get("domain") or {}).get("cpu") or {}
    return {"cores": int(cpu.get("cores") or 1), "sockets": int(cpu.get("sockets") or 1),
            "threads": int(cpu.get("threads") or 1)}


def vcpus(spec: dict) -> int:
    topo = cpu_topology(spec)
    return topo["cores"] * topo["sockets"] * topo["threads"]


def guest_memory(spec: dict) -> float:
    domain = spec.get("domain") or {}
    guest = (domain.get("memory") or {}).get("guest")
    if guest:
        return parse_quantity(guest)
    return parse_quantity(((domain.get("resources") or {}).get("requests") or {}).get("memory"))


def compute_resources(spec: dict) -> dict:
    """The compute container's resources, as the template service renders them."""
    requests_spec = ((spec.get("domain") or {}).get("resources") or {}).get("requests") or {}
    memory = parse_quantity(requests_spec.get("memory")) or guest_memory(spec)
    overhead = BASE_OVERHEAD + guest_memory(spec) / 512 + vcpus(spec) * 8 * 2 ** 20
    cpu = requests_spec.get("cpu") or format_cpu(vcpus(spec) / CPU_ALLOCATION_RATIO)
    devices = {"devices.kubevirt.io/kvm": "1", "devices.kubevirt.io/tun": "1", "devices.kubevirt.io/vhost-net": "1"}
    return {"requests": {"cpu": cpu, "ephemeral-storage": "50M", "memory": format_bytes(memory + overhead),
                         **devices},
            "limits": dict(devices)}


# -- the virt-launcher pod ----------------------------------------------------------------------
def launcher_pod(vmi: dict, name: str, flavor: str, migration_uid: str = "") -> dict:
    """A new, unscheduled virt-launcher pod for ``vmi`` (status Pending, as the apiserver stores it)."""
    meta, spec = vmi["metadata"], vmi.get("spec") or {}
    labels = dict(meta.get("labels") or {})
    if not migration_uid:
        # The first pod is rendered before the VMI is scheduled: the VMI has no kubevirt.io/nodeName
        # label yet. A migration target pod copies it (the source node) like every other VMI label.
        labels.pop(NODE_NAME_LABEL, None)
    host = hostname(vmi)
    # podLabels (pkg/virt-controller/services/template.go): the VMI's labels, then these.
    labels.update({APP_LABEL: "virt-launcher", CREATED_BY_LABEL: meta["uid"], VM_NAME_LABEL: host,
                   VMI_ID_LABEL: vmi_id(meta["name"])})
    if migration_uid:
        labels[MIGRATION_JOB_LABEL] = migration_uid
    volumes = [{"name": n, "emptyDir": {}} for n in ("private", "public", "sockets", "virt-bin-share-dir",
                                                     "libvirt-runtime", "ephemeral-disks", "container-disks",
                                                     "hotplug-disks")]
    for volume in spec.get("volumes") or ():
        claim = volume_claim_name(volume)
        if claim and not _hotplug(volume):
            volumes.append({"name": volume["name"], "persistentVolumeClaim": {"claimName": claim}})
    tolerations = list(spec.get("tolerations") or []) + [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300}]
    pod_spec = {
        "automountServiceAccountToken": False,
        "containers": [{
            "name": "compute", "image": LAUNCHER_IMAGE[flavor], "imagePullPolicy": "IfNotPresent",
            "command": ["/usr/bin/virt-launcher-monitor", "--qemu-timeout", "320s", "--name", meta["name"],
                        "--uid", meta["uid"], "--namespace", meta["namespace"]],
            "resources": compute_resources(spec),
            "securityContext": {"runAsNonRoot": True, "runAsUser": 107, "runAsGroup": 107,
                                "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}},
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
            "volumeMounts": [{"name": v["name"], "mountPath": f"/var/run/kubevirt-private/vmi-disks/{v['name']}"}
                             for v in volumes if "persistentVolumeClaim" in v]}],
        "dnsPolicy": "ClusterFirst", "enableServiceLinks": False,
        "hostname": host,
        "nodeSelector": {**(spec.get("nodeSelector") or {}), "kubevirt.io/schedulable": "true"},
        "preemptionPolicy": "PreemptLowerPriority", "priority": 0,
        "readinessGates": [{"conditionType": UNPAUSED_GATE}],
        "restartPolicy": "Never", "schedulerName": "default-scheduler",
        "securityContext": {"fsGroup": 107, "runAsGroup": 107, "runAsNonRoot": True, "runAsUser": 107},
        "serviceAccount": "default", "serviceAccountName": "default",
        "terminationGracePeriodSeconds": int(spec.get("terminationGracePeriodSeconds", 180)) + 15,
        "tolerations": tolerations, "volumes": volumes,
    }
    if spec.get("affinity"):
        pod_spec["affinity"] = spec["affinity"]
    if spec.get("subdomain"):
        pod_spec["subdomain"] = spec["subdomain"]
    annotations = {DOMAIN_ANNOTATION: meta["name"], "kubectl.kubernetes.io/default-container": "compute",
                   "kubevirt.io/migrationTransportUnix": "true",
                   "descheduler.alpha.kubernetes.io/request-evict-only": ""}
    multus = multus_networks(vmi)
    if multus:
        annotations["k8s.v1.cni.cncf.io/networks"] = _json([
            {"name": net.split("/")[-1], "namespace": net.split("/")[0] if "/" in net else meta["namespace"],
             "interface": iface} for _, net, iface in multus])
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "generateName": f"virt-launcher-{meta['name']}-", "namespace": meta["namespace"],
                     "labels": labels, "annotations": annotations, "ownerReferences": [owner_reference(vmi)]},
        "spec": pod_spec,
        "status": {"phase": "Pending", "qosClass": "Burstable"},
    }


def hostname(vmi: dict) -> str:
    """dns.SanitizeHostname (pkg/util/net/dns/sanitize.go): spec.hostname, else the VMI's name up to
    its first dot, cut at 63 characters."""
    return (vmi.get("spec") or {}).get("hostname") or vmi["metadata"]["name"].split(".")[0][:63]


def vmi_id(name: str) -> str:
    """apimachinery.CalculateVirtualMachineInstanceID (pkg/apimachinery/labels.go): the name, or for a
    name longer than 63 its first 54 characters, "-" and 8 hex digits of its SHA-1."""
    if len(name) <= 63:
        return name
    return "%s-%s" % (name[:54], hashlib.sha1(name.encode()).hexdigest()[:8])


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _hotplug(volume: dict) -> bool:
    return bool((volume.get("persistentVolumeClaim") or {}).get("hotpluggable")
                or (volume.get("dataVolume") or {}).get("hotpluggable"))


def pod_condition(ctype: str, status: str, reason: str = "", message: str = "", stamp: str = "") -> dict:
    cond = {"type": ctype, "status": status, "lastProbeTime": None, "lastTransitionTime": stamp or now_rfc3339()}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def pod_unschedulable_status(message: str) -> dict:
    return {"phase": "Pending", "qosClass": "Burstable",
            "conditions": [pod_condition("PodScheduled", "False", "Unschedulable", message)]}


def pod_scheduled_status(host_ip: str) -> dict:
    """Bound to a node, containers being created (what `kubectl get pod` shows as ContainerCreating)."""
    stamp = now_rfc3339()
    return {"phase": "Pending", "qosClass": "Burstable", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
            "startTime": stamp,
            "conditions": [pod_condition("PodReadyToStartContainers", "False", stamp=stamp),
                           pod_condition("Initialized", "True", stamp=stamp),
                           pod_condition("Ready", "False", "ContainersNotReady",
                                         "containers with unready status: [compute]", stamp),
                           pod_condition("ContainersReady", "False", "ContainersNotReady",
                                         "containers with unready status: [compute]", stamp),
                           pod_condition("PodScheduled", "True", stamp=stamp)],
            "containerStatuses": [{"name": "compute", "image": "", "imageID": "", "ready": False, "restartCount": 0,
                                   "started": False, "state": {"waiting": {"reason": "ContainerCreating"}}}]}


def pod_running_status(pod: dict, host_ip: str, pod_ip: str, *, paused: bool = False) -> dict:
    stamp = now_rfc3339()
    image = pod["spec"]["containers"][0]["image"]
    gate = (pod_condition(UNPAUSED_GATE, "False", "Paused", "the virtual machine is paused", stamp) if paused
            else pod_condition(UNPAUSED_GATE, "True", "NotPaused", "the virtual machine is not paused", stamp))
    ready_cond = (pod_condition("Ready", "False", "ReadinessGatesNotReady",
                                f'the status of pod readiness gate "{UNPAUSED_GATE}" is not "True", but False', stamp)
                  if paused else pod_condition("Ready", "True", stamp=stamp))
    container_id = hashlib.sha256(pod["metadata"]["name"].encode()).hexdigest()
    return {
        "phase": "Running", "qosClass": "Burstable", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip, "podIPs": [{"ip": pod_ip}], "startTime": stamp,
        "conditions": [gate, pod_condition("PodReadyToStartContainers", "True", stamp=stamp),
                       pod_condition("Initialized", "True", stamp=stamp), ready_cond,
                       pod_condition("ContainersReady", "True", stamp=stamp),
                       pod_condition("PodScheduled", "True", stamp=stamp)],
        "containerStatuses": [{"name": "compute", "image": image, "imageID": image, "ready": True,
                               "restartCount": 0, "started": True, "containerID": f"cri-o://{container_id}",
                               "state": {"running": {"startedAt": stamp}}}],
    }


def pod_completed_status(status: dict) -> dict:
    """The pod after the guest shut down: containers exited 0, phase Succeeded."""
    stamp = now_rfc3339()
    out = dict(status, phase="Succeeded")
    out["conditions"] = [dict(c, status="False", reason="PodCompleted", lastTransitionTime=stamp)
                         if c.get("type") in ("Ready", "ContainersReady") else c
                         for c in status.get("conditions") or []]
    out["containerStatuses"] = [dict(cs, ready=False, started=False, state={"terminated": {
        "exitCode": 0, "reason": "Completed", "finishedAt": stamp}}) for cs in status.get("containerStatuses") or []]
    return out


def nad_ref(vmi: dict, network_name: str) -> str:
    """A Multus networkName as "namespace/name" (the VMI's namespace when it has none)."""
    return network_name if "/" in network_name else f"{vmi['metadata']['namespace']}/{network_name}"


def network_status_annotation(vmi: dict, pod_ip: str, multus_ips: Optional[dict] = None) -> str:
    """Multus' k8s.v1.cni.cncf.io/network-status: the cluster network, then one entry per Multus network,
    with ``ips`` only when the network's IPAM gave addresses (``multus_ips``: NAD ref -> addresses)."""
    entries = [{"name": "ovn-kubernetes", "interface": "eth0", "ips": [pod_ip], "mac": mac_for(vmi, "pod"),
                "default": True, "dns": {}}]
    for name, net, iface in multus_networks(vmi):
        entry: dict = {"name": nad_ref(vmi, net), "interface": iface}
        ips = (multus_ips or {}).get(nad_ref(vmi, net))
        if ips:
            entry["ips"] = list(ips)
        entry.update(mac=mac_for(vmi, name), dns={})
        entries.append(entry)
    return _json(entries)


def pod_network_ips(pod: Optional[dict]) -> dict[str, list[str]]:
    """Pod interface name -> addresses, from the pod's network-status annotation."""
    raw = (((pod or {}).get("metadata") or {}).get("annotations") or {}).get("k8s.v1.cni.cncf.io/network-status")
    try:
        return {e.get("interface", ""): list(e.get("ips") or []) for e in json.loads(raw or "[]")}
    except ValueError:
        return {}


# -- VMI status pieces virt-handler reports -------------------------------------------------------
def _digest(*parts: str) -> bytes:
    return hashlib.sha256("/".join(parts).encode()).digest()


def mac_for(vmi: dict, network: str) -> str:
    for iface in ((vmi.get("spec") or {}).get("domain") or {}).get("devices", {}).get("interfaces") or ():
        if iface.get("name") == network and iface.get("macAddress"):
            return iface["macAddress"].lower()
    raw = _digest(vmi["metadata"]["namespace"], vmi["metadata"]["name"], network)
    return "02:" + ":".join(f"{b:02x}" for b in raw[:5])


def multus_networks(vmi: dict) -> list[tuple[str, str, str]]:
    """(network name, NAD reference, pod interface name) for each Multus network (hashed naming)."""
    out = []
    for net in (vmi.get("spec") or {}).get("networks") or ():
        if net.get("multus"):
            iface = "pod" + hashlib.sha256(net["name"].encode()).hexdigest()[:11]
            out.append((net["name"], net["multus"].get("networkName", ""), iface))
    return out


def interfaces(vmi: dict, pod_ip: str, agent: bool, pod: Optional[dict] = None) -> list[dict]:
    """status.interfaces: the pod network reports the pod IP (masquerade/bridge); a Multus network the
    first address its IPAM gave the launcher ``pod`` (none without IPAM), which only the guest agent
    reports. With the guest agent connected infoSource gains ``guest-agent``."""
    spec = vmi.get("spec") or {}
    pod_ips = pod_network_ips(pod)
    networks = {n["name"]: n for n in spec.get("networks") or ()}
    multus = {name: iface for name, _, iface in multus_networks(vmi)}
    out = []
    for index, iface in enumerate((spec.get("domain") or {}).get("devices", {}).get("interfaces") or ()):
        name = iface.get("name", "")
        net = networks.get(name, {})
        sources = ["domain"] + (["guest-agent"] if agent else [])
        entry = {"name": name, "mac": mac_for(vmi, name), "linkState": "up", "queueCount": 1}
        if net.get("multus"):
            ips = pod_ips.get(multus.get(name, ""), [])
            entry["podInterfaceName"] = multus.get(name, "")
            sources.append("multus-status")
        else:
            ips = [pod_ip] if pod_ip else []
            entry["podInterfaceName"] = "eth0"
        if agent:
            entry["interfaceName"] = f"eth{index}"
        if ips and (agent or not net.get("multus")):
            entry["ipAddress"] = ips[0]
            entry["ipAddresses"] = ips
        entry["infoSource"] = ", ".join(sources)
        out.append(entry)
    return out


_TARGET_PREFIX = {"virtio": "vd", "sata": "sd", "scsi": "sd", "usb": "sd"}


def disk_targets(spec: dict) -> dict[str, str]:
    """Disk name -> device target (vda, vdb, sda ...) in spec order, per bus."""
    counters: dict[str, int] = {}
    targets = {}
    for disk in ((spec.get("domain") or {}).get("devices") or {}).get("disks") or ():
        kind = disk.get("disk") or disk.get("cdrom") or disk.get("lun") or {}
        bus = kind.get("bus") or ("sata" if "cdrom" in disk else "scsi" if "lun" in disk else "virtio")
        prefix = _TARGET_PREFIX.get(bus, "vd")
        n = counters.get(prefix, 0)
        counters[prefix] = n + 1
        targets[disk["name"]] = prefix + "abcdefghijklmnopqrstuvwxyz"[n % 26]
    return targets


def pvc_info(pvc: dict) -> dict:
    spec, status = pvc.get("spec") or {}, pvc.get("status") or {}
    mode = spec.get("volumeMode") or "Filesystem"
    return {"claimName": pvc["metadata"]["name"], "accessModes": list(spec.get("accessModes") or []),
            "volumeMode": mode, "capacity": dict(status.get("capacity") or {}),
            "requests": dict((spec.get("resources") or {}).get("requests") or {}),
            "filesystemOverhead": "0" if mode == "Block" else "0.055"}


def volume_status(vmi: dict, lookup_pvc: PvcLookup, *, running: bool) -> list[dict]:
    """status.volumeStatus for the VMI's non-hotplug volumes (hot-plugged ones carry their own
    phases; see the VMI controller)."""
    spec = vmi.get("spec") or {}
    targets = disk_targets(spec) if running else {}
    out = []
    for volume in spec.get("volumes") or ():
        if _hotplug(volume):
            continue
        entry: dict = {"name": volume["name"], "target": targets.get(volume["name"], "")}
        claim = volume_claim_name(volume)
        if claim:
            pvc = lookup_pvc(claim)
            if pvc is not None:
                entry["persistentVolumeClaimInfo"] = pvc_info(pvc)
        elif volume.get("containerDisk"):
            entry["containerDiskVolume"] = {"checksum": zlib.crc32(volume["containerDisk"].get("image", "").encode())}
        out.append(entry)
    return out


def live_migratable(vmi: dict, volumes: list[dict]) -> dict:
    """virt-handler's calculateLiveMigrationCondition for the cases the simulator can see."""
    spec = vmi.get("spec") or {}
    networks = {n["name"]: n for n in spec.get("networks") or ()}
    pod_net = next((n for n in networks.values() if "pod" in n), None)
    if pod_net is not None:
        iface = next((i for i in (spec.get("domain") or {}).get("devices", {}).get("interfaces") or ()
                      if i.get("name") == pod_net["name"]), None)
        allowed = "kubevirt.io/allow-pod-bridge-network-live-migration" in (vmi["metadata"].get("annotations") or {})
        if iface is None or not (iface.get("masquerade") is not None or iface.get("passtBinding") is not None
                                 or (iface.get("bridge") is not None and allowed) or iface.get("binding")):
            message = ("no primary interface found for network " + pod_net["name"] if iface is None else
                       "cannot migrate VMI which does not use masquerade or a migratable plugin to connect to the "
                       "pod network")
            return {"type": "LiveMigratable", "status": "False", "lastProbeTime": None,
                    "lastTransitionTime": None, "reason": "InterfaceNotLiveMigratable", "message": message}
    if ((spec.get("domain") or {}).get("devices") or {}).get("hostDevices"):
        return {"type": "LiveMigratable", "status": "False", "lastProbeTime": None, "lastTransitionTime": None,
                "reason": "HostDeviceNotLiveMigratable",
                "message": "VMI specifies non-migratable generic PCI host device"}
    by_name = {v["name"]: v for v in volumes}
    for volume in spec.get("volumes") or ():
        claim = volume_claim_name(volume)
        if not claim:
            continue
        info = (by_name.get(volume["name"]) or {}).get("persistentVolumeClaimInfo")
        if info is None:
            message = (f"cannot migrate VMI: Unable to determine if PVC {claim} is shared, live migration "
                       "requires that all PVCs must be shared (using ReadWriteMany access mode)")
        elif "ReadWriteMany" not in (info.get("accessModes") or []):
            message = (f"cannot migrate VMI: PVC {claim} is not shared, live migration requires that all PVCs "
                       "must be shared (using ReadWriteMany access mode)")
        else:
            continue
        return {"type": "LiveMigratable", "status": "False", "lastProbeTime": None, "lastTransitionTime": None,
                "reason": "DisksNotLiveMigratable", "message": message}
    return {"type": "LiveMigratable", "status": "True", "lastProbeTime": None, "lastTransitionTime": None}


def migration_method(vmi: dict) -> str:
    """BlockMigration when a volume lives on the node (containerDisk, cloud-init, emptyDisk)."""
    for volume in (vmi.get("spec") or {}).get("volumes") or ():
        if not volume_claim_name(volume) and not volume.get("configMap") and not volume.get("secret") \
                and not volume.get("serviceAccount") and not volume.get("downwardAPI"):
            return "BlockMigration"
    return "LiveMigration"


def running_status(vmi: dict, pod: dict, node: str, lookup_pvc: PvcLookup, *, flavor: str,
                   guest_os: Optional[dict]) -> dict:
    """The VMI status once virt-handler reports the domain running. ``guest_os`` not None means
    the guest agent is connected (AgentConnected, guestOSInfo, guest-agent interface data)."""
    spec = vmi.get("spec") or {}
    status = dict(vmi.get("status") or {})
    pod_ip = (pod.get("status") or {}).get("podIP", "")
    volumes = volume_status(vmi, lookup_pvc, running=True) + [
        v for v in status.get("volumeStatus") or () if v.get("hotplugVolume")]
    memory = format_bytes(guest_memory(spec))
    machine = ((spec.get("domain") or {}).get("machine") or {}).get("type") or "q35"
    conditions = [
        {"type": "Ready", "status": "True", "lastProbeTime": None, "lastTransitionTime": now_rfc3339()},
        live_migratable(vmi, volumes),
        {"type": "StorageLiveMigratable", "status": "True", "lastProbeTime": None, "lastTransitionTime": None},
    ]
    if guest_os is not None:
        conditions.append({"type": "AgentConnected", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": now_rfc3339()})
    keep = {c["type"]: c for c in status.get("conditions") or () if c.get("type") in ("Paused",)}
    status.update({
        "phase": "Running", "nodeName": node, "activePods": {pod["metadata"]["uid"]: node},
        "conditions": conditions + list(keep.values()),
        "guestOSInfo": dict(guest_os or {}),
        "interfaces": interfaces(vmi, pod_ip, agent=guest_os is not None, pod=pod),
        "launcherContainerImageVersion": pod["spec"]["containers"][0]["image"],
        "machine": {"type": machine}, "currentCPUTopology": cpu_topology(spec),
        "memory": {"guestAtBoot": memory, "guestCurrent": memory, "guestRequested": memory},
        "migrationMethod": migration_method(vmi), "migrationTransport": "Unix", "qosClass": "Burstable",
        "runtimeUser": 107,
        "selinuxContext": "system_u:object_r:container_file_t:s0:c0,c1" if flavor == "openshift" else "none",
        "volumeStatus": volumes,
    })
    return status
