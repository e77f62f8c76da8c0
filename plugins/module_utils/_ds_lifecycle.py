# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.data_source: publish, re-point, wait for and delete a DataSource.

A DataSource a DataImportCron manages (label cdi.kubevirt.io/dataImportCron) is re-pointed by
the cron at each import and re-created when deleted, so changing or deleting it by hand only
lasts until the next poll: both need ``force``. Deleting a DataSource never deletes data, but VMs
whose dataVolumeTemplates clone from it can no longer be re-created: the result warns, naming them.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._apply import ensure_applied
from ansible_collections.virt.kubevirt.plugins.module_utils._ds_spec import (
    SOURCE_KEYS,
    build_ds,
    build_source,
    ds_declared,
    managing_cron,
    source_option,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._ds_status import READY_DESCRIPTION, READY_STATE, ds_failure, ds_settled, ds_summary
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._events import describe_events, recent_events
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import is_gone
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    DATA_SOURCE,
    PERSISTENT_VOLUME_CLAIM,
    VIRTUAL_MACHINE,
    VOLUME_SNAPSHOT,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import invalid

EVENT_KINDS = (DATA_SOURCE.kind,)


def _where(params: Dict[str, Any]) -> str:
    return "DataSource %s/%s" % (params["namespace"], params["name"])


def _check_source(module: Any, params: Dict[str, Any]) -> None:
    """Before a write: a chain CDI cannot resolve fails; a source not there yet only warns."""
    option = source_option(params)
    if option is None:
        return
    ref = build_source(params)[SOURCE_KEYS[option]]
    kind = {"pvc": PERSISTENT_VOLUME_CLAIM, "snapshot": VOLUME_SNAPSHOT, "data_source": DATA_SOURCE}[option]
    try:
        target = module.client.get(kind, ref["name"], ref["namespace"])
    except KubeApiError as err:
        if err.status in (403, 404):  # may not read it, or snapshots not served: CDI will tell
            return
        raise
    if target is None:
        module.warn("%s: %s %s/%s does not exist (yet); CDI reports the DataSource not ready (NotFound) until it does"
                    % (option, kind.kind, ref["namespace"], ref["name"]))
    elif option == "data_source" and ((target.get("spec") or {}).get("source") or {}).get("dataSource"):
        raise invalid("data_source", "DataSource %s/%s itself points at another DataSource; CDI resolves one level only "
                      "(DataSource reference chain exceeds maximum depth of 1): point at it directly"
                      % (ref["namespace"], ref["name"]))


def _wait(module: Any, params: Dict[str, Any], ds: Any, timeout: float) -> Optional[Dict[str, Any]]:
    ds = module.waiter().wait(DATA_SOURCE, params["name"], params["namespace"], ds_settled, timeout,
                              READY_DESCRIPTION, event_kinds=EVENT_KINDS, initial=ds, summary=READY_STATE)
    failure = ds_failure(ds)
    if failure:
        events = recent_events(module.client, params["namespace"], params["name"], kinds=EVENT_KINDS)
        raise KubeApiError("%s cannot become ready: %s. Recent events: %s" % (_where(params), failure, describe_events(events)),
                           reason="DataSourceNotReady", details={"last_state": ds})
    return ds


def present(module: Any) -> Dict[str, Any]:
    params = module.params
    client = module.client
    started = time.monotonic()
    live = client.get(DATA_SOURCE, params["name"], params["namespace"])
    cron = managing_cron(live)
    wanted = build_source(params)
    if cron and (live.get("spec") or {}).get("source") != wanted and not params["force"]:
        raise invalid("force", "%s is managed by DataImportCron %s, which points it at its newest import at every poll; "
                      "change the cron instead, or set force: true to re-point it until the next import"
                      % (_where(params), cron))
    outcome = ensure_applied(client, DATA_SOURCE, build_ds(params), params["namespace"], declared=ds_declared(params),
                             before_write=lambda _live, _body: _check_source(module, params), live=live)
    result: Dict[str, Any] = {"changed": outcome.changed, "method": outcome.method}
    if outcome.changed:
        module.add_diff(result, outcome.before, outcome.after)
    ds = outcome.after or live
    if params["wait"] and not module.check_mode:
        ds = _wait(module, params, ds, max(0.0, params["wait_timeout"] - (time.monotonic() - started)))
    result.update(result=ds or {}, summary=ds_summary(ds))
    return result


def _cloning_vms(client: Any, params: Dict[str, Any]) -> List[str]:
    """namespace/name of VMs whose dataVolumeTemplates clone from this DataSource (any namespace)."""
    try:
        vms = client.list(VIRTUAL_MACHINE)
    except KubeApiError as err:
        if err.status == 403:
            vms = client.list(VIRTUAL_MACHINE, namespace=params["namespace"])
        else:
            raise
    found = []
    for vm in vms:
        meta = vm.get("metadata") or {}
        for template in (vm.get("spec") or {}).get("dataVolumeTemplates") or []:
            ref = (template.get("spec") or {}).get("sourceRef") or {}
            if ref.get("name") == params["name"] and (ref.get("namespace") or meta.get("namespace")) == params["namespace"]:
                found.append("%s/%s" % (meta.get("namespace"), meta.get("name")))
    return sorted(set(found))


def absent(module: Any) -> Dict[str, Any]:
    params = module.params
    client = module.client
    live = client.get(DATA_SOURCE, params["name"], params["namespace"])
    if live is None:
        return {"changed": False, "method": "none", "result": {}}
    result: Dict[str, Any] = {"changed": False, "method": "none", "result": live}
    if not (live.get("metadata") or {}).get("deletionTimestamp"):
        cron = managing_cron(live)
        if cron and not params["force"]:
            raise invalid("force", "%s is managed by DataImportCron %s, which creates it again at its next poll; delete "
                          "the cron (virt.kubevirt.data_import_cron state=absent), or set force: true"
                          % (_where(params), cron))
        users = _cloning_vms(client, params)
        if users:
            module.warn("%s is the clone source of VirtualMachine %s; their disks stay, but their dataVolumeTemplates "
                        "cannot be populated again while it is gone" % (_where(params), ", ".join(users)))
        client.delete(DATA_SOURCE, params["name"], params["namespace"])
        result.update(changed=True, method="delete")
        module.add_diff(result, live, None)
    if params["wait"] and not module.check_mode:
        module.waiter().wait(DATA_SOURCE, params["name"], params["namespace"], is_gone, params["wait_timeout"], "deleted",
                             event_kinds=EVENT_KINDS, initial=False)
    return result
