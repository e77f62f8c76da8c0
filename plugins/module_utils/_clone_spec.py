# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""VirtualMachineClone manifests (clone.kubevirt.io/v1beta1) and the checks of vm_clone's options."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._resources import VIRTUAL_MACHINE_CLONE
from ansible_collections.virt.kubevirt.plugins.module_utils._restore_spec import check_json_patches, manifest_with_patches
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import (
    check_dns_label,
    check_mac,
    check_resource_name,
    check_text,
    invalid,
)

SOURCE_KINDS = ("VirtualMachine", "VirtualMachineSnapshot")
SOURCE_GROUPS = {"VirtualMachine": "kubevirt.io", "VirtualMachineSnapshot": "snapshot.kubevirt.io"}
FILTER_OPTIONS = (
    ("label_filters", "labelFilters"),
    ("annotation_filters", "annotationFilters"),
    ("template_label_filters", "labelFilters"),
    ("template_annotation_filters", "annotationFilters"),
)


def check_filters(option: str, filters: Optional[List[Any]]) -> None:
    """KubeVirt's clone webhook rules: ``!`` only first, ``*`` only last, a lone ``!`` is no filter."""
    for index, value in enumerate(filters or []):
        where = "%s[%d]" % (option, index)
        text = check_text(where, value)
        if text == "!":
            raise invalid(where, "a negation character alone is not a valid filter")
        if "!" in text[1:]:
            raise invalid(where, "%r may only start with ! (negation), not contain it later" % text)
        if "*" in text[:-1]:
            raise invalid(where, "%r may only end with * (wildcard), not contain it earlier" % text)


def validate_clone_params(params: Mapping[str, Any]) -> None:
    """Every option checked before any request."""
    check_resource_name("name", params["name"])
    check_dns_label("namespace", params["namespace"])
    source = params["source"]
    check_resource_name("source.name", source.get("name"))
    check_resource_name("target", params["target"], max_length=63)
    if source.get("kind") == "VirtualMachine" and source.get("name") == params["target"]:
        raise invalid("target", "must differ from the source VM's name (%s)" % params["target"])
    for option, _field in FILTER_OPTIONS:
        check_filters(option, params.get(option))
    for interface, mac in sorted((params.get("new_mac_addresses") or {}).items()):
        check_dns_label("new_mac_addresses", interface)
        if mac:
            check_mac("new_mac_addresses.%s" % interface, mac)
    if params.get("new_smbios_serial") is not None:
        check_text("new_smbios_serial", params["new_smbios_serial"])
    check_json_patches("patches", params.get("patches"))


def build_clone(params: Mapping[str, Any]) -> Dict[str, Any]:
    source = params["source"]
    spec: Dict[str, Any] = {
        "source": {"apiGroup": SOURCE_GROUPS[source["kind"]], "kind": source["kind"], "name": source["name"]},
        "target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": params["target"]},
    }
    for option, field in FILTER_OPTIONS[:2]:
        if params.get(option) is not None:
            spec[field] = list(params[option])
    template = {field: list(params[option]) for option, field in FILTER_OPTIONS[2:] if params.get(option) is not None}
    if template:
        spec["template"] = template
    if params.get("new_mac_addresses"):
        spec["newMacAddresses"] = {str(k): str(v) for k, v in params["new_mac_addresses"].items()}
    if params.get("new_smbios_serial") is not None:
        spec["newSMBiosSerial"] = params["new_smbios_serial"]
    return manifest_with_patches(VIRTUAL_MACHINE_CLONE, params, spec)


def spec_differences(live: Mapping[str, Any], wanted: Mapping[str, Any]) -> List[str]:
    """Fields of an existing clone that differ from the task's (a clone runs once)."""
    have, want = live.get("spec") or {}, wanted.get("spec") or {}
    return [key for key in ("source", "target") if have.get(key) != want.get(key)]
