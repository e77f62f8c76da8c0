# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The DataSource (cdi.kubevirt.io/v1beta1) a task asks for: options, checks and the body.

A DataSource names the source of a golden image: a PVC, a VolumeSnapshot, or one other DataSource
of its namespace (CDI resolves one level only). Its spec may change, so a re-pointed source is an
update. The default instancetype and preference are labels CDI and KubeVirt read
(``instancetype.kubevirt.io/default-*``), set here from options of their own.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._dv_spec import build_metadata as dv_metadata
from ansible_collections.virt.kubevirt.plugins.module_utils._merge import Declared
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import DATA_SOURCE
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import (
    check_annotations,
    check_dns_label,
    check_labels,
    check_resource_name,
    invalid,
)

# Option -> key under spec.source.
SOURCE_KEYS: Dict[str, str] = {"pvc": "pvc", "snapshot": "snapshot", "data_source": "dataSource"}
LABEL_PREFIX = "instancetype.kubevirt.io/"
# Option -> label KubeVirt reads to infer a VM's instancetype / preference from its boot disk.
DEFAULT_LABELS: Dict[str, str] = {
    "default_instancetype": LABEL_PREFIX + "default-instancetype",
    "default_instancetype_kind": LABEL_PREFIX + "default-instancetype-kind",
    "default_preference": LABEL_PREFIX + "default-preference",
    "default_preference_kind": LABEL_PREFIX + "default-preference-kind",
}
CRON_LABEL = "cdi.kubevirt.io/dataImportCron"

_REF: Dict[str, Any] = {"type": "dict", "options": {"name": {"type": "str", "required": True}, "namespace": {"type": "str"}}}
DEFAULT_LABEL_OPTIONS: Dict[str, Any] = {
    "default_instancetype": {"type": "str"},
    "default_instancetype_kind": {
        "type": "str", "choices": ["VirtualMachineClusterInstancetype", "VirtualMachineInstancetype"]},
    "default_preference": {"type": "str"},
    "default_preference_kind": {"type": "str", "choices": ["VirtualMachineClusterPreference", "VirtualMachinePreference"]},
}
DS_ARGUMENT_SPEC: Dict[str, Any] = dict(
    {
        "name": {"type": "str", "required": True},
        "namespace": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "force": {"type": "bool", "default": False},
        "labels": {"type": "dict"},
        "annotations": {"type": "dict"},
        "pvc": _REF,
        "snapshot": _REF,
        "data_source": _REF,
    },
    **DEFAULT_LABEL_OPTIONS
)


def source_option(params: Mapping[str, Any]) -> Optional[str]:
    return next((option for option in SOURCE_KEYS if params.get(option)), None)


def check_default_labels(params: Mapping[str, Any]) -> None:
    for option in ("default_instancetype", "default_preference"):
        if params.get(option) is not None:
            check_resource_name(option, params[option])
        if params.get(option + "_kind") and not params.get(option):
            raise invalid(option + "_kind", "is set without %s; name the %s too" % (option, option.split("_", 1)[1]))


def validate_ds_params(params: Mapping[str, Any]) -> None:
    check_resource_name("name", params["name"])
    check_dns_label("namespace", params["namespace"])
    given = [option for option in SOURCE_KEYS if params.get(option)]
    if len(given) > 1:
        raise invalid(given[1], "a DataSource has one source; %s are mutually exclusive (got %s)"
                      % (", ".join(SOURCE_KEYS), " and ".join(given)))
    if params["state"] == "present" and not given:
        raise invalid("pvc", "state=present needs a source: one of pvc, snapshot or data_source")
    for option in given:
        ref = params[option]
        check_resource_name(option + ".name", ref["name"])
        if ref.get("namespace") is not None:
            check_dns_label(option + ".namespace", ref["namespace"])
    ref = params.get("data_source")
    if ref:
        if (ref.get("namespace") or params["namespace"]) != params["namespace"]:
            raise invalid("data_source.namespace", "CDI only resolves a DataSource of the same namespace (%s); "
                          "point at the PVC or snapshot in %s instead" % (params["namespace"], ref["namespace"]))
        if ref["name"] == params["name"]:
            raise invalid("data_source.name", "a DataSource cannot reference itself (CDI: DataSource cannot self-reference)")
    check_labels("labels", params.get("labels"))
    check_annotations("annotations", params.get("annotations"))
    check_default_labels(params)
    for option, label in DEFAULT_LABELS.items():
        if params.get(option) is not None and label in (params.get("labels") or {}):
            raise invalid(option, "is also given as label %s in labels; set it in one place" % label)


def default_labels(params: Mapping[str, Any]) -> Dict[str, str]:
    return {label: params[option] for option, label in DEFAULT_LABELS.items() if params.get(option) is not None}


def declared_metadata(params: Mapping[str, Any]) -> Tuple[Tuple[str, ...], ...]:
    """labels/annotations given: exactly these (of those we manage); default_* only their own keys."""
    paths: List[Tuple[str, ...]] = [("metadata", key) for key in ("labels", "annotations") if params.get(key) is not None]
    if params.get("labels") is None:
        paths.extend(("metadata", "labels", label) for label in default_labels(params))
    return tuple(paths)


def build_metadata(params: Mapping[str, Any]) -> Dict[str, Any]:
    """name, namespace, labels and annotations (as datavolume builds them) plus the default_* labels."""
    metadata = dv_metadata(params)
    labels = dict(metadata.get("labels") or {}, **default_labels(params))
    if labels:
        metadata["labels"] = labels
    return metadata


def build_source(params: Mapping[str, Any]) -> Dict[str, Any]:
    option = source_option(params)
    if option is None:
        return {}
    ref = params[option]
    # The CRD requires the namespace of every reference; the task's own is the default.
    return {SOURCE_KEYS[option]: {"name": ref["name"], "namespace": ref.get("namespace") or params["namespace"]}}


def build_ds(params: Mapping[str, Any]) -> Dict[str, Any]:
    return {"apiVersion": DATA_SOURCE.api_version, "kind": DATA_SOURCE.kind, "metadata": build_metadata(params),
            "spec": {"source": build_source(params)}}


def ds_declared(params: Mapping[str, Any]) -> Declared:
    return Declared((("spec",),) + declared_metadata(params))


def managing_cron(ds: Optional[Mapping[str, Any]]) -> Optional[str]:
    """The DataImportCron that keeps this DataSource pointed at its newest import, if any."""
    return (((ds or {}).get("metadata") or {}).get("labels") or {}).get(CRON_LABEL)
