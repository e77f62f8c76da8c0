# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""NetworkAttachmentDefinition manifests: the CNI JSON each plugin reads, from the module's options.

What each type renders follows the plugins' own configuration references: containernetworking's
``bridge`` (OpenShift ships the same plugin as ``cnv-bridge``), OVN-Kubernetes ``ovn-k8s-cni-overlay``
(pkg/cni/types NetConf: topology, subnets, excludeSubnets, vlanID, physicalNetworkName,
netAttachDefName, allowPersistentIPs; no ``ipam`` key), SR-IOV CNI (vlan, spoofchk "on"/"off") and
KubeVirt's macvtap-cni. ``spec.config`` is a JSON string: the module compares it parsed, so the key
order or whitespace of a stored config never makes a change.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._nad_ipam import build_ipam, check_raw_ipam
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import NETWORK_ATTACHMENT_DEFINITION
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import (
    check_annotations,
    check_dns_label,
    check_int_range,
    check_labels,
    check_qualified_key,
    check_resource_name,
    check_text,
    invalid,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._validate_net import (
    check_interface_name,
    check_vlan_id,
    parse_cidr,
)

CNI_VERSION = "0.3.1"
# Multus and the device plugins (bridge-marker, SR-IOV, macvtap) read this annotation.
RESOURCE_ANNOTATION = "k8s.v1.cni.cncf.io/resourceName"
BRIDGE_RESOURCE_PREFIX = "bridge.network.kubevirt.io/"
OVN_TYPE = "ovn-k8s-cni-overlay"
TYPES = ("linux-bridge", "cnv-bridge", "localnet", "layer2", "sriov", "macvtap")
_PLUGIN = {"linux-bridge": "bridge", "cnv-bridge": "cnv-bridge", "localnet": OVN_TYPE, "layer2": OVN_TYPE,
           "sriov": "sriov", "macvtap": "macvtap"}
# Options each type reads; any other type-specific option given is refused (it would be dropped).
_TYPED_OPTIONS = ("bridge", "vlan", "mtu", "macspoofchk", "ipam", "subnets", "exclude_subnets",
                  "physical_network_name", "allow_persistent_ips", "resource_name")
_ALLOWED = {
    "linux-bridge": {"bridge", "vlan", "mtu", "macspoofchk", "ipam", "resource_name"},
    "cnv-bridge": {"bridge", "vlan", "mtu", "macspoofchk", "ipam", "resource_name"},
    "localnet": {"vlan", "mtu", "subnets", "exclude_subnets", "physical_network_name", "allow_persistent_ips"},
    "layer2": {"mtu", "subnets", "exclude_subnets", "allow_persistent_ips"},
    "sriov": {"vlan", "macspoofchk", "ipam", "resource_name"},
    "macvtap": {"mtu", "resource_name"},
}


def nad_ref(namespace: str, name: str) -> str:
    """``<namespace>/<name>``: how OVN-Kubernetes (netAttachDefName) and Multus name a NAD."""
    return "%s/%s" % (namespace, name)


def parse_config(value: Any, option: str = "config") -> Dict[str, Any]:
    """A CNI config given as a dict or as JSON text; it must be one plugin or a conflist."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise invalid(option, "is not valid JSON: %s" % exc)
    if not isinstance(value, dict):
        raise invalid(option, "must be a JSON object (a CNI config), got %s" % type(value).__name__)
    if not value.get("type") and not isinstance(value.get("plugins"), list):
        raise invalid(option, "names no CNI plugin: give 'type' (one plugin) or 'plugins' (a conflist)")
    return value


def live_config(nad: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    """The stored ``spec.config`` parsed; None when absent or not JSON."""
    raw = ((nad or {}).get("spec") or {}).get("config")
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def render(config: Mapping[str, Any]) -> str:
    return json.dumps(config, indent=2)


# -- checks --------------------------------------------------------------------------------
def _check_subnets(params: Mapping[str, Any]) -> None:
    nets = [parse_cidr("subnets[%d]" % i, s) for i, s in enumerate(params.get("subnets") or [])]
    for i, text in enumerate(params.get("exclude_subnets") or []):
        excluded = parse_cidr("exclude_subnets[%d]" % i, text)
        if not any(n.version == excluded.version and excluded.subnet_of(n) for n in nets):  # type: ignore[arg-type]
            raise invalid("exclude_subnets[%d]" % i, "%s is not inside any of subnets (%s); OVN-Kubernetes refuses "
                          "the network" % (text, ", ".join(params.get("subnets") or []) or "none given"))


def _check_plugin(plugin: Mapping[str, Any], where: str, namespace: str, name: str) -> None:
    """What the real plugin would refuse at pod start, caught before the NAD is written."""
    kind = plugin.get("type")
    if kind in ("bridge", "cnv-bridge"):
        if plugin.get("bridge") is not None:
            check_interface_name("%s.bridge" % where, plugin["bridge"])
        if plugin.get("vlan") is not None:
            check_vlan_id("%s.vlan" % where, plugin["vlan"], low=0)
    elif kind == "sriov" and plugin.get("vlan") is not None:
        check_vlan_id("%s.vlan" % where, plugin["vlan"], low=0)
    elif kind == OVN_TYPE:
        if plugin.get("netAttachDefName") != nad_ref(namespace, name):
            raise invalid("%s.netAttachDefName" % where, "must be %r: OVN-Kubernetes refuses a NAD whose config names "
                          "another (net-attach-def name is inconsistent with config)" % nad_ref(namespace, name))
        if "ipam" in plugin:
            raise invalid("%s.ipam" % where, "OVN-Kubernetes networks take no ipam key; give subnets instead")
        if plugin.get("vlanID") is not None:
            if plugin.get("topology") != "localnet":
                raise invalid("%s.vlanID" % where, "is only read on topology localnet")
            check_vlan_id("%s.vlanID" % where, plugin["vlanID"])
    if isinstance(plugin.get("ipam"), dict):
        check_raw_ipam("%s.ipam" % where, plugin["ipam"])


def check_config(config: Mapping[str, Any], namespace: str, name: str, option: str = "config") -> None:
    plugins = config.get("plugins") if isinstance(config.get("plugins"), list) else [config]
    for index, plugin in enumerate(plugins):
        if not isinstance(plugin, dict):
            raise invalid("%s.plugins[%d]" % (option, index), "must be a JSON object")
        _check_plugin(plugin, option if plugin is config else "%s.plugins[%d]" % (option, index), namespace, name)


def validate_nad_params(params: Mapping[str, Any]) -> None:
    """Every option checked before any request."""
    check_resource_name("name", params["name"])
    check_dns_label("namespace", params["namespace"])
    check_labels("labels", params.get("labels"))
    check_annotations("annotations", params.get("annotations"))
    if params["state"] == "absent":
        return
    kind, raw = params.get("type"), params.get("config")
    if (kind is None) == (raw is None):
        raise invalid("type", "give either type (a rendered config) or config (your own CNI JSON), not %s"
                      % ("both" if kind else "neither"))
    if raw is not None:
        given = [o for o in _TYPED_OPTIONS if params.get(o) is not None]
        if given:
            raise invalid(given[0], "only applies with type; put it in config yourself")
        check_config(parse_config(raw), params["namespace"], params["name"])
        return
    for option in _TYPED_OPTIONS:
        if params.get(option) is not None and option not in _ALLOWED[kind]:
            raise invalid(option, "does not apply to type %s" % kind)
    if params.get("cni_name") is not None:
        check_text("cni_name", params["cni_name"])
    if kind in ("linux-bridge", "cnv-bridge"):
        if not params.get("bridge"):
            raise invalid("bridge", "is required with type %s (the host bridge, e.g. br1)" % kind)
        check_interface_name("bridge", params["bridge"])
    if params.get("vlan") is not None:
        check_vlan_id("vlan", params["vlan"], low=1 if kind == "localnet" else 0)
    if params.get("mtu") is not None:
        check_int_range("mtu", params["mtu"], 68, 65535)  # 68: the IPv4 minimum (RFC 791)
    if kind in ("sriov", "macvtap") and not params.get("resource_name"):
        raise invalid("resource_name", "is required with type %s (the device plugin's resource, e.g. %s)" % (
            kind, "openshift.io/intel_sriov" if kind == "sriov" else "macvtap.network.kubevirt.io/eth1"))
    if params.get("resource_name"):
        check_qualified_key("resource_name", params["resource_name"])
    if kind in ("localnet", "layer2"):
        _check_subnets(params)
    if params.get("physical_network_name") is not None:
        check_text("physical_network_name", params["physical_network_name"])
    if params.get("ipam") is not None:
        build_ipam(params["ipam"])


# -- manifests -----------------------------------------------------------------------------
def _bridge(params: Mapping[str, Any], config: Dict[str, Any]) -> None:
    config["bridge"] = params["bridge"]
    _put(config, "vlan", params.get("vlan"))
    _put(config, "mtu", params.get("mtu"))
    _put(config, "macspoofchk", params.get("macspoofchk"))


def _ovn(params: Mapping[str, Any], config: Dict[str, Any]) -> None:
    config["topology"] = params["type"]
    config["netAttachDefName"] = nad_ref(params["namespace"], params["name"])
    _put(config, "subnets", ",".join(params.get("subnets") or []) or None)
    _put(config, "excludeSubnets", ",".join(params.get("exclude_subnets") or []) or None)
    _put(config, "vlanID", params.get("vlan"))
    _put(config, "mtu", params.get("mtu"))
    _put(config, "physicalNetworkName", params.get("physical_network_name"))
    _put(config, "allowPersistentIPs", params.get("allow_persistent_ips"))


def _sriov(params: Mapping[str, Any], config: Dict[str, Any]) -> None:
    _put(config, "vlan", params.get("vlan"))
    if params.get("macspoofchk") is not None:
        config["spoofchk"] = "on" if params["macspoofchk"] else "off"


def _macvtap(params: Mapping[str, Any], config: Dict[str, Any]) -> None:
    _put(config, "mtu", params.get("mtu"))


_RENDER: Dict[str, Callable[[Mapping[str, Any], Dict[str, Any]], None]] = {
    "linux-bridge": _bridge, "cnv-bridge": _bridge, "localnet": _ovn, "layer2": _ovn, "sriov": _sriov,
    "macvtap": _macvtap,
}


def _put(config: Dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        config[key] = value


def build_config(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The CNI config the task asks for (``config`` as given, or rendered from ``type``)."""
    if params.get("config") is not None:
        return parse_config(params["config"])
    kind = params["type"]
    config: Dict[str, Any] = {"cniVersion": params.get("cni_version") or CNI_VERSION,
                              "name": params.get("cni_name") or params["name"], "type": _PLUGIN[kind]}
    _RENDER[kind](params, config)
    if params.get("ipam") is not None:
        ipam = build_ipam(params["ipam"])
        if ipam is not None:
            config["ipam"] = ipam
    return config


def resource_name(params: Mapping[str, Any]) -> Optional[str]:
    """The resourceName annotation: given, or bridge-marker's for cnv-bridge (as OpenShift documents)."""
    if params.get("resource_name"):
        return params["resource_name"]
    if params.get("type") == "cnv-bridge":
        return BRIDGE_RESOURCE_PREFIX + params["bridge"]
    return None


def build_nad(params: Mapping[str, Any], config_text: Optional[str] = None) -> Dict[str, Any]:
    """The manifest; ``config_text`` replaces the rendered JSON (the stored string when it means the same)."""
    annotations = dict(params.get("annotations") or {})
    resource = resource_name(params)
    if resource:
        annotations[RESOURCE_ANNOTATION] = resource
    metadata: Dict[str, Any] = {"name": params["name"], "namespace": params["namespace"]}
    if params.get("labels"):
        metadata["labels"] = dict(params["labels"])
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": NETWORK_ATTACHMENT_DEFINITION.api_version,
        "kind": NETWORK_ATTACHMENT_DEFINITION.kind,
        "metadata": metadata,
        "spec": {"config": config_text if config_text is not None else render(build_config(params))},
    }


def plugin_types(config: Optional[Mapping[str, Any]]) -> List[str]:
    """CNI plugin types of a config, the conflist's in order."""
    if not config:
        return []
    plugins = config.get("plugins") if isinstance(config.get("plugins"), list) else [config]
    return [str(p.get("type")) for p in plugins if isinstance(p, dict) and p.get("type")]
