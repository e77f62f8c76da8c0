# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Recent Events of an object, for failure and timeout messages."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import EVENT


def _when(event: Mapping[str, Any]) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def select_events(
    events: Sequence[Mapping[str, Any]], name: str, kinds: Optional[Sequence[str]] = None, limit: int = 5
) -> List[Dict[str, Any]]:
    """The newest ``limit`` events about ``name`` (of one of ``kinds``), oldest first."""
    chosen = []
    for event in events:
        involved = event.get("involvedObject") or {}
        if involved.get("name") != name:
            continue
        if kinds and involved.get("kind") not in kinds:
            continue
        chosen.append(dict(event))
    chosen.sort(key=_when)
    return chosen[-limit:] if limit else chosen


def format_event(event: Mapping[str, Any]) -> str:
    involved = event.get("involvedObject") or {}
    count = event.get("count")
    repeat = " (x%s)" % count if isinstance(count, int) and count > 1 else ""
    return "%s %s %s: %s%s" % (
        event.get("type") or "Normal",
        involved.get("kind") or "",
        event.get("reason") or "",
        (event.get("message") or "").strip(),
        repeat,
    )


def recent_events(
    client: Any, namespace: Optional[str], name: str, kinds: Optional[Sequence[str]] = None, limit: int = 5
) -> List[Dict[str, Any]]:
    """Best effort: a failure to read events must never hide the error being reported."""
    try:
        try:
            events = client.list(EVENT, namespace=namespace, field_selector="involvedObject.name=%s" % name)
        except KubeApiError as err:
            if err.status != 400:
                raise
            events = client.list(EVENT, namespace=namespace)
    except KubeApiError:
        return []
    return select_events(events, name, kinds, limit)


def describe_events(events: Sequence[Mapping[str, Any]]) -> str:
    return " | ".join(format_event(event) for event in events) if events else "none"
