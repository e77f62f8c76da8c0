# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hot-plugged disks: input checks, the volume/disk pair KubeVirt expects, and how a VM or VMI
spec compares with it.

KubeVirt admits a hot-plugged volume only as a ``dataVolume`` or ``persistentVolumeClaim``
source marked ``hotpluggable: true``, and its disk only on the ``scsi`` bus (the VMI update
admitter: "hotplugged Disk NAME does not use a scsi bus"). The same pair is what the
``addvolume`` subresource body (AddVolumeOptions) carries and what a declarative change puts
into the VM template.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    DATA_VOLUME,
    PERSISTENT_VOLUME_CLAIM,
    ResourceRef,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import (
    check_dns_label,
    check_resource_name,
    check_text,
    invalid,
)

HOTPLUG_BUS = "scsi"
CACHE_MODES = ("none", "writethrough", "writeback")
# KubeVirt's disk serial check (pkg/storage/admitters): these characters only.
_SERIAL = re.compile(r"^[A-Za-z0-9_.+-]+$")


def validate_disk_params(params: Mapping[str, Any]) -> None:
    """Every option check that needs no request; raises ``invalid`` naming the option."""
    check_resource_name("vm_name", params["vm_name"])
    check_dns_label("namespace", params["namespace"])
    # A volume name becomes a disk name, a pod volume and a device alias: an RFC 1123 label.
    check_dns_label("name", params["name"])
    for option in ("data_volume", "persistent_volume_claim"):
        if params.get(option) is not None:
            check_resource_name(option, params[option])
    if params.get("bus") != HOTPLUG_BUS:
        raise invalid("bus", "KubeVirt hot-plugs disks only on the scsi bus (a hotplugged disk that does not use "
                      "a scsi bus is refused), got %r" % (params.get("bus"),))
    serial = params.get("serial")
    if serial is not None:
        check_text("serial", serial)
        if not _SERIAL.match(serial):
            raise invalid("serial", "must be made up of the characters A-Z a-z 0-9 _ . + -, got %r" % serial)
    if params["method"] == "declarative" and not params["persist"]:
        raise invalid("persist", "false needs method: subresource (a declarative change is always in the VM spec)")


def source_of(params: Mapping[str, Any]) -> Tuple[ResourceRef, str, str]:
    """(resource, name, option) of the claim to attach: a DataVolume or a PVC."""
    if params.get("data_volume"):
        return DATA_VOLUME, params["data_volume"], "data_volume"
    return PERSISTENT_VOLUME_CLAIM, params["persistent_volume_claim"], "persistent_volume_claim"


def hotplug_volume(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The ``volumes[]`` entry: the claim, marked hot-pluggable."""
    volume: Dict[str, Any] = {"name": params["name"]}
    if params.get("data_volume"):
        volume["dataVolume"] = {"name": params["data_volume"], "hotpluggable": True}
    else:
        volume["persistentVolumeClaim"] = {"claimName": params["persistent_volume_claim"], "hotpluggable": True}
    return volume


def hotplug_disk(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The ``domain.devices.disks[]`` entry of the same name."""
    disk: Dict[str, Any] = {"name": params["name"], "disk": {"bus": params["bus"]}}
    if params.get("serial"):
        disk["serial"] = params["serial"]
    if params.get("cache"):
        disk["cache"] = params["cache"]
    return disk


def add_volume_options(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The body of PUT .../addvolume (KubeVirt's AddVolumeOptions)."""
    volume = hotplug_volume(params)
    source = {key: value for key, value in volume.items() if key != "name"}
    return {"name": params["name"], "disk": hotplug_disk(params), "volumeSource": source}


def remove_volume_options(name: str) -> Dict[str, Any]:
    """The body of PUT .../removevolume (KubeVirt's RemoveVolumeOptions)."""
    return {"name": name}


# -- reading a spec --------------------------------------------------------------------------
def template_spec(vm: Mapping[str, Any]) -> Dict[str, Any]:
    return dict(((vm.get("spec") or {}).get("template") or {}).get("spec") or {})


def volumes_of(spec: Mapping[str, Any]) -> List[Dict[str, Any]]:
    return [v for v in spec.get("volumes") or [] if isinstance(v, dict)]


def disks_of(spec: Mapping[str, Any]) -> List[Dict[str, Any]]:
    devices = ((spec.get("domain") or {}).get("devices") or {})
    return [d for d in devices.get("disks") or [] if isinstance(d, dict)]


def storage_view(spec: Mapping[str, Any]) -> Dict[str, Any]:
    """What the diff shows: the spec's volumes and disks, nothing else."""
    return {"volumes": volumes_of(spec), "disks": disks_of(spec)}


def _named(items: List[Dict[str, Any]], name: str) -> Optional[Dict[str, Any]]:
    return next((item for item in items if item.get("name") == name), None)


def claim_of(volume: Mapping[str, Any]) -> Optional[str]:
    """The PVC or DataVolume behind a volume (KubeVirt's PVCNameFromVirtVolume)."""
    if volume.get("dataVolume"):
        return (volume["dataVolume"] or {}).get("name")
    if volume.get("persistentVolumeClaim"):
        return (volume["persistentVolumeClaim"] or {}).get("claimName")
    return None


def is_hotpluggable(volume: Mapping[str, Any]) -> bool:
    return bool((volume.get("dataVolume") or {}).get("hotpluggable")
                or (volume.get("persistentVolumeClaim") or {}).get("hotpluggable"))


def _describe_source(volume: Mapping[str, Any]) -> str:
    for key, field in (("dataVolume", "name"), ("persistentVolumeClaim", "claimName")):
        if volume.get(key):
            return "%s %s" % (key, (volume[key] or {}).get(field))
    return "a %s source" % next((key for key in volume if key != "name"), "different")


def _disk_mismatch(live: Optional[Mapping[str, Any]], wanted: Mapping[str, Any]) -> Optional[Tuple[str, str]]:
    """(option, what the live disk has) for the first disk setting that differs."""
    if live is None:
        return "name", "no disk of that name"
    if live.get("disk") is None:
        kind = next((key for key in ("lun", "cdrom") if live.get(key) is not None), "other")
        return "name", "a %s device, not a disk" % kind
    if (live.get("disk") or {}).get("bus", HOTPLUG_BUS) != wanted["disk"]["bus"]:
        return "bus", "bus %s" % (live.get("disk") or {}).get("bus")
    for option in ("serial", "cache"):
        if live.get(option) != wanted.get(option):
            return option, "%s %r" % (option, live[option]) if live.get(option) is not None else "no " + option
    return None


def attached(spec: Mapping[str, Any], params: Mapping[str, Any], where: str) -> bool:
    """Whether ``spec`` already has this disk; raises ``invalid`` when it has something else
    under its name or its claim, since replacing a plugged disk in place is not possible."""
    name = params["name"]
    wanted = hotplug_volume(params)
    _ref, claim, option = source_of(params)
    volumes = volumes_of(spec)
    live = _named(volumes, name)
    if live is None:
        other = next((v for v in volumes if claim_of(v) == claim), None)
        if other is not None:
            raise invalid(option, "%s is already attached to %s as volume %s" % (claim, where, other.get("name")))
        return False
    if not is_hotpluggable(live):
        raise invalid("name", "volume %s of %s is not hotpluggable (%s); KubeVirt cannot hot-plug or unplug it"
                      % (name, where, _describe_source(live)))
    if claim_of(live) != claim or set(live) != set(wanted):
        raise invalid(option, "volume %s of %s uses %s; unplug it first (state: absent) to attach %s"
                      % (name, where, _describe_source(live), claim))
    mismatch = _disk_mismatch(_named(disks_of(spec), name), hotplug_disk(params))
    if mismatch:
        raise invalid(mismatch[0], "disk %s of %s has %s; unplug it first (state: absent) to change it"
                      % (name, where, mismatch[1]))
    return True


def detachable(spec: Mapping[str, Any], name: str, where: str) -> bool:
    """Whether ``spec`` has a volume ``name`` to unplug; a permanent one cannot be (KubeVirt:
    "Unable to remove volume [NAME] because it is not hotpluggable")."""
    live = _named(volumes_of(spec), name)
    if live is None:
        return False
    if not is_hotpluggable(live):
        raise invalid("name", "volume %s of %s is not hotpluggable (%s); KubeVirt cannot unplug it, "
                      "remove it from the VM spec and restart the VM instead" % (name, where, _describe_source(live)))
    return True


# -- changing a VM template ------------------------------------------------------------------
def with_disk(spec: Mapping[str, Any], params: Mapping[str, Any]) -> Dict[str, Any]:
    """``storage_view`` of ``spec`` plus the hot-plugged pair (appended: existing order kept)."""
    view = copy.deepcopy(storage_view(spec))
    view["volumes"].append(hotplug_volume(params))
    view["disks"] = [d for d in view["disks"] if d.get("name") != params["name"]] + [hotplug_disk(params)]
    return view


def without_disk(spec: Mapping[str, Any], name: str) -> Dict[str, Any]:
    view = copy.deepcopy(storage_view(spec))
    return {"volumes": [v for v in view["volumes"] if v.get("name") != name],
            "disks": [d for d in view["disks"] if d.get("name") != name]}


def template_patch(vm: Mapping[str, Any], view: Mapping[str, Any]) -> Dict[str, Any]:
    """A merge patch setting the template's volumes and disks, guarded by the resourceVersion
    read: lists are replaced whole by a merge patch, so a write based on a stale read must fail
    (409) rather than drop a disk someone else added meanwhile."""
    return {
        "metadata": {"resourceVersion": (vm.get("metadata") or {}).get("resourceVersion")},
        "spec": {"template": {"spec": {"volumes": view["volumes"], "domain": {"devices": {"disks": view["disks"]}}}}},
    }


def pending_request(vm: Mapping[str, Any], name: str) -> Optional[str]:
    """'add' or 'remove' when the VM's ``status.volumeRequests`` still holds one for ``name``
    (the HotplugVolumes flow: virt-controller has not applied it to the template yet)."""
    for request in (vm.get("status") or {}).get("volumeRequests") or []:
        if ((request or {}).get("addVolumeOptions") or {}).get("name") == name:
            return "add"
        if ((request or {}).get("removeVolumeOptions") or {}).get("name") == name:
            return "remove"
    return None


def missing_source(ref: ResourceRef, name: str, namespace: str, option: str) -> KubeApiError:
    return invalid(option, "%s %s/%s does not exist; create it first (a hot-plugged disk needs an existing claim)"
                   % (ref.kind, namespace, name))
