"""ValidateVirtualMachineInstanceSpec (KubeVirt v1.7 ``vmi-create-admitter.go``) for the parts the
simulator checks: the network validator (``pkg/network/admitter``: one pod network, one source per
network, Multus networkName, unique network/interface names, networks <-> interfaces, interface name,
model, MAC, PCI address, forwarded ports), disks matching volumes (``validateBootOrder``), the disk
checks of ``pkg/storage/admitters/disks.go`` (unique names, one target, boot order, bus) and unique
volume names, in KubeVirt's order. Used by the VM admitter (``spec.template.spec``) and the VMI create
admitter (``spec``); causes are {reason, message, field} like metav1.StatusCause.
"""
from __future__ import annotations

import re
from typing import Optional

_IFACE_NAME = re.compile(r"^[A-Za-z0-9-_]+$")
_NIC_MODELS = ("e1000", "e1000e", "igb", "ne2k_pci", "pcnet", "rtl8139", "virtio")
# Go's net.ParseMAC: 6, 8 or 20 octets separated by ':' or '-', or dotted groups of four hex digits.
_MAC_COLON = re.compile(r"^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2})*$")
_MAC_DOT = re.compile(r"^[0-9A-Fa-f]{4}(\.[0-9A-Fa-f]{4})*$")
_PCI = re.compile(r"^([0-9a-fA-F]{4}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-9a-fA-F])$")
_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_BUSES = "[virtio scsi sata usb]"  # Go's %v of []DiskBus


def _cause(reason: str, message: str, field: str) -> dict:
    return {"reason": reason, "message": message, "field": field}


def _mac_octets(mac: str) -> Optional[int]:
    """The octet count net.ParseMAC accepts, None when it fails."""
    if _MAC_COLON.match(mac):
        count = (len(mac) + 1) // 3
    elif _MAC_DOT.match(mac):
        count = (len(mac) + 1) // 5 * 2
    else:
        return None
    return count if count in (6, 8, 20) else None


def _mac_error(mac: str) -> str:
    """link.ValidateMacAddress."""
    if not mac:
        return ""
    count = _mac_octets(mac)
    if count is None:
        return f"malformed MAC address ({mac})"
    return f"too long MAC address ({mac})" if count > 6 else ""


def network_causes(field: str, spec: dict) -> list[dict]:
    """netadmitter.Validator.Validate."""
    causes: list[dict] = []
    networks = spec.get("networks") or []
    ifaces = ((spec.get("domain") or {}).get("devices") or {}).get("interfaces") or []
    ifield = f"{field}.domain.devices.interfaces"
    pods = [n for n in networks if n.get("pod") is not None]
    defaults = [n for n in networks if (n.get("multus") or {}).get("default")]
    if len(pods) > 1:  # sic: KubeVirt names a field "interfaces" directly under the spec
        causes.append(_cause("FieldValueDuplicate", f"more than one interface is connected to a pod network in "
                             f"{field}.interfaces", f"{field}.interfaces"))
    if len(defaults) > 1:
        causes.append(_cause("FieldValueInvalid", "Multus CNI should only have one default network", f"{field}.networks"))
    if pods and defaults:
        causes.append(_cause("FieldValueInvalid", "Pod network cannot be defined when Multus default network is defined",
                             f"{field}.networks"))
    for idx, net in enumerate(networks):
        has_pod, has_multus = net.get("pod") is not None, net.get("multus") is not None
        if not has_pod and not has_multus:
            causes.append(_cause("FieldValueRequired", "should have a network type", f"{field}.networks[{idx}]"))
        elif has_pod and has_multus:
            causes.append(_cause("FieldValueRequired", "should have only one network type", f"{field}.networks[{idx}]"))
    for idx, net in enumerate(networks):
        if net.get("multus") is not None and not net["multus"].get("networkName"):
            causes.append(_cause("FieldValueRequired", "CNI delegating plugin must have a networkName",
                                 f"{field}.networks[{idx}]"))
            break
    seen: set = set()
    for idx, net in enumerate(networks):
        if net.get("name") in seen:
            causes.append(_cause("FieldValueDuplicate", f'Network with name "{net.get("name")}" already exists, every '
                                 "network must have a unique name", f"{field}.networks[{idx}].name"))
        seen.add(net.get("name"))
    iface_names = {i.get("name") for i in ifaces}
    for idx, net in enumerate(networks):
        if net.get("name") not in iface_names:
            path = f"{field}.networks[{idx}].name"
            causes.append(_cause("FieldValueRequired", f"{path} '{net.get('name')}' not found.", path))
    seen = set()
    for idx, iface in enumerate(ifaces):
        if iface.get("name") in seen:
            causes.append(_cause("FieldValueDuplicate", "Only one interface can be connected to one specific network",
                                 f"{ifield}[{idx}].name"))
        seen.add(iface.get("name"))
    by_name = {n.get("name"): n for n in networks}
    for idx, iface in enumerate(ifaces):
        if iface.get("name") not in by_name:
            path = f"{ifield}[{idx}].name"
            causes.append(_cause("FieldValueInvalid", f"{path} '{iface.get('name')}' not found.", path))
    for idx, iface in enumerate(ifaces):
        causes.extend(_interface_causes(ifield, idx, iface, by_name.get(iface.get("name")) or {}))
    return causes


def _interface_causes(ifield: str, idx: int, iface: dict, network: dict) -> list[dict]:
    """validateInterfacesFields for one interface."""
    causes: list[dict] = []
    name_path = f"{ifield}[{idx}].name"
    if not _IFACE_NAME.match(iface.get("name") or ""):
        causes.append(_cause("FieldValueInvalid", "Network interface name can only contain alphabetical characters, "
                             "numbers, dashes (-) or underscores (_)", name_path))
    model = iface.get("model")
    if model and model not in _NIC_MODELS:
        causes.append(_cause("FieldValueNotSupported", f"interface {name_path} uses model {model} that is not supported.",
                             f"{ifield}[{idx}].model"))
    error = _mac_error(iface.get("macAddress") or "")
    if error:
        causes.append(_cause("FieldValueInvalid", f"interface {name_path} has {error}.", f"{ifield}[{idx}].macAddress"))
    pci = iface.get("pciAddress")
    if pci and not _PCI.match(pci):
        causes.append(_cause("FieldValueInvalid", f"interface {name_path} has malformed PCI address ({pci}).",
                             f"{ifield}[{idx}].pciAddress"))
    ports = iface.get("ports")
    if network.get("pod") is not None and ports is not None:
        causes.extend(_port_causes(ifield, idx, ports))
    return causes


def _port_causes(ifield: str, idx: int, ports: list) -> list[dict]:
    causes: list[dict] = []
    names: set = set()
    for pidx, port in enumerate(ports):
        name = port.get("name") or ""
        if not name:
            continue
        path = f"{ifield}[{idx}].ports[{pidx}].name"
        if name in names:
            causes.append(_cause("FieldValueDuplicate", f"Duplicate name of the port: {name}", path))
        if len(name) > 15 or not _PORT_NAME.match(name) or "--" in name or not re.search("[a-z]", name):
            causes.append(_cause("FieldValueInvalid", f"Invalid name of the port: {name}", path))
        names.add(name)
    for pidx, port in enumerate(ports):
        path = f"{ifield}[{idx}].ports[{pidx}]"
        number = int(port.get("port") or 0)
        if number == 0:
            causes.append(_cause("FieldValueRequired", "Port field is mandatory.", path))
        # sic: KubeVirt's bound is 65536 inclusive, its message says otherwise
        if number < 0 or number > 65536:
            causes.append(_cause("FieldValueInvalid", "Port field must be in range 0 < x < 65536.", path))
        if port.get("protocol") and port["protocol"] not in ("TCP", "UDP"):
            causes.append(_cause("FieldValueInvalid", "Unknown protocol, only TCP or UDP allowed",
                                 f"{path}.protocol"))
    return causes


def _disk_bus_causes(dfield: str, idx: int, disk: dict) -> list[dict]:
    """validateBusSupport."""
    kind = next((k for k in ("disk", "lun", "cdrom") if disk.get(k) is not None), "")
    bus = (disk.get(kind) or {}).get("bus") if kind else ""
    if not bus:
        return []
    path = f"{dfield}[{idx}].{kind}.bus"
    if bus == "ide":
        return [_cause("FieldValueInvalid", "IDE bus is not supported", path)]
    if bus == "virtio" and kind == "cdrom":
        return [_cause("FieldValueInvalid", f"Bus type {bus} is invalid for CD-ROM device", path)]
    if bus == "sata" and kind == "disk" and disk["disk"].get("readonly"):
        return [_cause("FieldValueInvalid", f"{bus} hard-disks do not support read-only.", path)]
    if bus in ("virtio", "sata", "scsi", "usb"):
        return []
    return [_cause("FieldValueInvalid", f"{dfield}[{idx}] is set with an unrecognized bus {bus}, must be one of: {_BUSES}",
                   path)]


def disk_causes(field: str, spec: dict) -> list[dict]:
    """validateBootOrder's disk/volume matching, then storageadmitters.ValidateDisks."""
    causes: list[dict] = []
    dfield = f"{field}.domain.devices.disks"
    disks = ((spec.get("domain") or {}).get("devices") or {}).get("disks") or []
    volume_names = {v.get("name") for v in spec.get("volumes") or ()}
    for idx, disk in enumerate(disks):
        if disk.get("name") not in volume_names and disk.get("cdrom") is None:
            causes.append(_cause("FieldValueInvalid", f"{dfield}[{idx}].Name '{disk.get('name')}' not found.",
                                 f"{dfield}[{idx}].name"))
    for idx, disk in enumerate(disks):
        for other in range(idx):
            if disks[other].get("name") == disk.get("name"):
                causes.append(_cause("FieldValueInvalid", f"{dfield}[{idx}] and {dfield}[{other}] must not have the "
                                     "same Name.", f"{dfield}[{idx}].name"))
        if sum(1 for k in ("disk", "lun", "cdrom") if disk.get(k) is not None) > 1:
            causes.append(_cause("FieldValueInvalid", f"{dfield}[{idx}] can only have a single target type defined",
                                 f"{dfield}[{idx}]"))
        if disk.get("bootOrder") is not None and int(disk["bootOrder"]) < 1:
            causes.append(_cause("FieldValueInvalid", f"{dfield}[{idx}] must have a boot order > 0, if supplied",
                                 f"{dfield}[{idx}].bootOrder"))
        causes.extend(_disk_bus_causes(dfield, idx, disk))
    return causes


def volume_causes(field: str, spec: dict) -> list[dict]:
    """validateVolumes: unique names."""
    causes: list[dict] = []
    first: dict = {}
    for idx, volume in enumerate(spec.get("volumes") or ()):
        name = volume.get("name")
        if name in first:
            causes.append(_cause("FieldValueInvalid", f"{field}.volumes[{idx}] and {field}.volumes[{first[name]}] must "
                                 "not have the same Name.", f"{field}.volumes[{idx}].name"))
        else:
            first[name] = idx
    return causes


def spec_causes(field: str, spec: dict) -> list[dict]:
    """The checks above in ValidateVirtualMachineInstanceSpec's order."""
    return network_causes(field, spec) + disk_causes(field, spec) + volume_causes(field, spec)
