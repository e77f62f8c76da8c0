# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading a VirtualMachineExport's status: readiness, why it is not ready, its links.

KubeVirt keeps an export Pending with Ready=False and a reason (pkg/storage/export/export): some
reasons clear by themselves (Initializing, PodPending, VolumesNotPopulated, PVCPending), the others
need the user (a running VM, a claim in use, a missing source): a wait ends on those at once.

With the alpha feature gate OCIExport (KubeVirt >= 1.9), an export of a VM or a snapshot also has
the condition OCIReady: False DigestsPending while the exporter computes the sha256 of every disk
(its pod is not ready meanwhile), True DigestsComputed once it serves ``export.oci.tar``, which is
linked as the manifest of type ``oci``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlsplit, urlunsplit

from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import find_condition, status_of

# Ready=False reasons only the user can clear.
STUCK_REASONS = ("InUse", "VMNotFound", "PVCNotFound", "VMSnapshotNotFound", "VMNoVolumes", "VMSnapshotNoVolumes")
READY_DESCRIPTION = "phase Ready (the exporter serving the volumes)"
OCI_READY_DESCRIPTION = "phase Ready and OCIReady=True (the exporter has computed the digests of every disk)"
OCI_CONDITION = "OCIReady"
OCI_MANIFEST = "oci"


def export_ready(export: Optional[Mapping[str, Any]]) -> bool:
    return status_of(export).get("phase") == "Ready" and bool(status_of(export).get("links"))


def export_stuck(export: Optional[Mapping[str, Any]]) -> bool:
    ready = find_condition(export, "Ready") or {}
    phase = status_of(export).get("phase")
    return phase in ("Terminated", "Skipped") or (ready.get("status") == "False" and ready.get("reason") in STUCK_REASONS)


def export_settled(export: Optional[Mapping[str, Any]]) -> bool:
    return export_ready(export) or export_stuck(export)


def oci_pending(export: Optional[Mapping[str, Any]]) -> bool:
    """OCIReady is there and not True (no condition: the gate is off, or an older KubeVirt)."""
    condition = find_condition(export, OCI_CONDITION)
    return condition is not None and condition.get("status") != "True"


def oci_export_ready(export: Optional[Mapping[str, Any]]) -> bool:
    return export_ready(export) and not oci_pending(export)


def oci_export_settled(export: Optional[Mapping[str, Any]]) -> bool:
    return oci_export_ready(export) or export_stuck(export)


def progress_state(export: Optional[Mapping[str, Any]]) -> str:
    """``Pending, Ready=False PodPending`` for the live lines."""
    if export is None:
        return "absent"
    parts = [str(status_of(export).get("phase") or "no status yet")]
    for kind in ("Ready", OCI_CONDITION):
        found = find_condition(export, kind) or {}
        if found:
            parts.append(("%s=%s %s" % (kind, found.get("status"), found.get("reason") or "")).strip())
    return ", ".join(parts)


def not_ready_detail(export: Optional[Mapping[str, Any]]) -> str:
    """Why the export is not Ready, in KubeVirt's words."""
    ready = find_condition(export, "Ready") or {}
    phase = status_of(export).get("phase") or "no status"
    text = ": ".join(str(v) for v in (ready.get("reason"), ready.get("message")) if v)
    detail = "phase %s%s" % (phase, (", " + text) if text else "")
    if oci_pending(export):
        oci = find_condition(export, OCI_CONDITION) or {}
        detail += ", OCIReady=%s" % ": ".join(str(v) for v in (oci.get("status"), oci.get("reason"), oci.get("message")) if v)
    return detail


def link_of(export: Optional[Mapping[str, Any]], proxy_url: Optional[str]) -> Optional[Dict[str, Any]]:
    """The external link (what is reachable from outside the cluster), its URLs moved onto
    ``proxy_url`` when given (virt-exportproxy reached another way, e.g. a port-forward)."""
    links = status_of(export).get("links") or {}
    external = links.get("external")
    if not external:
        return None
    if not proxy_url:
        return dict(external)
    moved = dict(external)
    moved["volumes"] = [dict(v, formats=[dict(f, url=rebase(f["url"], proxy_url)) for f in v.get("formats") or []])
                        for v in external.get("volumes") or []]
    moved["manifests"] = [dict(m, url=rebase(m["url"], proxy_url)) for m in external.get("manifests") or []]
    return moved


def rebase(url: str, base: str) -> str:
    """``url``'s path on ``base``'s scheme and host (``base`` may carry a path prefix)."""
    parts, target = urlsplit(url), urlsplit(base)
    return urlunsplit((target.scheme, target.netloc, target.path.rstrip("/") + parts.path, parts.query, ""))


def volume_names(link: Optional[Mapping[str, Any]]) -> List[str]:
    return [v.get("name") for v in (link or {}).get("volumes") or []]


def volume_url(link: Mapping[str, Any], volume: str, fmt: str) -> Optional[str]:
    for item in link.get("volumes") or []:
        if item.get("name") == volume:
            return next((f.get("url") for f in item.get("formats") or [] if f.get("format") == fmt), None)
    return None


def manifest_urls(link: Optional[Mapping[str, Any]]) -> Dict[str, str]:
    return {m.get("type"): m.get("url") for m in (link or {}).get("manifests") or []}
