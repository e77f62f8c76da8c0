# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.datavolume_info: DataVolumes joined with their claims and the VMs using them.

The joins are made from one list per kind and scope (namespace, or the cluster), never one
request per DataVolume, so the cost does not grow with the number of DataVolumes.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List

from ansible_collections.virt.kubevirt.plugins.module_utils._dv_status import claim_name, claim_summary, dv_failure, dv_target
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_usage import used_by, users_by_claim
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._listing import Scopes, read_objects, read_scopes, single_name
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    DATA_VOLUME,
    PERSISTENT_VOLUME_CLAIM,
    VIRTUAL_MACHINE,
)

EVENT_KINDS = (DATA_VOLUME.kind, PERSISTENT_VOLUME_CLAIM.kind)


def _wait(module: Any, dvs: List[Dict[str, Any]], scopes: Scopes) -> List[Dict[str, Any]]:
    params = module.params
    deadline = time.monotonic() + params["wait_timeout"]
    targets = [(dv["metadata"].get("namespace"), dv["metadata"]["name"], dv) for dv in dvs]
    if not dvs and single_name(params, scopes):
        targets = [(scope, params["name"], False) for scope in scopes]
    waited = []
    waiter = module.waiter()
    for namespace, name, initial in targets:
        upload = "upload" in (((initial or {}).get("spec") or {}).get("source") or {})
        predicate, description = dv_target(upload)
        dv = waiter.wait(DATA_VOLUME, name, namespace, predicate, max(0.0, deadline - time.monotonic()),
                         description, event_kinds=EVENT_KINDS, initial=initial)
        failure = dv_failure(dv)
        if failure:
            raise KubeApiError("DataVolume %s/%s cannot become %s: %s" % (namespace, name, description, failure),
                               reason="DataVolumeFailed", details={"last_state": dv})
        if dv is not None:
            waited.append(dv)
    return waited


def _claims(client: Any, dvs: List[Dict[str, Any]], scopes: Scopes, single: bool) -> Dict[tuple, Dict[str, Any]]:
    if single:
        found = [client.get(PERSISTENT_VOLUME_CLAIM, claim_name(dv), dv["metadata"]["namespace"]) for dv in dvs]
        pvcs = [pvc for pvc in found if pvc is not None]
    else:
        pvcs = [pvc for scope in scopes for pvc in client.list(PERSISTENT_VOLUME_CLAIM, namespace=scope)]
    return {(pvc["metadata"].get("namespace"), pvc["metadata"]["name"]): pvc for pvc in pvcs}


def read_datavolumes(module: Any) -> List[Dict[str, Any]]:
    params = module.params
    client = module.client
    scopes = read_scopes(params)
    dvs = read_objects(client, DATA_VOLUME, params, scopes)
    if params["wait"]:
        dvs = _wait(module, dvs, scopes)
    if not dvs:
        return []
    single = single_name(params, scopes)
    claims = _claims(client, dvs, scopes, single)
    vm_scopes = sorted({dv["metadata"]["namespace"] for dv in dvs}) if single else scopes
    users = users_by_claim(vm for scope in vm_scopes for vm in client.list(VIRTUAL_MACHINE, namespace=scope))
    resources = []
    for dv in dvs:
        namespace, claim = dv["metadata"].get("namespace"), claim_name(dv)
        pvc = claim_summary(claims.get((namespace, claim)))
        resources.append(dict(dv, pvc=pvc, used_by=used_by(users, namespace, {dv["metadata"]["name"], claim})))
    return resources
