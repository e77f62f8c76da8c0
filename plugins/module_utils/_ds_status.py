# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Predicates and summaries of DataSources (CDI's datasource-controller conditions).

CDI reports one condition, Ready: True "DataSource is ready to be consumed", or False with the
reason (NotFound, SnapshotNotReady, NoSource, the import DataVolume's phase, or a broken
reference chain). ``status.source`` is the resolved pvc/snapshot source, empty while not ready.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import find_condition, status_of
from ansible_collections.virt.kubevirt.plugins.module_utils._progress import conditions_summary

# Reasons no waiting can cure: the spec itself must change.
PERMANENT_REASONS = ("SelfReference", "CrossNamespaceReference", "MaxReferenceDepthReached", "NoSource")
READY_DESCRIPTION = "ready (condition Ready=True)"
READY_STATE = conditions_summary("Ready")


def ds_ready(ds: Any) -> bool:
    if not ds:
        return False
    ready = find_condition(ds, "Ready") or {}
    return ready.get("status") == "True"


def ds_settled(ds: Any) -> bool:
    """Ready, or not ready for a reason that waiting cannot change."""
    return ds_ready(ds) or ds_failure(ds) is not None


def ds_failure(ds: Any) -> Optional[str]:
    ready = find_condition(ds, "Ready") if ds else None
    if ready and ready.get("status") == "False" and ready.get("reason") in PERMANENT_REASONS:
        return "%s (reason %s)" % (ready.get("message") or "", ready.get("reason"))
    return None


def ds_summary(ds: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """ready, reason, message and the resolved source, for results and loops."""
    if not ds:
        return {}
    ready = find_condition(ds, "Ready") or {}
    return {"ready": ready.get("status") == "True", "reason": ready.get("reason", ""),
            "message": ready.get("message", ""), "source": status_of(ds).get("source") or {}}
