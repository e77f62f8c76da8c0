"""Hot-plugged volumes of a running VMI (virt-controller's volume-hotplug.go/storage.go and
virt-handler's updateHotplugVolumeStatus): one ``hp-volume-`` attachment pod per VMI on the VMI's
node mounting the hot-plugged claims, and the volumeStatus phases with KubeVirt's reasons and
messages.
"""
from __future__ import annotations

from typing import Optional

from ..api import errors
from ..api.objects import now_rfc3339, owner_reference
from . import launcher
from .keys import POD, PVC
from .runtime import Runtime
from .virtcommon import is_hotpluggable, volume_claim_name


def delete_pod(rt: Runtime, obj: dict) -> None:
    try:
        rt.service.delete(POD, obj["metadata"]["namespace"], obj["metadata"]["name"])
    except errors.ApiError:
        pass


def hotplug_step(rt: Runtime, vmi: dict, pod: dict) -> None:
    """One step of every hot-plugged volume (in ``vmi["status"]``, edited in place): Bound ->
    AttachedToNode -> MountedToPod -> Ready, and Detaching -> gone once unplugged."""
    status = vmi["status"]
    ns = vmi["metadata"]["namespace"]
    spec = vmi.get("spec") or {}
    entries = list(status.get("volumeStatus") or [])
    by_name = {e["name"]: e for e in entries}
    hot = [v for v in spec.get("volumes") or () if is_hotpluggable(v)]
    hot_names = {v["name"] for v in hot}
    targets = launcher.disk_targets(spec)
    attach = attachment_pod(rt, vmi, pod, create=bool(hot))
    for volume in hot:
        claim = volume_claim_name(volume)
        entry = by_name.get(volume["name"])
        pvc = rt.store.get(PVC, ns, claim)
        if entry is None:
            if pvc is None:
                phase, reason, message = "Pending", "FailedPvcNotFound", f"PVC {claim} not found"
            elif (pvc.get("status") or {}).get("phase") != "Bound":
                phase, reason, message = "Pending", "PVCNotReady", "PVC is in phase ClaimPending"
            else:
                phase, reason, message = "Bound", "PVCNotReady", "PVC is in phase Bound"
            entry = {"name": volume["name"], "target": "", "phase": phase, "reason": reason, "message": message,
                     "hotplugVolume": {}}
            if pvc is not None:
                entry["persistentVolumeClaimInfo"] = launcher.pvc_info(pvc)
            entries.append(entry)
            continue
        entry = dict(entry)
        bound = pvc is not None and (pvc.get("status") or {}).get("phase") == "Bound"
        if entry.get("phase") == "Pending" and bound:
            entry.update(phase="Bound", reason="PVCNotReady", message="PVC is in phase Bound",
                         persistentVolumeClaimInfo=launcher.pvc_info(pvc))
        elif entry.get("phase") == "Bound" and attach is not None:
            entry.update(phase="AttachedToNode", reason="SuccessfulCreate",
                         message=f"Created hotplug attachment pod {attach['metadata']['name']}, for volume "
                                 f"{volume['name']}",
                         hotplugVolume={"attachPodName": attach["metadata"]["name"]})
        elif entry.get("phase") == "AttachedToNode" and attach is not None:
            entry.update(phase="MountedToPod", reason="VolumeMountedToPod",
                         message=f"Volume {volume['name']} has been mounted in virt-launcher pod",
                         hotplugVolume={"attachPodName": attach["metadata"]["name"],
                                        "attachPodUID": attach["metadata"]["uid"]})
        elif entry.get("phase") == "MountedToPod":
            entry.update(phase="Ready", reason="VolumeReady", target=targets.get(volume["name"], ""),
                         message=f"Successfully attach hotplugged volume {volume['name']} to VM")
        entries = [entry if e["name"] == entry["name"] else e for e in entries]
    kept = []
    for entry in entries:
        if entry.get("hotplugVolume") is not None and entry["name"] not in hot_names:
            if entry.get("phase") == "Detaching":
                rt.record_event(vmi, "VolumeUnplugged", f"Volume {entry['name']} has been unplugged",
                                component="virt-handler")
                continue
            entry = dict(entry, phase="Detaching", reason="SuccessfulDelete", target="",
                         message=f"Deleted hotplug attachment pod {entry['hotplugVolume'].get('attachPodName', '')}"
                                 f", for volume {entry['name']}")
        kept.append(entry)
    status["volumeStatus"] = kept
    if not hot and attach is not None and not any(e.get("hotplugVolume") is not None for e in kept):
        delete_pod(rt, attach)

def attachment_pod(rt: Runtime, vmi: dict, pod: dict, create: bool) -> Optional[dict]:
    for gr, dep in rt.store.dependents(pod["metadata"]["uid"]):
        if gr == POD and (dep["metadata"].get("labels") or {}).get("kubevirt.io") == "hotplug-disk":
            return dep
    if not create:
        return None
    claims = [volume_claim_name(v) for v in vmi["spec"].get("volumes") or () if is_hotpluggable(v)]
    attach = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"hp-volume-{rt.service.random_suffix()}", "namespace": pod["metadata"]["namespace"],
                     "labels": {"kubevirt.io": "hotplug-disk"}, "ownerReferences": [owner_reference(pod)]},
        "spec": {"nodeName": pod["spec"]["nodeName"], "restartPolicy": "Never",
                 "containers": [{"name": "hotplug-disk", "image": pod["spec"]["containers"][0]["image"],
                                 "command": ["/bin/sh", "-c", "tail -f /dev/null"],
                                 "resources": {"requests": {"cpu": "10m", "memory": "2M"}}}],
                 "volumes": [{"name": c, "persistentVolumeClaim": {"claimName": c}} for c in claims]},
        "status": {"phase": "Running", "podIP": "", "qosClass": "Burstable",
                   "conditions": [launcher.pod_condition("Ready", "True")],
                   "containerStatuses": [{"name": "hotplug-disk", "ready": True, "restartCount": 0,
                                          "state": {"running": {"startedAt": now_rfc3339()}}}]},
    }
    return rt.service.create(POD, attach, keep_status=True)
