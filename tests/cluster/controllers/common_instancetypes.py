"""The common-instancetypes bundle virt-operator deploys (KubeVirt >= 1.4, on by default; the
KubeVirt CR's ``commonInstancetypesDeployment.enabled: false``, which removes them, is not simulated).

KubeVirt v1.7 embeds common-instancetypes v1.5.1: 55 VirtualMachineClusterInstancetypes (cx1, m1,
n1, o1, rt1, u1 in their sizes) and 54 VirtualMachineClusterPreferences. ``data/common_instancetypes.json``
holds that bundle condensed (per-family spec template + size table; preference specs with shared
fragments referenced as ``"@name"``; descriptions cut to their first paragraph); this module expands it
into the objects as virt-operator creates them: the bundle's labels/annotations plus
injectOperatorMetadata's (``app.kubernetes.io/managed-by: virt-operator``, component, install-strategy
annotations, ``kubevirt.io/generation``).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from .keys import CLUSTER_INSTANCETYPE, CLUSTER_PREFERENCE
from .virtcommon import KUBEVIRT_VERSION, clone, flavor

DATA_FILE = Path(__file__).parent / "data" / "common_instancetypes.json"
API_VERSION = "instancetype.kubevirt.io/v1beta1"
_PREFIX = "instancetype.kubevirt.io/"
# The bundle writes these two URLs as quoted YAML block scalars, so the values really carry the quotes
# and a trailing newline.
_DOC_URL = '"https://github.com/kubevirt/common-instancetypes"\n'
_SUPPORT_URL = '"https://github.com/kubevirt/common-instancetypes/issues"\n'


@lru_cache(maxsize=1)
def _data() -> dict:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def bundle_version() -> str:
    return _data()["version"]


def _operator_metadata(meta: dict, options: dict) -> dict:
    """injectOperatorMetadata: HCO sets productComponent "compute" on OpenShift, upstream has none."""
    openshift = flavor(options) == "openshift"
    meta["labels"].update({"app.kubernetes.io/component": "compute" if openshift else "kubevirt",
                           "app.kubernetes.io/managed-by": "virt-operator"})
    if openshift:
        meta["labels"]["app.kubernetes.io/part-of"] = "hyperconverged-cluster"
    registry = "registry.redhat.io/container-native-virtualization" if openshift else "quay.io/kubevirt"
    meta["annotations"].update({"kubevirt.io/install-strategy-version": KUBEVIRT_VERSION,
                                "kubevirt.io/install-strategy-registry": registry,
                                "kubevirt.io/install-strategy-identifier": "sim", "kubevirt.io/generation": "1"})
    return meta


def instancetypes(options: dict) -> list[dict]:
    """The bundle's VirtualMachineClusterInstancetypes, as virt-operator creates them."""
    data = _data()
    out = []
    for family in data["instancetypeFamilies"]:
        for size, cpus, memory, page_size in family["sizes"]:
            spec: dict[str, Any] = clone(family["spec"])
            spec["cpu"]["guest"] = cpus
            if family["maxSocketsIsGuest"]:  # cx1: no hot-plug headroom beyond the dedicated CPUs
                spec["cpu"]["maxSockets"] = cpus
            spec["memory"]["guest"] = memory
            labels = {_PREFIX + "class": family["class"], _PREFIX + "cpu": str(cpus), _PREFIX + "memory": memory,
                      _PREFIX + "size": size, _PREFIX + "icon-pf": family["icon"], _PREFIX + "vendor": "kubevirt.io",
                      _PREFIX + "version": "1", _PREFIX + "common-instancetypes-version": data["version"]}
            if page_size:
                spec["memory"]["hugepages"] = {"pageSize": page_size}
                labels[_PREFIX + "hugepages"] = page_size
            for key in ("dedicatedCPUPlacement", "isolateEmulatorThread"):
                if spec["cpu"].get(key):
                    labels[_PREFIX + key] = "true"
            if "numa" in spec["cpu"]:
                labels[_PREFIX + "numa"] = "true"
            if "realtime" in spec["cpu"]:
                labels[_PREFIX + "realtime"] = "true"
            meta = {"name": f"{family['prefix']}.{size}", "labels": labels,
                    "annotations": {_PREFIX + "description": family["summary"],
                                    _PREFIX + "displayName": family["displayName"]}}
            out.append({"apiVersion": API_VERSION, "kind": "VirtualMachineClusterInstancetype",
                        "metadata": _operator_metadata(meta, options), "spec": spec})
    return out


def preferences(options: dict) -> list[dict]:
    """The bundle's VirtualMachineClusterPreferences, as virt-operator creates them."""
    data = _data()
    fragments = data["fragments"]
    out = []
    for entry in data["preferences"]:
        spec = {key: clone(fragments[value[1:]] if isinstance(value, str) and value.startswith("@") else value)
                for key, value in entry["spec"].items()}
        labels = {_PREFIX + "os-type": entry["osType"], _PREFIX + "vendor": "kubevirt.io",
                  _PREFIX + "common-instancetypes-version": data["version"]}
        if entry.get("arch"):
            labels[_PREFIX + "arch"] = entry["arch"]
        meta = {"name": entry["name"], "labels": labels,
                "annotations": {"iconClass": entry["icon"], "openshift.io/display-name": entry["displayName"],
                                "openshift.io/documentation-url": _DOC_URL,
                                "openshift.io/provider-display-name": "KubeVirt",
                                "openshift.io/support-url": _SUPPORT_URL, "tags": entry["tags"]}}
        out.append({"apiVersion": API_VERSION, "kind": "VirtualMachineClusterPreference",
                    "metadata": _operator_metadata(meta, options), "spec": spec})
    return out


def deploy(service: Any, options: dict) -> int:
    """Create the bundle's objects that do not exist yet (virt-operator's createOrUpdate at install);
    returns how many were created."""
    created = 0
    for gr, objs in ((CLUSTER_INSTANCETYPE, instancetypes(options)), (CLUSTER_PREFERENCE, preferences(options))):
        for obj in objs:
            if service.store.get(gr, None, obj["metadata"]["name"]) is None:
                service.create(gr, obj)
                created += 1
    return created
