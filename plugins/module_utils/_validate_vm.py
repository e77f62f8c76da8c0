# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks of the virt.kubevirt.vm options, before any request (see _validate.py)."""

from __future__ import annotations

import re
from typing import Any, List, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._validate import (
    DISK_BUSES,
    INT32_MAX,
    NIC_MODELS,
    UINT32_MAX,
    check_annotations,
    check_choice,
    check_dns_label,
    check_image,
    check_int_range,
    check_labels,
    check_mac,
    check_namespaced_name,
    check_no_spaces,
    check_quantity,
    check_read_scope,
    check_registry_url,
    check_resource_name,
    check_ssh_public_key,
    check_text,
    check_unique,
    check_url,
    check_yaml,
    invalid,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._validate_selector import check_field_selector, check_label_selector
from ansible_collections.virt.kubevirt.plugins.module_utils._vm_spec import CLOUD_INIT_VOLUME

# The VM name is also the value of the template label kubevirt.io/domain: at most 63 characters.
VM_NAME_MAX = 63
# Run strategies KubeVirt's restart endpoint refuses ("RunStategy X does not support manual restart requests").
NO_RESTART_STRATEGIES = ("Halted", "Once")
_DV_SOURCES = ("url", "registry", "clone_pvc", "data_source", "blank")
_INTERFACE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_TOLERATION_OPERATORS = ("Exists", "Equal")
_TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def _where(option: str, index: int, item: Mapping[str, Any]) -> str:
    name = item.get("name")
    return "%s[%d] (%s)" % (option, index, name) if isinstance(name, str) and name.strip() else "%s[%d]" % (option, index)


def check_vm_name(option: str, value: Any) -> str:
    check_resource_name(option, value)
    if len(value) > VM_NAME_MAX:
        raise invalid(option, "must be at most %d characters (KubeVirt puts it in the label kubevirt.io/domain), "
                      "got %d" % (VM_NAME_MAX, len(value)))
    return value


def check_interface_name(option: str, value: Any) -> str:
    """KubeVirt's rule for interface (and network) names."""
    check_text(option, value)
    if not _INTERFACE_NAME.match(value):
        raise invalid(option, "must be letters, digits, '-' and '_' only (KubeVirt's interface name rule), got %r" % value)
    return value


def check_port_name(option: str, value: Any) -> str:
    """An IANA service name, as KubeVirt requires for forwarded port names."""
    check_text(option, value)
    if len(value) > 15 or not _PORT_NAME.match(value) or "--" in value or not re.search("[a-z]", value):
        raise invalid(option, "must be at most 15 lowercase letters, digits and single '-', with at least one letter "
                      "(an IANA service name such as ssh or http-alt), got %r" % value)
    return value


def _ref(where: str, ref: Optional[Mapping[str, Any]]) -> None:
    if ref:
        check_resource_name(where + ".name", ref.get("name"))
        if ref.get("namespace") is not None:
            check_dns_label(where + ".namespace", ref["namespace"])


def _compute(params: Mapping[str, Any]) -> None:
    for option in ("instancetype", "preference"):
        matcher = params.get(option) or {}
        if matcher.get("name") is not None:
            check_resource_name(option + ".name", matcher["name"])
        volume = matcher.get("infer_from_volume")
        if volume is not None:
            check_text(option + ".infer_from_volume", volume)
            disks = [d.get("name") for d in params.get("disks") or []]
            if params.get("disks") is not None and volume not in disks:
                raise invalid(option + ".infer_from_volume", "%r is not one of the disks (%s)" % (volume, ", ".join(disks) or "none"))
    for key, count in (params.get("cpu") or {}).items():
        if count is not None:
            check_int_range("cpu.%s" % key, count, 1, UINT32_MAX)
    if params.get("memory") is not None:
        check_quantity("memory", params["memory"])


def _data_volume(params: Mapping[str, Any], disk: Mapping[str, Any], where: str) -> str:
    dv = disk["data_volume"]
    where = where + ".data_volume"
    given = [key for key in _DV_SOURCES if dv.get(key)]
    if not given:
        raise invalid(where, "needs a source: set one of %s" % ", ".join(_DV_SOURCES))
    if len(given) > 1:
        raise invalid(where, "has several sources (%s); set exactly one" % ", ".join(given))
    name = dv.get("name")
    if name is not None:
        check_resource_name(where + ".name", name)
    else:
        name = "%s-%s" % (params["name"], disk["name"])
        if len(name) > 253:
            raise invalid(where + ".name", "the default name %s... is longer than 253 characters; set a shorter one" % name[:40])
    if dv.get("url") is not None:
        check_url(where + ".url", dv["url"])
    if dv.get("registry") is not None:
        check_registry_url(where + ".registry", dv["registry"])
    _ref(where + ".clone_pvc", dv.get("clone_pvc"))
    _ref(where + ".data_source", dv.get("data_source"))
    if dv.get("size") is not None:
        check_quantity(where + ".size", dv["size"])
    if dv.get("storage_class") is not None:
        check_resource_name(where + ".storage_class", dv["storage_class"])
    return name


def _disks(params: Mapping[str, Any]) -> None:
    disks = params.get("disks") or []
    names, boot_orders, dv_names = [], [], []
    for index, disk in enumerate(disks):
        where = _where("disks", index, disk)
        check_dns_label("disks[%d].name" % index, disk.get("name"))
        if disk["name"] == CLOUD_INIT_VOLUME:
            raise invalid(where + ".name", "%s is the cloud-init disk, which the cloud_init option manages; "
                          "use another name" % CLOUD_INIT_VOLUME)
        names.append(("disks[%d].name" % index, disk["name"]))
        if disk.get("bus") is not None:
            check_choice(where + ".bus", disk["bus"], DISK_BUSES)
            if disk.get("type") == "cdrom" and disk["bus"] == "virtio":
                raise invalid(where + ".bus", "virtio cannot be used for a cdrom; use sata or scsi")
        if disk.get("boot_order") is not None:
            check_int_range(where + ".boot_order", disk["boot_order"], 1, UINT32_MAX)
            boot_orders.append((where + ".boot_order", disk["boot_order"]))
        if disk.get("container_disk") is not None:
            check_image(where + ".container_disk", disk["container_disk"])
        if disk.get("pvc") is not None:
            check_resource_name(where + ".pvc", disk["pvc"])
        if disk.get("existing_data_volume") is not None:
            check_resource_name(where + ".existing_data_volume", disk["existing_data_volume"])
            dv_names.append((where + ".existing_data_volume", disk["existing_data_volume"]))
        if disk.get("data_volume") is not None:
            dv_names.append((where + ".data_volume.name", _data_volume(params, disk, where)))
    check_unique("disk names", names)
    check_unique("boot orders", boot_orders)
    check_unique("DataVolume names", dv_names)


def _networks(params: Mapping[str, Any]) -> None:
    networks = params.get("networks") or []
    names, macs, pods = [], [], []
    for index, net in enumerate(networks):
        where = _where("networks", index, net)
        check_interface_name("networks[%d].name" % index, net.get("name"))
        names.append(("networks[%d].name" % index, net["name"]))
        if net.get("network_name") is not None:
            check_namespaced_name(where + ".network_name", net["network_name"])
        else:
            pods.append(where)
        if net.get("mac_address") is not None:
            check_mac(where + ".mac_address", net["mac_address"])
            digits = re.sub(r"[:.-]", "", net["mac_address"].lower())
            macs.append((where + ".mac_address", ":".join(digits[i:i + 2] for i in range(0, 12, 2))))
        if net.get("model") is not None:
            check_choice(where + ".model", net["model"], NIC_MODELS)
        ports, port_names = [], []
        for port_index, port in enumerate(net.get("ports") or []):
            port_where = "%s.ports[%d]" % (where, port_index)
            check_int_range(port_where + ".port", port.get("port"), 1, 65535)
            if port.get("name") is not None:
                check_port_name(port_where + ".name", port["name"])
                port_names.append((port_where + ".name", port["name"]))
            ports.append((port_where + ".port", (port["port"], port.get("protocol") or "TCP")))
        check_unique("ports", ports)
        check_unique("port names", port_names)
    if len(pods) > 1:
        raise invalid(pods[1], "a VM has one pod network, already used by %s; give this one a network_name "
                      "(a Multus NetworkAttachmentDefinition)" % pods[0])
    check_unique("network names", names)
    check_unique("MAC addresses", macs)


def _cloud_init(params: Mapping[str, Any]) -> None:
    options = params.get("cloud_init") or {}
    user_data = options.get("user_data")
    if user_data is not None:
        check_text("cloud_init.user_data", user_data, multiline=True)
        if user_data.lstrip().startswith("#cloud-config"):
            check_yaml("cloud_init.user_data", user_data, "a #cloud-config document")
    if options.get("network_data") is not None:
        check_yaml("cloud_init.network_data", options["network_data"], "network-config (netplan v2 or v1)")
    for key in ("user_data_secret", "network_data_secret"):
        if options.get(key) is not None:
            check_resource_name("cloud_init." + key, options[key])
    for index, key in enumerate(options.get("ssh_authorized_keys") or []):
        check_ssh_public_key("cloud_init.ssh_authorized_keys[%d]" % index, key)
    secrets = []
    for index, item in enumerate(params.get("ssh_key_secrets") or []):
        where = "ssh_key_secrets[%d]" % index
        check_resource_name(where + ".secret", item.get("secret"))
        secrets.append((where + ".secret", item["secret"]))
        for user_index, user in enumerate(item.get("users") or []):
            check_no_spaces("%s.users[%d]" % (where, user_index), user)
    check_unique("secrets", secrets)


def _scheduling(params: Mapping[str, Any]) -> None:
    check_labels("node_selector", params.get("node_selector"))
    for index, toleration in enumerate(params.get("tolerations") or []):
        where = "tolerations[%d]" % index
        if not isinstance(toleration, dict):
            raise invalid(where, "must be a dictionary with key, operator, value, effect or tolerationSeconds")
        if toleration.get("operator") is not None:
            check_choice(where + ".operator", toleration["operator"], _TOLERATION_OPERATORS)
        if toleration.get("effect") is not None:
            check_choice(where + ".effect", toleration["effect"], _TOLERATION_EFFECTS)
    if params.get("termination_grace_period") is not None:
        check_int_range("termination_grace_period", params["termination_grace_period"], 0, INT32_MAX)


def check_restart(params: Mapping[str, Any], live_strategy: Optional[str] = None) -> None:
    """``restart`` on a VM that stays stopped: KubeVirt (and virtctl restart) refuse it."""
    strategy = params.get("run_strategy") or live_strategy
    if params.get("restart") and strategy in NO_RESTART_STRATEGIES:
        given = "the task sets" if params.get("run_strategy") else "the VM has"
        raise invalid("restart", "%s run_strategy %s, which KubeVirt does not restart (virtctl restart is refused "
                      "the same way); use run_strategy: Always to start the VM, or drop restart" % (given, strategy))


def validate_vm_params(params: Mapping[str, Any]) -> None:
    """Every vm option checked; raises on the first problem, before any request is sent."""
    check_vm_name("name", params.get("name"))
    check_dns_label("namespace", params.get("namespace"))
    if params.get("wait_timeout") is not None:
        check_int_range("wait_timeout", params["wait_timeout"], 0)
    grace = (params.get("delete_options") or {}).get("gracePeriodSeconds")
    if grace is not None:
        check_int_range("delete_options.gracePeriodSeconds", grace, 0)
    if params.get("state") == "absent":
        return
    for option in ("labels", "template_labels"):
        check_labels(option, params.get(option))
    for option in ("annotations", "template_annotations"):
        check_annotations(option, params.get(option))
    _compute(params)
    _disks(params)
    _networks(params)
    _cloud_init(params)
    _scheduling(params)
    check_restart(params)


def _selectors(option: str, values: List[Any]) -> List[str]:
    return [check_text("%s[%d]" % (option, index), value) for index, value in enumerate(values or [])]


def validate_vm_info_params(params: Mapping[str, Any]) -> None:
    """The vm_info options checked; selectors are parsed as the API server would."""
    check_read_scope(params)
    for index, selector in enumerate(_selectors("label_selectors", params.get("label_selectors"))):
        check_label_selector("label_selectors[%d]" % index, selector)
    for index, selector in enumerate(_selectors("field_selectors", params.get("field_selectors"))):
        check_field_selector("field_selectors[%d]" % index, selector)
    condition = params.get("wait_condition") or {}
    for key in ("type", "reason"):
        if condition.get(key) is not None:
            check_no_spaces("wait_condition." + key, condition[key])
    if params.get("query") is not None:
        check_text("query", params["query"], multiline=True)
    if params.get("wait_timeout") is not None:
        check_int_range("wait_timeout", params["wait_timeout"], 0)
