# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.data_source_info: DataSources with their readiness and what they resolve to.

One list per scope for the DataSources; the claims they resolve to are read with one list per
namespace holding a resolved pvc source (never one request per DataSource), for their size.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._ds_spec import DEFAULT_LABELS, managing_cron
from ansible_collections.virt.kubevirt.plugins.module_utils._ds_status import READY_DESCRIPTION, READY_STATE, ds_ready, ds_summary
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_status import claim_summary
from ansible_collections.virt.kubevirt.plugins.module_utils._listing import read_objects, read_scopes, single_name
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import DATA_SOURCE, PERSISTENT_VOLUME_CLAIM


def _wait(module: Any, found: List[Dict[str, Any]], scopes: List[Optional[str]]) -> List[Dict[str, Any]]:
    params = module.params
    deadline = time.monotonic() + params["wait_timeout"]
    targets: List[Tuple[Optional[str], str, Any]] = [(ds["metadata"].get("namespace"), ds["metadata"]["name"], ds) for ds in found]
    if not found and single_name(params, scopes):
        targets = [(scope, params["name"], False) for scope in scopes]
    waiter = module.waiter()
    ready = []
    for namespace, name, initial in targets:
        ds = waiter.wait(DATA_SOURCE, name, namespace, ds_ready, max(0.0, deadline - time.monotonic()),
                         READY_DESCRIPTION, event_kinds=(DATA_SOURCE.kind,), initial=initial, summary=READY_STATE)
        if ds is not None:
            ready.append(ds)
    return ready


def _claims(client: Any, found: List[Dict[str, Any]]) -> Dict[Tuple[str, str], Dict[str, Any]]:
    namespaces = set()
    for ds in found:
        pvc = (ds_summary(ds).get("source") or {}).get("pvc")
        if pvc:
            namespaces.add(pvc.get("namespace") or ds["metadata"]["namespace"])
    claims = {}
    for namespace in sorted(namespaces):
        for pvc in client.list(PERSISTENT_VOLUME_CLAIM, namespace=namespace):
            claims[(namespace, pvc["metadata"]["name"])] = pvc
    return claims


def describe(ds: Dict[str, Any], claims: Dict[Tuple[str, str], Dict[str, Any]]) -> Dict[str, Any]:
    """The DataSource with ``summary``, ``pvc``, ``managed_by`` and ``defaults`` added."""
    summary = ds_summary(ds)
    pvc_ref = (summary.get("source") or {}).get("pvc")
    pvc = None
    if pvc_ref:
        pvc = claim_summary(claims.get((pvc_ref.get("namespace") or ds["metadata"]["namespace"], pvc_ref.get("name"))))
    labels = (ds.get("metadata") or {}).get("labels") or {}
    defaults = {option: labels[label] for option, label in DEFAULT_LABELS.items() if label in labels}
    return dict(ds, summary=summary, pvc=pvc, managed_by=managing_cron(ds), defaults=defaults)


def read_data_sources(module: Any) -> List[Dict[str, Any]]:
    params = module.params
    scopes = read_scopes(params)
    found = read_objects(module.client, DATA_SOURCE, params, scopes)
    if params["wait"]:
        found = _wait(module, found, scopes)
    if params.get("ready") is not None:
        found = [ds for ds in found if ds_ready(ds) is params["ready"]]
    claims = _claims(module.client, found)
    return [describe(ds, claims) for ds in found]
