# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A VM's instancetype, preference and existing DataVolumes must exist before the VM is written.

Since KubeVirt 1.6 a VM naming an instancetype or preference that does not exist is admitted; it
only gets a ``Failure`` condition (reason ``FailedFindInstancetype`` / ``FailedFindPreference``)
and never starts. So the task looks them up first, and only when the VM is new or the matcher
changes (an unchanged task sends no extra request). A volume naming a DataVolume the VM does not
make itself (``dataVolumeTemplates``) would likewise leave the VM waiting for its disk.
"""

from __future__ import annotations

import difflib
from typing import Any, Dict, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    CLUSTER_INSTANCETYPE,
    CLUSTER_PREFERENCE,
    DATA_VOLUME,
    INSTANCETYPE,
    PREFERENCE,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import invalid

# Matcher kind (as KubeVirt compares it, case-insensitively) -> resource; the first is the default.
_KINDS = {
    "instancetype": (CLUSTER_INSTANCETYPE, INSTANCETYPE),
    "preference": (CLUSTER_PREFERENCE, PREFERENCE),
}


def _matcher(vm: Optional[Dict[str, Any]], field: str) -> Optional[Dict[str, Any]]:
    return ((vm or {}).get("spec") or {}).get(field)


def _suggestions(client: Any, ref: Any, name: str, namespace: str) -> str:
    try:
        names = [item["metadata"]["name"] for item in client.list(ref, namespace if ref.namespaced else None)]
    except KubeApiError:
        return ""
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    if close:
        return "; did you mean %s?" % " or ".join(close)
    if not names:
        return "; there are none"
    shown = sorted(names)[:8]
    return "; there are %d, e.g. %s" % (len(names), ", ".join(shown))


def _template(vm: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    return (((vm or {}).get("spec") or {}).get("template") or {}).get("spec") or {}


def _used_data_volumes(vm: Optional[Dict[str, Any]]) -> Dict[str, str]:
    """Volume name -> DataVolume name, for DataVolumes the VM does not make itself."""
    own = {((t.get("metadata") or {}).get("name")) for t in ((vm or {}).get("spec") or {}).get("dataVolumeTemplates") or []}
    return {
        v["name"]: v["dataVolume"]["name"]
        for v in _template(vm).get("volumes") or []
        if isinstance(v, dict) and (v.get("dataVolume") or {}).get("name") and v["dataVolume"]["name"] not in own
    }


def _check_data_volumes(client: Any, live: Optional[Dict[str, Any]], desired: Dict[str, Any], namespace: str) -> None:
    known = set(_used_data_volumes(live).values())
    disks = [d.get("name") for d in ((_template(desired).get("domain") or {}).get("devices") or {}).get("disks") or []]
    for volume, name in _used_data_volumes(desired).items():
        if name in known:
            continue
        try:
            found = client.get(DATA_VOLUME, name, namespace)
        except KubeApiError as exc:
            if exc.status == 403:
                continue  # may not read them: KubeVirt reports the missing disk on the VM
            raise
        if found is None:
            where = "disks[%d] (%s)" % (disks.index(volume), volume) if volume in disks else "disks (%s)" % volume
            raise invalid(
                "%s.existing_data_volume" % where,
                "DataVolume %r does not exist in namespace %s (KubeVirt would store the VM and wait for its disk)%s" % (
                    name, namespace, _suggestions(client, DATA_VOLUME, name, namespace)),
            )


def check_references(client: Any, live: Optional[Dict[str, Any]], desired: Dict[str, Any], namespace: str) -> None:
    """Raise a KubeApiError naming the option when a new or changed reference points at nothing."""
    _check_data_volumes(client, live, desired, namespace)
    for field in ("instancetype", "preference"):
        matcher = _matcher(desired, field)
        if not matcher or not matcher.get("name") or matcher == _matcher(live, field):
            continue  # none, inferred from a volume by KubeVirt itself, or unchanged
        kind = str(matcher.get("kind") or _KINDS[field][0].kind)
        ref = next((r for r in _KINDS[field] if r.kind.lower() == kind.lower()), None)
        if ref is None:
            raise invalid("%s.kind" % field, "must be %s, got %r" % (" or ".join(r.kind for r in _KINDS[field]), kind))
        try:
            found = client.get(ref, matcher["name"], namespace if ref.namespaced else None)
        except KubeApiError as exc:
            if exc.status == 403:
                return  # may not read them: KubeVirt will tell (Failure condition) rather than us guessing
            raise
        if found is None:
            where = "in namespace %s" % namespace if ref.namespaced else "in the cluster"
            raise invalid(
                "%s.name" % field,
                "%s %r does not exist %s (KubeVirt would store the VM but never start it: %s)%s" % (
                    ref.kind, matcher["name"], where,
                    "FailedFindInstancetype" if field == "instancetype" else "FailedFindPreference",
                    _suggestions(client, ref, matcher["name"], namespace),
                ),
            )
