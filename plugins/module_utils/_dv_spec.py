# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The DataVolume a task asks for, and how it compares with one that exists.

The spec is built from a table of (option, spec path, value) fields, so that the immutability
check can name the option a user wrote when CDI would refuse the change ("Cannot update
DataVolume Spec"). Storage defaults (class, access and volume mode) are left to CDI, which fills
them in from the StorageProfile when it renders the claim: nothing is guessed here.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._dv_options import SOURCE_KEYS, SOURCES
from ansible_collections.virt.kubevirt.plugins.module_utils._quantity import quantity_value
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import DATA_VOLUME
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import invalid

Path = Tuple[str, ...]
Field = Tuple[str, Path, Any]

# Sub-option -> CDI field name.
_FIELD_NAMES = {
    "url": "url",
    "cert_config_map": "certConfigMap",
    "secret_ref": "secretRef",
    "extra_headers": "extraHeaders",
    "secret_extra_headers": "secretExtraHeaders",
    "insecure_skip_verify": "insecureSkipVerify",
    "image_stream": "imageStream",
    "pull_method": "pullMethod",
    "name": "name",
    "namespace": "namespace",
    "kind": "kind",
}
_STORAGE = (("class", "storageClassName"), ("access_modes", "accessModes"), ("volume_mode", "volumeMode"))
SIZE_PATH: Path = ("spec", "storage", "resources", "requests", "storage")
IMMUTABLE = "a DataVolume's spec cannot change after creation (CDI rejects it: Cannot update DataVolume Spec)"


def source_option(params: Mapping[str, Any]) -> Optional[str]:
    """The one source option a task gives (validation made sure there is exactly one)."""
    return next((option for option in SOURCES if params.get(option)), None)


def live_source(dv: Mapping[str, Any]) -> Optional[str]:
    """The source option a live DataVolume corresponds to (None: externally populated)."""
    spec = dv.get("spec") or {}
    if spec.get("sourceRef"):
        return "source_ref"
    source = spec.get("source") or {}
    return next((option for option, key in SOURCE_KEYS.items() if key in source), None)


def _source_fields(params: Mapping[str, Any], option: str) -> List[Field]:
    if option == "source_ref":
        base: Path = ("spec", "sourceRef")
    else:
        base = ("spec", "source", SOURCE_KEYS[option])
    value = params[option]
    if not isinstance(value, dict):  # blank: true, upload: true
        return [(option, base, {})]
    fields: List[Field] = []
    for sub, given in value.items():
        if given is None or given == []:
            continue
        fields.append(("%s.%s" % (option, sub), base + (_FIELD_NAMES[sub],), given))
    if option in ("clone_pvc", "snapshot") and not value.get("namespace"):
        # CDI's webhook requires the namespace of a clone source; the task's own is the default.
        fields.append(("%s.namespace" % option, base + ("namespace",), params["namespace"]))
    return fields


def dv_fields(params: Mapping[str, Any]) -> List[Field]:
    """Every spec field the task sets, with the option that sets it."""
    fields: List[Field] = []
    option = source_option(params)
    if option:
        fields.extend(_source_fields(params, option))
    storage = params.get("storage") or {}
    for sub, key in _STORAGE:
        if storage.get(sub) is not None:
            fields.append(("storage.%s" % sub, ("spec", "storage", key), storage[sub]))
    if storage.get("size") is not None:
        fields.append(("storage.size", SIZE_PATH, str(storage["size"])))
    if params.get("preallocation") is not None:
        fields.append(("preallocation", ("spec", "preallocation"), params["preallocation"]))
    if params.get("content_type") is not None:
        fields.append(("content_type", ("spec", "contentType"), params["content_type"]))
    return fields


def _set(target: Dict[str, Any], path: Path, value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def get_path(obj: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def build_metadata(params: Mapping[str, Any]) -> Dict[str, Any]:
    metadata: Dict[str, Any] = {"name": params["name"], "namespace": params["namespace"]}
    for key in ("labels", "annotations"):
        if params.get(key):
            metadata[key] = dict(params[key])
    return metadata


def build_dv(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The DataVolume to server-side apply when it does not exist yet."""
    body: Dict[str, Any] = {
        "apiVersion": DATA_VOLUME.api_version,
        "kind": DATA_VOLUME.kind,
        "metadata": build_metadata(params),
        # spec.storage (not spec.pvc): CDI completes it from the StorageProfile.
        "spec": {"storage": {}},
    }
    for _option, path, value in dv_fields(params):
        _set(body, path, value)
    return body


def size_of(dv: Optional[Mapping[str, Any]]) -> Optional[float]:
    return quantity_value(get_path(dv or {}, SIZE_PATH))


def _same(wanted: Any, have: Any) -> bool:
    if have is None and wanted is False:
        return True  # preallocation: false, insecure_skip_verify: false are CDI's defaults
    return wanted == have


def check_unchanged(params: Mapping[str, Any], live: Mapping[str, Any]) -> Optional[str]:
    """Raise when the task changes an immutable field of ``live``; returns the size to grow the
    claim to when the task asks for more than the DataVolume was created with (else None)."""
    where = "DataVolume %s/%s" % (params["namespace"], params["name"])
    wanted_source, have_source = source_option(params), live_source(live)
    if wanted_source and wanted_source != have_source:
        raise invalid(wanted_source, "%s was created %s, not from %s; %s. Delete it (state: absent) and create it "
                      "again, or use another name" % (where, "from %s" % have_source if have_source
                                                      else "without a source", wanted_source, IMMUTABLE))
    grow = None
    for option, path, value in dv_fields(params):
        have = get_path(live, path)
        if path == SIZE_PATH:
            wanted_size, have_size = quantity_value(value), quantity_value(have)
            if have_size is None or wanted_size == have_size:
                if have_size is None:
                    grow = value  # sized by its clone source: the claim decides
                continue
            if wanted_size is not None and wanted_size < have_size:
                raise invalid(option, "%s has %s, the task asks for %s; a volume cannot shrink" % (where, have, value))
            grow = value
            continue
        if path[-1] == "namespace" and path[:2] == ("spec", "sourceRef") and have is None and value == params["namespace"]:
            continue  # sourceRef.namespace defaults to the DataVolume's
        if not _same(value, have):
            raise invalid(option, "%s has %s = %s, the task asks for %s; %s. Delete it (state: absent) and create it "
                          "again, or use another name" % (where, ".".join(path), _shown(have), _shown(value), IMMUTABLE))
    return grow


def _shown(value: Any) -> str:
    return "(unset)" if value is None else repr(value)
