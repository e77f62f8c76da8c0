# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.virt.kubevirt.plugins.module_utils._events import (
    describe_events,
    format_event,
    recent_events,
    select_events,
)


def _event(name, kind, reason, message, when, event_type="Normal", count=1):
    return {
        "metadata": {"name": "%s.%s" % (name, when), "namespace": "ns"},
        "involvedObject": {"kind": kind, "name": name, "namespace": "ns"},
        "reason": reason,
        "message": message,
        "type": event_type,
        "lastTimestamp": when,
        "count": count,
    }


EVENTS = [
    _event("vm1", "VirtualMachineInstance", "FailedScheduling", "0/3 nodes are available", "2026-01-01T00:00:03Z", "Warning", 4),
    _event("vm1", "VirtualMachine", "SuccessfulCreate", "Started the virtual machine", "2026-01-01T00:00:01Z"),
    _event("vm2", "VirtualMachine", "SuccessfulCreate", "other VM", "2026-01-01T00:00:02Z"),
    _event("vm1", "Pod", "Pulled", "image pulled", "2026-01-01T00:00:02Z"),
]


def test_select_events_filters_sorts_and_limits():
    chosen = select_events(EVENTS, "vm1", kinds=("VirtualMachine", "VirtualMachineInstance"))
    assert [e["reason"] for e in chosen] == ["SuccessfulCreate", "FailedScheduling"]
    assert [e["reason"] for e in select_events(EVENTS, "vm1", limit=1)] == ["FailedScheduling"]


def test_format_event_shows_type_kind_reason_message_and_repeats():
    assert format_event(EVENTS[0]) == "Warning VirtualMachineInstance FailedScheduling: 0/3 nodes are available (x4)"
    assert describe_events([]) == "none"


def test_recent_events_uses_a_field_selector(client, api_server):
    for event in EVENTS:
        api_server.put("/api/v1/namespaces/ns/events/%s" % event["metadata"]["name"], event)
    events = recent_events(client, "ns", "vm1", kinds=("VirtualMachine",))
    assert [e["reason"] for e in events] == ["SuccessfulCreate"]
    assert api_server.requests[0].query["fieldSelector"] == "involvedObject.name=vm1"


def test_recent_events_never_raises(client, api_server, api_error):
    api_server.fail("GET", "/api/v1/namespaces/ns/events", api_error(403, "Forbidden", "no events for you"))
    assert recent_events(client, "ns", "vm1") == []
