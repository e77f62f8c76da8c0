# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Build a VirtualMachine manifest from the ``virt.kubevirt.vm`` options (pure, no I/O).

High-level options are deep-merged over the raw ``spec`` option, so ``spec`` can carry anything
not modelled here while the modelled options stay authoritative. ``declared_paths`` says which
parts of the object the options a task gives are authoritative for; the rest keeps its values.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._merge import (
    ANY,
    Declared,
    Path,
    deep_merge,
    leaf_paths,
    without_nulls,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._quantity import is_quantity, quantity_error
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import VIRTUAL_MACHINE
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import invalid

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

DOMAIN_LABEL = "kubevirt.io/domain"
CLOUD_INIT_VOLUME = "cloudinitdisk"
PROPAGATION_METHODS = {"no_cloud": "noCloud", "qemu_guest_agent": "qemuGuestAgent"}
INSTANCETYPE_KINDS = ("VirtualMachineClusterInstancetype", "VirtualMachineInstancetype")
PREFERENCE_KINDS = ("VirtualMachineClusterPreference", "VirtualMachinePreference")


def _compact(mapping: Mapping[str, Any]) -> Dict[str, Any]:
    """Drop None values (unset suboptions)."""
    return {key: value for key, value in mapping.items() if value is not None}


def _where(option: str, index: int, item: Mapping[str, Any]) -> str:
    return "%s[%d] (%s)" % (option, index, item.get("name")) if item.get("name") else "%s[%d]" % (option, index)


# -- compute -------------------------------------------------------------------------------
def _matcher(option: str, value: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    if not value:
        return None
    if not value.get("name") and not value.get("infer_from_volume"):
        raise invalid(option, "set name, or infer_from_volume to take it from a disk's DataVolume")
    matcher = _compact({"name": value.get("name"), "kind": value.get("kind"), "inferFromVolume": value.get("infer_from_volume")})
    if value.get("infer_from_volume_failure_policy"):
        matcher["inferFromVolumeFailurePolicy"] = value["infer_from_volume_failure_policy"]
    return matcher


def _domain(params: Mapping[str, Any]) -> Dict[str, Any]:
    domain: Dict[str, Any] = {}
    if params.get("instancetype") and (params.get("cpu") or params.get("memory")):
        raise invalid("cpu/memory", "conflicts with instancetype, which already sets CPU and memory; drop one of them")
    cpu = _compact(params.get("cpu") or {})
    for key, count in cpu.items():
        if count < 1:
            raise invalid("cpu.%s" % key, "must be 1 or more, got %s" % count)
    if cpu:
        domain["cpu"] = cpu
    memory = params.get("memory")
    if memory is not None:
        if not is_quantity(memory):
            raise KubeApiError(quantity_error("memory", memory), reason="InvalidArgument")
        domain["memory"] = {"guest": str(memory)}
    return domain


# -- disks ---------------------------------------------------------------------------------
def _data_volume_template(vm_name: str, disk: Mapping[str, Any], where: str) -> Dict[str, Any]:
    dv = disk["data_volume"]
    name = dv.get("name") or "%s-%s" % (vm_name, disk["name"])
    spec: Dict[str, Any] = {}
    if dv.get("url"):
        spec["source"] = {"http": {"url": dv["url"]}}
    elif dv.get("registry"):
        spec["source"] = {"registry": {"url": dv["registry"]}}
    elif dv.get("clone_pvc"):
        spec["source"] = {"pvc": _compact({"name": dv["clone_pvc"]["name"], "namespace": dv["clone_pvc"].get("namespace")})}
    elif dv.get("data_source"):
        spec["sourceRef"] = _compact(
            {"kind": "DataSource", "name": dv["data_source"]["name"], "namespace": dv["data_source"].get("namespace")}
        )
    elif dv.get("blank"):
        spec["source"] = {"blank": {}}
    storage: Dict[str, Any] = {}
    if dv.get("size") is not None:
        if not is_quantity(dv["size"]):
            raise KubeApiError(quantity_error("%s.data_volume.size" % where, dv["size"]), reason="InvalidArgument")
        storage["resources"] = {"requests": {"storage": str(dv["size"])}}
    elif "sourceRef" not in spec and "pvc" not in spec.get("source", {}):
        raise invalid("%s.data_volume.size" % where, "required unless the disk clones a PVC or uses a DataSource")
    if dv.get("storage_class"):
        storage["storageClassName"] = dv["storage_class"]
    if dv.get("access_modes"):
        storage["accessModes"] = list(dv["access_modes"])
    if dv.get("volume_mode"):
        storage["volumeMode"] = dv["volume_mode"]
    spec["storage"] = storage
    return {"metadata": {"name": name}, "spec": spec}


def _disks(params: Mapping[str, Any]) -> Dict[str, List[Dict[str, Any]]]:
    disks, volumes, templates = [], [], []
    for index, disk in enumerate(params.get("disks") or []):
        where = _where("disks", index, disk)
        device: Dict[str, Any] = {"name": disk["name"], disk.get("type") or "disk": _compact({"bus": disk.get("bus")})}
        if disk.get("boot_order") is not None:
            if disk["boot_order"] < 1:
                raise invalid("%s.boot_order" % where, "must be 1 or more")
            device["bootOrder"] = disk["boot_order"]
        disks.append(device)
        volume: Dict[str, Any] = {"name": disk["name"]}
        if disk.get("container_disk"):
            volume["containerDisk"] = {"image": disk["container_disk"]}
        elif disk.get("pvc"):
            volume["persistentVolumeClaim"] = {"claimName": disk["pvc"]}
        elif disk.get("existing_data_volume"):
            volume["dataVolume"] = {"name": disk["existing_data_volume"]}
        elif disk.get("data_volume"):
            template = _data_volume_template(params["name"], disk, where)
            templates.append(template)
            volume["dataVolume"] = {"name": template["metadata"]["name"]}
        else:
            raise invalid(where, "set one of container_disk, pvc, existing_data_volume or data_volume")
        volumes.append(volume)
    return {"disks": disks, "volumes": volumes, "templates": templates}


# -- cloud-init and SSH keys ---------------------------------------------------------------
def _with_ssh_keys(user_data: Optional[str], keys: List[str]) -> Optional[str]:
    if not keys:
        return user_data
    if user_data is None:
        return "#cloud-config\nssh_authorized_keys:\n%s" % "".join("  - %s\n" % json.dumps(k) for k in keys)
    if not user_data.lstrip().startswith("#cloud-config"):
        raise invalid("cloud_init.ssh_authorized_keys", "needs cloud_init.user_data to be a #cloud-config document")
    document = yaml.safe_load(user_data) if yaml else None
    if isinstance(document, dict) and "ssh_authorized_keys" in document:
        merged = list(document.get("ssh_authorized_keys") or [])
        merged.extend(k for k in keys if k not in merged)
        document["ssh_authorized_keys"] = merged
        return "#cloud-config\n" + yaml.safe_dump(document, default_flow_style=False, sort_keys=False)
    text = user_data if user_data.endswith("\n") else user_data + "\n"
    return text + "ssh_authorized_keys:\n" + "".join("  - %s\n" % json.dumps(k) for k in keys)


def _cloud_init(params: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    options = params.get("cloud_init")
    if not options:
        return None
    source: Dict[str, Any] = {}
    user_data = _with_ssh_keys(options.get("user_data"), list(options.get("ssh_authorized_keys") or []))
    if user_data is not None:
        source["userData"] = user_data
    if options.get("user_data_secret"):
        source["secretRef"] = {"name": options["user_data_secret"]}
    if options.get("network_data") is not None:
        source["networkData"] = options["network_data"]
    if options.get("network_data_secret"):
        source["networkDataSecretRef"] = {"name": options["network_data_secret"]}
    if not source:
        source["userData"] = "#cloud-config\n"
    return source


def _access_credentials(params: Mapping[str, Any]) -> List[Dict[str, Any]]:
    credentials = []
    for index, item in enumerate(params.get("ssh_key_secrets") or []):
        method = PROPAGATION_METHODS[item.get("propagation_method") or "no_cloud"]
        propagation: Dict[str, Any] = {method: {}}
        if method == "qemuGuestAgent":
            if not item.get("users"):
                raise invalid("ssh_key_secrets[%d].users" % index, "required with propagation_method qemu_guest_agent")
            propagation[method] = {"users": list(item["users"])}
        credentials.append({"sshPublicKey": {"source": {"secret": {"secretName": item["secret"]}}, "propagationMethod": propagation}})
    return credentials


# -- networks ------------------------------------------------------------------------------
def _networks(params: Mapping[str, Any]) -> Dict[str, List[Dict[str, Any]]]:
    interfaces, networks = [], []
    for index, net in enumerate(params.get("networks") or []):
        where = _where("networks", index, net)
        multus = net.get("network_name")
        binding = net.get("binding") or ("bridge" if multus else "masquerade")
        if binding == "masquerade" and multus:
            raise invalid("%s.binding" % where, "masquerade only works on the pod network; use bridge for network_name")
        if net.get("ports") and binding != "masquerade":
            raise invalid("%s.ports" % where, "port forwarding needs binding masquerade")
        interface: Dict[str, Any] = {"name": net["name"], binding: {}}
        if net.get("mac_address"):
            interface["macAddress"] = net["mac_address"]
        if net.get("model"):
            interface["model"] = net["model"]
        if net.get("ports"):
            interface["ports"] = [_compact(dict(port)) for port in net["ports"]]
        interfaces.append(interface)
        networks.append({"name": net["name"], "multus": {"networkName": multus}} if multus else {"name": net["name"], "pod": {}})
    return {"interfaces": interfaces, "networks": networks}


# -- assembly ------------------------------------------------------------------------------
def _template_spec(params: Mapping[str, Any], disk_parts: Mapping[str, List[Dict[str, Any]]]) -> Dict[str, Any]:
    domain = _domain(params)
    net_parts = _networks(params)
    spec: Dict[str, Any] = {"domain": domain}
    devices: Dict[str, Any] = {}
    if params.get("disks") is not None:
        devices["disks"] = disk_parts["disks"]
    if params.get("networks") is not None:
        devices["interfaces"] = net_parts["interfaces"]
        spec["networks"] = net_parts["networks"]
    volumes = disk_parts["volumes"] if params.get("disks") is not None else None
    cloud_init = _cloud_init(params)
    credentials = _access_credentials(params)
    needs_no_cloud = cloud_init is not None or any(
        "noCloud" in c["sshPublicKey"]["propagationMethod"] for c in credentials
    )
    if needs_no_cloud:
        devices.setdefault("disks", list(disk_parts["disks"])).append({"name": CLOUD_INIT_VOLUME, "disk": {"bus": "virtio"}})
        volumes = volumes if volumes is not None else []
        volumes.append({"name": CLOUD_INIT_VOLUME, "cloudInitNoCloud": cloud_init or {"userData": "#cloud-config\n"}})
    if volumes is not None:
        spec["volumes"] = volumes
    if credentials:
        spec["accessCredentials"] = credentials
    domain["devices"] = devices
    if params.get("node_selector") is not None:
        spec["nodeSelector"] = dict(params["node_selector"])
    if params.get("tolerations") is not None:
        spec["tolerations"] = list(params["tolerations"])
    if params.get("affinity") is not None:
        spec["affinity"] = dict(params["affinity"])
    if params.get("eviction_strategy"):
        spec["evictionStrategy"] = params["eviction_strategy"]
    if params.get("termination_grace_period") is not None:
        spec["terminationGracePeriodSeconds"] = params["termination_grace_period"]
    return spec


def build_vm(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The VirtualMachine to server-side apply for these module options."""
    name = params["name"]
    metadata: Dict[str, Any] = {"name": name, "namespace": params["namespace"]}
    if params.get("labels"):
        metadata["labels"] = dict(params["labels"])
    if params.get("annotations"):
        metadata["annotations"] = dict(params["annotations"])

    template_metadata: Dict[str, Any] = {"labels": {DOMAIN_LABEL: name}}
    template_metadata["labels"].update(params.get("template_labels") or {})
    if params.get("template_annotations"):
        template_metadata["annotations"] = dict(params["template_annotations"])

    spec: Dict[str, Any] = {}
    if params.get("run_strategy"):
        spec["runStrategy"] = params["run_strategy"]
    for option, key in (("instancetype", "instancetype"), ("preference", "preference")):
        matcher = _matcher(option, params.get(option))
        if matcher:
            spec[key] = matcher
    disk_parts = _disks(params)
    if disk_parts["templates"]:
        spec["dataVolumeTemplates"] = disk_parts["templates"]
    spec["template"] = {"metadata": template_metadata, "spec": _template_spec(params, disk_parts)}

    return {
        "apiVersion": VIRTUAL_MACHINE.api_version,
        "kind": VIRTUAL_MACHINE.kind,
        "metadata": metadata,
        "spec": deep_merge(without_nulls(_raw_spec(params)), spec),
    }


def _raw_spec(params: Mapping[str, Any]) -> Dict[str, Any]:
    raw = params.get("spec") or {}
    if not isinstance(raw, dict):
        raise invalid("spec", "must be a mapping (a VirtualMachine spec)")
    return raw


# -- what a task declares ------------------------------------------------------------------
_TEMPLATE: Path = ("spec", "template")
_TEMPLATE_SPEC: Path = _TEMPLATE + ("spec",)
_DOMAIN: Path = _TEMPLATE_SPEC + ("domain",)
_DEVICES: Path = _DOMAIN + ("devices",)
_CLOUD_INIT_ITEMS: Tuple[Path, ...] = (_DEVICES + ("disks", CLOUD_INIT_VOLUME), _TEMPLATE_SPEC + ("volumes", CLOUD_INIT_VOLUME))

# The parts of the VM each option is authoritative for when a task gives it (ANY: every item
# of a list of named items). Options a task omits keep what the VM has.
OPTION_PATHS: Dict[str, Tuple[Path, ...]] = {
    "labels": (("metadata", "labels"),),
    "annotations": (("metadata", "annotations"),),
    "template_labels": (_TEMPLATE + ("metadata", "labels"),),
    "template_annotations": (_TEMPLATE + ("metadata", "annotations"),),
    "run_strategy": (("spec", "runStrategy"),),
    # CPU/memory and an instance type exclude each other: giving one side releases the other.
    "instancetype": (("spec", "instancetype"), _DOMAIN + ("cpu",), _DOMAIN + ("memory",)),
    "cpu": (_DOMAIN + ("cpu",), ("spec", "instancetype")),
    "memory": (_DOMAIN + ("memory",), ("spec", "instancetype")),
    "preference": (("spec", "preference"),),
    # Every disk and volume but the cloud-init one, which cloud_init manages.
    "disks": (_DEVICES + ("disks", ANY), _TEMPLATE_SPEC + ("volumes", ANY), ("spec", "dataVolumeTemplates")),
    "cloud_init": _CLOUD_INIT_ITEMS,
    "networks": (_DEVICES + ("interfaces",), _TEMPLATE_SPEC + ("networks",)),
    "ssh_key_secrets": (_TEMPLATE_SPEC + ("accessCredentials",),),
    "node_selector": (_TEMPLATE_SPEC + ("nodeSelector",),),
    "tolerations": (_TEMPLATE_SPEC + ("tolerations",),),
    "affinity": (_TEMPLATE_SPEC + ("affinity",),),
    "eviction_strategy": (_TEMPLATE_SPEC + ("evictionStrategy",),),
    "termination_grace_period": (_TEMPLATE_SPEC + ("terminationGracePeriodSeconds",),),
}


def declared_paths(params: Mapping[str, Any]) -> Declared:
    """What the options this task gives are authoritative for (see OPTION_PATHS).

    The raw ``spec`` declares the paths it sets, down to its leaves (items of named lists by
    name), so it never releases more than it names; a null there releases that field.
    """
    paths = [path for option, owned in OPTION_PATHS.items() if params.get(option) is not None for path in owned]
    paths.extend(leaf_paths(_raw_spec(params), ("spec",)) if params.get("spec") else [])
    kept = () if params.get("cloud_init") is not None else _CLOUD_INIT_ITEMS
    return Declared(tuple(paths), kept)


def data_volume_names(vm: Optional[Mapping[str, Any]]) -> List[str]:
    """DataVolumes the VM owns through dataVolumeTemplates (deleted with it unless orphaned)."""
    templates = ((vm or {}).get("spec") or {}).get("dataVolumeTemplates") or []
    return [t.get("metadata", {}).get("name") for t in templates if t.get("metadata", {}).get("name")]
