# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.data_import_cron: schedule, wait for, re-create and delete a DataImportCron.

CDI imports at once when a cron is created (and at each new source digest), points the managed
DataSource at the newest import, and garbage-collects older ones beyond importsToKeep. Waiting
means: the cron is UpToDate, then its DataSource is Ready. Deleting a cron whose retentionPolicy
is None deletes its DataSource and imports too (CDI's cleanup), so that needs ``force``.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._apply import ensure_applied
from ansible_collections.virt.kubevirt.plugins.module_utils._cron_spec import (
    build_cron,
    describe_changes,
    metadata_declared,
    retains_nothing,
    spec_changes,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._ds_status import READY_DESCRIPTION, READY_STATE, ds_ready, ds_summary
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import condition_predicate, is_gone, status_of
from ansible_collections.virt.kubevirt.plugins.module_utils._progress import conditions_summary
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import DATA_IMPORT_CRON, DATA_SOURCE
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import invalid

EVENT_KINDS = (DATA_IMPORT_CRON.kind, "DataVolume")
CRON_STATE = conditions_summary("UpToDate", "Progressing")


def _where(params: Dict[str, Any]) -> str:
    return "DataImportCron %s/%s" % (params["namespace"], params["name"])


def _remaining(params: Dict[str, Any], started: float) -> float:
    return max(0.0, params["wait_timeout"] - (time.monotonic() - started))


def _recreate(module: Any, params: Dict[str, Any], live: Dict[str, Any], changes: list) -> Dict[str, Any]:
    if retains_nothing(live) and not params["force"]:
        raise invalid("force", "%s has retentionPolicy None: deleting it to re-create it deletes its DataSource and "
                      "every import CDI made for it; set force: true to accept that" % _where(params))
    client = module.client
    client.delete(DATA_IMPORT_CRON, params["name"], params["namespace"])  # a dry run in check mode
    if module.check_mode:
        after = build_cron(params)  # the create cannot be previewed while the old cron still exists
    else:
        module.waiter().wait(DATA_IMPORT_CRON, params["name"], params["namespace"], is_gone, params["wait_timeout"],
                             "deleted", event_kinds=EVENT_KINDS, initial=False)
        after = ensure_applied(client, DATA_IMPORT_CRON, build_cron(params), params["namespace"], live=None).after
    result: Dict[str, Any] = {"changed": True, "method": "recreate", "recreated_for": changes, "result": after}
    module.add_diff(result, live, after)
    return result


def _data_source(module: Any, params: Dict[str, Any], wait: bool, started: float) -> Optional[Dict[str, Any]]:
    name = params["managed_data_source"]
    if wait:
        return module.waiter().wait(DATA_SOURCE, name, params["namespace"], ds_ready, _remaining(params, started),
                                    READY_DESCRIPTION, event_kinds=(DATA_SOURCE.kind,), summary=READY_STATE)
    return module.client.get(DATA_SOURCE, name, params["namespace"])


def present(module: Any) -> Dict[str, Any]:
    params = module.params
    client = module.client
    started = time.monotonic()
    live = client.get(DATA_IMPORT_CRON, params["name"], params["namespace"])
    changes = spec_changes(params, live) if live is not None else []
    if changes and not params["recreate"]:
        raise invalid(changes[0].split(":", 1)[0], describe_changes(params, changes))
    if changes:
        result = _recreate(module, params, live, changes)
    else:
        # An existing cron gets metadata only: its spec can only be refused.
        outcome = ensure_applied(client, DATA_IMPORT_CRON, build_cron(params, with_spec=live is None), params["namespace"],
                                 declared=metadata_declared(params) if live is not None else None, live=live)
        result = {"changed": outcome.changed, "method": outcome.method, "result": outcome.after or live}
        if outcome.changed:
            module.add_diff(result, outcome.before, outcome.after)
    cron = result["result"]
    wait = params["wait"] and not module.check_mode
    if wait:
        cron = module.waiter().wait(DATA_IMPORT_CRON, params["name"], params["namespace"],
                                    condition_predicate("UpToDate"), _remaining(params, started),
                                    "up to date (condition UpToDate=True: the newest source digest imported)",
                                    event_kinds=EVENT_KINDS, initial=cron, summary=CRON_STATE)
    exists = not (module.check_mode and live is None)
    ds = _data_source(module, params, wait, started) if exists else None
    status = status_of(cron)
    result.update(result=cron or {}, data_source=ds_summary(ds), last_imported_pvc=status.get("lastImportedPVC"),
                  current_imports=status.get("currentImports") or [])
    return result


def absent(module: Any) -> Dict[str, Any]:
    params = module.params
    live = module.client.get(DATA_IMPORT_CRON, params["name"], params["namespace"])
    if live is None:
        return {"changed": False, "method": "none", "result": {}}
    result: Dict[str, Any] = {"changed": False, "method": "none", "result": live}
    if not (live.get("metadata") or {}).get("deletionTimestamp"):
        if retains_nothing(live) and not params["force"]:
            raise invalid("force", "%s has retentionPolicy None: CDI deletes its DataSource %s and every import it made "
                          "along with it; set force: true to accept that" % (
                              _where(params), (live.get("spec") or {}).get("managedDataSource")))
        module.client.delete(DATA_IMPORT_CRON, params["name"], params["namespace"])
        result.update(changed=True, method="delete")
        module.add_diff(result, live, None)
    if params["wait"] and not module.check_mode:
        module.waiter().wait(DATA_IMPORT_CRON, params["name"], params["namespace"], is_gone, params["wait_timeout"],
                             "deleted", event_kinds=EVENT_KINDS, initial=False)
    return result
